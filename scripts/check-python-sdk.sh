#!/usr/bin/env bash
# TinyFish's official Python SDK against the emulator, unchanged: queue (with a webhook_url, whose
# webhook must reach a local receiver), run, stream, get, and list with every filter and a cursor;
# an output_schema of each kind (an object, the empty schema, `true`, a non-object root); a failed
# and a cancelled run (scripts/sdk/official_python_sdk.py). Run by .ci/run; it installs the SDK
# from PyPI into a virtualenv under the target directory and builds `runhook` itself. All traffic
# is on 127.0.0.1.
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
if ! "$venv/bin/pip" show tinyfish 2>/dev/null | grep -qx "Version: $version"; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "tinyfish==$version"
fi
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

# runhook built; `logs`, `pids` (stopped at exit) and `first_line FILE`.
source scripts/sdk/processes.sh

key="sdk-check-$$"
"$runhook" listen --addr 127.0.0.1:0 --store memory >"$logs/listen.out" 2>"$logs/listen.err" &
pids+=($!)
webhook=$(first_line "$logs/listen.out" | grep -o 'http://[^ ]*')

"$runhook" emulate --addr 127.0.0.1:0 --api-key "$key" --allow-http-loopback --speed 20 \
    >"$logs/emulate.out" 2>"$logs/emulate.err" &
pids+=($!)
base=$(first_line "$logs/emulate.out" | grep -o 'http://[^ ]*')

echo "emulator: $base  receiver: $webhook  tinyfish SDK $version"
status=0
TINYFISH_BASE_URL="$base" TINYFISH_API_KEY="$key" RUNHOOK_WEBHOOK_URL="$webhook" \
    "$venv/bin/python" scripts/sdk/official_python_sdk.py || status=$?

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
