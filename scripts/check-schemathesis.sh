#!/usr/bin/env bash
# Schemathesis against the emulator's own OpenAPI document (GET /openapi.json): every check, a
# fixed seed, a bounded number of examples. Fails on any failure that is not listed, with its
# reason, in scripts/schemathesis-known.json (each entry: operation, check, what failed, reason;
# scripts/schemathesis-summary.py says how they match), and on an entry without a reason.
#
#   scripts/check-schemathesis.sh                 # the check
#   scripts/check-schemathesis.sh --update-known  # also add today's new failures to the list
#                                                 # (then write their reasons by hand)
#
# Schemathesis comes from PyPI into a virtualenv under the target directory; the emulator is the
# workspace's `runhook emulate`, built here. Traffic stays on this machine: when the machine
# allows it, the emulator and schemathesis run in a network namespace of their own (loopback
# only), and in any case every run's webhook plan drops every attempt, so no webhook is sent.
#
# Environment: SCHEMATHESIS_VERSION (default 4.32.5), SCHEMATHESIS_SEED (default 17),
# SCHEMATHESIS_EXAMPLES (examples per operation, default 100), CARGO_TARGET_DIR (cargo's
# default). Reports: $CARGO_TARGET_DIR/schemathesis/ (the full log, JSON and NDJSON).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

# The part that runs next to the emulator (in the network namespace when there is one).
if [ "${1:-}" = "--inside" ]; then
    if [ "${ST_ISOLATED:-0}" = 1 ]; then
        ip link set lo up
    fi
    logs=$(mktemp -d)
    pid=""
    cleanup() {
        if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
        rm -rf "$logs"
    }
    trap cleanup EXIT
    # Every run's webhook: every attempt dropped (nothing is ever sent), whatever its URL.
    printf '[[rules]]\nwebhook = { drop = 10 }\n' >"$logs/scenario.toml"
    key="st-check-$$"
    "$ST_RUNHOOK" emulate --addr 127.0.0.1:0 --api-key "$key" --speed 1000 \
        --scenario "$logs/scenario.toml" >"$ST_OUT/emulate.log" 2>&1 &
    pid=$!
    base=""
    for _ in $(seq 1 100); do
        base=$(head -n1 "$ST_OUT/emulate.log" | grep -o 'http://[^ ]*' || true)
        if [ -n "$base" ]; then break; fi
        sleep 0.1
    done
    if [ -z "$base" ]; then
        echo "FAIL the emulator printed no address:" >&2
        head -n5 "$ST_OUT/emulate.log" >&2
        exit 1
    fi
    status=0
    cd "$ST_OUT" # schemathesis and hypothesis write their folders here, not in the work tree
    "$ST_VENV/bin/st" run "$base/openapi.json" \
        --checks all \
        --seed "$ST_SEED" --generation-database none \
        --max-examples "$ST_EXAMPLES" --continue-on-failure \
        --header "X-API-Key: $key" \
        --request-timeout 20 \
        --report json,ndjson --report-dir "$ST_OUT" \
        --report-json-path "$ST_OUT/report.json" --report-ndjson-path "$ST_OUT/events.ndjson" \
        --no-color --output-truncate true \
        >"$ST_OUT/schemathesis.log" 2>&1 || status=$?
    echo "$status" >"$ST_OUT/exit-code"
    exit 0
fi

update=0
case "${1:-}" in
    "") ;;
    --update-known) update=1 ;;
    *) echo "usage: $0 [--update-known]" >&2; exit 2 ;;
esac

target=${CARGO_TARGET_DIR:-$root/target}
venv="$target/schemathesis-venv"
version=${SCHEMATHESIS_VERSION:-4.32.5}
out="$target/schemathesis"
known="$root/scripts/schemathesis-known.json"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if [ "$("$venv/bin/st" --version 2>/dev/null || true)" != "st, version $version" ]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

cargo build --quiet -p runhook-cli

# Every listed failure has its reason.
if [ "$update" = 0 ]; then
    "$venv/bin/python" scripts/schemathesis-summary.py --check-known "$known"
fi

rm -rf "$out"
mkdir -p "$out"
export ST_RUNHOOK="$target/debug/runhook" ST_VENV="$venv" ST_OUT="$out" \
    ST_SEED="${SCHEMATHESIS_SEED:-17}" ST_EXAMPLES="${SCHEMATHESIS_EXAMPLES:-100}"
if unshare --net sh -c 'ip link set lo up' 2>/dev/null; then
    ST_ISOLATED=1 unshare --net bash "$root/scripts/check-schemathesis.sh" --inside
else
    echo "note: no network namespace here (unshare --net); webhooks are dropped by the emulator's plan"
    ST_ISOLATED=0 bash "$root/scripts/check-schemathesis.sh" --inside
fi

echo "schemathesis $version, seed $ST_SEED, $ST_EXAMPLES examples per operation (log: $out/schemathesis.log)"
flags=()
if [ "$update" = 1 ]; then flags=(--update-known); fi
"$venv/bin/python" scripts/schemathesis-summary.py --report "$out" --known "$known" "${flags[@]}"
