"""A reference pure-Python store: one dict per tenant and kind, a lock, full scans.

It is what the ``scimkit.UserStore`` docs describe, in about a hundred lines, and
it passes the same conformance suite as the Rust stores.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from scimkit import (
    Ctx,
    Kind,
    MemberChange,
    NotFoundError,
    Page,
    PreconditionFailedError,
    Query,
    Stored,
    UniquenessError,
    UnsupportedError,
    unique_key,
)


class DictStore:
    """Resources in ``{(tenant, kind): {id: (resource, version)}}``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[tuple[str, str], dict[str, tuple[dict[str, Any], int]]] = {}

    def _table(self, ctx: Ctx, kind: str) -> dict[str, tuple[dict[str, Any], int]]:
        return self._data.setdefault((ctx.tenant, kind), {})

    def _check_unique(self, ctx: Ctx, kind: Kind, resource: dict[str, Any], own_id: str) -> None:
        key = unique_key(kind, resource)
        if key is None:
            return
        for other_id, (other, _) in self._table(ctx, kind).items():
            if other_id != own_id and unique_key(kind, other) == key:
                raise UniquenessError(attribute="userName")

    def create(self, ctx: Ctx, kind: Kind, resource: dict[str, Any]) -> Stored:
        with self._lock:
            self._check_unique(ctx, kind, resource, resource["id"])
            self._table(ctx, kind)[resource["id"]] = (copy.deepcopy(resource), 1)
            return Stored(resource["id"], resource, 1)

    def get(self, ctx: Ctx, kind: Kind, id: str, include_members: bool) -> Stored | None:
        with self._lock:
            entry = self._table(ctx, kind).get(id)
            if entry is None:
                return None
            return Stored(id, copy.deepcopy(entry[0]), entry[1])

    def _current(self, ctx: Ctx, kind: str, id: str, if_version: int | None) -> int:
        entry = self._table(ctx, kind).get(id)
        if entry is None:
            raise NotFoundError(f"{kind} {id} not found")
        if if_version is not None and if_version != entry[1]:
            raise PreconditionFailedError("version mismatch")
        return entry[1]

    def replace(
        self, ctx: Ctx, kind: Kind, id: str, resource: dict[str, Any], if_version: int | None
    ) -> Stored:
        with self._lock:
            version = self._current(ctx, kind, id, if_version) + 1
            self._check_unique(ctx, kind, resource, id)
            self._table(ctx, kind)[id] = (copy.deepcopy(resource), version)
            return Stored(id, resource, version)

    def delete(self, ctx: Ctx, kind: Kind, id: str, if_version: int | None) -> None:
        with self._lock:
            self._current(ctx, kind, id, if_version)
            del self._table(ctx, kind)[id]
            if kind == "User":
                groups = self._table(ctx, "Group")
                for gid, (group, version) in list(groups.items()):
                    members = group.get("members", [])
                    kept = [m for m in members if m.get("value") != id]
                    if len(kept) != len(members):
                        group = dict(group)
                        if kept:
                            group["members"] = kept
                        else:
                            group.pop("members", None)
                        groups[gid] = (group, version + 1)

    def query(self, ctx: Ctx, kind: Kind, query: Query) -> Page:
        with self._lock:
            everything = [Stored(i, r, v) for i, (r, v) in self._table(ctx, kind).items()]
        return query.evaluate(everything)

    def modify_members(
        self, ctx: Ctx, group_id: str, change: MemberChange, if_version: int | None
    ) -> Stored:
        with self._lock:
            version = self._current(ctx, "Group", group_id, if_version) + 1
            group = change.apply(self._table(ctx, "Group")[group_id][0])
            self._table(ctx, "Group")[group_id] = (group, version)
            return Stored(group_id, group, version)


class IndexedStore(DictStore):
    """A DictStore that pushes ``attr eq value`` down to a scan of one attribute.

    It raises ``UnsupportedError`` for every other filter or sort (the engine then
    evaluates), and has no ``modify_members`` (the engine does get + replace).
    Resources come back as JSON text, as a store keeping JSON would return them.
    """

    modify_members = None  # type: ignore[assignment]

    def get(self, ctx: Ctx, kind: Kind, id: str, include_members: bool) -> Stored | None:
        found = super().get(ctx, kind, id, include_members)
        if found is None:
            return None
        return Stored(found.id, json.dumps(found.resource), found.version)

    def query(self, ctx: Ctx, kind: Kind, query: Query) -> Page:
        if query.filter is None and query.sort_by is None:
            return super().query(ctx, kind, query)
        eq = query.equality()
        if eq is None or query.sort_by is not None or "." in eq[0] or ":" in eq[0]:
            raise UnsupportedError(query.filter)
        attribute, value, case_exact = eq
        with self._lock:
            rows = list(self._table(ctx, kind).items())
        hits = []
        for rid, (resource, version) in sorted(rows):
            have = resource.get(attribute)
            if isinstance(have, str) and isinstance(value, str) and not case_exact:
                same = have.lower() == value.lower()
            else:
                same = have == value
            if same:
                hits.append(Stored(rid, resource, version))
        page, cursor = query.paginate(hits)
        return Page(page, len(hits), cursor)
