#!/usr/bin/env bash
# The restream's benchmark: Kezdesu's egress (one ffmpeg per meeting, the server's own RTMP
# sessions) against the same ffmpeg commands run alone, one per destination, in one run.
#
#   tests/bench/egress.sh [SECONDS]      (the measuring window of each round; default 20)
#
# Needs what tests/run installs: ffmpeg, nginx with the RTMP module, and the aiortc venv
# (target/aiortc-venv). Builds the release binary, then runs tests/bench/egress.py, which
# prints the Markdown kept in docs/bench/egress.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked --bin kezdesu
export KEZDESU_BIN="$PWD/target/release/kezdesu"
exec target/aiortc-venv/bin/python tests/bench/egress.py --seconds "${1:-20}"
