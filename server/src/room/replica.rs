//! A room among several nodes: the owner streams what it commits, mirrors follow, forward
//! commands and take over a lapsed lease. See the module above and [`crate::cluster`].

use super::lease::{Renewal, Verdict};
use super::live::{FramedEvent, LiveFailure, LiveFrame, LiveRequest, LiveResult};
use super::{Command, Role, Room, RoomError, Rooms, Subscription};
use crate::cluster::{Cluster, NodeRequest, StreamEntry};
use crate::store::{LiveEventRecord, StoreError};
use kezdesu_core::live::{Actor, LiveCommand, LiveEvent, StoredEvent};
use kezdesu_core::timer::{PhaseChange, TransitionError};
use kezdesu_core::{MeetingId, Phase};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Events read from the store per query when a mirror fills a gap or an owner republishes.
const CHUNK: u32 = 1000;
/// How often an owner tries to append one committed entry to the stream (about 8 s in all).
const APPEND_ATTEMPTS: u32 = 10;

/// A command forwarded to the meeting's owner node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PeerRequest {
    Live { actor: Actor, command: LiveCommand },
    EnterPhase { target: Phase },
    Refresh,
}

impl NodeRequest for PeerRequest {
    const RECIPIENT: &'static str = "room";
    type Answer = PeerAnswer;
}

/// The owner's answer to a [`PeerRequest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerAnswer {
    Live(LiveResult),
    Phase(Result<(), PhaseRefusal>),
    Done,
    /// This node's room is not the owner (the lease moved): ask again.
    NotOwner,
}

/// Why the owner did not enter a phase: as much of a [`RoomError`] as the node that forwarded
/// the change needs to answer its client as the owner's own node would.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseRefusal {
    Cancelled,
    Transition(TransitionError),
    NotFound,
    VersionConflict,
    Unavailable(String),
}

impl From<RoomError> for PhaseRefusal {
    fn from(error: RoomError) -> PhaseRefusal {
        match error {
            RoomError::Cancelled => PhaseRefusal::Cancelled,
            RoomError::Transition(error) => PhaseRefusal::Transition(error),
            RoomError::Store(StoreError::NotFound(_)) => PhaseRefusal::NotFound,
            RoomError::Store(StoreError::VersionConflict) => PhaseRefusal::VersionConflict,
            error => PhaseRefusal::Unavailable(error.to_string()),
        }
    }
}

impl From<PhaseRefusal> for RoomError {
    fn from(refusal: PhaseRefusal) -> RoomError {
        match refusal {
            PhaseRefusal::Cancelled => RoomError::Cancelled,
            PhaseRefusal::Transition(error) => RoomError::Transition(error),
            // A forwarded phase change names one meeting.
            PhaseRefusal::NotFound => RoomError::Store(StoreError::NotFound("meeting")),
            PhaseRefusal::VersionConflict => RoomError::Store(StoreError::VersionConflict),
            PhaseRefusal::Unavailable(why) => RoomError::Unreachable(why),
        }
    }
}

impl PeerAnswer {
    fn is_not_owner(&self) -> bool {
        matches!(self, PeerAnswer::NotOwner)
    }
}

/// Starts the task that appends an owner's entries to the meeting's stream, one at a time in
/// the order committed. It ends when the room drops the sender.
pub(super) fn outbox(cluster: &Cluster, meeting: MeetingId) -> mpsc::UnboundedSender<StreamEntry> {
    let (sender, mut receiver) = mpsc::unbounded_channel::<StreamEntry>();
    let cluster = cluster.clone();
    tokio::spawn(async move {
        while let Some(entry) = receiver.recv().await {
            // Retried for a while, in order: a mirror that misses an entry fills the gap from
            // the store only when a later one comes, and the last of a meeting may be its end.
            let mut pause = Duration::from_millis(100);
            for attempt in 1..=APPEND_ATTEMPTS {
                match cluster.append(meeting, &entry).await {
                    Ok(()) => break,
                    Err(error) if attempt == APPEND_ATTEMPTS => {
                        cluster.metrics().stream_append_failures.inc();
                        tracing::error!(%meeting, %error, "gave up appending to the meeting's stream");
                    }
                    Err(error) => {
                        tracing::warn!(%meeting, %error, attempt, "could not append to the meeting's stream");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(1));
                    }
                }
            }
        }
    });
    sender
}

