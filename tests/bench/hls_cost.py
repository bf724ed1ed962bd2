#!/usr/bin/env python3
"""HLS's extra cost beside the restream: the same broadcast and destination, HLS off and on.

    target/aiortc-venv/bin/python tests/bench/hls_cost.py [--seconds 30]

(tests/bench/hls.sh builds the release binary and runs this, then the latency benchmark.) On
one machine, in one run: two release servers, one with `hls.enabled = false` (the peer) and
one with it on, each with one nginx-rtmp destination; the restream benchmark's 720p30 H.264
input sent by aiortc as it is. After 3 s of settling, a window of CPU (user + system from
/proc) of each server and its ffmpeg children, and the ffmpeg command lines: how many encode
AAC (the goal: one, shared by the restream and HLS). Also each server on air with no
destination: what HLS costs when it alone keeps the transcoder running.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from egress import Receiver, children, make_inputs, measure  # tests/bench/egress.py
from recording import signed_in  # tests/bench/recording.py

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "media"))
from test_aiortc import MEETING, Peer, Server, http, wait_for  # noqa: E402

SETTLE_SECONDS = 3


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def one_round(server: Server, workdir: Path, receiver: Receiver, media: Path, destinations: int, seconds: float, name: str) -> dict:
    staff = signed_in(server)
    path = server.url(f"/api/meetings/{MEETING}/destinations")
    for existing in (http("GET", path, headers=staff).json() or {}).get("destinations", []):
        http("DELETE", f"{path}/{existing['id']}", headers=staff)
    for index in range(destinations):
        added = http("POST", path, headers=staff, json_body={"platform": "rtmp", "ingest_url": receiver.url, "stream_key": f"{name}-{index}"})
        assert added.status == 201, str(added)
    key = (http("GET", server.url(f"/api/meetings/{MEETING}/stream-key"), headers=staff).json() or {})["stream_key"]
    publisher = Peer(workdir, f"publisher-{name}", ["publish", "--url", server.url(f"/api/meetings/{MEETING}/whip"), f"--token={key}",
                                                     "--seconds", str(seconds + 30), "--codec", "h264", "--file", str(media)])
    pid = server.process.pid
    assert wait_for(lambda: ((http("GET", server.url(f"/api/meetings/{MEETING}")).json() or {}).get("broadcast") or {}).get("on_air") is True, 30), name
    time.sleep(SETTLE_SECONDS)
    sample = measure(lambda: [pid, *children(pid, "ffmpeg")], seconds)
    lines = [command_line(child) for child in children(pid, "ffmpeg")]
    publisher.stop()
    wait_for(lambda: not children(pid, "ffmpeg"), 20)
    return {
        "server": sample["cores"].get(pid, 0.0),
        "ffmpeg": sum(cores for child, cores in sample["cores"].items() if child != pid),
        "ffmpegs": len(lines),
        "aac_encoders": sum(1 for line in lines if "aac" in line and "-c:a" in line and line[line.index("-c:a") + 1] == "aac"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    binary = Path(os.environ.get("KEZDESU_BIN", ROOT / "target" / "release" / "kezdesu"))
    workdir = Path(tempfile.mkdtemp(prefix="kezdesu-hls-bench-"))
    servers: list[Server] = []
    receiver = None
    try:
        # Longer than a round, so that the file never loops (see make_inputs).
        h264, _ = make_inputs(workdir, int(args.seconds + SETTLE_SECONDS + 20))
        receiver = Receiver(workdir)
        secret = base64.b64encode(os.urandom(32)).decode()
        quiet = '[log]\nlevel = "warn"\n'
        rows = {}
        for label, hls in (("HLS off (peer)", "false"), ("HLS on", "true")):
            folder = workdir / f"hls-{hls}"
            folder.mkdir()
            server = Server(binary, folder, extra_config=quiet, extra_env={"KEZDESU_SECRET_KEY": secret, "KEZDESU__HLS__ENABLED": hls})
            servers.append(server)
            assert server.wait_healthy(), server.output()
            http("POST", server.url(f"/api/meetings/{MEETING}/phase"), json_body={"phase": "presentation"}, headers=signed_in(server))
            rows[label] = {
                destinations: one_round(server, folder, receiver, h264, destinations, args.seconds, f"{hls}-{destinations}")
                for destinations in (0, 1)
            }
            server.stop()
            print(f"# {label}: {rows[label]}", flush=True)

        cpu = open("/proc/cpuinfo").read()
        model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("model name")), "?")
        print(f"\nMachine: {model}, {os.cpu_count()} cores, {platform.platform()}; "
              f"`{subprocess.run(['ffmpeg', '-version'], capture_output=True, text=True).stdout.splitlines()[0]}`; "
              f"window {args.seconds:.0f} s per round.\n")
        print("| server | destinations | server CPU | its ffmpeg | total | ffmpeg processes | AAC encoders |")
        print("|---|---|---|---|---|---|---|")
        for label, by_count in rows.items():
            for destinations, row in by_count.items():
                total = row["server"] + row["ffmpeg"]
                print(f"| {label} | {destinations} | {row['server'] * 100:.1f}% | {row['ffmpeg'] * 100:.1f}% | **{total * 100:.1f}%** "
                      f"| {row['ffmpegs']} | {row['aac_encoders']} |")
        off, on = rows["HLS off (peer)"][1], rows["HLS on"][1]
        extra = (on["server"] + on["ffmpeg"]) - (off["server"] + off["ffmpeg"])
        print(f"\nHLS beside one destination costs {extra * 100:+.1f}% of a core (server and ffmpeg, HLS on minus HLS off).")
        return 0
    finally:
        for server in servers:
            server.stop()
        if receiver is not None:
            receiver.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
