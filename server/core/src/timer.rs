//! The session timer: `scheduled` → `presentation` → `qa` → `ended`.
//!
//! The decree gives the presentation at most a share (1/4) of the planned time; the rest is
//! questions and answers. The timer enforces it: once the presentation budget is spent, the
//! meeting is in Q&A, whoever is connected.
//!
//! The state is nothing but the instants at which phases began ([`PhaseRecord`]), which is what
//! the store keeps. Every derived value (the phase at time `t`, when the presentation ends,
//! the compliance record) is computed from those instants, so rebuilding a timer from the store
//! after a restart gives exactly the state it would have had if it had never stopped. For the
//! same reason an automatic switch is recorded at the instant it fell due, not at the instant
//! somebody noticed.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The phases of a meeting, in the only order they may be entered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Scheduled,
    Presentation,
    Qa,
    Ended,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Scheduled => "scheduled",
            Phase::Presentation => "presentation",
            Phase::Qa => "qa",
            Phase::Ended => "ended",
        }
    }

    /// Whether the meeting is on: the broadcast runs and commenting is mandatory.
    pub fn is_live(self) -> bool {
        matches!(self, Phase::Presentation | Phase::Qa)
    }
}

/// The instants at which the phases began: all the timer needs to be rebuilt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRecord {
    pub presentation_started_at: Option<Timestamp>,
    pub qa_started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
}

/// Why a phase could not be entered.
// Serialized between the nodes of a cluster, when one forwards a phase change to the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum TransitionError {
    #[error("the meeting is in {from:?} and cannot go back to {to:?}")]
    Backwards { from: Phase, to: Phase },
    #[error("a meeting that has not started cannot end; cancel it instead")]
    EndBeforeStart,
    #[error("a meeting cannot be moved back to scheduled")]
    Unschedule,
}

/// Why a stored record cannot be a timer's: instants out of order, or a later phase without
/// an earlier one that it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stored phase instants are inconsistent: {0}")]
pub struct InconsistentRecord(&'static str);

/// Whether a phase change was asked for or followed from the budget.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeCause {
    /// Somebody (the akim, a moderator, an admin) asked for it.
    Requested,
    /// The presentation budget was spent.
    BudgetSpent,
}

/// A phase the timer entered, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseChange {
    pub phase: Phase,
    pub at: Timestamp,
    pub cause: ChangeCause,
}

/// How a finished meeting kept the split.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Compliance {
    pub presentation_seconds: f64,
    pub qa_seconds: f64,
    pub presentation_budget_seconds: f64,
    /// The presentation stayed within its budget, and it took no more than its share of the
    /// time the meeting actually ran (a meeting ended during its presentation kept no Q&A).
    pub split_kept: bool,
}

/// The session timer of one meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimer {
    /// How long the presentation may run: planned time × the rule set's share.
    budget: SignedDuration,
    /// The share the budget was computed from, kept for the compliance check.
    share: crate::rules::Share,
    record: PhaseRecord,
}

impl SessionTimer {
    /// Rebuilds a timer from what the store kept. Call [`SessionTimer::advance`] next, to apply
    /// a switch that fell due while nobody was watching.
    pub fn new(
        planned_minutes: u32,
        share: crate::rules::Share,
        record: PhaseRecord,
    ) -> Result<SessionTimer, InconsistentRecord> {
        let planned_millis = i64::from(planned_minutes) * 60_000;
        let budget = SignedDuration::from_millis(share.of_millis(planned_millis));
        let timer = SessionTimer { budget, share, record };
        timer.check_record()?;
        Ok(timer)
    }

    fn check_record(&self) -> Result<(), InconsistentRecord> {
        let PhaseRecord { presentation_started_at, qa_started_at, ended_at } = self.record;
        if ended_at.is_some() && presentation_started_at.is_none() && qa_started_at.is_none() {
            return Err(InconsistentRecord("ended without starting"));
        }
        if let (Some(presentation), Some(qa)) = (presentation_started_at, qa_started_at) {
            if qa < presentation {
                return Err(InconsistentRecord("Q&A began before the presentation"));
            }
            if qa.duration_since(presentation) > self.budget {
                return Err(InconsistentRecord("the presentation ran past its budget"));
            }
        }
        let last_start = qa_started_at.or(presentation_started_at);
        if let (Some(start), Some(end)) = (last_start, ended_at)
            && end < start
        {
            return Err(InconsistentRecord("ended before the last phase began"));
        }
        Ok(())
    }

    /// What the store must keep.
    pub fn record(&self) -> PhaseRecord {
        self.record
    }

