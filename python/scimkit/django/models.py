"""What only SCIM needs, kept beside the user model and the auth groups."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ScimResource(models.Model):
    """A provisioned User or Group: its SCIM id, externalId, resource and version.

    A User row points to the project's user (``user``), a Group row to an auth
    group (``group``). ``name_key`` is the case-folded userName (unique per tenant
    among live users) or displayName. ``deleted`` marks a user deleted under the
    ``"deactivate"`` policy (kept so a later POST can revive it).
    """

    KIND_CHOICES = (("User", "User"), ("Group", "Group"))

    tenant = models.CharField(max_length=200)
    kind = models.CharField(max_length=5, choices=KIND_CHOICES)
    scim_id = models.CharField(max_length=64)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    name_key = models.CharField(max_length=255)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="scim_resource",
    )
    group = models.OneToOneField(
        "auth.Group",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="scim_resource",
    )
    #: The SCIM resource as JSON text (Groups without ``members``).
    resource = models.TextField()
    version = models.PositiveBigIntegerField(default=1)
    deleted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        """Uniqueness of ids and live userNames, per tenant."""

        constraints = (
            models.UniqueConstraint(
                fields=("tenant", "kind", "scim_id"), name="scimkit_unique_scim_id"
            ),
            models.UniqueConstraint(
                fields=("tenant", "name_key"),
                condition=models.Q(kind="User", deleted=False),
                name="scimkit_unique_user_name",
            ),
        )
        indexes = (
            models.Index(fields=("tenant", "kind", "name_key"), name="scimkit_name_idx"),
            models.Index(fields=("tenant", "kind", "external_id"), name="scimkit_external_id_idx"),
        )

    def __str__(self) -> str:
        """``Kind id (tenant)``."""
        return f"{self.kind} {self.scim_id} ({self.tenant})"


class ScimMember(models.Model):
    """One member of a provisioned Group (``members.value`` and its type/display)."""

    group = models.ForeignKey(ScimResource, on_delete=models.CASCADE, related_name="members")
    value = models.CharField(max_length=64)
    #: ``value`` case-folded: ``members.value`` compares case-insensitively.
    value_key = models.CharField(max_length=128, default="")
    type = models.CharField(max_length=10, null=True, blank=True)
    display = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        """A member appears once per group; lookups by member id are indexed."""

        constraints = (
            models.UniqueConstraint(fields=("group", "value"), name="scimkit_unique_member"),
        )
        indexes = (
            models.Index(fields=("value",), name="scimkit_member_value_idx"),
            models.Index(fields=("value_key",), name="scimkit_member_key_idx"),
        )

    def __str__(self) -> str:
        """``member in group``."""
        return f"{self.value} in {self.group_id}"
