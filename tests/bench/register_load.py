#!/usr/bin/env python3
"""Load for tests/bench/register.sh: fills the register with imported issues and times reads.

Standard library only. Requests are sequential, one connection at a time, so the figures are
per-request latency on an otherwise idle server; the single-issue read is the baseline.
"""

import argparse
import http.client
import json
import statistics
import time
import urllib.parse


class Client:
    def __init__(self, base):
        url = urllib.parse.urlparse(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        self.token = None

    def call(self, method, path, body=None, content_type="application/json"):
        headers = {}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        if body is not None:
            headers["content-type"] = content_type
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return data


def resident_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def timed(client, path, count):
    latencies = []
    size = 0
    for _ in range(count):
        started = time.perf_counter()
        size = len(client.call("GET", path))
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "bytes": size,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--issues", type=int, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    client = Client(args.base)
    signed_in = json.loads(client.call("POST", "/api/session", {"login": "admin", "password": args.password}))
    client.token = signed_in["token"]

    categories = ["roads", "water", "transport", "education", "healthcare"]
    started = time.perf_counter()
    for first in range(0, args.issues, 10_000):
        lines = ["channel,external_id,title,text,category,supporters"]
        for n in range(first, min(first + 10_000, args.issues)):
            lines.append(f"bench,{n},Issue number {n},Citizens report problem {n},{categories[n % 5]},{n % 50 + 1}")
        client.call("POST", "/api/issues/import", "\n".join(lines) + "\n", "text/csv")
    import_seconds = time.perf_counter() - started

    # Every tenth issue is taken up and planned, half of those with a deadline already past.
    listed = json.loads(client.call("GET", "/api/issues?sort=oldest&page_size=200"))
    first_id = listed["items"][0]["id"]
    for n in range(0, args.issues, 10):
        issue = first_id + n
        client.call("POST", f"/api/issues/{issue}/status", {"status": "accepted"})
        deadline = "2020-01-31" if n % 20 == 0 else "2099-12-31"
        client.call("POST", f"/api/issues/{issue}/actions", {
            "measure": "Repair", "executor_organisation": "Department", "executor_person": "Officer",
            "deadline": deadline})

    count = args.requests
    anonymous = Client(args.base)
    result = {
        "issues": args.issues,
        "import_rows_per_second": round(args.issues / import_seconds),
        "one_issue": timed(client, f"/api/issues/{first_id}", count),
        "list_first_page": timed(client, "/api/issues?page_size=50", count),
        "public_list_first_page": timed(anonymous, "/api/issues?page_size=50", count),
        "public_list_page_20": timed(anonymous, "/api/issues?page_size=50&page=20&sort=newest", count),
        "list_overdue": timed(client, "/api/issues?overdue=true&page_size=50", count),
        "open311_requests": timed(client, "/open311/v2/requests.json", max(count // 10, 5)),
        "export_csv": timed(client, "/api/issues/export?format=csv", max(count // 10, 5)),
        "server_rss_kib": resident_kib(args.server_pid),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
