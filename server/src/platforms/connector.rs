//! What every platform client offers the supervisor: fetch a batch of comments after a
//! cursor, and send a moderation action back. Each platform's file (`youtube.rs`,
//! `telegram.rs`, `vk.rs`, `facebook.rs`) follows that platform's documented HTTP API and
//! nothing else; the supervisor (`mod.rs`) owns the loop, the status and the back-off.
//!
//! A client never reads the store or talks to a room: it turns the platform's JSON into
//! [`Fetched`] and [`FetchError`], and its moderation calls into [`ActionError`].

use async_trait::async_trait;
use jiff::Timestamp;
use std::time::Duration;

/// Where each platform's API is, so that tests can point them at fakes.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `https://www.googleapis.com`: YouTube Data API v3 lives under `/youtube/v3/`.
    pub youtube_api: String,
    /// `https://oauth2.googleapis.com`: the refresh-token exchange is `POST /token`.
    pub youtube_oauth: String,
    /// `https://api.telegram.org`: methods are `/bot<token>/<method>`.
    pub telegram_api: String,
    /// `https://api.vk.com`: methods are `/method/<name>`; the long-poll server's own URL
    /// comes from `groups.getLongPollServer`.
    pub vk_api: String,
    /// `https://graph.facebook.com`, with the version as its own setting.
    pub facebook_graph: String,
    pub facebook_version: String,
}

/// One comment as the platform gave it, before Kezdesu's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformComment {
    /// The platform's id of the comment, unique on that platform (for VK and Telegram with the
    /// owner or chat folded in, see each client). Kezdesu enters a comment once per
    /// (platform, external_id).
    pub external_id: String,
    /// The platform's id of the author (YouTube channel id, Telegram user id, VK user id,
    /// Facebook app-scoped id). Seen by moderators only.
    pub author_id: String,
    pub author_name: String,
    /// The text as the platform sent it; Kezdesu cleans it as it cleans typed text.
    pub text: String,
    /// A link to the comment on the platform, where it has one.
    pub url: Option<String>,
    /// When the platform says it was written, if it says.
    pub published_at: Option<Timestamp>,
}

/// A batch read from the platform.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub comments: Vec<PlatformComment>,
    /// Where the next fetch starts; stored with the batch's comments in one transaction, so
    /// that a restart or another node resumes after it. `None` keeps the previous cursor.
    pub cursor: Option<String>,
    /// How long to wait before the next fetch (YouTube's `pollingIntervalMillis`); zero for a
    /// long poll, which has already waited on the platform's side.
    pub wait: Duration,
    /// YouTube quota units the calls of this fetch cost (0 elsewhere).
    pub quota_units: u64,
    /// What the client found out about what it follows (e.g. YouTube's `liveChatId` when
    /// only the broadcast was named), to show beside the status.
    pub resolved: Option<String>,
}

/// Why a fetch did not bring a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The platform asked to slow down (`quotaExceeded`, `rateLimitExceeded`, Telegram 429,
    /// VK error 6, Graph API codes 4/17/32/613): wait at least `retry_after` if it said.
    #[error("the platform asked to back off: {reason}")]
    BackOff { reason: String, retry_after: Option<Duration>, quota_units: u64 },
    /// The credential was revoked, expired for good, or lacks the rights: the connector
    /// stops until the akim connects the account again. No retry.
    #[error("the platform refused the credential: {reason}")]
    Unauthorized { reason: String },
    /// The answer did not follow the platform's documented shape.
    #[error("the platform's answer was malformed: {reason}")]
    Malformed { reason: String },
    /// What is followed does not exist or has ended (the chat is offline, the video gone).
    #[error("nothing to follow: {reason}")]
    Gone { reason: String },
    /// A network error, a timeout or a 5xx: retried with the usual back-off.
    #[error("{reason}")]
    Transient { reason: String },
}

/// A moderation action sent back to the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformAction {
    /// Remove (or hide, where the platform hides instead) one comment.
    Remove { external_id: String },
    /// Keep an author from commenting: for `minutes`, or for good when `None`.
    Ban { author_id: String, minutes: Option<u32> },
}

/// Why an action failed; shown to the moderator as the platform's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The platform has no such action (Facebook has no ban of a live video's commenter).
    #[error("the platform has no such action")]
    Unsupported,
    #[error("{reason}")]
    Refused { reason: String },
}

/// A connected platform client for one meeting's followed object.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Reads the comments after `cursor` (`None`: from where the platform starts a new reader).
    async fn fetch(&self, cursor: Option<&str>) -> Result<Fetched, FetchError>;

    /// Sends a moderation action back; its YouTube quota cost is added to the meeting's.
    async fn act(&self, action: &PlatformAction) -> Result<ActionOutcome, ActionError>;
}

/// What a successful action cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActionOutcome {
    pub quota_units: u64,
}
