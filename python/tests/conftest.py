"""Shared fixtures: a server over the in-memory store, and a small SCIM client."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pgserver import PgServer, PgUnavailable

import scimkit

# The stage script tests the installed wheel: make sure that is what was imported.
_required = os.environ.get("SCIMKIT_REQUIRE_INSTALLED")
if _required and not os.path.abspath(scimkit.__file__).startswith(os.path.abspath(_required)):
    raise RuntimeError(f"scimkit imported from {scimkit.__file__}, not from {_required}")

TOKEN = "s3cret"
TENANT = "contoso"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def entra_user(user_name: str, **extra: Any) -> dict[str, Any]:
    """A User as Microsoft Entra ID POSTs it (default attribute mapping)."""
    user: dict[str, Any] = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": user_name.split("@")[0],
        "userName": user_name,
        "active": True,
        "displayName": "Alice Smith",
        "title": "Engineer",
        "preferredLanguage": "en-US",
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
        "addresses": [{"type": "work", "locality": "Seattle", "country": "US"}],
        ENTERPRISE: {"department": "Engineering", "employeeNumber": "42"},
    }
    user.update(extra)
    return user


Client = Callable[..., scimkit.Response]


def make_client(server: scimkit.Server, token: str | None = TOKEN) -> Client:
    """``client(method, path, body=None, query="", headers=...)`` against ``server``."""

    def client(
        method: str,
        path: str,
        body: Any = None,
        *,
        query: str = "",
        headers: list[tuple[str, str]] | None = None,
    ) -> scimkit.Response:
        hs = [("content-type", "application/scim+json"), ("host", "testserver")]
        if token is not None:
            hs.append(("authorization", f"Bearer {token}"))
        hs.extend(headers or [])
        raw = b"" if body is None else json.dumps(body).encode()
        return server.handle(method, "/scim/v2" + path, query=query, headers=hs, body=raw)

    return client


@pytest.fixture
def server() -> scimkit.Server:
    return scimkit.Server(scimkit.MemoryStore(), {TOKEN: TENANT})


@pytest.fixture
def client(server: scimkit.Server) -> Client:
    return make_client(server)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """A throw-away PostgreSQL server on loopback for the session (see pgserver.py).

    Skips with the reason when PostgreSQL cannot be started, unless
    ``SCIMKIT_REQUIRE_POSTGRES=1``, which makes that a failure.
    """
    try:
        server = PgServer.start()
    except PgUnavailable as e:
        if os.environ.get("SCIMKIT_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                f"SCIMKIT_REQUIRE_POSTGRES=1 but no PostgreSQL server could be started: {e}"
            )
        pytest.skip(f"no PostgreSQL ({e}); set SCIMKIT_REQUIRE_POSTGRES=1 to fail instead")
    try:
        yield server
    finally:
        server.stop()
