//! Akims' yearly calendars and personal receptions, as stored.

use jiff::Timestamp;
use kezdesu_core::reception::Official;
use kezdesu_core::yearly::{Approval, Entry};
use kezdesu_core::{AccountId, IssueId, MeetingId, TerritoryId};

/// One revision of an akim's calendar for a year, with the meetings it plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarRevision {
    pub id: i64,
    pub akim: AccountId,
    /// The territory the akim governed when the revision was started.
    pub territory: TerritoryId,
    pub year: i16,
    /// 1 for the first; each correction adds one.
    pub revision: u32,
    pub approval: Approval,
    /// Why the correction was made; empty for the first revision.
    pub reason: String,
    pub entries: Vec<Entry>,
    pub version: i64,
    pub created_by: Option<AccountId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new revision: the first of a year (with its planned meetings) or a correction, which starts
/// from the meetings of the revision before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevision {
    pub akim: AccountId,
    pub territory: TerritoryId,
    pub year: i16,
    /// The revision number the caller saw last (`None`: there was none). Two corrections started
    /// at once both name the same one, and the second is refused.
    pub after: Option<u32>,
    pub reason: String,
    /// For a first revision; a correction copies the previous revision's.
    pub entries: Vec<Entry>,
    pub created_by: AccountId,
}

/// A personal reception slot after a meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceptionSlot {
    pub id: i64,
    pub meeting: MeetingId,
    pub starts_at: Timestamp,
    pub minutes: u32,
    pub place: String,
    pub officials: Vec<Official>,
    pub capacity: u32,
    /// Bookings not cancelled.
    pub booked: u32,
    pub cancelled_at: Option<Timestamp>,
}

/// A citizen's booking of a reception slot. The name and contact are personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: i64,
    pub slot: i64,
    pub name: String,
    pub contact: String,
    pub topic: String,
    pub cancelled_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// The problem issues the reception raised.
    pub issues: Vec<IssueId>,
}

/// A booking as its citizen asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBooking {
    pub slot: i64,
    pub name: String,
    pub contact: String,
    pub topic: String,
    /// The SHA-256 of the normalized contact: a person books a slot once.
    pub contact_hash: String,
    /// The SHA-256 of the booking's receipt code; only its holder reads or cancels the booking.
    pub code_hash: String,
}

/// An issue raised for a meeting and taken up, as the compliance dashboard reads it: no text,
/// only dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActedIssueDates {
    pub meeting: MeetingId,
    pub accepted_at: Timestamp,
    /// When it was closed (resolved, rejected, escalated), if it is no longer acted on.
    pub closed_at: Option<Timestamp>,
    /// When each of its progress reports was published.
    pub progress: Vec<Timestamp>,
}

/// Which revisions to list; every field narrows the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevisionFilter {
    pub akim: Option<AccountId>,
    pub year: Option<i16>,
}
