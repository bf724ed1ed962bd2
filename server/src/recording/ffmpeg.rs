//! The ffmpeg and ffprobe runs of recording: their arguments (pure, tested here) and running
//! them. Nothing secret is ever on these command lines: a recording's paths and codecs only.

use crate::egress::transcoder::{self, Input};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

/// The recorder's arguments: the broadcast's RTP (described by the SDP on stdin) copied, not
/// re-encoded, into a Matroska file at `output`.
///
/// Matroska is written as it goes, one cluster a second, each flushed: a server killed
/// mid-broadcast leaves a file readable up to its last second, whose length a remux then
/// records ([`remux_arguments`]).
pub fn recorder_arguments(input: &Input, output: &Path) -> Vec<String> {
    let mut args = transcoder::input_arguments();
    if input.video.is_some() {
        args.extend(["-map", "0:v:0"].map(str::to_owned));
    }
    if input.audio.is_some() {
        args.extend(["-map", "0:a:0"].map(str::to_owned));
    }
    args.extend(
        ["-c", "copy", "-f", "matroska", "-cluster_time_limit", "1000", "-flush_packets", "1", "-y"]
            .map(str::to_owned),
    );
    args.push(output.to_string_lossy().into_owned());
    args
}

/// A remux of a part into `output`, copying everything: it writes the length and the index
/// a killed recorder never wrote.
pub fn remux_arguments(part: &Path, output: &Path) -> Vec<String> {
    let mut args: Vec<String> =
        ["-hide_banner", "-loglevel", "error", "-nostats", "-i"].map(str::to_owned).to_vec();
    args.push(part.to_string_lossy().into_owned());
    args.extend(["-map", "0", "-c", "copy", "-f", "matroska", "-y"].map(str::to_owned));
    args.push(output.to_string_lossy().into_owned());
    args
}

/// ffprobe's arguments for a file's length in seconds (one number, or `N/A`).
pub fn duration_arguments(file: &Path) -> Vec<String> {
    let mut args: Vec<String> =
        ["-v", "error", "-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1"]
            .map(str::to_owned)
            .to_vec();
    args.push(file.to_string_lossy().into_owned());
    args
}

/// ffprobe's answer to [`duration_arguments`], in milliseconds; `None` when it has none.
pub fn parse_duration(output: &str) -> Option<i64> {
    let seconds: f64 = output.trim().lines().next()?.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).round() as i64)
}

/// Starts the recorder with the SDP on its stdin.
pub async fn start_recorder(program: &Path, input: &Input, output: &Path) -> std::io::Result<Child> {
    let mut child = Command::new(program)
        .args(recorder_arguments(input, output))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // A recorder outliving its task (a panic) would hold the part open for ever.
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("no stdin"))?;
    stdin.write_all(transcoder::sdp(input).as_bytes()).await?;
    drop(stdin);
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(transcoder::log_diagnostics(stderr, "ffmpeg (recorder)"));
    }
    Ok(child)
}

/// An RTCP goodbye from `ssrc` (RFC 3550 §6.6, BYE), in the compound packet RTCP asks for: an
/// empty receiver report, then the BYE. (ffmpeg also drops any RTCP datagram under 12 bytes,
/// so a lone BYE is never heard.)
pub fn goodbye_packet(ssrc: u32) -> [u8; 16] {
    let [a, b, c, d] = ssrc.to_be_bytes();
    [
        // Version 2, no report blocks, packet type 201 (RR), length 1 (32-bit words after the first).
        0x80, 201, 0, 1, a, b, c, d, //
        // Version 2, one source, packet type 203 (BYE), length 1.
        0x81, 203, 0, 1, a, b, c, d,
    ]
}

/// Tells the recorder each stream ended, on its RTCP port (the RTP port's next): ffmpeg's RTP
/// input ends (EOF) once every stream said goodbye, and the recorder then writes its file's end.
pub async fn say_goodbye(input: &Input) {
    let Ok(socket) = tokio::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await else { return };
    let ports = [input.video.as_ref(), input.audio.as_ref()].into_iter().flatten().map(|(_, port)| *port);
    for (index, port) in ports.enumerate() {
        let packet = goodbye_packet(0x6b65_7a00 + index as u32);
        let _ = socket.send_to(&packet, (std::net::Ipv4Addr::LOCALHOST, port.saturating_add(1))).await;
    }
}

