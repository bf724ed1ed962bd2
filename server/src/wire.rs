//! The JSON shapes of the API and of meeting events, shared by the HTTP handlers and the rooms.
//!
//! Instants go out as RFC 3339 with the offset of the configured time zone
//! (`2026-03-02T10:00:00+05:00`), which both machines and people can read.

use crate::store::{Account, Meeting, MeetingResults, RegisterIssue, Territory};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use kezdesu_core::issues::DeadlineRules;
use kezdesu_core::issues::register::publicly_listed;
use kezdesu_core::issues::{
    ActionDeadline, EscalationLevel, IssueDates, IssueDeadlines, IssueStatus, SourceKind,
};
use kezdesu_core::timer::{ChangeCause, Compliance, PhaseChange, SessionTimer};
use kezdesu_core::{LocalizedText, MeetingKind, MeetingStatus, Phase, Role, TerritoryKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How instants are written: in one zone, with its offset.
#[derive(Clone)]
pub struct Clockface {
    pub zone: TimeZone,
    pub zone_name: String,
}

impl Clockface {
    pub fn format(&self, instant: Timestamp) -> String {
        instant.display_with_offset(self.zone.to_offset(instant)).to_string()
    }

    /// The calendar day `instant` falls on in this zone.
    pub fn day(&self, instant: Timestamp) -> jiff::civil::Date {
        instant.to_zoned(self.zone.clone()).date()
    }
}

/// A meeting as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeetingView {
    pub id: i64,
    pub title: LocalizedText,
    pub territory_id: i64,
    pub akim_account_id: i64,
    /// RFC 3339 with offset.
    pub planned_start: String,
    pub planned_minutes: u32,
    pub kind: MeetingKind,
    pub status: MeetingStatus,
    pub phase: Phase,
    /// When the current phase began; null while scheduled.
    pub phase_started_at: Option<String>,
    /// When the meeting was announced to the population; null until it is.
    pub announced_at: Option<String>,
    /// Announced later than the rule set's lead time: allowed only for an unscheduled meeting,
    /// and shown.
    pub announced_late: bool,
    /// Where the meeting is held; empty until known.
    pub place: String,
    /// Where else it is streamed (an http(s) address); empty if only here.
    pub online_link: String,
    /// The presentation's share of the planned time, from the rule set (`1/4`).
    pub presentation_share: String,
    pub presentation_budget_seconds: f64,
    /// When the presentation's budget runs out; null until it starts.
    pub presentation_ends_at: Option<String>,
    /// How the split was kept; present once the meeting has ended.
    pub compliance: Option<Compliance>,
    /// The zone whose offset the instants carry.
    pub time_zone: String,
    /// Whether the meeting is on air and how many watch; in answers about one meeting and in
    /// event-stream snapshots, not inside other events (the `broadcast` event carries changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<BroadcastStatus>,
    /// The decree's deadlines once the meeting has ended (in meeting lists and answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<MeetingDeadlines>,
    /// Each restream destination's state, in answers about one meeting and event-stream
    /// snapshots once it has been restreamed; the `restream` event carries changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restream: Option<Vec<RestreamStatus>>,
    /// Each platform comment reader's state, in answers about one meeting and event-stream
    /// snapshots once the meeting follows a platform; the `platform` event carries changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<PlatformStatus>>,
    /// The HLS playlist's path while the meeting is on air with HLS on the node answering (and
    /// a minute after, while its ended playlist is kept); absent otherwise. In answers about
    /// meetings, not in event-stream snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hls: Option<String>,
}

/// Whether a meeting is on air, and how many watch it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BroadcastStatus {
    /// A publisher is connected and sending.
    pub on_air: bool,
    /// Open viewing sessions.
    pub viewers: u32,
}

/// What the decree wants published after a meeting, and by when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeetingDeadlines {
    /// The calendar day the meeting ended, in its time zone (`YYYY-MM-DD`).
    pub ended_on: String,
    /// The last day to publish its results, list of issues and action plan (`YYYY-MM-DD`).
    pub results_due: String,
    /// When the results were first published; null while they are not.
    pub results_published_at: Option<String>,
    /// Not published by the due day (as of today), or published after it.
    pub results_overdue: bool,
}

