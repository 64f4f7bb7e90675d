#!/usr/bin/env bash
# Stage "python": build the scimkit wheel, install it into a FRESH virtualenv
# (offline, from the built wheel only), then lint, type-check and test what a
# user installs:
#   ruff check + ruff format --check      (python/, bench/python/)
#   mypy --strict on the installed package, mypy.stubtest scimkit._native
#   pytest python/tests                   (server, Python stores + conformance
#                                          suite, WSGI/Flask, ASGI/Starlette,
#                                          a real Django project, PostgresStore
#                                          on a throw-away PostgreSQL server)
#
# Installs the Debian `postgresql` package if its server binaries are missing,
# and sets SCIMKIT_REQUIRE_POSTGRES=1: the PostgreSQL tests fail, not skip,
# when no server can be started.
#
# Environment:
#   PYTHON                interpreter to build venvs with (default: python3.11, else python3)
#   SCIMKIT_PY_PROFILE    maturin profile: release (default) or dev
#   SCIMKIT_PY_WORK       scratch directory (default: target/python-stage)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work="${SCIMKIT_PY_WORK:-$root/target/python-stage}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
py="${PYTHON:-$(command -v python3.11 || command -v python3)}"
profile="${SCIMKIT_PY_PROFILE:-release}"
reqs="$root/python/requirements-test.txt"
mkdir -p "$work"

say() { printf -- '--> %s\n' "$*"; }

# PostgreSQL server binaries, for the PostgresStore tests (they start their own
# throw-away server: python/tests/pgserver.py).
source scripts/postgres-server.sh

# Tools (maturin, ruff, mypy): a venv reused while the pins are unchanged.
tools="$work/tools"
if ! cmp -s "$reqs" "$tools/.requirements" 2>/dev/null; then
  say "tools venv ($tools)"
  rm -rf "$tools"
  "$py" -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
  cp "$reqs" "$tools/.requirements"
fi

say "ruff"
(cd python && "$tools/bin/ruff" check . && "$tools/bin/ruff" format --check .)
# The Python benchmark scripts (bench/python/ruff.toml extends the package's settings).
(cd bench/python && "$tools/bin/ruff" check . && "$tools/bin/ruff" format --check .)

say "maturin build ($profile)"
wheels="$work/wheels"
rm -rf "$wheels"
if [ "$profile" = release ]; then
  "$tools/bin/maturin" build --release -m python/Cargo.toml -o "$wheels" -i "$py" --locked
else
  "$tools/bin/maturin" build -m python/Cargo.toml -o "$wheels" -i "$py" --locked
fi
ls "$wheels"

# A fresh venv with the test dependencies, then the wheel from the local
# directory only (no index): exactly what `pip install scimkit` gives a user.
venv="$work/test-venv"
say "fresh venv ($venv)"
rm -rf "$venv"
"$py" -m venv "$venv"
grep -v -E '^(maturin|ruff)==' "$reqs" >"$work/test-requirements.txt"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$work/test-requirements.txt"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-index --find-links "$wheels" --force-reinstall scimkit

# Run from outside the source tree so python/scimkit (no extension module in a
# clean checkout) can never shadow the installed package.
cd "$work"
installed=$("$venv/bin/python" -c 'import scimkit, os; print(os.path.dirname(scimkit.__file__))')
case "$installed" in
  "$venv"/*) say "testing the installed package at $installed" ;;
  *) echo "scimkit imported from $installed, not from the fresh venv" >&2; exit 1 ;;
esac

say "mypy --strict (installed package)"
"$venv/bin/mypy" --config-file "$root/python/pyproject.toml" -p scimkit

say "stubtest"
"$venv/bin/python" -m mypy.stubtest scimkit._native

say "pytest"
cd "$root/python"
SCIMKIT_REQUIRE_INSTALLED="$venv" "$venv/bin/pytest" tests -p no:cacheprovider
