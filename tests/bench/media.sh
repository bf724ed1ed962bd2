#!/usr/bin/env bash
# The broadcast's benchmark: Kezdesu against the bare forwarding baseline, in one run, on this
# machine, with the load generator on the same cores.
#
#   tests/bench/media.sh [VIEWERS] [SECONDS] [BITRATE]      (defaults: 300 30 1500000)
#
# Builds in release, starts Kezdesu on a fresh data folder (its demo meeting is inside the
# window before its start, so it may go on air), takes the meeting's stream key as the admin,
# and runs `kezdesu-media-load run`: a synthetic VP8 publisher by WHIP and VIEWERS subscribers
# by WHEP. Then the same against `kezdesu-media-load bare-server`: the same engine, a bare
# forwarding loop, nothing else. Each prints one JSON line; the last lines compare them.
set -euo pipefail
cd "$(dirname "$0")/../.."
viewers=${1:-300}
seconds=${2:-30}
bitrate=${3:-1500000}

cargo build --release --locked --bin kezdesu --bin kezdesu-media-load
bin=target/release
data=$(mktemp -d)
cleanup() { kill "${server_pid:-}" "${bare_pid:-}" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
password='benchmark admin password'

# Waits until something answers HTTP at $1 (any status).
wait_for() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

KEZDESU_ADMIN_PASSWORD="$password" \
KEZDESU__LOG__LEVEL=warn \
KEZDESU__MEDIA__UDP_ADDRESSES='["127.0.0.1"]' \
KEZDESU__MEDIA__MAX_VIEWERS_PER_MEETING=100000 \
KEZDESU__MEDIA__VIEWER_SESSIONS_PER_MINUTE_PER_ADDRESS=1000000 \
    "$bin/kezdesu" serve --listen 127.0.0.1:18710 --data "$data" >"$data/server.log" 2>&1 &
server_pid=$!
wait_for http://127.0.0.1:18710/healthz
token=$(curl -fs -H 'content-type: application/json' \
    -d "{\"login\":\"admin\",\"password\":\"$password\"}" http://127.0.0.1:18710/api/session \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
key=$(curl -fs -H "authorization: Bearer $token" http://127.0.0.1:18710/api/meetings/1/stream-key \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["stream_key"])')
kezdesu=$("$bin/kezdesu-media-load" run --whip http://127.0.0.1:18710/api/meetings/1/whip \
    --whep http://127.0.0.1:18710/api/meetings/1/whep --key="$key" \
    --viewers "$viewers" --seconds "$seconds" --bitrate "$bitrate" --server-pid "$server_pid")
echo "kezdesu: $kezdesu"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=

"$bin/kezdesu-media-load" bare-server --listen 127.0.0.1:18711 2>/dev/null &
bare_pid=$!
wait_for http://127.0.0.1:18711/
bare=$("$bin/kezdesu-media-load" run --whip http://127.0.0.1:18711/whip --whep http://127.0.0.1:18711/whep \
    --viewers "$viewers" --seconds "$seconds" --bitrate "$bitrate" --server-pid "$bare_pid")
echo "bare:    $bare"
python3 - "$kezdesu" "$bare" <<'PY'
import json, sys
k, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name, r in (("kezdesu", k), ("bare", b)):
    cpu = r["server_cpu_percent_per_viewer"] or 0
    mem = r["server_memory_kib_per_viewer"] or 0
    print(f"{name:8} held {r['viewers_held']}/{r['viewers_asked']}, delivery {r['packet_delivery_percent']:.2f}%, "
          f"gaps {r['sequence_gaps']}, server CPU {r['server_cpu_percent'] or 0:.0f}% ({cpu:.3f}%/viewer), "
          f"memory {mem:.0f} KiB/viewer")
PY
