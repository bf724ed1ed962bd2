//! The register of problem issues, as stored: issues, their sources, action plans, progress
//! and history. The rules (who may change what, which status may follow which, what is due)
//! are the core's and the HTTP adapter's; the store checks integrity and versions.

use jiff::Timestamp;
use jiff::civil::Date;
use kezdesu_core::issues::{EscalationLevel, IssueStatus, SourceKind};
use kezdesu_core::{AccountId, ActionItemId, IssueId, MeetingId, TerritoryId, ViewerId};

/// A problem issue with everything the register shows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterIssue {
    pub id: IssueId,
    pub meeting: Option<MeetingId>,
    pub territory: Option<TerritoryId>,
    pub title: String,
    pub description: String,
    pub category: Option<String>,
    pub status: IssueStatus,
    /// The rejection reason, or the note of the last change of status.
    pub status_note: Option<String>,
    pub level: Option<EscalationLevel>,
    pub accepted_at: Option<Timestamp>,
    pub escalated_at: Option<Timestamp>,
    pub on_briefing: bool,
    /// The people who support the issue: the sum over its sources, kept by the store.
    pub supporters: i64,
    /// Set once staff edit the title; until then a live question's wording is followed.
    pub title_edited: bool,
    pub merged_into: Option<IssueId>,
    /// The kind of source the issue was raised by; sources merged in later leave it.
    pub origin: SourceKind,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub sources: Vec<SourceRecord>,
    pub actions: Vec<ActionItem>,
    pub progress: Vec<ProgressUpdate>,
}

impl RegisterIssue {
    /// Raised by a question of a meeting's live channel (not merely joined by one later).
    pub fn raised_live(&self) -> bool {
        self.origin == SourceKind::LiveQuestion
    }
}

/// One source of an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    pub id: i64,
    pub kind: SourceKind,
    pub meeting: Option<MeetingId>,
    /// For a live question: its number in the meeting.
    pub question: Option<i64>,
    pub channel: Option<String>,
    pub external_id: Option<String>,
    pub text: String,
    pub supporters: i64,
    pub received_at: Timestamp,
    pub receipt_code: Option<String>,
}

/// The citizen behind a request or an entry. Personal data: shown to staff only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceContact {
    pub source: i64,
    pub contact: Contact,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItem {
    pub id: ActionItemId,
    pub issue: IssueId,
    pub plan: ActionPlanEntry,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an action-plan item says: the measure, who carries it out, by when, and its money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionPlanEntry {
    pub measure: String,
    pub executor_organisation: String,
    pub executor_person: String,
    pub deadline: Date,
    pub financing_needed: bool,
    /// Whole tenge.
    pub financing_amount: Option<i64>,
    /// The maslikhat session that considers the financing.
    pub maslikhat_session_on: Option<Date>,
    pub done_on: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressUpdate {
    pub id: i64,
    pub issue: IssueId,
    pub reported_on: Date,
    pub text: String,
    pub by: AccountId,
    pub by_name: String,
    pub created_at: Timestamp,
}

/// One change of an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub at: Timestamp,
    /// Null for changes made by the live channel.
    pub by: Option<AccountId>,
    pub by_name: Option<String>,
    pub action: String,
    /// JSON.
    pub detail: String,
}

/// A change to record in the history with the write it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub by: AccountId,
    pub action: &'static str,
    /// JSON; never a citizen's name or contact.
    pub detail: String,
}

/// A new issue with its first source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIssue {
    pub meeting: Option<MeetingId>,
    pub territory: Option<TerritoryId>,
    pub title: String,
    pub description: String,
    pub category: Option<String>,
    pub source: NewSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSource {
    pub kind: SourceKind,
    pub channel: Option<String>,
    pub external_id: Option<String>,
    pub text: String,
    pub supporters: i64,
    pub received_at: Timestamp,
    pub receipt_code: Option<String>,
    pub contact: Option<Contact>,
    pub created_by: Option<AccountId>,
}

/// Which issues to read; every field narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueFilter {
    pub meeting: Option<MeetingId>,
    /// Any of these territories.
    pub territories: Option<Vec<TerritoryId>>,
    /// Any of these statuses.
    pub statuses: Option<Vec<IssueStatus>>,
    /// Only issues being acted on (accepted, planned, in progress): the only ones that can be
    /// overdue.
    pub acting_only: bool,
    /// Any of these categories.
    pub categories: Option<Vec<String>>,
    pub level: Option<EscalationLevel>,
    /// Only issues in the public list (as `publicly_listed` decided at their last write).
    pub public_only: bool,
    /// Escalated within these instants (for the central collection).
    pub escalated_from: Option<Timestamp>,
    pub escalated_before: Option<Timestamp>,
    /// Raised within these instants.
    pub raised_from: Option<Timestamp>,
    pub raised_before: Option<Timestamp>,
    /// Also issues merged into others.
    pub include_merged: bool,
    /// Only issues with a greater id: reading a long list in id order, chunk by chunk.
    pub after: Option<IssueId>,
    pub order: IssueOrder,
    /// At most this many, after skipping `offset`.
    pub limit: Option<u32>,
    pub offset: u64,
}

/// The order of an issue list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IssueOrder {
    /// Most supporters first.
    Priority,
    Newest,
    #[default]
    Oldest,
    /// Most recently changed first.
    Updated,
}

/// What an import did: rows new to the register, and rows it already had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportCounts {
    pub created: u32,
    pub already_imported: u32,
}

/// What a receipt code follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// A request or an entry: its source row and the issue that holds it now.
    Source { source: SourceRecord, issue: IssueId },
    /// A viewer's comments: the issues any of them became part of.
    Viewer { viewer: ViewerId, meeting: MeetingId, issues: Vec<IssueId> },
}
