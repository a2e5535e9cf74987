#!/usr/bin/env bash
# Load benchmark of every web-framework adapter: the webhook route (in-memory ledger, no-op
# handler, the documented payload, a fresh run_id per request) beside the same framework's bare
# 200 OK POST route, in the same server process, same machine, same run, wrk on loopback.
#
#   scripts/bench-adapters.sh [ADAPTER...]        # default: axum warp poem
#
# Each adapter ships a bench target with one command-line shape:
#   cargo bench -p runhook-<fw> --bench load -- --port N [--workers W]
# serving `POST /bare` (reads the body, 200 "OK"), `POST /parse` (reads the body and runs
# `runhook::receive()` on it, nothing else: the lower bound of a route that must parse) and
# `/webhook` on 127.0.0.1:N until SIGTERM, then printing
# `webhook outcomes: accepted=N duplicate=N other=N` to stderr.
#
# Environment: DURATION (10s), CONNECTIONS (64), THREADS (1), WORKERS (1, the server's tokio
# worker threads), PORT (18180), WARMUP (2s), CARGO_TARGET_DIR (cargo's default).
# Prints req/s and p99 latency for each route, the ratio parse/bare (the ceiling for webhook/bare)
# and the ratio webhook/bare (target >= 0.8).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-1}
workers=${WORKERS:-1}
port=${PORT:-18180}
warmup=${WARMUP:-2s}
export RUNHOOK_PAYLOAD="$root/fixtures/valid/01-docs-run-completed.json"

# wrk (installed if missing), `load ROUTE DURATION` and `field NAME LINE`.
source "$root/scripts/wrk/load.sh"


if [ $# -gt 0 ]; then adapters=("$@"); else adapters=(axum warp poem); fi

logs=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -TERM "$server" 2>/dev/null || true; fi
    rm -rf "$logs"
}
trap cleanup EXIT


summary=()
failed=0
for fw in "${adapters[@]}"; do
    if [ ! -f "crates/runhook-$fw/benches/load.rs" ]; then
        echo "== $fw: no crates/runhook-$fw/benches/load.rs, skipped" >&2
        continue
    fi
    echo "== $fw: building the load bench (release)" >&2
    exe=$(cargo bench -p "runhook-$fw" --bench load --no-run --message-format=json 2>"$logs/build-$fw" |
        grep "runhook-$fw" | grep '"name":"load"' | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | tail -n1)
    if [ -z "$exe" ]; then
        grep -E '^(error|warning: unused)' -A6 "$logs/build-$fw" | head -40 >&2 || true
        echo "== $fw: the load bench did not build; skipped" >&2
        summary+=("$(printf '%-6s the load bench did not build' "$fw")")
        failed=1
        continue
    fi
    "$exe" --port "$port" --workers "$workers" >"$logs/$fw.out" 2>"$logs/$fw.err" &
    server=$!
    for _ in $(seq 1 300); do
        if curl -s -o /dev/null -X POST --data x "http://127.0.0.1:$port/bare"; then break; fi
        kill -0 "$server" 2>/dev/null || { cat "$logs/$fw.err" >&2; exit 1; }
        sleep 0.1
    done
    echo "== $fw: warming up ($warmup on /bare), then $duration on /bare, /parse and /webhook" >&2
    load bare "$warmup" >/dev/null
    bare=$(load bare "$duration")
    parse=$(load parse "$duration")
    webhook=$(load webhook "$duration")
    kill -TERM "$server"
    wait "$server" || true
    server=""
    outcomes=$(grep '^webhook outcomes' "$logs/$fw.err" || echo "webhook outcomes: (not reported)")

    for line in "$bare" "$parse" "$webhook"; do
        if [ "$(field non2xx "$line")" != 0 ] || [ "$(field socket_errors "$line")" != 0 ]; then
            echo "== $fw: WARNING: errors or non-2xx responses: $line" >&2
        fi
    done
    bare_rps=$(field rps "$bare")
    parse_rps=$(field rps "$parse")
    hook_rps=$(field rps "$webhook")
    parse_ratio=$(awk -v a="$parse_rps" -v b="$bare_rps" 'BEGIN { printf "%.2f", a / b }')
    ratio=$(awk -v a="$hook_rps" -v b="$bare_rps" 'BEGIN { printf "%.2f", a / b }')
    verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.8) ? "met" : "NOT met" }')
    summary+=("$(printf '%-6s %-8s %12s %10s' "$fw" bare "$bare_rps" "$(awk -v u="$(field p99_us "$bare")" 'BEGIN { printf "%.2f ms", u / 1000 }')")")
    summary+=("$(printf '%-6s %-8s %12s %10s' "$fw" parse "$parse_rps" "$(awk -v u="$(field p99_us "$parse")" 'BEGIN { printf "%.2f ms", u / 1000 }')")")
    summary+=("$(printf '%-6s %-8s %12s %10s' "$fw" webhook "$hook_rps" "$(awk -v u="$(field p99_us "$webhook")" 'BEGIN { printf "%.2f ms", u / 1000 }')")")
    summary+=("$(printf '%-6s ratio parse/bare %s (ceiling for webhook/bare: runhook::receive() alone)' "$fw" "$parse_ratio")")
    summary+=("$(printf '%-6s ratio webhook/bare %s (target >= 0.80: %s); %s' "$fw" "$ratio" "$verdict" "$outcomes")")
done

echo
echo "wrk -t$threads -c$connections -d$duration --latency, server with $workers tokio worker(s), 127.0.0.1:$port"
printf '%-6s %-8s %12s %10s\n' adapter route "req/s" p99
printf '%s\n' "${summary[@]}"
exit "$failed"
