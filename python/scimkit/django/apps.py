"""The Django app configuration of ``scimkit.django``."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check ``scimkit.E001``: the ``SCIMKIT`` setting is valid.

    For example, it does not serve two tenants into one user table. Run by
    ``runserver``, ``migrate`` and ``check`` at startup; the same error is
    raised on the first SCIM request otherwise.
    """
    from scimkit.django.conf import get_config

    try:
        get_config()
    except ImproperlyConfigured as e:
        return [checks.Error(str(e), hint="See the scimkit.django docs.", id="scimkit.E001")]
    return []


class ScimkitConfig(AppConfig):
    """``scimkit.django``: SCIM provisioning onto the user model and auth groups."""

    name = "scimkit.django"
    label = "scimkit"
    verbose_name = "SCIM provisioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the settings check."""
        checks.register(check_settings)
