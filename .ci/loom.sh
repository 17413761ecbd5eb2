#!/usr/bin/env bash
# Loom model checks of the concurrency protocols of runtime-core and runtime-time: the task
# state machine (wake, poll, complete, abort, JoinHandle drop, join waker, shutdown), the
# parker, the next slot hand-off, the idle/park protocol, the sync primitives, and the timer
# register / fire / cancel race. The models live inside the crates (`#[cfg(loom)]` unit tests:
# they need crate-private items).
#
# `--cfg loom` rebuilds every crate, so it gets its own target dir instead of evicting the
# normal build's artifacts. Extra arguments go to cargo test (e.g. a test-name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
report() { echo "loom suite: $(($(date +%s) - start))s (compile + run)"; }
trap report EXIT

RUSTFLAGS="--cfg loom" \
    LOOM_MAX_PREEMPTIONS=2 \
    CARGO_TARGET_DIR=target/loom \
    cargo test -p runtime-core -p runtime-time --release --lib "$@"