    pub fn budget(&self) -> SignedDuration {
        self.budget
    }

    /// The phase as recorded. Call [`SessionTimer::advance`] first to apply a due switch.
    pub fn phase(&self) -> Phase {
        let record = &self.record;
        if record.ended_at.is_some() {
            Phase::Ended
        } else if record.qa_started_at.is_some() {
            Phase::Qa
        } else if record.presentation_started_at.is_some() {
            Phase::Presentation
        } else {
            Phase::Scheduled
        }
    }

    /// When the current phase began; `None` while scheduled.
    pub fn phase_started_at(&self) -> Option<Timestamp> {
        match self.phase() {
            Phase::Scheduled => None,
            Phase::Presentation => self.record.presentation_started_at,
            Phase::Qa => self.record.qa_started_at,
            Phase::Ended => self.record.ended_at,
        }
    }

    /// When the presentation's budget is (or was) spent, once it has started.
    pub fn presentation_ends_at(&self) -> Option<Timestamp> {
        self.record.presentation_started_at.map(|start| add(start, self.budget))
    }

    /// The next instant at which the timer changes by itself, if any: the owner of the timer
    /// sleeps until then and calls [`SessionTimer::advance`].
    pub fn next_deadline(&self) -> Option<Timestamp> {
        match self.phase() {
            Phase::Presentation => self.presentation_ends_at(),
            _ => None,
        }
    }

    /// Applies the automatic switch to Q&A if the budget is spent by `now`.
    pub fn advance(&mut self, now: Timestamp) -> Option<PhaseChange> {
        let due = self.next_deadline()?;
        if now < due {
            return None;
        }
        self.record.qa_started_at = Some(due);
        Some(PhaseChange { phase: Phase::Qa, at: due, cause: ChangeCause::BudgetSpent })
    }

    /// Enters `target` at `now`, after applying any switch already due. Asking for the phase the
    /// meeting is already in changes nothing, so a retried request is harmless.
    ///
    /// Returns the changes in order: possibly the automatic switch to Q&A, then the requested one.
    pub fn enter(&mut self, target: Phase, now: Timestamp) -> Result<Vec<PhaseChange>, TransitionError> {
        let mut changes = Vec::with_capacity(2);
        let mut candidate = *self;
        let now = candidate.not_before_last_change(now);
        changes.extend(candidate.advance(now));
        let current = candidate.phase();
        if target != current {
            match (current, target) {
                (_, Phase::Scheduled) => return Err(TransitionError::Unschedule),
                (Phase::Scheduled, Phase::Ended) => return Err(TransitionError::EndBeforeStart),
                (from, to) if to < from => return Err(TransitionError::Backwards { from, to }),
                (_, Phase::Presentation) => candidate.record.presentation_started_at = Some(now),
                (_, Phase::Qa) => candidate.record.qa_started_at = Some(now),
                (_, Phase::Ended) => candidate.record.ended_at = Some(now),
            }
            changes.push(PhaseChange { phase: target, at: now, cause: ChangeCause::Requested });
        }
        *self = candidate;
        Ok(changes)
    }

    /// A clock may step back (NTP, a restart on another machine); time on the record never does.
    fn not_before_last_change(&self, now: Timestamp) -> Timestamp {
        let record = &self.record;
        [record.presentation_started_at, record.qa_started_at, record.ended_at]
            .into_iter()
            .flatten()
            .fold(now, Timestamp::max)
    }

    /// How the split was kept, once the meeting has ended.
    pub fn compliance(&self) -> Option<Compliance> {
        let ended = self.record.ended_at?;
        let presentation = match self.record.presentation_started_at {
            Some(start) => self.record.qa_started_at.unwrap_or(ended).duration_since(start),
            None => SignedDuration::ZERO,
        };
        let qa = match self.record.qa_started_at {
            Some(start) => ended.duration_since(start),
            None => SignedDuration::ZERO,
        };
        let presentation_millis = presentation.as_millis() as i64;
        let total_millis = (presentation + qa).as_millis() as i64;
        Some(Compliance {
            presentation_seconds: presentation.as_secs_f64(),
            qa_seconds: qa.as_secs_f64(),
            presentation_budget_seconds: self.budget.as_secs_f64(),
            split_kept: presentation <= self.budget && self.share.admits(presentation_millis, total_millis),
        })
    }
}

fn add(instant: Timestamp, duration: SignedDuration) -> Timestamp {
    // A budget is at most a few hours, far from the ends of Timestamp's ±9999-year range.
    instant.saturating_add(duration).expect("a SignedDuration has no calendar units")
}
