"""``make_app(server)``: the SCIM server as a WSGI application (PEP 3333).

Serve it with gunicorn, or mount it in Flask under the server's base path::

    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/scim/v2": make_app(server)})

The full request path (``SCRIPT_NAME`` + ``PATH_INFO``) is what the server
routes, so the mount point must be the server's ``base_path``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from scimkit._native import Server

__all__ = ["WSGIApplication", "make_app"]

#: A WSGI application callable.
WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_SAFE = "/:@!$&'()*+,;=~-._"


_STATUS_LINES = {int(s): f"{int(s)} {s.phrase}" for s in HTTPStatus}


def _status_line(status: int) -> str:
    return _STATUS_LINES.get(status) or f"{status} Unknown"


def request_path(environ: dict[str, Any]) -> str:
    """The percent-encoded request path: ``SCRIPT_NAME`` + ``PATH_INFO``."""
    raw = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
    return quote(raw, safe=_SAFE) or "/"


def request_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request headers from a WSGI environ, as ``(name, value)`` pairs."""
    # Header names are case-insensitive; the engine normalises them.
    headers = [(k[5:].replace("_", "-"), v) for k, v in environ.items() if k.startswith("HTTP_")]
    content_type = environ.get("CONTENT_TYPE")
    if content_type:
        headers.append(("content-type", content_type))
    content_length = environ.get("CONTENT_LENGTH")
    if content_length:
        headers.append(("content-length", content_length))
    return headers


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """Read the body, at most ``limit + 1`` bytes (so that an oversized body is seen)."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length < 0:
        if not environ.get("wsgi.input_terminated"):
            return b""
        data: bytes = stream.read(limit + 1)
        return data
    if length == 0:
        return b""
    data = stream.read(min(length, limit + 1))
    return data


def make_app(server: Server) -> WSGIApplication:
    """Return a WSGI application answering every request with ``server.handle``."""
    limit = server.max_body_size

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = server.handle(
            environ["REQUEST_METHOD"],
            request_path(environ),
            query=environ.get("QUERY_STRING", ""),
            headers=request_headers(environ),
            body=read_body(environ, limit),
        )
        start_response(_status_line(response.status), response.headers)
        return [response.body]

    return app
