//! The replay of an ended meeting, planned from its recorded parts: pure, no IO.
//!
//! The parts are joined without re-encoding, so only parts with the same codecs can share a
//! file. Nearly always every on-air period of a meeting comes from one publisher, and there
//! is one file; a change of codec between periods (a browser's VP8, then OBS's H.264) starts a
//! new file, and the page plays the files one after another as one timeline.

use crate::store::RecordingPart;
use std::path::Path;

/// One file of the replay, and the parts it joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// 1, 2, … in the order they play.
    pub number: i64,
    /// The parts' ids, in order, each with where it starts in the file (ms).
    pub parts: Vec<(i64, i64)>,
    pub duration_ms: i64,
    pub container: Container,
}

/// What browsers play the codecs in, without re-encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// H.264 (with Opus if any): MP4, which every browser plays.
    Mp4,
    /// VP8 and Opus, or Opus alone: WebM.
    WebM,
}

impl Container {
    pub fn extension(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::WebM => "webm",
        }
    }

    /// The file's `Content-Type`; `has_video` false gives the audio type.
    pub fn content_type(self, has_video: bool) -> &'static str {
        match (self, has_video) {
            (Container::Mp4, true) => "video/mp4",
            (Container::Mp4, false) => "audio/mp4",
            (Container::WebM, true) => "video/webm",
            (Container::WebM, false) => "audio/webm",
        }
    }

    /// ffmpeg's name of the format.
    pub fn format(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::WebM => "webm",
        }
    }
}

/// The container for a part's codecs (`video/H264`, `audio/opus`, any case).
pub fn container_for(video_codec: Option<&str>, audio_codec: Option<&str>) -> Option<Container> {
    let name = |codec: &str| codec.rsplit('/').next().unwrap_or(codec).to_ascii_lowercase();
    let audio_ok = audio_codec.is_none_or(|codec| name(codec) == "opus");
    match video_codec.map(name).as_deref() {
        Some("h264") if audio_ok => Some(Container::Mp4),
        Some("vp8" | "vp9") if audio_ok => Some(Container::WebM),
        None if audio_codec.is_some() && audio_ok => Some(Container::WebM),
        _ => None,
    }
}

/// The replay's files for a meeting's closed parts: runs of consecutive parts with the same
/// codecs, each one file. Parts with nothing in them (a publisher who sent nothing, a file
/// lost) are left out, as are codecs no browser plays.
pub fn plan(parts: &[RecordingPart]) -> Vec<PlannedFile> {
    let mut ordered: Vec<&RecordingPart> =
        parts.iter().filter(|part| part.duration_ms.is_some_and(|duration| duration > 0)).collect();
    ordered.sort_by_key(|part| part.number);
    let mut files: Vec<PlannedFile> = Vec::new();
    let mut last_codecs: Option<(Option<String>, Option<String>)> = None;
    for part in ordered {
        let Some(container) = container_for(part.video_codec.as_deref(), part.audio_codec.as_deref()) else {
            continue;
        };
        let codecs = (
            part.video_codec.as_deref().map(str::to_ascii_lowercase),
            part.audio_codec.as_deref().map(str::to_ascii_lowercase),
        );
        let duration = part.duration_ms.unwrap_or(0);
        match files.last_mut() {
            Some(file) if last_codecs.as_ref() == Some(&codecs) => {
                file.parts.push((part.id, file.duration_ms));
                file.duration_ms += duration;
            }
            _ => files.push(PlannedFile {
                number: files.len() as i64 + 1,
                parts: vec![(part.id, 0)],
                duration_ms: duration,
                container,
            }),
        }
        last_codecs = Some(codecs);
    }
    files
}

/// The file of a replay, relative to the recordings' folder.
pub fn file_path(meeting_folder: &str, number: i64, container: Container) -> String {
    format!("{meeting_folder}/replay-{number}.{}", container.extension())
}

/// The concat demuxer's list of `paths` (absolute), each quoted as it asks.
pub fn concat_list(paths: &[&Path]) -> String {
    paths.iter().map(|path| format!("file '{}'\n", path.to_string_lossy().replace('\'', r"'\''"))).collect()
}

