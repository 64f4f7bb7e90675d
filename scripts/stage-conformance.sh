#!/usr/bin/env bash
# Stage "conformance": the third-party SCIM conformance suites against the real
# `scimkit` binary.
#
#   * scim2-tester (PyPI): every check must pass, except the known failures
#     listed (with their reason) in scripts/conformance/scim2_tester_run.py.
#   * scim-sanity (PyPI) `probe`: its result is recorded; checks that contradict
#     the RFC are listed in scripts/conformance/scim_sanity_run.py and explained
#     in the README.
#
# Installs the pinned tools (scripts/conformance/requirements.txt) into a venv
# under the cargo target directory, builds the binary, starts it on 127.0.0.1
# with a free port, a temporary SQLite file and its first-start token, runs both
# tools, stops the server with SIGTERM (it must exit 0) and exits non-zero on
# any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
here=scripts/conformance
target="${CARGO_TARGET_DIR:-$PWD/target}"

# ----- Python >= 3.11 (scim2-tester needs it) and the pinned tools
python=""
for p in python3 python3.13 python3.12 python3.11; do
  if command -v "$p" >/dev/null 2>&1 &&
     "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    python=$p; break
  fi
done
if [ -z "$python" ] || ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "installing python3 and python3-venv (apt)"
  apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
  python=python3
fi
venv="$target/conformance-venv"
stamp="$venv/.requirements"
if ! cmp -s "$here/requirements.txt" "$stamp" 2>/dev/null; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$stamp"
fi

# ----- the binary
cargo build -p scimkit-server --locked
bin="$target/debug/scimkit"

# ----- start it
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

: >"$work/stdout"; : >"$work/stderr"
"$bin" serve --db "$work/conformance.db" --listen 127.0.0.1:0 --log-format json \
  >"$work/stdout" 2>"$work/stderr" &
pid=$!
url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's/^  Tenant URL: *//p' "$work/stdout" | head -n1)
  token=$(sed -n 's/^  Secret Token: *//p' "$work/stdout" | head -n1)
  if [ -n "$url" ] && [ -n "$token" ] && grep -q 'serving SCIM' "$work/stderr"; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$work/stderr"; echo "scimkit exited early" >&2; exit 1; fi
  sleep 0.1
done
if [ -z "$url" ]; then cat "$work/stderr"; echo "scimkit did not start in 60 s" >&2; exit 1; fi
echo "scimkit serving at $url"

# ----- the suites (both run; either failing fails the stage)
status=0
echo; echo "--- scim2-tester"
timeout 600 "$venv/bin/python" "$here/scim2_tester_run.py" "$url" "$token" || status=1
echo; echo "--- scim-sanity probe"
timeout 600 "$venv/bin/python" "$here/scim_sanity_run.py" "$url" "$token" || status=1

# ----- stop: SIGTERM must end it cleanly, and the token never reaches the logs
kill -TERM "$pid"
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "scimkit did not stop within 30 s of SIGTERM" >&2; status=1; fi
if wait "$pid"; then :; else echo "scimkit exited with status $? after SIGTERM" >&2; status=1; fi
pid=""
if grep -qF "$token" "$work/stderr"; then echo "the token appeared in the server log" >&2; status=1; fi
if grep -q '"level":"ERROR"' "$work/stderr"; then
  echo "the server logged errors:" >&2; grep '"level":"ERROR"' "$work/stderr" >&2; status=1
fi

if [ "$status" -eq 0 ]; then echo; echo "conformance: all suites passed"; fi
exit "$status"
