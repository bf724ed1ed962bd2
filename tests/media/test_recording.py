#!/usr/bin/env python3
"""End-to-end test of the recording of broadcasts and of the replay made when a meeting ends.

Boots the real server binary (${KEZDESU_BIN:-target/debug/kezdesu}) with recording enabled
(`KEZDESU__RECORDING__ENABLED=true`: the other tests turn it off), publishes by WHIP with
aiortc (aiortc_peer.py publish), times each on-air period from the edges of the meeting's
`broadcast.on_air` (polled every 100 ms), ends the meeting and waits for its replay, which
ffprobe then reads:

- a meeting that was never on air has no recording: 404 `no_recording`;
- H.264 and Opus for ~8 s: while on air, `part-0001.mkv` grows in the data folder; until the
  meeting ends the recording is `recording` and its file answers 409 `recording_not_ready`;
  once ended it goes `ready` with one file, `replay-1.mp4` (`video/mp4`): one H.264 and one
  Opus stream, lasting the on-air time within 1 s, part 1 at offset 0, the raw part deleted;
  the file served is the one on disk, and range requests give 206 with exactly its bytes, or
  416 past its end;
- VP8 and Opus: the same, into `replay-1.webm` (`video/webm`);
- two on-air periods of one meeting: one file, two parts, the second starting in the file
  where the first ends, and the file lasting both;
- a server killed with SIGKILL mid-broadcast (raw parts kept): the part it was writing is
  readable by ffprobe at once; the recorder it left running ends by itself within 30 s (no
  more packets); a server started again on the same data folder closes the part once its lease
  lapses and, the meeting ended, makes a replay that lasts what was on air before the kill
  (within 1.5 s);
- no ffmpeg where `egress.ffmpeg` points: the broadcast stays on air, unrecorded and without
  HLS, the log says each once, and no new part is started every few seconds.

Run it with the Python of the venv that has tests/media/requirements.txt:

    target/aiortc-venv/bin/python tests/media/test_recording.py

Plain Python: every check prints `ok - …` or `FAIL - …`, the last line is `N passed, N failed`,
and the exit code is 0 only when nothing failed. On a failure the servers' logs and the peers'
logs are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_aiortc as support  # noqa: E402  (the server, peers and checks are shared)
from test_aiortc import (  # noqa: E402
    ADMIN_PASSWORD,
    MEETING,
    Peer,
    R,
    Server,
    guarded,
    http,
    is_problem,
    summary,
    wait_for,
)
from test_egress import ffprobe, video_times  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
RECORDING = {"KEZDESU__RECORDING__ENABLED": "true"}
KEEPING_PARTS = {**RECORDING, "KEZDESU__RECORDING__KEEP_PARTS": "true"}
# How long a replay may take once its meeting ended: the sweep runs every 10 s.
READY_WITHIN = 60
# After a SIGKILL the part's lease (30 s after its last renewal) must lapse first.
READY_AFTER_KILL_WITHIN = 90
POLL = 0.1


# --------------------------------------------------------------------------- helpers


def broadcast_of(server: Server, meeting: int) -> dict:
    """`support.broadcast` for any meeting: its `broadcast` object, or {"error": …}."""
    response = http("GET", server.url(f"/api/meetings/{meeting}"))
    body = response.json() if response.status == 200 else None
    if not isinstance(body, dict):
        return {"error": str(response)}
    value = body.get("broadcast")
    return value if isinstance(value, dict) else {"error": f"no broadcast object in {str(body)[:300]}"}


def edge(server: Server, meeting: int, on_air: bool, seconds: float, alive=lambda: True) -> float | None:
    """The moment (time.monotonic) `broadcast.on_air` is first seen `on_air`, polled every
    100 ms for up to `seconds`; None if it never is, or once `alive()` is false."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        asked = time.monotonic()
        if broadcast_of(server, meeting).get("on_air") is on_air:
            return time.monotonic()
        if not alive():
            return None
        time.sleep(max(0.0, POLL - (time.monotonic() - asked)))
    return None


def recording_of(server: Server, meeting: int):
    return http("GET", server.url(f"/api/meetings/{meeting}/recording"))


