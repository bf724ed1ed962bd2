#!/usr/bin/env bash
# The cluster's benchmark: live-channel deliveries per second and latency with one node and
# with three, in one run, on this machine.
#
#   tests/bench/cluster.sh [VIEWERS] [RATE] [SECONDS]      (defaults: 3000 20 20)
#
# Builds in release and starts a throwaway PostgreSQL and Redis (tests/services). Then, each on
# a fresh database, with rate limits opened up for the load:
#   1. one node alone on PostgreSQL: the baseline, on the same store;
#   2. three nodes (127.0.0.1, .2, .3) on PostgreSQL and Redis, the viewers and posters spread
#      over them; the meeting's owner is the first node, the others forward and follow.
# Every node shares this machine's cores with the others, the load generator, PostgreSQL and
# Redis, so the second run measures what the cluster costs, not the capacity that nodes on
# their own machines add (docs/scale.md works that out). Each run prints one JSON line; the
# last lines compare them.
set -euo pipefail
cd "$(dirname "$0")/../.."
viewers=${1:-3000}
rate=${2:-20}
seconds=${3:-20}
posters=20
sources=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4
port=18710

cargo build --release --locked --bin kezdesu --bin kezdesu-load
bin=target/release
work=$(mktemp -d)
postgres_dir=$(mktemp -d)
redis_dir=$(mktemp -d)
pids=()
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    tests/services/postgres stop "$postgres_dir" || true
    tests/services/redis stop "$redis_dir" || true
    rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
postgres=$(tests/services/postgres start "$postgres_dir")
redis=$(tests/services/redis start "$redis_dir")

wait_for() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# node NUMBER DATABASE [REDIS]: starts a node on 127.0.0.NUMBER; its pid is appended to pids.
node() {
    env KEZDESU_ADMIN_PASSWORD='benchmark admin password' \
        KEZDESU__DEMO__ENABLED=false \
        KEZDESU__LOG__LEVEL=warn \
        KEZDESU__STORAGE__ENGINE=postgres \
        KEZDESU__STORAGE__POSTGRES_URL="${postgres%/*}/$2" \
        ${3:+KEZDESU__CLUSTER__REDIS_URL=$3} \
        KEZDESU__AUTH__VIEWER_TOKENS_PER_MINUTE=1000000 \
        KEZDESU__LIVE__COMMENT_INTERVAL_SECONDS=0.01 \
        KEZDESU__LIVE__COMMENT_BURST=100 \
        KEZDESU__LIVE__COMMENTS_PER_MINUTE_PER_ADDRESS=1000000 \
        "$bin/kezdesu" serve --listen "127.0.0.$1:$port" --data "$work/data$1-$2" &
    pids+=($!)
    wait_for "http://127.0.0.$1:$port/healthz"
}

load() {
    "$bin/kezdesu-load" live --server "http://127.0.0.1:$port" --admin-password 'benchmark admin password' \
        --viewers "$viewers" --posters "$posters" --rate "$rate" --seconds "$seconds" --sources "$sources" "$@"
}

psql "$postgres" -qc 'CREATE DATABASE one_node' -c 'CREATE DATABASE three_nodes'

node 1 one_node
one=$(load --server-pid "${pids[0]}")
echo "one node:    $one"
kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true; pids=()

# The first node starts alone (it applies the migrations and creates the admin), then the others.
node 1 three_nodes "$redis/0"
node 2 three_nodes "$redis/0"
node 3 three_nodes "$redis/0"
three=$(load --also "http://127.0.0.2:$port,http://127.0.0.3:$port" --server-pid "$(IFS=,; echo "${pids[*]}")")
echo "three nodes: $three"

python3 - "$one" "$three" <<'PY'
import json, sys
one, three = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("| | deliveries/s | p50 ms | p99 ms | max ms | gaps | duplicates | dropped | server CPU |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for name, run in (("one node", one), ("three nodes", three)):
    latency = run["latency_ms"]
    print(f"| {name} | {run['deliveries_per_second']:.0f} | {latency['p50']:.1f} | {latency['p99']:.1f} | "
          f"{latency['max']:.1f} | {run['gaps']} | {run['duplicates']} | {run['viewers_dropped']} | {run['server_cpu']} |")
print(f"three nodes / one node, deliveries/s: {three['deliveries_per_second'] / max(one['deliveries_per_second'], 1):.2f}")
PY
