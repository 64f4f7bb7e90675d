#!/usr/bin/env bash
# bench/run.sh [--quick]: the HTTP load benchmark of the scimkit server.
#
# Builds the `scimkit` server, the load generator and the limit server
# (release), installs the peers (pinned: bench/peers/python/requirements.txt
# into a venv, bench/peers/scimmy/package-lock.json into node_modules, both
# under $CARGO_TARGET_DIR/bench), then runs Entra's provisioning workload
# (`loadgen run`) against each server in turn, one at a time, in this run:
#
#   limit            hyper + HashMap, no SCIM semantics: the ceiling
#   scimkit-memory   scimkit serve --store memory
#   scimkit-sqlite   scimkit serve (SQLite file, default settings)
#   scimkit-postgres scimkit serve --database-url (when the server accepts it)
#   scimkit-python   the scimkit wheel (scimkit.wsgi.make_app, MemoryStore) under gunicorn
#   scim2-server     scim2-server 0.8.3 (InMemoryStorage) under gunicorn
#   scimmy           scimmy 1.3.5 + scimmy-routers 1.3.2 on Express 4 (in-memory handlers)
#
# and the size measurements (`loadgen scale`: latency by store size and group
# size, RSS per user) against limit, scimkit-memory and scimkit-sqlite. Then
# `loadgen report` writes results.md and latency.svg.
#
# Full run: N=10 000 users, 32 connections, 5 s per read phase, sizes up to
# 100 000; writes bench/results/. --quick: N=1 000, 1 s phases, sizes up to
# 5 000; writes $CARGO_TARGET_DIR/bench/quick-results/ (a smoke test: it fails
# only on wrong answers, never on timing).
#
# Environment: CARGO_TARGET_DIR (default target/), BENCH_SERVERS (space
# separated subset of the names above), BENCH_OUT (results directory),
# PYTHON (default python3.11, else python3).
# Loopback only; every server started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
bin="$CARGO_TARGET_DIR/release"
work="$CARGO_TARGET_DIR/bench"
py="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ $quick = 1 ]; then
  out="${BENCH_OUT:-$work/quick-results}"
  users=1000 secs=1 write_limit=60 groups=3 group_members=200 extra_groups=96 samples=50
  sizes=1000,5000 group_sizes=1000,3000 peer_limit=60
else
  out="${BENCH_OUT:-$root/bench/results}"
  users=10000 secs=5 write_limit=600 groups=9 group_members=1000 extra_groups=990 samples=200
  sizes=1000,10000,100000 group_sizes=1000,10000,100000 peer_limit=120
fi
servers="${BENCH_SERVERS:-limit scimkit-memory scimkit-sqlite scimkit-postgres scimkit-python scim2-server scimmy}"
scaled="limit scimkit-memory scimkit-sqlite scimkit-postgres"
mkdir -p "$work" "$out"
rm -f "$out"/run-*.json "$out"/scale-*.json "$out"/skipped-*.txt