/// The next entry of a mirror's stream; never, for a room that writes.
pub(super) async fn next_entry(role: &mut Role) -> Option<StreamEntry> {
    match role {
        Role::Mirror { entries } => entries.recv().await,
        Role::Alone | Role::Owner { .. } => std::future::pending().await,
    }
}

impl Rooms {
    /// Serves a command another node forwarded to this one, as the meeting's owner.
    pub async fn serve_forwarded(&self, meeting: MeetingId, request: PeerRequest) -> PeerAnswer {
        let answer = self.ask(meeting, |reply| Command::Forwarded { request: request.clone(), reply }).await;
        match answer {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%meeting, %error, "could not serve a forwarded command");
                PeerAnswer::NotOwner
            }
        }
    }

    /// Opens a room for every live meeting that has none here, so that every node follows
    /// every live meeting and one of them takes over at once when its owner dies.
    pub async fn follow_live_meetings(&self) {
        if let Err(error) = self.resume_live().await {
            tracing::warn!(%error, "could not list the live meetings");
        }
    }
}

impl Room {
    /// Whether this room decides and commits its meeting's commands.
    pub(super) fn writes(&self) -> bool {
        !matches!(self.role, Role::Mirror { .. })
    }

    fn cluster(&self) -> Option<&Cluster> {
        self.shared.cluster.as_ref()
    }

    /// Hands a committed entry to the stream, when this room owns the meeting among several.
    pub(super) fn stream_out(&self, entry: StreamEntry) {
        if let Role::Owner { outbox } = &self.role {
            let _ = outbox.send(entry);
        }
    }

