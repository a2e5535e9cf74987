#!/usr/bin/env bash
# TinyFish's official TypeScript SDK against the emulator, unchanged, on the machine's node: the
# same cases as the Python check (scripts/sdk/official_typescript_sdk.mjs). Run by .ci/run; it
# installs the SDK from npm, at the version pinned in scripts/sdk/package.json and
# scripts/sdk/package-lock.json, into a folder under the target directory, and builds `runhook`
# itself. All traffic is on 127.0.0.1.
#
#   scripts/check-typescript-sdk.sh
#
# Environment: CARGO_TARGET_DIR (cargo's default).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
dir="$target/typescript-sdk"

mkdir -p "$dir"
# npm ci again only when the pinned versions changed.
if ! cmp -s scripts/sdk/package-lock.json "$dir/package-lock.json" || [ ! -d "$dir/node_modules/@tiny-fish/sdk" ]; then
    cp scripts/sdk/package.json scripts/sdk/package-lock.json "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
cp scripts/sdk/official_typescript_sdk.mjs "$dir/"
version=$(node -p "require('$dir/node_modules/@tiny-fish/sdk/package.json').version")

# runhook built; `logs`, `pids` (stopped at exit) and `first_line FILE`.
source scripts/sdk/processes.sh

key="sdk-check-$$"
"$runhook" emulate --addr 127.0.0.1:0 --api-key "$key" --speed 20 \
    >"$logs/emulate.out" 2>"$logs/emulate.err" &
pids+=($!)
base=$(first_line "$logs/emulate.out" | grep -o 'http://[^ ]*')

echo "emulator: $base  @tiny-fish/sdk $version  node $(node --version)"
status=0
TINYFISH_BASE_URL="$base" TINYFISH_API_KEY="$key" node "$dir/official_typescript_sdk.mjs" || status=$?
exit $status
