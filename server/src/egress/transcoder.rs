//! The meeting's one ffmpeg: the broadcast's RTP in over loopback UDP, FLV out on a pipe.
//!
//! RTMP carries H.264 and AAC, while WebRTC publishers send Opus and H.264 or VP8. ffmpeg
//! (Debian's 5.1) reads the RTP described by an SDP given on its stdin, copies H.264 as it is,
//! encodes a VP8 publisher's video to H.264 (the only costly case: about a core at 720p), turns
//! Opus into AAC, and writes FLV to its stdout. It runs once per meeting, however many
//! destinations there are, and never talks to a platform: the destinations' RTMP sessions are
//! the server's own, so no stream key is ever on a command line (`/proc/<pid>/cmdline` is
//! readable by every local user).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdout, Command};

/// A codec of the broadcast as its RTP carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpCodec {
    /// `video/H264`, `video/VP8` or `audio/opus` (any case).
    pub mime_type: String,
    pub clock_rate: u32,
    pub channels: u16,
    pub fmtp: String,
    pub payload_type: u8,
}

impl From<&crate::media::rtp_source::SourceCodec> for RtpCodec {
    fn from(codec: &crate::media::rtp_source::SourceCodec) -> RtpCodec {
        RtpCodec {
            mime_type: codec.mime_type.clone(),
            clock_rate: codec.clock_rate,
            channels: codec.channels,
            fmtp: codec.fmtp.clone(),
            payload_type: codec.payload_type,
        }
    }
}

impl RtpCodec {
    fn encoding_name(&self) -> &str {
        self.mime_type.split_once('/').map_or(self.mime_type.as_str(), |(_, name)| name)
    }

    pub fn is_h264(&self) -> bool {
        self.encoding_name().eq_ignore_ascii_case("h264")
    }
}

/// What ffmpeg is given: the codecs and the loopback ports they arrive on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub video: Option<(RtpCodec, u16)>,
    pub audio: Option<(RtpCodec, u16)>,
}

/// How the output is encoded where it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    pub audio_bitrate_kbps: u32,
    pub x264_preset: String,
    pub x264_bitrate_kbps: u32,
    /// How often x264 makes a keyframe: 2 s as the platforms ask, 1 s while HLS (which cuts
    /// its segments only at keyframes) runs too.
    pub keyframe_seconds: u32,
}

/// The SDP that tells ffmpeg what arrives on which port (RFC 4566; one media section a kind).
pub fn sdp(input: &Input) -> String {
    let mut sdp =
        String::from("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=kezdesu\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n");
    for (kind, section) in [("video", &input.video), ("audio", &input.audio)] {
        let Some((codec, port)) = section else { continue };
        let pt = codec.payload_type;
        sdp.push_str(&format!("m={kind} {port} RTP/AVP {pt}\r\n"));
        let channels = if kind == "audio" && codec.channels > 0 {
            format!("/{}", codec.channels)
        } else {
            String::new()
        };
        sdp.push_str(&format!("a=rtpmap:{pt} {}/{}{channels}\r\n", codec.encoding_name(), codec.clock_rate));
        if !codec.fmtp.is_empty() {
            sdp.push_str(&format!("a=fmtp:{pt} {}\r\n", codec.fmtp));
        }
        sdp.push_str("a=recvonly\r\n");
    }
    sdp
}

/// The arguments every ffmpeg of a live broadcast starts with: only errors on its stderr (they
/// go to the server's log), and a short probe of its input, whose first packets carry the
/// streams' parameters (an RTP video starts at a keyframe, an FLV with its sequence headers),
/// rather than ffmpeg's default 5 s.
pub fn quiet_quick_start() -> Vec<String> {
    ["-hide_banner", "-loglevel", "error", "-nostats", "-analyzeduration", "500000", "-probesize", "500000"]
        .map(str::to_owned)
        .to_vec()
}

/// The arguments that make ffmpeg read the RTP its SDP (on stdin) describes: the restream's
/// transcoder and the recorder start alike.
pub fn input_arguments() -> Vec<String> {
    let mut args = quiet_quick_start();
    args.extend(
        [
            // Out-of-order packets on loopback are rare; a short queue keeps the latency low.
            "-reorder_queue_size",
            "64",
            "-protocol_whitelist",
            "pipe,udp,rtp",
            "-f",
            "sdp",
            "-i",
            "pipe:0",
        ]
        .map(str::to_owned),
    );
    args
}

