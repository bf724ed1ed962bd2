//! The room's decisions about its meeting's phase, apart from the room's IO: a state machine
//! in the manner of str0m's `Rtc`.
//!
//! What happened goes in through [`RoomMachine::handle`], always with the instant it happened:
//! time passed ([`Input::Timeout`]), a phase was asked for, the store answered a read or a
//! commit. What the room must do comes out of [`RoomMachine::poll_output`], in order: read the
//! meeting, commit these events, announce them, answer the caller. [`RoomMachine::next_deadline`]
//! says when the room must wake it next. The driver (the room's task in `mod.rs`) gathers the
//! inputs, reads the clock, does each output's IO and feeds its result back.
//!
//! What it owns: when the automatic switch to Q&A is due (never before the timer's deadline, and
//! stamped exactly at it), the retry of a switch that failed, the optimistic-concurrency retries
//! of a phase write, the `seq` of the phase events, and the order commit → announce → answer.
//!
//! What it must not do: read a clock, await, or name the store, a channel or tokio. Time is an
//! argument, so its tests run a meeting's hour in microseconds; a test of this file's text keeps
//! it so (`the_machine_reads_no_clock_and_does_no_io`).
//!
//! **Committed before announced**, provable from the outputs alone: an [`Output::Announce`]
//! carries exactly the events of the last [`Output::Commit`], and comes only after the input that
//! answered that commit was [`Input::Committed`]; a commit that failed or conflicted is never
//! announced. The property test at the end drives random inputs in simulated time to check it.
//!
//! The live channel's group commit (comments, votes, moderation) is a sibling machine of the
//! same kind, `live_machine.rs`, with the same guarantee for its own outputs.

use jiff::{SignedDuration, Timestamp};
use kezdesu_core::Phase;
use kezdesu_core::live::{LiveEvent, StoredEvent};
use kezdesu_core::rules::Share;
use kezdesu_core::timer::{InconsistentRecord, PhaseChange, PhaseRecord, SessionTimer, TransitionError};
use std::collections::VecDeque;

/// Optimistic-concurrency attempts when the meeting was edited between read and write.
pub const WRITE_ATTEMPTS: usize = 5;
/// How long the room waits before it tries again an automatic switch whose write failed, so that
/// a store that is down is not hammered, while the room goes on serving in between.
pub const SWITCH_RETRY_AFTER: SignedDuration = SignedDuration::from_millis(200);

/// What the machine needs of the stored meeting: its timer's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub planned_minutes: u32,
    /// The share the meeting is held under (the rule set's, until it has started).
    pub share: Share,
    pub phases: PhaseRecord,
    pub cancelled: bool,
}

impl Plan {
    fn timer(&self) -> Result<SessionTimer, InconsistentRecord> {
        SessionTimer::new(self.planned_minutes, self.share, self.phases)
    }
}

/// What happened, handed to [`RoomMachine::handle`] with the instant it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Time passed: a switch may have fallen due.
    Timeout,
    /// Somebody asked for `target` (or, with `None`, for the meeting as stored now, with any
    /// due switch applied: a subscriber, an edit of the plan, an opening room).
    Apply { target: Option<Phase> },
    /// The answer to [`Output::ReadMeeting`]: the meeting as stored, and the last `seq` of the
    /// live log the room holds.
    Read { plan: Plan, last_seq: u64 },
    /// The answer to [`Output::Commit`]: stored.
    Committed,
    /// The answer to [`Output::Commit`]: the meeting was written by someone else since it was
    /// read (its version moved on).
    Conflict,
    /// The answer to [`Output::Commit`]: another writer took the next `seq` (two owners
    /// overlapped in a failover). The machine asks to catch up, then reads again.
    Taken,
    /// The answer to [`Output::CatchUp`].
    CaughtUp,
    /// The store failed a read, a commit or a catch-up; the driver keeps the error itself.
    Failed,
    /// The meeting was re-read outside a write (a mirror following the owner, a takeover).
    Reloaded(Plan),
    /// This room now writes the meeting (it took the lease over) or no longer does.
    Writes(bool),
}

/// Which write a result belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Asked for by [`Input::Apply`]; each one gets exactly one [`Output::Finished`], in order.
    Requested,
    /// The automatic switch, started by an [`Input::Timeout`]; nobody waits for it.
    Automatic,
}

