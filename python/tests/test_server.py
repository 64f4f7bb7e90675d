"""Server behaviour through the binding: the Entra flow, protocol errors as responses, misuse."""

from __future__ import annotations

import json
import threading

import pytest
from conftest import ENTERPRISE, GROUP_SCHEMA, PATCH_OP, TOKEN, Client, entra_user, make_client

import scimkit


def test_entra_test_connection_is_an_empty_list(client: Client) -> None:
    r = client("GET", "/Users", query='filter=userName eq "probe-8f3e@contoso.com"')
    assert r.status == 200
    assert r.header("Content-Type") == "application/scim+json"
    body = r.json()
    assert body["totalResults"] == 0
    assert body["Resources"] == []


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_missing_or_wrong_token_is_401(server: scimkit.Server, token: str | None) -> None:
    r = make_client(server, token)("GET", "/Users")
    assert r.status == 401
    assert r.json()["status"] == "401"


def test_entra_provisioning_flow(client: Client) -> None:
    # Matching query, then create.
    assert (
        client("GET", "/Users", query="filter=userName+eq+%22alice%40contoso.com%22").json()[
            "totalResults"
        ]
        == 0
    )
    r = client("POST", "/Users", entra_user("alice@contoso.com"))
    assert r.status == 201, r.body
    user = r.json()
    uid = user["id"]
    assert r.header("location") == f"http://testserver/scim/v2/Users/{uid}"
    assert user[ENTERPRISE]["department"] == "Engineering"
    # Matching is case-insensitive.
    found = client("GET", "/Users", query='filter=userName eq "ALICE@contoso.com"').json()
    assert [u["id"] for u in found["Resources"]] == [uid]
    # A duplicate is 409 uniqueness.
    dup = client("POST", "/Users", entra_user("Alice@Contoso.com"))
    assert dup.status == 409
    assert dup.json()["scimType"] == "uniqueness"
    # The Entra PATCH dialect: capitalised ops, string booleans, path-less replace with
    # dotted and URN keys, value-filtered paths.
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "title", "value": "Manager"},
            {"op": "Replace", "value": {"name.givenName": "Alicia", "displayName": "Alicia Smith"}},
            {"op": "Add", "path": 'emails[type eq "work"].value', "value": "alicia@contoso.com"},
            {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0199"},
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Research"},
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "boss-id"},
        ],
    }
    r = client("PATCH", f"/Users/{uid}", patch)
    assert r.status in (200, 204), r.body
    got = client("GET", f"/Users/{uid}").json()
    assert got["title"] == "Manager"
    assert got["name"]["givenName"] == "Alicia"
    assert got["displayName"] == "Alicia Smith"
    assert {"type": "work", "value": "alicia@contoso.com", "primary": True} in got["emails"]
    assert any(p["type"] == "mobile" for p in got["phoneNumbers"])
    assert got[ENTERPRISE]["department"] == "Research"
    assert got[ENTERPRISE]["manager"]["value"] == "boss-id"
    # Soft delete in Entra: active "False" as a string.
    r = client(
        "PATCH",
        f"/Users/{uid}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )
    assert r.status in (200, 204)
    assert client("GET", f"/Users/{uid}").json()["active"] is False
    # Groups: create, add members, membership check, remove.
    bob = client("POST", "/Users", entra_user("bob@contoso.com", externalId="bob")).json()["id"]
    g = client("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Engineering"})
    assert g.status == 201
    gid = g.json()["id"]
    add = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": uid}, {"value": bob}]}],
    }
    assert client("PATCH", f"/Groups/{gid}", add).status in (200, 204)
    check = client(
        "GET",
        "/Groups",
        query=f'filter=id eq "{gid}" and members[value eq "{bob}"]&excludedAttributes=members',
    ).json()
    assert check["totalResults"] == 1
    assert "members" not in check["Resources"][0]
    remove = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Remove", "path": f'members[value eq "{bob}"]'}],
    }
    assert client("PATCH", f"/Groups/{gid}", remove).status in (200, 204)
    members = client("GET", f"/Groups/{gid}").json().get("members", [])
    assert [m["value"] for m in members] == [uid]
    # Permanent delete: 204, then 404; the user leaves its groups.
    assert client("DELETE", f"/Users/{uid}").status == 204
    assert client("GET", f"/Users/{uid}").status == 404
    assert "members" not in client("GET", f"/Groups/{gid}").json()


