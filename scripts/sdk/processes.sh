# Shared by the SDK checks (sourced, not run): builds `runhook`, and starts its commands in the
# background with their output in a temporary folder, stopped and removed when the script exits.
# Needs: $target (the cargo target directory).

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
