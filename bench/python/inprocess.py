"""Per-request cost of each WSGI app called in-process (no HTTP server, one thread).

Isolates what the apps themselves cost from what gunicorn costs:

    python bench/python/inprocess.py [--users 1000] [--store sqlite|memory]

Same apps and seed data as run.py (apps.py); prints a Markdown table of
microseconds per request (median of 3 batches).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import apps


def call(app: apps.WSGIApp, method: str, path: str, query: str = "", body: bytes = b"") -> bytes:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {apps.TOKEN}",
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
    status: list[str] = []
    out = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    if not status[0][:1] == "2":
        raise RuntimeError(f"{method} {path}: {status[0]} {out[:200]!r}")
    return out


def per_request(f: Callable[[int], object], n: int) -> float:
    batches = []
    for b in range(3):
        t = time.perf_counter()
        for i in range(n):
            f(b * n + i)
        batches.append((time.perf_counter() - t) / n * 1e6)
    return sorted(batches)[1]


def measure(app: apps.WSGIApp, n: int) -> dict[str, float]:
    users = json.loads(call(app, "GET", "/v2/Users", "count=1000"))["Resources"]

    def get(i: int) -> object:
        return call(app, "GET", "/v2/Users/" + users[i % len(users)]["id"])

    def filt(i: int) -> object:
        f = f'userName eq "{users[i % len(users)]["userName"]}"'
        return call(app, "GET", "/v2/Users", "filter=" + urllib.parse.quote(f))

    def post(i: int) -> object:
        return call(app, "POST", "/v2/Users", body=json.dumps(apps.user(500_000 + i)).encode())

    return {
        "get": per_request(get, n),
        "filter": per_request(filt, n),
        "post": per_request(post, n),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    args = p.parse_args()
    os.environ["BENCH_USERS"] = str(args.users)
    os.environ["BENCH_STORE"] = args.store
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BENCH_DB"] = os.path.join(tmp, "bench.db")
        ours = measure(apps.make_scimkit(), 500)
    theirs = measure(apps.make_scim2(), 50)
    print(
        f"In-process, µs per request ({args.store} store for scimkit; load average "
        f"{os.getloadavg()[0]:.1f}):\n"
    )
    print("| request | scimkit µs | scim2-server µs | ratio |")
    print("|---|---:|---:|---:|")
    for key, title in (
        ("get", "GET /Users/{id}"),
        ("filter", 'GET /Users?filter=userName eq "…"'),
        ("post", "POST /Users"),
    ):
        print(
            f"| {title} | {ours[key]:,.0f} | {theirs[key]:,.0f} | {theirs[key] / ours[key]:.1f}× |"
        )


if __name__ == "__main__":
    main()