def test_protocol_errors_are_responses(server: scimkit.Server, client: Client) -> None:
    bad_filter = client("GET", "/Users", query='filter=userName eqq "x"')
    assert bad_filter.status == 400
    assert bad_filter.json()["scimType"] == "invalidFilter"
    unknown_attr = client("GET", "/Users", query='filter=favouriteColour eq "x"')
    assert unknown_attr.status == 400
    assert client("GET", "/Users/does-not-exist").status == 404
    assert client("GET", "/Nope").status == 404
    assert client("POST", "/Users").status == 400  # no body
    not_json = server.handle(
        "POST",
        "/scim/v2/Users",
        headers=[("authorization", f"Bearer {TOKEN}"), ("content-type", "application/scim+json")],
        body=b"{not json",
    )
    assert not_json.status == 400
    assert not_json.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_discovery_is_public(server: scimkit.Server) -> None:
    r = make_client(server, None)("GET", "/ServiceProviderConfig")
    assert r.status == 200
    assert r.json()["patch"]["supported"] is True


def test_a_body_over_the_limit_is_413() -> None:
    server = scimkit.Server(scimkit.MemoryStore(), {TOKEN: "t"}, max_body_size=100)
    assert server.max_body_size == 100
    r = make_client(server)("POST", "/Users", entra_user("big@contoso.com"))
    assert r.status == 413
    assert r.json()["status"] == "413"


def test_response_accessors(client: Client) -> None:
    uid = client("POST", "/Users", entra_user("carol@contoso.com")).json()["id"]
    r = client("DELETE", f"/Users/{uid}")
    assert r.status == 204
    assert r.body == b""
    assert r.json() is None
    assert repr(r) == "<Response [204]>"
    assert r.header("x-missing") is None
    assert isinstance(r.headers, list)


def test_tenants_are_kept_apart() -> None:
    server = scimkit.Server(scimkit.MemoryStore(), {"ta": "tenant-a", "tb": "tenant-b"})
    a, b = make_client(server, "ta"), make_client(server, "tb")
    uid = a("POST", "/Users", entra_user("dave@contoso.com")).json()["id"]
    assert b("GET", f"/Users/{uid}").status == 404
    assert b("POST", "/Users", entra_user("dave@contoso.com")).status == 201


def test_trusted_tenant_needs_no_token() -> None:
    server = scimkit.Server(scimkit.MemoryStore(), trusted_tenant="t")
    assert make_client(server, None)("GET", "/Users").status == 200


def test_query_paths_with_odd_characters_are_encoded(client: Client) -> None:
    # A raw space or non-ASCII character is encoded, not an error.
    assert client("GET", "/Users/no such é").status == 404


