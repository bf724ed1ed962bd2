//! How a problem issue moves: new → accepted → planned → in progress → resolved; or, from any
//! open status, rejected (with a reason) or escalated to the oblast or the central level.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an issue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IssueStatus {
    /// Raised (a live question, a request, an entry by the commission, an import).
    New,
    /// The commission agrees it is a problem to act on.
    Accepted,
    /// It has an action plan: measures, executors, deadlines.
    Planned,
    /// The plan is being carried out.
    InProgress,
    /// Done.
    Resolved,
    /// Not acted on, with a published reason.
    Rejected,
    /// Passed to a higher level, which acts on it.
    Escalated,
}

/// The level an issue is escalated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EscalationLevel {
    /// The oblast's akimat.
    Oblast,
    /// Central executive bodies, national holdings and companies (collected by the Government
    /// on 15 February and 15 August).
    Central,
}

impl EscalationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationLevel::Oblast => "oblast",
            EscalationLevel::Central => "central",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("an issue that is {from} cannot become {to}")]
    NotAllowed { from: IssueStatus, to: IssueStatus },
    #[error("rejecting an issue needs a reason, which is published")]
    ReasonRequired,
    #[error("escalating an issue needs the level it goes to")]
    LevelRequired,
    #[error("an issue is planned once its action plan has at least one item")]
    PlanRequired,
}

/// An issue becomes `planned` only with an action plan: at least one item (a measure, an
/// executor, a deadline).
pub fn check_plan(to: IssueStatus, plan_items: usize) -> Result<(), WorkflowError> {
    if to == IssueStatus::Planned && plan_items == 0 { Err(WorkflowError::PlanRequired) } else { Ok(()) }
}

impl IssueStatus {
    /// Whether nothing more happens to the issue at this level.
    pub fn is_closed(self) -> bool {
        matches!(self, IssueStatus::Resolved | IssueStatus::Rejected | IssueStatus::Escalated)
    }

    /// Taken up and not closed: the issue is being acted on, owes progress reports, and can be
    /// late.
    pub fn is_acting(self) -> bool {
        matches!(self, IssueStatus::Accepted | IssueStatus::Planned | IssueStatus::InProgress)
    }

    /// Progress is reported while an issue is acted on, and once more when it is resolved.
    pub fn takes_progress(self) -> bool {
        self.is_acting() || self == IssueStatus::Resolved
    }

    /// The next status along the main path, if any.
    fn forward(self) -> Option<IssueStatus> {
        match self {
            IssueStatus::New => Some(IssueStatus::Accepted),
            IssueStatus::Accepted => Some(IssueStatus::Planned),
            IssueStatus::Planned => Some(IssueStatus::InProgress),
            IssueStatus::InProgress => Some(IssueStatus::Resolved),
            IssueStatus::Resolved | IssueStatus::Rejected | IssueStatus::Escalated => None,
        }
    }

    /// Checks a change of status. The main path goes one step at a time; rejection and
    /// escalation leave any open status, rejection with a non-blank `reason`, escalation with a
    /// `level`. A closed issue stays closed: a new problem is a new issue.
    pub fn change_to(
        self,
        to: IssueStatus,
        reason: Option<&str>,
        level: Option<EscalationLevel>,
    ) -> Result<(), WorkflowError> {
        let not_allowed = Err(WorkflowError::NotAllowed { from: self, to });
        if self.is_closed() {
            return not_allowed;
        }
        match to {
            IssueStatus::Rejected if reason.is_none_or(|reason| reason.trim().is_empty()) => {
                Err(WorkflowError::ReasonRequired)
            }
            IssueStatus::Rejected => Ok(()),
            IssueStatus::Escalated if level.is_none() => Err(WorkflowError::LevelRequired),
            IssueStatus::Escalated => Ok(()),
            forward if self.forward() == Some(forward) => Ok(()),
            _ => not_allowed,
        }
    }

    pub const ALL: [IssueStatus; 7] = [
        IssueStatus::New,
        IssueStatus::Accepted,
        IssueStatus::Planned,
        IssueStatus::InProgress,
        IssueStatus::Resolved,
        IssueStatus::Rejected,
        IssueStatus::Escalated,
    ];
}

impl fmt::Display for IssueStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IssueStatus::New => "new",
            IssueStatus::Accepted => "accepted",
            IssueStatus::Planned => "planned",
            IssueStatus::InProgress => "in_progress",
            IssueStatus::Resolved => "resolved",
            IssueStatus::Rejected => "rejected",
            IssueStatus::Escalated => "escalated",
        })
    }
}
