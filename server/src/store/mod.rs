//! Persistence: what Kezdesu keeps, behind one interface.
//!
//! [`Store`] is the contract. `sqlite` is the embedded implementation and `postgres` the one
//! several nodes share; both run the same SQL (`sql/`), which is kept portable: `$N`
//! parameters, BIGINT instants in Unix milliseconds, no engine's own functions in queries.
//!
//! The store knows nothing of HTTP or of permissions. It checks integrity (unique logins,
//! existing references, the version a meeting update read) and reports violations as
//! [`StoreError`] values for the caller to map.

pub mod calendars;
pub mod demands;
pub mod destinations;
pub mod migrations;
pub mod platforms;
pub mod postgres;
pub mod recordings;
pub mod register;
pub mod sqlite;

pub use calendars::*;
pub use demands::*;
pub use destinations::*;
pub use platforms::*;
pub use recordings::*;
pub use register::*;

use async_trait::async_trait;
use jiff::Timestamp;
use kezdesu_core::platforms::{Follow, SocialPlatform};
use kezdesu_core::timer::PhaseRecord;
use kezdesu_core::{
    AccountId, ActionItemId, IssueId, LocalizedText, MeetingId, MeetingKind, MeetingStatus, Role, Share,
    TerritoryId, TerritoryKind, ViewerId,
};

/// A staff account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    /// argon2id PHC string; never leaves the server.
    pub password_hash: String,
    pub disabled: bool,
    /// For an akim: the territory they govern, which sets their level under the rule set.
    pub territory: Option<TerritoryId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub territory: Option<TerritoryId>,
}

/// Fields of an account to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
    pub territory: Option<TerritoryId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Territory {
    pub id: TerritoryId,
    pub kato: String,
    pub kind: TerritoryKind,
    pub name: LocalizedText,
    pub parent: Option<TerritoryId>,
}

impl Territory {
    /// The territory as the calendar rules see it: its kind and place in the tree.
    pub fn unit(&self) -> kezdesu_core::calendar::Unit {
        kezdesu_core::calendar::Unit { id: self.id, kind: self.kind, parent: self.parent }
    }
}

#[derive(Debug, Clone)]
pub struct NewTerritory {
    pub kato: String,
    pub kind: TerritoryKind,
    pub name: LocalizedText,
    pub parent: Option<TerritoryId>,
}

/// A meeting as stored: its plan, and the instants its phases began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    pub id: MeetingId,
    pub title: LocalizedText,
    pub territory: TerritoryId,
    pub akim: AccountId,
    pub planned_start: Timestamp,
    pub planned_minutes: u32,
    pub kind: MeetingKind,
    pub presentation_share: Share,
    pub cancelled_at: Option<Timestamp>,
    pub phases: PhaseRecord,
    /// When the meeting was announced to the population.
    pub announced_at: Option<Timestamp>,
    /// Announced later than the rule set's lead time (allowed for unscheduled meetings only).
    pub announced_late: bool,
    /// Where it is held, as announced; empty until known.
    pub place: String,
    /// Where it is streamed besides Kezdesu's own page (an http(s) address); empty if nowhere.
    pub online_link: String,
    /// Bumped by every update; an update names the version it read.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub title: LocalizedText,
    pub territory: TerritoryId,
    pub akim: AccountId,
    pub planned_start: Timestamp,
    pub planned_minutes: u32,
    pub kind: MeetingKind,
    pub presentation_share: Share,
    pub place: String,
    pub online_link: String,
}

/// Which meetings to list; every field narrows the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingFilter {
    pub status: Option<MeetingStatus>,
    pub territory: Option<TerritoryId>,
    /// Planned to start at or after this instant.
    pub from: Option<Timestamp>,
    /// Planned to start before this instant.
    pub to: Option<Timestamp>,
    /// At most this many, earliest planned start first.
    pub limit: u32,
}

impl MeetingFilter {
    /// The meetings in their presentation or Q&A.
    pub fn live() -> MeetingFilter {
        MeetingFilter {
            status: Some(MeetingStatus::Live),
            territory: None,
            from: None,
            to: None,
            limit: u32::MAX,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub id: ViewerId,
    pub meeting: MeetingId,
    pub display_name: String,
    pub expires_at: Timestamp,
}

/// What a token stands for, once its hash is found and it has not expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOwner {
    Staff { account: Account, expires_at: Timestamp },
    Viewer(Viewer),
}

/// One event of a meeting's live log, serialized once by its room.
// Carried on a meeting's event stream in Redis from its owner to the other nodes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveEventRecord {
    pub seq: u64,
    pub at: Timestamp,
    /// The event in full, as staff (and `public.audience`) see it.
    pub body: String,
    pub public: PublicForm,
}

