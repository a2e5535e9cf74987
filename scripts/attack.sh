#!/usr/bin/env bash
# Hostile-input tests of `runhook listen` (crates/runhook-cli/tests/it/attacks.rs), with their
# figures shown: peak resident memory per attack, valid-delivery latencies, exit time after
# SIGTERM. Traffic stays on 127.0.0.1; each test is bounded to 20 s.
#
#   scripts/attack.sh [TEST_NAME_FILTER]
#
# Environment: CARGO_TARGET_DIR (cargo's default). Needs `ulimit -n` above ~3,500 (the test
# and the listener each hold 1,500 sockets in the stalled-bodies attack).
set -euo pipefail

cd "$(dirname "$0")/.."
exec cargo test -p runhook-cli --test it -- --nocapture --test-threads=1 "attacks::${1:-}" "${@:2}"