/// Ends a recorder the way that lets it write its file's end: it is given `grace` to end by
/// itself (after its goodbye), then SIGTERM and `grace` more, then SIGKILL.
pub async fn stop_gracefully(child: &mut Child, grace: Duration) {
    if tokio::time::timeout(grace, child.wait()).await.is_ok() {
        return;
    }
    if let Some(pid) = child.id() {
        terminate(pid).await;
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
}

/// Sends SIGTERM to `pid` through kill(1): the crate forbids `unsafe`, and this is rare.
async fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

/// Runs ffmpeg to the end with `args`; an error says what it printed.
pub async fn run_ffmpeg(program: &Path, args: &[String], limit: Duration) -> Result<(), String> {
    let run = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(limit, run).await {
        Err(_) => Err(format!("{} did not finish within {} s", program.display(), limit.as_secs())),
        Ok(Err(error)) => Err(format!("could not run {}: {error}", program.display())),
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => Err(format!(
            "{} failed ({}): {}",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).chars().take(300).collect::<String>()
        )),
    }
}

/// A file's length by ffprobe, in milliseconds; `None` when it cannot tell.
pub async fn probe_duration(ffprobe: &Path, file: &Path) -> Option<i64> {
    let run = Command::new(ffprobe)
        .args(duration_arguments(file))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run).await.ok()?.ok()?;
    parse_duration(&String::from_utf8_lossy(&output.stdout))
}

/// A temporary name beside `path` (`part-0001.mkv` → `part-0001.mkv.tmp.mkv`), keeping the
/// extension ffmpeg chooses its format by.
pub fn temporary_beside(path: &Path) -> PathBuf {
    let extension = path.extension().and_then(|extension| extension.to_str()).unwrap_or("tmp");
    let mut name = path.file_name().map(|name| name.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp.{extension}"));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::transcoder::RtpCodec;

    fn codec(mime_type: &str, payload_type: u8) -> RtpCodec {
        RtpCodec {
            mime_type: mime_type.to_owned(),
            clock_rate: 90000,
            channels: 0,
            fmtp: String::new(),
            payload_type,
        }
    }

    #[test]
    fn the_recorder_copies_both_kinds_into_matroska_written_as_it_goes() {
        let input = Input {
            video: Some((codec("video/H264", 96), 40000)),
            audio: Some((codec("audio/opus", 111), 40002)),
        };
        let args = recorder_arguments(&input, Path::new("/rec/meeting-3/part-0001.mkv")).join(" ");
        assert!(args.contains("-f sdp -i pipe:0 -map 0:v:0 -map 0:a:0 -c copy -f matroska"), "{args}");
        assert!(args.contains("-cluster_time_limit 1000 -flush_packets 1"), "{args}");
        assert!(args.ends_with("/rec/meeting-3/part-0001.mkv"), "{args}");
        assert!(!args.contains("libx264") && !args.contains("aac"), "nothing is re-encoded: {args}");
        let audio_only = Input { video: None, audio: Some((codec("audio/opus", 111), 40002)) };
        let args = recorder_arguments(&audio_only, Path::new("a.mkv")).join(" ");
        assert!(!args.contains("0:v"), "{args}");
    }

    #[test]
    fn a_goodbye_is_an_rtcp_bye_of_one_source() {
        let packet = goodbye_packet(0x0102_0304);
        assert_eq!(packet[..8], [0x80, 0xc9, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04], "an empty receiver report");
        assert_eq!(packet[8..], [0x81, 0xcb, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04], "then the goodbye");
    }

    #[test]
    fn ffprobe_durations_are_read_in_milliseconds() {
        assert_eq!(parse_duration("8.021000\n"), Some(8021));
        assert_eq!(parse_duration("N/A\n"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("-1"), None);
    }

    #[test]
    fn a_temporary_file_keeps_its_extension() {
        assert_eq!(temporary_beside(Path::new("/r/replay-1.mp4")), PathBuf::from("/r/replay-1.mp4.tmp.mp4"));
        let remux = remux_arguments(Path::new("p.mkv"), Path::new("p.mkv.tmp.mkv")).join(" ");
        assert_eq!(
            remux,
            "-hide_banner -loglevel error -nostats -i p.mkv -map 0 -c copy -f matroska -y p.mkv.tmp.mkv"
        );
    }
}
