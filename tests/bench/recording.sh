#!/usr/bin/env bash
# The recording's benchmark: a broadcast recorded against the same broadcast unrecorded, in one
# run, for an H.264 and a VP8 publisher; and the replay's join, timed on the part recorded.
#
#   tests/bench/recording.sh [SECONDS]      (the measuring window of each round; default 30)
#
# Needs what tests/run installs: ffmpeg and the aiortc venv (target/aiortc-venv). Builds the
# release binary, then runs tests/bench/recording.py, which prints the Markdown kept in
# docs/bench/egress.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked --bin kezdesu
export KEZDESU_BIN="$PWD/target/release/kezdesu"
exec target/aiortc-venv/bin/python tests/bench/recording.py --seconds "${1:-30}"
