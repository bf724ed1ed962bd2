#!/usr/bin/env python3
"""An independent WebRTC peer for Kezdesu's media endpoints, built on aiortc.

Two modes:

  publish --url WHIP_URL --token STREAM_KEY --seconds N [--codec vp8|h264] [--file PATH]
      Publishes a synthetic video (640x360 at 30 fps, moving stripes; VP8 by default, or
      H.264 with --codec h264: the offer then lists only that codec, by codec preferences)
      and, unless --no-audio, an Opus tone, by WHIP (RFC 9725): POSTs the complete offer with
      `Authorization: Bearer STREAM_KEY`, expects 201 + Location + an SDP answer that accepts
      the codec, keeps sending N seconds, then DELETEs the Location (with the bearer) and
      expects 2xx. With --file, the file's own H.264 or VP8 and Opus are sent as they are,
      looped, instead of the synthetic video and tone. With --stamp, each synthetic frame
      carries the wall clock's milliseconds in its top-left corner (32 black or white blocks)
      for a viewer to read back: the latency benchmark.

  play --url WHEP_URL --seconds N --min-frames M [--expect-codec vp8|h264]
      Receives video (and audio) by WHEP: POSTs a recvonly offer (no auth), expects 201,
      counts decoded video frames and exits 0 only if at least M were decoded within N
      seconds of start (and, with --expect-codec, only if they were of that codec). A 503
      (not on air yet) is retried every 0.5 s until the deadline. Stops once M frames are
      decoded, after --linger more seconds; DELETEs the Location. The JSON summary names
      the codec the video receiver decoded (`video_codec`, e.g. "video/H264", with its
      `video_payload_type` and `video_fmtp`) and the video codecs of the answer
      (`answer_video`).

Exit codes: 0 success, 1 failure (an unexpected HTTP status is printed with its body),
2 bad usage. Progress goes to stderr; `play` prints one JSON summary line to stdout.

ICE: no STUN/TURN server is used (the machine reaches no public address). When the URL's
host is a loopback address, the peer gathers only a 127.0.0.1 host candidate (aioice skips
loopback otherwise), so the test does not depend on the machine's network interfaces;
--ice-address overrides that (`auto` = aioice's own choice of interfaces).
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import ipaddress
import json
import math
import signal
import sys
import time
from urllib.parse import urljoin, urlsplit

import aiohttp
import aioice.ice
import aiortc.rtcrtpreceiver
import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

WIDTH, HEIGHT, FPS = 640, 360, 30
START = time.monotonic()
# --codec and --expect-codec: the MIME type each name stands for.
VIDEO_CODECS = {"vp8": "video/VP8", "h264": "video/H264"}


def log(message: str) -> None:
    print(f"[aiortc-peer {time.monotonic() - START:6.2f}s] {message}", file=sys.stderr, flush=True)


class HttpFailure(Exception):
    """An HTTP answer other than the one expected; its message carries status and body."""


# --------------------------------------------------------------------------- media sources


class MovingStripes(VideoStreamTrack):
    """640x360 yuv420p frames at 30 fps: diagonal luma stripes that move, slowly changing
    colour, so that every frame differs (an encoder cannot skip them)."""

    kind = "video"

    def __init__(self, stamp: bool = False) -> None:
        super().__init__()
        self.count = 0
        self.stride = 0
        self.wide = b""
        self.stamp = stamp

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        t = self.count
        self.count += 1
        luma = frame.planes[0]
        stride = luma.line_size
        if stride != self.stride:
            # One wide row, sliced per line with an offset: diagonal stripes moving right.
            self.stride = stride
            self.wide = bytes(((x * 2) & 0xFF) for x in range(stride + 512))
        wide = self.wide
        shift = (t * 6) % 256
        rows = bytearray()
        for y in range(HEIGHT):
            start = (256 - shift + y) % 256
            rows += wide[start : start + stride]
        if self.stamp:
            draw_stamp(rows, stride, int(time.time() * 1000) & 0xFFFFFFFF)
        luma.update(bytes(rows))
        for index, base in ((1, 128 + int(60 * math.sin(t / 20))), (2, 128 + int(60 * math.cos(t / 25)))):
            plane = frame.planes[index]
            chroma = bytearray([base & 0xFF]) * (plane.line_size * (HEIGHT // 2))
            if self.stamp:
                # Grey under the stamp, so that its blocks read as black or white in RGB.
                for y in range(STAMP_ROWS * STAMP_BLOCK // 2):
                    offset = y * plane.line_size
                    chroma[offset : offset + STAMP_COLUMNS * STAMP_BLOCK // 2] = b"\x80" * (STAMP_COLUMNS * STAMP_BLOCK // 2)
            plane.update(bytes(chroma))
        frame.pts = pts
        frame.time_base = time_base
        return frame


# --stamp: the wall clock's milliseconds (mod 2^32) drawn in each frame's top-left corner as 32
# blocks of 32x32 pixels, 16 to a row, most significant bit first; black is 0, white is 1. A
# viewer that reads them back (tests/bench/hls.mjs) knows how old the frame it shows is.
STAMP_BLOCK, STAMP_COLUMNS, STAMP_ROWS = 32, 16, 2


def draw_stamp(rows: bytearray, stride: int, millis: int) -> None:
    for bit in range(STAMP_COLUMNS * STAMP_ROWS):
        value = b"\xeb" if (millis >> (31 - bit)) & 1 else b"\x10"
        x = (bit % STAMP_COLUMNS) * STAMP_BLOCK
        top = (bit // STAMP_COLUMNS) * STAMP_BLOCK
        for y in range(top, top + STAMP_BLOCK):
            rows[y * stride + x : y * stride + x + STAMP_BLOCK] = value * STAMP_BLOCK


class Tone(MediaStreamTrack):
    """A 440 Hz tone, 48 kHz mono s16, 20 ms a frame, paced in real time."""

    kind = "audio"
    RATE = 48000
    SAMPLES = 960

    def __init__(self) -> None:
        super().__init__()
        self.pts = 0
        self.started: float | None = None
        period = [int(3000 * math.sin(2 * math.pi * 440 * n / self.RATE)) for n in range(self.RATE // 40)]
        # 1200 samples hold exactly 11 periods of 440 Hz at 48 kHz, so the buffer loops seamlessly.
        self.pcm = b"".join(v.to_bytes(2, "little", signed=True) for v in period)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.started is None:
            self.started = time.monotonic()
        wait = self.started + self.pts / self.RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
        offset = (self.pts * 2) % len(self.pcm)
        data = (self.pcm * 3)[offset : offset + self.SAMPLES * 2]
        frame.planes[0].update(data)
        frame.pts = self.pts
        frame.sample_rate = self.RATE
        frame.time_base = fractions.Fraction(1, self.RATE)
        self.pts += self.SAMPLES
        return frame


# --------------------------------------------------------------------------- helpers


def restrict_ice(url: str, choice: str | None) -> None:
    """Chooses the host candidates aioice gathers (see the module's doc)."""
    if choice is None:
        host = urlsplit(url).hostname or ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        choice = "127.0.0.1" if loopback else "auto"
    if choice == "auto":
        return
    addresses = [a.strip() for a in choice.split(",") if a.strip()]
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses)
    log(f"ICE host candidates limited to {addresses}")


