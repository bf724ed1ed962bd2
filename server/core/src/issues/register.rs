//! The register's rules over one issue: where it came from, who may read it, and what is due or
//! overdue on a given day.

use super::deadlines::{DeadlineRules, Quarter};
use super::workflow::{EscalationLevel, IssueStatus};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// How a problem issue reached the register. An issue keeps every source it was raised or
/// merged from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A question of a meeting's live channel (promoted from comments).
    LiveQuestion,
    /// A request or proposal sent through a meeting's public form before it started.
    Request,
    /// Entered by the commission on a citizen's behalf, e.g. at a personal reception.
    Commission,
    /// Imported from another channel (an open-data portal export, a blog platform).
    Import,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::LiveQuestion => "live_question",
            SourceKind::Request => "request",
            SourceKind::Commission => "commission",
            SourceKind::Import => "import",
        }
    }

    pub fn parse(text: &str) -> Option<SourceKind> {
        [SourceKind::LiveQuestion, SourceKind::Request, SourceKind::Commission, SourceKind::Import]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// Whether an issue is in the public list. A live question was asked in public and stays
/// public. Anything else (a request, an entry, an import) is public once the commission has
/// taken it up, i.e. moved it past `new`: until then its wording is unchecked citizen text, which
/// may name people. An issue merged into another is shown only as that other one.
pub fn publicly_listed(status: IssueStatus, raised_live: bool, merged: bool) -> bool {
    !merged && (raised_live || status != IssueStatus::New)
}

/// An action-plan item, as far as deadlines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionDeadline {
    pub deadline: Date,
    pub done: bool,
}

/// What an issue's deadlines depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueDates {
    pub status: IssueStatus,
    /// The day the commission took the issue up (it left `new`); quarterly progress is owed
    /// from then on.
    pub accepted_on: Option<Date>,
    /// The days progress updates were published on.
    pub progress_on: Vec<Date>,
    /// The level and day of an escalation.
    pub escalated: Option<(EscalationLevel, Date)>,
    pub actions: Vec<ActionDeadline>,
}

/// An issue's due dates and overdue flags on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueDeadlines {
    /// The next quarterly progress report owed, while the issue is being acted on.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub progress_due: Option<Date>,
    /// A progress report is late.
    pub progress_overdue: bool,
    /// The earliest deadline of an open action-plan item.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub next_action_deadline: Option<Date>,
    /// Open action-plan items past their deadline.
    pub actions_overdue: u32,
    /// For an issue escalated to the central level: the collection date it is due in.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub central_collection_due: Option<Date>,
    /// Something is late: a progress report or an action-plan item.
    pub overdue: bool,
}

impl DeadlineRules {
    /// An issue's due dates and overdue flags on `today`. A closed issue owes nothing more.
    pub fn issue_deadlines(&self, dates: &IssueDates, today: Date) -> IssueDeadlines {
        let acting = dates.status.is_acting();
        let progress_due = match dates.accepted_on {
            Some(accepted_on) if acting => {
                let last_reported: Option<Quarter> =
                    dates.progress_on.iter().map(|on| self.quarter_reported_on(*on)).max();
                Some(self.next_progress_due(accepted_on, last_reported))
            }
            _ => None,
        };
        let progress_overdue = progress_due.is_some_and(|due| today > due);
        let open_actions = dates.actions.iter().filter(|action| !action.done && !dates.status.is_closed());
        let next_action_deadline = open_actions.clone().map(|action| action.deadline).min();
        let actions_overdue =
            u32::try_from(open_actions.filter(|action| today > action.deadline).count()).unwrap_or(u32::MAX);
        let central_collection_due = match dates.escalated {
            Some((EscalationLevel::Central, on)) if dates.status == IssueStatus::Escalated => {
                Some(self.central_collection_due(on))
            }
            _ => None,
        };
        IssueDeadlines {
            progress_due,
            progress_overdue,
            next_action_deadline,
            actions_overdue,
            central_collection_due,
            overdue: progress_overdue || actions_overdue > 0,
        }
    }
}

/// The half-year whose central collection falls on `due`: the Government collects on 15
/// February what was escalated since the previous collection day, and so on. Returns the first
/// day of the period, i.e. the day after the previous collection date.
pub fn collection_period_start(rules: &DeadlineRules, due: Date) -> Date {
    let previous_year = due.year().saturating_sub(1);
    (previous_year..=due.year())
        .flat_map(|year| rules.central_collection_days.iter().map(move |day| day.in_year(year)))
        .filter(|day| *day < due)
        .max()
        .and_then(|day| day.tomorrow().ok())
        .unwrap_or(due)
}