def test_concurrent_requests_from_threads(client: Client) -> None:
    errors: list[int] = []

    def work(n: int) -> None:
        for i in range(20):
            r = client("POST", "/Users", entra_user(f"t{n}-{i}@contoso.com"))
            if r.status != 201:
                errors.append(r.status)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert client("GET", "/Users", query="count=0").json()["totalResults"] == 80


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"store": object()}, TypeError),
        ({"store": scimkit.MemoryStore()}, ValueError),  # no authentication configured
        (
            {"store": scimkit.MemoryStore(), "tokens": {"t": "x"}, "base_path": "no-slash"},
            ValueError,
        ),
        ({"store": scimkit.MemoryStore(), "tokens": {"t": "x"}, "max_results": 0}, ValueError),
        ({"store": scimkit.MemoryStore(), "tokens": ["t"]}, TypeError),
        ({"store": scimkit.MemoryStore(), "tokens": {"": "x"}}, ValueError),
        ({"store": scimkit.MemoryStore(), "tokens": {"t": "x"}, "on_event": 3}, TypeError),
    ],
)
def test_misconfiguration_raises(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        scimkit.Server(**kwargs)  # type: ignore[arg-type]


def test_misuse_of_handle_raises(server: scimkit.Server) -> None:
    with pytest.raises(ValueError, match="method"):
        server.handle("GE T", "/scim/v2/Users")
    with pytest.raises(ValueError, match="start with"):
        server.handle("GET", "scim/v2/Users")
    with pytest.raises(TypeError):
        server.handle("GET", "/scim/v2/Users", headers=[("a",)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="header name"):
        server.handle("GET", "/scim/v2/Users", headers=[("bad name", "x")])
    with pytest.raises(TypeError, match="body"):
        server.handle("GET", "/scim/v2/Users", body=12)  # type: ignore[arg-type]


def test_body_may_be_bytearray_or_str(client: Client, server: scimkit.Server) -> None:
    body = json.dumps(entra_user("erin@contoso.com"))
    hs = [("authorization", f"Bearer {TOKEN}"), ("content-type", "application/scim+json")]
    assert server.handle("POST", "/scim/v2/Users", headers=hs, body=body).status == 201
    other = json.dumps(entra_user("frank@contoso.com")).encode()
    assert server.handle("POST", "/scim/v2/Users", headers=hs, body=bytearray(other)).status == 201


def test_server_exposes_its_configuration(server: scimkit.Server) -> None:
    assert server.base_path == "/scim/v2"
    assert isinstance(server.store, scimkit.MemoryStore)
    assert "Server" in repr(server)


class Recorder:
    def __init__(self) -> None:
        self.events: list[scimkit.Event] = []

    def __call__(self, event: scimkit.Event) -> None:
        self.events.append(event)


def test_on_event_reports_stored_changes() -> None:
    rec = Recorder()
    server = scimkit.Server(scimkit.MemoryStore(), {TOKEN: "t"}, on_event=rec)
    client = make_client(server)
    uid = client("POST", "/Users", entra_user("gina@contoso.com")).json()["id"]
    deactivate = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "active", "value": False}],
    }
    client("PATCH", f"/Users/{uid}", deactivate)
    reactivate = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "active", "value": "True"}],
    }
    client("PATCH", f"/Users/{uid}", reactivate)
    gid = client("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "G"}).json()["id"]
    add = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": uid}]}],
    }
    client("PATCH", f"/Groups/{gid}", add)
    client("DELETE", f"/Users/{uid}")
    assert server.flush_events(timeout=10)
    assert server.events_dropped == 0
    kinds = [(e.type, e.kind) for e in rec.events]
    assert kinds == [
        ("created", "User"),
        ("updated", "User"),
        ("deactivated", "User"),
        ("updated", "User"),
        ("reactivated", "User"),
        ("created", "Group"),
        ("members_added", "Group"),
        ("deleted", "User"),
    ]
    assert rec.events[1].changed == ["active"]
    membership = next(e for e in rec.events if e.type == "members_added")
    assert membership.members == [uid]
    assert membership.id == gid
    assert membership.tenant == "t"
    created = rec.events[0]
    assert created.name == "gina@contoso.com"
    assert created.to_dict()["kind"] == "created"
    assert created.request_id
    assert created.time.endswith("Z")
    assert "Event(type=" in repr(created)


def test_policies_are_configurable() -> None:
    soft = make_client(scimkit.Server(scimkit.MemoryStore(), {TOKEN: "t"}, deletion="soft"))
    uid = soft("POST", "/Users", entra_user("ina@contoso.com")).json()["id"]
    assert soft("DELETE", f"/Users/{uid}").status == 204
    assert soft("GET", f"/Users/{uid}").status == 404
    refuse = make_client(scimkit.Server(scimkit.MemoryStore(), {TOKEN: "t"}, groups="refuse"))
    r = refuse("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "G"})
    assert r.status == 403
    with pytest.raises(ValueError, match="deletion must be one of"):
        scimkit.Server(scimkit.MemoryStore(), {TOKEN: "t"}, deletion="sometimes")  # type: ignore[arg-type]


def test_a_failing_event_callback_does_not_fail_the_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(event: scimkit.Event) -> None:
        raise RuntimeError("callback bug")

    server = scimkit.Server(scimkit.MemoryStore(), {TOKEN: "t"}, on_event=boom)
    with caplog.at_level("ERROR", logger="scimkit"):
        r = make_client(server)("POST", "/Users", entra_user("hank@contoso.com"))
        assert server.flush_events(timeout=10)
    assert r.status == 201
    assert "on_event callback raised" in caplog.text
    assert "callback bug" in caplog.text
