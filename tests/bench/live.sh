#!/usr/bin/env bash
# The live channel's benchmark: Kezdesu against the bare baseline, in one run, on this machine.
#
#   tests/bench/live.sh [VIEWERS] [RATE] [SECONDS]      (defaults: 5000 20 30)
#
# Builds in release, starts Kezdesu on a fresh data folder with rate limits opened up for the
# load (the benchmark measures fan-out, not the per-viewer limits), runs the load generator,
# then does the same against `kezdesu-load bare-server`: the same axum and tokio broadcast
# stack with no store, rules or moderation. Each prints one JSON line; the last line compares
# deliveries per second.
set -euo pipefail
cd "$(dirname "$0")/../.."
viewers=${1:-5000}
rate=${2:-20}
seconds=${3:-30}
posters=20
# Connections spread over several loopback source addresses, as for more than ~28,000 ports.
sources=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4

cargo build --release --locked --bin kezdesu --bin kezdesu-load
bin=target/release
data=$(mktemp -d)
cleanup() { kill "${server_pid:-}" "${bare_pid:-}" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

wait_for() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

KEZDESU_ADMIN_PASSWORD='benchmark admin password' \
KEZDESU__DEMO__ENABLED=false \
KEZDESU__LOG__LEVEL=warn \
KEZDESU__AUTH__VIEWER_TOKENS_PER_MINUTE=1000000 \
KEZDESU__LIVE__COMMENT_INTERVAL_SECONDS=0.01 \
KEZDESU__LIVE__COMMENT_BURST=100 \
KEZDESU__LIVE__COMMENTS_PER_MINUTE_PER_ADDRESS=1000000 \
    "$bin/kezdesu" serve --listen 127.0.0.1:18700 --data "$data" &
server_pid=$!
wait_for http://127.0.0.1:18700/healthz
live=$("$bin/kezdesu-load" live --server http://127.0.0.1:18700 --admin-password 'benchmark admin password' \
    --server-pid "$server_pid" --viewers "$viewers" --posters "$posters" --rate "$rate" --seconds "$seconds" --sources "$sources")
echo "kezdesu: $live"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=

"$bin/kezdesu-load" bare-server --listen 127.0.0.1:18701 &
bare_pid=$!
sleep 1
bare=$("$bin/kezdesu-load" bare --server http://127.0.0.1:18701 \
    --server-pid "$bare_pid" --viewers "$viewers" --posters "$posters" --rate "$rate" --seconds "$seconds" --sources "$sources")
echo "bare:    $bare"
python3 - "$live" "$bare" <<'PY'
import json, sys
live, bare = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"deliveries/s: kezdesu {live['deliveries_per_second']:.0f}, bare {bare['deliveries_per_second']:.0f}, "
      f"ratio {live['deliveries_per_second'] / max(bare['deliveries_per_second'], 1):.2f}")
PY
