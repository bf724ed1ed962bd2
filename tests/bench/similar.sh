#!/usr/bin/env bash
# The near-duplicate search's benchmark (issue 18): per-comment cost of normalize + trigrams +
# SimilarityIndex::best_match against 5,000 open items, for 20,000 generated Kazakh and Russian
# comments, beside brute force (Jaccard against all 5,000) in the same run.
#
#   tests/bench/similar.sh
#
# Builds the core alone in release; prints the machine and a Markdown table for
# docs/bench/moderation.md. Run it on a quiet machine (see `uptime`): it is single-threaded.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "load: $(uptime | sed 's/.*load average: //')"
echo "command: cargo run --release -p kezdesu-core --example similar_bench"
cargo run --release --quiet -p kezdesu-core --example similar_bench