say() { printf -- '--> %s\n' "$*" >&2; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${pg_dir:-}" ] && [ -d "$pg_dir" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
}
trap cleanup EXIT
# PostgreSQL refuses to run as root: its commands then run as `postgres`.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
want() { case " $servers " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
skip() { say "skipping $1: $2"; printf '%s\n' "$2" >"$out/skipped-$1.txt"; }
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # wait_port PORT PID: until something listens (60 s at most)
  for _ in $(seq 1 600); do
    if ! kill -0 "$2" 2>/dev/null; then return 1; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

say "building (release): scimkit, loadgen, limit-server"
cargo build --release --locked -p scimkit-server -p scimkit-bench

# Peers and the wheel.
venv="$work/venv"
reqs="$root/bench/peers/python/requirements.txt"
if want scim2-server || want scimkit-python; then
  if ! cmp -s "$reqs" "$venv/.requirements" 2>/dev/null; then
    say "venv ($venv)"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
    cp "$reqs" "$venv/.requirements"
  fi
fi
if want scimkit-python; then
  if [ -f "$root/python/Cargo.toml" ] && [ -f "$root/python/scimkit/wsgi.py" ]; then
    say "building the scimkit wheel (maturin, release)"
    rm -rf "$work/wheels"
    "$venv/bin/maturin" build --release --locked -m python/Cargo.toml -o "$work/wheels" -i "$venv/bin/python" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-index --find-links "$work/wheels" --force-reinstall scimkit
  else
    skip scimkit-python "the Python package (python/, scimkit.wsgi.make_app) is not in this tree"
    servers="${servers/scimkit-python/}"
  fi
fi
if want scimmy; then
  node_dir="$work/scimmy"
  if ! cmp -s "$root/bench/peers/scimmy/package-lock.json" "$node_dir/package-lock.json" 2>/dev/null \
     || [ ! -d "$node_dir/node_modules" ]; then
    say "npm ci ($node_dir)"
    rm -rf "$node_dir"
    mkdir -p "$node_dir"
    cp "$root/bench/peers/scimmy/package.json" "$root/bench/peers/scimmy/package-lock.json" "$node_dir/"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  cp "$root/bench/peers/scimmy/server.mjs" "$node_dir/"
fi

# PostgreSQL: a throw-away cluster (as in stores/postgres/tests/common) on a
# free loopback port, with PostgreSQL's default durability (fsync=on,
# synchronous_commit=on: every acknowledged write is flushed, as in
# production); skipped with a message without PostgreSQL binaries.
pg_url=""
if want scimkit-postgres; then
  probe=$("$bin/scimkit" --database-url postgres://127.0.0.1:1/x token list 2>&1 || true)
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if printf '%s' "$probe" | grep -q "not built yet"; then
    skip scimkit-postgres "the scimkit server refuses --database-url (\"$(printf '%s' "$probe" | head -n 1 | cut -c1-160)\")"
  elif [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    skip scimkit-postgres "no PostgreSQL binaries (/usr/lib/postgresql/*/bin)"
  else
    pg_dir=$(mktemp -d /tmp/scimkit-bench-pg.XXXXXX)
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /bin/sh postgres
      chown postgres "$pg_dir"
    fi
    pg_port=$(free_port)
    say "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $NF}') on 127.0.0.1:$pg_port ($pg_dir, fsync on)"
    as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U scimkit --auth=trust >/dev/null
    as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" \
      -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" -w start >/dev/null
    as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U scimkit bench
    pg_url="postgres://scimkit@127.0.0.1:$pg_port/bench"
  fi
fi

# start NAME PORT: start a server, set $pid, $token, $url.
start() {
  local name=$1 port=$2 log="$work/$1.log"
  token="bench-$RANDOM$RANDOM"
  url="http://127.0.0.1:$port/scim/v2"
  case $name in
    limit)
      "$bin/limit-server" --listen "127.0.0.1:$port" --token "$token" >"$log" 2>&1 & ;;
    scimkit-memory|scimkit-sqlite|scimkit-postgres)
      local db="$work/$name.db" store=sqlite args=()
      rm -f "$db" "$db-wal" "$db-shm"
      [ $name = scimkit-memory ] && store=memory
      if [ $name = scimkit-postgres ]; then
        args=(--database-url "$pg_url")
        "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U scimkit -d postgres \
          -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench" >/dev/null
      else
        args=(--db "$db")
      fi
      token=$("$bin/scimkit" "${args[@]}" token create --tenant default | grep -o 'scimkit_[A-Za-z0-9_-]*')
      "$bin/scimkit" "${args[@]}" serve --listen "127.0.0.1:$port" --store $store >"$log" 2>&1 & ;;
    scimkit-python|scim2-server)
      local app='apps:scimkit()'
      [ $name = scim2-server ] && app='apps:scim2()'
      BENCH_TOKEN=$token "$venv/bin/gunicorn" --chdir "$root/bench/peers/python" \
        --workers 1 --worker-class gthread --threads 8 --keep-alive 600 \
        --bind "127.0.0.1:$port" "$app" >"$log" 2>&1 & ;;
    scimmy)
      (cd "$node_dir" && exec node server.mjs --listen "127.0.0.1:$port" --token "$token") >"$log" 2>&1 & ;;
  esac
  pid=$!
  pids+=("$pid")
  if ! wait_port "$port" "$pid"; then
    say "$name did not start; its log:"
    tail -n 20 "$log" >&2
    return 1
  fi
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

failed=0
for name in $servers; do
  want "$name" || continue
  if [ $name = scimkit-postgres ] && [ -z "$pg_url" ]; then continue; fi
  strict=() limit=$write_limit
  case $name in
    limit) strict=(--strict --title-only) ;;
    scimkit-*) strict=(--strict) ;;
    *) limit=$peer_limit ;;
  esac
  port=$(free_port)
  start "$name" "$port" || { failed=1; continue; }
  say "run: $name (pid $pid, $url)"
  "$bin/loadgen" run --url "$url" --token "$token" --name "$name" --pid "$pid" \
    --users $users --secs $secs --write-limit $limit --groups $groups --group-members $group_members --extra-groups $extra_groups \
    "${strict[@]}" --out "$out/run-$name.json" || failed=1
  stop "$pid"
  case " $scaled " in *" $name "*)
    port=$(free_port)
    start "$name" "$port" || { failed=1; continue; }
    say "scale: $name (pid $pid)"
    "$bin/loadgen" scale --url "$url" --token "$token" --name "$name" --pid "$pid" \
      --sizes $sizes --group-sizes $group_sizes --samples $samples --write-limit $write_limit \
      --out "$out/scale-$name.json" || failed=1
    stop "$pid"
  esac
done

machine="$(uname -m), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
"$bin/loadgen" report --dir "$out" --machine "$machine" || failed=1
say "results: $out/results.md, $out/latency.svg"
if [ $failed != 0 ]; then
  say "FAILED: wrong answers or a server that did not start (see above)"
  exit 1
fi
