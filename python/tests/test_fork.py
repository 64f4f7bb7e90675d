"""Pre-fork servers (gunicorn --preload, uWSGI): the application — its store and
its event thread — is created in a parent process, then the workers are
forked. Connections and threads do not survive fork(); each worker must open
its own (bounded waits: a hang fails the test instead of stalling it)."""

from __future__ import annotations

import gc
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TOKEN, entra_user, make_client
from pgserver import PgServer

import scimkit

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def in_forked_child(
    work: Callable[[], dict[str, object]], timeout: float = 60.0
) -> dict[str, object]:
    """Run ``work()`` in a forked child; return the JSON it returns. A child
    that does not finish within ``timeout`` seconds is killed and fails."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(read_end)
            out = json.dumps(work()).encode()
            os.write(write_end, out)
        except BaseException as e:  # reported to the parent
            os.write(write_end, json.dumps({"error": repr(e)}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child did not finish within {timeout} s (hung)")
        time.sleep(0.02)
    with os.fdopen(read_end, "rb") as f:
        data = f.read()
    result: dict[str, object] = json.loads(data or b"{}")
    assert os.WIFEXITED(status), result
    assert os.WEXITSTATUS(status) == 0, result
    return result


def check_store(store: scimkit.SqliteStore | scimkit.PostgresStore) -> None:
    events: list[str] = []
    server = scimkit.Server(store, {TOKEN: "acme"}, on_event=lambda e: events.append(e.type))
    client = make_client(server)
    # The parent writes and reads (its store's writer and reader-pool threads
    # are running, parked), then forks.
    assert client("POST", "/Users", entra_user("parent@contoso.com")).status == 201
    assert client("GET", "/Users", query="count=10").status == 200
    assert server.flush_events(timeout=10)

    def child() -> dict[str, object]:
        # In a thread of the child, as a gthread worker serves requests.
        out: list[dict[str, object]] = []
        worker = threading.Thread(target=lambda: out.append(requests()))
        worker.start()
        worker.join()
        return out[0]

    def requests() -> dict[str, object]:
        events.clear()
        created = client("POST", "/Users", entra_user("child@contoso.com"))
        found = client("GET", "/Users", query='filter=userName eq "parent@contoso.com"')
        flushed = server.flush_events(timeout=10)
        return {
            "created": created.status,
            "found": found.json()["totalResults"],
            "flushed": flushed,
            "events": list(events),
        }

    result = in_forked_child(child)
    assert result == {"created": 201, "found": 1, "flushed": True, "events": ["created"]}
    # The child's write is in the shared database; the parent still works.
    found = client("GET", "/Users", query='filter=userName eq "child@contoso.com"')
    assert found.json()["totalResults"] == 1
    assert client("POST", "/Users", entra_user("after@contoso.com")).status == 201


def test_a_forked_worker_opens_its_own_sqlite_store_and_event_thread(tmp_path: Path) -> None:
    check_store(scimkit.SqliteStore(str(tmp_path / "scim.db")))


def test_a_forked_worker_opens_its_own_postgres_connections(postgres: PgServer) -> None:
    check_store(scimkit.PostgresStore(postgres.fresh_database()))


def test_a_store_dropped_unused_in_a_forked_child_leaves_cleanly(tmp_path: Path) -> None:
    # The child never uses the parent's store: dropping it there must neither
    # wait for the parent's threads nor close the parent's connections.
    holder = [scimkit.SqliteStore(str(tmp_path / "scim.db"))]
    server = scimkit.Server(holder[0], {TOKEN: "acme"})
    client = make_client(server)
    assert client("POST", "/Users", entra_user("before@contoso.com")).status == 201

    def child() -> dict[str, object]:
        nonlocal server, client
        del server, client
        holder.clear()
        gc.collect()
        return {"dropped": True}

    assert in_forked_child(child) == {"dropped": True}
    # The parent's store still works.
    store = scimkit.SqliteStore(str(tmp_path / "scim.db"))
    again = make_client(scimkit.Server(store, {TOKEN: "acme"}))
    assert again("POST", "/Users", entra_user("after@contoso.com")).status == 201