def prefer(transceiver, mime: str) -> None:
    """Codec preferences: only `mime` (plus its RTX), as a WHIP encoder that sends one codec."""
    kind = mime.split("/")[0]
    codecs = [
        c
        for c in RTCRtpSender.getCapabilities(kind).codecs
        if c.mimeType.lower() == mime.lower() or c.mimeType.lower() == f"{kind}/rtx"
    ]
    transceiver.setCodecPreferences(codecs)


def payload_types(sdp: str) -> str:
    """`VP8=97 opus=96 …` from an SDP's rtpmap lines, for the log."""
    found = []
    for line in sdp.splitlines():
        if line.startswith("a=rtpmap:"):
            pt, _, codec = line[len("a=rtpmap:") :].partition(" ")
            name = codec.split("/")[0]
            if name.lower() != "rtx":
                found.append(f"{name}={pt}")
    return " ".join(found)


def candidates(sdp: str) -> list[str]:
    return [line[2:] for line in sdp.splitlines() if line.startswith("a=candidate:")]


def media_codecs(sdp: str, kind: str) -> list[str]:
    """The codecs of the first `kind` m-line of an SDP, in its order, as `H264/90000 pt=102
    (profile-level-id=…)`; RTX left out."""
    codecs: list[str] = []
    section: list[str] | None = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            if section is not None:
                break
            if line.startswith(f"m={kind} "):
                section = []
            continue
        if section is not None:
            section.append(line)
    if section is None:
        return codecs
    fmtp = {}
    for line in section:
        if line.startswith("a=fmtp:"):
            pt, _, parameters = line[len("a=fmtp:") :].partition(" ")
            fmtp[pt] = parameters
    for line in section:
        if line.startswith("a=rtpmap:"):
            pt, _, codec = line[len("a=rtpmap:") :].partition(" ")
            if codec.split("/")[0].lower() != "rtx":
                codecs.append(f"{codec} pt={pt}" + (f" ({fmtp[pt]})" if pt in fmtp else ""))
    return codecs


