"""The ``SCIMKIT`` setting, with defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_KNOWN = {
    "TOKENS",
    "TRUSTED_TENANT",
    "DELETE_POLICY",
    "LINK_EXISTING_USERS",
    "LINK_EXISTING_GROUPS",
    "DELETE_GROUPS",
    "USER_MAPPER",
    "BASE_URL",
    "SERVER_OPTIONS",
}


@dataclass(frozen=True)
class Config:
    """The parsed ``SCIMKIT`` setting (see the ``scimkit.django`` docs)."""

    tokens: dict[str, str] = field(default_factory=dict)
    trusted_tenant: str | None = None
    delete_policy: str = "hard"
    link_existing_users: bool = False
    link_existing_groups: bool = True
    delete_groups: bool = True
    user_mapper: str = "scimkit.django.store.UserMapper"
    base_url: str | None = None
    server_options: dict[str, Any] = field(default_factory=dict)


def get_config() -> Config:
    """Read and check ``settings.SCIMKIT``."""
    raw: dict[str, Any] = dict(getattr(settings, "SCIMKIT", {}))
    unknown = set(raw) - _KNOWN
    if unknown:
        raise ImproperlyConfigured(f"SCIMKIT: unknown keys {sorted(unknown)}")
    policy = raw.get("DELETE_POLICY", "hard")
    if policy not in ("hard", "deactivate"):
        raise ImproperlyConfigured(
            f'SCIMKIT["DELETE_POLICY"] must be "hard" or "deactivate", not {policy!r}'
        )
    if not raw.get("TOKENS") and not raw.get("TRUSTED_TENANT"):
        raise ImproperlyConfigured('SCIMKIT needs "TOKENS" ({token: tenant}) or "TRUSTED_TENANT"')
    return Config(
        tokens=dict(raw.get("TOKENS") or {}),
        trusted_tenant=raw.get("TRUSTED_TENANT"),
        delete_policy=policy,
        link_existing_users=bool(raw.get("LINK_EXISTING_USERS", False)),
        link_existing_groups=bool(raw.get("LINK_EXISTING_GROUPS", True)),
        delete_groups=bool(raw.get("DELETE_GROUPS", True)),
        user_mapper=raw.get("USER_MAPPER", "scimkit.django.store.UserMapper"),
        base_url=raw.get("BASE_URL"),
        server_options=dict(raw.get("SERVER_OPTIONS") or {}),
    )
