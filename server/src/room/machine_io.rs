//! The room's side of its machine ([`super::machine`]): the IO each of its outputs asks for
//! (read the meeting, commit, catch up, announce), done in the order given, each result handed
//! back with the instant it came.
//!
//! Nothing here decides: whether to write, what, and when to announce it are the machine's.
//! What this adds is only what needs the world: the store, the stream, the frames, the
//! subscribers, and the error behind a [`Refusal::Failed`].

use super::machine::{Input, Output, Plan, Refusal, WriteKind};
use super::{Room, RoomError, live, now_to_the_millisecond};
use crate::cluster::StreamEntry;
use crate::store::{LiveEventRecord, Meeting, StoreError};
use kezdesu_core::Phase;
use kezdesu_core::live::StoredEvent;
use kezdesu_core::timer::PhaseChange;

impl Room {
    /// Applies what is due and, when given, the requested phase: the machine re-reads the
    /// meeting (its plan may have been edited), and the room stores the result, then publishes
    /// each change (see [`Room::drive`]).
    pub(super) async fn apply(&mut self, target: Option<Phase>) -> Result<Vec<PhaseChange>, RoomError> {
        self.machine.handle(Input::Apply { target }, now_to_the_millisecond());
        // A requested write always finishes; nothing to answer would mean nothing changed.
        self.drive().await.unwrap_or(Ok(Vec::new()))
    }

    /// Does what the machine asks, in its order, handing each result back with the instant it
    /// came, until it asks nothing more. Returns the result of the last requested write.
    ///
    /// The room does IO here and nothing else: whether to write, what, and when to announce it
    /// are the machine's. The one thing the room adds is the error behind [`Refusal::Failed`].
    pub(super) async fn drive(&mut self) -> Option<Result<Vec<PhaseChange>, RoomError>> {
        let store = self.shared.store.clone();
        // The meeting as last read, for the commit to name the version it read.
        let mut read: Option<Meeting> = None;
        // The events being committed, serialized once for the store and again for no one.
        let mut committing: Vec<LiveEventRecord> = Vec::new();
        let mut failure: Option<RoomError> = None;
        let mut requested = None;
        while let Some(output) = self.machine.poll_output() {
            let input = match output {
                Output::ReadMeeting => match store.meeting(self.meeting.id).await {
                    Ok(mut fresh) => {
                        if fresh.phases == Default::default() {
                            // The rules in force when the meeting is held are the ones it is held under.
                            fresh.presentation_share = self.shared.rules.meeting.presentation_share;
                        }
                        let plan = plan_of(&fresh);
                        read = Some(fresh);
                        Input::Read { plan, last_seq: self.live.state().last_seq }
                    }
                    Err(error) => {
                        failure = Some(error.into());
                        Input::Failed
                    }
                },
                Output::Commit { events, phases, share } => {
                    // A commit always follows the read it was decided from.
                    let mut meeting = read.clone().unwrap_or_else(|| self.meeting.clone());
                    meeting.phases = phases;
                    meeting.presentation_share = share;
                    committing = events.iter().map(super::live_machine::record_of).collect();
                    let now = now_to_the_millisecond();
                    match store
                        .commit_live(self.meeting.id, &committing, &[], &[], Some(&meeting), None, now)
                        .await
                    {
                        Ok(saved) => {
                            self.meeting = saved.unwrap_or(meeting);
                            Input::Committed
                        }
                        Err(StoreError::VersionConflict) => Input::Conflict,
                        // Another writer took the next sequence number (two owners overlapped
                        // in a failover): follow what it wrote, then try again on top of it.
                        Err(StoreError::Taken(_)) if self.shared.cluster.is_some() => Input::Taken,
                        Err(error) => {
                            failure = Some(error.into());
                            Input::Failed
                        }
                    }
                }
                Output::CatchUp => match self.catch_up(self.live.state().last_seq).await {
                    Ok(()) => Input::CaughtUp,
                    Err(error) => {
                        failure = Some(error);
                        Input::Failed
                    }
                },
                Output::Announce { events, changes } => {
                    self.announce_phases(&events, std::mem::take(&mut committing), &changes);
                    continue;
                }
                Output::Finished { kind, result } => {
                    if let Ok(changes) = &result
                        && changes.is_empty()
                        && let Some(fresh) = read.take()
                    {
                        self.meeting = fresh;
                    }
                    let result = result.map_err(|refusal| match refusal {
                        Refusal::Cancelled => RoomError::Cancelled,
                        Refusal::Transition(error) => RoomError::Transition(error),
                        Refusal::Inconsistent(error) => RoomError::Inconsistent(error),
                        Refusal::Conflict => StoreError::VersionConflict.into(),
                        Refusal::Failed => failure
                            .take()
                            .unwrap_or_else(|| StoreError::Io("the phase write failed".into()).into()),
                    });
                    match kind {
                        WriteKind::Requested => requested = Some(result),
                        WriteKind::Automatic => {
                            if let Err(error) = result {
                                // Retried at the machine's next deadline, a moment from now.
                                tracing::error!(meeting = %self.meeting.id, %error, "automatic phase switch failed");
                            }
                        }
                    }
                    continue;
                }
            };
            self.machine.handle(input, now_to_the_millisecond());
        }
        requested
    }

    /// Tells everyone of phase changes the store has confirmed: this node's connections, the
    /// other nodes' (through the stream), and the subscribers.
    fn announce_phases(
        &mut self,
        events: &[StoredEvent],
        records: Vec<LiveEventRecord>,
        changes: &[PhaseChange],
    ) {
        debug_assert!(records.iter().map(|record| record.seq).eq(events.iter().map(|event| event.seq)));
        for event in events {
            self.live.evolve(event);
        }
        self.stream_out(StreamEntry::Records { records: records.clone() });
        self.send_frame(live::LiveFrame::events(
            records.iter().map(live::FramedEvent::from_record).collect(),
        ));
        for change in changes {
            self.publish(change);
        }
    }

    /// Takes `meeting` as stored now, read outside a phase write (a mirror following, a takeover).
    pub(super) fn adopt(&mut self, meeting: Meeting) {
        self.machine.handle(Input::Reloaded(plan_of(&meeting)), now_to_the_millisecond());
        self.meeting = meeting;
    }
}

/// What the room's machine needs of a stored meeting.
pub(super) fn plan_of(meeting: &Meeting) -> Plan {
    Plan {
        planned_minutes: meeting.planned_minutes,
        share: meeting.presentation_share,
        phases: meeting.phases,
        cancelled: meeting.cancelled_at.is_some(),
    }
}
