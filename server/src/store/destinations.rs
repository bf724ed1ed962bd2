//! Restream destinations, as stored. The stream key is only ever held sealed here.

use jiff::Timestamp;
use kezdesu_core::restream::Platform;
use kezdesu_core::{AccountId, MeetingId};

/// Whose destination it is: a meeting's own, or an akim's default for their new meetings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationOwner {
    Meeting(MeetingId),
    Account(AccountId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub id: i64,
    pub owner: DestinationOwner,
    pub platform: Platform,
    /// What the akimat calls it, e.g. "Akimat's YouTube channel"; may be empty.
    pub name: String,
    pub ingest_url: String,
    /// The stream key sealed with the server's secret key (`secrets::Sealer`).
    pub stream_key_sealed: String,
    /// The key's masked form, shown instead of it.
    pub key_hint: String,
    pub enabled: bool,
    /// Bumped by every update; an update names the version it read.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A destination's fields as written (a new one, or the whole of an edited one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationFields {
    pub platform: Platform,
    pub name: String,
    pub ingest_url: String,
    pub stream_key_sealed: String,
    pub key_hint: String,
    pub enabled: bool,
}

impl Destination {
    pub fn fields(&self) -> DestinationFields {
        DestinationFields {
            platform: self.platform,
            name: self.name.clone(),
            ingest_url: self.ingest_url.clone(),
            stream_key_sealed: self.stream_key_sealed.clone(),
            key_hint: self.key_hint.clone(),
            enabled: self.enabled,
        }
    }
}
