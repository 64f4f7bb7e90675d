#!/usr/bin/env bash
# Stage "bench": the HTTP load benchmark in quick mode (bench/run.sh --quick):
# N=1 000 users against the limit server, scimkit (memory, SQLite, the Python
# wheel under gunicorn) and the peers (scim2-server under gunicorn, scimmy on
# Express), each installed from its registry with pinned versions into
# target/bench/ (a venv and node_modules). It fails on a wrong answer or a
# server that does not start, never on timing; the numbers land in
# target/bench/quick-results/ (the full run, bench/run.sh, writes
# bench/results/).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node/npm are not installed: installing the Debian packages"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends nodejs npm
fi

exec bench/run.sh --quick