impl MeetingDeadlines {
    /// The deadlines of `meeting` as of `now`; `None` until it has ended.
    pub fn of(
        meeting: &Meeting,
        results: Option<&MeetingResults>,
        rules: &DeadlineRules,
        now: Timestamp,
        clock: &Clockface,
    ) -> Option<MeetingDeadlines> {
        let ended_on = clock.day(meeting.phases.ended_at?);
        let published_on = results.map(|results| clock.day(results.published_at));
        let today = clock.day(now);
        Some(MeetingDeadlines {
            ended_on: ended_on.to_string(),
            results_due: rules.results_due(ended_on).to_string(),
            results_published_at: results.map(|results| clock.format(results.published_at)),
            results_overdue: rules.results_overdue(ended_on, published_on, today),
        })
    }
}

/// A meeting's published results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResultsView {
    pub meeting_id: i64,
    pub summary: String,
    /// The first publication (RFC 3339); edits keep it.
    pub published_at: String,
    pub updated_at: String,
    pub deadlines: Option<MeetingDeadlines>,
    /// The meeting's problem issues in the public list, with their action plans.
    pub issues: Vec<IssueView>,
}

/// A problem issue of the register. Carries no personal data: a citizen's name and contact
/// are only in `GET /api/issues/{id}/contacts`, for staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IssueView {
    pub id: i64,
    pub meeting_id: Option<i64>,
    pub territory_id: Option<i64>,
    pub title: String,
    pub description: String,
    /// A category code from `GET /api/issues/categories`.
    pub category: Option<String>,
    pub status: IssueStatus,
    /// The rejection reason, or the note of the last change of status.
    pub status_note: Option<String>,
    /// Where it was escalated to.
    pub level: Option<EscalationLevel>,
    /// People behind it: voters on a live question, signatories of a request, and so on, summed
    /// over its sources.
    pub supporters: i64,
    pub on_briefing: bool,
    /// Set when this issue was merged into another, which holds its sources now.
    pub merged_into: Option<i64>,
    /// Whether it is in the public list (staff also see the others).
    pub public: bool,
    pub raised_at: String,
    pub updated_at: String,
    pub accepted_at: Option<String>,
    pub escalated_at: Option<String>,
    pub sources: Vec<SourceView>,
    pub actions: Vec<ActionItemView>,
    pub progress: Vec<ProgressView>,
    /// Due dates and overdue flags as of today.
    pub deadlines: IssueDeadlines,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SourceView {
    pub id: i64,
    pub kind: SourceKind,
    pub meeting_id: Option<i64>,
    /// For a live question, its number in the meeting.
    pub question: Option<i64>,
    pub channel: Option<String>,
    pub external_id: Option<String>,
    pub supporters: i64,
    pub received_at: String,
    /// The source's own words. Public for live questions, which were asked in public; for
    /// requests, entries and imports, those who manage the issue only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActionItemView {
    pub id: i64,
    pub measure: String,
    pub executor_organisation: String,
    pub executor_person: String,
    /// `YYYY-MM-DD`.
    pub deadline: String,
    pub financing_needed: bool,
    /// Whole tenge.
    pub financing_amount: Option<i64>,
    /// The maslikhat session that considers the financing (`YYYY-MM-DD`).
    pub maslikhat_session_on: Option<String>,
    /// When it was carried out (`YYYY-MM-DD`).
    pub done_on: Option<String>,
    /// Open and past its deadline today.
    pub overdue: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProgressView {
    pub id: i64,
    /// `YYYY-MM-DD`.
    pub reported_on: String,
    /// The quarter it counts for, by the day it was published, e.g. `2026-Q4`.
    pub quarter: String,
    pub text: String,
    /// The official who published it.
    pub by: String,
}

impl IssueView {
    /// Shows `issue` as of `today`. `full` adds the words of requests and entries, for staff
    /// and the citizen holding the receipt.
    pub fn of(
        issue: &RegisterIssue,
        rules: &DeadlineRules,
        today: Date,
        clock: &Clockface,
        full: bool,
    ) -> IssueView {
        let deadlines = rules.issue_deadlines(&issue_dates(issue, clock), today);
        IssueView {
            id: issue.id.0,
            meeting_id: issue.meeting.map(|meeting| meeting.0),
            territory_id: issue.territory.map(|territory| territory.0),
            title: issue.title.clone(),
            description: issue.description.clone(),
            category: issue.category.clone(),
            status: issue.status,
            status_note: issue.status_note.clone(),
            level: issue.level,
            supporters: issue.supporters,
            on_briefing: issue.on_briefing,
            merged_into: issue.merged_into.map(|into| into.0),
            public: publicly_listed(issue.status, issue.raised_live(), issue.merged_into.is_some()),
            raised_at: clock.format(issue.created_at),
            updated_at: clock.format(issue.updated_at),
            accepted_at: issue.accepted_at.map(|at| clock.format(at)),
            escalated_at: issue.escalated_at.map(|at| clock.format(at)),
            sources: issue
                .sources
                .iter()
                .map(|source| SourceView {
                    id: source.id,
                    kind: source.kind,
                    meeting_id: source.meeting.map(|meeting| meeting.0),
                    question: source.question,
                    channel: source.channel.clone(),
                    external_id: source.external_id.clone(),
                    supporters: source.supporters,
                    received_at: clock.format(source.received_at),
                    // A live question was asked in public. Other sources' words are the citizen's
                    // (an import's too), which the commission cannot edit: only the issue's
                    // title and description, which it can, are public.
                    text: match source.kind {
                        SourceKind::LiveQuestion => Some(source.text.clone()),
                        SourceKind::Request | SourceKind::Commission | SourceKind::Import => {
                            full.then(|| source.text.clone())
                        }
                    },
                })
                .collect(),
            actions: issue
                .actions
                .iter()
                .map(|item| ActionItemView {
                    id: item.id.0,
                    measure: item.plan.measure.clone(),
                    executor_organisation: item.plan.executor_organisation.clone(),
                    executor_person: item.plan.executor_person.clone(),
                    deadline: item.plan.deadline.to_string(),
                    financing_needed: item.plan.financing_needed,
                    financing_amount: item.plan.financing_amount,
                    maslikhat_session_on: item.plan.maslikhat_session_on.map(|date| date.to_string()),
                    done_on: item.plan.done_on.map(|date| date.to_string()),
                    overdue: item.plan.done_on.is_none()
                        && !issue.status.is_closed()
                        && today > item.plan.deadline,
                })
                .collect(),
            progress: issue
                .progress
                .iter()
                .map(|update| ProgressView {
                    id: update.id,
                    reported_on: update.reported_on.to_string(),
                    quarter: rules.quarter_reported_on(clock.day(update.created_at)).to_string(),
                    text: update.text.clone(),
                    by: update.by_name.clone(),
                })
                .collect(),
            deadlines,
        }
    }
}

/// What the core needs to work out an issue's deadlines.
pub fn issue_dates(issue: &RegisterIssue, clock: &Clockface) -> IssueDates {
    IssueDates {
        status: issue.status,
        accepted_on: issue.accepted_at.map(|at| clock.day(at)),
        // By the day each report was published: a report dated back does not meet a deadline
        // that had passed when it was written.
        progress_on: issue.progress.iter().map(|update| clock.day(update.created_at)).collect(),
        escalated: issue.level.zip(issue.escalated_at.map(|at| clock.day(at))),
        actions: issue
            .actions
            .iter()
            .map(|item| ActionDeadline { deadline: item.plan.deadline, done: item.plan.done_on.is_some() })
            .collect(),
    }
}

impl MeetingView {
    /// Shows `meeting` as of `now`, with any automatic switch already due applied, so a reader
    /// never sees a presentation that has run past its budget.
    pub fn of(meeting: &Meeting, now: Timestamp, clock: &Clockface) -> MeetingView {
        let timer = SessionTimer::new(meeting.planned_minutes, meeting.presentation_share, meeting.phases)
            .map(|mut timer| {
                timer.advance(now);
                timer
            });
        // A stored record is checked when written. Should one ever be inconsistent, the meeting
        // is still shown (as not started, with no deadlines) rather than refused, and logged.
        let (phase, phase_started_at, presentation_ends_at, compliance, budget) = match timer {
            Ok(timer) => (
                timer.phase(),
                timer.phase_started_at(),
                timer.presentation_ends_at(),
                timer.compliance(),
                timer.budget().as_secs_f64(),
            ),
            Err(error) => {
                tracing::error!(meeting = %meeting.id, %error, "stored phase instants are inconsistent");
                (Phase::Scheduled, None, None, None, 0.0)
            }
        };
        MeetingView {
            id: meeting.id.0,
            title: meeting.title.clone(),
            territory_id: meeting.territory.0,
            akim_account_id: meeting.akim.0,
            planned_start: clock.format(meeting.planned_start),
            planned_minutes: meeting.planned_minutes,
            kind: meeting.kind,
            status: MeetingStatus::of(phase, meeting.cancelled_at.is_some()),
            phase,
            phase_started_at: phase_started_at.map(|t| clock.format(t)),
            presentation_share: meeting.presentation_share.to_string(),
            presentation_budget_seconds: budget,
            presentation_ends_at: presentation_ends_at.map(|t| clock.format(t)),
            compliance,
            time_zone: clock.zone_name.clone(),
            announced_at: meeting.announced_at.map(|t| clock.format(t)),
            announced_late: meeting.announced_late,
            place: meeting.place.clone(),
            online_link: meeting.online_link.clone(),
            broadcast: None,
            restream: None,
            platforms: None,
            deadlines: None,
            hls: None,
        }
    }
}

/// A phase change, as sent on a meeting's event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PhaseChangedEvent {
    pub phase: Phase,
    pub at: String,
    pub cause: ChangeCause,
    /// The meeting after the change.
    pub meeting: MeetingView,
}