/// ffmpeg's arguments joining the parts listed in `list` into `output`, copying every stream.
pub fn concat_arguments(list: &Path, output: &Path, container: Container) -> Vec<String> {
    let mut args: Vec<String> =
        ["-hide_banner", "-loglevel", "error", "-nostats", "-f", "concat", "-safe", "0", "-i"]
            .map(str::to_owned)
            .to_vec();
    args.push(list.to_string_lossy().into_owned());
    args.extend(["-map", "0", "-c", "copy"].map(str::to_owned));
    if container == Container::Mp4 {
        // The index first, so that a browser starts playing before the whole file arrived.
        args.extend(["-movflags", "+faststart"].map(str::to_owned));
    }
    args.extend(["-f", container.format(), "-y"].map(str::to_owned));
    args.push(output.to_string_lossy().into_owned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use kezdesu_core::MeetingId;

    fn part(id: i64, video: Option<&str>, duration_ms: Option<i64>) -> RecordingPart {
        RecordingPart {
            id,
            meeting: MeetingId(4),
            number: id,
            node: "node-a".to_owned(),
            video_codec: video.map(str::to_owned),
            audio_codec: Some("audio/opus".to_owned()),
            started_at: Timestamp::UNIX_EPOCH,
            alive_until: Timestamp::UNIX_EPOCH,
            ended_at: Some(Timestamp::UNIX_EPOCH),
            duration_ms,
            bytes: Some(1000),
            file_number: None,
            offset_ms: None,
        }
    }

    #[test]
    fn periods_with_the_same_codecs_make_one_file_each_starting_where_the_last_ended() {
        let parts = [part(1, Some("video/H264"), Some(6000)), part(2, Some("video/h264"), Some(5500))];
        let files = plan(&parts);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].parts, vec![(1, 0), (2, 6000)]);
        assert_eq!(files[0].duration_ms, 11_500);
        assert_eq!(files[0].container, Container::Mp4);
    }

    #[test]
    fn a_change_of_codec_starts_a_new_file_and_empty_parts_are_left_out() {
        let parts = [
            part(3, Some("video/VP8"), Some(4000)),
            part(1, Some("video/VP8"), Some(2000)),
            part(2, Some("video/VP8"), Some(0)),
            part(4, Some("video/H264"), Some(3000)),
            part(5, Some("video/H264"), None),
        ];
        let files = plan(&parts);
        assert_eq!(files.len(), 2);
        assert_eq!(
            (files[0].number, files[0].container, files[0].parts.clone()),
            (1, Container::WebM, vec![(1, 0), (3, 2000)])
        );
        assert_eq!(
            (files[1].number, files[1].container, files[1].parts.clone()),
            (2, Container::Mp4, vec![(4, 0)])
        );
    }

    #[test]
    fn containers_are_what_browsers_play_the_codecs_in() {
        assert_eq!(container_for(Some("video/H264"), Some("audio/opus")), Some(Container::Mp4));
        assert_eq!(container_for(Some("video/VP8"), None), Some(Container::WebM));
        assert_eq!(container_for(None, Some("audio/opus")), Some(Container::WebM));
        assert_eq!(container_for(Some("video/AV1"), Some("audio/opus")), None);
        assert_eq!(container_for(None, None), None);
        assert_eq!(Container::WebM.content_type(false), "audio/webm");
    }

    #[test]
    fn the_concat_list_quotes_each_path() {
        let list = concat_list(&[Path::new("/r/meeting-1/part-0001.mkv"), Path::new("/it's/p.mkv")]);
        assert_eq!(list, "file '/r/meeting-1/part-0001.mkv'\nfile '/it'\\''s/p.mkv'\n");
        let args = concat_arguments(Path::new("l.txt"), Path::new("o.mp4"), Container::Mp4).join(" ");
        assert!(
            args.contains("-f concat -safe 0 -i l.txt -map 0 -c copy -movflags +faststart -f mp4 -y o.mp4"),
            "{args}"
        );
    }
}
