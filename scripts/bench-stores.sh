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
root=$(pwd)

duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-1}
workers=${WORKERS:-1}
port=${PORT:-18190}
warmup=${WARMUP:-2s}
postgres=${RUNHOOK_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
redis=${RUNHOOK_TEST_REDIS_URL:-redis://127.0.0.1:6379}
schema="runhook_bench_$$"
prefix="runhook:bench:$$:"
script="$root/scripts/wrk/fresh-run-id.lua"
export RUNHOOK_PAYLOAD="$root/fixtures/valid/01-docs-run-completed.json"

if ! command -v wrk >/dev/null; then
    echo "wrk is not installed; installing it (apt-get install -y wrk)" >&2
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null
fi

logs=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if command -v psql >/dev/null; then
        psql -q "$postgres" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 ||
            echo "== could not drop the schema $schema" >&2
    else
        echo "== no psql: drop the schema $schema yourself" >&2
    fi
    if command -v redis-cli >/dev/null; then
        # The token counter is `<prefix>\0token`: a NUL no command line can carry, hence the Lua.
        { redis-cli -u "$redis" --scan --pattern "$prefix*" | xargs -r -n 1000 redis-cli -u "$redis" UNLINK >/dev/null &&
            redis-cli -u "$redis" EVAL "return redis.call('UNLINK', ARGV[1] .. '\0token')" 0 "$prefix" >/dev/null; } ||
            echo "== could not delete the Redis keys $prefix*" >&2
    else
        echo "== no redis-cli: the Redis keys $prefix* expire by their TTLs" >&2
    fi
    rm -rf "$logs"
}
trap cleanup EXIT

# wrk against one route; prints the RESULT line of fresh-run-id.lua.
load() {
    local route=$1 length=$2
    wrk -t"$threads" -c"$connections" -d"$length" --latency -s "$script" \
        "http://127.0.0.1:$port/$route" | grep '^RESULT'
}

field() { # field NAME LINE
    sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"
}

echo "== building the stores bench (release)" >&2
exe=$(cargo bench -p runhook-cli --bench stores --no-run --message-format=json 2>"$logs/build" |
    grep '"name":"stores"' | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | tail -n1)
if [ -z "$exe" ]; then
    grep -E '^error' -A6 "$logs/build" | head -40 >&2 || true
    echo "== the stores bench did not build" >&2
    exit 1
fi
"$exe" --port "$port" --workers "$workers" --postgres "$postgres" --postgres-schema "$schema" \
    --redis "$redis" --redis-prefix "$prefix" >"$logs/server.out" 2>"$logs/server.err" &
server=$!
for _ in $(seq 1 300); do
    if grep -q '^load bench' "$logs/server.out" 2>/dev/null; then break; fi
    kill -0 "$server" 2>/dev/null || { cat "$logs/server.err" >&2; exit 1; }
    sleep 0.1
done

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
