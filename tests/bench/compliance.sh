#!/usr/bin/env bash
# The compliance dashboard's benchmark: how long the dashboard takes as akims, meetings and
# issues grow, against reading one meeting in the same run.
#
#   tests/bench/compliance.sh [AKIMS:MEETINGS:ISSUES ...]   (default: 20:5:5 100:10:10)
#
# Builds in release and, for each size, starts Kezdesu on a fresh data folder, creates that many
# district akims (each with five villages), that many meetings per akim (each run through its
# phases, half with results published) and issues per meeting (each accepted, half with a
# progress report), then times sequential requests: one meeting, the dashboard for one akim,
# for every akim, and for every akim as CSV. Prints one JSON line per size.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(20:5:5 100:10:10)

cargo build --release --locked --bin kezdesu
data=$(mktemp -d)
cleanup() { kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
password='benchmark admin password'
for size in "${sizes[@]}"; do
    IFS=: read -r akims meetings issues <<<"$size"
    rm -rf "$data"/*
    KEZDESU_ADMIN_PASSWORD="$password" KEZDESU__LOG__LEVEL=warn KEZDESU__DEMO__ENABLED=false \
        target/release/kezdesu serve --listen 127.0.0.1:18721 --data "$data" >"$data/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18721/healthz && break; sleep 0.1; done
    python3 tests/bench/compliance_load.py --base http://127.0.0.1:18721 --password "$password" \
        --akims "$akims" --meetings "$meetings" --issues "$issues" --server-pid "$server_pid"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
done
