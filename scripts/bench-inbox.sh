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
root=$(pwd)

duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-1}
workers=${WORKERS:-1}
port=${PORT:-18191}
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
