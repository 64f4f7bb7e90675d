#!/usr/bin/env bash
# Stage "c": the C ABI from C and C++ (run by scripts/test.sh, or alone).
#
#  1. installs what it needs if missing (gcc, g++, make, valgrind, pkg-config,
#     curl, libmicrohttpd-dev, postgresql; apt-get update first); sets
#     SCIMKIT_REQUIRE_POSTGRES=1 so that PostgreSQL tests fail rather than skip;
#  2. Rust: the ffi crate's tests (header drift, store conformance on the C
#     store), then `cargo build --locked -p scimkit-ffi` and
#     scripts/install-c.sh into a temporary prefix;
#  3. C tests (ffi/tests/c/, -std=c11 -Wall -Wextra -Wpedantic -Werror):
#     test_api and test_threads under AddressSanitizer + UndefinedBehaviorSanitizer,
#     test_api under valgrind (zero leaks, zero errors), test_threads under
#     ThreadSanitizer, test_postgres (a postgres:// store on a throw-away
#     PostgreSQL server started by ffi/tests/postgres.rs) under ASan+UBSan and
#     valgrind, the header as C++ (g++ -Wall -Wextra -Wpedantic -Werror);
#  4. examples/c-server: built with its Makefile through pkg-config, started on
#     127.0.0.1, an Entra ID flow over HTTP against it (examples/c-server/e2e.py),
#     stopped; once on the memory store, once on a SQLite file.
# Exits non-zero on any failure. Every run is bounded by `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target_dir=$(realpath -m "${CARGO_TARGET_DIR:-target}")
export CARGO_TARGET_DIR="$target_dir"

say() { printf '\n--> %s\n' "$*"; }

# ===== 1. tools =====
need=()
command -v gcc >/dev/null || need+=(gcc)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v valgrind >/dev/null || need+=(valgrind)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v curl >/dev/null || need+=(curl)
pkg-config --exists libmicrohttpd 2>/dev/null || need+=(libmicrohttpd-dev)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
python=$(command -v python3)
# PostgreSQL server binaries, for the tests of the "postgres://" store (they
# start their own throw-away server; see stores/postgres/tests/common).
source scripts/postgres-server.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/scimkit-stage-c.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# ===== 2. Rust side =====
say "cargo test -p scimkit-ffi (header drift, conformance suite on the C store)"
timeout 1200 cargo test --locked -p scimkit-ffi
# Build the library as shipped (without the test-only C store that `cargo test`
# links in) and install it like a user would.
say "cargo build -p scimkit-ffi; install-c.sh"
timeout 1200 cargo build --locked -p scimkit-ffi
prefix="$work/prefix"
scripts/install-c.sh --debug --no-build "$prefix"
if nm "$prefix/lib/libscimkit.a" 2>/dev/null | grep -q ' T teststore_'; then
  echo "stage-c: the installed libscimkit.a contains the test store" >&2
  exit 1
fi
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
echo "pkg-config: $(pkg-config --modversion scimkit) $(pkg-config --cflags --libs scimkit)"

# ===== 3. C tests =====
cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -g -fno-omit-frame-pointer
        -Iffi/tests/c $(pkg-config --cflags scimkit))
# Static: libscimkit.a plus what Rust's std needs (the .pc's Libs.private).
static_libs=("$prefix/lib/libscimkit.a" $(pkg-config --static --libs-only-l scimkit | sed 's/-lscimkit\b//'))
shared_libs=($(pkg-config --libs scimkit) -Wl,-rpath,"$prefix/lib" -lpthread)
c_sources=(ffi/tests/c/store.c)

say "test_api + test_threads: AddressSanitizer + UndefinedBehaviorSanitizer"
san=(-O1 -fsanitize=address,undefined -fno-sanitize-recover=all)
gcc "${cflags[@]}" "${san[@]}" -o "$work/test_api_asan" ffi/tests/c/test_api.c "${c_sources[@]}" "${static_libs[@]}"
gcc "${cflags[@]}" "${san[@]}" -o "$work/test_threads_asan" ffi/tests/c/test_threads.c "${c_sources[@]}" "${static_libs[@]}"
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
timeout 300 "$work/test_api_asan"
timeout 600 "$work/test_threads_asan"
unset ASAN_OPTIONS UBSAN_OPTIONS

say "test_api under valgrind (shared libscimkit; memory, SQLite and C stores; ffi/tests/c/valgrind.supp)"
gcc "${cflags[@]}" -O0 -o "$work/test_api" ffi/tests/c/test_api.c "${c_sources[@]}" "${shared_libs[@]}"
timeout 900 valgrind --leak-check=full --show-leak-kinds=all \
  --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
  --suppressions="$root/ffi/tests/c/valgrind.supp" \
  --log-file="$work/valgrind.log" "$work/test_api" || { cat "$work/valgrind.log"; exit 1; }
grep -E 'in use at exit|All heap blocks were freed|definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY' \
  "$work/valgrind.log" | sed 's/^==[0-9]*== */valgrind: /'

say "test_threads under ThreadSanitizer (C instrumented; see ffi/tests/c/tsan.supp)"
gcc "${cflags[@]}" -O1 -fsanitize=thread -o "$work/test_threads_tsan" ffi/tests/c/test_threads.c "${c_sources[@]}" "${shared_libs[@]}"
TSAN_OPTIONS="halt_on_error=1 suppressions=$root/ffi/tests/c/tsan.supp" timeout 900 "$work/test_threads_tsan"

say "test_postgres (a postgres:// store over a throw-away PostgreSQL): ASan+UBSan, valgrind"
gcc "${cflags[@]}" "${san[@]}" -o "$work/test_postgres_asan" ffi/tests/c/test_postgres.c "${static_libs[@]}"
gcc "${cflags[@]}" -O0 -o "$work/test_postgres" ffi/tests/c/test_postgres.c "${shared_libs[@]}"
# ffi/tests/postgres.rs starts the server and runs each command on a fresh database.
SCIMKIT_C_POSTGRES_TESTS="ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 timeout 300 $work/test_postgres_asan
timeout 900 valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --suppressions=$root/ffi/tests/c/valgrind.supp $work/test_postgres" \
  timeout 1200 cargo test --locked -p scimkit-ffi --test postgres -- c_programs_pass_on_postgres --nocapture

say "the header as C++ (and as C99)"
g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -g $(pkg-config --cflags scimkit) \
  -o "$work/header_cxx" ffi/tests/c/header_cxx.cpp "${shared_libs[@]}"
timeout 60 "$work/header_cxx"
g++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c++ include/scimkit.h
gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c include/scimkit.h

# ===== 4. a real C host =====
say "examples/c-server: build (Makefile + pkg-config) and Entra flow over HTTP"
make -s -C examples/c-server BUILD_DIR="$work"
echo "memory store:"
timeout 300 "$python" examples/c-server/e2e.py "$work/scimkit-c-server" --store memory
echo "SQLite store:"
timeout 300 "$python" examples/c-server/e2e.py "$work/scimkit-c-server" --store "sqlite:$work/e2e.db"

say "stage c passed"
