#!/usr/bin/env python3
"""The OpenAPI document against the real server, with schemathesis, once per role.

For each role (anonymous, viewer, akim, moderator, commission, admin) this boots a fresh server
(${KEZDESU_BIN:-target/debug/kezdesu}, the harness of tests/media) on its own SQLite file, gives
it a territory, the role's account and a meeting of that akim, and runs

    schemathesis run /api/openapi.json --checks all

with that role's token on every request, in the examples, coverage and fuzzing phases, 5
examples per operation (KEZDESU_SCHEMATHESIS_EXAMPLES) from a fixed seed: with no time budget
the run is the same on every machine, so what passes here passes in CI. The stateful phase,
whose scenarios follow the server's answers, and longer runs are for runs by hand. A fresh server per role means one role's writes never change
what another role's run finds. What is switched off, and why, is in schemathesis.toml beside
this file and in docs/api.md ("The contract, tested").

The token cannot be revoked by the run itself: `DELETE /api/session` is left out (the one way to
end one's own sign-in), and the server refuses to let an admin disable or demote themselves.
Every role's run must report 0 failures and 0 errors; a server error is a failure.

Run longer by hand, e.g. KEZDESU_SCHEMATHESIS_PHASES=examples,coverage,fuzzing,stateful
KEZDESU_SCHEMATHESIS_EXAMPLES=25 KEZDESU_SCHEMATHESIS_SECONDS=600 KEZDESU_SCHEMATHESIS_ROLES=admin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "media"))
from test_aiortc import ADMIN_PASSWORD, ROOT, Server, http  # noqa: E402

ROLES = ["anonymous", "viewer", "akim", "moderator", "commission", "admin"]
STAFF_PASSWORD = "schemathesis has a long password"


def expect(condition: bool, what: str) -> None:
    print(("ok - " if condition else "not ok - ") + what, flush=True)
    if not condition:
        raise SystemExit(1)


def seeded_token(server: Server, role: str) -> str | None:
    """Seeds the server with what the role's operations need, and returns the role's token."""
    admin = http("POST", server.url("/api/session"), json_body={"login": "admin", "password": ADMIN_PASSWORD})
    expect(admin.status == 200, f"the admin signs in ({admin.status})")
    auth = {"Authorization": f"Bearer {admin.json()['token']}"}
    territory = http("POST", server.url("/api/territories"), headers=auth, json_body={
        "kato": "113200000", "kind": "district", "name": {"kk": "Аудан", "ru": "Район", "en": "District"}})
    expect(territory.status == 201, f"a territory ({territory.status} {territory.body[:200]!r})")
    territory_id = territory.json()["id"]
    akim = http("POST", server.url("/api/accounts"), headers=auth, json_body={
        "login": "st-akim", "display_name": "Аким", "role": "akim", "password": STAFF_PASSWORD,
        "territory_id": territory_id})
    expect(akim.status == 201, f"an akim ({akim.status} {akim.body[:200]!r})")
    start = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    meeting = http("POST", server.url("/api/meetings"), headers=auth, json_body={
        "title": {"kk": "Кездесу", "ru": "Встреча", "en": "Meeting"}, "territory_id": territory_id,
        "akim_account_id": akim.json()["id"], "planned_start": start.isoformat(), "planned_minutes": 90,
        "kind": "calendar"})
    expect(meeting.status == 201, f"a meeting ({meeting.status} {meeting.body[:200]!r})")
    if role == "anonymous":
        return None
    if role == "admin":
        return admin.json()["token"]
    if role == "viewer":
        viewer = http("POST", server.url(f"/api/meetings/{meeting.json()['id']}/viewers"),
                      json_body={"display_name": "Азамат"})
        expect(viewer.status in (200, 201), f"a viewer token ({viewer.status} {viewer.body[:200]!r})")
        return viewer.json()["token"]
    login = "st-akim"
    if role != "akim":
        login = f"st-{role}"
        account = http("POST", server.url("/api/accounts"), headers=auth, json_body={
            "login": login, "display_name": role.title(), "role": role, "password": STAFF_PASSWORD})
        expect(account.status == 201, f"a {role} account ({account.status} {account.body[:200]!r})")
    session = http("POST", server.url("/api/session"), json_body={"login": login, "password": STAFF_PASSWORD})
    expect(session.status == 200, f"the {role} signs in ({session.status})")
    return session.json()["token"]


def run_role(
    binary: Path, schemathesis: Path, role: str, examples: int, seconds: str | None, reports: Path
) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as workdir:
        # Sign-in is limited to 10 attempts a minute per address, and schemathesis signs in with
        # made-up logins: a higher limit lets its checks reach the sign-in's other answers.
        server = Server(binary, Path(workdir), extra_env={
            "KEZDESU__AUTH__SIGN_IN_ATTEMPTS_PER_MINUTE": "100000",
        })
        try:
            expect(server.wait_healthy(), f"{role}: the server starts")
            token = seeded_token(server, role)
            # The token reaches schemathesis through its environment, never its command line
            # (which any user of the machine can read), and never its output.
            config = HERE / "schemathesis.toml"
            if token is not None:
                config = Path(workdir) / "schemathesis.toml"
                config.write_text('headers = { Authorization = "Bearer ${KEZDESU_SCHEMATHESIS_TOKEN}" }\n'
                                  + (HERE / "schemathesis.toml").read_text())
            command = [
                str(schemathesis), "--config-file", str(config), "--no-color",
                "run", server.url("/api/openapi.json"),
                "--phases", os.environ.get("KEZDESU_SCHEMATHESIS_PHASES", "examples,coverage,fuzzing"),
                "--max-examples", str(examples),
                *(["--max-time", seconds] if seconds else []),
                "--seed", os.environ.get("KEZDESU_SCHEMATHESIS_SEED", "20261207"),
                "--report", "junit",
                "--report-junit-path", str(reports / f"{role}.xml"),
            ]
            started = time.monotonic()
            result = subprocess.run(
                command, cwd=HERE, env=dict(os.environ, SCHEMATHESIS_HOOKS="hooks", NO_COLOR="1", KEZDESU_SCHEMATHESIS_TOKEN=token or ""),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=int(seconds or 300) + 300,
            )
            output = result.stdout.replace(token, "<token>") if token else result.stdout
            took = time.monotonic() - started
            summary = [line for line in output.splitlines() if "generated" in line or "passed" in line[-40:]]
            print(f"# {role}: exit {result.returncode} in {took:.0f} s; {' / '.join(summary[-2:])}", flush=True)
            panicked = "panicked" in server.output()
            if result.returncode != 0 or panicked:
                print(output[-20000:], flush=True)
                if panicked:
                    print("# the server panicked:\n" + server.output()[-5000:], flush=True)
            return result.returncode == 0 and not panicked, output
        finally:
            server.stop()


def main() -> int:
    binary = Path(os.environ.get("KEZDESU_BIN", ROOT / "target" / "debug" / "kezdesu")).resolve()
    schemathesis = Path(sys.executable).parent / "schemathesis"
    expect(schemathesis.exists(), f"schemathesis is installed beside {sys.executable}")
    examples = int(os.environ.get("KEZDESU_SCHEMATHESIS_EXAMPLES", "5"))
    seconds = os.environ.get("KEZDESU_SCHEMATHESIS_SECONDS")
    roles = [role for role in os.environ.get("KEZDESU_SCHEMATHESIS_ROLES", ",".join(ROLES)).split(",") if role]
    reports = Path(os.environ.get("KEZDESU_SCHEMATHESIS_REPORTS", tempfile.mkdtemp(prefix="schemathesis-")))
    reports.mkdir(parents=True, exist_ok=True)
    failed = []
    for role in roles:
        ok, _ = run_role(binary, schemathesis, role, examples, seconds, reports)
        print(("ok - " if ok else "not ok - ") + f"schemathesis --checks all as {role}: 0 failures, 0 errors", flush=True)
        if not ok:
            failed.append(role)
    print(f"# JUnit reports in {reports}", flush=True)
    if failed:
        print(f"# failed roles: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
