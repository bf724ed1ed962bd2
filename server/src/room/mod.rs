//! Rooms: one task per meeting that is live or watched, the only writer of its phase.
//!
//! Everything that changes a meeting's phase sends the room a command and waits for the
//! answer; the room applies it through the pure `SessionTimer` (by way of its machine), stores
//! the result, and only then tells its subscribers. A room also sleeps until its timer's next
//! deadline and applies the automatic switch to Q&A itself, so the switch happens whether or
//! not anyone is connected. Subscribers receive events serialized once, as shared bytes.
//!
//! A room also owns its meeting's live channel (see [`live`]): the comment log with its
//! gap-free sequence numbers, moderation and the question queue.
//!
//! With several nodes (see [`crate::cluster`]) a meeting has one such room, its *owner*, on
//! the node that holds the meeting's lease; it also appends what it commits to the meeting's
//! stream. Rooms of the same meeting on other nodes are *mirrors* ([`Role::Mirror`]): they
//! follow that stream and fan it out to their own connections and subscribers exactly as the
//! owner does, forward commands to the owner, and take over when its lease lapses. The
//! replica roles, owner and mirror, are in `replica.rs`.
//!
//! The room's phase decisions (when a switch is due, what to commit, the order commit →
//! announce → answer) are a state machine with no IO and no clock, `RoomMachine` (`machine.rs`);
//! the room's task is its driver: it gathers inputs, reads the clock once for each, does the IO
//! each output asks for, and decides no phase itself. The live channel's group commit is the
//! same kind of machine, `LiveMachine` (`live_machine.rs`), driven from `live.rs`.
//!
//! A room holds no lock across an await and does no HTTP; it must not be bypassed by writing
//! phase columns or live events in the store directly.

mod fan_out;
mod lease;
pub mod live;
mod live_machine;
mod machine;
mod machine_io;
pub mod platform;
mod replica;
mod thread;

pub use replica::{PeerAnswer, PeerRequest};
pub use thread::RoomThread;

use crate::cluster::{Cluster, StreamEntry};
use crate::store::{Meeting, MeetingFilter, Store, StoreError};
use crate::wire::{Clockface, MeetingView, PhaseChangedEvent};
use jiff::Timestamp;
use kezdesu_core::live::rate::RateRule;
use kezdesu_core::live::{Actor, LiveCommand, LiveSettings, LiveState};
use kezdesu_core::timer::{InconsistentRecord, PhaseChange, TransitionError};
use kezdesu_core::{MeetingId, Phase, RuleSet};
use lease::{Lease, Renewal};
use live::{LiveFailure, LiveFrame, LiveJoin, LiveRequest, LiveResult, ModerationRecord};
use machine::{Input, RoomMachine};
use machine_io::plan_of;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How many events a slow subscriber may fall behind before it is told it lagged.
const EVENT_BUFFER: usize = 64;
/// A room with nobody watching and nothing live closes after this long.
const IDLE_CLOSE_AFTER: Duration = Duration::from_secs(60);
/// How often a room tells its live connections how many they are, when that changed.
const VIEWER_COUNT_INTERVAL: Duration = Duration::from_secs(2);
/// Commands handled back to back before the room looks at its timer, lease and stop signal
/// again, so that a flood of commands never starves them.
const COMMANDS_PER_TURN: usize = 64;

/// An event of a meeting, serialized once for every subscriber.
#[derive(Debug, Clone)]
pub struct RoomEvent {
    /// The event's name on the stream, e.g. `phase_changed`.
    pub name: &'static str,
    /// The event's JSON.
    pub json: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("the meeting was cancelled")]
    Cancelled,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Inconsistent(#[from] InconsistentRecord),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The node lacks what a room needs (file descriptors, most likely).
    #[error("the meeting's room could not be opened: {0}")]
    CannotOpen(String),
    /// The cluster's Redis could not be reached, or the meeting's owner did not answer.
    #[error("the meeting's owner node could not be reached: {0}")]
    Unreachable(String),
}

