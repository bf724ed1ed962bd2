//! HLS: a meeting's broadcast as a playlist of short MPEG-TS segments, for viewers whose
//! network blocks WebRTC and for a CDN in front of the server.
//!
//! HLS is one more local consumer of the meeting's FLV tags, beside the RTMP destinations: the
//! same H.264 (copied, or the one x264 encode of a VP8 publisher's video) and the same AAC the
//! platforms get, so the audio is encoded once whoever takes it. A second ffmpeg, the
//! *packager*, only copies: FLV in on its stdin ([`flv::Writer`]), segments and the playlist out
//! into `{data_dir}/hls/meeting-{id}/`, node-local and transient.
//!
//! - Segments are named by the packager's start in microseconds since the epoch, then one up
//!   per segment, so a packager started again never reuses a name a CDN may have cached as
//!   immutable.
//! - A segment is cut only at a keyframe: while HLS runs, the publisher is asked for one every
//!   0.9 s (x264 makes one a second by itself for a VP8 publisher), which keeps segments under
//!   2 s.
//! - Going off air closes the packager's input: ffmpeg writes the last segment and ends the
//!   playlist (`#EXT-X-ENDLIST`). The folder stays a minute for players still reading it, and
//!   every folder left by a stopped server is removed at start-up.
//!
//! It never writes outside its folder, never touches a destination or the rooms, and a failed
//! packager is only started again: it never stops the restream.

use super::transcoder::RtpCodec;
use super::{CODEC_WAIT, MeetingEgress, SessionTiming, Shared, TagFeed, WRITE_TIMEOUT, flv};
use crate::config::HlsConfig;
use kezdesu_core::MeetingId;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The playlist's file name in a meeting's folder.
pub const PLAYLIST: &str = "index.m3u8";
/// How often the publisher is asked for a keyframe while HLS runs: segments are cut at the
/// first keyframe after `hls.segment_seconds`, so this bounds them to about twice it.
const KEYFRAME_SCHEDULE: Duration = Duration::from_millis(900);
/// The pause before a packager that ended while on air is started again.
const PACKAGER_RESTART: Duration = Duration::from_secs(2);
/// How long a packager may take to write its last segment and end its playlist.
const PACKAGER_END_LIMIT: Duration = Duration::from_secs(5);
/// The pause before the publisher's codecs are waited for again.
const CODEC_RETRY: Duration = Duration::from_secs(1);
/// How long an ended playlist and its segments stay for players still reading them.
const KEEP_ENDED: Duration = Duration::from_secs(60);

/// Where HLS is written, and how.
#[derive(Debug, Clone)]
pub struct HlsSettings {
    pub config: HlsConfig,
    /// `{data_dir}/hls`: one folder per meeting below it.
    pub root: PathBuf,
}

/// A meeting's HLS as the HTTP side sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlsRendition {
    /// The folder its playlist and segments are written to.
    pub folder: PathBuf,
    /// On air: a playlist not written yet is coming. Off air, the ended playlist stays a while.
    pub on_air: bool,
}

/// A meeting's HLS while it is known here: on air, or ended and kept for a minute.
#[derive(Debug)]
pub(super) struct HlsEntry {
    /// Which run of the meeting's HLS it is: an older run's removal must not take a newer one's
    /// folder (the meeting went on air again within the minute).
    run: u64,
    rendition: HlsRendition,
}

/// The folder of a meeting's playlist and segments.
pub fn folder_of(root: &Path, meeting: MeetingId) -> PathBuf {
    root.join(format!("meeting-{}", meeting.0))
}

/// Whether `name` is a segment's name as the packager writes them: digits, then `.ts`. Nothing
/// else is ever looked up in a meeting's folder.
pub fn is_segment_name(name: &str) -> bool {
    name.strip_suffix(".ts").is_some_and(|digits| {
        (1..=20).contains(&digits.len()) && digits.bytes().all(|byte| byte.is_ascii_digit())
    })
}

/// Whether a broadcast of this video codec gets HLS: H.264 is copied; any other codec must be
/// encoded to H.264, which `hls.encode_vp8` may decline. Audio-only broadcasts get it too.
pub fn wanted_for(config: &HlsConfig, video: Option<&RtpCodec>) -> bool {
    config.enabled && video.is_none_or(|codec| codec.is_h264() || config.encode_vp8)
}

