"""The two WSGI applications the benchmark compares, both serving SCIM under /v2.

* ``make_scimkit()``: ``scimkit.wsgi.make_app`` over ``SqliteStore`` (the file in
  ``BENCH_DB``; shared by all gunicorn workers) or ``MemoryStore`` (``BENCH_STORE=memory``).
* ``make_scim2()``: scim2-server's ``BearerTokenApplication`` over its
  ``InMemoryStorage`` (its only bundled storage), configured as its own
  ``scim2-server`` command does.

Both are seeded with the same ``BENCH_USERS`` users when the app is created;
with ``gunicorn --preload`` that happens once, before the workers fork, so every
worker starts with the same users (a memory store's later writes stay in the
worker that made them: harmless for this mix, whose POSTs create new users).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterable
from typing import Any

TOKEN = "bench-token"
USERS = int(os.environ.get("BENCH_USERS", "1000"))
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def user(i: int) -> dict[str, Any]:
    """The i-th seed user, shaped like an Entra ID create."""
    name = f"user{i:06d}@contoso.com"
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": f"ext-{i:06d}",
        "userName": name,
        "active": True,
        "displayName": f"User {i}",
        "name": {"givenName": "User", "familyName": f"N{i}"},
        "emails": [{"type": "work", "primary": True, "value": name}],
        ENTERPRISE: {"department": "Engineering"},
    }


def _call(app: WSGIApp, method: str, path: str, body: bytes = b"") -> tuple[str, bytes]:
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {TOKEN}",
        "CONTENT_TYPE": "application/scim+json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    out = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
    return status[0], out


def _seed(app: WSGIApp) -> WSGIApp:
    _call(app, "GET", "/v2/Users/none")
    for i in range(USERS):
        status, body = _call(app, "POST", "/v2/Users", json.dumps(user(i)).encode())
        if not status.startswith("201"):
            if status.startswith("409"):
                continue  # already seeded (a reused SQLite file)
            raise RuntimeError(f"seeding failed: {status} {body[:200]!r}")
    return app


def make_scimkit() -> WSGIApp:
    """Return scimkit's WSGI app (SQLite by default), seeded."""
    import scimkit
    import scimkit.wsgi

    store: Any
    if os.environ.get("BENCH_STORE", "sqlite") == "memory":
        store = scimkit.MemoryStore()
    else:
        store = scimkit.SqliteStore(os.environ["BENCH_DB"], synchronous="normal")
    server = scimkit.Server(store, {TOKEN: "bench"}, base_path="/v2")
    return _seed(scimkit.wsgi.make_app(server))


def make_scim2() -> WSGIApp:
    """scim2-server's WSGI app over its in-memory storage, seeded."""
    from scim2_models import ScimProvider
    from scim2_server.memory import InMemoryStorage
    from scim2_server.service import ScimService
    from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret="bench-secret")
    app = BearerTokenApplication(
        InMemoryStorage(), provider, service=service, bearer_tokens=[TOKEN]
    )
    return _seed(app)


def make_constant() -> WSGIApp:
    """Return a WSGI app answering every request with the same small JSON.

    It measures the ceiling that gunicorn (and the load generator) leave for
    any app on this machine.
    """
    body = b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"x","userName":"x"}'
    headers = [("Content-Type", "application/scim+json"), ("Content-Length", str(len(body)))]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", headers)
        return [body]

    return app
