"""``make_app(server)``: the SCIM server as an ASGI 3 application.

Serve it with uvicorn, or mount it in Starlette/FastAPI under the server's base
path::

    app.mount("/scim/v2", make_app(server))

Each request runs ``server.handle`` in the event loop's default thread pool, so
a slow store never blocks the loop (the engine releases the GIL meanwhile).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from scimkit._native import Server

__all__ = ["ASGIApplication", "make_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: An ASGI 3 application callable.
ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]

_SAFE = "/:@!$&'()*+,;=~-._%"


def request_path(scope: Scope) -> str:
    """The full, percent-encoded request path (``raw_path``, else root_path + path)."""
    raw = scope.get("raw_path")
    if raw:
        return quote(bytes(raw), safe=_SAFE)
    root = scope.get("root_path", "")
    path: str = scope.get("path", "/")
    if root and not path.startswith(root):
        path = root + path
    return quote(path.encode("utf-8"), safe=_SAFE.rstrip("%"))


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if chunk and size <= limit:
            chunks.append(chunk)
            size += len(chunk)
        if size > limit or not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def make_app(server: Server) -> ASGIApplication:
    """Return an ASGI application answering HTTP requests with ``server.handle``."""
    limit = server.max_body_size

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"scimkit serves HTTP only, not {scope['type']!r}")
        body = await _read_body(receive, limit)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        call = functools.partial(
            server.handle,
            scope["method"],
            request_path(scope),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
        )
        response = await asyncio.get_running_loop().run_in_executor(None, call)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    return app