impl From<redis::RedisError> for RoomError {
    fn from(error: redis::RedisError) -> RoomError {
        RoomError::Unreachable(error.to_string())
    }
}

/// What a subscriber gets: the meeting as of now and every event after it, with no gap between.
pub struct Subscription {
    pub meeting: Meeting,
    pub events: broadcast::Receiver<RoomEvent>,
}

enum Command {
    Live(LiveRequest),
    JoinLive {
        /// Who a snapshot is for, when the connection asked for one.
        snapshot_for: Option<crate::store::LogReader>,
        reply: oneshot::Sender<LiveJoin>,
    },
    ModerationLog {
        reply: oneshot::Sender<ModerationRecord>,
    },
    EnterPhase {
        target: Phase,
        reply: oneshot::Sender<Result<Meeting, RoomError>>,
    },
    Subscribe {
        reply: oneshot::Sender<Result<Subscription, RoomError>>,
    },
    /// The meeting's plan was edited in the store: re-read it and tell the subscribers.
    Refresh,
    /// A command another node forwarded to this one as the meeting's owner.
    Forwarded {
        request: PeerRequest,
        reply: oneshot::Sender<PeerAnswer>,
    },
    /// Comments a platform reader on this node read.
    PlatformBatch(platform::PlatformBatch),
    /// Whether this node's room writes the meeting (alone, or as the lease's holder).
    Writes {
        reply: oneshot::Sender<bool>,
    },
}

/// Whether a room writes its meeting.
enum Role {
    /// The only node: the room writes, and fans out in-process.
    Alone,
    /// It holds the meeting's lease: it writes, and appends what it commits to the stream
    /// through `outbox`, in order.
    Owner { outbox: mpsc::UnboundedSender<StreamEntry> },
    /// Another node writes: the room follows the stream's `entries` and forwards commands.
    Mirror { entries: mpsc::Receiver<StreamEntry> },
}

/// The registry of open rooms. Cloning shares it.
#[derive(Clone)]
pub struct Rooms {
    shared: Arc<Shared>,
}

struct Shared {
    /// Where each room reads its meeting and commits every change before announcing it.
    store: Arc<dyn Store>,
    /// The rules a meeting is held under, fixed into it when it goes live.
    rules: Arc<RuleSet>,
    /// How events write instants.
    clock: Clockface,
    /// The inbox of every open room. Held only for lookups and inserts, never across an await.
    inboxes: Mutex<HashMap<MeetingId, mpsc::Sender<Command>>>,
    /// Cancelled after the HTTP server has drained, so that commands in flight still finish.
    stop: CancellationToken,
    /// Every room task, so that shutdown can wait for them.
    tasks: TaskTracker,
    /// The rooms' own runtime (see [`RoomThread`]), where every room task runs.
    runtime: tokio::runtime::Handle,
    /// The runtime the connections run on, where each room's frames are fanned out.
    connections: tokio::runtime::Handle,
    /// Held while a meeting's room is opened, so that two callers never open two rooms (two
    /// writers) for one meeting; one lock per meeting, so that a slow open (a long log, a
    /// Redis pause) delays no other meeting. Opening is rare; everything else takes the fast
    /// path. The map's own mutex is held only for lookups, never across an await.
    opening: Mutex<HashMap<MeetingId, Arc<tokio::sync::Mutex<()>>>>,
    live: LiveRuntime,
    /// Set when this node is one of several.
    cluster: Option<Cluster>,
    /// Where committed moderation of platform comments goes (the node's platforms service).
    sent_back: std::sync::OnceLock<mpsc::UnboundedSender<live::SentBackRequest>>,
}

/// How every room's live channel is configured.
pub struct LiveRuntime {
    pub settings: LiveSettings,
    /// Each viewer's comment rate.
    pub comment_rate: RateRule,
    /// The most commands committed in one transaction.
    pub max_batch: usize,
    /// Frames a connection may fall behind before it must resume.
    pub queue_frames: usize,
    /// The latest comments a snapshot carries.
    pub snapshot_comments: usize,
}

