//! The JSON shapes of the API and of meeting events, shared by the HTTP handlers and the rooms.
//!
//! Instants go out as RFC 3339 with the offset of the configured time zone
//! (`2026-03-02T10:00:00+05:00`), which both machines and people can read.

use crate::store::{Account, Meeting, MeetingResults, Territory};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use kezdesu_core::issues::DeadlineRules;
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
    pub broadcast: Option<crate::media::BroadcastStatus>,
    /// The decree's deadlines once the meeting has ended (in meeting lists and answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<MeetingDeadlines>,
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
            broadcast: None,
            deadlines: None,
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