/// Why a write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Cancelled,
    Transition(TransitionError),
    Inconsistent(InconsistentRecord),
    /// The meeting kept being edited under the write, [`WRITE_ATTEMPTS`] times.
    Conflict,
    /// The store failed (see [`Input::Failed`]).
    Failed,
}

/// What the room must do, taken from [`RoomMachine::poll_output`] in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Read the meeting from the store; answer with [`Input::Read`] or [`Input::Failed`].
    ReadMeeting,
    /// Store `events` in the meeting's log and its phase record as `phases` (held under
    /// `share`), in one transaction; answer with [`Input::Committed`], [`Input::Conflict`],
    /// [`Input::Taken`] or [`Input::Failed`].
    Commit { events: Vec<StoredEvent>, phases: PhaseRecord, share: Share },
    /// Rebuild the live state from the log, past what another writer committed; answer with
    /// [`Input::CaughtUp`] or [`Input::Failed`].
    CatchUp,
    /// Tell everyone: `events` are committed. `changes` are the same events as phase changes.
    Announce { events: Vec<StoredEvent>, changes: Vec<PhaseChange> },
    /// A write ended; the caller of a requested one gets `result`.
    Finished { kind: WriteKind, result: Result<Vec<PhaseChange>, Refusal> },
}

/// Where a write stands, waiting for the driver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Reading,
    /// Waiting for the commit of these events, which hold these changes.
    Committing {
        events: Vec<StoredEvent>,
        changes: Vec<PhaseChange>,
        timer: SessionTimer,
    },
    CatchingUp,
}

/// The write in flight: one at a time, as the room writes its meeting alone.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Write {
    kind: WriteKind,
    target: Option<Phase>,
    /// Reads done so far; each conflict costs one.
    attempts: usize,
    stage: Stage,
}

/// One meeting's phase orchestration. See the module's documentation.
#[derive(Debug)]
pub struct RoomMachine {
    /// The meeting's timer inputs as last read or committed.
    plan: Plan,
    /// Whether this room writes the meeting (alone, or as the lease holder); a mirror's
    /// machine never starts a write by itself.
    writes: bool,
    /// The write waiting for the driver, if any.
    write: Option<Write>,
    /// Requested writes that came while another was in flight, in order.
    queued: VecDeque<Option<Phase>>,
    /// An automatic switch that failed is not tried again before this instant.
    retry_not_before: Option<Timestamp>,
    /// What the driver has yet to do, in order.
    outputs: VecDeque<Output>,
}

impl RoomMachine {
    pub fn new(plan: Plan, writes: bool) -> RoomMachine {
        RoomMachine {
            plan,
            writes,
            write: None,
            queued: VecDeque::new(),
            retry_not_before: None,
            outputs: VecDeque::new(),
        }
    }

    /// The meeting's phase as last read or committed (`Scheduled` for an inconsistent record).
    pub fn phase(&self) -> Phase {
        self.plan.timer().map(|timer| timer.phase()).unwrap_or(Phase::Scheduled)
    }

    /// Takes what happened at `now`. Inputs that answer nothing asked are ignored: the driver
    /// answers each output that asks for an answer once.
    pub fn handle(&mut self, input: Input, now: Timestamp) {
        match input {
            Input::Timeout => self.start_due_switch(now),
            Input::Apply { target } => {
                self.queued.push_back(target);
                self.start_next();
            }
            Input::Reloaded(plan) => self.plan = plan,
            Input::Writes(writes) => self.writes = writes,
            Input::Read { plan, last_seq } => self.on_read(plan, last_seq, now),
            Input::Committed => self.on_committed(now),
            Input::Conflict => self.on_conflict(now),
            Input::Taken => {
                if let Some(write) = self.write.as_mut().filter(|write| is_committing(write)) {
                    write.stage = Stage::CatchingUp;
                    self.outputs.push_back(Output::CatchUp);
                }
            }
            Input::CaughtUp => {
                if let Some(write) = self.write.as_mut().filter(|write| write.stage == Stage::CatchingUp) {
                    // Taken is a lost race like a conflict, and costs an attempt like one.
                    write.stage = Stage::Reading;
                    self.read_again(now);
                }
            }
            Input::Failed => {
                if self.write.is_some() {
                    self.finish(Err(Refusal::Failed), now);
                }
            }
        }
    }

