//! Recordings of the meetings' broadcasts, as stored: the recording's state, its parts (one a
//! on-air period) and the replay's files. The files themselves are in the recordings' folder;
//! only their names relative to it are stored.

use jiff::Timestamp;
use kezdesu_core::{AccountId, MeetingId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingState {
    /// Parts are being written (or the meeting has not ended yet).
    Recording,
    /// One node is making the replay.
    Processing,
    Ready,
    Failed,
    Deleted,
}

impl RecordingState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingState::Recording => "recording",
            RecordingState::Processing => "processing",
            RecordingState::Ready => "ready",
            RecordingState::Failed => "failed",
            RecordingState::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<RecordingState> {
        Some(match text {
            "recording" => RecordingState::Recording,
            "processing" => RecordingState::Processing,
            "ready" => RecordingState::Ready,
            "failed" => RecordingState::Failed,
            "deleted" => RecordingState::Deleted,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub meeting: MeetingId,
    pub state: RecordingState,
    pub error: Option<String>,
    pub deleted_at: Option<Timestamp>,
    pub deleted_by: Option<AccountId>,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// In order of their numbers.
    pub parts: Vec<RecordingPart>,
    /// In order of their numbers; empty until the replay is made.
    pub files: Vec<RecordingFile>,
}

/// One on-air period as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingPart {
    pub id: i64,
    pub meeting: MeetingId,
    /// 1, 2, … in the meeting, in the order they were started.
    pub number: i64,
    /// The node that writes (or wrote) it.
    pub node: String,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    pub started_at: Timestamp,
    /// Renewed while it is written; a lapsed open part is closed by the sweep.
    pub alive_until: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub duration_ms: Option<i64>,
    pub bytes: Option<i64>,
    /// Which replay file it is in, and where it starts there.
    pub file_number: Option<i64>,
    pub offset_ms: Option<i64>,
}

impl RecordingPart {
    /// Its file, relative to the recordings' folder.
    pub fn path(&self) -> String {
        part_path(self.meeting, self.number)
    }

    pub fn is_open(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// A part's file, relative to the recordings' folder.
pub fn part_path(meeting: MeetingId, number: i64) -> String {
    format!("{}/part-{number:04}.mkv", meeting_folder(meeting))
}

/// A meeting's folder, relative to the recordings' folder.
pub fn meeting_folder(meeting: MeetingId) -> String {
    format!("meeting-{}", meeting.0)
}

/// A part's codecs, as the publisher sent them (`video/H264`, `audio/opus`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartCodecs {
    pub video: Option<String>,
    pub audio: Option<String>,
}

/// How a part was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartEnd {
    pub ended_at: Timestamp,
    /// What a reader of the file finds (0 when it holds nothing readable).
    pub duration_ms: i64,
    pub bytes: i64,
}

/// One file of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingFile {
    pub number: i64,
    /// Relative to the recordings' folder.
    pub path: String,
    pub content_type: String,
    pub bytes: i64,
    pub duration_ms: i64,
}

/// Where a part landed in the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlacement {
    pub part_id: i64,
    pub file_number: i64,
    pub offset_ms: i64,
}
