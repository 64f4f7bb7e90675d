"""A throw-away PostgreSQL server for the tests (the Python twin of the Rust
harness in stores/postgres/tests/common/mod.rs).

``PgServer.start()`` runs ``initdb`` in a temp dir and ``pg_ctl start`` on a
free loopback port (``listen_addresses=127.0.0.1``, Unix socket in the temp
dir, ``fsync=off``). As root, PostgreSQL refuses to run, so its commands run as
the ``postgres`` system user (created if missing) through ``runuser``. Every
command is bounded by a timeout. ``stop()`` stops it and removes the directory;
a watchdog process does the same if the test process dies first.

``conftest.py`` wraps it in the session fixture ``postgres``, which skips with a
reason when PostgreSQL is not installed, unless ``SCIMKIT_REQUIRE_POSTGRES=1``
(the stage scripts and CI), which makes it fail instead.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

#: The superuser of the test cluster, trusted on loopback (the password in its
#: URLs is there to prove it never shows up in messages).
USER = "scimkit"
PASSWORD = "s3cret-Py-Pa55word"
#: A role that must authenticate with its password (SCRAM).
AUTH_USER = "scimkit_auth"
AUTH_PASSWORD = "An0ther-Py-Secret"

_COMMAND_TIMEOUT = 120


class PgUnavailable(Exception):
    """PostgreSQL cannot be started here (why is the message)."""


def find_bin() -> Path | None:
    """The directory with ``initdb``, ``pg_ctl`` and ``psql``: ``$SCIMKIT_PG_BIN``
    or the newest ``/usr/lib/postgresql/*/bin``."""
    env = os.environ.get("SCIMKIT_PG_BIN")
    if env:
        return Path(env)
    found = []
    for d in Path("/usr/lib/postgresql").glob("*/bin"):
        if d.parent.name.isdigit() and (d / "initdb").is_file():
            found.append((int(d.parent.name), d))
    return max(found)[1] if found else None


def free_port() -> int:
    """A loopback port nobody listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """A running PostgreSQL server in a temp dir."""

    def __init__(self, bin_dir: Path, root: Path, as_postgres: bool) -> None:
        self.bin = bin_dir
        self.dir = root
        self.as_postgres = as_postgres
        self.port = 0
        self._databases = itertools.count()
        self._watchdog_proc: subprocess.Popen[bytes] | None = None

    # ----- commands -----

    def _cmd(self, program: str, *args: str) -> list[str]:
        exe = str(self.bin / program)
        if self.as_postgres:
            return ["runuser", "-u", "postgres", "--", exe, *args]
        return [exe, *args]

    def run(self, program: str, *args: str) -> str:
        """Run a PostgreSQL program (bounded); its output, or ``PgUnavailable``."""
        try:
            out = subprocess.run(
                self._cmd(program, *args),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PgUnavailable(f"{program}: {e}") from e
        if out.returncode != 0:
            raise PgUnavailable(
                f"{program} {args} failed ({out.returncode}): {out.stdout}{out.stderr}"
            )
        return out.stdout

    @property
    def data(self) -> Path:
        """The data directory."""
        return self.dir / "data"

    # ----- lifecycle -----

    @classmethod
    def start(cls) -> PgServer:
        """Initialise and start a new server, or raise ``PgUnavailable``."""
        bin_dir = find_bin()
        if bin_dir is None:
            raise PgUnavailable(
                "PostgreSQL binaries not found (looked for /usr/lib/postgresql/*/bin/initdb; "
                "set SCIMKIT_PG_BIN or install the `postgresql` package)"
            )
        as_postgres = os.geteuid() == 0
        if as_postgres:
            _ensure_postgres_user()
        root = Path(tempfile.mkdtemp(prefix="scimkit-pytest-pg-"))
        server = cls(bin_dir, root, as_postgres)
        try:
            server._init()
            last = ""
            for _ in range(3):
                server.port = free_port()
                try:
                    server._pg_ctl_start()
                except PgUnavailable as e:
                    last = str(e)
                    continue
                server._watchdog()
                server.psql(
                    "postgres",
                    f"CREATE ROLE {AUTH_USER} LOGIN SUPERUSER PASSWORD '{AUTH_PASSWORD}'",
                )
                return server
            raise PgUnavailable(last)
        except BaseException:
            server.stop()
            raise

    def _init(self) -> None:
        pwfile = self.dir / "pwfile"
        pwfile.write_text(PASSWORD)
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
            shutil.chown(pwfile, "postgres")
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth-host=trust",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        # Password authentication for AUTH_USER only (pg_hba.conf is read top-down).
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"host all {AUTH_USER} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())

    def _pg_ctl_start(self) -> None:
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        log = str(self.dir / "server.log")
        self.run("pg_ctl", "start", "-D", str(self.data), "-l", log, "-w", "-t", "60", "-o", opts)

    def _watchdog(self) -> None:
        """Stop the server and remove its directory once this process is gone,
        should ``stop()`` never run (the test process was killed)."""
        script = (
            f"while [ -d /proc/{os.getpid()} ]; do sleep 0.5; done; "
            f"'{self.bin / 'pg_ctl'}' stop -D '{self.data}' -m immediate -w -t 20 "
            f">/dev/null 2>&1; rm -rf '{self.dir}'"
        )
        cmd = ["sh", "-c", script]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        # Its own session: it must outlive this process if that is killed.
        self._watchdog_proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        """Stop the server (bounded) and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PgUnavailable):
                self.run(
                    "pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "20"
                )
        shutil.rmtree(self.dir, ignore_errors=True)
        # Stopped cleanly: the watchdog is not needed any more (reap it).
        watchdog, self._watchdog_proc = self._watchdog_proc, None
        if watchdog is not None:
            watchdog.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog.wait(timeout=10)

    # ----- databases -----

    def psql(self, dbname: str, sql: str) -> str:
        """Run one SQL command as the superuser over loopback."""
        return self.run(
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            USER,
            "-d",
            dbname,
            "-c",
            sql,
        )

    def url(self, dbname: str, *, user: str = USER, password: str = PASSWORD) -> str:
        """A ``postgresql://`` URL for ``dbname`` (with a password)."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def fresh_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"py{os.getpid()}_{next(self._databases)}"
        self.psql("postgres", f"CREATE DATABASE {name}")
        return self.url(name)


def _ensure_postgres_user() -> None:
    try:
        subprocess.run(
            ["id", "postgres"], capture_output=True, check=True, timeout=_COMMAND_TIMEOUT
        )
    except subprocess.CalledProcessError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", "postgres"],
            capture_output=True,
            check=True,
            timeout=_COMMAND_TIMEOUT,
        )
