#!/usr/bin/env bash
# The live channel's benchmark: Kezdesu against the bare baseline, in one run, on this machine.
#
#   tests/bench/live.sh [VIEWERS] [RATE] [SECONDS] [READERS]      (defaults: 5000 20 30 0)
#
# VIEWERS joined connections (each with its own viewer token), plus READERS read-only ones
# (public readers, no token), all reading while 20 posters post RATE comments a second in all
# for SECONDS. Builds in release (set KEZDESU_BENCH_NO_BUILD=1 to use what is built; the
# binaries are in $CARGO_TARGET_DIR/release, or target/release), starts Kezdesu on a fresh data
# folder with rate limits opened up for the load (the benchmark measures fan-out, not the
# per-viewer limits), runs the load generator, then does the same against
# `kezdesu-load bare-server`: the same axum and tokio broadcast stack with no store, rules or
# moderation, loaded with as many plain connections in the same two groups. Each prints one JSON
# line; the last lines compare deliveries per second, latency and idle memory per connection
# (read-only, joined, bare).
set -euo pipefail
cd "$(dirname "$0")/../.."
viewers=${1:-5000}
rate=${2:-20}
seconds=${3:-30}
readers=${4:-0}
posters=20
# Connections spread over several loopback source addresses, as for more than ~28,000 ports.
sources=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4

[ -n "${KEZDESU_BENCH_NO_BUILD:-}" ] || cargo build --release --locked --bin kezdesu --bin kezdesu-load
bin=${CARGO_TARGET_DIR:-target}/release
data=$(mktemp -d)
cleanup() { kill "${server_pid:-}" "${bare_pid:-}" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

wait_for() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

load=(--viewers "$viewers" --readers "$readers" --posters "$posters" --rate "$rate" --seconds "$seconds" --sources "$sources")

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
    --server-pid "$server_pid" "${load[@]}")
echo "kezdesu: $live"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=

"$bin/kezdesu-load" bare-server --listen 127.0.0.1:18701 &
bare_pid=$!
sleep 1
bare=$("$bin/kezdesu-load" bare --server http://127.0.0.1:18701 --server-pid "$bare_pid" "${load[@]}")
echo "bare:    $bare"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$live" "$bare" <<'PY'
import json, sys
live, bare = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name, run in (("kezdesu", live), ("bare", bare)):
    l, f = run["latency_ms"], run["first_delivery_ms"]
    print(f"{name}: posted {run['posted']} of {run['asked']} asked, {run['deliveries_per_second']:.0f} deliveries/s, "
          f"p50/p99/max {l['p50']}/{l['p99']}/{l['max']} ms (first delivery {f['p50']}/{f['p99']}/{f['max']}), gaps {run['gaps']}, duplicates {run['duplicates']}, "
          f"dropped {run['viewers_dropped']}, server CPU {run['server_cpu']}, generator CPU {run['generator_cpu']}")
print(f"deliveries/s ratio kezdesu/bare: {live['deliveries_per_second'] / max(bare['deliveries_per_second'], 1):.2f}")
print(f"idle memory per connection: read-only {live['idle_memory_per_reader']} "
      f"({live['reader_hellos']} of {live['readers_connected']} hellos said reader), "
      f"joined {live['idle_memory_per_joined']}, bare {bare['idle_memory_per_connection']}")
PY
