//! The register of problem issues: how an issue moves from raised to resolved, and when what
//! is due. Pure rules over plain values; the store and the HTTP API apply them.

pub mod deadlines;
pub mod import;
pub mod register;
pub mod workflow;

pub use deadlines::{DayOfYear, DeadlineRules, Quarter};
pub use register::{ActionDeadline, IssueDates, IssueDeadlines, SourceKind};
pub use workflow::{EscalationLevel, IssueStatus, WorkflowError};
