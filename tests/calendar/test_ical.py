#!/usr/bin/env python3
"""The iCalendar feeds, read by a real parser (Python's icalendar), against the real binary.

Boots the server (${KEZDESU_BIN:-target/debug/kezdesu}) with the harness of tests/media, plans a
meeting for an akim on a village inside a district, and checks that both the akim's feed and the
district's feed parse, that the event keeps its UID, that SEQUENCE goes up when the meeting is
rescheduled and again when it is cancelled, and that STATUS follows. Exits non-zero on failure.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import icalendar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "media"))
from test_aiortc import ADMIN_PASSWORD, ROOT, Server, http  # noqa: E402


def expect(condition: bool, what: str) -> None:
    print(("ok - " if condition else "not ok - ") + what, flush=True)
    if not condition:
        raise SystemExit(1)


def events(server: Server, path: str) -> list:
    response = http("GET", server.url(path))
    expect(response.status == 200, f"GET {path} answers 200 ({response.status})")
    expect(response.header("content-type").startswith("text/calendar"), f"{path} is text/calendar")
    calendar = icalendar.Calendar.from_ical(response.body)
    return [component for component in calendar.walk("VEVENT")]


def main() -> int:
    binary = Path(os.environ.get("KEZDESU_BIN", ROOT / "target" / "debug" / "kezdesu")).resolve()
    with tempfile.TemporaryDirectory() as workdir:
        server = Server(binary, Path(workdir))
        try:
            expect(server.wait_healthy(), "the server starts")
            admin = http("POST", server.url("/api/session"), json_body={"login": "admin", "password": ADMIN_PASSWORD}).json()["token"]
            auth = {"Authorization": f"Bearer {admin}"}
            district = http("POST", server.url("/api/territories"), headers=auth, json_body={
                "kato": "113200000", "kind": "district", "name": {"kk": "Аудан", "ru": "Район", "en": "District"}}).json()["id"]
            village = http("POST", server.url("/api/territories"), headers=auth, json_body={
                "kato": "113230100", "kind": "village", "parent_id": district,
                "name": {"kk": "Ауыл; бір", "ru": "Село, первое", "en": "Village one"}}).json()["id"]
            akim = http("POST", server.url("/api/accounts"), headers=auth, json_body={
                "login": "akim-ical", "display_name": "Аким района", "role": "akim",
                "password": "akim-ical has a long password"}).json()["id"]
            start = (datetime.now(timezone.utc) + timedelta(days=20)).replace(microsecond=0)
            meeting = http("POST", server.url("/api/meetings"), headers=auth, json_body={
                "title": {"kk": "Кездесу", "ru": "Встреча акима, выездная", "en": "Meeting"},
                "territory_id": village, "akim_account_id": akim, "planned_start": start.isoformat(),
                "planned_minutes": 90, "kind": "calendar"}).json()
            expect("id" in meeting, f"a meeting is planned: {meeting}")

            first = events(server, f"/api/akims/{akim}/calendar.ics")
            expect(len(first) == 1, "the akim's feed has the meeting")
            event = first[0]
            expect(event.decoded("dtstart") == start, f"DTSTART is the planned start ({event.decoded('dtstart')})")
            expect(event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=90), "DTEND is 90 minutes later")
            expect(str(event["summary"]) == "Встреча акима, выездная", "SUMMARY unescapes to the title")
            expect(str(event["location"]) == "Село, первое", "LOCATION is the village")
            expect(str(event["status"]) == "CONFIRMED", "STATUS is CONFIRMED")
            uid, sequence = str(event["uid"]), int(event["sequence"])
            district_events = events(server, f"/api/territories/{district}/calendar.ics?lang=kk")
            expect([str(e["uid"]) for e in district_events] == [uid], "the district's feed has the village's meeting")
            expect(str(district_events[0]["location"]) == "Ауыл; бір", "in Kazakh")

            moved = (start + timedelta(days=1)).isoformat()
            response = http("PATCH", server.url(f"/api/meetings/{meeting['id']}"), headers=auth, json_body={"planned_start": moved})
            expect(response.status == 200, "the meeting is rescheduled")
            rescheduled = events(server, f"/api/akims/{akim}/calendar.ics")[0]
            expect(str(rescheduled["uid"]) == uid, "the UID stays")
            expect(int(rescheduled["sequence"]) > sequence, f"SEQUENCE goes up on a reschedule ({sequence} -> {rescheduled['sequence']})")
            expect(rescheduled.decoded("dtstart") == start + timedelta(days=1), "DTSTART moves")

            response = http("PATCH", server.url(f"/api/meetings/{meeting['id']}"), headers=auth, json_body={"status": "cancelled"})
            expect(response.status == 200, "the meeting is cancelled")
            cancelled = events(server, f"/api/akims/{akim}/calendar.ics")[0]
            expect(str(cancelled["status"]) == "CANCELLED", "STATUS is CANCELLED")
            expect(int(cancelled["sequence"]) > int(rescheduled["sequence"]), "SEQUENCE goes up on cancelling")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