# What the receivers decode: aiortc's decoder thread asks `get_decoder` for each codec it
# meets (a packet's payload type mapped through the negotiated codecs), so wrapping it tells
# which codec each kind's frames really came in. One peer connection per process, so a kind
# is enough of a key.
DECODED: dict[str, dict] = {}
_get_decoder = aiortc.rtcrtpreceiver.get_decoder


def _recording_get_decoder(codec):
    DECODED[codec.mimeType.split("/")[0].lower()] = {
        "mime_type": codec.mimeType,
        "payload_type": codec.payloadType,
        "fmtp": ";".join(f"{k}={v}" for k, v in sorted(codec.parameters.items())),
    }
    log(f"decoding {codec.mimeType} (payload type {codec.payloadType})")
    return _get_decoder(codec)


aiortc.rtcrtpreceiver.get_decoder = _recording_get_decoder


async def post_offer(
    http: aiohttp.ClientSession, url: str, sdp: str, token: str | None
) -> tuple[int, str, str | None, str]:
    headers = {"Content-Type": "application/sdp"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with http.post(url, data=sdp.encode(), headers=headers) as response:
        body = await response.text()
        return response.status, body, response.headers.get("Location"), response.headers.get("Content-Type", "")


async def delete_resource(http: aiohttp.ClientSession, resource: str, token: str | None) -> bool:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        async with http.delete(resource, headers=headers) as response:
            body = await response.text()
            if 200 <= response.status < 300:
                log(f"DELETE {resource} -> {response.status}")
                return True
            log(f"DELETE {resource} -> {response.status} {body.strip()[:500]}")
            return False
    except aiohttp.ClientError as error:
        log(f"DELETE {resource} failed: {error!r}")
        return False


def check_created(what: str, status: int, body: str, location: str | None, content_type: str) -> None:
    if status != 201:
        raise HttpFailure(f"{what} answered {status} ({content_type}): {body.strip()[:2000]}")
    if not location:
        raise HttpFailure(f"{what} answered 201 without a Location header")
    if not content_type.lower().startswith("application/sdp"):
        raise HttpFailure(f"{what} answered 201 with Content-Type {content_type!r}, not application/sdp")
    if not body.startswith("v=0"):
        raise HttpFailure(f"{what} answered 201 with a body that is not SDP: {body[:200]!r}")


def watch(pc: RTCPeerConnection, connected: asyncio.Event, failed: asyncio.Event) -> None:
    @pc.on("connectionstatechange")
    async def _changed() -> None:
        log(f"connection state: {pc.connectionState} (ICE {pc.iceConnectionState})")
        if pc.connectionState == "connected":
            connected.set()
        elif pc.connectionState in ("failed", "closed"):
            failed.set()


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass


async def wait_any(*events: asyncio.Event, timeout: float) -> None:
    tasks = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(tasks, timeout=max(timeout, 0), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


# --------------------------------------------------------------------------- publish


async def publish(args: argparse.Namespace) -> int:
    restrict_ice(args.url, args.ice_address)
    deadline = START + args.seconds
    stop = asyncio.Event()
    stop_on_signals(stop)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    connected, failed = asyncio.Event(), asyncio.Event()
    watch(pc, connected, failed)
    mime = VIDEO_CODECS[args.codec]
    if args.file:
        # Already encoded (H.264 in MPEG-TS, or VP8 in WebM, with Opus): sent as it is, so the
        # publisher spends no CPU encoding (the egress benchmark's steady input).
        from aiortc.contrib.media import MediaPlayer

        player = MediaPlayer(args.file, decode=False, loop=True)
        video = player.video
        audio = None if args.no_audio else player.audio
    else:
        video = MovingStripes(stamp=args.stamp)
        audio = None if args.no_audio else Tone()
    prefer(pc.addTransceiver(video, direction="sendonly"), mime)
    if audio is not None:
        prefer(pc.addTransceiver(audio, direction="sendonly"), "audio/opus")
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers every candidate here
    offer = pc.localDescription.sdp
    log(f"offer: {payload_types(offer)}; candidates: {candidates(offer)}")

    resource: str | None = None
    async with aiohttp.ClientSession() as http:
        try:
            status, body, location, content_type = await post_offer(http, args.url, offer, args.token)
            log(f"POST {args.url} -> {status}")
            check_created("WHIP POST", status, body, location, content_type)
            resource = urljoin(args.url, location)
            log(f"resource {resource}; answer: {payload_types(body)}; candidates: {candidates(body)}")
            answered = media_codecs(body, "video")
            log(f"answer's video codecs: {answered}")
            if not any(c.split("/")[0].lower() == mime.split("/")[1].lower() for c in answered):
                raise HttpFailure(f"the WHIP answer does not accept {mime}: video codecs {answered}\n{body}")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))

            await wait_any(connected, failed, stop, timeout=min(args.connect_timeout, deadline - time.monotonic()))
            if not connected.is_set():
                if stop.is_set():
                    log("stopped before the connection was up")
                    return 0 if await delete_resource(http, resource, args.token) else 1
                raise HttpFailure(f"the peer connection did not come up (state {pc.connectionState})")
            log(f"publishing {mime} until {args.seconds:.0f}s")
            await wait_any(failed, stop, timeout=deadline - time.monotonic())
            if failed.is_set() and not stop.is_set():
                raise HttpFailure(f"the peer connection went {pc.connectionState} while publishing")
            log(f"sent {getattr(video, 'count', '?')} video frames; stopping")
            ok = await delete_resource(http, resource, args.token)
            resource = None
            return 0 if ok else 1
        except (HttpFailure, aiohttp.ClientError, ValueError) as error:
            log(f"FAILED: {error}")
            if resource:
                await delete_resource(http, resource, args.token)
            return 1
        finally:
            await pc.close()