def wait_finished(server: Server, meeting: int, seconds: float) -> dict:
    """The meeting's recording once `ready` (or `failed`/`deleted`), waiting up to `seconds`;
    else the last answer seen."""
    last: dict = {}

    def finished():
        nonlocal last
        response = recording_of(server, meeting)
        body = response.json() if response.status == 200 else None
        last = body if isinstance(body, dict) else {"error": str(response)}
        return last if last.get("state") in ("ready", "failed", "deleted") else None

    return wait_for(finished, seconds, 0.5) or last


def sign_in(server: Server) -> dict:
    signed = http("POST", server.url("/api/session"), json_body={"login": "admin", "password": ADMIN_PASSWORD})
    token = (signed.json() or {}).get("token") if signed.status == 200 else None
    R.require("the admin signs in (POST /api/session)", bool(token), str(signed))
    return {"Authorization": f"Bearer {token}"}


def plan_meeting(server: Server, staff: dict, title: str) -> int:
    """A new meeting of the demo's akim and territory, two hours from now."""
    demo = http("GET", server.url(f"/api/meetings/{MEETING}")).json() or {}
    start = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(microsecond=0).isoformat()
    body = {
        "title": {"kk": title, "ru": title, "en": title},
        "territory_id": demo.get("territory_id"),
        "akim_account_id": demo.get("akim_account_id"),
        "planned_start": start,
        "planned_minutes": demo.get("planned_minutes"),
        "kind": "calendar",
    }
    created = http("POST", server.url("/api/meetings"), json_body=body, headers=staff)
    meeting = (created.json() or {}).get("id") if created.status == 201 else None
    R.require(f"a meeting is planned for {title!r} (201)", isinstance(meeting, int), str(created))
    return meeting


def go_live(server: Server, staff: dict, meeting: int) -> str:
    """Puts the meeting in its presentation; returns its stream key."""
    phase = http("POST", server.url(f"/api/meetings/{meeting}/phase"), json_body={"phase": "presentation"}, headers=staff)
    R.require(f"meeting {meeting} goes live (phase presentation)", 200 <= phase.status < 300, str(phase))
    keys = http("GET", server.url(f"/api/meetings/{meeting}/stream-key"), headers=staff)
    key = (keys.json() or {}).get("stream_key") if keys.status == 200 else None
    R.require(f"meeting {meeting}'s stream key", bool(key), str(keys))
    return key


def end_meeting(server: Server, staff: dict, meeting: int) -> None:
    path = server.url(f"/api/meetings/{meeting}/phase")
    ended = http("POST", path, json_body={"phase": "ended"}, headers=staff)
    if not 200 <= ended.status < 300:
        http("POST", path, json_body={"phase": "qa"}, headers=staff)
        ended = http("POST", path, json_body={"phase": "ended"}, headers=staff)
    R.require(f"meeting {meeting} ends (phase ended)", 200 <= ended.status < 300, str(ended))


def start_publisher(server: Server, workdir: Path, peers: list[Peer], name: str, meeting: int, key: str, codec: str) -> Peer:
    # Stopped by SIGTERM once on air long enough (it then DELETEs its resource).
    publisher = Peer(
        workdir,
        name,
        ["publish", "--url", server.url(f"/api/meetings/{meeting}/whip"), f"--token={key}", "--seconds", "300", "--codec", codec],
    )
    peers.append(publisher)
    return publisher


def wait_on_air(server: Server, meeting: int, publisher: Peer, label: str) -> float:
    on_at = edge(server, meeting, True, 30, publisher.alive)
    R.require(
        f"{label}: the meeting goes on air",
        on_at is not None,
        f"{broadcast_of(server, meeting)}; publisher {'running' if publisher.alive() else 'exited ' + str(publisher.process.returncode)}",
    )
    return on_at


def stay_on_air(server: Server, meeting: int, until: float, watched: Path | None = None) -> tuple[bool, list[int]]:
    """Polls every 100 ms until `until`: whether the meeting stayed on air, and the sizes of
    `watched` seen each second."""
    stayed, sizes, next_size = True, [], time.monotonic() + 1
    while time.monotonic() < until:
        asked = time.monotonic()
        if broadcast_of(server, meeting).get("on_air") is not True:
            stayed = False
        if watched is not None and time.monotonic() >= next_size:
            sizes.append(watched.stat().st_size if watched.exists() else -1)
            next_size += 1
        time.sleep(max(0.0, min(POLL - (time.monotonic() - asked), until - time.monotonic())))
    return stayed, sizes


