#!/usr/bin/env python3
"""End-to-end test of the HLS rendition, beside a restream.

Boots the real server binary (${KEZDESU_BIN:-target/debug/kezdesu}) with HLS enabled
(`KEZDESU__HLS__ENABLED=true`: the other tests turn it off) and one restream destination, an
nginx-rtmp receiver (tests/services/rtmp), then publishes H.264 and Opus by WHIP with aiortc:

- before the broadcast, the meeting's playlist and segments answer 404 `no_hls`
  (problem+json), and a name that is no segment's 404 `no_segment`;
- once on air, the playlist answers 200 `application/vnd.apple.mpegurl` with
  `Cache-Control: public, max-age=1` and `Access-Control-Allow-Origin: *` (possibly after
  503 `hls_starting` with `Retry-After: 1`), and the meeting's JSON names it in `hls`;
- over some 12 s of the live playlist: `#EXT-X-TARGETDURATION` ≤ 2 and every `#EXTINF` ≤ 2.0;
  every segment listed answers 200 `video/mp2t` with `public, max-age=86400, immutable`, and
  ffprobe reads H.264 and AAC in one;
- while the restream and HLS both run, exactly one ffmpeg encodes AAC (`-c:a aac` in
  /proc/*/cmdline), and one packager copies (`-f hls`, no encoder), and the destination is live;
- going off air ends the playlist (`#EXT-X-ENDLIST`).

Run it with the Python of the venv that has tests/media/requirements.txt:

    target/aiortc-venv/bin/python tests/media/test_hls.py

Every check prints `ok - …` or `FAIL - …`, the last line is `N passed, N failed`, and the exit
code is 0 only when nothing failed.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_aiortc as support  # noqa: E402  (the server, peers and checks are shared)
from test_aiortc import ADMIN_PASSWORD, MEETING, Peer, R, Server, guarded, http, is_problem, stop_and_report, summary, wait_for  # noqa: E402
from test_egress import Receiver, ffprobe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
HLS = {"KEZDESU__HLS__ENABLED": "true"}
# How long the live playlist is read.
WATCH_SECONDS = 12
STREAM_KEY = "kz-hls-test-restream-key-0001"


def ffmpeg_command_lines(server_pid: int) -> list[list[str]]:
    """The command lines of the server's ffmpeg children."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            # The parent's pid is the 2nd field after the command's name in parentheses.
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == server_pid and args and Path(args[0].decode(errors="replace")).name == "ffmpeg":
            found.append([arg.decode(errors="replace") for arg in args if arg])
    return found


def playlist_entries(text: str) -> tuple[int | None, list[tuple[float, str]]]:
    """The target duration and the (duration, segment name) of each entry."""
    target = re.search(r"^#EXT-X-TARGETDURATION:(\d+)", text, re.M)
    lines = text.splitlines()
    entries = []
    for index, line in enumerate(lines):
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",")[0])
            name = next((later for later in lines[index + 1:] if later and not later.startswith("#")), "")
            entries.append((duration, name))
    return (int(target.group(1)) if target else None), entries


