#!/usr/bin/env bash
# Dispatcher benchmarks, reproducibly: installs wrk (Debian package) if missing, starts the
# benchmark's receiver as its own process, measures wrk against it, then the dispatcher against
# the same receiver, then the memory held per pending retry. Traffic stays on 127.0.0.1.
#
#   crates/runhook-dispatch/benches/run.sh            # from anywhere
#   PORT=18099 DELIVERIES=200000 crates/runhook-dispatch/benches/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
PORT="${PORT:-18099}"
DELIVERIES="${DELIVERIES:-200000}"

if ! command -v wrk >/dev/null; then
    echo "== installing wrk (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi

echo "== building the benchmark (release)"
bench=$(cargo bench -p runhook-dispatch --bench dispatch --no-run 2>&1 \
    | sed -n 's/.*Executable benches\/dispatch.rs (\(.*\))$/\1/p' | tail -1)
[ -x "$bench" ] || { echo "benchmark executable not found" >&2; exit 1; }

echo "== receiver on 127.0.0.1:$PORT (1 worker thread)"
"$bench" serve --addr "127.0.0.1:$PORT" --workers 1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 1

echo "== wrk: 1 thread, 64 connections, 10 s, same payload"
wrk -t1 -c64 -d10s -s crates/runhook-dispatch/benches/post.lua "http://127.0.0.1:$PORT/hook"

echo "== dispatcher: $DELIVERIES deliveries, 64 in flight, 1 worker thread"
"$bench" throughput --target "http://127.0.0.1:$PORT/hook" --deliveries "$DELIVERIES"

echo "== reqwest alone: the same requests from 64 tasks, 1 worker thread"
"$bench" reqwest --target "http://127.0.0.1:$PORT/hook" --deliveries "$DELIVERIES"

echo "== memory per pending retry"
"$bench" memory --deliveries 100000
