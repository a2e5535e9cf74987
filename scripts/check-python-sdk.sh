#!/usr/bin/env bash
# TinyFish's official Python SDK against the emulator, unchanged: create a run with a
# webhook_url, get it, list runs, a synchronous run and a streamed run. Not part of CI (it needs
# PyPI); it installs the SDK into a virtualenv under target/.
#
#   scripts/check-python-sdk.sh
#
# Environment: TINYFISH_SDK_VERSION (default 0.11.0), CARGO_TARGET_DIR (cargo's default).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv="$target/python-sdk-venv"
version=${TINYFISH_SDK_VERSION:-0.11.0}

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet "tinyfish==$version"

cargo build --quiet -p runhook-cli
runhook="$target/debug/runhook"

logs=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    rm -rf "$logs"
}
trap cleanup EXIT

# The first stdout line of each command names its address (port 0: a free one).
first_line() { # first_line FILE
    for _ in $(seq 1 100); do
        if [ -s "$1" ]; then head -n1 "$1"; return; fi
        sleep 0.1
    done
    echo "no address printed in $1" >&2
    exit 1
}

key="sdk-check-$$"
"$runhook" listen --addr 127.0.0.1:0 --store memory >"$logs/listen.out" 2>"$logs/listen.err" &
pids+=($!)
webhook=$(first_line "$logs/listen.out" | grep -o 'http://[^ ]*')

"$runhook" emulate --addr 127.0.0.1:0 --api-key "$key" --allow-http-loopback --speed 20 \
    >"$logs/emulate.out" 2>"$logs/emulate.err" &
pids+=($!)
base=$(first_line "$logs/emulate.out" | grep -o 'http://[^ ]*')

echo "emulator: $base  receiver: $webhook  tinyfish SDK $version"
TINYFISH_BASE_URL="$base" TINYFISH_API_KEY="$key" RUNHOOK_WEBHOOK_URL="$webhook" \
    "$venv/bin/python" scripts/sdk/official_python_sdk.py
status=$?

# The webhook of the queued run reached the receiver.
for _ in $(seq 1 50); do
    if grep -q "run.completed" "$logs/listen.out"; then break; fi
    sleep 0.1
done
if grep -q "run.completed" "$logs/listen.out"; then
    echo "ok   webhook: $(grep -m1 'run.completed' "$logs/listen.out")"
else
    echo "FAIL webhook: the receiver got no run.completed"
    status=1
fi
exit $status