def run(server: Server, receiver: Receiver, workdir: Path, peers: list[Peer]) -> None:
    R.require("the server answers GET /healthz with 200", server.wait_healthy(), f"exit code {server.process.poll()}")
    signed = http("POST", server.url("/api/session"), json_body={"login": "admin", "password": ADMIN_PASSWORD})
    token = (signed.json() or {}).get("token") if signed.status == 200 else None
    R.require("the admin signs in", bool(token), str(signed))
    staff = {"Authorization": f"Bearer {token}"}
    base = f"/api/meetings/{MEETING}/hls"
    playlist_url = server.url(f"{base}/index.m3u8")

    R.check("before the broadcast the playlist is 404 no_hls", *is_problem(http("GET", playlist_url), 404, "no_hls"))
    R.check("before the broadcast a segment is 404 no_hls", *is_problem(http("GET", server.url(f"{base}/1.ts")), 404, "no_hls"))
    R.check("a name that is no segment's is 404 no_segment",
            *is_problem(http("GET", server.url(f"{base}/index.m3u8.tmp")), 404, "no_segment"))

    added = http("POST", server.url(f"/api/meetings/{MEETING}/destinations"), headers=staff,
                 json_body={"platform": "rtmp", "name": "receiver", "ingest_url": receiver.url, "stream_key": STREAM_KEY})
    R.require("a restream destination is added (201)", added.status == 201, str(added))
    destination = (added.json() or {}).get("id")

    keys = http("GET", server.url(f"/api/meetings/{MEETING}/stream-key"), headers=staff)
    key = (keys.json() or {}).get("stream_key")
    R.require("the stream key is read", bool(key), str(keys))
    publisher = Peer(workdir, "publisher", ["publish", "--url", server.url(f"/api/meetings/{MEETING}/whip"),
                                           f"--token={key}", "--seconds", "300", "--codec", "h264"])
    peers.append(publisher)

    starting = None
    answer = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and publisher.alive():
        answer = http("GET", playlist_url)
        if answer.status == 503 and starting is None:
            starting = answer
        if answer.status == 200:
            break
        time.sleep(0.2)
    R.require("on air, the playlist answers 200 within 30 s", answer is not None and answer.status == 200,
              f"{answer}; publisher {'running' if publisher.alive() else publisher.stderr()[-600:]}")
    if starting is not None:
        ok, detail = is_problem(starting, 503, "hls_starting")
        R.check("before the first segment the playlist is 503 hls_starting with Retry-After: 1",
                ok and starting.header("Retry-After") == "1", detail or str(starting.headers))
    R.check("the playlist is application/vnd.apple.mpegurl",
            answer.header("Content-Type") == "application/vnd.apple.mpegurl", answer.header("Content-Type"))
    R.check("the playlist is cached for a second", answer.header("Cache-Control") == "public, max-age=1",
            answer.header("Cache-Control"))
    R.check("the playlist may be read from any origin", answer.header("Access-Control-Allow-Origin") == "*",
            str(answer.headers))
    view = http("GET", server.url(f"/api/meetings/{MEETING}")).json() or {}
    R.check("the meeting's JSON names the playlist", view.get("hls") == f"{base}/index.m3u8", str(view.get("hls")))

    # The live playlist, read every half second for a while; every new segment fetched.
    targets, durations, fetched, bad_segments = set(), {}, {}, []
    first_segment: Path | None = None
    watch_until = time.monotonic() + WATCH_SECONDS
    encoders = packagers = None
    while time.monotonic() < watch_until:
        response = http("GET", playlist_url)
        if response.status == 200:
            target, entries = playlist_entries(response.text)
            targets.add(target)
            for duration, name in entries:
                durations[name] = duration
                if name in fetched:
                    continue
                segment = http("GET", server.url(f"{base}/{name}"))
                fetched[name] = segment.status
                if (segment.status != 200 or segment.header("Content-Type") != "video/mp2t"
                        or segment.header("Cache-Control") != "public, max-age=86400, immutable"
                        or segment.header("Access-Control-Allow-Origin") != "*"):
                    bad_segments.append(f"{name}: {segment.status} {dict(segment.headers)}")
                elif first_segment is None and len(segment.body) > 0:
                    first_segment = workdir / name
                    first_segment.write_bytes(segment.body)
        if encoders is None and time.monotonic() > watch_until - WATCH_SECONDS / 2:
            lines = ffmpeg_command_lines(server.process.pid)
            encoders = [line for line in lines if "-c:a" in line and line[line.index("-c:a") + 1] == "aac"]
            packagers = [line for line in lines if "hls" in line]
        time.sleep(0.5)

    print(f"# segment durations seen: {sorted(set(durations.values()))}; target durations: {sorted(t for t in targets if t is not None)}")
    R.check("segments were listed", len(durations) >= 5, str(durations))
    R.check("#EXT-X-TARGETDURATION is at most 2", bool(targets) and None not in targets and max(targets) <= 2, str(targets))
    R.check("every #EXTINF is at most 2.0 s", bool(durations) and max(durations.values()) <= 2.0, str(durations))
    R.check("every segment listed answers 200 video/mp2t, immutable for a day, to any origin",
            not bad_segments and bool(fetched), "; ".join(bad_segments[:3]) or "none fetched")
    if first_segment is not None:
        probe = ffprobe(first_segment)
        codecs = sorted(stream.get("codec_name") for stream in probe.get("streams", []))
        R.check("a segment holds H.264 and AAC", codecs == ["aac", "h264"], str(codecs))
    R.check("exactly one ffmpeg encodes AAC while the restream and HLS both run", encoders is not None and len(encoders) == 1,
            str(encoders))
    R.check("one HLS packager runs, and it encodes nothing",
            packagers is not None and len(packagers) == 1 and "-c" in packagers[0]
            and packagers[0][packagers[0].index("-c") + 1] == "copy" and "aac" not in packagers[0],
            str(packagers))
    meeting = http("GET", server.url(f"/api/meetings/{MEETING}")).json() or {}
    states = [status.get("state") for status in meeting.get("restream") or [] if status.get("destination_id") == destination]
    R.check("the restream destination is live beside HLS", states == ["live"], str(meeting.get("restream")))
    metrics = http("GET", server.url("/metrics")).text
    R.check("/metrics counts one HLS packager", re.search(r"^kezdesu_hls_packagers 1$", metrics, re.M) is not None,
            "\n".join(line for line in metrics.splitlines() if "hls" in line))

    publisher.process.send_signal(signal.SIGTERM)
    publisher.wait(20)
    ended = wait_for(lambda: "#EXT-X-ENDLIST" in http("GET", playlist_url).text, 15, 0.5)
    R.check("off air, the playlist ends (#EXT-X-ENDLIST)", bool(ended), http("GET", playlist_url).text[-300:])


def main() -> int:
    binary = Path(os.environ.get("KEZDESU_BIN", "target/debug/kezdesu"))
    if not binary.is_absolute():
        binary = (ROOT / binary).resolve()
    workdir = Path(tempfile.mkdtemp(prefix="kezdesu-hls-"))
    server: Server | None = None
    receiver: Receiver | None = None
    peers: list[Peer] = []
    started = time.monotonic()

    def body() -> None:
        nonlocal server, receiver
        receiver = Receiver(workdir, "a")
        secret = base64.b64encode(os.urandom(32)).decode()
        server = Server(binary, workdir, extra_env={**HLS, "KEZDESU_SECRET_KEY": secret})
        run(server, receiver, workdir, peers)

    try:
        guarded(body)
    finally:
        stop_and_report(peers, server, 200)
        if receiver is not None:
            receiver.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return summary("HLS end-to-end test", started)


if __name__ == "__main__":
    _ = support
    sys.exit(main())