/// How an event is shown to those who may not see it in full.
// Carried on a meeting's event stream in Redis from its owner to the other nodes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublicForm {
    /// What they see, when it differs from the full body.
    pub body: Option<String>,
    /// The one viewer besides moderators who sees the full body.
    pub audience: Option<ViewerId>,
    /// The public form carries nothing (a held or hidden comment).
    pub redacted: bool,
}

impl PublicForm {
    /// Everyone sees the event in full.
    pub const FULL: PublicForm = PublicForm { body: None, audience: None, redacted: false };
}

/// A new public form for an event already in the log: a comment hidden after it was posted
/// stops being replayed to the public, and one restored or released starts again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicFormUpdate {
    pub seq: u64,
    pub public: PublicForm,
}

/// A question of the live channel, as the meeting's issue list keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemIssue {
    pub meeting: MeetingId,
    /// The question's number within the meeting.
    pub question: i64,
    pub text: String,
    pub state: String,
    pub outcome: Option<String>,
    pub votes: i64,
    /// For a merged question: the number of the question it was merged into.
    pub merged_into: Option<i64>,
    pub created_at: Timestamp,
    pub sources: Vec<IssueSource>,
}

/// A meeting's stream key: the bearer credential for publishing by WHIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamKey {
    pub meeting: MeetingId,
    pub key: String,
    pub rotated_at: Timestamp,
}

/// A meeting's published results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingResults {
    pub meeting: MeetingId,
    pub summary: String,
    /// The first publication; later edits keep it.
    pub published_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A comment an issue came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueSource {
    pub comment: i64,
    pub author: ViewerId,
    pub author_name: String,
    pub text: String,
    pub posted_at: Timestamp,
    /// Where the comment was written, when on a platform (public form: no author id).
    pub source: Option<kezdesu_core::platforms::CommentSource>,
}

