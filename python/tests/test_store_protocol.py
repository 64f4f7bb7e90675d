"""Python stores: the conformance suite, the query helpers, and exceptions → SCIM errors."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from conftest import GROUP_SCHEMA, PATCH_OP, TOKEN, USER_SCHEMA, entra_user, make_client
from dictstore import DictStore, IndexedStore

import scimkit
import scimkit.testing
from scimkit import Ctx, Kind, Page, Query, Stored


@pytest.mark.parametrize("name", scimkit.testing.CHECKS)
def test_dict_store_conforms(name: str) -> None:
    scimkit.testing.run_check(name, DictStore)


@pytest.mark.parametrize("name", scimkit.testing.CHECKS)
def test_indexed_store_conforms(name: str) -> None:
    # Push-down with UnsupportedError fallback, JSON text results, no modify_members.
    scimkit.testing.run_check(name, IndexedStore)


def test_memory_store_conforms() -> None:
    scimkit.testing.check_store(scimkit.MemoryStore)


def test_the_suite_has_the_rust_checks() -> None:
    assert len(scimkit.testing.CHECKS) >= 12
    assert "concurrent_writers_lose_nothing" in scimkit.testing.CHECKS


class NoVersionBump(DictStore):
    """Broken: replace keeps the version."""

    def replace(
        self, ctx: Ctx, kind: Kind, id: str, resource: dict[str, Any], if_version: int | None
    ) -> Stored:
        s = super().replace(ctx, kind, id, resource, if_version)
        return Stored(s.id, s.resource, s.version - 1)


def test_a_broken_store_fails_with_the_rule_named() -> None:
    with pytest.raises(AssertionError, match="replace bumps the version"):
        scimkit.testing.run_check("crud", NoVersionBump)


def test_check_store_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown"):
        scimkit.testing.check_store(DictStore, skip=["nope"])
    with pytest.raises(ValueError, match="unknown store check"):
        scimkit.testing.run_check("nope", DictStore)


def test_check_store_can_skip() -> None:
    scimkit.testing.check_store(DictStore, skip=scimkit.testing.CHECKS[1:])


class Raising(DictStore):
    """A store whose every method raises the configured exception."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc

    def create(self, ctx: Ctx, kind: Kind, resource: dict[str, Any]) -> Stored:
        raise self.exc

    def query(self, ctx: Ctx, kind: Kind, query: Query) -> Page:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "status", "scim_type"),
    [
        (scimkit.UniquenessError(), 409, "uniqueness"),
        (scimkit.UniquenessError(attribute="externalId"), 409, "uniqueness"),
        (scimkit.UnavailableError("db restarting", retry_after=7), 503, None),
        (RuntimeError("secret connection string postgres://u:p@h"), 500, None),
        (KeyError("kq7-marker"), 500, None),
    ],
)
def test_store_exceptions_become_scim_errors(
    exc: BaseException, status: int, scim_type: str | None
) -> None:
    server = scimkit.Server(Raising(exc), {TOKEN: "t"})
    r = make_client(server)("POST", "/Users", entra_user("a@contoso.com"))
    assert r.status == status
    body = r.json()
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    if status == 503:
        assert r.header("retry-after") == "7"
    if status == 500:
        # The detail leaks nothing of the cause.
        assert "secret" not in r.body.decode()
        assert "kq7-marker" not in r.body.decode()
        assert "postgres" not in r.body.decode()
        assert body["detail"] == "internal server error"


def test_unexpected_store_exceptions_are_logged_with_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = scimkit.Server(Raising(RuntimeError("db exploded")), {TOKEN: "t"})
    with caplog.at_level(logging.ERROR, logger="scimkit"):
        r = make_client(server)("GET", "/Users")
    assert r.status == 500
    [record] = [r for r in caplog.records if r.name == "scimkit"]
    assert "store method query() raised" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


def test_not_found_and_precondition_failed_map() -> None:
    class Gone(DictStore):
        def replace(
            self, ctx: Ctx, kind: Kind, id: str, resource: dict[str, Any], if_version: int | None
        ) -> Stored:
            raise scimkit.NotFoundError()

    server = scimkit.Server(Gone(), {TOKEN: "t"})
    client = make_client(server)
    uid = client("POST", "/Users", entra_user("a@contoso.com")).json()["id"]
    put = entra_user("a@contoso.com", id=uid, title="Changed")  # a change reaches the store
    assert client("PUT", f"/Users/{uid}", put).status == 404
    # If-Match with a stale version: the store's PreconditionFailedError → 412.
    server = scimkit.Server(DictStore(), {TOKEN: "t"})
    client = make_client(server)
    uid = client("POST", "/Users", entra_user("b@contoso.com")).json()["id"]
    stale = client(
        "PUT",
        f"/Users/{uid}",
        entra_user("b@contoso.com", title="Changed"),
        headers=[("if-match", 'W/"9"')],
    )
    assert stale.status == 412