    /// Appends to the stream what the store has past `streamed` (at most the stream's length
    /// of it): events a previous owner committed but did not live to append.
    pub(super) async fn republish_since(&mut self, streamed: u64) {
        let Some(cluster) = self.cluster().cloned() else { return };
        let last = self.live.state().last_seq;
        let kept = u64::try_from(cluster.stream_entries()).unwrap_or(u64::MAX);
        let unstreamed = match self.committed_between(streamed.max(last.saturating_sub(kept)), last).await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(meeting = %self.meeting.id, %error, "could not read events to republish");
                return;
            }
        };
        for chunk in unstreamed.chunks(CHUNK as usize) {
            let entry = StreamEntry::Records { records: chunk.to_vec() };
            if let Err(error) = cluster.append(self.meeting.id, &entry).await {
                tracing::warn!(meeting = %self.meeting.id, %error, "could not republish committed events");
                return;
            }
        }
    }

    /// A mirror's turn: one entry of the owner's stream.
    pub(super) async fn follow(&mut self, entry: StreamEntry) {
        match entry {
            StreamEntry::MeetingUpdated { .. } => match self.shared.store.meeting(self.meeting.id).await {
                Ok(meeting) => {
                    self.adopt(meeting);
                    self.publish_update();
                }
                Err(error) => {
                    tracing::warn!(meeting = %self.meeting.id, %error, "could not re-read an edited meeting")
                }
            },
            StreamEntry::Records { records } => {
                let mut fresh: Vec<LiveEventRecord> =
                    records.into_iter().filter(|record| record.seq > self.live.state().last_seq).collect();
                let Some(first) = fresh.first().map(|record| record.seq) else { return };
                if first > self.live.state().last_seq + 1 {
                    // The stream skipped some (it was trimmed, or an owner died between its
                    // commit and its append): the store has every committed event.
                    match self.committed_between(self.live.state().last_seq, first - 1).await {
                        Ok(mut missing) => {
                            missing.append(&mut fresh);
                            fresh = missing;
                        }
                        Err(error) => {
                            tracing::error!(meeting = %self.meeting.id, %error, "could not fill a gap in the stream");
                            self.poisoned = true;
                            return;
                        }
                    }
                }
                self.deliver(fresh, true).await;
            }
        }
    }

    /// Rebuilds the state from the store after a commit failed, and delivers to this node's
    /// connections whatever another writer committed past `committed` meanwhile, so that they
    /// see no gap.
    pub(super) async fn catch_up(&mut self, committed: u64) -> Result<(), RoomError> {
        // A snapshot built before may name events the rebuilt log does not hold.
        self.snapshots = super::live::SnapshotCache::default();
        self.load_live().await?;
        let missed = self.committed_between(committed, self.live.state().last_seq).await?;
        self.deliver(missed, false).await;
        Ok(())
    }

    async fn committed_between(&self, after: u64, through: u64) -> Result<Vec<LiveEventRecord>, RoomError> {
        let mut records = Vec::new();
        let mut from = after;
        while from < through {
            let chunk = self.shared.store.live_events(self.meeting.id, from, through, CHUNK).await?;
            let Some(last) = chunk.last().map(|record| record.seq) else { break };
            from = last;
            records.extend(chunk);
        }
        Ok(records)
    }

    /// Fans committed events out to this node's connections and subscribers, evolving the
    /// state first when `evolve` (a mirror's; an owner that rebuilt from the store has them).
    async fn deliver(&mut self, records: Vec<LiveEventRecord>, evolve: bool) {
        if records.is_empty() {
            return;
        }
        let mut changes = Vec::new();
        for record in &records {
            let stored: StoredEvent = match serde_json::from_str(&record.body) {
                Ok(stored) => stored,
                Err(error) => {
                    tracing::error!(meeting = %self.meeting.id, seq = record.seq, %error, "unreadable event");
                    self.poisoned = true;
                    return;
                }
            };
            if let LiveEvent::PhaseChanged { phase, cause } = &stored.event {
                changes.push(PhaseChange { phase: *phase, at: stored.at, cause: *cause });
            }
            if evolve {
                self.live.evolve(&stored);
            }
        }
        self.send_frame(LiveFrame::events(records.iter().map(FramedEvent::from_record).collect()));
        if !changes.is_empty() {
            // The owner stored the meeting before it streamed the change.
            match self.shared.store.meeting(self.meeting.id).await {
                Ok(meeting) => self.adopt(meeting),
                Err(error) => {
                    tracing::warn!(meeting = %self.meeting.id, %error, "could not re-read the meeting")
                }
            }
            for change in &changes {
                self.publish(change);
            }
        }
    }

    /// An owner renews its lease; a mirror takes a lapsed one over.
    pub(super) async fn check_lease(&mut self) {
        let Some(cluster) = self.cluster().cloned() else { return };
        let Some(holder) = self.lease.as_ref().map(|lease| lease.holder.clone()) else { return };
        let id = self.meeting.id;
        match &self.role {
            Role::Alone => {}
            Role::Owner { .. } => {
                let sent = std::time::Instant::now();
                let answer = cluster.renew(id, &holder).await;
                // Read after the call returned, however long Redis took (see `lease.rs`).
                let answered = std::time::Instant::now();
                let renewal = match &answer {
                    Ok(true) => Renewal::Renewed,
                    Ok(false) => Renewal::HeldByAnother,
                    Err(_) => Renewal::Unreachable,
                };
                let Some(lease) = &mut self.lease else { return };
                let verdict = lease.answered(renewal, sent, answered);
                let stops = verdict == Verdict::StopWriting;
                match answer {
                    Ok(true) => {}
                    // Its connections end and reconnect, to a mirror.
                    Ok(false) => tracing::warn!(meeting = %id, "lost the meeting's lease; closing its room"),
                    Err(error) => {
                        tracing::warn!(meeting = %id, %error, lapsed = stops, "could not renew the meeting's lease")
                    }
                }
                if stops {
                    self.poisoned = true;
                }
            }
            Role::Mirror { .. } => match cluster.owner(id).await {
                Ok(None) => {
                    // A claim that succeeds holds from when it was sent.
                    let claim_sent = std::time::Instant::now();
                    match cluster.claim(id, &holder).await {
                        Ok(true) => self.take_over(&cluster, claim_sent).await,
                        Ok(false) => {}
                        Err(error) => tracing::warn!(meeting = %id, %error, "could not claim the meeting"),
                    }
                }
                Ok(Some(_)) => {}
                Err(error) => tracing::warn!(meeting = %id, %error, "could not read the meeting's owner"),
            },
        }
    }

    /// Becomes the owner after the previous one's lease lapsed: rebuilds from the store, tells
    /// this node's connections and the stream what they have not seen, then applies what fell
    /// due while no node wrote.
    async fn take_over(&mut self, cluster: &Cluster, claim_sent: std::time::Instant) {
        let id = self.meeting.id;
        if let Some(lease) = &mut self.lease {
            lease.answered(Renewal::Renewed, claim_sent, std::time::Instant::now());
        }
        let delivered = self.live.state().last_seq;
        let streamed = match cluster.stream_tail(id).await {
            Ok((_, streamed)) => streamed,
            Err(error) => {
                tracing::warn!(meeting = %id, %error, "could not read the stream's tail; republishing all");
                0
            }
        };
        self.role = Role::Owner { outbox: outbox(cluster, id) };
        self.machine.handle(super::machine::Input::Writes(true), super::now_to_the_millisecond());
        let rebuilt = async {
            let meeting = self.shared.store.meeting(id).await?;
            self.adopt(meeting);
            self.load_live().await
        };
        if let Err(error) = rebuilt.await {
            tracing::error!(meeting = %id, %error, "could not rebuild the meeting to take it over");
            self.poisoned = true;
            return;
        }
        match self.committed_between(delivered, self.live.state().last_seq).await {
            Ok(unseen) => self.deliver(unseen, false).await,
            Err(error) => {
                tracing::error!(meeting = %id, %error, "could not read what this node has not delivered");
                self.poisoned = true;
                return;
            }
        }
        self.republish_since(streamed).await;
        if let Err(error) = self.apply(None).await {
            tracing::error!(meeting = %id, %error, "could not apply a switch after taking over");
        }
        cluster.metrics().takeovers.inc();
        tracing::info!(meeting = %id, node = cluster.node(), last_seq = self.live.state().last_seq, "took the meeting over");
    }

    /// Gives the lease up when an owner's room closes, so another node takes over at once.
    pub(super) async fn step_down(&mut self) {
        if let (Role::Owner { .. }, Some(cluster), Some(lease)) =
            (&self.role, self.shared.cluster.clone(), &self.lease)
        {
            let released = tokio::time::timeout(
                Duration::from_millis(500),
                cluster.release(self.meeting.id, &lease.holder),
            );
            if !matches!(released.await, Ok(Ok(()))) {
                tracing::warn!(meeting = %self.meeting.id, "could not release the lease; it lapses by itself");
            }
        }
    }

    /// How many are connected to the meeting: on this node, or on every node of a cluster.
    pub(super) async fn viewers(&self) -> usize {
        let here = self.frames.receiver_count();
        match self.cluster() {
            None => here,
            Some(cluster) => cluster.viewers(self.meeting.id, here).await.unwrap_or(here),
        }
    }

    /// A mirror answers what it knows and forwards what changes the meeting.
    pub(super) fn handle_as_mirror(&mut self, command: Command) {
        let Some(cluster) = self.cluster().cloned() else { return };
        let id = self.meeting.id;
        match command {
            Command::Live(LiveRequest { actor, command, reply }) => {
                tokio::spawn(async move {
                    let request = PeerRequest::Live { actor, command };
                    let answer = cluster.forward(id, &request, PeerAnswer::is_not_owner).await;
                    let result = match answer {
                        Ok(PeerAnswer::Live(result)) => result,
                        Ok(_) | Err(_) => Err(LiveFailure::Unavailable),
                    };
                    let _ = reply.send(result);
                });
            }
            Command::EnterPhase { target, reply } => {
                let store = self.shared.store.clone();
                tokio::spawn(async move {
                    let request = PeerRequest::EnterPhase { target };
                    let answer = cluster.forward(id, &request, PeerAnswer::is_not_owner).await;
                    let result = match answer {
                        Ok(PeerAnswer::Phase(Ok(()))) => store.meeting(id).await.map_err(RoomError::from),
                        Ok(PeerAnswer::Phase(Err(refusal))) => Err(refusal.into()),
                        Ok(_) => Err(RoomError::Unreachable("an unexpected answer".into())),
                        Err(error) => Err(RoomError::Unreachable(error.to_string())),
                    };
                    let _ = reply.send(result);
                });
            }
            Command::Refresh => {
                tokio::spawn(async move {
                    if let Err(error) =
                        cluster.forward(id, &PeerRequest::Refresh, PeerAnswer::is_not_owner).await
                    {
                        tracing::warn!(meeting = %id, %error, "could not tell the owner of an edit");
                    }
                });
            }
            Command::Forwarded { reply, .. } => {
                let _ = reply.send(PeerAnswer::NotOwner);
            }
            // The reader runs on the node that writes the meeting.
            Command::PlatformBatch(batch) => {
                let _ = batch.reply.send(Err(super::platform::BatchRefusal::NotOwner));
            }
            Command::Writes { reply } => {
                let _ = reply.send(false);
            }
            // The mirror's meeting is as of the last entry it delivered, so the snapshot and
            // the events after it join without a gap.
            Command::Subscribe { reply } => {
                let _ = reply.send(Ok(Subscription {
                    meeting: self.meeting.clone(),
                    events: self.events.subscribe(),
                }));
            }
            Command::JoinLive { snapshot_for, reply } => {
                let _ = reply.send(self.join_live(snapshot_for));
            }
            Command::ModerationLog { reply } => {
                let _ = reply.send(self.moderation_record());
            }
        }
    }

    /// The owner serves a command another node forwarded; a live one joins the batch.
    pub(super) async fn serve_forwarded(
        &mut self,
        request: PeerRequest,
        reply: oneshot::Sender<PeerAnswer>,
        inbox: &mut mpsc::Receiver<Command>,
    ) -> Option<Command> {
        match request {
            PeerRequest::Live { actor, command } => {
                return self.run_live_batch(forwarded_live(actor, command, reply), inbox).await;
            }
            PeerRequest::EnterPhase { target } => {
                let result = self.apply(Some(target)).await.map(|_| ()).map_err(PhaseRefusal::from);
                let _ = reply.send(PeerAnswer::Phase(result));
            }
            PeerRequest::Refresh => {
                match self.apply(None).await {
                    Ok(_) => self.publish_update(),
                    Err(error) => {
                        tracing::warn!(meeting = %self.meeting.id, %error, "could not re-read an edited meeting")
                    }
                }
                let _ = reply.send(PeerAnswer::Done);
            }
        }
        None
    }
}

