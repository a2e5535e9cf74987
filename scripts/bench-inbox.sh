#!/usr/bin/env bash
# Load benchmark of the inbox: time to ack. One server process (`cargo bench -p runhook-cli --bench
# stores`) serves the webhook route (no-op handler) inline with a MemoryStore (/webhook) and in
# inbox mode (200 once the event is committed; the workers, default settings, process it
# meanwhile) on a SqliteInbox (/inbox-sqlite, a file in a temporary directory) and a PostgresInbox
# (/inbox-postgres, default pool, in a fresh schema runhook_bench_<pid>, dropped at the end). wrk
# POSTs the documented payload with a fresh run_id on every request to each route in turn; between
# routes the script waits until the workers have finished every row. Then the same binary runs
# the raw insert-and-commit loops (`--raw`, DURATION each; SQLite one connection, PostgreSQL
# CONNECTIONS connections) in the same schema, for the ratio inbox req/s / raw rows/s.
#
#   scripts/bench-inbox.sh
#
# Environment: DURATION (10s), CONNECTIONS (64), THREADS (1), WORKERS (1, the server's tokio
# worker threads), PORT (18191), WARMUP (2s, on each route before any is measured),
# RUNHOOK_TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test), RUNHOOK_TEST_REDIS_URL
# (redis://127.0.0.1:6379; the server opens its Redis route too), CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "$0")/.."
default_port=18191
# shellcheck source=scripts/bench-server.sh
source scripts/bench-server.sh

# Waits (up to 5 minutes) until the inboxes hold no unfinished row; prints the seconds waited.
settle() {
    local started=$SECONDS line
    for _ in $(seq 1 3000); do
        line=$(curl -s "http://127.0.0.1:$port/inbox-unfinished" || true)
        if [ "$line" = "sqlite=0 postgres=0" ]; then echo $((SECONDS - started)); return; fi
        sleep 0.1
    done
    echo "== the inboxes did not drain: $line" >&2
    echo "timeout"
}

names=(memory-inline inbox-sqlite inbox-postgres)
routes=(webhook inbox-sqlite inbox-postgres)
echo "== warming up ($warmup on each route), then $duration on each route" >&2
for route in "${routes[@]}"; do load "$route" "$warmup" >/dev/null; done
settle >/dev/null
results=()
drained=()
for route in "${routes[@]}"; do
    results+=("$(load "$route" "$duration")")
    drained+=("$(settle)")
done
kill -TERM "$server"
wait "$server" || true
server=""
length=$(sed 's/s$//' <<<"$duration")
echo "== raw insert-and-commit loops (${length}s each)" >&2
raw=$("$exe" --raw "$length" --connections "$connections" --postgres "$postgres" \
    --postgres-schema "$schema")
raw_sqlite=$(field rps "$(grep 'backend=sqlite' <<<"$raw")")
raw_postgres=$(field rps "$(grep 'backend=postgres' <<<"$raw")")
raws=("" "$raw_sqlite" "$raw_postgres")

echo
echo "wrk -t$threads -c$connections -d$duration --latency, server with $workers tokio worker(s), 127.0.0.1:$port"
echo "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) after the run"
echo "$raw"
printf '%-15s %-16s %10s %10s %12s %7s %9s\n' backend route "req/s" p99 "raw rows/s" ratio "drain s"
for i in "${!names[@]}"; do
    line=${results[$i]}
    if [ "$(field non2xx "$line")" != 0 ] || [ "$(field socket_errors "$line")" != 0 ]; then
        echo "== ${names[$i]}: WARNING: errors or non-2xx responses: $line" >&2
    fi
    rps=$(field rps "$line")
    ratio="-"
    if [ -n "${raws[$i]}" ]; then
        ratio=$(awk -v a="$rps" -v b="${raws[$i]}" 'BEGIN { printf "%.2f", a / b }')
    fi
    printf '%-15s %-16s %10s %10s %12s %7s %9s\n' "${names[$i]}" "/${routes[$i]}" "$rps" \
        "$(awk -v u="$(field p99_us "$line")" 'BEGIN { printf "%.2f ms", u / 1000 }')" \
        "${raws[$i]:--}" "$ratio" "${drained[$i]}"
done
grep '^webhook outcomes (memory)' "$logs/server.err" || echo "webhook outcomes: (not reported)"