def test_a_store_returning_garbage_is_a_500() -> None:
    class Garbage(DictStore):
        def get(self, ctx: Ctx, kind: Kind, id: str, include_members: bool) -> Any:
            return 42

    server = scimkit.Server(Garbage(), {TOKEN: "t"})
    assert make_client(server)("GET", "/Users/x").status == 500


def test_a_store_missing_methods_is_refused() -> None:
    class Half:
        def create(self) -> None: ...

    with pytest.raises(TypeError, match="no get"):
        scimkit.Server(Half(), {TOKEN: "t"})


def test_python_store_serves_the_entra_flow() -> None:
    store = IndexedStore()
    client = make_client(scimkit.Server(store, {TOKEN: "t"}))
    uid = client("POST", "/Users", entra_user("ivy@contoso.com")).json()["id"]
    found = client("GET", "/Users", query='filter=userName eq "IVY@contoso.com"').json()
    assert found["totalResults"] == 1
    # A filter the store cannot push down is evaluated by the engine.
    co = client("GET", "/Users", query='filter=userName co "ivy"').json()
    assert co["totalResults"] == 1
    gid = client("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "G"}).json()["id"]
    add = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": uid}]}],
    }
    assert client("PATCH", f"/Groups/{gid}", add).status in (200, 204)
    assert client("DELETE", f"/Users/{uid}").status == 204
    assert "members" not in client("GET", f"/Groups/{gid}").json()


def test_the_store_sees_the_tenant_and_request_id() -> None:
    seen: list[Ctx] = []

    class Spy(DictStore):
        def query(self, ctx: Ctx, kind: Kind, query: Query) -> Page:
            seen.append(ctx)
            return super().query(ctx, kind, query)

    client = make_client(scimkit.Server(Spy(), {TOKEN: "acme"}))
    client("GET", "/Users", headers=[("x-request-id", "req-1")])
    assert seen[0].tenant == "acme"
    assert seen[0].request_id == "req-1"
    assert "acme" in repr(seen[0])


# ===== the objects a store is handed =====


def _capture_query(filter_: str, extra: str = "") -> Query:
    captured: list[Query] = []

    class Capture(DictStore):
        def query(self, ctx: Ctx, kind: Kind, query: Query) -> Page:
            captured.append(query)
            return super().query(ctx, kind, query)

    client = make_client(scimkit.Server(Capture(), {TOKEN: "t"}))
    client("GET", "/Users", query=f"filter={filter_}{extra}")
    return captured[0]


def test_query_exposes_filter_sort_and_page() -> None:
    q = _capture_query(
        'userName Eq "Alice"', "&sortBy=name.familyName&sortOrder=descending&startIndex=3&count=2"
    )
    assert q.kind == "User"
    assert q.filter == 'userName eq "Alice"'
    assert q.sort_by == "name.familyName"
    assert q.descending is True
    assert q.paging == "index"
    assert q.start_index == 3
    assert q.count == 2
    assert q.cursor is None
    assert q.include_members is True
    assert q.equality() == ("userName", "Alice", False)
    assert "Query" in repr(q)


def test_query_equality_is_none_for_other_filters() -> None:
    assert _capture_query('userName co "a"').equality() is None
    assert _capture_query('externalId eq "E1"').equality() == ("externalId", "E1", True)


def test_query_matches_compare_paginate_evaluate() -> None:
    q = _capture_query('userName sw "a"', "&sortBy=userName&count=1")
    a = {"schemas": [USER_SCHEMA], "id": "1", "userName": "amy"}
    b = {"schemas": [USER_SCHEMA], "id": "2", "userName": "Abe"}
    c = {"schemas": [USER_SCHEMA], "id": "3", "userName": "zed"}
    assert q.matches(a)
    assert q.matches(json.dumps(b))
    assert not q.matches(c)
    assert q.compare(a, b) == 1
    assert q.compare(b, a) == -1
    assert q.compare(a, a) == 0
    assert q.paginate(["x", "y", "z"]) == (["x"], None)
    page = q.evaluate([Stored("1", a, 1), Stored("2", b, 1), Stored("3", c, 1)])
    assert isinstance(page, Page)
    assert page.total_results == 2
    assert [s.id for s in page.resources] == ["2"]