def stop_publishing(server: Server, meeting: int, publisher: Peer, label: str) -> float:
    """SIGTERMs the publisher (it DELETEs its resource); the moment the meeting is seen off air."""
    publisher.process.send_signal(signal.SIGTERM)
    off_at = edge(server, meeting, False, 20)
    R.require(f"{label}: the meeting goes off air when the publisher stops", off_at is not None, str(broadcast_of(server, meeting)))
    code = publisher.wait(20)
    R.check(f"{label}: the publisher DELETEs its resource and exits 0", code == 0, f"exit {code}: {publisher.stderr()[-600:]}")
    return off_at


def publish_period(server: Server, workdir: Path, peers: list[Peer], name: str, meeting: int, key: str, codec: str,
                   seconds: float, label: str, watched: Path | None = None) -> tuple[float, list[int]]:
    """One on-air period of about `seconds`; its length measured from the on_air edges."""
    publisher = start_publisher(server, workdir, peers, name, meeting, key, codec)
    on_at = wait_on_air(server, meeting, publisher, label)
    stayed, sizes = stay_on_air(server, meeting, on_at + seconds, watched)
    R.check(f"{label}: the meeting stays on air while publishing", stayed and publisher.alive(), str(broadcast_of(server, meeting)))
    off_at = stop_publishing(server, meeting, publisher, label)
    print(f"# {label}: on air {off_at - on_at:.2f}s", flush=True)
    return off_at - on_at, sizes


def streams_of(probe: dict) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for stream in probe.get("streams", []):
        kinds.setdefault(stream.get("codec_type"), []).append(stream.get("codec_name"))
    return kinds


def duration_of(probe: dict) -> float | None:
    try:
        return float((probe.get("format") or {}).get("duration"))
    except (TypeError, ValueError):
        return None


