//! Kezdesu's meeting rules, as pure values and functions.
//!
//! # Design
//!
//! Everything here is a rule of the decree on akims' meetings with the population, written so
//! that it can be tested with plain values: the session timer that enforces the
//! presentation/Q&A split, the roles and who may do what, and the validation of meetings.
//!
//! This crate does no IO. It depends on no async runtime, web framework, database or network
//! crate, and it never reads the clock: every function that needs the time takes `now` as an
//! argument. `tests/core_is_pure.rs` checks the dependency list and `clippy.toml` forbids the
//! clock functions, so the boundary is kept by tools rather than by good intentions.
//!
//! Bad input is an error value; nothing here panics on input from outside.

pub mod broadcast;
pub mod calendar;
pub mod compliance;
pub mod demand;
pub mod ids;
pub mod issues;
pub mod live;
pub mod meeting;
pub mod moderation;
pub mod platforms;
pub mod reception;
pub mod restream;
pub mod roles;
pub mod rules;
pub mod territory;
pub mod text;
pub mod timer;
pub mod yearly;

pub use ids::{AccountId, ActionItemId, CommentId, IssueId, MeetingId, QuestionId, TerritoryId, ViewerId};
pub use meeting::{LocalizedText, MeetingKind, MeetingStatus};
pub use roles::{Principal, Role};
pub use rules::{RuleSet, Share};
pub use territory::TerritoryKind;
pub use timer::{Compliance, Phase, PhaseChange, PhaseRecord, SessionTimer, TransitionError};
