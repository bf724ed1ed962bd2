#!/usr/bin/env python3
"""The restream's benchmark: Kezdesu's egress against the same ffmpeg commands run alone.

    target/aiortc-venv/bin/python tests/bench/egress.py [--seconds 20]

(tests/bench/egress.sh builds the release binary and runs this.) On one machine, in one run:

1. Inputs: 30 s of 1280x720 at 30 fps, 1.5 Mbit/s H.264 (x264 baseline, a keyframe every 2 s)
   with Opus, in MPEG-TS; and the same picture as 1.5 Mbit/s VP8 in WebM.
2. Kezdesu (release binary) with the demo meeting live; an aiortc publisher sends the file's
   packets by WHIP as they are (no encoding in the publisher). For 0, 1, 3 and 6 destinations
   (one nginx-rtmp receiver, a stream key each): the server's and its ffmpeg's CPU (from
   /proc, over a steady window) and resident memory, and for each destination the time from
   going on air (WHIP's 201) to the first video frame in the receiver's recording.
3. The baseline, for 1, 3 and 6 destinations: an ffmpeg sends the same file as RTP to loopback
   ports (not counted), and N ffmpeg processes run the command Kezdesu runs (SDP on stdin,
   H.264 copied, Opus to AAC) but each publishing straight to its destination (`-f flv
   rtmp://…`): the usual hand-made restream. Their CPU and memory, and the time from their
   start to the first frame at the receiver.
4. The same for VP8 with one destination: the video is encoded to H.264 by x264.

Kezdesu's total for N destinations is its ffmpeg plus the server's CPU above what it spends
on the same broadcast with no destination; the goal is a total at most 1.1x the baseline's.
Prints a Markdown report (docs/bench/egress.md keeps one).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "media"))
from test_aiortc import ADMIN_PASSWORD, MEETING, Peer, Server, http, wait_for  # noqa: E402

RTMP = ROOT / "tests" / "services" / "rtmp"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int, name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid), name], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def measure(pids_of, seconds: float) -> dict:
    """CPU (cores) and resident memory (MiB) of the processes `pids_of()` names, over `seconds`."""
    pids = pids_of()
    start = {pid: cpu_seconds(pid) for pid in pids}
    began = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - began
    used = {pid: cpu_seconds(pid) - start[pid] for pid in pids}
    return {
        "cores": {pid: used[pid] / elapsed for pid in pids},
        "rss_mib": {pid: rss_mib(pid) for pid in pids},
    }


def first_video_frame(path: Path) -> bool:
    """Whether the FLV recording at `path` holds a video frame (not only a sequence header)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    offset = 13
    while offset + 11 <= len(data):
        kind = data[offset] & 0x1F
        size = struct.unpack(">I", b"\0" + data[offset + 1 : offset + 4])[0]
        body = data[offset + 11 : offset + 11 + size]
        if len(body) < size:
            return False
        if kind == 9 and len(body) >= 2 and not (body[0] & 0x0F == 7 and body[1] == 0):
            return True
        offset += 11 + size + 4
    return False


def wait_first_frames(paths: list[Path], since: float, limit: float = 30) -> list[float | None]:
    found: list[float | None] = [None] * len(paths)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and any(value is None for value in found):
        for index, path in enumerate(paths):
            if found[index] is None and first_video_frame(path):
                found[index] = time.monotonic() - since
        time.sleep(0.02)
    return found


def make_inputs(workdir: Path, seconds: int = 30) -> tuple[Path, Path]:
    """The inputs, `seconds` long. A round must end before its file does: aiortc's player,
    looping a file it does not decode, sends the next pass at once rather than in real time."""
    h264 = workdir / "input-h264.ts"
    vp8 = workdir / "input-vp8.webm"
    picture = ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
               "-t", str(seconds)]
    rate = ["-b:v", "1500k", "-maxrate", "1500k", "-bufsize", "3000k", "-g", "60"]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *picture, "-c:v", "libx264", "-profile:v", "baseline",
                    "-preset", "veryfast", "-tune", "zerolatency", *rate, "-bf", "0", "-x264-params", "repeat-headers=1",
                    "-c:a", "libopus", "-b:a", "64k", "-ac", "2", "-f", "mpegts", str(h264)], check=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *picture, "-c:v", "libvpx", "-deadline", "realtime",
                    "-cpu-used", "8", *rate, "-c:a", "libopus", "-b:a", "64k", "-ac", "2", str(vp8)], check=True)
    return h264, vp8


class Receiver:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "rtmp"
        self.url = subprocess.run([str(RTMP), "start", str(self.dir)], check=True, capture_output=True, text=True).stdout.split()[0]

    def recording(self, key: str) -> Path:
        return self.dir / "record" / f"{key}.flv"

    def stop(self) -> None:
        subprocess.run([str(RTMP), "stop", str(self.dir)], capture_output=True)


