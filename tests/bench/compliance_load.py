#!/usr/bin/env python3
"""Load for tests/bench/compliance.sh: district akims with villages, meetings that ran, and
issues raised at them, then timed reads of the compliance dashboard.

Standard library only; requests are sequential, so the figures are per-request latency on an
otherwise idle server. Reading one meeting is the baseline.
"""

import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from register_load import Client, resident_kib, timed  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--akims", type=int, required=True)
    parser.add_argument("--meetings", type=int, required=True, help="per akim")
    parser.add_argument("--issues", type=int, required=True, help="per meeting")
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    client = Client(args.base)
    signed_in = json.loads(client.call("POST", "/api/session", {"login": "admin", "password": args.password}))
    client.token = signed_in["token"]
    start = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).replace(microsecond=0)

    first_meeting = None
    for a in range(args.akims):
        name = {"kk": f"Аудан {a}", "ru": f"Район {a}", "en": f"District {a}"}
        district = json.loads(client.call("POST", "/api/territories", {"kato": f"35{a:03d}0000", "kind": "district", "name": name}))
        villages = []
        for v in range(1, 6):
            village = json.loads(client.call("POST", "/api/territories", {
                "kato": f"35{a:03d}{v:04d}", "kind": "village", "parent_id": district["id"],
                "name": {"kk": f"Ауыл {a}-{v}", "ru": f"Село {a}-{v}", "en": f"Village {a}-{v}"}}))
            villages.append(village["id"])
        akim = json.loads(client.call("POST", "/api/accounts", {
            "login": f"akim{a}", "display_name": f"Akim {a}", "role": "akim",
            "password": f"akim {a} benchmark password", "territory_id": district["id"]}))
        for m in range(args.meetings):
            meeting = json.loads(client.call("POST", "/api/meetings", {
                "title": {"kk": "Кездесу", "ru": "Встреча", "en": "Meeting"},
                "territory_id": villages[m % 5], "akim_account_id": akim["id"],
                "planned_start": start.isoformat(), "planned_minutes": 60, "kind": "calendar"}))
            first_meeting = first_meeting or meeting["id"]
            for phase in ["presentation", "ended"]:
                client.call("POST", f"/api/meetings/{meeting['id']}/phase", {"phase": phase})
            if m % 2 == 0:
                client.call("PUT", f"/api/meetings/{meeting['id']}/results", {"summary": "Итоги"})
            for i in range(args.issues):
                created = json.loads(client.call("POST", "/api/issues", {"title": f"Issue {a}-{m}-{i}", "meeting_id": meeting["id"]}))
                issue = created["issue"]["id"]
                client.call("POST", f"/api/issues/{issue}/status", {"status": "accepted"})
                if i % 2 == 0:
                    client.call("POST", f"/api/issues/{issue}/progress", {"text": "Работы идут"})

    year = start.year
    count = args.requests
    result = {
        "akims": args.akims,
        "meetings": args.akims * args.meetings,
        "acting_issues": args.akims * args.meetings * args.issues,
        "one_meeting": timed(client, f"/api/meetings/{first_meeting}", count),
        "compliance_one_akim": timed(client, f"/api/compliance?year={year}&akim_account_id=2", count),
        "compliance_all_akims": timed(client, f"/api/compliance?year={year}", count),
        "compliance_all_akims_csv": timed(client, f"/api/compliance?year={year}&format=csv", count),
        "server_rss_kib": resident_kib(args.server_pid),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
