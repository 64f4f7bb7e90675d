"""Provisioning signals, sent after the change is committed.

Every signal is sent with ``sender=DjangoStore`` (the store class) and the
keyword arguments ``tenant`` (str) and ``resource`` (the SCIM resource as a dict,
or ``None`` where noted):

``user_provisioned(user)``
    A user was created (or an existing one adopted or revived).
``user_updated(user)``
    A user was changed (any change, including (de)activation).
``user_deactivated(user, reason)``
    ``is_active`` went from true to false: ``reason`` is ``"active_false"``
    (PATCH/PUT ``active: false``, Entra's soft delete or unassignment) or
    ``"deleted"`` (a SCIM DELETE under ``DELETE_POLICY = "deactivate"``).
    Revoke the user's sessions and tokens here.
``user_reactivated(user)``
    ``is_active`` went from false to true.
``user_deleted(user, scim_id)``
    A user was deleted (``user`` is the deleted instance; its ``pk`` is gone).
``group_membership_changed(group, added, removed)``
    Users were added to or removed from an auth group (``added`` and
    ``removed`` are lists of user instances; ``resource`` is ``None``).
"""

from django.dispatch import Signal

__all__ = [
    "group_membership_changed",
    "user_deactivated",
    "user_deleted",
    "user_provisioned",
    "user_reactivated",
    "user_updated",
]

#: A user was created, adopted or revived.
user_provisioned = Signal()
#: A user was changed.
user_updated = Signal()
#: A user was deactivated (``reason``: ``"active_false"`` or ``"deleted"``).
user_deactivated = Signal()
#: A user was reactivated.
user_reactivated = Signal()
#: A user was deleted.
user_deleted = Signal()
#: Users were added to or removed from a group.
group_membership_changed = Signal()
