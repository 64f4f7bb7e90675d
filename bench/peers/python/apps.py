"""The WSGI applications of scimkit's HTTP benchmark (bench/run.sh), served by
gunicorn under /scim/v2 with the bearer token of ``BENCH_TOKEN``:

* ``scim2()``: scim2-server's ``BearerTokenApplication`` over its
  ``InMemoryStorage`` (its only bundled storage), configured as its own
  ``scim2-server`` command configures it;
* ``scimkit()``: the scimkit wheel's ``scimkit.wsgi.make_app`` over
  ``scimkit.MemoryStore`` (or ``scimkit.SqliteStore(BENCH_DB)`` with
  ``BENCH_STORE=sqlite``).

Both in-memory stores live in one process, so gunicorn runs one worker with
threads (``--workers 1 --worker-class gthread``).
"""

from __future__ import annotations

import os
from typing import Any

TOKEN = os.environ.get("BENCH_TOKEN", "bench-token")
BASE = "/scim/v2"


def scim2() -> Any:
    """scim2-server's WSGI application over its in-memory storage."""
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
    app = BearerTokenApplication(InMemoryStorage(), provider, service=service, bearer_tokens=[TOKEN])

    def mounted(environ: dict[str, Any], start_response: Any) -> Any:
        # scim2-server serves at the root; strip the benchmark's base path.
        path = environ.get("PATH_INFO", "")
        if path.startswith(BASE):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + BASE
            environ["PATH_INFO"] = path[len(BASE) :]
        return app(environ, start_response)

    return mounted


def scimkit() -> Any:
    """scimkit's WSGI application (memory store unless BENCH_STORE=sqlite)."""
    import scimkit as sk
    import scimkit.wsgi

    store: Any
    if os.environ.get("BENCH_STORE", "memory") == "sqlite":
        store = sk.SqliteStore(os.environ["BENCH_DB"])
    else:
        store = sk.MemoryStore()
    server = sk.Server(store, {TOKEN: "default"}, base_path=BASE)
    return scimkit.wsgi.make_app(server)