def recorders_writing(part: Path) -> list[str]:
    """The recorder ffmpegs (reading their SDP from stdin) writing `part`, from /proc/*/cmdline."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [word.decode(errors="replace") for word in argv if word]
        if words and Path(words[0]).name == "ffmpeg" and str(part) in words and "pipe:0" in words:
            found.append(proc.name)
    return found


def check_replay(server: Server, workdir: Path, meeting: int, manifest: dict, label: str, extension: str,
                 content_type: str, video_codec: str) -> tuple[Path | None, float | None]:
    """Checks the one file of a ready replay (on disk, as served, as ffprobe reads it);
    returns its path on disk and its duration."""
    files = manifest.get("files") or []
    url = f"/api/meetings/{meeting}/recording/1"
    R.check(
        f"{label}: the replay is one file, {content_type}, at {url}",
        len(files) == 1 and files[0].get("content_type") == content_type and files[0].get("url") == url,
        json.dumps(manifest)[:800],
    )
    on_disk = workdir / "data" / "recordings" / f"meeting-{meeting}" / f"replay-1.{extension}"
    if not R.check(f"{label}: the replay is {on_disk.relative_to(workdir)} in the data folder", on_disk.is_file(),
                   str(sorted(p.name for p in on_disk.parent.glob('*')) if on_disk.parent.exists() else "no folder")):
        return None, None
    disk = on_disk.read_bytes()
    served = http("GET", server.url(url))
    R.check(
        f"{label}: GET {url} serves that file (200, {content_type}, Accept-Ranges: bytes, its bytes)",
        served.status == 200
        and served.header("Content-Type") == content_type
        and served.header("Accept-Ranges") == "bytes"
        and served.body == disk
        and (files[:1] or [{}])[0].get("bytes") == len(disk),
        f"{served.status} {served.header('Content-Type')!r} {served.header('Accept-Ranges')!r}, {len(served.body)} bytes served, "
        f"{len(disk)} on disk, manifest {(files[:1] or [{}])[0].get('bytes')}",
    )
    downloaded = workdir / f"downloaded-{meeting}.{extension}"
    downloaded.write_bytes(served.body)
    probe = ffprobe(downloaded)
    kinds = streams_of(probe)
    R.check(
        f"{label}: ffprobe reads one {video_codec} video stream and one Opus audio stream",
        kinds.get("video") == [video_codec] and kinds.get("audio") == ["opus"] and len(probe.get("streams", [])) == 2,
        json.dumps(probe)[:800],
    )
    duration = duration_of(probe)
    listed = (files[:1] or [{}])[0].get("duration_seconds")
    R.check(
        f"{label}: the manifest's duration_seconds is ffprobe's ({listed} and {duration})",
        isinstance(listed, (int, float)) and duration is not None and abs(listed - duration) <= 0.1,
    )
    return on_disk, duration


# --------------------------------------------------------------------------- the tests


def never_on_air(server: Server, staff: dict) -> None:
    meeting = plan_meeting(server, staff, "Never on air")
    R.check("a meeting never on air: GET recording is 404 no_recording", *is_problem(recording_of(server, meeting), 404, "no_recording"))
    R.check(
        "a meeting never on air: GET recording/1 is 404 no_recording",
        *is_problem(http("GET", server.url(f"/api/meetings/{meeting}/recording/1")), 404, "no_recording"),
    )


def one_period(server: Server, workdir: Path, peers: list[Peer], staff: dict, meeting: int, codec: str, label: str) -> float:
    """Publishes ~8 s of `codec`, checks the recording while it is not ready, ends the
    meeting; returns the on-air time."""
    key = go_live(server, staff, meeting)
    part = workdir / "data" / "recordings" / f"meeting-{meeting}" / "part-0001.mkv"
    on_air, sizes = publish_period(server, workdir, peers, f"publisher-{codec}", meeting, key, codec, 8, label, part)
    written = [size for size in sizes if size > 0]
    R.check(
        f"{label}: while on air, {part.relative_to(workdir)} is written as it goes (its size grows)",
        len(written) >= 3 and written[-1] > written[0],
        f"sizes each second: {sizes}",
    )
    before = recording_of(server, meeting)
    body = before.json() or {}
    parts = body.get("parts") or []
    R.check(
        f"{label}: before the meeting ends, the recording is `recording`, with part 1 and no file",
        before.status == 200 and body.get("state") == "recording" and [p.get("number") for p in parts] == [1] and body.get("files") == [],
        str(before),
    )
    R.check(
        f"{label}: before the meeting ends, GET recording/1 is 409 recording_not_ready",
        *is_problem(http("GET", server.url(f"/api/meetings/{meeting}/recording/1")), 409, "recording_not_ready"),
    )
    end_meeting(server, staff, meeting)
    return on_air


def check_one_period(server: Server, workdir: Path, meeting: int, on_air: float, label: str, extension: str,
                     content_type: str, video_codec: str) -> Path | None:
    manifest = wait_finished(server, meeting, READY_WITHIN)
    R.require(f"{label}: the recording is ready within {READY_WITHIN}s of the meeting's end",
              manifest.get("state") == "ready", json.dumps(manifest)[:800])
    on_disk, duration = check_replay(server, workdir, meeting, manifest, label, extension, content_type, video_codec)
    R.check(
        f"{label}: the replay lasts the on-air time within 1 s ({duration} s, on air {on_air:.2f} s)",
        duration is not None and abs(duration - on_air) <= 1.0,
    )
    parts = manifest.get("parts") or []
    first = (parts[:1] or [{}])[0]
    R.check(
        f"{label}: one part, closed, in file 1 at offset 0",
        len(parts) == 1 and first.get("number") == 1 and first.get("file") == 1 and first.get("offset_seconds") == 0
        and first.get("ended_at") is not None and (first.get("duration_seconds") or 0) > 0,
        json.dumps(parts),
    )
    part = workdir / "data" / "recordings" / f"meeting-{meeting}" / "part-0001.mkv"
    R.check(f"{label}: the raw part is deleted once the replay is made (keep_parts off)", not part.exists(),
            str(sorted(p.name for p in part.parent.glob("*"))))
    return on_disk


def ranges(server: Server, meeting: int, on_disk: Path) -> None:
    url = server.url(f"/api/meetings/{meeting}/recording/1")
    disk = on_disk.read_bytes()
    first = http("GET", url, headers={"Range": "bytes=0-99"})
    R.check(
        "Range: bytes=0-99 on the replay gives 206 with exactly its first 100 bytes on disk",
        first.status == 206 and first.body == disk[:100] and first.header("Content-Range") == f"bytes 0-99/{len(disk)}",
        f"{first.status} Content-Range {first.header('Content-Range')!r}, {len(first.body)} bytes, same: {first.body == disk[:100]}",
    )
    beyond = http("GET", url, headers={"Range": "bytes=999999999-"})
    R.check(
        f"Range: bytes=999999999- past the replay's end ({len(disk)} bytes) gives 416",
        beyond.status == 416,
        f"{beyond.status} Content-Range {beyond.header('Content-Range')!r}",
    )


def two_periods(server: Server, workdir: Path, peers: list[Peer], staff: dict, meeting: int) -> list[float]:
    key = go_live(server, staff, meeting)
    first, _ = publish_period(server, workdir, peers, "publisher-period-1", meeting, key, "h264", 6, "two periods, the first")
    second, _ = publish_period(server, workdir, peers, "publisher-period-2", meeting, key, "h264", 6, "two periods, the second")
    end_meeting(server, staff, meeting)
    return [first, second]


def check_two_periods(server: Server, workdir: Path, meeting: int, on_air: list[float]) -> None:
    label = "two periods"
    manifest = wait_finished(server, meeting, READY_WITHIN)
    R.require(f"{label}: the recording is ready within {READY_WITHIN}s of the meeting's end",
              manifest.get("state") == "ready", json.dumps(manifest)[:800])
    on_disk, duration = check_replay(server, workdir, meeting, manifest, label, "mp4", "video/mp4", "h264")
    parts = manifest.get("parts") or []
    R.check(
        f"{label}: two parts, both in file 1, the first at offset 0",
        [p.get("number") for p in parts] == [1, 2] and all(p.get("file") == 1 for p in parts)
        and parts[0].get("offset_seconds") == 0 and all((p.get("duration_seconds") or 0) > 0 for p in parts),
        json.dumps(parts),
    )
    if len(parts) != 2 or not all(isinstance(p.get("duration_seconds"), (int, float)) for p in parts):
        return
    first, second = parts
    R.check(
        f"{label}: part 2 starts in the file where part 1 ends (offset {second.get('offset_seconds')}, "
        f"part 1 lasts {first['duration_seconds']})",
        isinstance(second.get("offset_seconds"), (int, float)) and abs(second["offset_seconds"] - first["duration_seconds"]) <= 0.1,
    )
    total = first["duration_seconds"] + second["duration_seconds"]
    R.check(
        f"{label}: the file lasts both parts within 1 s ({duration} s, parts {total:.3f} s)",
        duration is not None and abs(duration - total) <= 1.0,
    )
    R.check(
        f"{label}: the file lasts both on-air periods within 1 s each ({duration} s, on air {' + '.join(f'{t:.2f}' for t in on_air)} s)",
        duration is not None and abs(duration - sum(on_air)) <= 2.0,
    )
    if on_disk is not None:
        times = video_times(on_disk)
        gaps = [later - earlier for earlier, later in zip(times, times[1:])]
        R.check(
            f"{label}: the joined video has no gap longer than a second",
            bool(times) and max(gaps, default=0) < 1.0,
            f"{len(times)} frames, longest gap {max(gaps, default=0):.2f}s",
        )


def run(server: Server, workdir: Path, peers: list[Peer]) -> None:
    R.require("the server (recording on) answers GET /healthz with 200", server.wait_healthy(), f"exit code {server.process.poll()}")
    staff = sign_in(server)

    never_on_air(server, staff)

    # Each meeting is ended as soon as its broadcast is over, and its replay checked after the
    # next broadcasts: the sweep makes it meanwhile.
    h264_meeting = MEETING
    h264_on_air = one_period(server, workdir, peers, staff, h264_meeting, "h264", "H.264")
    vp8_meeting = plan_meeting(server, staff, "VP8 recording")
    vp8_on_air = one_period(server, workdir, peers, staff, vp8_meeting, "vp8", "VP8")
    periods_meeting = plan_meeting(server, staff, "Two on-air periods")
    periods_on_air = two_periods(server, workdir, peers, staff, periods_meeting)

    replay = check_one_period(server, workdir, h264_meeting, h264_on_air, "H.264", "mp4", "video/mp4", "h264")
    if replay is not None:
        ranges(server, h264_meeting, replay)
    check_one_period(server, workdir, vp8_meeting, vp8_on_air, "VP8", "webm", "video/webm", "vp8")
    check_two_periods(server, workdir, periods_meeting, periods_on_air)


def no_recorder(binary: Path, workdir: Path, peers: list[Peer], servers: list[Server]) -> None:
    """ffmpeg missing: the broadcast goes on, unrecorded, said once in the log."""
    label = "no ffmpeg"
    server = Server(binary, workdir, extra_env={**RECORDING, "KEZDESU__HLS__ENABLED": "true",
                                                "KEZDESU__EGRESS__FFMPEG": str(workdir / "no-such-ffmpeg")})
    servers.append(server)
    R.require(f"{label}: the server answers GET /healthz with 200", server.wait_healthy(), f"exit code {server.process.poll()}")
    staff = sign_in(server)
    key = go_live(server, staff, MEETING)
    on_air, _ = publish_period(server, workdir, peers, "publisher-unrecorded", MEETING, key, "h264", 7, label)
    said = server.output().count("this broadcast is not recorded")
    R.check(f"{label}: the log says once that the broadcast is not recorded", said == 1, f"said {said} times")
    unpackaged = server.output().count("the restream and HLS cannot run")
    R.check(f"{label}: the log says once that HLS cannot run (no retry every 2 s)", unpackaged == 1, f"said {unpackaged} times")
    manifest = recording_of(server, MEETING).json() or {}
    parts = manifest.get("parts") or []
    R.check(f"{label}: no part after the first is started (no retry every few seconds)", len(parts) <= 1, json.dumps(manifest)[:400])
    server.stop()


def killed(binary: Path, workdir: Path, peers: list[Peer], servers: list[Server], orphans: list[int]) -> None:
    """SIGKILL mid-broadcast, raw parts kept; a new server on the same data folder finishes."""
    label = "SIGKILL"
    server = Server(binary, workdir, extra_env=KEEPING_PARTS)
    servers.append(server)
    R.require(f"{label}: the server (keep_parts on) answers GET /healthz with 200", server.wait_healthy(),
              f"exit code {server.process.poll()}")
    staff = sign_in(server)
    meeting = plan_meeting(server, staff, "Killed mid-broadcast")
    key = go_live(server, staff, meeting)
    part = workdir / "data" / "recordings" / f"meeting-{meeting}" / "part-0001.mkv"
    publisher = start_publisher(server, workdir, peers, "publisher-killed", meeting, key, "h264")
    on_at = wait_on_air(server, meeting, publisher, label)
    stayed, _ = stay_on_air(server, meeting, on_at + 10)
    R.check(f"{label}: the meeting stays on air for 10 s", stayed, str(broadcast_of(server, meeting)))

    recorders = recorders_writing(part)
    orphans.extend(int(pid) for pid in recorders)
    R.check(f"{label}: one recorder ffmpeg writes {part.relative_to(workdir)}", len(recorders) == 1, str(recorders))

    os.kill(server.process.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    server.process.wait()
    on_air = killed_at - on_at
    print(f"# {label}: the server was killed after {on_air:.2f}s on air", flush=True)
    time.sleep(2)
    left = [pid for pid in recorders if pid in recorders_writing(part)]
    print(f"# {label}: 2 s after the kill, recorders still running: {left or 'none'}", flush=True)
    probe = ffprobe(part)
    R.check(
        f"{label}: 2 s after the kill, ffprobe reads the raw part, with a video stream (duration {duration_of(probe)})",
        "h264" in streams_of(probe).get("video", []),
        json.dumps(probe)[:800],
    )
    publisher.stop()

    server.stop()
    shutil.move(str(server.log_path), str(workdir / "server-killed.log"))
    again = Server(binary, workdir, extra_env=KEEPING_PARTS)
    servers.append(again)
    R.require(f"{label}: a new server on the same data folder answers GET /healthz with 200", again.wait_healthy(),
              f"exit code {again.process.poll()}")
    healthy_at = time.monotonic()
    # The recorder left behind ends by itself once its input stopped: ffmpeg's RTP input gives
    # up without packets (about 20 s with Debian's ffmpeg 5.1), and writes its file's end.
    ended_at = wait_for(lambda: not recorders_writing(part) and time.monotonic(), 40, 0.1)
    R.check(
        f"{label}: the recorder the killed server left ends by itself within 30 s of the kill",
        bool(ended_at) and ended_at - killed_at <= 30,
        f"still running: {recorders_writing(part)}",
    )
    if ended_at:
        print(f"# {label}: the killed server's recorder ended {ended_at - killed_at:.1f}s after the kill, "
              f"{ended_at - healthy_at:.1f}s after the new server was up", flush=True)
    staff = sign_in(again)
    end_meeting(again, staff, meeting)
    manifest = wait_finished(again, meeting, READY_AFTER_KILL_WITHIN)
    R.require(f"{label}: the recording is ready within {READY_AFTER_KILL_WITHIN}s of the meeting's end",
              manifest.get("state") == "ready", json.dumps(manifest)[:800])
    gone = wait_for(lambda: not recorders_writing(part), 5, 0.2)
    R.check(f"{label}: no recorder ffmpeg of the killed server still runs", bool(gone), str(recorders_writing(part)))
    on_disk, duration = check_replay(again, workdir, meeting, manifest, label, "mp4", "video/mp4", "h264")
    R.check(
        f"{label}: the replay lasts what was on air before the kill, less 1.5 s at most ({duration} s, on air {on_air:.2f} s)",
        duration is not None and duration >= on_air - 1.5,
    )
    parts = manifest.get("parts") or []
    R.check(
        f"{label}: one part, closed, in file 1 at offset 0",
        len(parts) == 1 and parts[0].get("ended_at") is not None and parts[0].get("file") == 1
        and parts[0].get("offset_seconds") == 0,
        json.dumps(parts),
    )
    R.check(f"{label}: the raw part is kept (keep_parts on)", part.is_file(), str(sorted(p.name for p in part.parent.glob("*"))))
    for line in again.output().splitlines():
        if "record" in line or "replay" in line:
            print(f"# new server: {line[:300]}", flush=True)


def main() -> int:
    binary = Path(os.environ.get("KEZDESU_BIN", "target/debug/kezdesu"))
    if not binary.is_absolute():
        binary = (ROOT / binary).resolve()
    if not binary.exists():
        print(f"FAIL - the server binary {binary} exists (set KEZDESU_BIN or cargo build)")
        print("0 passed, 1 failed")
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="kezdesu-recording-"))
    servers: list[Server] = []
    peers: list[Peer] = []
    orphans: list[int] = []
    started = time.monotonic()

    def recorded(server: Server) -> None:
        servers.append(server)
        run(server, workdir / "recorded", peers)
        server.stop()

    scenarios = [
        lambda: recorded(Server(binary, workdir / "recorded", extra_env=RECORDING)),
        lambda: killed(binary, workdir / "killed", peers, servers, orphans),
        lambda: no_recorder(binary, workdir / "no-recorder", peers, servers),
    ]
    for folder in ("recorded", "killed", "no-recorder"):
        (workdir / folder).mkdir()
    try:
        for scenario in scenarios:
            try:
                guarded(scenario)
            finally:
                for peer in peers:
                    peer.stop()
    finally:
        for peer in peers:
            peer.stop()
        for server in servers:
            server.stop()
        # A recorder the killed server left that its successor did not end (a failure, shown).
        for pid in orphans:
            if str(pid) in recorders_writing_any():
                os.kill(pid, signal.SIGKILL)
        if R.failed:
            for peer in peers:
                print(f"\n# ---- {peer.name} stderr ----\n{peer.stderr()[-3000:]}", end="")
            logs = sorted(workdir.glob("*/server*.log"))
            for log in logs:
                lines = log.read_text(errors="replace").splitlines()
                print(f"\n# ---- {log.relative_to(workdir)} (last 200 of {len(lines)} lines) ----")
                print("\n".join(lines[-200:]))
        shutil.rmtree(workdir, ignore_errors=True)
    return summary("recording end-to-end test", started)


def recorders_writing_any() -> list[str]:
    """Every recorder ffmpeg running (reading its SDP from stdin into a part-*.mkv)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            words = [w.decode(errors="replace") for w in (proc / "cmdline").read_bytes().split(b"\0") if w]
        except OSError:
            continue
        if words and Path(words[0]).name == "ffmpeg" and "pipe:0" in words and any("/part-" in w for w in words):
            found.append(proc.name)
    return found


if __name__ == "__main__":
    _ = support
    sys.exit(main())
