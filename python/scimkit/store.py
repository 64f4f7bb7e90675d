"""The storage contract for Python stores: the ``UserStore`` protocol.

A store keeps SCIM resources (Users and Groups) per tenant. The engine does
everything else — validation, PATCH, filters, projection, ETags — and calls the
store with canonical resources as ``dict``s. Implement these methods on any
class (no base class needed) and pass an instance as ``Server(store=...)``.

The rules (the same as the Rust stores follow; ``scimkit.testing.check_store``
verifies them):

* **Tenants**: every call gets a ``Ctx``; tenants never see, match or collide
  with each other's resources.
* **Resources** are JSON objects as ``dict``, with ``id`` and ``meta`` set by the
  engine; keep them as given. A store may return a resource as a ``dict`` or as
  its JSON text (``str``/``bytes``).
* **Versions**: 1 on create, +1 on every change (including membership changes
  and the removal of a deleted user from a group). With ``if_version`` not
  ``None``, ``replace``/``delete``/``modify_members`` raise
  ``PreconditionFailedError`` unless the stored version equals it — atomically.
* **Uniqueness**: ``userName`` is unique per tenant case-insensitively; compare
  ``unique_key(kind, resource)`` and raise ``UniquenessError``.
* **Queries**: answer with ``query.evaluate(all_resources_of_kind_in_tenant)``,
  or push down what you can (``query.equality()``, ``query.filter``) and agree
  exactly with ``query.matches`` / ``query.compare`` (a sort key:
  ``functools.cmp_to_key(query.compare)``), paging with ``query.paginate``;
  raise ``UnsupportedError`` for what you cannot answer (never for a query
  without filter and sort).
* **Members**: a Group's ``members`` are part of its resource; deleting a User
  removes it from every group. ``modify_members`` is optional.
* **Errors**: ``NotFoundError``, ``UniquenessError``, ``PreconditionFailedError``,
  ``InvalidCursorError``, ``UnavailableError`` (503); any other exception is a
  500 with a generic detail, logged on the ``scimkit`` logger.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

from scimkit._native import Ctx, MemberChange, Query, unique_key

__all__ = [
    "Ctx",
    "Kind",
    "MemberChange",
    "MemberStore",
    "Page",
    "Query",
    "Resource",
    "Stored",
    "UserStore",
    "unique_key",
]

#: The kind of a resource.
Kind = Literal["User", "Group"]

#: A SCIM resource as a JSON object, or (when returned by a store) its JSON text.
Resource = dict[str, Any] | str | bytes


class Stored(NamedTuple):
    """A stored resource: its ``id``, the ``resource`` and its ``version``."""

    #: The resource id.
    id: str
    #: The resource (a dict, or its JSON text).
    resource: Resource
    #: The version the store assigned (1 on create, +1 on every change).
    version: int


class Page(NamedTuple):
    """One page of query results."""

    #: The resources of this page.
    resources: Iterable[Stored]
    #: The number of matches in all pages.
    total_results: int
    #: With cursor paging, the cursor of the next page (``None`` on the last page).
    next_cursor: str | None = None


@runtime_checkable
class UserStore(Protocol):
    """What a Python store implements (see ``MemberStore`` for the optional method)."""

    def create(self, ctx: Ctx, kind: Kind, resource: dict[str, Any]) -> Stored:
        """Store a new resource (its ``id`` is set) with version 1.

        Raise ``UniquenessError`` if its ``unique_key`` is taken in the tenant.
        """
        ...

    def get(self, ctx: Ctx, kind: Kind, id: str, include_members: bool) -> Stored | None:
        """Read a resource, or return ``None`` if it does not exist in the tenant.

        With ``include_members`` false, a Group may come without ``members``.
        """
        ...

    def replace(
        self,
        ctx: Ctx,
        kind: Kind,
        id: str,
        resource: dict[str, Any],
        if_version: int | None,
    ) -> Stored:
        """Replace a resource entirely and bump its version.

        Raise ``NotFoundError`` if absent, ``PreconditionFailedError`` if
        ``if_version`` is given and differs, ``UniquenessError`` on a taken userName.
        """
        ...

    def delete(self, ctx: Ctx, kind: Kind, id: str, if_version: int | None) -> None:
        """Delete a resource; a User is also removed from every group.

        Raise ``NotFoundError`` if absent, ``PreconditionFailedError`` as for replace.
        """
        ...

    def query(self, ctx: Ctx, kind: Kind, query: Query) -> Page:
        """Find resources: ``query.evaluate(...)`` over all of the kind, or a push-down.

        Raise ``UnsupportedError`` for a filter or sort that cannot be pushed down.
        """
        ...


@runtime_checkable
class MemberStore(UserStore, Protocol):
    """A ``UserStore`` with the optional fast path for group membership."""

    def modify_members(
        self, ctx: Ctx, group_id: str, change: MemberChange, if_version: int | None
    ) -> Stored:
        """Add and remove members of a group in O(changes).

        Apply ``change`` (``change.apply(resource)`` does it on a dict), bump the
        version, set ``meta.lastModified`` to ``change.last_modified``, and return
        the group (members may be left out). Raise ``NotFoundError`` /
        ``PreconditionFailedError`` as for ``replace``. A store without this method
        gets the engine's ``get`` + ``replace``.
        """
        ...
