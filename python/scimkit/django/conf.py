"""The ``SCIMKIT`` setting, with defaults."""

from __future__ import annotations

import re
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
    "TENANT_NAMES",
}

#: Tenant names allowed with ``"TENANT_NAMES": "prefix"``: no ``+`` (so the
#: prefix ends at the first one) and only characters Django's username
#: validator accepts.
_PREFIXABLE_TENANT = re.compile(r"[A-Za-z0-9_.@-]+")


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
    tenant_names: str = "single"

    @property
    def tenants(self) -> list[str]:
        """Every tenant the configuration serves, sorted."""
        named = set(self.tokens.values())
        if self.trusted_tenant:
            named.add(self.trusted_tenant)
        return sorted(named)


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
    tenant_names = raw.get("TENANT_NAMES", "single")
    if tenant_names not in ("single", "prefix"):
        raise ImproperlyConfigured(
            f'SCIMKIT["TENANT_NAMES"] must be "single" or "prefix", not {tenant_names!r}'
        )
    config = Config(
        tokens=dict(raw.get("TOKENS") or {}),
        trusted_tenant=raw.get("TRUSTED_TENANT"),
        delete_policy=policy,
        link_existing_users=bool(raw.get("LINK_EXISTING_USERS", False)),
        link_existing_groups=bool(raw.get("LINK_EXISTING_GROUPS", True)),
        delete_groups=bool(raw.get("DELETE_GROUPS", True)),
        user_mapper=raw.get("USER_MAPPER", "scimkit.django.store.UserMapper"),
        base_url=raw.get("BASE_URL"),
        server_options=dict(raw.get("SERVER_OPTIONS") or {}),
        tenant_names=tenant_names,
    )
    _check_tenants(config)
    return config


def _check_tenants(config: Config) -> None:
    """Refuse several tenants unless ``TENANT_NAMES`` is ``"prefix"``.

    Usernames and group names are unique project-wide; with ``"prefix"`` the
    tenant names must prefix cleanly.
    """
    tenants = config.tenants
    if config.tenant_names == "single":
        if len(tenants) > 1:
            raise ImproperlyConfigured(
                f"SCIMKIT: the tokens serve {len(tenants)} tenants ({', '.join(tenants)}), "
                "but this Django project provisions one: usernames and group names are "
                "unique across the whole project, so two directories would fight over "
                'them. Map every token to the same tenant, or set "TENANT_NAMES": "prefix" '
                'to store each tenant\'s users as "<tenant>+<userName>".'
            )
        return
    bad = [t for t in tenants if not _PREFIXABLE_TENANT.fullmatch(t)]
    if bad:
        raise ImproperlyConfigured(
            f'SCIMKIT: with "TENANT_NAMES": "prefix", tenant names may only contain letters, '
            f"digits and _ . @ - (no +); not {', '.join(repr(t) for t in bad)}"
        )
