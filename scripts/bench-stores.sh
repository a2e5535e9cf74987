#!/usr/bin/env bash
# Load benchmark of the webhook route with each idempotency store: one server process
# (`cargo bench -p runhook-cli --bench stores`) serves `webhook_route` (no-op handler) four times,
# each with its own store, and wrk POSTs the documented payload with a fresh run_id on every
# request (so each is a claim + complete) to each route in turn, back to back:
#   /webhook           MemoryStore
#   /webhook-sqlite    SqliteStore, a file in a temporary directory
#   /webhook-postgres  PostgresStore in its own schema (runhook_bench_<pid>, dropped at the end)
#   /webhook-redis     RedisStore under its own prefix (runhook:bench:<pid>:, deleted at the end)
#
#   scripts/bench-stores.sh
#
# Environment: DURATION (10s), CONNECTIONS (64), THREADS (1), WORKERS (1, the server's tokio
# worker threads), PORT (18190), WARMUP (2s, on each route before any is measured),
# RUNHOOK_TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test), RUNHOOK_TEST_REDIS_URL
# (redis://127.0.0.1:6379), CARGO_TARGET_DIR (cargo's default).
# Prints req/s, p99 latency and the ratio to the memory store for each store, and how the server
# counted each route's deliveries (every one should be accepted).
set -euo pipefail

cd "$(dirname "$0")/.."
default_port=18190
# shellcheck source=scripts/bench-server.sh
source scripts/bench-server.sh

stores=(memory sqlite postgres redis)
routes=(webhook webhook-sqlite webhook-postgres webhook-redis)
echo "== warming up ($warmup on each route), then $duration on each route" >&2
for route in "${routes[@]}"; do load "$route" "$warmup" >/dev/null; done
results=()
for route in "${routes[@]}"; do results+=("$(load "$route" "$duration")"); done
kill -TERM "$server"
wait "$server" || true
server=""

echo
echo "wrk -t$threads -c$connections -d$duration --latency, server with $workers tokio worker(s), 127.0.0.1:$port"
echo "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) after the run"
printf '%-9s %-18s %12s %10s %8s\n' store route "req/s" p99 "/memory"
memory_rps=$(field rps "${results[0]}")
for i in "${!stores[@]}"; do
    line=${results[$i]}
    if [ "$(field non2xx "$line")" != 0 ] || [ "$(field socket_errors "$line")" != 0 ]; then
        echo "== ${stores[$i]}: WARNING: errors or non-2xx responses: $line" >&2
    fi
    rps=$(field rps "$line")
    printf '%-9s %-18s %12s %10s %8s\n' "${stores[$i]}" "/${routes[$i]}" "$rps" \
        "$(awk -v u="$(field p99_us "$line")" 'BEGIN { printf "%.2f ms", u / 1000 }')" \
        "$(awk -v a="$rps" -v b="$memory_rps" 'BEGIN { printf "%.3f", a / b }')"
done
grep '^webhook outcomes' "$logs/server.err" || echo "webhook outcomes: (not reported)"