/// Tells the meeting's owner, if a node has one, that its plan was edited; the owner tells
/// every mirror through the stream.
pub(super) fn refresh_elsewhere(cluster: Cluster, meeting: MeetingId) {
    tokio::spawn(async move {
        if !matches!(cluster.owner(meeting).await, Ok(Some(_))) {
            return;
        }
        if let Err(error) = cluster.forward(meeting, &PeerRequest::Refresh, PeerAnswer::is_not_owner).await {
            tracing::warn!(%meeting, %error, "could not tell the owner of an edit");
        }
    });
}

/// A live request whose answer goes back to the node that forwarded it.
pub(super) fn forwarded_live(
    actor: Actor,
    command: LiveCommand,
    reply: oneshot::Sender<PeerAnswer>,
) -> LiveRequest {
    let (answer, answered) = oneshot::channel();
    tokio::spawn(async move {
        let result = answered.await.unwrap_or(Err(LiveFailure::Unavailable));
        let _ = reply.send(PeerAnswer::Live(result));
    });
    LiveRequest { actor, command, reply: answer }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal crosses to the node that forwarded the change as JSON, and comes out there as
    /// the error the owner's own node would have answered with.
    fn across_nodes(error: RoomError) -> RoomError {
        let text = serde_json::to_string(&PeerAnswer::Phase(Err(error.into()))).expect("answers serialize");
        match serde_json::from_str(&text).expect("answers deserialize") {
            PeerAnswer::Phase(Err(refusal)) => refusal.into(),
            other => panic!("not a refusal: {other:?}"),
        }
    }

    #[test]
    fn a_refused_phase_change_keeps_its_kind_across_nodes() {
        assert!(matches!(across_nodes(RoomError::Cancelled), RoomError::Cancelled));
        assert!(matches!(
            across_nodes(RoomError::Transition(TransitionError::EndBeforeStart)),
            RoomError::Transition(TransitionError::EndBeforeStart)
        ));
        assert!(matches!(
            across_nodes(RoomError::Store(StoreError::NotFound("meeting"))),
            RoomError::Store(StoreError::NotFound("meeting"))
        ));
        assert!(matches!(
            across_nodes(RoomError::Store(StoreError::VersionConflict)),
            RoomError::Store(StoreError::VersionConflict)
        ));
        assert!(matches!(
            across_nodes(RoomError::Store(StoreError::Io("disk full".into()))),
            RoomError::Unreachable(why) if why.contains("disk full")
        ));
    }
}
