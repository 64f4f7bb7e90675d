"""``DjangoStore``: the ``scimkit.UserStore`` over the user model and auth groups."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils.module_loading import import_string

from scimkit import (
    Ctx,
    Kind,
    MemberChange,
    NotFoundError,
    Page,
    PreconditionFailedError,
    Query,
    Stored,
    UnavailableError,
    UniquenessError,
    unique_key,
)
from scimkit.django import signals
from scimkit.django.models import ScimMember, ScimResource

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from scimkit.django.conf import Config

__all__ = ["DjangoStore", "UserMapper"]


def _name_key(kind: Kind, resource: dict[str, Any]) -> str:
    if kind == "User":
        return unique_key("User", resource) or ""
    return unique_key("User", {"userName": str(resource.get("displayName", ""))}) or ""


def _member_key(value: str) -> str:
    """A member id case-folded as the Rust stores fold it."""
    return unique_key("User", {"userName": value}) or ""


def _members_of(resource: dict[str, Any]) -> list[dict[str, Any]]:
    members = resource.get("members")
    return [m for m in members if isinstance(m, dict) and "value" in m] if members else []


class UserMapper:
    """Maps a SCIM User onto a user-model instance (subclass it for custom models).

    ``username`` ← ``userName``, ``email`` ← the work email (else the primary,
    else the first), ``first_name``/``last_name`` ← ``name.givenName``/
    ``name.familyName``, ``is_active`` ← ``active`` (absent: active). Fields the
    model does not have are skipped.

    With ``tenant_prefix`` (set by ``"TENANT_NAMES": "prefix"``), usernames and
    auth group names are ``"<tenant>+<name>"``, keeping tenants apart in one user
    table. Override ``username`` and ``group_name`` for another scheme.
    """

    #: Prefix usernames and group names with ``"<tenant>+"``. Defaults to False.
    tenant_prefix: bool = False

    def username(self, tenant: str, user_name: str) -> str:
        """The user model's username for SCIM ``userName`` in ``tenant``.

        As is by default, ``"<tenant>+<userName>"`` with ``tenant_prefix``.
        """
        return f"{tenant}+{user_name}" if self.tenant_prefix else user_name

    def group_name(self, tenant: str, display_name: str) -> str:
        """The auth group's name for SCIM ``displayName`` in ``tenant``.

        As is by default, ``"<tenant>+<displayName>"`` with ``tenant_prefix``.
        """
        return f"{tenant}+{display_name}" if self.tenant_prefix else display_name

    def apply(self, user: AbstractBaseUser, resource: dict[str, Any], tenant: str) -> None:
        """Set ``user``'s fields from ``resource`` of ``tenant`` (not saved)."""
        model = type(user)
        fields = {f.name: f for f in model._meta.get_fields()}

        def put(name: str, value: Any) -> None:
            field = fields.get(name)
            if field is None or value is None:
                return
            max_length = getattr(field, "max_length", None)
            if isinstance(value, str) and max_length:
                value = value[:max_length]
            setattr(user, name, value)

        setattr(user, model.USERNAME_FIELD, self.username(tenant, resource["userName"]))
        email = self.email(resource)
        put(model.get_email_field_name(), email if email is not None else "")
        name = resource.get("name") or {}
        put("first_name", name.get("givenName", ""))
        put("last_name", name.get("familyName", ""))
        put("is_active", resource.get("active") is not False)

    @staticmethod
    def email(resource: dict[str, Any]) -> str | None:
        """The work email, else the primary one, else the first; ``None`` if none."""
        emails = [e for e in resource.get("emails") or [] if isinstance(e, dict)]
        for pick in (
            lambda e: e.get("type") == "work",
            lambda e: e.get("primary") is True,
            lambda e: True,
        ):
            for e in emails:
                if pick(e) and isinstance(e.get("value"), str):
                    return str(e["value"])
        return None


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _busy_is_unavailable(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """A locked/busy database is a temporary condition: 503 with Retry-After."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except OperationalError as e:
            text = str(e).lower()
            if "locked" in text or "busy" in text:
                raise UnavailableError("the database is busy", retry_after=1) from e
            raise

    return wrapper


def _on_commit(send: Callable[[], Any]) -> None:
    transaction.on_commit(send)


class DjangoStore:
    """Users in ``get_user_model()``, Groups in ``django.contrib.auth`` groups.

    The SCIM view of each resource (id, externalId, full resource, version) is
    kept in ``ScimResource``; group members in ``ScimMember`` (so membership
    changes cost O(changes)) and mirrored into the auth group's users.

    The user model's username is unique across the whole project: two tenants
    provisioning the same userName collide (409) unless the ``UserMapper`` keeps
    them apart (``UserMapper.tenant_prefix``, or an own ``username``). The same
    holds for group names (``UserMapper.group_name``). Through the settings, a
    project serves one tenant unless ``"TENANT_NAMES": "prefix"``.
    """

    def __init__(
        self,
        *,
        delete_policy: str = "hard",
        link_existing_users: bool = False,
        link_existing_groups: bool = True,
        delete_groups: bool = True,
        user_mapper: UserMapper | None = None,
    ) -> None:
        """Create the store; the arguments mirror the ``SCIMKIT`` settings."""
        if delete_policy not in ("hard", "deactivate"):
            raise ValueError(f"delete_policy must be 'hard' or 'deactivate', not {delete_policy!r}")
        self.delete_policy = delete_policy
        self.link_existing_users = link_existing_users
        self.link_existing_groups = link_existing_groups
        self.delete_groups = delete_groups
        self.mapper = user_mapper or UserMapper()

    @classmethod
    def from_config(cls, config: Config) -> DjangoStore:
        """The store configured by the ``SCIMKIT`` setting."""
        mapper = import_string(config.user_mapper)()
        if config.tenant_names == "prefix":
            mapper.tenant_prefix = True
        return cls(
            delete_policy=config.delete_policy,
            link_existing_users=config.link_existing_users,
            link_existing_groups=config.link_existing_groups,
            delete_groups=config.delete_groups,
            user_mapper=mapper,
        )

    # ===== helpers =====

    @staticmethod
    def _live(ctx: Ctx, kind: str) -> Any:
        return ScimResource.objects.filter(tenant=ctx.tenant, kind=kind, deleted=False)

    def _record(self, ctx: Ctx, kind: str, id: str) -> ScimResource:
        rec = self._live(ctx, kind).filter(scim_id=id).select_related("user", "group").first()
        if rec is None:
            raise NotFoundError(f"{kind} {id} not found")
        return rec

    @staticmethod
    def _bump(rec: ScimResource, expected: int | None, **changes: Any) -> int:
        """Compare-and-set: write ``changes`` and version+1 if the version is unchanged."""
        current = rec.version
        if expected is not None and expected != current:
            raise PreconditionFailedError("version mismatch")
        n = ScimResource.objects.filter(pk=rec.pk, version=current).update(
            version=F("version") + 1, **changes
        )
        if n != 1:
            raise PreconditionFailedError("modified concurrently")
        rec.version = current + 1
        for k, v in changes.items():
            setattr(rec, k, v)
        return rec.version

    def _check_name_free(self, ctx: Ctx, key: str, own_pk: int | None = None) -> None:
        taken = self._live(ctx, "User").filter(name_key=key)
        if own_pk is not None:
            taken = taken.exclude(pk=own_pk)
        if taken.exists():
            raise UniquenessError(attribute="userName")

    def _users_by_scim_id(self, ctx: Ctx, ids: Iterable[str]) -> list[Any]:
        ids = list(ids)
        if not ids:
            return []
        recs = self._live(ctx, "User").filter(scim_id__in=ids, user__isnull=False)
        return [r.user for r in recs.select_related("user")]

    def _stored(self, rec: ScimResource, include_members: bool) -> Stored:
        if rec.kind == "Group" and include_members:
            rows = sorted(rec.members.all(), key=lambda m: m.pk)
            members = [
                {
                    k: v
                    for k, v in (("value", m.value), ("type", m.type), ("display", m.display))
                    if v
                }
                for m in rows
            ]
            if members:
                resource = json.loads(rec.resource)
                resource["members"] = members
                return Stored(rec.scim_id, resource, rec.version)
        return Stored(rec.scim_id, rec.resource, rec.version)

    # ===== UserStore =====

    @_busy_is_unavailable
    def create(self, ctx: Ctx, kind: Kind, resource: dict[str, Any]) -> Stored:
        """Create a user (or adopt/revive one) or a group."""
        try:
            with transaction.atomic():
                if kind == "User":
                    return self._create_user(ctx, resource)
                return self._create_group(ctx, resource)
        except IntegrityError as e:
            raise UniquenessError(attribute="userName" if kind == "User" else "displayName") from e

    def _create_user(self, ctx: Ctx, resource: dict[str, Any]) -> Stored:
        model = get_user_model()
        key = _name_key("User", resource)
        self._check_name_free(ctx, key)
        username = self.mapper.username(ctx.tenant, resource["userName"])
        user = model._default_manager.filter(
            **{f"{model.USERNAME_FIELD}__iexact": username}
        ).first()
        rec: ScimResource | None = None
        if user is not None:
            rec = ScimResource.objects.filter(user=user).first()
            revivable = rec is not None and rec.deleted and rec.tenant == ctx.tenant
            if not revivable and (rec is not None or not self.link_existing_users):
                raise UniquenessError(attribute="userName")
        else:
            user = model()
            user.set_unusable_password()
        self.mapper.apply(user, resource, ctx.tenant)
        user.save()
        text = json.dumps(resource)
        fields = {
            "tenant": ctx.tenant,
            "kind": "User",
            "scim_id": resource["id"],
            "external_id": resource.get("externalId"),
            "name_key": key,
            "user": user,
            "resource": text,
            "version": 1,
            "deleted": False,
        }
        if rec is None:
            ScimResource.objects.create(**fields)
        else:
            ScimResource.objects.filter(pk=rec.pk).update(**fields)
        tenant = ctx.tenant
        _on_commit(
            lambda: signals.user_provisioned.send(
                sender=DjangoStore, user=user, resource=resource, tenant=tenant
            )
        )
        return Stored(resource["id"], resource, 1)

    def _create_group(self, ctx: Ctx, resource: dict[str, Any]) -> Stored:
        name = self.mapper.group_name(ctx.tenant, str(resource.get("displayName", "")))
        group = Group.objects.filter(name=name).first()
        if group is not None:
            if not self.link_existing_groups or hasattr(group, "scim_resource"):
                raise UniquenessError(attribute="displayName")
        else:
            group = Group.objects.create(name=name)
        members = _members_of(resource)
        stored = {k: v for k, v in resource.items() if k != "members"}
        rec = ScimResource.objects.create(
            tenant=ctx.tenant,
            kind="Group",
            scim_id=resource["id"],
            external_id=resource.get("externalId"),
            name_key=_name_key("Group", resource),
            group=group,
            resource=json.dumps(stored),
        )
        self._add_members(ctx, rec, group, members)
        return Stored(resource["id"], resource, 1)

    def _add_members(
        self, ctx: Ctx, rec: ScimResource, group: Group | None, members: list[dict[str, Any]]
    ) -> list[Any]:
        have = set(rec.members.values_list("value", flat=True))
        new: dict[str, dict[str, Any]] = {}
        for m in members:
            value = str(m["value"])
            if value not in have and value not in new:
                new[value] = m
        ScimMember.objects.bulk_create(
            ScimMember(
                group=rec,
                value=v,
                value_key=_member_key(v),
                type=m.get("type"),
                display=m.get("display"),
            )
            for v, m in new.items()
        )
        users = self._users_by_scim_id(ctx, new)
        if group is not None and users:
            group.user_set.add(*users)
            self._membership_signal(ctx, group, users, [])
        return users

    def _remove_members(
        self, ctx: Ctx, rec: ScimResource, group: Group | None, values: Iterable[str] | None
    ) -> list[Any]:
        rows = rec.members.all()
        if values is not None:
            rows = rows.filter(value__in=list(values))
        removed_ids = list(rows.values_list("value", flat=True))
        if not removed_ids:
            return []
        rec.members.filter(value__in=removed_ids).delete()
        users = self._users_by_scim_id(ctx, removed_ids)
        if group is not None and users:
            group.user_set.remove(*users)
            self._membership_signal(ctx, group, [], users)
        return users

    @staticmethod
    def _membership_signal(ctx: Ctx, group: Group, added: list[Any], removed: list[Any]) -> None:
        tenant = ctx.tenant
        _on_commit(
            lambda: signals.group_membership_changed.send(
                sender=DjangoStore,
                group=group,
                added=added,
                removed=removed,
                resource=None,
                tenant=tenant,
            )
        )

    @_busy_is_unavailable
    def get(self, ctx: Ctx, kind: Kind, id: str, include_members: bool) -> Stored | None:
        """Read a resource (``None`` if absent)."""
        rec = self._live(ctx, kind).filter(scim_id=id).first()
        return None if rec is None else self._stored(rec, include_members)

    @_busy_is_unavailable
    def replace(
        self, ctx: Ctx, kind: Kind, id: str, resource: dict[str, Any], if_version: int | None
    ) -> Stored:
        """Replace a resource; maps it onto the user or group again."""
        try:
            with transaction.atomic():
                rec = self._record(ctx, kind, id)
                if kind == "User":
                    return self._replace_user(ctx, rec, resource, if_version)
                return self._replace_group(ctx, rec, resource, if_version)
        except IntegrityError as e:
            raise UniquenessError(attribute="userName" if kind == "User" else "displayName") from e

    def _replace_user(
        self, ctx: Ctx, rec: ScimResource, resource: dict[str, Any], if_version: int | None
    ) -> Stored:
        key = _name_key("User", resource)
        self._check_name_free(ctx, key, own_pk=rec.pk)
        old = json.loads(rec.resource)
        version = self._bump(
            rec,
            if_version,
            resource=json.dumps(resource),
            name_key=key,
            external_id=resource.get("externalId"),
        )
        user = rec.user
        if user is not None:
            model = type(user)
            username = self.mapper.username(ctx.tenant, resource["userName"])
            lookup = {f"{model.USERNAME_FIELD}__iexact": username}
            if model._default_manager.filter(**lookup).exclude(pk=user.pk).exists():
                raise UniquenessError(attribute="userName")
            self.mapper.apply(user, resource, ctx.tenant)
            user.save()
            was, now = old.get("active") is not False, resource.get("active") is not False
            tenant = ctx.tenant
            _on_commit(
                lambda: signals.user_updated.send(
                    sender=DjangoStore, user=user, resource=resource, tenant=tenant
                )
            )
            if was and not now:
                _on_commit(
                    lambda: signals.user_deactivated.send(
                        sender=DjangoStore,
                        user=user,
                        resource=resource,
                        tenant=tenant,
                        reason="active_false",
                    )
                )
            elif now and not was:
                _on_commit(
                    lambda: signals.user_reactivated.send(
                        sender=DjangoStore, user=user, resource=resource, tenant=tenant
                    )
                )
        return Stored(rec.scim_id, resource, version)

    def _replace_group(
        self, ctx: Ctx, rec: ScimResource, resource: dict[str, Any], if_version: int | None
    ) -> Stored:
        stored = {k: v for k, v in resource.items() if k != "members"}
        version = self._bump(
            rec,
            if_version,
            resource=json.dumps(stored),
            name_key=_name_key("Group", resource),
            external_id=resource.get("externalId"),
        )
        group = rec.group
        name = self.mapper.group_name(ctx.tenant, str(resource.get("displayName", "")))
        if group is not None and group.name != name:
            group.name = name
            group.save(update_fields=["name"])
        wanted = {str(m["value"]): m for m in _members_of(resource)}
        have = set(rec.members.values_list("value", flat=True))
        self._remove_members(ctx, rec, group, have - set(wanted))
        self._add_members(ctx, rec, group, [m for v, m in wanted.items() if v not in have])
        return Stored(rec.scim_id, resource, version)

    @_busy_is_unavailable
    def delete(self, ctx: Ctx, kind: Kind, id: str, if_version: int | None) -> None:
        """Delete per policy; a user also leaves every group."""
        with transaction.atomic():
            rec = self._record(ctx, kind, id)
            if if_version is not None and if_version != rec.version:
                raise PreconditionFailedError("version mismatch")
            self._leave_groups(ctx, id)
            if kind == "Group":
                group = rec.group
                rec.delete()
                if group is not None and self.delete_groups:
                    group.delete()
                return
            user = rec.user
            resource = json.loads(rec.resource)
            tenant = ctx.tenant
            if self.delete_policy == "deactivate" and user is not None:
                self._bump(rec, None, deleted=True)
                if user.is_active:
                    user.is_active = False
                    user.save(update_fields=["is_active"])
                    _on_commit(
                        lambda: signals.user_deactivated.send(
                            sender=DjangoStore,
                            user=user,
                            resource=resource,
                            tenant=tenant,
                            reason="deleted",
                        )
                    )
                return
            rec.delete()
            if user is not None:
                user.delete()
            _on_commit(
                lambda: signals.user_deleted.send(
                    sender=DjangoStore, user=user, resource=resource, tenant=tenant, scim_id=id
                )
            )

    def _leave_groups(self, ctx: Ctx, member_id: str) -> None:
        rows = ScimMember.objects.filter(
            value=member_id, group__tenant=ctx.tenant, group__deleted=False
        ).select_related("group", "group__group")
        for row in list(rows):
            rec = row.group
            self._remove_members(ctx, rec, rec.group, [member_id])
            ScimResource.objects.filter(pk=rec.pk).update(version=F("version") + 1)

    @_busy_is_unavailable
    def query(self, ctx: Ctx, kind: Kind, query: Query) -> Page:
        """Narrow by an indexed equality when there is one, then evaluate exactly."""
        rows = self._live(ctx, kind)
        for attribute, value, case_exact in query.equalities():
            if not isinstance(value, str):
                continue
            if attribute == "id":
                rows = rows.filter(scim_id=value)
            elif attribute == "externalId":
                rows = rows.filter(
                    **{"external_id" if case_exact else "external_id__iexact": value}
                )
            elif (kind, attribute) in (("User", "userName"), ("Group", "displayName")):
                rows = rows.filter(name_key=_name_key("User", {"userName": value}))
            elif kind == "Group" and attribute == "members.value":
                if case_exact:
                    rows = rows.filter(members__value=value)
                else:
                    rows = rows.filter(members__value_key=_member_key(value))
        needs_members = kind == "Group" and (
            query.include_members or "members" in (query.filter or "") or query.sort_by
        )
        if needs_members:
            rows = rows.prefetch_related("members")
        stored = [self._stored(rec, bool(needs_members)) for rec in rows]
        return query.evaluate(stored)

    @_busy_is_unavailable
    def modify_members(
        self, ctx: Ctx, group_id: str, change: MemberChange, if_version: int | None
    ) -> Stored:
        """Add and remove members in O(changes)."""
        with transaction.atomic():
            rec = self._record(ctx, "Group", group_id)
            resource = json.loads(rec.resource)
            resource.setdefault("meta", {})["lastModified"] = change.last_modified
            version = self._bump(rec, if_version, resource=json.dumps(resource))
            if change.remove_all:
                self._remove_members(ctx, rec, rec.group, None)
            elif change.remove:
                self._remove_members(ctx, rec, rec.group, change.remove)
            self._add_members(ctx, rec, rec.group, change.add)
            return Stored(group_id, resource, version)
