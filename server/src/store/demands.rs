//! Meetings at the population's demand, as stored.

use jiff::Timestamp;
use kezdesu_core::{MeetingId, TerritoryId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    pub id: i64,
    pub territory: TerritoryId,
    pub title: String,
    pub text: String,
    pub supporters: i64,
    pub reached_at: Option<Timestamp>,
    pub meeting: Option<MeetingId>,
    pub created_at: Timestamp,
}

/// A supporter: the hash of their normalized contact tells them apart; the name and contact
/// are kept for the akimat only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supporter {
    pub identity_hash: String,
    pub name: String,
    pub contact: String,
}