    /// What the driver must do next, in order; `None` once it has done everything.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the room must next hand the machine an [`Input::Timeout`]: the timer's deadline, or
    /// later when a switch failed a moment ago. `None` while it does not write, while a write is
    /// in flight (its answer wakes the machine), and when nothing will fall due by itself.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        if !self.writes || self.write.is_some() {
            return None;
        }
        let due = self.plan.timer().ok()?.next_deadline()?;
        Some(self.retry_not_before.map_or(due, |retry| retry.max(due)))
    }

    fn start_due_switch(&mut self, now: Timestamp) {
        if self.next_deadline().is_some_and(|deadline| deadline <= now) {
            self.start(WriteKind::Automatic, None);
        }
    }

    /// Starts the next requested write, unless one is in flight.
    fn start_next(&mut self) {
        if self.write.is_none()
            && let Some(target) = self.queued.pop_front()
        {
            self.start(WriteKind::Requested, target);
        }
    }

    fn start(&mut self, kind: WriteKind, target: Option<Phase>) {
        self.write = Some(Write { kind, target, attempts: 1, stage: Stage::Reading });
        self.outputs.push_back(Output::ReadMeeting);
    }

    /// The meeting as read: decide what changes at `now`, and ask to commit it.
    fn on_read(&mut self, plan: Plan, last_seq: u64, now: Timestamp) {
        let Some(write) = self.write.as_ref().filter(|write| write.stage == Stage::Reading) else {
            return;
        };
        let target = write.target;
        if target.is_some() && plan.cancelled {
            return self.finish(Err(Refusal::Cancelled), now);
        }
        let mut timer = match plan.timer() {
            Ok(timer) => timer,
            Err(error) => return self.finish(Err(Refusal::Inconsistent(error)), now),
        };
        let changes = match target {
            Some(target) => match timer.enter(target, now) {
                Ok(changes) => changes,
                Err(error) => {
                    self.plan = plan;
                    return self.finish(Err(Refusal::Transition(error)), now);
                }
            },
            None => timer.advance(now).into_iter().collect(),
        };
        if changes.is_empty() {
            self.plan = plan;
            return self.finish(Ok(changes), now);
        }
        // The live log records the phase changes in the same transaction as the meeting.
        let events: Vec<StoredEvent> = changes
            .iter()
            .zip(1..)
            .map(|(change, offset)| StoredEvent {
                seq: last_seq + offset,
                at: change.at,
                event: LiveEvent::PhaseChanged { phase: change.phase, cause: change.cause },
            })
            .collect();
        // Until the store confirms the commit, the machine knows the meeting as read.
        self.plan = plan;
        self.outputs.push_back(Output::Commit {
            events: events.clone(),
            phases: timer.record(),
            share: plan.share,
        });
        if let Some(write) = self.write.as_mut() {
            write.stage = Stage::Committing { events, changes, timer };
        }
    }

    fn on_committed(&mut self, now: Timestamp) {
        let Some(Write { stage: Stage::Committing { events, changes, timer }, .. }) = self.write.clone()
        else {
            return;
        };
        self.plan.phases = timer.record();
        self.outputs.push_back(Output::Announce { events, changes: changes.clone() });
        self.finish(Ok(changes), now);
    }

    fn on_conflict(&mut self, now: Timestamp) {
        if let Some(write) = self.write.as_mut().filter(|write| is_committing(write)) {
            write.stage = Stage::Reading;
            self.read_again(now);
        }
    }

    /// Reads the meeting again for the write in flight, or gives up after [`WRITE_ATTEMPTS`].
    fn read_again(&mut self, now: Timestamp) {
        let Some(write) = self.write.as_mut() else { return };
        if write.attempts >= WRITE_ATTEMPTS {
            return self.finish(Err(Refusal::Conflict), now);
        }
        write.attempts += 1;
        self.outputs.push_back(Output::ReadMeeting);
    }

    /// Ends the write in flight with `result`, then starts the next one asked for.
    fn finish(&mut self, result: Result<Vec<PhaseChange>, Refusal>, now: Timestamp) {
        let Some(write) = self.write.take() else { return };
        if write.kind == WriteKind::Automatic {
            self.retry_not_before = match result {
                Ok(_) => None,
                Err(_) => Some(now.checked_add(SWITCH_RETRY_AFTER).unwrap_or(now)),
            };
        }
        self.outputs.push_back(Output::Finished { kind: write.kind, result });
        self.start_next();
    }
}

fn is_committing(write: &Write) -> bool {
    matches!(write.stage, Stage::Committing { .. })
}

#[cfg(test)]
mod tests;
