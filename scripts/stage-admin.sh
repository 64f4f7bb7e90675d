#!/usr/bin/env bash
# Stage "admin": the admin page (/admin) in a real headless browser.
#
# Installs Debian's chromium and chromium-driver when missing, and Selenium
# (pinned, scripts/admin/requirements.txt) into a venv under the cargo target
# directory; builds the binary; starts it on 127.0.0.1 with a free port, a
# temporary SQLite file, a config file giving tenant "contoso" deletion =
# "review", and a known admin password (SCIMKIT_ADMIN_PASSWORD); creates a
# token for contoso; runs scripts/admin/browser_test.py (log in, a provisioned
# user in the log, approve a queued deletion, revoke a token and see Entra's
# next request rejected with 401 in the log, ...), which saves screenshots under
# target/admin-screenshots/; stops the server with SIGTERM (it must exit 0)
# and exits non-zero on any failure. Loopback only; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
here=scripts/admin
target="${CARGO_TARGET_DIR:-$PWD/target}"
shots="$PWD/target/admin-screenshots"

# ----- chromium and its driver (Debian's)
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "installing chromium and chromium-driver (apt)"
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# ----- Python and the pinned Selenium
python=""
for p in python3 python3.13 python3.12 python3.11; do
  if command -v "$p" >/dev/null 2>&1 &&
     "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
    python=$p; break
  fi
done
if [ -z "$python" ] || ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "installing python3 and python3-venv (apt)"
  apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
  python=python3
fi
venv="$target/admin-venv"
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

password="admin-stage-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$work/scimkit.toml" <<TOML
[tenants.contoso.policies]
deletion = "review"
TOML
db="$work/admin.db"
: >"$work/stdout"; : >"$work/stderr"
SCIMKIT_ADMIN_PASSWORD="$password" "$bin" serve --config "$work/scimkit.toml" --db "$db" \
  --listen 127.0.0.1:0 --log-format json >"$work/stdout" 2>"$work/stderr" &
pid=$!
url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's/.*"tenant_url":"\([^"]*\)".*/\1/p' "$work/stderr" | head -n1)
  if [ -n "$url" ]; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$work/stderr"; echo "scimkit exited early" >&2; exit 1; fi
  sleep 0.1
done
if [ -z "$url" ]; then cat "$work/stderr"; echo "scimkit did not start in 60 s" >&2; exit 1; fi
base=${url%/scim/v2}
echo "scimkit serving at $base"
token=$("$bin" token create --tenant contoso --label "Entra (browser test)" --db "$db" |
  sed -n 's/^ *\(scimkit_[A-Za-z0-9_-]*\)$/\1/p')
if [ -z "$token" ]; then echo "could not create a token for contoso" >&2; exit 1; fi

# ----- the browser test
status=0
timeout 300 "$venv/bin/python" "$here/browser_test.py" "$base" "$token" "$password" "$shots" || status=1

# ----- stop: SIGTERM must end it cleanly; no secret reaches the log
kill -TERM "$pid"
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "scimkit did not stop within 30 s of SIGTERM" >&2; status=1; fi
if wait "$pid"; then :; else echo "scimkit exited with status $? after SIGTERM" >&2; status=1; fi
pid=""
for secret in "$token" "$password"; do
  if grep -qF "$secret" "$work/stderr"; then echo "a secret appeared in the server log" >&2; status=1; fi
done
if grep -q '"level":"ERROR"' "$work/stderr"; then
  echo "the server logged errors:" >&2; grep '"level":"ERROR"' "$work/stderr" >&2; status=1
fi

echo "screenshots: $shots"
if [ "$status" -eq 0 ]; then echo; echo "admin: browser test passed"; fi
exit "$status"