def kezdesu_run(server: Server, staff: dict, receiver: Receiver, workdir: Path, media: Path, codec: str,
                count: int, seconds: float, round_name: str) -> dict:
    path = server.url(f"/api/meetings/{MEETING}/destinations")
    for existing in (http("GET", path, headers=staff).json() or {}).get("destinations", []):
        http("DELETE", f"{path}/{existing['id']}", headers=staff)
    keys = [f"{round_name}-{index}" for index in range(count)]
    for key in keys:
        added = http("POST", path, headers=staff, json_body={"platform": "rtmp", "ingest_url": receiver.url, "stream_key": key})
        assert added.status == 201, str(added)
    stream_key = (http("GET", server.url(f"/api/meetings/{MEETING}/stream-key"), headers=staff).json() or {})["stream_key"]
    publisher = Peer(workdir, f"publisher-{round_name}", ["publish", "--url", server.url(f"/api/meetings/{MEETING}/whip"),
                                                          f"--token={stream_key}", "--seconds", str(seconds + 25),
                                                          "--codec", codec, "--file", str(media)])
    on_air = time.monotonic()
    frames = wait_first_frames([receiver.recording(key) for key in keys], on_air) if keys else []
    # Steady state: after the start, a window of `seconds`.
    time.sleep(3)
    server_pid = server.process.pid
    sample = measure(lambda: [server_pid, *children(server_pid, "ffmpeg")], seconds)
    publisher.stop()
    wait_for(lambda: not children(server_pid, "ffmpeg"), 15)
    server_cores = sample["cores"].get(server_pid, 0.0)
    ffmpeg_cores = sum(cores for pid, cores in sample["cores"].items() if pid != server_pid)
    ffmpeg_rss = sum(rss for pid, rss in sample["rss_mib"].items() if pid != server_pid)
    return {
        "destinations": count,
        "server_cores": server_cores,
        "server_rss_mib": sample["rss_mib"].get(server_pid, 0.0),
        "ffmpeg_cores": ffmpeg_cores,
        "ffmpeg_rss_mib": ffmpeg_rss,
        "first_frame_s": frames,
    }