/// ffmpeg's arguments: nothing secret, and the same for every meeting with the same codecs.
pub fn arguments(input: &Input, encoding: &Encoding) -> Vec<String> {
    let mut args = input_arguments();
    if let Some((codec, _)) = &input.video {
        args.extend(["-map", "0:v:0"].map(str::to_owned));
        if codec.is_h264() {
            args.extend(["-c:v", "copy"].map(str::to_owned));
        } else {
            // VP8 (or any other codec) is encoded to H.264, with keyframes as often as
            // `keyframe_seconds` says.
            let bitrate = format!("{}k", encoding.x264_bitrate_kbps);
            let keyframes = format!("expr:gte(t,n_forced*{})", encoding.keyframe_seconds.max(1));
            let buffer = format!("{}k", encoding.x264_bitrate_kbps * 2);
            args.extend(
                [
                    "-c:v",
                    "libx264",
                    "-preset",
                    &encoding.x264_preset,
                    "-tune",
                    "zerolatency",
                    "-pix_fmt",
                    "yuv420p",
                    "-b:v",
                    &bitrate,
                    "-maxrate",
                    &bitrate,
                    "-bufsize",
                    &buffer,
                    "-force_key_frames",
                    &keyframes,
                ]
                .map(str::to_owned),
            );
        }
    }
    if input.audio.is_some() {
        let bitrate = format!("{}k", encoding.audio_bitrate_kbps);
        args.extend(
            ["-map", "0:a:0", "-c:a", "aac", "-b:a", &bitrate, "-ar", "48000", "-ac", "2"].map(str::to_owned),
        );
    }
    args.extend(["-flvflags", "no_duration_filesize", "-f", "flv", "pipe:1"].map(str::to_owned));
    args
}

/// A free even loopback UDP port whose next port is free too (ffmpeg takes RTP on the port and
/// RTCP on the next). It is released before ffmpeg binds it; another program taking it in
/// between makes ffmpeg fail, and the meeting's egress start again.
pub fn free_rtp_port() -> std::io::Result<u16> {
    for _ in 0..64 {
        let socket = UdpSocket::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let port = socket.local_addr()?.port();
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        if UdpSocket::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port + 1))).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::other("no free pair of loopback UDP ports"))
}

/// Waits until some process has bound UDP `port` (up to `limit`), as `/proc/net/udp` shows:
/// a datagram sent before ffmpeg listens is lost, and the first ones carry what a decoder
/// needs to start (H.264's SPS and PPS). Trying to bind the port to find out would take it
/// from ffmpeg for that moment.
pub async fn wait_until_bound(port: u16, limit: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        let table = tokio::fs::read_to_string("/proc/net/udp").await.unwrap_or_default();
        if udp_port_bound(&table, port) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

/// Whether `/proc/net/udp`'s table lists a socket bound to `port` (its local address is
/// `HEXADDR:HEXPORT`, second column).
fn udp_port_bound(table: &str, port: u16) -> bool {
    let wanted = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .any(|line| line.split_whitespace().nth(1).is_some_and(|local| local.ends_with(&wanted)))
}

/// Free RTP ports (each with its RTCP port) for the kinds wanted, never the same pair twice.
pub fn free_rtp_ports(video: bool, audio: bool) -> std::io::Result<(Option<u16>, Option<u16>)> {
    let video_port = if video { Some(free_rtp_port()?) } else { None };
    let mut audio_port = None;
    if audio {
        for _ in 0..16 {
            let port = free_rtp_port()?;
            if video_port.is_none_or(|video| port.abs_diff(video) > 1) {
                audio_port = Some(port);
                break;
            }
        }
        if audio_port.is_none() {
            return Err(std::io::Error::other("no second pair of loopback UDP ports"));
        }
    }
    Ok((video_port, audio_port))
}

/// A running ffmpeg and its output.
pub struct Transcoder {
    pub child: Child,
    pub output: ChildStdout,
}

/// Starts ffmpeg with the SDP on its stdin. Its diagnostics go to the server's log, where
/// nothing secret can appear: ffmpeg never sees a stream key.
pub async fn start(
    program: &std::path::Path,
    input: &Input,
    encoding: &Encoding,
) -> std::io::Result<Transcoder> {
    let mut child = Command::new(program)
        .args(arguments(input, encoding))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("no stdin"))?;
    stdin.write_all(sdp(input).as_bytes()).await?;
    // Closing stdin ends the SDP "file".
    drop(stdin);
    let output = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(log_diagnostics(stderr, "ffmpeg"));
    }
    Ok(Transcoder { child, output })
}

