//! Platform comments, as stored: an akim's connected accounts (sealed) and what each meeting
//! follows, with its reader's cursor and last status.

use jiff::Timestamp;
use kezdesu_core::platforms::{Follow, SocialPlatform};
use kezdesu_core::{AccountId, MeetingId};

/// An akim's connected account on one platform. The credential is only ever held sealed here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformCredentialRecord {
    pub account: AccountId,
    pub platform: SocialPlatform,
    /// The core's `Credential` as JSON, sealed with the server's secret key.
    pub credential_sealed: String,
    /// The credential's masked form, shown instead of it.
    pub hint: String,
    pub connected_at: Timestamp,
}

/// What a meeting follows on one platform, and where its reader stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingPlatform {
    pub meeting: MeetingId,
    pub follow: Follow,
    /// Where the next read starts; written with the comments read up to it.
    pub cursor: Option<String>,
    /// The reader's last status as JSON (`wire::PlatformStatus`), for nodes that do not run it.
    pub status: Option<String>,
    /// Bumped by every change of `follow`, so that a reader can tell it must start over.
    pub version: i64,
    pub updated_at: Timestamp,
}

impl MeetingPlatform {
    pub fn platform(&self) -> SocialPlatform {
        self.follow.platform()
    }
}

/// The cursor a batch of platform comments was read up to; committed with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedCursor {
    pub platform: SocialPlatform,
    pub cursor: String,
}

/// A meeting's feed together with the credential of the meeting's akim for its platform, if
/// connected: what a reader needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFeed {
    pub feed: MeetingPlatform,
    pub akim: AccountId,
    pub credential: Option<PlatformCredentialRecord>,
}

/// A platform author seen for the first time by a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlatformAuthor {
    pub platform_user_id: String,
    pub display_name: String,
    /// A hash of a token nobody holds: the viewer is never signed in as.
    pub token_hash: String,
}
