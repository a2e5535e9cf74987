# Sourced by scripts/bench-stores.sh and scripts/bench-inbox.sh (not run on its own): their
# settings from the environment, wrk (installed if missing), the cleanup of the schema and Redis
# keys they use, `load ROUTE LENGTH` and `field NAME LINE`, and the release build and start of
# `cargo bench -p runhook-cli --bench stores` (the server, its pid in $server, its output in
# $logs). The sourcing script sets `default_port` first and runs from the repository's root.
root=$(pwd)

duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-1}
workers=${WORKERS:-1}
port=${PORT:-$default_port}
warmup=${WARMUP:-2s}
postgres=${RUNHOOK_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
redis=${RUNHOOK_TEST_REDIS_URL:-redis://127.0.0.1:6379}
schema="runhook_bench_$$"
prefix="runhook:bench:$$:"
export RUNHOOK_PAYLOAD="$root/fixtures/valid/01-docs-run-completed.json"

# wrk (installed if missing), `load ROUTE DURATION` and `field NAME LINE`.
source "$root/scripts/wrk/load.sh"


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