impl LiveRuntime {
    pub fn from_config(
        config: &crate::config::LiveConfig,
        moderation: Arc<kezdesu_core::moderation::ModerationRules>,
    ) -> LiveRuntime {
        LiveRuntime {
            settings: LiveSettings {
                max_comment_chars: config.max_comment_chars,
                max_question_chars: config.max_comment_chars,
                hide_reasons: config.hide_reasons.clone(),
                moderation,
            },
            comment_rate: live::comment_rate(config),
            max_batch: config.max_batch,
            queue_frames: config.connection_queue_frames,
            snapshot_comments: config.snapshot_comments,
        }
    }
}

impl Rooms {
    /// Rooms that run on `runtime` until `stop` is cancelled. Called on the connections'
    /// runtime, where the rooms' frames are then fanned out.
    pub fn new(
        runtime: tokio::runtime::Handle,
        store: Arc<dyn Store>,
        rules: Arc<RuleSet>,
        clock: Clockface,
        live: LiveRuntime,
        cluster: Option<Cluster>,
        stop: CancellationToken,
    ) -> Rooms {
        Rooms {
            shared: Arc::new(Shared {
                store,
                rules,
                clock,
                inboxes: Mutex::new(HashMap::new()),
                stop,
                tasks: TaskTracker::new(),
                runtime,
                connections: tokio::runtime::Handle::current(),
                opening: Mutex::new(HashMap::new()),
                live,
                cluster,
                sent_back: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Hands every committed moderation of a platform comment or author to `outbox`, from now on.
    pub fn send_back_to(&self, outbox: mpsc::UnboundedSender<live::SentBackRequest>) {
        // Set once at start-up; a second service would be a mistake in `lib.rs`.
        let _ = self.shared.sent_back.set(outbox);
    }

    /// Enters a platform reader's batch, if this node's room writes the meeting.
    pub async fn platform_batch(
        &self,
        meeting: MeetingId,
        platform: kezdesu_core::platforms::SocialPlatform,
        comments: Vec<kezdesu_core::live::IncomingPlatformComment>,
        cursor: Option<String>,
    ) -> Result<platform::BatchOutcome, platform::BatchRefusal> {
        let (reply, answer) = oneshot::channel();
        let batch = platform::PlatformBatch { platform, comments, cursor, reply };
        let inbox = self.inbox(meeting).await.map_err(|_| platform::BatchRefusal::Unavailable)?;
        inbox.send(Command::PlatformBatch(batch)).await.map_err(|_| platform::BatchRefusal::Unavailable)?;
        answer.await.unwrap_or(Err(platform::BatchRefusal::Unavailable))
    }

    /// Whether this node writes the meeting: alone, or holding its lease. Opens its room.
    pub async fn writes_here(&self, meeting: MeetingId) -> Result<bool, RoomError> {
        self.ask(meeting, |reply| Command::Writes { reply }).await
    }

    /// Opens a room for every meeting that was live when the server stopped. Each applies at
    /// once a switch that fell due while the server was down.
    /// A meeting that cannot be resumed is logged and skipped, so that one bad record does
    /// not keep every other meeting's timer from running.
    pub async fn resume_live(&self) -> Result<usize, RoomError> {
        let live = self.shared.store.meetings(MeetingFilter::live()).await?;
        let mut resumed = 0;
        for meeting in &live {
            match self.inbox(meeting.id).await {
                Ok(_) => resumed += 1,
                Err(error) => {
                    tracing::error!(meeting = %meeting.id, %error, "could not resume a live meeting")
                }
            }
        }
        Ok(resumed)
    }

    /// Asks the meeting's room to enter `target` now.
    pub async fn enter_phase(&self, meeting: MeetingId, target: Phase) -> Result<Meeting, RoomError> {
        self.ask(meeting, |reply| Command::EnterPhase { target, reply }).await?
    }

    /// Subscribes to the meeting's events.
    pub async fn subscribe(&self, meeting: MeetingId) -> Result<Subscription, RoomError> {
        self.ask(meeting, |reply| Command::Subscribe { reply }).await?
    }

    /// Sends a live command; answers once its events are durable.
    pub async fn live(
        &self,
        meeting: MeetingId,
        actor: Actor,
        command: LiveCommand,
    ) -> Result<LiveResult, RoomError> {
        let (reply, answer) = oneshot::channel();
        let inbox = self.inbox(meeting).await?;
        inbox
            .send(Command::Live(LiveRequest { actor, command, reply }))
            .await
            .map_err(|_| RoomError::ShuttingDown)?;
        Ok(answer.await.unwrap_or(Err(LiveFailure::Unavailable)))
    }

    /// Joins the meeting's live channel.
    pub async fn join_live(
        &self,
        meeting: MeetingId,
        snapshot_for: Option<crate::store::LogReader>,
    ) -> Result<LiveJoin, RoomError> {
        self.ask(meeting, |reply| Command::JoinLive { snapshot_for, reply }).await
    }

    /// The meeting's moderation log.
    pub async fn moderation_log(&self, meeting: MeetingId) -> Result<ModerationRecord, RoomError> {
        self.ask(meeting, |reply| Command::ModerationLog { reply }).await
    }

    /// Tells the meeting's room, if one is open, that the plan was edited in the store.
    pub async fn refresh(&self, meeting: MeetingId) {
        if let Some(inbox) = self.open_inbox(meeting) {
            // A room that just closed has nobody to tell.
            let _ = inbox.send(Command::Refresh).await;
        } else if let Some(cluster) = &self.shared.cluster {
            // Among several nodes, the meeting's room may be open on another.
            replica::refresh_elsewhere(cluster.clone(), meeting);
        }
    }

    /// Tasks alive on the rooms' runtime: the rooms, and what they started there.
    pub fn alive_tasks(&self) -> usize {
        self.shared.runtime.metrics().num_alive_tasks()
    }

    /// Waits, up to `limit`, for every room task to finish after shutdown was signalled.
    pub async fn wait_closed(&self, limit: Duration) -> bool {
        self.shared.tasks.close();
        tokio::time::timeout(limit, self.shared.tasks.wait()).await.is_ok()
    }

    async fn ask<T>(
        &self,
        meeting: MeetingId,
        command: impl Fn(oneshot::Sender<T>) -> Command,
    ) -> Result<T, RoomError> {
        // A room may close (idle) between finding its inbox and sending; then open a new one.
        for _ in 0..2 {
            let inbox = self.inbox(meeting).await?;
            let (reply, answer) = oneshot::channel();
            if inbox.send(command(reply)).await.is_ok()
                && let Ok(value) = answer.await
            {
                return Ok(value);
            }
        }
        Err(RoomError::ShuttingDown)
    }

    /// The inbox of the meeting's room, opening the room if needed.
    async fn inbox(&self, id: MeetingId) -> Result<mpsc::Sender<Command>, RoomError> {
        if self.shared.stop.is_cancelled() {
            return Err(RoomError::ShuttingDown);
        }
        if let Some(inbox) = self.open_inbox(id) {
            return Ok(inbox);
        }
        let opening = {
            let mut locks = self.shared.opening.lock().expect("the opening map is never left poisoned");
            // Forget the locks that nobody holds or waits for. A lock is cloned only here,
            // under this map's mutex, so one nobody else holds stays unheld until removed:
            // every caller opening a meeting at the same time shares one lock.
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            locks.entry(id).or_default().clone()
        };
        let _opening = opening.lock().await;
        if let Some(inbox) = self.open_inbox(id) {
            return Ok(inbox);
        }
        // With several nodes: the stream's tail is read before the store, so that a mirror
        // following from there misses nothing the store does not already have.
        let lease = self
            .shared
            .cluster
            .as_ref()
            .map(|cluster| Lease::new(cluster.lease_holder(), cluster.lease_duration()));
        // A claim that succeeds holds from when it was sent (see `lease.rs`).
        let claim_sent = std::time::Instant::now();
        let (role, streamed) = match (&self.shared.cluster, &lease) {
            (Some(cluster), Some(lease)) => {
                let (tail, streamed) = cluster.stream_tail(id).await?;
                if cluster.claim(id, &lease.holder).await? {
                    (Role::Owner { outbox: replica::outbox(cluster, id) }, streamed)
                } else {
                    (
                        Role::Mirror { entries: cluster.follow(id, tail, self.shared.stop.child_token()) },
                        streamed,
                    )
                }
            }
            _ => (Role::Alone, 0),
        };
        let meeting = self.shared.store.meeting(id).await?;
        let machine = RoomMachine::new(plan_of(&meeting), !matches!(role, Role::Mirror { .. }));
        let (sender, receiver) = mpsc::channel(32);
        let frames = broadcast::channel(self.shared.live.queue_frames).0;
        let fan_out = fan_out::FanOut::start(&self.shared.connections, frames.clone())
            .map_err(|error| RoomError::CannotOpen(error.to_string()))?;
        let mut room = Room {
            meeting,
            machine,
            shared: self.shared.clone(),
            events: broadcast::channel(EVENT_BUFFER).0,
            live: live_machine::LiveMachine::new(
                live_machine::LiveConfig {
                    meeting: id,
                    settings: self.shared.live.settings.clone(),
                    comment_rate: self.shared.live.comment_rate,
                },
                LiveState::default(),
            ),
            frames,
            fan_out,
            poisoned: false,
            role,
            lease,
            snapshots: live::SnapshotCache::default(),
        };
        if let (Role::Owner { .. }, Some(lease)) = (&room.role, &mut room.lease) {
            lease.answered(Renewal::Renewed, claim_sent, std::time::Instant::now());
        }
        room.load_live().await?;
        if room.writes() {
            // What a previous owner committed but did not stream, for the other nodes' mirrors.
            room.republish_since(streamed).await;
            // Apply a switch that fell due before anyone could hear it, before anyone asks.
            room.apply(None).await?;
        }
        let mut inboxes = self.shared.inboxes.lock().expect("the inbox map is never left poisoned");
        if let Some(existing) = inboxes.get(&id).filter(|inbox| !inbox.is_closed()) {
            // Another caller opened the room while this one read the store.
            return Ok(existing.clone());
        }
        inboxes.insert(id, sender.clone());
        drop(inboxes);
        self.shared.tasks.spawn_on(room.run(receiver, sender.clone()), &self.shared.runtime);
        Ok(sender)
    }

    fn open_inbox(&self, id: MeetingId) -> Option<mpsc::Sender<Command>> {
        let inboxes = self.shared.inboxes.lock().expect("the inbox map is never left poisoned");
        inboxes.get(&id).filter(|inbox| !inbox.is_closed()).cloned()
    }
}

/// One meeting's live state, owned by its task.
struct Room {
    /// The meeting as last stored; re-read before every change.
    meeting: Meeting,
    /// The room's decisions about the meeting's phase: when to switch, what to commit, and
    /// that it is committed before it is announced. Told of every change of `meeting`.
    machine: RoomMachine,
    shared: Arc<Shared>,
    /// Subscribers' channel; each event is serialized once before it is sent.
    events: broadcast::Sender<RoomEvent>,
    /// The live channel's decisions (see `live_machine.rs`), and its state as of the last
    /// committed event; told of every event committed by someone else.
    live: live_machine::LiveMachine,
    /// Live connections' channel; its capacity is each connection's queue. Joining
    /// connections subscribe here; frames are sent through `fan_out`.
    frames: broadcast::Sender<Arc<LiveFrame>>,
    /// Where the room hands its frames to be sent on `frames`.
    fan_out: fan_out::FanOut,
    /// Set when the state may hold events the store does not; the room then closes.
    poisoned: bool,
    role: Role,
    /// With several nodes: this room's hold on the meeting's lease.
    lease: Option<Lease>,
    /// The latest snapshots built for joining pages, reused while no event has come since.
    snapshots: live::SnapshotCache,
}

impl Room {
    async fn run(mut self, mut inbox: mpsc::Receiver<Command>, own_sender: mpsc::Sender<Command>) {
        let id = self.meeting.id;
        tracing::debug!(meeting = %id, "room opened");
        let mut idle_check = tokio::time::interval(IDLE_CLOSE_AFTER);
        idle_check.tick().await;
        let mut viewer_tick = tokio::time::interval(VIEWER_COUNT_INTERVAL);
        let mut last_viewer_count = 0;
        let mut lease_tick = tokio::time::interval(
            self.shared
                .cluster
                .as_ref()
                .map(Cluster::lease_check_interval)
                .unwrap_or(Duration::from_secs(3600)),
        );
        lease_tick.tick().await;
        // A command a burst met and left for the next turn.
        let mut carried: Option<Command> = None;
        loop {
            // Time is an input: read once at the top of every turn and handed to the machine,
            // which says whether a switch is due. At the top of every turn, so that a busy inbox
            // can never hold the switch back; a switch that failed is retried when the machine's
            // next deadline says so, while the room goes on serving.
            let now = now_to_the_millisecond();
            self.machine.handle(Input::Timeout, now);
            self.drive().await;
            let deadline = self.machine.next_deadline();
            tokio::select! {
                biased;
                _ = self.shared.stop.cancelled() => break,
                _ = sleep_until(deadline, now) => {}
                entry = replica::next_entry(&mut self.role) => match entry {
                    Some(entry) => self.follow(entry).await,
                    // The stream is no longer followed: the node is stopping.
                    None => break,
                },
                _ = lease_tick.tick(), if self.shared.cluster.is_some() => {
                    self.check_lease().await;
                    if self.poisoned {
                        break;
                    }
                }
                command = inbox.recv(), if carried.is_none() => {
                    let Some(command) = command else { break };
                    carried = self.handle_burst(command, &mut inbox).await;
                    if self.poisoned {
                        break;
                    }
                }
                _ = viewer_tick.tick() => {
                    let connected = self.viewers().await;
                    if connected != last_viewer_count {
                        last_viewer_count = connected;
                        self.send_frame(LiveFrame::viewers(connected));
                    }
                }
                _ = idle_check.tick() => {
                    self.live.trim_buckets(now_to_the_millisecond());
                    let live = self.machine.phase().is_live();
                    if !live && self.events.receiver_count() == 0 && self.frames.receiver_count() == 0 {
                        break;
                    }
                }
                // Last, so that every other branch that is ready goes first.
                _ = std::future::ready(()), if carried.is_some() => {
                    if let Some(command) = carried.take() {
                        carried = self.handle_burst(command, &mut inbox).await;
                        if self.poisoned {
                            break;
                        }
                    }
                }
            }
        }
        {
            let mut inboxes = self.shared.inboxes.lock().expect("the inbox map is never left poisoned");
            if inboxes.get(&id).is_some_and(|inbox| inbox.same_channel(&own_sender)) {
                inboxes.remove(&id);
            }
        }
        self.step_down().await;
        tracing::debug!(meeting = %id, "room closed");
    }

    /// Handles `command` and the commands a live batch meets after it, up to
    /// [`COMMANDS_PER_TURN`]; returns one left for the next turn.
    async fn handle_burst(
        &mut self,
        command: Command,
        inbox: &mut mpsc::Receiver<Command>,
    ) -> Option<Command> {
        let mut next = Some(command);
        for _ in 0..COMMANDS_PER_TURN {
            let command = next.take()?;
            next = self.handle(command, inbox).await;
            if self.poisoned {
                return None;
            }
        }
        next
    }

    /// Handles one command; returns a command a live batch met and left for later.
    async fn handle(&mut self, command: Command, inbox: &mut mpsc::Receiver<Command>) -> Option<Command> {
        if matches!(self.role, Role::Mirror { .. }) {
            self.handle_as_mirror(command);
            return None;
        }
        match command {
            Command::Live(request) => return self.run_live_batch(request, inbox).await,
            Command::Forwarded { request, reply } => {
                return self.serve_forwarded(request, reply, inbox).await;
            }
            Command::JoinLive { snapshot_for, reply } => {
                let _ = reply.send(self.join_live(snapshot_for));
            }
            Command::ModerationLog { reply } => {
                let _ = reply.send(self.moderation_record());
            }
            Command::EnterPhase { target, reply } => {
                let result = self.apply(Some(target)).await.map(|_| self.meeting.clone());
                let _ = reply.send(result);
            }
            Command::Subscribe { reply } => {
                // Re-read, so the snapshot shows edits made since the room last wrote.
                let result = self
                    .apply(None)
                    .await
                    .map(|_| Subscription { meeting: self.meeting.clone(), events: self.events.subscribe() });
                let _ = reply.send(result);
            }
            Command::PlatformBatch(batch) => self.run_platform_batch(batch).await,
            Command::Writes { reply } => {
                let _ = reply.send(true);
            }
            Command::Refresh => match self.apply(None).await {
                Ok(_) => self.publish_update(),
                Err(error) => {
                    tracing::warn!(meeting = %self.meeting.id, %error, "could not re-read an edited meeting")
                }
            },
        }
        None
    }

    /// Tells subscribers that the plan (title, time, status) changed.
    fn publish_update(&self) {
        self.stream_out(StreamEntry::MeetingUpdated { last_seq: self.live.state().last_seq });
        let view = MeetingView::of(&self.meeting, now_to_the_millisecond(), &self.shared.clock);
        let json = serde_json::to_string(&view).expect("events serialize");
        let _ = self.events.send(RoomEvent { name: "meeting_updated", json: json.into() });
    }

    fn publish(&self, change: &PhaseChange) {
        tracing::info!(meeting = %self.meeting.id, phase = change.phase.as_str(), cause = ?change.cause, "phase changed");
        let event = PhaseChangedEvent::of(change, &self.meeting, &self.shared.clock);
        // Serializing our own plain structs cannot fail.
        let json = serde_json::to_string(&event).expect("events serialize");
        // No subscribers is fine: the change is stored, and readers see it there.
        let _ = self.events.send(RoomEvent { name: "phase_changed", json: json.into() });
    }
}

/// The room's clock: the one place where a room reads the time, to hand it to its machines
/// with an input (and to the store, which stamps a commit with it).
///
/// The store keeps milliseconds; an instant finer than that would read back differently after
/// a restart.
pub(crate) fn now_to_the_millisecond() -> Timestamp {
    let now = Timestamp::now();
    Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
}

/// The longest a room sleeps towards a deadline before it looks at the wall clock again, so
/// that a clock stepped forward (NTP) delays a switch by at most this much.
const LONGEST_NAP: Duration = Duration::from_secs(1);

/// Sleeps from `now` until `deadline` or for [`LONGEST_NAP`], whichever is sooner; forever
/// without one.
async fn sleep_until(deadline: Option<Timestamp>, now: Timestamp) {
    match deadline {
        None => std::future::pending().await,
        Some(deadline) => {
            let wait = deadline.duration_since(now);
            let wait = Duration::try_from(wait).unwrap_or(Duration::ZERO);
            // One millisecond late rather than early: the wall clock and tokio's clock differ.
            tokio::time::sleep((wait + Duration::from_millis(1)).min(LONGEST_NAP)).await;
        }
    }
}