impl PhaseChangedEvent {
    pub fn of(change: &PhaseChange, meeting: &Meeting, clock: &Clockface) -> PhaseChangedEvent {
        PhaseChangedEvent {
            phase: change.phase,
            at: clock.format(change.at),
            cause: change.cause,
            meeting: MeetingView::of(meeting, change.at, clock),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    /// For an akim: the territory they govern.
    pub territory_id: Option<i64>,
    pub created_at: String,
}

impl AccountView {
    pub fn of(account: &Account, clock: &Clockface) -> AccountView {
        AccountView {
            id: account.id.0,
            login: account.login.clone(),
            display_name: account.display_name.clone(),
            role: account.role,
            disabled: account.disabled,
            territory_id: account.territory.map(|territory| territory.0),
            created_at: clock.format(account.created_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TerritoryView {
    pub id: i64,
    /// The territory's code in the Classifier of Administrative-Territorial Objects (KATO).
    pub kato: String,
    pub kind: TerritoryKind,
    pub name: LocalizedText,
    pub parent_id: Option<i64>,
}

impl From<&Territory> for TerritoryView {
    fn from(territory: &Territory) -> TerritoryView {
        TerritoryView {
            id: territory.id.0,
            kato: territory.kato.clone(),
            kind: territory.kind,
            name: territory.name.clone(),
            parent_id: territory.parent.map(|p| p.0),
        }
    }
}

/// A restream destination as its akim sees it: the stream key only masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DestinationView {
    pub id: i64,
    pub platform: kezdesu_core::restream::Platform,
    pub name: String,
    pub ingest_url: String,
    /// The stream key, masked (`••••f3a9`): it is write-only.
    pub stream_key: String,
    pub enabled: bool,
    pub version: i64,
    /// For a meeting's destination that has been started: its state now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RestreamStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DestinationList {
    pub destinations: Vec<DestinationView>,
}

/// Where a restream destination stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestreamState {
    /// Connecting and asking to publish.
    Starting,
    /// The platform accepted the stream and is receiving it.
    Live,
    /// It dropped after being live and is being tried again.
    Retrying,
    /// It will not be tried again: it never got as far as publishing (a wrong key or URL, an
    /// unreachable host), or it kept failing after a drop for the whole retry time.
    Failed,
    /// Stopped on purpose: the meeting went off air or the destination was switched off.
    Stopped,
}

/// A restream destination's state, in the meeting's JSON and `restream` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RestreamStatus {
    pub meeting_id: i64,
    pub destination_id: i64,
    pub platform: kezdesu_core::restream::Platform,
    pub name: String,
    pub state: RestreamState,
    /// Retries since the destination was last live (each one may make a new video on the
    /// platform's side).
    pub retries: u32,
    /// Why the last attempt failed, in words; never the stream key.
    pub last_error: Option<String>,
    /// When the state began, RFC 3339 with offset.
    pub since: String,
}

/// Where a meeting's reader of one platform's comments stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlatformState {
    /// The meeting is not in its presentation or Q&A, so nothing is read.
    Idle,
    /// Signing in and finding what to follow.
    Connecting,
    /// Reading comments.
    Live,
    /// The platform asked to slow down (quota, rate limit), or what is followed has not started
    /// yet: tried again at `until`.
    BackingOff,
    /// The platform refused the credential (revoked, expired, lacking rights): the akim must
    /// connect the account again. Not retried.
    Unauthorized,
    /// Reads fail (network, server errors, answers not in the documented shape): tried again
    /// with a growing pause.
    Failing,
    /// Not read: no credential is connected for the meeting's akim, or it cannot be opened.
    Stopped,
}

/// What became of a moderation action sent back to a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionResult {
    Pending,
    Done,
    Failed,
    /// The platform's API has no such action (Facebook has no ban for a live video's commenter).
    Unsupported,
}

/// One moderation action sent back to a platform, as the moderator is shown it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlatformActionView {
    /// The moderation event that asked for it.
    pub seq: u64,
    /// The hidden comment, for a removal.
    pub comment: Option<i64>,
    /// The timed-out or banned author, for a ban.
    pub viewer: Option<i64>,
    /// `remove`, `ban` or `time_out`.
    pub action: String,
    pub outcome: ActionResult,
    /// The platform's reason, when it failed.
    pub reason: Option<String>,
    /// When the outcome was known (or the action was asked for, while pending), RFC 3339.
    pub at: String,
}