/// Which events of a log a reader may see in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogReader {
    /// Moderators and admins: every event in full.
    Staff,
    /// A viewer: public forms, and in full what is addressed to them.
    Viewer(ViewerId),
    /// Other staff (akims, commission members): public forms only.
    Public,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique value is taken, e.g. a login or a KATO code.
    #[error("{0} is already taken")]
    Taken(&'static str),
    /// A reference points at nothing, e.g. a meeting's territory.
    #[error("{0} does not exist")]
    MissingReference(&'static str),
    /// Somebody else updated the row since it was read.
    #[error("the record changed since it was read")]
    VersionConflict,
    /// The change would leave no enabled admin, and nobody could manage accounts again.
    #[error("this would leave no enabled admin")]
    LastAdmin,
    #[error("{0}")]
    Io(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(sqlx::Error),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    /// PostgreSQL ends one of two transactions that deadlocked, or could not serialize, with a
    /// retryable error; to the caller that is a write that lost a race, as a version conflict
    /// is. (SQLite's single writer never deadlocks.)
    fn from(error: sqlx::Error) -> StoreError {
        let lost_a_race = matches!(
            &error,
            sqlx::Error::Database(database) if matches!(database.code().as_deref(), Some("40P01" | "40001"))
        );
        if lost_a_race { StoreError::VersionConflict } else { StoreError::Database(error) }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything Kezdesu keeps. Implementations are shared between tasks, so they are `Sync`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers once the store can serve queries; used by `/healthz`.
    async fn ping(&self) -> StoreResult<()>;
    /// Flushes and closes the store; later calls fail.
    async fn close(&self);

    async fn count_accounts(&self) -> StoreResult<i64>;
    async fn create_account(&self, account: NewAccount, now: Timestamp) -> StoreResult<Account>;
    async fn account(&self, id: AccountId) -> StoreResult<Account>;
    async fn account_by_login(&self, login: &str) -> StoreResult<Option<Account>>;
    async fn accounts(&self) -> StoreResult<Vec<Account>>;
    /// Applies `changes`, refusing with [`StoreError::LastAdmin`] any that would leave no
    /// enabled admin; the check and the write are one statement, so two demotions at once
    /// cannot both pass it.
    async fn update_account(
        &self,
        id: AccountId,
        changes: AccountChanges,
        now: Timestamp,
    ) -> StoreResult<Account>;

    async fn create_staff_session(
        &self,
        account: AccountId,
        token_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    async fn delete_staff_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Ends every sign-in of an account, e.g. when it is disabled or its password changes, but
    /// `keep`: the sign-in (by its token's hash) of an admin who changed their own password.
    async fn delete_staff_sessions_of(&self, account: AccountId, keep: Option<&str>) -> StoreResult<()>;
    /// Drops expired sign-ins and viewer tokens; returns how many.
    async fn delete_expired_tokens(&self, now: Timestamp) -> StoreResult<u64>;
    /// Finds the live owner of a token by its hash: an enabled account or a viewer.
    async fn token_owner(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<TokenOwner>>;

    async fn create_territory(&self, territory: NewTerritory, now: Timestamp) -> StoreResult<Territory>;
    /// Adds `territories` in one transaction, in the order given (parents first); a parent is
    /// named by its KATO code. Returns how many were added.
    async fn import_territories(
        &self,
        territories: &[kezdesu_core::territory::TerritoryRow],
        now: Timestamp,
    ) -> StoreResult<u32>;
    async fn territory(&self, id: TerritoryId) -> StoreResult<Territory>;
    async fn territories(&self) -> StoreResult<Vec<Territory>>;

    async fn create_meeting(&self, meeting: NewMeeting, now: Timestamp) -> StoreResult<Meeting>;
    async fn meeting(&self, id: MeetingId) -> StoreResult<Meeting>;
    async fn meetings(&self, filter: MeetingFilter) -> StoreResult<Vec<Meeting>>;
    /// Writes every mutable field of `meeting` if its `version` is still the stored one, and
    /// returns the stored result with the version bumped.
    async fn update_meeting(&self, meeting: &Meeting, now: Timestamp) -> StoreResult<Meeting>;

    /// Appends a batch of live events and refreshes the problem issues they touched, in one
    /// transaction; with `meeting`, also writes the meeting (a phase change) under its version.
    /// Returns the stored meeting when one was written.
    /// With `cursor`, also stores where the meeting's reader of that platform stands, so that
    /// the comments and the cursor they were read up to are committed together.
    #[allow(clippy::too_many_arguments)]
    async fn commit_live(
        &self,
        meeting_id: MeetingId,
        events: &[LiveEventRecord],
        public_updates: &[PublicFormUpdate],
        issues: &[ProblemIssue],
        meeting: Option<&Meeting>,
        cursor: Option<&FeedCursor>,
        now: Timestamp,
    ) -> StoreResult<Option<Meeting>>;
    /// Events with `after < seq <= through`, in order, at most `limit`.
    async fn live_events(
        &self,
        meeting: MeetingId,
        after: u64,
        through: u64,
        limit: u32,
    ) -> StoreResult<Vec<LiveEventRecord>>;
    /// The last `count` events up to `through` that `reader` may see in full or in a public
    /// form that says something, in order.
    async fn recent_live_events(
        &self,
        meeting: MeetingId,
        reader: LogReader,
        through: u64,
        count: u32,
    ) -> StoreResult<Vec<LiveEventRecord>>;
    async fn problem_issues(&self, meeting: MeetingId) -> StoreResult<Vec<ProblemIssue>>;

    async fn create_viewer(
        &self,
        meeting: MeetingId,
        display_name: &str,
        token_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Viewer>;

    /// The published results of those of `meetings` that have them, in one query.
    async fn meeting_results_of(&self, meetings: &[MeetingId]) -> StoreResult<Vec<MeetingResults>>;
    /// The meeting's published results, if any.
    async fn meeting_results(&self, meeting: MeetingId) -> StoreResult<Option<MeetingResults>> {
        Ok(self.meeting_results_of(&[meeting]).await?.pop())
    }
    /// Publishes the meeting's results, or edits them, keeping the first publication instant.
    async fn publish_meeting_results(
        &self,
        meeting: MeetingId,
        summary: &str,
        by: AccountId,
        now: Timestamp,
    ) -> StoreResult<MeetingResults>;

    /// Adds an issue with its first source; returns its id.
    async fn create_issue(&self, issue: NewIssue, now: Timestamp) -> StoreResult<IssueId>;
    /// Adds every issue in one transaction, skipping those whose `(channel, external_id)` the
    /// register already has.
    async fn import_issues(&self, issues: Vec<NewIssue>, now: Timestamp) -> StoreResult<ImportCounts>;
    async fn issue(&self, id: IssueId) -> StoreResult<RegisterIssue>;
    /// The issues matching `filter`, in its order and page, with sources, plans and progress.
    async fn issues(&self, filter: &IssueFilter) -> StoreResult<Vec<RegisterIssue>>;
    /// How many issues match `filter`, ignoring its page.
    async fn count_issues(&self, filter: &IssueFilter) -> StoreResult<u64>;
    /// Writes the issue's own fields if its `version` is still the stored one, with `change` in
    /// the history, in one transaction.
    async fn update_issue(
        &self,
        issue: &RegisterIssue,
        change: Change,
        now: Timestamp,
    ) -> StoreResult<RegisterIssue>;
    /// Merges `from` into `into`: every source of `from` moves to `into` and `from` points at
    /// it. Both must be unmerged; both histories record it.
    async fn merge_issues(
        &self,
        from: IssueId,
        into: IssueId,
        by: AccountId,
        now: Timestamp,
    ) -> StoreResult<RegisterIssue>;
    async fn add_action_item(
        &self,
        issue: IssueId,
        entry: &ActionPlanEntry,
        change: Change,
        now: Timestamp,
    ) -> StoreResult<ActionItem>;
    async fn update_action_item(
        &self,
        item: ActionItemId,
        entry: &ActionPlanEntry,
        change: Change,
        now: Timestamp,
    ) -> StoreResult<ActionItem>;
    async fn add_progress(
        &self,
        issue: IssueId,
        reported_on: jiff::civil::Date,
        text: &str,
        change: Change,
        now: Timestamp,
    ) -> StoreResult<ProgressUpdate>;
    async fn issue_history(&self, issue: IssueId) -> StoreResult<Vec<HistoryEntry>>;
    /// The names and contacts on an issue's sources. Personal data: for staff only.
    async fn source_contacts(&self, issue: IssueId) -> StoreResult<Vec<SourceContact>>;
    async fn receipt(&self, code: &str) -> StoreResult<Option<Receipt>>;
    /// The viewer's receipt code: `code` if they had none yet, else the one they have.
    async fn viewer_receipt(
        &self,
        viewer: ViewerId,
        meeting: MeetingId,
        code: &str,
        now: Timestamp,
    ) -> StoreResult<String>;

    /// Raises a demand for a meeting, with its first supporter.
    async fn create_demand(
        &self,
        territory: TerritoryId,
        title: &str,
        text: &str,
        first: &Supporter,
        reached: &(dyn Fn(u32) -> bool + Sync),
        now: Timestamp,
    ) -> StoreResult<Demand>;
    /// Adds a supporter, once per identity ([`StoreError::Taken`] for a second time). When
    /// `reached(count)` says the new count reaches the threshold, the demand records the
    /// instant, in the same transaction.
    async fn support_demand(
        &self,
        demand: i64,
        supporter: &Supporter,
        reached: &(dyn Fn(u32) -> bool + Sync),
        now: Timestamp,
    ) -> StoreResult<Demand>;
    async fn demand(&self, id: i64) -> StoreResult<Demand>;
    /// Demands on any of `territories` (all when `None`), newest first.
    async fn demands(&self, territories: Option<&[TerritoryId]>) -> StoreResult<Vec<Demand>>;
    /// Records the meeting scheduled for a demand.
    async fn meet_demand(&self, demand: i64, meeting: MeetingId, now: Timestamp) -> StoreResult<Demand>;

    /// Starts a calendar revision as a draft: the first of its year with `new.entries`, or a
    /// correction with the previous revision's meetings. [`StoreError::VersionConflict`] when
    /// the latest revision is no longer `new.after`.
    async fn create_revision(&self, new: NewRevision, now: Timestamp) -> StoreResult<CalendarRevision>;
    async fn revision(&self, id: i64) -> StoreResult<CalendarRevision>;
    /// Revisions by year, akim and number.
    async fn revisions(&self, filter: RevisionFilter) -> StoreResult<Vec<CalendarRevision>>;
    /// Replaces a draft's planned meetings, if it is still a draft at `version`.
    async fn replace_calendar_entries(
        &self,
        revision: i64,
        version: i64,
        entries: &[kezdesu_core::yearly::Entry],
        now: Timestamp,
    ) -> StoreResult<CalendarRevision>;
    /// Records a step of a revision's approval, if it is still at `version`.
    async fn set_calendar_approval(
        &self,
        revision: i64,
        version: i64,
        approval: &kezdesu_core::yearly::Approval,
        now: Timestamp,
    ) -> StoreResult<CalendarRevision>;

    /// The issues raised for a meeting and taken up (unmerged), with their acceptance, closing
    /// and progress instants only.
    async fn acted_issue_dates(&self) -> StoreResult<Vec<ActedIssueDates>>;

    async fn create_reception(
        &self,
        meeting: MeetingId,
        slot: &kezdesu_core::reception::SlotDraft,
        now: Timestamp,
    ) -> StoreResult<ReceptionSlot>;
    async fn reception(&self, id: i64) -> StoreResult<ReceptionSlot>;
    /// A meeting's reception slots, earliest first.
    async fn receptions(&self, meeting: MeetingId) -> StoreResult<Vec<ReceptionSlot>>;
    async fn cancel_reception(&self, id: i64, now: Timestamp) -> StoreResult<ReceptionSlot>;
    /// Takes a place in a slot atomically; `None` when the slot is full, cancelled or has begun.
    async fn book_reception(&self, booking: &NewBooking, now: Timestamp) -> StoreResult<Option<Booking>>;
    async fn bookings(&self, slot: i64) -> StoreResult<Vec<Booking>>;
    async fn booking(&self, id: i64) -> StoreResult<Booking>;
    async fn booking_by_code(&self, code_hash: &str) -> StoreResult<Option<Booking>>;
    /// Cancels a booking and frees its place.
    async fn cancel_booking(&self, id: i64, now: Timestamp) -> StoreResult<Booking>;
    async fn link_booking_issue(
        &self,
        booking: i64,
        issue: IssueId,
        by: AccountId,
        now: Timestamp,
    ) -> StoreResult<Booking>;
    async fn unlink_booking_issue(&self, booking: i64, issue: IssueId) -> StoreResult<Booking>;

    /// The meeting's stream key, if one was ever issued.
    async fn stream_key(&self, meeting: MeetingId) -> StoreResult<Option<StreamKey>>;
    /// Issues `key` as the meeting's stream key. With `replace` false, an existing key is kept
    /// (two first readers at once get the same key); with `replace` true, it is rotated.
    async fn issue_stream_key(
        &self,
        meeting: MeetingId,
        key: &str,
        by: AccountId,
        replace: bool,
        now: Timestamp,
    ) -> StoreResult<StreamKey>;

    /// A meeting's restream destinations, or an akim's defaults, in the order they were added.
    async fn destinations(&self, owner: DestinationOwner) -> StoreResult<Vec<Destination>>;
    async fn destination(&self, id: i64) -> StoreResult<Destination>;
    /// Adds a destination, unless its owner already has `max` (then `None`).
    async fn add_destination(
        &self,
        owner: DestinationOwner,
        fields: &DestinationFields,
        max: usize,
        now: Timestamp,
    ) -> StoreResult<Option<Destination>>;
    /// Writes an edited destination if it is still at `version`, else `VersionConflict`.
    async fn update_destination(
        &self,
        id: i64,
        version: i64,
        fields: &DestinationFields,
        now: Timestamp,
    ) -> StoreResult<Destination>;
    async fn delete_destination(&self, id: i64) -> StoreResult<()>;
    /// Every destination's id and sealed key, to reseal them after the secret key is rotated.
    async fn sealed_destination_keys(&self) -> StoreResult<Vec<(i64, String)>>;
    /// Replaces a sealed key by `new` if it is still `old`.
    async fn reseal_destination_key(&self, id: i64, old: &str, new: &str) -> StoreResult<()>;

    /// A meeting's recording with its parts and the replay's files, if it was ever recorded.
    async fn recording(&self, meeting: MeetingId) -> StoreResult<Option<Recording>>;
    /// Opens the meeting's next recorded part, written by `node` and leased until
    /// `alive_until`; `None` when the meeting's recording was deleted.
    async fn start_recording_part(
        &self,
        meeting: MeetingId,
        node: &str,
        codecs: &PartCodecs,
        now: Timestamp,
        alive_until: Timestamp,
    ) -> StoreResult<Option<RecordingPart>>;
    /// Renews an open part's lease (and dates its start, when `started_at` is given); `false`
    /// when it was closed meanwhile.
    async fn renew_recording_part(
        &self,
        part: i64,
        alive_until: Timestamp,
        started_at: Option<Timestamp>,
    ) -> StoreResult<bool>;
    /// Closes an open part; `false` when it was closed already.
    async fn close_recording_part(&self, part: i64, end: &PartEnd) -> StoreResult<bool>;
    /// Open parts whose lease lapsed before `now` (their writer is gone).
    async fn lapsed_recording_parts(&self, now: Timestamp) -> StoreResult<Vec<RecordingPart>>;
    /// Ended meetings whose replay is to be made (or was left half-made).
    async fn recordings_to_finish(&self, now: Timestamp) -> StoreResult<Vec<MeetingId>>;
    /// Claims the making of a meeting's replay for `node` until `until`.
    async fn claim_recording(
        &self,
        meeting: MeetingId,
        node: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Stores the replay made under `node`'s claim (or its failure); `false` if the claim was lost.
    async fn finish_recording(
        &self,
        meeting: MeetingId,
        node: &str,
        outcome: &Result<(Vec<RecordingFile>, Vec<PartPlacement>), String>,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Marks a ready or failed recording deleted by `by`, if still at `version`.
    async fn mark_recording_deleted(
        &self,
        meeting: MeetingId,
        version: i64,
        by: AccountId,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// An akim's connected platform accounts.
    async fn platform_credentials(&self, account: AccountId) -> StoreResult<Vec<PlatformCredentialRecord>>;
    /// Connects (or reconnects, replacing) an akim's account on a platform.
    async fn put_platform_credential(&self, record: &PlatformCredentialRecord) -> StoreResult<()>;
    /// Disconnects it; `NotFound` when it was not connected.
    async fn delete_platform_credential(
        &self,
        account: AccountId,
        platform: SocialPlatform,
    ) -> StoreResult<()>;
    /// Every sealed credential, to reseal them after the secret key is rotated.
    async fn sealed_platform_credentials(&self) -> StoreResult<Vec<(AccountId, SocialPlatform, String)>>;
    /// Replaces a sealed credential by `new` if it is still `old`.
    async fn reseal_platform_credential(
        &self,
        account: AccountId,
        platform: SocialPlatform,
        old: &str,
        new: &str,
    ) -> StoreResult<()>;

    /// What a meeting follows, platform by platform.
    async fn meeting_platforms(&self, meeting: MeetingId) -> StoreResult<Vec<MeetingPlatform>>;
    /// Sets what a meeting follows on the follow's platform; a changed follow starts its
    /// reader over (the cursor is dropped, the version bumped).
    async fn put_meeting_platform(
        &self,
        meeting: MeetingId,
        follow: &Follow,
        now: Timestamp,
    ) -> StoreResult<MeetingPlatform>;
    /// Stops following a platform; `NotFound` when it was not followed.
    async fn delete_meeting_platform(&self, meeting: MeetingId, platform: SocialPlatform) -> StoreResult<()>;
    /// Records a reader's status for the nodes that do not run it.
    async fn set_meeting_platform_status(
        &self,
        meeting: MeetingId,
        platform: SocialPlatform,
        status: &str,
    ) -> StoreResult<()>;
    /// Makes each of the akim's not-ended meetings (or `meeting`) that restreams to YouTube and
    /// follows nothing there follow its channel's active broadcast, when the akim has a YouTube
    /// account connected. Returns how many it made.
    async fn follow_restreamed_youtube(
        &self,
        akim: AccountId,
        meeting: Option<MeetingId>,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// The feeds of every meeting in its presentation or Q&A, with its akim's credentials.
    async fn live_feeds(&self) -> StoreResult<Vec<LiveFeed>>;
    /// The viewers that stand for platform authors in a meeting, made on first sight, in one
    /// transaction; each name follows the platform's. Each author is (platform user id, display
    /// name, the token hash used only when the viewer is made); the answer is in that order.
    async fn platform_viewers(
        &self,
        meeting: MeetingId,
        platform: SocialPlatform,
        authors: &[NewPlatformAuthor],
        now: Timestamp,
    ) -> StoreResult<Vec<ViewerId>>;
}