# --------------------------------------------------------------------------- play


async def play(args: argparse.Namespace) -> int:
    restrict_ice(args.url, args.ice_address)
    deadline = START + args.seconds
    stop = asyncio.Event()
    stop_on_signals(stop)
    summary = {
        "frames": 0,
        "width": None,
        "height": None,
        "first_frame_after": None,
        "audio_frames": 0,
        "video_codec": None,
        "video_payload_type": None,
        "video_fmtp": None,
        "audio_codec": None,
        "answer_video": None,
    }
    expected = VIDEO_CODECS[args.expect_codec] if args.expect_codec else None
    resource: str | None = None
    pc: RTCPeerConnection | None = None
    consumers: list[asyncio.Task] = []
    enough = asyncio.Event()
    connected, failed = asyncio.Event(), asyncio.Event()

    async def count_video(track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                summary["frames"] += 1
                if summary["frames"] == 1:
                    summary["width"], summary["height"] = frame.width, frame.height
                    summary["first_frame_after"] = round(time.monotonic() - START, 2)
                    log(f"first video frame: {frame.width}x{frame.height}")
                if summary["frames"] % 30 == 0:
                    log(f"{summary['frames']} video frames decoded")
                if summary["frames"] >= args.min_frames:
                    enough.set()
        except MediaStreamError:
            log("video track ended")

    async def drain_audio(track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                summary["audio_frames"] += 1
        except MediaStreamError:
            pass

    async with aiohttp.ClientSession() as http:
        try:
            answer = None
            attempt = 0
            while answer is None:
                pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

                @pc.on("track")
                def _track(track: MediaStreamTrack) -> None:
                    log(f"remote {track.kind} track")
                    consumers.append(asyncio.ensure_future((count_video if track.kind == "video" else drain_audio)(track)))

                video = pc.addTransceiver("video", direction="recvonly")
                if args.vp8_only:
                    prefer(video, "video/VP8")
                pc.addTransceiver("audio", direction="recvonly")
                await pc.setLocalDescription(await pc.createOffer())
                offer = pc.localDescription.sdp
                if attempt == 0:
                    log(f"offer: {payload_types(offer)}; candidates: {candidates(offer)}")
                attempt += 1
                status, body, location, content_type = await post_offer(http, args.url, offer, None)
                if status == 503 and time.monotonic() + 0.5 < deadline and not stop.is_set():
                    if attempt == 1 or attempt % 10 == 0:
                        log(f"POST {args.url} -> 503 (attempt {attempt}): {body.strip()[:300]}; retrying")
                    await pc.close()
                    await asyncio.sleep(0.5)
                    continue
                log(f"POST {args.url} -> {status}")
                check_created("WHEP POST", status, body, location, content_type)
                resource = urljoin(args.url, location)
                answer = body
                watch(pc, connected, failed)
            log(f"resource {resource}; answer: {payload_types(answer)}; candidates: {candidates(answer)}")
            summary["answer_video"] = media_codecs(answer, "video")
            log(f"answer's video codecs: {summary['answer_video']}")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

            await wait_any(enough, failed, stop, timeout=deadline - time.monotonic())
            if enough.is_set() and args.linger > 0:
                log(f"{summary['frames']} frames; lingering {args.linger:.1f}s")
                await wait_any(stop, timeout=args.linger)
        except (HttpFailure, aiohttp.ClientError, ValueError) as error:
            log(f"FAILED: {error}")
            return 1
        finally:
            for task in consumers:
                task.cancel()
            if resource:
                await delete_resource(http, resource, None)
            if pc is not None:
                await pc.close()
            video_decoded = DECODED.get("video") or {}
            summary["video_codec"] = video_decoded.get("mime_type")
            summary["video_payload_type"] = video_decoded.get("payload_type")
            summary["video_fmtp"] = video_decoded.get("fmtp")
            summary["audio_codec"] = (DECODED.get("audio") or {}).get("mime_type")
            print(json.dumps(summary), flush=True)

    if summary["frames"] >= args.min_frames:
        if expected and (summary["video_codec"] or "").lower() != expected.lower():
            log(f"FAILED: {summary['frames']} video frames decoded, but as {summary['video_codec']}, not {expected}")
            return 1
        log(
            f"OK: {summary['frames']} {summary['video_codec']} video frames decoded ({summary['audio_frames']} audio)"
        )
        return 0
    why = f"connection {pc.connectionState}" if failed.is_set() else "deadline"
    log(
        f"FAILED: {summary['frames']} video frames decoded, {args.min_frames} wanted, within {args.seconds:.0f}s ({why}; connected: {connected.is_set()})"
    )
    return 1


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True)
    pub = modes.add_parser("publish", help="publish a synthetic VP8 or H.264 (+Opus) stream by WHIP")
    pub.add_argument("--url", required=True, help="the WHIP endpoint")
    pub.add_argument("--token", required=True, help="the stream key, sent as a bearer token (pass it as --token=KEY: a key may begin with -)")
    pub.add_argument("--seconds", type=float, default=30)
    pub.add_argument("--connect-timeout", type=float, default=15, help="seconds for ICE+DTLS to come up")
    pub.add_argument("--no-audio", action="store_true", help="video only")
    pub.add_argument("--codec", choices=sorted(VIDEO_CODECS), default="vp8", help="the video codec (default vp8)")
    pub.add_argument("--ice-address", help="comma-separated host candidate addresses, or auto")
    pub.add_argument("--stamp", action="store_true", help="draw the wall clock's milliseconds in each frame (the latency benchmark)")
    pub.add_argument("--file", help="send this already-encoded file (H.264 in MPEG-TS or VP8 in WebM, with Opus) as it is, looped")
    ply = modes.add_parser("play", help="play by WHEP and count decoded video frames")
    ply.add_argument("--url", required=True, help="the WHEP endpoint")
    ply.add_argument("--seconds", type=float, default=20)
    ply.add_argument("--min-frames", type=int, default=60)
    ply.add_argument("--linger", type=float, default=0, help="keep playing this long after --min-frames")
    ply.add_argument("--vp8-only", action="store_true", help="offer only VP8 (default: every codec aiortc has)")
    ply.add_argument(
        "--expect-codec", choices=sorted(VIDEO_CODECS), help="fail unless the video decoded was of this codec"
    )
    ply.add_argument("--ice-address", help="comma-separated host candidate addresses, or auto")
    args = parser.parse_args()
    log(f"aiortc {__import__('aiortc').__version__}, {args.mode} {args.url}")
    return asyncio.run(publish(args) if args.mode == "publish" else play(args))


if __name__ == "__main__":
    sys.exit(main())
