# Shared by the bench scripts that load a route with wrk and fresh-run-id.lua (sourced, not run).
# Needs: $threads, $connections, $port, and $root (the repository's root).

script="$root/scripts/wrk/fresh-run-id.lua"

if ! command -v wrk >/dev/null; then
    echo "wrk is not installed; installing it (apt-get install -y wrk)" >&2
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null
fi

# wrk against one route; prints the RESULT line of fresh-run-id.lua.
load() { # load ROUTE DURATION
    local route=$1 length=$2
    wrk -t"$threads" -c"$connections" -d"$length" --latency -s "$script" \
        "http://127.0.0.1:$port/$route" | grep '^RESULT'
}

# One NAME=VALUE field of a RESULT line.
field() { # field NAME LINE
    sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"
}
