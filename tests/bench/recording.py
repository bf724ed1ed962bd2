#!/usr/bin/env python3
"""The recording's benchmark: what recording a broadcast costs, against the same broadcast unrecorded.

    target/aiortc-venv/bin/python tests/bench/recording.py [--seconds 30]

(tests/bench/recording.sh builds the release binary and runs this.) On one machine, in one run,
for an H.264 publisher and for a VP8 one (the inputs of tests/bench/egress.py: 1280x720 at
30 fps, 1.5 Mbit/s, with 64 kbit/s Opus, sent by aiortc as they are, so the publisher encodes
nothing):

1. **Unrecorded** (the peer): the release binary with `recording.enabled = false`, the demo
   meeting live, the broadcast on air; after 3 s of settling, the server's CPU (user + system
   from /proc) over the window, in % of one core.
2. **Recorded:** the same binary and broadcast with recording on and the raw parts kept: the
   server's CPU and its recorder ffmpeg's, over the same window; the part file's growth over
   the window, in bytes per second, and so in GB per on-air hour.
3. **Making the replay:** the same join the server runs when the meeting ends (ffmpeg's concat
   demuxer, streams copied, into MP4 or WebM), timed here on the part just recorded: its CPU
   and wall time per second of video, scaled to an on-air hour.

Recording's cost is the recorded server's CPU above the unrecorded one's, plus its recorder.
Prints a Markdown report (docs/bench/egress.md keeps one).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from egress import children, make_inputs, measure  # tests/bench/egress.py: inputs and /proc sampling

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "media"))
from test_aiortc import ADMIN_PASSWORD, MEETING, Peer, Server, http, wait_for  # noqa: E402

SETTLE_SECONDS = 3


def signed_in(server: Server) -> dict:
    token = (http("POST", server.url("/api/session"), json_body={"login": "admin", "password": ADMIN_PASSWORD}).json() or {})["token"]
    return {"Authorization": f"Bearer {token}"}


def on_air(server: Server) -> bool:
    return ((http("GET", server.url(f"/api/meetings/{MEETING}")).json() or {}).get("broadcast") or {}).get("on_air") is True


def newest_part(data: Path) -> Path | None:
    parts = sorted((data / "recordings" / f"meeting-{MEETING}").glob("part-*.mkv"))
    return parts[-1] if parts else None


def broadcast_round(server: Server, workdir: Path, media: Path, codec: str, seconds: float, name: str, data: Path | None) -> dict:
    """One broadcast of `media`; the server's and its ffmpeg children's CPU over the window,
    and (with `data`) the growth of the part being written."""
    staff = signed_in(server)
    stream_key = (http("GET", server.url(f"/api/meetings/{MEETING}/stream-key"), headers=staff).json() or {})["stream_key"]
    publisher = Peer(workdir, f"publisher-{name}", ["publish", "--url", server.url(f"/api/meetings/{MEETING}/whip"),
                                                    f"--token={stream_key}", "--seconds", str(seconds + 30),
                                                    "--codec", codec, "--file", str(media)])
    assert wait_for(lambda: on_air(server), 30), f"{name}: never on air; {publisher.stderr()[-800:]}"
    time.sleep(SETTLE_SECONDS)
    server_pid = server.process.pid
    part = newest_part(data) if data is not None else None
    size_before = part.stat().st_size if part else 0
    began = time.monotonic()
    sample = measure(lambda: [server_pid, *children(server_pid, "ffmpeg")], seconds)
    elapsed = time.monotonic() - began
    size_after = part.stat().st_size if part else 0
    publisher.stop()
    wait_for(lambda: not on_air(server), 20)
    wait_for(lambda: not children(server_pid, "ffmpeg"), 15)
    return {
        "server_cores": sample["cores"].get(server_pid, 0.0),
        "ffmpeg_cores": sum(cores for pid, cores in sample["cores"].items() if pid != server_pid),
        "ffmpeg_rss_mib": sum(rss for pid, rss in sample["rss_mib"].items() if pid != server_pid),
        "bytes_per_second": (size_after - size_before) / elapsed if part else 0.0,
        "part": part,
    }


def probe_seconds(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True).stdout.strip()
    return float(out) if out else 0.0


def join_cost(part: Path, container: str, workdir: Path) -> dict:
    """The server's join (recording/replay.rs concat_arguments) of one part: CPU and wall time."""
    listing = workdir / f"join-{container}.txt"
    listing.write_text(f"file '{part}'\n")
    output = workdir / f"replay.{container}"
    arguments = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                 "-map", "0", "-c", "copy"]
    arguments += ["-movflags", "+faststart", "-f", "mp4"] if container == "mp4" else ["-f", "webm"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    subprocess.run([*arguments, str(output)], check=True)
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    video = probe_seconds(output)
    return {"video_seconds": video, "cpu_seconds": cpu, "wall_seconds": wall, "bytes": output.stat().st_size}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30, help="the measuring window of each round")
    args = parser.parse_args()
    binary = Path(os.environ.get("KEZDESU_BIN", ROOT / "target" / "release" / "kezdesu"))
    workdir = Path(tempfile.mkdtemp(prefix="kezdesu-recording-bench-"))
    servers: list[Server] = []
    try:
        # Longer than a round (settling, the window, the stop), so that the file never loops.
        h264, vp8 = make_inputs(workdir, int(args.seconds + SETTLE_SECONDS + 20))
        quiet = '[log]\nlevel = "warn"\n'
        plain_dir, recorded_dir = workdir / "unrecorded", workdir / "recorded"
        plain_dir.mkdir()
        recorded_dir.mkdir()
        plain = Server(binary, plain_dir, extra_config=quiet)
        recorded = Server(binary, recorded_dir, extra_config=quiet,
                          extra_env={"KEZDESU__RECORDING__ENABLED": "true", "KEZDESU__RECORDING__KEEP_PARTS": "true"})
        servers += [plain, recorded]
        for server in servers:
            assert server.wait_healthy(), server.output()
            http("POST", server.url(f"/api/meetings/{MEETING}/phase"), json_body={"phase": "presentation"}, headers=signed_in(server))
        # Only one server is busy at a time: each round is one broadcast.
        rows = []
        for codec, media, container in (("h264", h264, "mp4"), ("vp8", vp8, "webm")):
            peer = broadcast_round(plain, plain_dir, media, codec, args.seconds, f"plain-{codec}", None)
            ours = broadcast_round(recorded, recorded_dir, media, codec, args.seconds, f"recorded-{codec}", recorded_dir / "data")
            join = join_cost(ours["part"], container, workdir) if ours["part"] else None
            rows.append((codec, peer, ours, join))
            print(f"# {codec}: unrecorded {peer['server_cores']:.4f}, recorded {ours['server_cores']:.4f} + ffmpeg "
                  f"{ours['ffmpeg_cores']:.4f}, {ours['bytes_per_second']:.0f} B/s, join {join}", flush=True)

        cpu = open("/proc/cpuinfo").read()
        model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("model name")), "?")
        print(f"\nMachine: {model}, {os.cpu_count()} cores, {platform.platform()}; "
              f"`{subprocess.run(['ffmpeg', '-version'], capture_output=True, text=True).stdout.splitlines()[0]}`; "
              f"window {args.seconds:.0f} s per round.\n")
        print("| publisher | server, unrecorded (peer) | server, recorded | above the peer | recorder ffmpeg | recording's cost | disk | replay join per on-air hour: CPU / wall |")
        print("|---|---|---|---|---|---|---|---|")
        for codec, peer, ours, join in rows:
            extra = ours["server_cores"] - peer["server_cores"]
            total = max(0.0, extra) + ours["ffmpeg_cores"]
            gb_per_hour = ours["bytes_per_second"] * 3600 / 1e9
            mbit = ours["bytes_per_second"] * 8 / 1e6
            if join and join["video_seconds"] > 0:
                scale = 3600 / join["video_seconds"]
                joined = f"{join['cpu_seconds'] * scale:.0f} s / {join['wall_seconds'] * scale:.0f} s"
            else:
                joined = "—"
            print(f"| {codec.upper()} | {peer['server_cores'] * 100:.1f}% | {ours['server_cores'] * 100:.1f}% | {extra * 100:+.1f}% "
                  f"| {ours['ffmpeg_cores'] * 100:.1f}% ({ours['ffmpeg_rss_mib']:.0f} MiB) | **{total * 100:.1f}% of a core** "
                  f"| {mbit:.2f} Mbit/s = **{gb_per_hour:.2f} GB per hour** | {joined} |")
        return 0
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
