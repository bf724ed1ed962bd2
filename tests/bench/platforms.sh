#!/usr/bin/env bash
# The platform comments' benchmark: comments from four platforms and native comments into one
# meeting watched by thousands, in one run, on this machine.
#
#   tests/bench/platforms.sh [VIEWERS] [PER_PLATFORM_RATE] [SECONDS] [NATIVE_RATE]
#                                                  (defaults: 5000 25 30 5)
#
# Builds in release, starts the fake platforms (tests/services/platforms) and Kezdesu pointed at
# them, then `kezdesu-load live --platforms-fake`: the meeting follows a YouTube chat, a
# Telegram post, a VK video and a Facebook live video on the fake; while native posters post
# NATIVE_RATE comments a second through the live channel (the baseline), PER_PLATFORM_RATE
# comments a second are written on each platform. The figure: from the moment the fake served a
# platform comment to Kezdesu's reader to the moment a viewer received it (100 sampled viewers),
# beside the native comments' send-to-receive latency, both p50/p99.
set -euo pipefail
cd "$(dirname "$0")/../.."
viewers=${1:-5000}
rate=${2:-25}
seconds=${3:-30}
native=${4:-5}
sources=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4

[ -n "${KEZDESU_BENCH_NO_BUILD:-}" ] || cargo build --release --locked --bin kezdesu --bin kezdesu-load
bin=target/release
data=$(mktemp -d)
fake_dir=$(mktemp -d)
cleanup() { kill "${server_pid:-}" 2>/dev/null || true; tests/services/platforms stop "$fake_dir"; rm -rf "$data"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
fake=$(tests/services/platforms start "$fake_dir")

wait_for() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

KEZDESU_ADMIN_PASSWORD='benchmark admin password' \
KEZDESU_SECRET_KEY=$(head -c 32 /dev/urandom | base64) \
KEZDESU__DEMO__ENABLED=false \
KEZDESU__LOG__LEVEL=warn \
KEZDESU__AUTH__VIEWER_TOKENS_PER_MINUTE=1000000 \
KEZDESU__LIVE__COMMENT_INTERVAL_SECONDS=0.01 \
KEZDESU__LIVE__COMMENT_BURST=100 \
KEZDESU__LIVE__COMMENTS_PER_MINUTE_PER_ADDRESS=1000000 \
KEZDESU__PLATFORMS__YOUTUBE_API_URL="$fake/google" \
KEZDESU__PLATFORMS__YOUTUBE_OAUTH_URL="$fake/google-oauth" \
KEZDESU__PLATFORMS__TELEGRAM_API_URL="$fake/telegram" \
KEZDESU__PLATFORMS__VK_API_URL="$fake/vk" \
KEZDESU__PLATFORMS__FACEBOOK_GRAPH_URL="$fake/facebook" \
    "$bin/kezdesu" serve --listen 127.0.0.1:18710 --data "$data" &
server_pid=$!
wait_for http://127.0.0.1:18710/healthz
result=$("$bin/kezdesu-load" live --server http://127.0.0.1:18710 --admin-password 'benchmark admin password' \
    --server-pid "$server_pid" --viewers "$viewers" --posters 5 --rate "$native" --seconds "$seconds" \
    --sources "$sources" --platforms-fake "$fake" --platform-rate "$rate")
echo "kezdesu: $result"
python3 - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
p, n = r["platform_latency_ms"], r["latency_ms"]
print(f"platform comments: {p['entered']} of {p['written']} written entered; served→viewer p50 {p['p50']:.1f} ms, p99 {p['p99']:.1f} ms "
      f"({p['samples']} samples) | native comments: send→viewer p50 {n['p50']:.1f} ms, p99 {n['p99']:.1f} ms | "
      f"{r['viewers_connected']} viewers, {r['deliveries_per_second']:.0f} deliveries/s, gaps {r['gaps']}, duplicates {r['duplicates']}, CPU {r['server_cpu']}")
PY
