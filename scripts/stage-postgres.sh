#!/usr/bin/env bash
# Stage "postgres": the PostgreSQL store (stores/postgres) and the server on
# PostgreSQL (server/tests/postgres.rs: two `scimkit serve` replicas on one
# database, a PostgreSQL restart under writes) against a real PostgreSQL
# server. The tests start and stop their own throw-away server
# (initdb + pg_ctl on a free loopback port, as the `postgres` user when run as
# root); this script only makes sure the server binaries are installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "PostgreSQL is not installed: installing the Debian package"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends postgresql
fi

# Tests that need PostgreSQL fail (instead of skipping) when it cannot be started.
SCIMKIT_REQUIRE_POSTGRES=1 cargo test -p scimkit-postgres --locked
SCIMKIT_REQUIRE_POSTGRES=1 cargo test -p scimkit-server --locked --test postgres