/// Whether a child that failed to start never will without an operator: its program is not
/// installed, or not executable. Other failures are worth another try.
pub fn cannot_run(error: &std::io::Error) -> bool {
    matches!(error.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied)
}

/// Logs what an ffmpeg prints on its standard error, line by line under `label`, until it
/// closes. Nothing secret reaches an ffmpeg, so nothing secret is logged.
pub async fn log_diagnostics(stderr: tokio::process::ChildStderr, label: &'static str) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::warn!(line = %line.chars().take(500).collect::<String>(), "{label}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h264() -> RtpCodec {
        RtpCodec {
            mime_type: "video/H264".to_owned(),
            clock_rate: 90000,
            channels: 0,
            fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".to_owned(),
            payload_type: 106,
        }
    }

    fn opus() -> RtpCodec {
        RtpCodec {
            mime_type: "audio/opus".to_owned(),
            clock_rate: 48000,
            channels: 2,
            fmtp: "minptime=10;useinbandfec=1".to_owned(),
            payload_type: 111,
        }
    }

    fn vp8_codec() -> RtpCodec {
        RtpCodec { mime_type: "video/VP8".to_owned(), fmtp: String::new(), payload_type: 96, ..h264() }
    }

    fn encoding() -> Encoding {
        Encoding {
            audio_bitrate_kbps: 128,
            x264_preset: "veryfast".to_owned(),
            x264_bitrate_kbps: 2500,
            keyframe_seconds: 2,
        }
    }

    #[test]
    fn the_sdp_names_each_kind_on_its_port() {
        let sdp = sdp(&Input { video: Some((h264(), 40000)), audio: Some((opus(), 40002)) });
        assert!(
            sdp.contains(
                "m=video 40000 RTP/AVP 106\r\na=rtpmap:106 H264/90000\r\na=fmtp:106 level-asymmetry"
            )
        );
        assert!(
            sdp.contains("m=audio 40002 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10")
        );
    }

    #[test]
    fn h264_is_copied_and_vp8_encoded_and_opus_becomes_aac() {
        let copied =
            arguments(&Input { video: Some((h264(), 40000)), audio: Some((opus(), 40002)) }, &encoding());
        let joined = copied.join(" ");
        assert!(joined.contains("-c:v copy"), "{joined}");
        assert!(joined.contains("-c:a aac -b:a 128k -ar 48000"), "{joined}");
        assert!(joined.ends_with("-f flv pipe:1"), "{joined}");
        let encoded =
            arguments(&Input { video: Some((vp8_codec(), 40000)), audio: None }, &encoding()).join(" ");
        assert!(encoded.contains("-c:v libx264 -preset veryfast"), "{encoded}");
        assert!(encoded.contains("-force_key_frames expr:gte(t,n_forced*2)"), "{encoded}");
        let for_hls = arguments(
            &Input { video: Some((vp8_codec(), 40000)), audio: None },
            &Encoding { keyframe_seconds: 1, ..encoding() },
        )
        .join(" ");
        assert!(for_hls.contains("-force_key_frames expr:gte(t,n_forced*1)"), "{for_hls}");
        assert!(!encoded.contains("-c:a"), "{encoded}");
    }

    #[test]
    fn a_bound_port_is_found_in_the_socket_table() {
        let table = "  sl  local_address rem_address   st\n   1: 0100007F:9C40 00000000:0000 07\n";
        assert!(udp_port_bound(table, 40000));
        assert!(!udp_port_bound(table, 40002));
    }

    #[test]
    fn free_ports_come_in_pairs() {
        let port = free_rtp_port().expect("a free port");
        assert_eq!(port % 2, 0);
    }
}
