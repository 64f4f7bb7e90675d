"""The Django app configuration of ``scimkit.django``."""

from django.apps import AppConfig


class ScimkitConfig(AppConfig):
    """``scimkit.django``: SCIM provisioning onto the user model and auth groups."""

    name = "scimkit.django"
    label = "scimkit"
    verbose_name = "SCIM provisioning"
    default_auto_field = "django.db.models.BigAutoField"
