#!/usr/bin/env bash
# The register's benchmark: how reading the issue list costs as the register grows, against
# reading one issue (a constant-size read through the same store) in the same run.
#
#   tests/bench/register.sh [ISSUES...]      (default: 1000 10000 50000)
#
# Builds in release and, for each size, starts Kezdesu on a fresh data folder, imports that many
# issues through POST /api/issues/import (10,000 rows per file, timed), gives each an action
# plan item on every tenth issue (which makes those public), and then times 200 sequential
# requests of each kind: the first page of the whole list as staff, the public list's first and
# twentieth pages, the list filtered by overdue, Open311 requests.json, the CSV export (every
# issue, 20 requests), and one issue. Prints one JSON line per size.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000 10000 50000)

cargo build --release --locked --bin kezdesu
data=$(mktemp -d)
cleanup() { kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
password='benchmark admin password'
for size in "${sizes[@]}"; do
    rm -rf "$data"/*
    KEZDESU_ADMIN_PASSWORD="$password" KEZDESU__LOG__LEVEL=warn KEZDESU__DEMO__ENABLED=false \
    KEZDESU__REGISTER__IMPORT_MAX_BYTES=33554432 \
        target/release/kezdesu serve --listen 127.0.0.1:18720 --data "$data" >"$data/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18720/healthz && break; sleep 0.1; done
    python3 tests/bench/register_load.py --base http://127.0.0.1:18720 --password "$password" \
        --issues "$size" --server-pid "$server_pid"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
done
