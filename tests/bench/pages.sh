#!/usr/bin/env bash
# The pages' benchmark: the viewer's meeting page on a phone-class browser and the moderator
# console on a desktop while comments flood in, and the console joining a meeting of many
# comments late, for TODAY's build beside a BASELINE build of the server and its own pages, in
# one run (tests/bench/pages.mjs; docs/bench/pages.md has the figures).
#
#   tests/bench/pages.sh [SECONDS] [RATE] [PRELOAD] [PAGES]    (defaults: 300 50 100000 together)
#
# PAGES `together` opens the phone page and the console during one flood; `apart` floods once
# for each (on 2 cores, neither page's frames then wait for the other's).
#
# A quick run: tests/bench/pages.sh 20 50 2000. The baseline is BASELINE_COMMIT (default
# b92001b, before the pages kept up with a flood), built in its own worktree
# (BASELINE_WORKTREE, default ../kezdesu-bench-baseline) with its own CARGO_TARGET_DIR
# (BASELINE_TARGET_DIR, default target/bench-baseline): the server embeds web/ at build time
# (rust-embed), so each binary serves its own pages. Both are debug builds, as the browser tests
# use. Needs Chromium (/usr/bin/chromium or $CHROMIUM) and tests/browser's npm packages. A
# benchmark, not a test: tests/run does not run it.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
seconds=${1:-300}
rate=${2:-50}
preload=${3:-100000}
pages=${4:-together}
baseline_commit=${BASELINE_COMMIT:-b92001b}
baseline_worktree=${BASELINE_WORKTREE:-$repo/../kezdesu-bench-baseline}
baseline_target=${BASELINE_TARGET_DIR:-$repo/target/bench-baseline}
target=${CARGO_TARGET_DIR:-$repo/target}

if [ -z "${KEZDESU_BENCH_NO_BUILD:-}" ]; then
    if [ ! -e "$baseline_worktree/.git" ]; then
        git worktree add --detach "$baseline_worktree" "$baseline_commit"
    fi
    git -C "$baseline_worktree" checkout --quiet --detach "$baseline_commit"
    (cd "$baseline_worktree" && CARGO_TARGET_DIR="$baseline_target" cargo build --locked --bin kezdesu)
    cargo build --locked --bin kezdesu
fi
[ -d tests/browser/node_modules ] || npm ci --prefix tests/browser --no-audit --no-fund

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GB"
echo "chromium: $(${CHROMIUM:-/usr/bin/chromium} --version 2>/dev/null || echo unknown)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "baseline: $baseline_commit; new: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- web server || echo ' with changes')"
node tests/bench/pages.mjs --baseline "$baseline_target/debug/kezdesu" --new "$target/debug/kezdesu" \
    --seconds "$seconds" --rate "$rate" --preload "$preload" --pages "$pages"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
