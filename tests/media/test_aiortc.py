#!/usr/bin/env python3
"""End-to-end test of the live broadcast with an independent WebRTC stack (aiortc).

Boots the real server binary (${KEZDESU_BIN:-target/debug/kezdesu}) on a free loopback port
with a fresh data folder, makes the demo meeting live, checks the WHIP/WHEP error answers,
then publishes a synthetic VP8 stream by WHIP (aiortc_peer.py publish) while a WHEP player
(aiortc_peer.py play) must decode at least 60 frames, and checks the meeting's broadcast
state along the way; then does the same with H.264 (publish --codec h264), where the player,
which offers every codec aiortc has, must decode at least 60 H.264 frames. Run it with the
Python of the venv that has tests/media/requirements.txt:

    target/aiortc-venv/bin/python tests/media/test_aiortc.py

Plain Python: every check prints `ok - …` or `FAIL - …`, the last line is `N passed, N failed`,
and the exit code is 0 only when nothing failed. On a failure the server's log and the peers'
logs are printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PEER = HERE / "aiortc_peer.py"
ADMIN_PASSWORD = "Kz-aiortc-Test-2024!pw"
MEETING = 1


class Fatal(Exception):
    """A failure after which the rest of the test cannot run."""


class Results:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok - {name}", flush=True)
        else:
            self.failed.append(name)
            print(f"FAIL - {name}{': ' + detail if detail else ''}", flush=True)
        return ok

    def require(self, name: str, ok: bool, detail: str = "") -> None:
        if not self.check(name, ok, detail):
            raise Fatal(name)


R = Results()


# --------------------------------------------------------------------------- HTTP


class Response:
    def __init__(self, status: int, headers, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def header(self, name: str) -> str:
        return self.headers.get(name, "") or ""

    def __str__(self) -> str:
        return f"{self.status} {self.header('Content-Type')} {self.text[:500]!r}"


def http(method: str, url: str, body: bytes | str | None = None, headers: dict | None = None, json_body=None) -> Response:
    headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return Response(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers, error.read())


def is_problem(response: Response, status: set[int] | int, code: str | None = None) -> tuple[bool, str]:
    """Whether `response` is an application/problem+json with that status and `code`."""
    statuses = {status} if isinstance(status, int) else status
    problems = []
    if response.status not in statuses:
        problems.append(f"status {response.status}, wanted {sorted(statuses)}")
    if not response.header("Content-Type").lower().startswith("application/problem+json"):
        problems.append(f"Content-Type {response.header('Content-Type')!r}")
    body = response.json()
    if not isinstance(body, dict) or "code" not in body:
        problems.append("no JSON body with a code")
    elif code is not None and body.get("code") != code:
        problems.append(f"code {body.get('code')!r}, wanted {code!r}")
    return (not problems, "; ".join(problems) + f" — got {response}" if problems else "")


# --------------------------------------------------------------------------- SDP offers


def make_offer(publish: bool) -> str:
    """A real offer from aiortc (host candidates on 127.0.0.1 only, no STUN): sendonly VP8
    video + Opus audio like a WHIP encoder, or recvonly video + audio like a WHEP player."""
    import aioice.ice
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

    async def offer() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            for kind, mime in (("video", "video/VP8"), ("audio", "audio/opus")):
                transceiver = pc.addTransceiver(kind, direction="sendonly" if publish else "recvonly")
                transceiver.setCodecPreferences(
                    [
                        c
                        for c in RTCRtpSender.getCapabilities(kind).codecs
                        if c.mimeType.lower() in (mime.lower(), f"{kind}/rtx")
                    ]
                )
            await pc.setLocalDescription(await pc.createOffer())
            return pc.localDescription.sdp
        finally:
            await pc.close()

    return asyncio.run(offer())


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary: Path, workdir: Path, extra_config: str = "", extra_env: dict | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        config = workdir / "kezdesu.toml"
        config.write_text('[media]\nudp_addresses = ["127.0.0.1"]\n' + extra_config)
        # No recorder nor HLS packager per broadcast unless a test asks (test_recording.py,
        # test_hls.py): two cores.
        env = dict(
            os.environ,
            KEZDESU_ADMIN_PASSWORD=ADMIN_PASSWORD,
            NO_COLOR="1",
            KEZDESU__RECORDING__ENABLED="false",
            KEZDESU__HLS__ENABLED="false",
        )
        env.update(extra_env or {})
        command = [
            str(binary),
            "serve",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--data",
            str(workdir / "data"),
            "--config",
            str(config),
        ]
        print(f"# starting {' '.join(command)}", flush=True)
        self.log = open(self.log_path, "wb")
        # The working folder is the temporary one, so no config/default.toml is picked up.
        self.process = subprocess.Popen(
            command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT
        )

    def url(self, path: str) -> str:
        return self.base + path

    def wait_healthy(self, seconds: float = 60) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if http("GET", self.url("/healthz")).status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Peer:
    """aiortc_peer.py in a child process, its stdout and stderr in files."""

    def __init__(self, workdir: Path, name: str, args: list[str]) -> None:
        self.name = name
        self.out_path = workdir / f"{name}.out"
        self.err_path = workdir / f"{name}.err"
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        command = [sys.executable, str(PEER), *args]
        print(f"# {name}: {' '.join(command)}", flush=True)
        self.process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err)

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self, seconds: float) -> int | None:
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            if self.wait(10) is None:
                self.process.kill()
                self.process.wait()
        self.out.close()
        self.err.close()

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace") if self.err_path.exists() else ""


# --------------------------------------------------------------------------- the test


def broadcast(server: Server) -> dict:
    response = http("GET", server.url(f"/api/meetings/{MEETING}"))
    body = response.json() if response.status == 200 else None
    if not isinstance(body, dict):
        return {"error": str(response)}
    value = body.get("broadcast")
    return value if isinstance(value, dict) else {"error": f"no broadcast object in {str(body)[:300]}"}


def wait_for(predicate, seconds: float, interval: float = 0.25):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    return last


def run(server: Server, workdir: Path, peers: list[Peer]) -> None:
    R.require("the server answers GET /healthz with 200", server.wait_healthy(), f"exit code {server.process.poll()}")

    signed = http("POST", server.url("/api/session"), json_body={"login": "admin", "password": ADMIN_PASSWORD})
    token = (signed.json() or {}).get("token") if signed.status == 200 else None
    R.require("the admin signs in (POST /api/session)", bool(token), str(signed))
    staff = {"Authorization": f"Bearer {token}"}

    phase = http("POST", server.url(f"/api/meetings/{MEETING}/phase"), json_body={"phase": "presentation"}, headers=staff)
    R.require("POST phase presentation makes the demo meeting live", 200 <= phase.status < 300, str(phase))

    keys = http("GET", server.url(f"/api/meetings/{MEETING}/stream-key"), headers=staff)
    key_body = keys.json() if keys.status == 200 else None
    R.require(
        "GET stream-key gives stream_key, whip_url, rotated_at",
        isinstance(key_body, dict) and all(k in key_body for k in ("stream_key", "whip_url", "rotated_at")),
        str(keys),
    )
    stream_key = key_body["stream_key"]
    whip = urljoin(server.base + "/", key_body["whip_url"])
    expected_whip = server.url(f"/api/meetings/{MEETING}/whip")
    if urlsplit(whip).netloc != urlsplit(server.base).netloc:
        R.check("whip_url points at this server", False, f"{key_body['whip_url']!r}; using the path on {server.base}")
        parts = urlsplit(whip)
        whip = urlunsplit(("http", urlsplit(server.base).netloc, parts.path, parts.query, ""))
    R.check("whip_url is /api/meetings/1/whip", whip == expected_whip, f"{key_body['whip_url']!r}")
    whep = server.url(f"/api/meetings/{MEETING}/whep")
    stream_key_anon = http("GET", server.url(f"/api/meetings/{MEETING}/stream-key"))
    R.check("GET stream-key without a session is refused (401)", stream_key_anon.status == 401, str(stream_key_anon))

    publish_offer = make_offer(publish=True)
    sdp = {"Content-Type": "application/sdp"}

    preflight = http(
        "OPTIONS",
        whip,
        headers={
            "Origin": "https://encoder.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    methods = preflight.header("Access-Control-Allow-Methods").upper()
    R.check(
        "OPTIONS on the WHIP URL: 2xx, CORS headers, Accept-Post: application/sdp",
        200 <= preflight.status < 300
        and bool(preflight.header("Access-Control-Allow-Origin"))
        and ("POST" in methods or methods.strip() == "*")
        and "application/sdp" in preflight.header("Accept-Post").lower(),
        f"{preflight.status} headers {dict(preflight.headers)}",
    )

    ok, why = is_problem(http("POST", whip, publish_offer, sdp), 401)
    R.check("WHIP POST without Authorization: 401 problem", ok, why)
    ok, why = is_problem(http("POST", whip, publish_offer, {**sdp, "Authorization": "Bearer wrong-key-0000"}), 403)
    R.check("WHIP POST with a wrong bearer: 403 problem", ok, why)
    ok, why = is_problem(http("POST", whip, "hello", {**sdp, "Authorization": f"Bearer {stream_key}"}), {400, 422})
    R.check("WHIP POST with the right bearer and garbage SDP: 400/422 problem", ok, why)
    ok, why = is_problem(http("POST", whep, make_offer(publish=False), sdp), 503, "not_on_air")
    R.check("WHEP POST before anyone publishes: 503 not_on_air", ok, why)
    before = broadcast(server)
    R.check("before publishing, broadcast.on_air is false", before.get("on_air") is False, str(before))

    # Publish 30 s; play at once (the player retries 503 until the publisher is up).
    publisher = Peer(workdir, "publisher", ["publish", "--url", whip, f"--token={stream_key}", "--seconds", "30"])
    peers.append(publisher)
    player = Peer(
        workdir, "player", ["play", "--url", whep, "--seconds", "20", "--min-frames", "60", "--linger", "4"]
    )
    peers.append(player)

    on_air = wait_for(lambda: broadcast(server).get("on_air") is True or not publisher.alive(), 15)
    R.require(
        "while publishing, broadcast.on_air becomes true",
        publisher.alive() and broadcast(server).get("on_air") is True,
        f"{broadcast(server)}; publisher {'running' if publisher.alive() else 'exited ' + str(publisher.process.returncode)}",
    )
    del on_air
    ok, why = is_problem(
        http("POST", whip, make_offer(publish=True), {**sdp, "Authorization": f"Bearer {stream_key}"}),
        409,
        "publisher_present",
    )
    R.check("a second WHIP POST while publishing: 409 publisher_present", ok, why)

    most_viewers, seen = 0, {}
    while player.alive():
        state = broadcast(server)
        if state.get("on_air") is True and isinstance(state.get("viewers"), int):
            if state["viewers"] > most_viewers:
                most_viewers, seen = state["viewers"], state
        time.sleep(0.3)
    player_exit = player.process.returncode
    summary = next((json.loads(l) for l in player.stdout().splitlines() if l.startswith("{")), {})
    R.check(
        "the WHEP player (aiortc) decodes >= 60 video frames within 20 s",
        player_exit == 0,
        f"exit {player_exit}, {summary}",
    )
    R.check(
        "the decoded video is 640x360",
        (summary.get("width"), summary.get("height")) == (640, 360),
        str(summary),
    )
    R.check(
        "the player's receiver decoded video/VP8 (the codec published)",
        (summary.get("video_codec") or "").lower() == "video/vp8",
        f"video_codec {summary.get('video_codec')!r}, {summary}",
    )
    R.check(
        "while the player plays, broadcast shows on_air true and viewers >= 1",
        most_viewers >= 1,
        f"most seen {most_viewers} {seen or broadcast(server)}",
    )
    viewers_after = wait_for(lambda: broadcast(server).get("viewers") == 0, 10)
    R.check("after the player's DELETE, viewers is back to 0", bool(viewers_after), str(broadcast(server)))

    publisher_exit = publisher.wait(45)
    R.check(
        "the publisher runs its 30 s, DELETEs its resource with 2xx and exits 0",
        publisher_exit == 0,
        f"exit {publisher_exit}",
    )
    off_air = wait_for(lambda: broadcast(server).get("on_air") is False, 15)
    R.check("after the publisher stops, broadcast.on_air is false", bool(off_air), str(broadcast(server)))

    h264(server, workdir, peers, whip, whep, stream_key)

    ended = http("POST", server.url(f"/api/meetings/{MEETING}/phase"), json_body={"phase": "ended"}, headers=staff)
    if not 200 <= ended.status < 300:
        http("POST", server.url(f"/api/meetings/{MEETING}/phase"), json_body={"phase": "qa"}, headers=staff)
        ended = http("POST", server.url(f"/api/meetings/{MEETING}/phase"), json_body={"phase": "ended"}, headers=staff)
    R.check("POST phase ended", 200 <= ended.status < 300, str(ended))
    ok, why = is_problem(
        http("POST", whip, make_offer(publish=True), {**sdp, "Authorization": f"Bearer {stream_key}"}),
        409,
        "not_open_for_broadcast",
    )
    R.check("WHIP POST after the meeting ended: 409 not_open_for_broadcast", ok, why)


def h264(server: Server, workdir: Path, peers: list[Peer], whip: str, whep: str, stream_key: str) -> None:
    """aiortc publishes H.264 only (codec preferences); an aiortc player that offers VP8 and
    H.264 must be answered H.264 and decode >= 60 H.264 frames."""
    R.require(
        "before the H.264 broadcast, nobody is on air",
        broadcast(server).get("on_air") is False,
        str(broadcast(server)),
    )
    publisher = Peer(
        workdir,
        "publisher-h264",
        ["publish", "--url", whip, f"--token={stream_key}", "--seconds", "25", "--codec", "h264"],
    )
    peers.append(publisher)
    player = Peer(
        workdir, "player-h264", ["play", "--url", whep, "--seconds", "20", "--min-frames", "60", "--linger", "2"]
    )
    peers.append(player)

    wait_for(lambda: broadcast(server).get("on_air") is True or not publisher.alive(), 15)
    R.check(
        "H.264: while publishing, broadcast.on_air becomes true",
        publisher.alive() and broadcast(server).get("on_air") is True,
        f"{broadcast(server)}; publisher {'running' if publisher.alive() else 'exited ' + str(publisher.process.returncode)}",
    )
    player_exit = player.wait(40)
    summary = next((json.loads(l) for l in player.stdout().splitlines() if l.startswith("{")), {})
    R.check(
        "H.264: the WHEP player (aiortc) decodes >= 60 video frames within 20 s",
        player_exit == 0 and summary.get("frames", 0) >= 60,
        f"exit {player_exit}, {summary}",
    )
    R.check(
        "H.264: the player's receiver decoded video/H264",
        (summary.get("video_codec") or "").lower() == "video/h264",
        f"video_codec {summary.get('video_codec')!r}, payload type {summary.get('video_payload_type')}, {summary}",
    )
    answered = summary.get("answer_video") or []
    R.check(
        "H.264: the WHEP answer offers the player only H.264 (the codec on air)",
        bool(answered) and all(c.lower().startswith("h264/90000") for c in answered),
        f"answer video codecs {answered}",
    )
    R.check(
        "H.264: the decoded video is 640x360",
        (summary.get("width"), summary.get("height")) == (640, 360),
        str(summary),
    )
    publisher_exit = publisher.wait(45)
    R.check(
        "H.264: the publisher runs its 25 s, DELETEs its resource with 2xx and exits 0",
        publisher_exit == 0,
        f"exit {publisher_exit}",
    )
    off_air = wait_for(lambda: broadcast(server).get("on_air") is False, 15)
    R.check("H.264: after the publisher stops, broadcast.on_air is false", bool(off_air), str(broadcast(server)))


def guarded(body) -> None:
    """Runs a test's body: a Fatal failure stops it with its message, and any other exception
    (a bug in the test or an unexpected answer) is a failure, shown with its traceback."""
    try:
        body()
    except Fatal as failure:
        print(f"# stopped after a fatal failure: {failure}", flush=True)
    except Exception as error:
        R.check("the test runs without an exception", False, repr(error))
        import traceback

        traceback.print_exc()


def stop_and_report(peers: list[Peer], server: Server | None, server_lines: int = 300) -> None:
    """Stops the peers and the server; after a failure, shows each peer's output and the end of
    the server's log."""
    for peer in peers:
        peer.stop()
    if server is not None:
        server.stop()
    if not R.failed:
        return
    for peer in peers:
        print(f"\n# ---- {peer.name} stderr ----\n{peer.stderr()}", end="")
        if peer.stdout():
            print(f"# ---- {peer.name} stdout ----\n{peer.stdout()}", end="")
    if server is not None:
        lines = server.output().splitlines()
        print(f"\n# ---- server log (last {server_lines} of {len(lines)} lines) ----")
        print("\n".join(lines[-server_lines:]))


def summary(label: str, started: float) -> int:
    """Prints how long the test took and its counts; the exit code."""
    print(f"# {label} took {time.monotonic() - started:.0f}s")
    print(f"{R.passed} passed, {len(R.failed)} failed")
    return 1 if R.failed else 0


def main() -> int:
    binary = Path(os.environ.get("KEZDESU_BIN", "target/debug/kezdesu"))
    if not binary.is_absolute():
        binary = (Path.cwd() / binary).resolve() if (Path.cwd() / binary).exists() else (ROOT / binary).resolve()
    if not binary.exists():
        print(f"FAIL - the server binary {binary} exists (set KEZDESU_BIN or cargo build)")
        print("0 passed, 1 failed")
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="kezdesu-aiortc-"))
    server: Server | None = None
    peers: list[Peer] = []
    started = time.monotonic()

    def body() -> None:
        nonlocal server
        server = Server(binary, workdir)
        run(server, workdir, peers)

    try:
        guarded(body)
    finally:
        stop_and_report(peers, server)
        shutil.rmtree(workdir, ignore_errors=True)
    return summary("aiortc end-to-end test", started)


if __name__ == "__main__":
    sys.exit(main())
