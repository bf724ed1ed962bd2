#!/usr/bin/env bash
# The cluster's benchmark: live-channel deliveries per second and latency with one node and
# with three, in one run, on this machine.
#
#   tests/bench/cluster.sh [VIEWERS] [RATE] [SECONDS] [QUIET]   (defaults: 3000 20 20 0)
#
# Builds in release and starts a throwaway PostgreSQL and Redis (tests/services). Then, each on
# a fresh database, with rate limits opened up for the load:
#   1. one node alone on PostgreSQL: the baseline, on the same store;
#   2. three nodes (127.0.0.1, .2, .3) on PostgreSQL and Redis, the viewers and posters spread
#      over them; the meeting's owner is the first node, the others forward and follow.
# Every node shares this machine's cores with the others, the load generator, PostgreSQL and
# Redis, so the second run measures what the cluster costs, not the capacity that nodes on
# their own machines add (docs/scale.md works that out).
#   3. with QUIET > 0: three nodes again, with QUIET more live meetings that carry no traffic.
#      Every node mirrors each, so each node's stream reader names QUIET + 1 streams in every
#      read: this shows what the mirrored meetings cost the loaded one, and Redis.
# Each run prints one JSON line, with the CPU seconds Redis used during it (setup included)
# for the runs on Redis; the last lines compare them.
set -euo pipefail
cd "$(dirname "$0")/../.."
viewers=${1:-3000}
rate=${2:-20}
seconds=${3:-20}
quiet=${4:-0}
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

psql "$postgres" -qc 'CREATE DATABASE one_node' -c 'CREATE DATABASE three_nodes' -c 'CREATE DATABASE three_quiet'

# Redis's CPU seconds so far, user and system.
redis_cpu() {
    redis-cli -u "$redis" INFO cpu | tr -d '\r' |
        awk -F: '/^used_cpu_(user|sys):/ { total += $2 } END { printf "%.2f", total }'
}

# Three nodes on the database $1, loaded with the extra arguments; prints the load's JSON line
# with Redis's CPU seconds added.
three_nodes() {
    local database=$1; shift
    node 1 "$database" "$redis/0"
    node 2 "$database" "$redis/0"
    node 3 "$database" "$redis/0"
    local before result
    redis-cli -u "$redis" CONFIG RESETSTAT >/dev/null
    before=$(redis_cpu)
    result=$(load --also "http://127.0.0.2:$port,http://127.0.0.3:$port" --server-pid "$(IFS=,; echo "${pids[*]}")" "$@")
    # Redis's CPU during the run, and the five commands that took most of it.
    python3 -c '
import json, sys
run = json.loads(sys.argv[1])
run["redis_cpu_seconds"] = round(float(sys.argv[3]) - float(sys.argv[2]), 2)
stats = {}
for line in sys.argv[4].splitlines():
    if line.startswith("cmdstat_"):
        name, fields = line[len("cmdstat_"):].split(":", 1)
        values = dict(field.split("=") for field in fields.split(","))
        stats[name] = {"calls": int(values["calls"]), "seconds": round(int(values["usec"]) / 1e6, 3)}
run["redis_top_commands"] = dict(sorted(stats.items(), key=lambda item: -item[1]["seconds"])[:5])
print(json.dumps(run))' "$result" "$before" "$(redis_cpu)" "$(redis-cli -u "$redis" INFO commandstats | tr -d '\r')"
    kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true; pids=()
    redis-cli -u "$redis" FLUSHALL >/dev/null
}

node 1 one_node
one=$(load --server-pid "${pids[0]}")
echo "one node:    $one"
kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true; pids=()

three=$(three_nodes three_nodes)
echo "three nodes: $three"
quieter=null
if [ "$quiet" -gt 0 ]; then
    quieter=$(three_nodes three_quiet --quiet-meetings "$quiet")
    echo "three nodes, $quiet quiet meetings: $quieter"
fi

python3 - "$one" "$three" "$quieter" "$quiet" <<'PY'
import json, sys
one, three, quieter = (json.loads(argument) for argument in sys.argv[1:4])
runs = [("one node", one), ("three nodes", three)]
if quieter:
    runs.append((f"three nodes, {sys.argv[4]} quiet meetings", quieter))
print("| | deliveries/s | p50 ms | p99 ms | max ms | gaps | duplicates | dropped | server CPU | Redis CPU s |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for name, run in runs:
    latency = run["latency_ms"]
    print(f"| {name} | {run['deliveries_per_second']:.0f} | {latency['p50']:.1f} | {latency['p99']:.1f} | "
          f"{latency['max']:.1f} | {run['gaps']} | {run['duplicates']} | {run['viewers_dropped']} | {run['server_cpu']} | "
          f"{run.get('redis_cpu_seconds', '')} |")
print(f"three nodes / one node, deliveries/s: {three['deliveries_per_second'] / max(one['deliveries_per_second'], 1):.2f}")
if quieter:
    print(f"with quiet meetings / without, deliveries/s: "
          f"{quieter['deliveries_per_second'] / max(three['deliveries_per_second'], 1):.2f}")
PY