def test_member_change_applies_to_a_group() -> None:
    change = scimkit._native.member_change(
        add=[{"value": "u3"}], remove=["u1"], last_modified="2024-01-01T00:00:00.000Z"
    )
    group = {
        "id": "g",
        "displayName": "G",
        "members": [{"value": "u1"}, {"value": "u2"}],
        "meta": {},
    }
    out = change.apply(group)
    assert [m["value"] for m in out["members"]] == ["u2", "u3"]
    assert out["meta"]["lastModified"] == "2024-01-01T00:00:00.000Z"
    assert change.add == [{"value": "u3"}]
    assert change.remove == ["u1"]
    assert change.remove_all is False
    assert change.last_modified == "2024-01-01T00:00:00.000Z"


def test_unique_key_folds_like_the_rust_stores() -> None:
    assert scimkit.unique_key("User", {"userName": "Alice@Contoso.COM"}) == "alice@contoso.com"
    assert scimkit.unique_key("Group", {"displayName": "X"}) is None
    with pytest.raises(ValueError, match="kind"):
        scimkit.unique_key("Widget", {})


def test_ctx_can_be_built_for_tests() -> None:
    ctx = scimkit.Ctx("t", request_id="r", actor="a")
    assert (ctx.tenant, ctx.request_id, ctx.actor) == ("t", "r", "a")
    assert scimkit.Ctx("t").request_id  # a fresh id


def test_protocol_classes_are_runtime_checkable() -> None:
    assert isinstance(DictStore(), scimkit.UserStore)
    assert isinstance(DictStore(), scimkit.MemberStore)
    assert not isinstance(object(), scimkit.UserStore)


# ===== SqliteStore =====


def test_sqlite_store_conforms(tmp_path: Any) -> None:
    counter = iter(range(1000))
    scimkit.testing.check_store(
        lambda: scimkit.SqliteStore(tmp_path / f"db{next(counter)}.sqlite", synchronous="off")
    )


def test_sqlite_store_serves_and_persists(tmp_path: Any) -> None:
    path = tmp_path / "scim.db"
    store = scimkit.SqliteStore(path)
    assert store.path == str(path)
    assert repr(store) == f'SqliteStore("{path}")'
    client = make_client(scimkit.Server(store, {TOKEN: "t"}))
    uid = client("POST", "/Users", entra_user("jo@contoso.com")).json()["id"]
    del client, store
    reopened = scimkit.SqliteStore(str(path))
    assert reopened.integrity_check() == []
    again = make_client(scimkit.Server(reopened, {TOKEN: "t"}))
    assert again("GET", f"/Users/{uid}").json()["userName"] == "jo@contoso.com"


def test_sqlite_store_refuses_a_foreign_file(tmp_path: Any) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OSError, match=r"junk\.db"):
        scimkit.SqliteStore(junk)
    assert junk.read_bytes().startswith(b"this is not a database")


def test_sqlite_store_options() -> None:
    assert scimkit.SqliteStore(":memory:").path is None
    with pytest.raises(ValueError, match="synchronous"):
        scimkit.SqliteStore(":memory:", synchronous="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="busy_timeout"):
        scimkit.SqliteStore(":memory:", busy_timeout=-1)


def test_query_equalities_collect_the_and_terms() -> None:
    captured: list[Query] = []

    class Capture(DictStore):
        def query(self, ctx: Ctx, kind: Kind, query: Query) -> Page:
            captured.append(query)
            return super().query(ctx, kind, query)

    client = make_client(scimkit.Server(Capture(), {TOKEN: "t"}))
    client("GET", "/Groups", query='filter=id eq "g1" and members[value eq "u1"]')
    client("GET", "/Users", query='filter=userName eq "a" or externalId eq "b"')
    client(
        "GET",
        "/Users",
        query='filter=emails[type eq "work" and value eq "A@x.org"] and active eq true',
    )
    group, either, emails = captured
    assert group.equality() is None
    assert [(a, v) for a, v, _ in group.equalities()] == [("id", "g1"), ("members.value", "u1")]
    assert either.equalities() == []
    assert [(a, v, exact) for a, v, exact in emails.equalities()] == [
        ("emails.type", "work", False),
        ("emails.value", "A@x.org", False),
        ("active", True, False),
    ]
