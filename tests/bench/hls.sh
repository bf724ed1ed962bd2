#!/usr/bin/env bash
# HLS's benchmark, in one run: what HLS costs beside the restream (tests/bench/hls_cost.py:
# the same broadcast and destination with HLS off and on), then the latency from the publisher
# to a viewer by HLS against WHEP's (tests/bench/hls.mjs: frames stamped with the clock, read
# back in Debian's Chromium).
#
#   tests/bench/hls.sh [SECONDS]      (the window of each round; default 30)
#
# Needs what tests/run installs: ffmpeg, nginx with the RTMP module, the aiortc venv, Chromium
# and tests/browser's npm packages. Builds the release binary. docs/bench/egress.md keeps the
# figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
cargo build --release --locked --bin kezdesu
export KEZDESU_BIN="$PWD/target/release/kezdesu"
[ -d tests/browser/node_modules ] || npm ci --prefix tests/browser --no-audit --no-fund
target/aiortc-venv/bin/python tests/bench/hls_cost.py --seconds "$seconds"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" node tests/bench/hls.mjs --seconds "$seconds"
