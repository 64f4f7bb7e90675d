"""PostgresStore: the store conformance suite, a server over WSGI on it, and
connection errors that never show the password. Runs against a throw-away
PostgreSQL server (the session fixture ``postgres``, see pgserver.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from conftest import GROUP_SCHEMA, PATCH_OP, TOKEN, entra_user, make_client
from pgserver import AUTH_PASSWORD, AUTH_USER, PASSWORD, PgServer, free_port

import scimkit
import scimkit.testing
import scimkit.wsgi

SECRET = "hunter2-Py-secret"


def store_on(url: str) -> scimkit.PostgresStore:
    return scimkit.PostgresStore(url, max_connections=8, checkout_timeout=10)


# ===== the conformance suite (the checks every Rust store passes) =====


@pytest.mark.parametrize("name", scimkit.testing.CHECKS)
def test_postgres_store_conforms(postgres: PgServer, name: str) -> None:
    scimkit.testing.run_check(name, lambda: store_on(postgres.fresh_database()))


# ===== a server over WSGI =====


class Wsgi:
    """Call a WSGI app with a plain environ (no framework): status, headers, JSON."""

    def __init__(self, app: scimkit.wsgi.WSGIApplication) -> None:
        self.app = app

    def __call__(self, method: str, path: str, body: Any = None, query: str = "") -> Any:
        raw = b"" if body is None else json.dumps(body).encode()
        environ = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": "/scim/v2" + path,
            "QUERY_STRING": query,
            "HTTP_HOST": "testserver",
            "HTTP_AUTHORIZATION": f"Bearer {TOKEN}",
            "CONTENT_TYPE": "application/scim+json",
            "CONTENT_LENGTH": str(len(raw)),
            "wsgi.input": io.BytesIO(raw),
            "wsgi.url_scheme": "http",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
        }
        seen: list[str] = []
        out = b"".join(self.app(environ, lambda status, headers, *_: seen.append(status)))
        status = int(seen[0].split()[0])
        return status, (json.loads(out) if out else None)


def test_entra_flow_over_wsgi_on_postgres(postgres: PgServer) -> None:
    url = postgres.fresh_database()
    app = Wsgi(scimkit.wsgi.make_app(scimkit.Server(store_on(url), {TOKEN: "contoso"})))

    status, user = app("POST", "/Users", entra_user("alice@contoso.com"))
    assert status == 201, user
    uid = user["id"]
    status, got = app("GET", f"/Users/{uid}")
    assert (status, got["userName"], got["active"]) == (200, "alice@contoso.com", True)

    # Entra disables, then renames.
    status, patched = app(
        "PATCH",
        f"/Users/{uid}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Replace", "path": "userName", "value": "alice.s@contoso.com"},
            ],
        },
    )
    assert status == 200, patched
    assert (patched["active"], patched["userName"]) == (False, "alice.s@contoso.com")

    status, found = app("GET", "/Users", query='filter=userName eq "ALICE.S@contoso.com"')
    assert (status, found["totalResults"]) == (200, 1)
    assert found["Resources"][0]["id"] == uid

    status, dup = app("POST", "/Users", entra_user("Alice.S@Contoso.com"))
    assert (status, dup["scimType"]) == (409, "uniqueness")

    status, group = app(
        "POST",
        "/Groups",
        {"schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": [{"value": uid}]},
    )
    assert status == 201, group
    status, listed = app("GET", "/Groups", query=f'filter=members[value eq "{uid}"]')
    assert (status, listed["totalResults"]) == (200, 1)

    # A second server (another replica) on the same database sees everything.
    replica = make_client(scimkit.Server(store_on(url), {TOKEN: "contoso"}))
    assert replica("GET", f"/Users/{uid}").json()["userName"] == "alice.s@contoso.com"
    assert replica("DELETE", f"/Users/{uid}").status == 204

    status, _ = app("GET", f"/Users/{uid}")
    assert status == 404
    status, after = app("GET", f"/Groups/{group['id']}")
    assert status == 200
    assert after.get("members", []) == []


def test_store_attributes(postgres: PgServer) -> None:
    url = postgres.fresh_database()
    store = scimkit.PostgresStore(url)
    dbname = url.rsplit("/", 1)[1]
    target = f"postgresql://scimkit@127.0.0.1:{postgres.port}/{dbname}"
    assert store.target == target
    assert repr(store) == f'PostgresStore("{target}")'
    assert PASSWORD not in repr(store)
    store.ping()
    # A Server keeps the store it was given.
    assert scimkit.Server(store, {TOKEN: "t"}).store is store


# ===== errors, never with the password =====


def test_a_bad_url_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid connection string") as e:
        scimkit.PostgresStore(f"postgresql://scim:{SECRET}@127.0.0.1:notaport/scim")
    assert SECRET not in str(e.value)
    assert SECRET not in repr(e.value)


def test_an_unreachable_server_is_a_connection_error() -> None:
    port = free_port()
    with pytest.raises(ConnectionError) as e:
        scimkit.PostgresStore(
            f"postgresql://scim:{SECRET}@127.0.0.1:{port}/scim", connect_timeout=5
        )
    message = str(e.value)
    assert message.startswith(
        f"cannot open the PostgreSQL store at postgresql://scim@127.0.0.1:{port}/scim: "
        "the server is unreachable"
    ), message
    assert SECRET not in message
    assert isinstance(e.value, OSError)


def test_a_wrong_password_is_a_permission_error(postgres: PgServer) -> None:
    wrong = "not-the-Py-Pa55word"
    with pytest.raises(PermissionError, match="authentication failed") as e:
        scimkit.PostgresStore(postgres.url("postgres", user=AUTH_USER, password=wrong))
    assert wrong not in str(e.value)
    # The right password works (and is not in the target either).
    db = postgres.fresh_database().rsplit("/", 1)[1]
    store = scimkit.PostgresStore(postgres.url(db, user=AUTH_USER, password=AUTH_PASSWORD))
    assert AUTH_PASSWORD not in store.target + repr(store)


def test_a_missing_database_is_an_os_error(postgres: PgServer) -> None:
    with pytest.raises(OSError, match="the database does not exist") as e:
        scimkit.PostgresStore(postgres.url("no_such_database"))
    assert PASSWORD not in str(e.value)
    assert not isinstance(e.value, ConnectionError | PermissionError)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("max_connections", 0, "max_connections"),
        ("connect_timeout", -1.0, "connect_timeout"),
        ("connect_timeout", 0.0, "connect_timeout"),
        ("checkout_timeout", float("nan"), "checkout_timeout"),
    ],
)
def test_options_are_checked_before_connecting(option: str, value: Any, message: str) -> None:
    # Nothing listens there: a ValueError proves the option was refused first.
    url = f"postgresql://scim:{SECRET}@127.0.0.1:{free_port()}/scim"
    with pytest.raises(ValueError, match=message) as e:
        scimkit.PostgresStore(url, **{option: value})
    assert SECRET not in str(e.value)
