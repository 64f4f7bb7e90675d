#!/usr/bin/env bash
# Stage "postgres": the PostgreSQL store (stores/postgres) and the server on
# PostgreSQL (server/tests/postgres.rs: two `scimkit serve` replicas on one
# database, a PostgreSQL restart under writes) against a real PostgreSQL
# server. The tests start and stop their own throw-away server
# (initdb + pg_ctl on a free loopback port, as the `postgres` user when run as
# root); this script only makes sure the server binaries are installed.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/postgres-server.sh

# Tests that need PostgreSQL fail (instead of skipping) when it cannot be started.
SCIMKIT_REQUIRE_POSTGRES=1 cargo test -p scimkit-postgres --locked
SCIMKIT_REQUIRE_POSTGRES=1 cargo test -p scimkit-server --locked --test postgres
