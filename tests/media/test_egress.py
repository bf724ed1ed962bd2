#!/usr/bin/env python3
"""End-to-end test of the restream (RTMP egress) with real receivers.

Starts Debian's nginx with the RTMP module as receivers (tests/services/rtmp): A over plain
RTMP, B over RTMPS through a local TLS terminator (nginx `stream` + `ssl`, a throwaway
self-signed certificate the server trusts through `egress.extra_ca_file`), and C that refuses
every publish (`on_publish` answering 403). Boots the real server binary with a
`KEZDESU_SECRET_KEY`, adds the destinations through the API (checking the 422 answers for bad
input and the masked keys), publishes H.264 and Opus by WHIP with aiortc, and then:

- A and B go `live`, C goes `failed` after a single attempt, and a destination whose host
  does not listen goes `failed` with a readable message;
- A is killed mid-broadcast: A goes `retrying` while B stays `live`, with no gap in what B
  receives; A is started again and goes `live` again;
- ffprobe reads B's recording: H.264 video and AAC audio, with a duration close to the time
  B was on air, and audio and video starting together;
- no stream key is in any process's command line (/proc/*/cmdline) or in the server's log.

Run it with the Python of the venv that has tests/media/requirements.txt:

    target/aiortc-venv/bin/python tests/media/test_egress.py
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_aiortc as support  # noqa: E402  (the server, peers and checks are shared)
from test_aiortc import ADMIN_PASSWORD, MEETING, Fatal, Peer, R, Server, http, is_problem, wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
RTMP = ROOT / "tests" / "services" / "rtmp"
# Long enough to kill and restart a receiver while on air.
PUBLISH_SECONDS = 40
KEYS = {
    "a": "kz-restream-test-key-AAAA-0001",
    "b": "kz-restream-test-key-BBBB-0002",
    "c": "kz-restream-test-key-CCCC-0003",
    "d": "kz-restream-test-key-DDDD-0004",
}


class Receiver:
    def __init__(self, workdir: Path, name: str, *flags: str) -> None:
        self.dir = workdir / f"rtmp-{name}"
        lines = subprocess.run(
            [str(RTMP), "start", str(self.dir), *flags], check=True, capture_output=True, text=True
        ).stdout.split()
        self.url = lines[0]
        self.cert = lines[1] if len(lines) > 1 else None

    def pid(self) -> int:
        return int((self.dir / "nginx.pid").read_text().strip())

    def kill(self) -> None:
        """Stops nginx at once (TERM is its fast shutdown: connections are cut)."""
        pid = self.pid()
        os.kill(pid, 15)
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), 10, 0.1)

    def restart(self) -> None:
        subprocess.run(
            ["nginx", "-e", str(self.dir / "logs/error.log"), "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir),
             "-g", f"daemon on; pid {self.dir / 'nginx.pid'};"],
            check=True, capture_output=True,
        )

    def recording(self, key: str) -> Path:
        return self.dir / "record" / f"{key}.flv"

    def stop(self) -> None:
        subprocess.run([str(RTMP), "stop", str(self.dir)], check=False, capture_output=True)


def ffprobe(path: Path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True,
    )
    return json.loads(result.stdout or "{}") if result.returncode == 0 else {"error": result.stderr[-500:]}


def video_times(path: Path) -> list[float]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True,
    )
    times = []
    for line in result.stdout.splitlines():
        try:
            times.append(float(line.strip().rstrip(",")))
        except ValueError:
            pass
    return times


def statuses(server: Server) -> dict[int, dict]:
    body = http("GET", server.url(f"/api/meetings/{MEETING}")).json() or {}
    return {status["destination_id"]: status for status in body.get("restream") or []}


def state_of(server: Server, destination: int) -> str | None:
    return (statuses(server).get(destination) or {}).get("state")


def run(server: Server, receivers: dict[str, Receiver], workdir: Path, peers: list[Peer]) -> None:
    R.require("the server answers GET /healthz with 200", server.wait_healthy(), f"exit code {server.process.poll()}")
    signed = http("POST", server.url("/api/session"), json_body={"login": "admin", "password": ADMIN_PASSWORD})
    token = (signed.json() or {}).get("token") if signed.status == 200 else None
    R.require("the admin signs in", bool(token), str(signed))
    staff = {"Authorization": f"Bearer {token}"}
    destinations = server.url(f"/api/meetings/{MEETING}/destinations")

    # Bad input is a 422 problem, and nothing is stored.
    bad_url = http("POST", destinations, headers=staff,
                   json_body={"platform": "youtube", "ingest_url": "http://a.rtmp.youtube.com/live2", "stream_key": "k" * 20})
    R.check("a URL that is not rtmp(s):// is refused with 422", *is_problem(bad_url, 422, "invalid_ingest_url"))
    long_key = http("POST", destinations, headers=staff,
                    json_body={"platform": "rtmp", "ingest_url": receivers["a"].url, "stream_key": "k" * 5000})
    R.check("a stream key of absurd length is refused with 422", *is_problem(long_key, 422, "invalid_stream_key"))
    facebook = http("POST", destinations, headers=staff,
                    json_body={"platform": "facebook", "ingest_url": "rtmp://live-api-s.facebook.com/rtmp", "stream_key": "k" * 20})
    R.check("Facebook over plain RTMP is refused with 422", *is_problem(facebook, 422, "invalid_ingest_url"))
    anonymous = http("GET", destinations)
    R.check("destinations are not shown without a sign-in (401)", anonymous.status == 401, str(anonymous))

    created: dict[str, int] = {}
    for name, platform, url in [
        ("a", "rtmp", receivers["a"].url),
        ("b", "youtube", receivers["b"].url),
        ("c", "vk", receivers["c"].url),
        # Nothing listens on port 9 (discard) of loopback here.
        ("d", "telegram", "rtmp://127.0.0.1:9/live"),
    ]:
        added = http("POST", destinations, headers=staff,
                     json_body={"platform": platform, "name": f"receiver {name}", "ingest_url": url, "stream_key": KEYS[name]})
        body = added.json() or {}
        R.require(f"destination {name} is added (201)", added.status == 201, str(added))
        created[name] = body["id"]
        R.check(f"destination {name}'s key is shown masked", body.get("stream_key") == "••••" + KEYS[name][-4:], str(body))
    extra = []
    for number in range(2):
        added = http("POST", destinations, headers=staff,
                     json_body={"platform": "rtmp", "ingest_url": receivers["a"].url, "stream_key": f"spare-key-{number}-xxxx", "enabled": False})
        extra.append((added.json() or {}).get("id"))
    seventh = http("POST", destinations, headers=staff,
                   json_body={"platform": "rtmp", "ingest_url": receivers["a"].url, "stream_key": "one-too-many-xxxx"})
    R.check("a seventh destination is refused with 422", *is_problem(seventh, 422, "too_many_destinations"))
    for spare in extra:
        http("DELETE", f"{destinations}/{spare}", headers=staff)
    listed = http("GET", destinations, headers=staff)
    R.check(
        "the list never shows a key in clear",
        listed.status == 200 and not any(key in listed.text for key in KEYS.values()) and len((listed.json() or {}).get("destinations", [])) == 4,
        str(listed),
    )

    phase = http("POST", server.url(f"/api/meetings/{MEETING}/phase"), json_body={"phase": "presentation"}, headers=staff)
    R.require("the demo meeting goes live", 200 <= phase.status < 300, str(phase))
    key = (http("GET", server.url(f"/api/meetings/{MEETING}/stream-key"), headers=staff).json() or {})["stream_key"]
    publisher = Peer(workdir, "publisher", ["publish", "--url", server.url(f"/api/meetings/{MEETING}/whip"),
                                              f"--token={key}", "--seconds", str(PUBLISH_SECONDS), "--codec", "h264"])
    peers.append(publisher)
    published_at = time.monotonic()

    live_ab = wait_for(lambda: state_of(server, created["a"]) == "live" and state_of(server, created["b"]) == "live", 30)
    R.require("A (RTMP) and B (RTMPS) go live", bool(live_ab), json.dumps(statuses(server)))
    b_live_at = time.monotonic()
    print(f"# on air to both live: {b_live_at - published_at:.1f}s", flush=True)
    failed_c = wait_for(lambda: state_of(server, created["c"]) == "failed", 15)
    c = statuses(server).get(created["c"]) or {}
    R.check("C, whose receiver refuses the key, is failed without retries", bool(failed_c) and c.get("retries") == 0, json.dumps(c))
    failed_d = wait_for(lambda: state_of(server, created["d"]) == "failed", 15)
    d = statuses(server).get(created["d"]) or {}
    R.check("D, whose host does not listen, is failed with a readable message",
            bool(failed_d) and "cannot connect to 127.0.0.1:9" in (d.get("last_error") or ""), json.dumps(d))
    time.sleep(3)
    R.check("C is still failed, with no further attempt", (statuses(server).get(created["c"]) or {}).get("retries") == 0)

    metrics = http("GET", server.url("/metrics")).text
    R.check("/metrics counts the destinations by state",
            'kezdesu_restream_destinations{state="live"} 2' in metrics and 'kezdesu_restream_destinations{state="failed"} 2' in metrics,
            "\n".join(line for line in metrics.splitlines() if "restream" in line))

    # No key in any command line, including ffmpeg's.
    leaks = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        leaks += [f"{proc.name}: {cmdline[:200]}" for key in KEYS.values() if key in cmdline]
    R.check("no stream key is in any process's command line", not leaks, "; ".join(leaks))
    ffmpegs = subprocess.run(["pgrep", "-a", "-P", str(server.process.pid), "ffmpeg"], capture_output=True, text=True).stdout
    R.check("one ffmpeg runs for the meeting, whatever the destinations", len(ffmpegs.splitlines()) == 1, ffmpegs)

    # A's receiver dies: A retries, B is untouched.
    b_since = (statuses(server).get(created["b"]) or {}).get("since")
    time.sleep(4)
    shutil.copy(receivers["a"].recording(KEYS["a"]), workdir / "a-first.flv")
    receivers["a"].kill()
    retrying = wait_for(lambda: state_of(server, created["a"]) == "retrying", 15)
    a = statuses(server).get(created["a"]) or {}
    R.check("A goes retrying after its receiver died", bool(retrying) and a.get("retries", 0) >= 1, json.dumps(a))
    b = statuses(server).get(created["b"]) or {}
    R.check("B stays live meanwhile, since the same moment", b.get("state") == "live" and b.get("since") == b_since, json.dumps(b))
    time.sleep(2)
    receivers["a"].restart()
    again = wait_for(lambda: state_of(server, created["a"]) == "live", 20)
    R.check("A is live again once its receiver is back", bool(again), json.dumps(statuses(server).get(created["a"])))
    b = statuses(server).get(created["b"]) or {}
    R.check("B was never interrupted", b.get("state") == "live" and b.get("since") == b_since, json.dumps(b))

    code = publisher.wait(PUBLISH_SECONDS + 30)
    R.check("the publisher ran its course", code == 0, f"exit {code}: {publisher.stderr()[-800:]}")
    off_air_at = time.monotonic()
    stopped = wait_for(lambda: state_of(server, created["a"]) == "stopped" and state_of(server, created["b"]) == "stopped", 20)
    R.check("A and B stop when the meeting goes off air", bool(stopped), json.dumps(statuses(server)))
    gone = wait_for(lambda: not subprocess.run(["pgrep", "-P", str(server.process.pid), "ffmpeg"], capture_output=True).stdout, 10)
    R.check("the meeting's ffmpeg ends with the broadcast", bool(gone))

    time.sleep(1)
    for name, path in [("B", receivers["b"].recording(KEYS["b"])), ("A (before its receiver died)", workdir / "a-first.flv"),
                       ("A (after it came back)", receivers["a"].recording(KEYS["a"]))]:
        probe = ffprobe(path)
        codecs = sorted(stream.get("codec_name") for stream in probe.get("streams", []))
        R.check(f"{name} received H.264 video and AAC audio", codecs == ["aac", "h264"], json.dumps(probe)[:600])
    probe = ffprobe(receivers["b"].recording(KEYS["b"]))
    duration = float((probe.get("format") or {}).get("duration") or 0)
    on_air = off_air_at - b_live_at
    R.check(f"B's recording lasts about the time it was live ({duration:.1f}s of {on_air:.1f}s)",
            abs(duration - on_air) <= max(4.0, on_air * 0.15), json.dumps(probe.get("format"))[:400])
    starts = [float(stream.get("start_time") or 0) for stream in probe.get("streams", [])]
    R.check("B's audio and video start together (A/V in sync)", len(starts) == 2 and abs(starts[0] - starts[1]) < 0.5, str(starts))
    times = video_times(receivers["b"].recording(KEYS["b"]))
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    R.check("B's video has no gap longer than a second", bool(times) and max(gaps, default=0) < 1.0,
            f"{len(times)} frames, longest gap {max(gaps, default=0):.2f}s")

    # A VP8 publisher: its video is encoded to H.264 for the platforms.
    vp8 = Peer(workdir, "vp8-publisher", ["publish", "--url", server.url(f"/api/meetings/{MEETING}/whip"),
                                            f"--token={key}", "--seconds", "20", "--codec", "vp8"])
    peers.append(vp8)
    live_again = wait_for(lambda: state_of(server, created["a"]) == "live", 30)
    R.check("A goes live for a VP8 publisher too", bool(live_again), json.dumps(statuses(server)))
    # The meeting's ffmpeg dies: it is started again, and the platforms' sessions go on.
    time.sleep(3)
    first = subprocess.run(["pgrep", "-P", str(server.process.pid), "ffmpeg"], capture_output=True, text=True).stdout.split()
    a_since = (statuses(server).get(created["a"]) or {}).get("since")
    for pid in first:
        os.kill(int(pid), 9)
    restarted = wait_for(lambda: [p for p in subprocess.run(["pgrep", "-P", str(server.process.pid), "ffmpeg"],
                                                            capture_output=True, text=True).stdout.split() if p not in first], 15)
    R.check("a killed ffmpeg is started again", bool(first) and bool(restarted), f"before {first}, after {restarted}")
    a = statuses(server).get(created["a"]) or {}
    R.check("A's session survives its ffmpeg's death", a.get("state") == "live" and a.get("since") == a_since, json.dumps(a))
    code = vp8.wait(40)
    R.check("the VP8 publisher ran its course", code == 0, f"exit {code}: {vp8.stderr()[-800:]}")
    wait_for(lambda: state_of(server, created["a"]) == "stopped", 20)
    probe = ffprobe(receivers["a"].recording(KEYS["a"]))
    streams = {stream.get("codec_type"): stream for stream in probe.get("streams", [])}
    R.check("a VP8 publisher's video arrives as H.264 (encoded), with AAC audio",
            (streams.get("video") or {}).get("codec_name") == "h264" and (streams.get("audio") or {}).get("codec_name") == "aac"
            and float((probe.get("format") or {}).get("duration") or 0) > 5,
            json.dumps(probe)[:600])

    log = server.output()
    leaked = [name for name, key in KEYS.items() if key in log]
    R.check("no stream key is in the server's log", not leaked, ", ".join(leaked))


def main() -> int:
    binary = Path(os.environ.get("KEZDESU_BIN", "target/debug/kezdesu"))
    if not binary.is_absolute():
        binary = (ROOT / binary).resolve()
    workdir = Path(tempfile.mkdtemp(prefix="kezdesu-egress-"))
    receivers: dict[str, Receiver] = {}
    server: Server | None = None
    peers: list[Peer] = []
    started = time.monotonic()
    try:
        receivers["a"] = Receiver(workdir, "a")
        receivers["b"] = Receiver(workdir, "b", "--tls")
        receivers["c"] = Receiver(workdir, "c", "--deny")
        config = (
            "[egress]\n"
            f'extra_ca_file = "{receivers["b"].cert}"\n'
            "retry_for_seconds = 60\nfirst_retry_pause_ms = 500\nlongest_retry_pause_ms = 2000\n"
        )
        secret = base64.b64encode(os.urandom(32)).decode()
        server = Server(binary, workdir, extra_config=config, extra_env={"KEZDESU_SECRET_KEY": secret})
        run(server, receivers, workdir, peers)
    except Fatal as failure:
        print(f"# stopped after a fatal failure: {failure}", flush=True)
    except Exception as error:
        R.check("the test runs without an exception", False, repr(error))
        import traceback

        traceback.print_exc()
    finally:
        for peer in peers:
            peer.stop()
        if server is not None:
            server.stop()
        if R.failed:
            for peer in peers:
                print(f"\n# ---- {peer.name} stderr ----\n{peer.stderr()[-3000:]}", end="")
            if server is not None:
                lines = server.output().splitlines()
                print(f"\n# ---- server log (last 200 of {len(lines)} lines) ----")
                print("\n".join(lines[-200:]))
            for name, receiver in receivers.items():
                log = receiver.dir / "logs" / "error.log"
                if log.exists():
                    print(f"\n# ---- receiver {name} error.log (tail) ----\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:]))
        for receiver in receivers.values():
            receiver.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"# egress end-to-end test took {time.monotonic() - started:.0f}s")
    print(f"{R.passed} passed, {len(R.failed)} failed")
    return 1 if R.failed else 0


if __name__ == "__main__":
    _ = support
    sys.exit(main())
