//! The register of problem issues: how an issue moves from raised to resolved, and when what
//! is due. Pure rules over plain values; the store and the HTTP API apply them.

pub mod deadlines;
pub mod workflow;

pub use deadlines::{DayOfYear, DeadlineRules, Quarter};
pub use workflow::{EscalationLevel, IssueStatus, WorkflowError};