def baseline_run(receiver: Receiver, workdir: Path, media: Path, codec: str, count: int, seconds: float, round_name: str) -> dict:
    """N ffmpeg processes with Kezdesu's command, each publishing to its destination directly."""
    video_port, audio_port = 42000 + 10 * count, 42002 + 10 * count
    h264 = codec == "h264"
    sdp = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=baseline\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           f"m=video {video_port} RTP/AVP 96\r\na=rtpmap:96 {'H264' if h264 else 'VP8'}/90000\r\n"
           + ("a=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n" if h264 else "")
           + f"a=recvonly\r\nm=audio {audio_port} RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=recvonly\r\n")
    video = ["-c:v", "copy"] if h264 else ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
                                          "-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "5000k", "-force_key_frames", "expr:gte(t,n_forced*2)"]
    keys = [f"{round_name}-{index}" for index in range(count)]
    egress = []
    for key in keys:
        # The same SDP input for each (ffmpeg's rtp input binds with SO_REUSEADDR, and each
        # gets every packet only if they do not share the port): one port pair per process.
        index = len(egress)
        own_sdp = sdp.replace(f"m=video {video_port}", f"m=video {video_port + 100 * index}").replace(
            f"m=audio {audio_port}", f"m=audio {audio_port + 100 * index}")
        command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostats", "-analyzeduration", "500000", "-probesize", "500000",
                   "-reorder_queue_size", "64", "-protocol_whitelist", "pipe,udp,rtp", "-f", "sdp", "-i", "pipe:0",
                   "-map", "0:v:0", *video, "-map", "0:a:0", "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
                   "-f", "flv", f"{receiver.url}/{key}"]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        process.stdin.write(own_sdp.encode())
        process.stdin.close()
        egress.append((process, video_port + 100 * index, audio_port + 100 * index))
    time.sleep(0.5)
    # One sender per process, so that each gets the whole stream (not counted).
    senders = []
    started = time.monotonic()
    for _, vport, aport in egress:
        senders.append(subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(media),
             "-map", "0:v", "-c", "copy", "-payload_type", "96", "-f", "rtp", f"rtp://127.0.0.1:{vport}",
             "-map", "0:a", "-c", "copy", "-payload_type", "111", "-f", "rtp", f"rtp://127.0.0.1:{aport}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    frames = wait_first_frames([receiver.recording(key) for key in keys], started)
    time.sleep(3)
    sample = measure(lambda: [process.pid for process, _, _ in egress], seconds)
    for process in [*senders, *(process for process, _, _ in egress)]:
        process.terminate()
    for process in [*senders, *(process for process, _, _ in egress)]:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    return {
        "destinations": count,
        "ffmpeg_cores": sum(sample["cores"].values()),
        "ffmpeg_rss_mib": sum(sample["rss_mib"].values()),
        "first_frame_s": frames,
    }


def fmt_frames(frames: list[float | None]) -> str:
    known = [frame for frame in frames if frame is not None]
    if not known:
        return "none"
    missing = len(frames) - len(known)
    text = f"{min(known):.2f}–{max(known):.2f} s" if len(known) > 1 else f"{known[0]:.2f} s"
    return text + (f" ({missing} never)" if missing else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20, help="the measuring window of each round")
    args = parser.parse_args()
    binary = Path(os.environ.get("KEZDESU_BIN", ROOT / "target" / "release" / "kezdesu"))
    workdir = Path(tempfile.mkdtemp(prefix="kezdesu-egress-bench-"))
    receiver = None
    server = None
    try:
        h264, vp8 = make_inputs(workdir)
        receiver = Receiver(workdir)
        secret = base64.b64encode(os.urandom(32)).decode()
        server = Server(binary, workdir, extra_config='[log]\nlevel = "warn"\n', extra_env={"KEZDESU_SECRET_KEY": secret})
        assert server.wait_healthy(), server.output()
        token = (http("POST", server.url("/api/session"), json_body={"login": "admin", "password": ADMIN_PASSWORD}).json() or {})["token"]
        staff = {"Authorization": f"Bearer {token}"}
        http("POST", server.url(f"/api/meetings/{MEETING}/phase"), json_body={"phase": "presentation"}, headers=staff)

        rows = []
        idle = kezdesu_run(server, staff, receiver, workdir, h264, "h264", 0, args.seconds, "idle")
        for count in (1, 3, 6):
            ours = kezdesu_run(server, staff, receiver, workdir, h264, "h264", count, args.seconds, f"k{count}")
            theirs = baseline_run(receiver, workdir, h264, "h264", count, args.seconds, f"b{count}")
            rows.append((count, ours, theirs))
            print(f"# {count}: {json.dumps(ours)} vs {json.dumps(theirs)}", flush=True)
        vp8_idle = kezdesu_run(server, staff, receiver, workdir, vp8, "vp8", 0, args.seconds, "vp8idle")
        vp8_ours = kezdesu_run(server, staff, receiver, workdir, vp8, "vp8", 1, args.seconds, "vp8k")
        vp8_theirs = baseline_run(receiver, workdir, vp8, "vp8", 1, args.seconds, "vp8b")
        print(f"# vp8: {json.dumps(vp8_ours)} vs {json.dumps(vp8_theirs)}", flush=True)

        cpu = open("/proc/cpuinfo").read()
        model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("model name")), "?")
        print(f"\nMachine: {model}, {os.cpu_count()} cores, {platform.platform()}; "
              f"`{subprocess.run(['ffmpeg', '-version'], capture_output=True, text=True).stdout.splitlines()[0]}`; "
              f"window {args.seconds:.0f} s per round.\n")
        print(f"The same broadcast with no destination: server {idle['server_cores'] * 100:.1f}% of a core, "
              f"{idle['server_rss_mib']:.0f} MiB resident.\n")
        print("| destinations | Kezdesu: server above idle | Kezdesu: ffmpeg | Kezdesu total | per destination | baseline (N ffmpeg) | total / baseline | memory: server + ffmpeg / baseline | on air → first frame: Kezdesu / baseline |")
        print("|---|---|---|---|---|---|---|---|---|")
        for count, ours, theirs in rows:
            extra = max(0.0, ours["server_cores"] - idle["server_cores"])
            total = extra + ours["ffmpeg_cores"]
            ratio = total / theirs["ffmpeg_cores"] if theirs["ffmpeg_cores"] > 0 else float("nan")
            print(f"| {count} | {extra * 100:.1f}% | {ours['ffmpeg_cores'] * 100:.1f}% | {total * 100:.1f}% | {total / count * 100:.1f}% "
                  f"| {theirs['ffmpeg_cores'] * 100:.1f}% | {ratio:.2f}x "
                  f"| {ours['server_rss_mib'] - idle['server_rss_mib']:+.0f} + {ours['ffmpeg_rss_mib']:.0f} MiB / {theirs['ffmpeg_rss_mib']:.0f} MiB "
                  f"| {fmt_frames(ours['first_frame_s'])} / {fmt_frames(theirs['first_frame_s'])} |")
        extra = max(0.0, vp8_ours["server_cores"] - vp8_idle["server_cores"])
        total = extra + vp8_ours["ffmpeg_cores"]
        print(f"\nVP8 publisher, one destination (video encoded to H.264 by x264 `veryfast`, 2.5 Mbit/s): Kezdesu "
              f"{total * 100:.1f}% of a core (server {extra * 100:.1f}% above idle, ffmpeg {vp8_ours['ffmpeg_cores'] * 100:.1f}%, "
              f"{vp8_ours['ffmpeg_rss_mib']:.0f} MiB), baseline {vp8_theirs['ffmpeg_cores'] * 100:.1f}% "
              f"({vp8_theirs['ffmpeg_rss_mib']:.0f} MiB); on air → first frame {fmt_frames(vp8_ours['first_frame_s'])} / "
              f"{fmt_frames(vp8_theirs['first_frame_s'])}.")
        return 0
    finally:
        if server is not None:
            server.stop()
        if receiver is not None:
            receiver.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