/// The packager's arguments: FLV on stdin copied, not encoded, into segments and a playlist in
/// `folder`.
pub fn packager_arguments(config: &HlsConfig, folder: &Path) -> Vec<String> {
    let mut args = super::transcoder::quiet_quick_start();
    args.extend(
        [
            "-f", "flv", "-i", "pipe:0", "-map", "0", "-c", "copy",
            // The server's timestamps run on across packager restarts, so the segments' do too.
            "-copyts", "-f", "hls",
        ]
        .map(str::to_owned),
    );
    let segment_seconds = config.segment_seconds.to_string();
    let list_size = config.list_size.to_string();
    args.extend(
        [
            "-hls_time",
            &segment_seconds,
            "-hls_list_size",
            &list_size,
            // Old segments go; each one starts at a keyframe; a segment or playlist appears
            // only whole (written aside, then renamed); each segment says when it was filmed.
            "-hls_flags",
            "delete_segments+independent_segments+temp_file+program_date_time",
            "-hls_start_number_source",
            "epoch_us",
            "-hls_segment_type",
            "mpegts",
            "-hls_segment_filename",
        ]
        .map(str::to_owned),
    );
    args.push(folder.join("%d.ts").to_string_lossy().into_owned());
    args.push(folder.join(PLAYLIST).to_string_lossy().into_owned());
    args
}

/// Removes every meeting's HLS folder a previous run of the server left: nothing serves them.
pub fn sweep(root: &Path) {
    match std::fs::remove_dir_all(root) {
        Ok(()) => tracing::info!(folder = %root.display(), "removed the HLS files of a previous run"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => tracing::warn!(folder = %root.display(), %error, "could not remove old HLS files"),
    }
}

impl Shared {
    /// The meeting's HLS, if it is on air here or ended less than a minute ago.
    pub(super) fn hls_rendition(&self, meeting: MeetingId) -> Option<HlsRendition> {
        let renditions = self.hls_renditions.lock().expect("the HLS map is never left poisoned");
        renditions.get(&meeting).map(|entry| entry.rendition.clone())
    }

    fn hls_begin(&self, meeting: MeetingId, folder: PathBuf) -> u64 {
        let run = self.hls_runs.fetch_add(1, Ordering::Relaxed);
        let entry = HlsEntry { run, rendition: HlsRendition { folder, on_air: true } };
        self.hls_renditions.lock().expect("the HLS map is never left poisoned").insert(meeting, entry);
        run
    }

    fn hls_ended(&self, meeting: MeetingId, run: u64) {
        let mut renditions = self.hls_renditions.lock().expect("the HLS map is never left poisoned");
        if let Some(entry) = renditions.get_mut(&meeting).filter(|entry| entry.run == run) {
            entry.rendition.on_air = false;
        }
    }

    /// Forgets the run's entry; whether it was still the meeting's latest.
    fn hls_forget(&self, meeting: MeetingId, run: u64) -> bool {
        let mut renditions = self.hls_renditions.lock().expect("the HLS map is never left poisoned");
        if renditions.get(&meeting).is_some_and(|entry| entry.run == run) {
            renditions.remove(&meeting);
            return true;
        }
        false
    }
}

/// A meeting's HLS while it is on air here: the packager, started again if it ends, and the
/// keyframe schedule. Ends when the meeting's egress stops.
pub(super) async fn run(shared: Arc<Shared>, egress: Arc<MeetingEgress>) {
    let stop = egress.stop.clone();
    let meeting = egress.meeting;
    let folder = folder_of(&shared.hls.root, meeting);
    // What a previous period left (its playlist said it ended) makes way for this one.
    let _ = tokio::fs::remove_dir_all(&folder).await;
    // Known from now on: until its first playlist, players are told it is coming.
    let run = shared.hls_begin(meeting, folder.clone());
    // The codecs decide whether there is HLS at all; they are waited for while on air.
    let codecs = loop {
        let codecs = tokio::select! {
            _ = stop.cancelled() => {
                shared.hls_forget(meeting, run);
                return;
            }
            codecs = egress.source.codecs(CODEC_WAIT) => codecs,
        };
        match codecs {
            Some(codecs) => break codecs,
            None => tokio::time::sleep(CODEC_RETRY).await,
        }
    };
    let video = codecs.video.as_ref().map(RtpCodec::from);
    let declined = if !wanted_for(&shared.hls.config, video.as_ref()) {
        Some("no HLS for this broadcast's video codec (hls.encode_vp8 = false)".to_owned())
    } else {
        tokio::fs::create_dir_all(&folder)
            .await
            .err()
            .map(|error| format!("could not make the HLS folder {}: {error}", folder.display()))
    };
    if let Some(why) = declined {
        tracing::warn!(%meeting, %why, "no HLS for this broadcast");
        shared.hls_forget(meeting, run);
        // The transcoder need not run for HLS: the supervisor looks again.
        egress.hls_declined.store(true, Ordering::Relaxed);
        egress.edited.notify_one();
        return;
    }
    // Only a copied H.264 needs the publisher's keyframes; x264 makes its own.
    let copied = video.as_ref().is_some_and(RtpCodec::is_h264);
    let ask_keyframes = async {
        if !copied {
            return std::future::pending().await;
        }
        loop {
            egress.source.request_scheduled_keyframe().await;
            tokio::time::sleep(KEYFRAME_SCHEDULE).await;
        }
    };
    let package = async {
        // One timeline for every packager of this period.
        let mut timing = SessionTiming::default();
        loop {
            shared.metrics.hls_packagers.inc();
            let outcome = package_once(&shared, &egress, &folder, &mut timing).await;
            shared.metrics.hls_packagers.dec();
            if stop.is_cancelled() {
                break;
            }
            shared.metrics.hls_packager_failures.inc();
            tracing::warn!(%meeting, reason = %outcome, "the HLS packager ended; starting it again");
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(PACKAGER_RESTART) => {}
            }
        }
    };
    tokio::select! {
        _ = package => {}
        _ = ask_keyframes => {}
    }
    shared.hls_ended(meeting, run);
    // Not one of the meeting's egress tasks: a publisher coming back must not wait a minute.
    let keeper = shared.clone();
    shared.tasks.spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(KEEP_ENDED) => {}
            // At shutdown: the next start-up sweeps them anyway.
            _ = keeper.stop.cancelled() => {}
        }
        if keeper.hls_forget(meeting, run) {
            let _ = tokio::fs::remove_dir_all(&folder).await;
        }
    });
}

