"""The view serving SCIM under the prefix ``scimkit.django.urls`` is included at."""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path
from django.views.decorators.csrf import csrf_exempt

from scimkit import Server
from scimkit.django.conf import get_config
from scimkit.django.store import DjangoStore

__all__ = ["get_server", "scim_view"]

_lock = threading.Lock()
_servers: dict[str, Server] = {}


def get_server(base_path: str) -> Server:
    """The server for ``base_path``, built from ``settings.SCIMKIT`` on first use."""
    server = _servers.get(base_path)
    if server is not None:
        return server
    with _lock:
        server = _servers.get(base_path)
        if server is None:
            config = get_config()
            options: dict[str, Any] = dict(config.server_options)
            server = Server(
                DjangoStore.from_config(config),
                config.tokens or None,
                trusted_tenant=config.trusted_tenant,
                base_path=base_path,
                base_url=config.base_url,
                **options,
            )
            _servers[base_path] = server
    return server


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "SCIMKIT":
        with _lock:
            _servers.clear()


@csrf_exempt
def scim_view(request: HttpRequest, subpath: str = "") -> HttpResponse:
    """Answer a SCIM request (every method) with ``Server.handle``."""
    path = request.path
    base_path = path[: len(path) - len(subpath)] if subpath else path
    server = get_server(base_path.rstrip("/"))
    # Host and scheme as Django resolved them (ALLOWED_HOSTS, SECURE_PROXY_SSL_HEADER),
    # for the absolute URLs in meta.location and Location.
    headers = [
        (name, value)
        for name, value in request.headers.items()
        if name.lower() not in ("host", "x-forwarded-proto", "x-forwarded-host")
    ]
    headers.append(("host", request.get_host()))
    headers.append(("x-forwarded-proto", request.scheme or "http"))
    response = server.handle(
        request.method or "GET",
        escape_uri_path(path),
        query=request.META.get("QUERY_STRING", ""),
        headers=headers,
        body=request.body,
    )
    out = HttpResponse(response.body, status=response.status)
    for name, value in response.headers:
        out[name] = value
    return out
