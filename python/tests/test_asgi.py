"""The ASGI app: mounted in Starlette (TestClient) next to ordinary routes."""

from __future__ import annotations

import json

import pytest
from conftest import PATCH_OP, TOKEN, entra_user

import scimkit
import scimkit.asgi

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}


@pytest.fixture
def client() -> TestClient:
    server = scimkit.Server(scimkit.MemoryStore(), {TOKEN: "t"}, max_body_size=4096)

    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = Starlette(
        routes=[
            Route("/hello", hello),
            Mount("/scim/v2", app=scimkit.asgi.make_app(server)),
        ]
    )
    return TestClient(app)


def test_starlette_routes_still_work(client: TestClient) -> None:
    assert client.get("/hello").text == "hello"


def test_entra_flow_through_starlette(client: TestClient) -> None:
    r = client.get("/scim/v2/Users", params={"filter": 'userName eq "x@contoso.com"'}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["totalResults"] == 0
    assert r.headers["content-type"] == "application/scim+json"
    assert client.get("/scim/v2/Users").status_code == 401
    r = client.post(
        "/scim/v2/Users", content=json.dumps(entra_user("al@contoso.com")), headers=AUTH
    )
    assert r.status_code == 201
    uid = r.json()["id"]
    assert r.headers["location"] == f"http://testserver/scim/v2/Users/{uid}"
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "active", "value": False}],
    }
    r = client.patch(f"/scim/v2/Users/{uid}", content=json.dumps(patch), headers=AUTH)
    assert r.status_code in (200, 204)
    assert client.get(f"/scim/v2/Users/{uid}", headers=AUTH).json()["active"] is False
    assert client.delete(f"/scim/v2/Users/{uid}", headers=AUTH).status_code == 204
    assert client.get(f"/scim/v2/Users/{uid}", headers=AUTH).status_code == 404


def test_oversized_bodies_are_413(client: TestClient) -> None:
    big = json.dumps(entra_user("big@contoso.com", title="x" * 10_000))
    assert client.post("/scim/v2/Users", content=big, headers=AUTH).status_code == 413


def test_lifespan_is_answered() -> None:
    server = scimkit.Server(scimkit.MemoryStore(), {TOKEN: "t"})
    with TestClient(scimkit.asgi.make_app(server)) as c:
        assert c.get("/scim/v2/ServiceProviderConfig").status_code == 200


def test_request_path_without_raw_path() -> None:
    assert scimkit.asgi.request_path({"path": "/Users/a b", "root_path": "/scim/v2"}) == (
        "/scim/v2/Users/a%20b"
    )
    assert (
        scimkit.asgi.request_path({"raw_path": b"/scim/v2/Users/%C3%A9"}) == "/scim/v2/Users/%C3%A9"
    )