/// Runs the packager once: from the next keyframe until it fails or the meeting goes off air
/// (then it ends the playlist). Returns why it ended.
async fn package_once(
    shared: &Shared,
    egress: &MeetingEgress,
    folder: &Path,
    timing: &mut SessionTiming,
) -> String {
    let stop = &egress.stop;
    let (mut feed, mut held) = TagFeed::start(egress);
    egress.source.request_keyframe().await;
    // The stream's configuration, then its first frame: ffmpeg is started once both are known,
    // so its FLV header says truly which kinds the stream has.
    let first = loop {
        let tag = tokio::select! {
            _ = stop.cancelled() => return "stopped".to_owned(),
            tag = feed.next(egress) => tag,
        };
        match tag {
            None => return "the stream ended".to_owned(),
            Some(tag) if tag.is_configuration() => {
                held.retain(|kept| kept.kind != tag.kind);
                held.push(tag);
            }
            Some(tag) => break tag,
        }
    };
    let audio = held.iter().chain([&first]).any(|tag| tag.kind == flv::TagKind::Audio);
    let video = egress.has_video.load(Ordering::Relaxed);
    let program = &shared.config.ffmpeg;
    let mut child = match Command::new(program)
        .args(packager_arguments(&shared.hls.config, folder))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(error) => return format!("could not start {}: {error}", program.display()),
    };
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(super::transcoder::log_diagnostics(stderr, "ffmpeg (HLS packager)"));
    }
    let Some(mut input) = child.stdin.take() else { return "the packager has no stdin".to_owned() };
    let mut writer = flv::Writer::new();
    writer.header(audio, video);
    // ffmpeg's FLV reader takes a script tag stamped after 0 for a data stream, which the HLS
    // muxer refuses: the metadata goes first at 0, the sequence headers with the first frame.
    let start = timing.stamp(first.timestamp);
    for tag in held.iter().chain([&first]) {
        writer.tag(tag, if tag.kind == flv::TagKind::Script { 0 } else { start });
    }
    let outcome = loop {
        let bytes = writer.take();
        let written = tokio::select! {
            _ = stop.cancelled() => break "stopped".to_owned(),
            written = tokio::time::timeout(WRITE_TIMEOUT, input.write_all(&bytes)) => written,
        };
        match written {
            Ok(Ok(())) => {}
            Ok(Err(error)) => break format!("writing to the packager: {error}"),
            Err(_) => break "the packager stopped taking the stream".to_owned(),
        }
        let tag = tokio::select! {
            _ = stop.cancelled() => break "stopped".to_owned(),
            tag = feed.next(egress) => tag,
        };
        let Some(tag) = tag else { break "the stream ended".to_owned() };
        // New metadata (a transcoder started again) would be a data stream now: the stream's
        // kinds and codecs are set already, and its sequence headers still come through.
        if tag.kind == flv::TagKind::Script {
            continue;
        }
        writer.tag(&tag, timing.stamp(tag.timestamp));
    };
    // The end of its input makes ffmpeg write the last segment and end the playlist.
    drop(input);
    if tokio::time::timeout(PACKAGER_END_LIMIT, child.wait()).await.is_err() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(mime_type: &str) -> RtpCodec {
        RtpCodec {
            mime_type: mime_type.to_owned(),
            clock_rate: 90000,
            channels: 0,
            fmtp: String::new(),
            payload_type: 96,
        }
    }

    #[test]
    fn the_packager_copies_into_short_segments_named_never_twice() {
        let config = HlsConfig::default();
        let args = packager_arguments(&config, Path::new("/data/hls/meeting-7")).join(" ");
        assert!(
            args.contains("-f flv -i pipe:0 -map 0 -c copy -copyts -f hls -hls_time 1 -hls_list_size 6"),
            "{args}"
        );
        assert!(
            args.contains("-hls_flags delete_segments+independent_segments+temp_file+program_date_time"),
            "{args}"
        );
        assert!(args.contains("-hls_start_number_source epoch_us"), "{args}");
        assert!(
            args.ends_with("-hls_segment_filename /data/hls/meeting-7/%d.ts /data/hls/meeting-7/index.m3u8"),
            "{args}"
        );
        assert!(!args.contains("aac") && !args.contains("libx264"), "nothing is encoded twice: {args}");
    }

    #[test]
    fn only_the_packagers_segment_names_are_looked_up() {
        for good in ["0.ts", "1796666230271087.ts", "12345678901234567890.ts"] {
            assert!(is_segment_name(good), "{good}");
        }
        for bad in [
            ".ts",
            "123456789012345678901.ts",
            "index.m3u8",
            "../1.ts",
            "1.ts.tmp",
            "1a.ts",
            "-1.ts",
            "+1.ts",
            "1.TS",
            "١.ts",
            "",
        ] {
            assert!(!is_segment_name(bad), "{bad}");
        }
    }

    #[test]
    fn vp8_gets_hls_only_if_it_may_be_encoded() {
        let config = HlsConfig::default();
        assert!(wanted_for(&config, Some(&codec("video/H264"))));
        assert!(wanted_for(&config, Some(&codec("video/VP8"))));
        assert!(wanted_for(&config, None), "audio only");
        let no_vp8 = HlsConfig { encode_vp8: false, ..HlsConfig::default() };
        assert!(wanted_for(&no_vp8, Some(&codec("video/h264"))));
        assert!(!wanted_for(&no_vp8, Some(&codec("video/VP8"))));
        let off = HlsConfig { enabled: false, ..HlsConfig::default() };
        assert!(!wanted_for(&off, Some(&codec("video/H264"))));
    }

    #[test]
    fn each_meeting_has_its_folder() {
        assert_eq!(folder_of(Path::new("/d/hls"), MeetingId(42)), PathBuf::from("/d/hls/meeting-42"));
    }
}
