#!/usr/bin/env bash
# Run every test of scimkit: formatting, lints, Rust tests (all crates), docs, then
# each stage script (scripts/stage-*.sh: C ABI, Python wheel, end-to-end server,
# conformance suites). Installs what it needs that is missing (apt, pip, cargo
# tools) — on a fresh machine this is the one command that tests everything.
#
# Environment:
#   SCIMKIT_LONG=1     also run the long variants (soak, 1M fuzz cases, ...)
#   SCIMKIT_STAGES=…   space-separated stage names to run (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

step() { printf '\n==> %s\n' "$*"; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

for stage in scripts/stage-*.sh; do
  [ -e "$stage" ] || continue
  name=$(basename "$stage" .sh); name=${name#stage-}
  if [ -n "${SCIMKIT_STAGES:-}" ] && [[ " $SCIMKIT_STAGES " != *" $name "* ]]; then
    continue
  fi
  step "stage $name"
  bash "$stage"
done

step "all tests passed"