/// A platform comment reader's state, in the meeting's JSON, `platform` events and the feed list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlatformStatus {
    pub meeting_id: i64,
    pub platform: kezdesu_core::platforms::SocialPlatform,
    pub state: PlatformState,
    /// Why it backs off or stopped, in words (`quotaExceeded`, `retry after 30 s`…).
    pub reason: Option<String>,
    /// Until when it backs off, RFC 3339.
    pub until: Option<String>,
    /// Comments that entered the channel since the reader started on this node.
    pub comments: u64,
    /// Comments the channel's rules refused (banned authors, empty texts).
    pub refused: u64,
    /// YouTube quota units spent for this meeting since the reader started (null elsewhere).
    pub quota_units: Option<u64>,
    /// The last read's failure, in words; never a token.
    pub last_error: Option<String>,
    /// What the reader found out about what it follows (YouTube's live chat id).
    pub resolved: Option<String>,
    /// When the state began, RFC 3339.
    pub since: String,
    /// The last moderation actions sent back, newest last.
    pub actions: Vec<PlatformActionView>,
}

/// What a meeting follows on one platform, with its reader's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlatformFeedView {
    pub platform: kezdesu_core::platforms::SocialPlatform,
    pub follow: kezdesu_core::platforms::Follow,
    /// The meeting's akim has connected an account on this platform.
    pub connected: bool,
    pub status: PlatformStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlatformFeedList {
    pub platforms: Vec<PlatformFeedView>,
}

/// An akim's connected account on a platform. The credential is write-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlatformAccountView {
    pub platform: kezdesu_core::platforms::SocialPlatform,
    /// The main token's last four characters behind a mask.
    pub hint: String,
    pub connected_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlatformAccountList {
    pub platforms: Vec<PlatformAccountView>,
}
