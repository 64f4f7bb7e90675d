"""The WSGI app: mounted in Flask (test client) next to ordinary routes."""

from __future__ import annotations

import json

import pytest
from conftest import GROUP_SCHEMA, PATCH_OP, TOKEN, entra_user

import scimkit
import scimkit.wsgi

flask = pytest.importorskip("flask")
from werkzeug.middleware.dispatcher import DispatcherMiddleware  # noqa: E402

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SCIM = "application/scim+json"


@pytest.fixture
def app() -> flask.Flask:
    app = flask.Flask(__name__)

    @app.route("/hello")
    def hello() -> str:
        return "hello"

    server = scimkit.Server(scimkit.MemoryStore(), {TOKEN: "t"}, max_body_size=4096)
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {"/scim/v2": scimkit.wsgi.make_app(server)}
    )
    return app


def test_flask_routes_still_work(app: flask.Flask) -> None:
    assert app.test_client().get("/hello").data == b"hello"


def test_entra_flow_through_flask(app: flask.Flask) -> None:
    c = app.test_client()
    r = c.get(
        "/scim/v2/Users", query_string={"filter": 'userName eq "x@contoso.com"'}, headers=AUTH
    )
    assert r.status_code == 200
    assert r.json is not None
    assert r.json["totalResults"] == 0
    assert r.headers["Content-Type"] == SCIM
    assert c.get("/scim/v2/Users").status_code == 401
    r = c.post(
        "/scim/v2/Users",
        data=json.dumps(entra_user("al@contoso.com")),
        content_type=SCIM,
        headers=AUTH,
    )
    assert r.status_code == 201
    uid = r.get_json(force=True)["id"]
    assert r.headers["Location"] == f"http://localhost/scim/v2/Users/{uid}"
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    r = c.patch(f"/scim/v2/Users/{uid}", data=json.dumps(patch), content_type=SCIM, headers=AUTH)
    assert r.status_code in (200, 204)
    assert c.get(f"/scim/v2/Users/{uid}", headers=AUTH).get_json(force=True)["active"] is False
    g = c.post(
        "/scim/v2/Groups",
        data=json.dumps({"schemas": [GROUP_SCHEMA], "displayName": "Team A"}),
        content_type=SCIM,
        headers=AUTH,
    )
    assert g.status_code == 201
    assert c.delete(f"/scim/v2/Users/{uid}", headers=AUTH).status_code == 204
    assert c.get(f"/scim/v2/Users/{uid}", headers=AUTH).status_code == 404


def test_oversized_bodies_are_413_without_reading_them(app: flask.Flask) -> None:
    big = json.dumps(entra_user("big@contoso.com", title="x" * 10_000))
    r = app.test_client().post("/scim/v2/Users", data=big, content_type=SCIM, headers=AUTH)
    assert r.status_code == 413


def test_percent_encoded_paths_round_trip(app: flask.Flask) -> None:
    r = app.test_client().get("/scim/v2/Users/a%20b%C3%A9", headers=AUTH)
    assert r.status_code == 404
    assert r.get_json(force=True)["detail"] == "User a bé not found"


def test_plain_wsgi_environ() -> None:
    server = scimkit.Server(scimkit.MemoryStore(), {TOKEN: "t"})
    app = scimkit.wsgi.make_app(server)
    seen: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/scim/v2/ServiceProviderConfig",
        "QUERY_STRING": "",
        "HTTP_HOST": "example.org",
        "wsgi.input": None,
    }
    body = b"".join(app(environ, lambda status, headers: seen.append(status)))
    assert seen == ["200 OK"]
    assert json.loads(body)["patch"]["supported"] is True
