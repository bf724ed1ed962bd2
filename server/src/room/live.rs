//! The live channel inside a room: group commit of comments, votes and moderation, and the
//! frames that fan the committed events out to every connection.
//!
//! Commands that arrive together are collected here and handed to the pure `LiveMachine`
//! (`live_machine.rs`), which decides and applies them in memory one after another and asks
//! for them to be committed in one transaction ("group commit"); only once the commit is
//! answered does it ask for acknowledgements and the broadcast. If the commit fails, nothing is
//! acknowledged and it asks for the state to be rebuilt from the log, so the state in memory
//! never holds what the store does not. This file is the driver: it collects, does the IO each
//! output asks for, and decides nothing.

use super::live_machine::{BatchOutcome, BatchRefusal, Input as LiveInput, Output as LiveOutput};
pub use super::live_machine::{LiveFailure, LiveReply, LiveResult, SentBackRequest};
use super::{Room, RoomError};
use crate::store::{LiveEventRecord, LogReader};
use kezdesu_core::CommentId;
use kezdesu_core::ViewerId;
use kezdesu_core::live::rate::RateRule;
use kezdesu_core::live::{
    Actor, LiveCommand, LiveState, ModerationEntry, OwnPart, Snapshot, SnapshotView, StoredEvent,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Events read from the store per query while rebuilding a room.
const REPLAY_CHUNK: u32 = 10_000;

/// One committed event, serialized once in each form it is shown in.
#[derive(Debug)]
pub struct FramedEvent {
    pub seq: u64,
    /// As staff, and the one viewer in its audience, see it.
    pub full: Arc<str>,
    /// As everyone else sees it (the same bytes when it is public).
    pub public: Arc<str>,
    /// The one viewer besides staff who sees `full`.
    pub audience: Option<ViewerId>,
}

impl FramedEvent {
    /// The form `reader` may see.
    pub fn text_for(&self, reader: LogReader) -> &str {
        match reader {
            LogReader::Staff => &self.full,
            LogReader::Viewer(viewer) if self.audience == Some(viewer) => &self.full,
            LogReader::Viewer(_) | LogReader::Public => &self.public,
        }
    }

    pub fn from_record(record: &LiveEventRecord) -> FramedEvent {
        let full: Arc<str> = record.body.as_str().into();
        let public = record.public.body.as_deref().map(Arc::from).unwrap_or_else(|| full.clone());
        FramedEvent { seq: record.seq, full, public, audience: record.public.audience }
    }
}

/// The text of a WebSocket frame: shared bytes, so that one frame built by the room is sent
/// to thousands of connections without a copy.
pub type FrameText = axum::extract::ws::Utf8Bytes;

/// What a room broadcasts to its live connections.
#[derive(Debug)]
pub enum LiveFrame {
    /// Events committed together, in `seq` order, with the whole frame already built for
    /// moderators and for the public; a connection builds its own only when an event is
    /// addressed to its viewer or it must skip events its replay already sent.
    Events { events: Vec<FramedEvent>, staff: FrameText, public: FrameText },
    /// How many are connected now; not sequenced.
    Viewers(FrameText),
}

impl LiveFrame {
    pub fn events(events: Vec<FramedEvent>) -> LiveFrame {
        let staff = events_frame(events.iter(), LogReader::Staff).into();
        let public = events_frame(events.iter(), LogReader::Public).into();
        LiveFrame::Events { events, staff, public }
    }

    pub fn viewers(count: usize) -> LiveFrame {
        LiveFrame::Viewers(format!(r#"{{"type":"viewers","count":{count}}}"#).into())
    }
}

/// Joins events into one `{"type":"events"}` frame, each in the form `reader` may see. The
/// events were serialized once; this only copies bytes.
pub fn events_frame<'a>(events: impl Iterator<Item = &'a FramedEvent>, reader: LogReader) -> String {
    let mut frame = String::with_capacity(256);
    frame.push_str(r#"{"type":"events","events":["#);
    for (index, event) in events.enumerate() {
        if index > 0 {
            frame.push(',');
        }
        frame.push_str(event.text_for(reader));
    }
    frame.push_str("]}");
    frame
}

/// A live command waiting in a room's inbox.
pub struct LiveRequest {
    pub actor: Actor,
    pub command: LiveCommand,
    pub reply: oneshot::Sender<LiveResult>,
}

/// What a new live connection gets: every frame after `last_seq`, and the meeting's settings.
pub struct LiveJoin {
    pub frames: broadcast::Receiver<Arc<LiveFrame>>,
    /// The last committed event; replay from the store up to here, then follow `frames`.
    pub last_seq: u64,
    /// How many are connected now, this connection included.
    pub viewers: usize,
    /// The channel at `last_seq`, when the connection asked for a snapshot.
    pub snapshot: Option<JoinSnapshot>,
}

/// A snapshot for one joining connection: the one shared by every connection of its view, and
/// a viewer's own part, joined when it is sent, on the connection's task rather than the room's.
pub struct JoinSnapshot {
    pub shared: Arc<Snapshot>,
    pub own: Option<OwnPart>,
}

impl JoinSnapshot {
    /// The `{"type":"snapshot",…}` message.
    pub fn to_json(&self) -> String {
        // Serializing our own plain structs cannot fail.
        match &self.own {
            None => serde_json::to_string(&*self.shared),
            Some(own) => serde_json::to_string(&(*self.shared).clone().with_own_part(own.clone())),
        }
        .expect("snapshots serialize")
    }
}

/// The snapshots last built for each view, with the `seq` they reflect: thousands of pages
/// joining at once between two events share one.
#[derive(Default)]
pub struct SnapshotCache {
    public: Option<Arc<Snapshot>>,
    staff: Option<Arc<Snapshot>>,
}

/// The moderation log as the room knows it, with the text of every hidden comment for admins.
pub struct ModerationRecord {
    pub entries: Vec<ModerationEntry>,
    pub hidden_texts: HashMap<CommentId, String>,
    /// What became of each platform's comments.
    pub by_platform: std::collections::BTreeMap<
        kezdesu_core::platforms::SocialPlatform,
        kezdesu_core::live::PlatformCounts,
    >,
}

/// The per-viewer comment rate, from the configuration.
pub fn comment_rate(config: &crate::config::LiveConfig) -> RateRule {
    RateRule {
        interval: jiff::SignedDuration::from_secs_f64(config.comment_interval_seconds),
        burst: config.comment_burst,
    }
}

impl Room {
    /// Rebuilds the channel's state from the stored log.
    pub(super) async fn load_live(&mut self) -> Result<(), RoomError> {
        let mut state = LiveState::default();
        state.defer_indexing();
        loop {
            let records = self
                .shared
                .store
                .live_events(self.meeting.id, state.last_seq, u64::MAX >> 1, REPLAY_CHUNK)
                .await?;
            let done = records.len() < REPLAY_CHUNK as usize;
            for record in &records {
                let stored: StoredEvent = serde_json::from_str(&record.body).map_err(|error| {
                    RoomError::Store(crate::store::StoreError::Corrupt(format!(
                        "event {}: {error}",
                        record.seq
                    )))
                })?;
                state.evolve(&stored);
            }
            if done {
                break;
            }
        }
        state.index_deferred();
        self.live.handle(LiveInput::Rebuilt(Box::new(state)), super::now_to_the_millisecond());
        Ok(())
    }

    pub(super) fn join_live(&mut self, snapshot_for: Option<LogReader>) -> LiveJoin {
        let frames = self.frames.subscribe();
        let snapshot = snapshot_for.map(|reader| self.snapshot_for(reader));
        LiveJoin {
            viewers: self.frames.receiver_count(),
            frames,
            last_seq: self.live.state().last_seq,
            snapshot,
        }
    }

    /// The snapshot `reader` may see, built once per view and `seq`.
    fn snapshot_for(&mut self, reader: LogReader) -> JoinSnapshot {
        let (view, own) = match reader {
            LogReader::Staff => (SnapshotView::Staff, None),
            LogReader::Viewer(viewer) => (SnapshotView::Public, Some(self.live.state().own_part(viewer))),
            LogReader::Public => (SnapshotView::Public, None),
        };
        let cached = match view {
            SnapshotView::Public => &mut self.snapshots.public,
            SnapshotView::Staff => &mut self.snapshots.staff,
        };
        let shared = match cached {
            Some(snapshot) if snapshot.seq == self.live.state().last_seq => snapshot.clone(),
            _ => {
                let built = Arc::new(self.live.state().snapshot(view, self.shared.live.snapshot_comments));
                *cached = Some(built.clone());
                built
            }
        };
        JoinSnapshot { shared, own }
    }

    pub(super) fn moderation_record(&self) -> ModerationRecord {
        let acted_on: BTreeSet<CommentId> = self
            .live
            .state()
            .moderation_log
            .iter()
            .filter_map(|entry| match entry.target {
                kezdesu_core::live::Target::Comment(comment) => Some(comment),
                _ => None,
            })
            .collect();
        let hidden_texts = acted_on
            .into_iter()
            .filter_map(|id| self.live.state().comments.get(&id).map(|comment| (id, comment.text.clone())))
            .collect();
        ModerationRecord {
            entries: self.live.state().moderation_log.clone(),
            hidden_texts,
            by_platform: self.live.state().platform_counts(),
        }
    }

    /// Hands `first` and whatever else is already waiting, up to the batch limit, to the live
    /// machine, which decides them together; then does what it asks (commit, answer, announce).
    /// Returns a non-live command met in the inbox, for the caller to handle after this batch.
    pub(super) async fn run_live_batch(
        &mut self,
        first: LiveRequest,
        inbox: &mut mpsc::Receiver<super::Command>,
    ) -> Option<super::Command> {
        let phase = self.machine.phase();
        let mut commands = Vec::new();
        let mut replies = Vec::new();
        let mut deferred = None;
        let mut request = Some(first);
        while let Some(LiveRequest { actor, command, reply }) = request.take() {
            commands.push((actor, command));
            replies.push(Some(reply));
            // Refused commands count too, so a flood of them cannot hold a batch open.
            if commands.len() >= self.shared.live.max_batch {
                break;
            }
            match inbox.try_recv() {
                Ok(super::Command::Live(next)) => request = Some(next),
                // Another node's live command joins the batch like this node's own.
                Ok(super::Command::Forwarded {
                    request: super::PeerRequest::Live { actor, command },
                    reply,
                }) => {
                    request = Some(super::replica::forwarded_live(actor, command, reply));
                }
                Ok(other) => deferred = Some(other),
                Err(_) => {}
            }
        }
        self.live.handle(LiveInput::Commands { commands, phase }, super::now_to_the_millisecond());
        self.drive_live(replies, None).await;
        deferred
    }

    /// Does the live machine's outputs in order, each result handed back to it: commits (with
    /// the clock read for the store's stamp), answers, announcements and rebuilds. Nothing here
    /// decides. `replies` are the senders of the commands handed in, by index; `platform` the
    /// platform reader's.
    pub(super) async fn drive_live(
        &mut self,
        mut replies: Vec<Option<oneshot::Sender<LiveResult>>>,
        mut platform: Option<oneshot::Sender<Result<BatchOutcome, BatchRefusal>>>,
    ) {
        while let Some(output) = self.live.poll_output() {
            match output {
                LiveOutput::Commit { records, public_updates, issues, cursor } => {
                    let committed = self
                        .shared
                        .store
                        .commit_live(
                            self.meeting.id,
                            &records,
                            &public_updates,
                            &issues,
                            None,
                            cursor.as_ref(),
                            super::now_to_the_millisecond(),
                        )
                        .await;
                    let input = match committed {
                        Ok(_) => LiveInput::Committed,
                        Err(error) => {
                            tracing::error!(meeting = %self.meeting.id, %error, "could not commit live events");
                            LiveInput::Failed
                        }
                    };
                    self.live.handle(input, super::now_to_the_millisecond());
                }
                LiveOutput::Reply { to, result } => {
                    if let Some(reply) = replies.get_mut(to).and_then(Option::take) {
                        let _ = reply.send(result);
                    }
                }
                LiveOutput::PlatformReply(result) => {
                    if let Some(reply) = platform.take() {
                        let _ = reply.send(result);
                    }
                }
                LiveOutput::Broadcast { records, sent_back } => self.announce(&records, sent_back),
                LiveOutput::Rebuild { committed } => {
                    if let Err(error) = self.catch_up(committed).await {
                        // The state holds events the store does not: close the room, so the
                        // next command opens a fresh one from the log.
                        tracing::error!(meeting = %self.meeting.id, %error, "could not rebuild the live state");
                        self.poisoned = true;
                    }
                }
            }
        }
    }

    /// Streams a committed batch to the other nodes, fans it out to this node's connections,
    /// and hands what its moderation asks of the platforms to the node's platforms service.
    fn announce(&mut self, records: &[LiveEventRecord], sent_back: Vec<SentBackRequest>) {
        if !records.is_empty() {
            self.stream_out(crate::cluster::StreamEntry::Records { records: records.to_vec() });
            self.send_frame(LiveFrame::events(records.iter().map(FramedEvent::from_record).collect()));
        }
        if let Some(outbox) = self.shared.sent_back.get() {
            for request in sent_back {
                // The platforms service ends only with the node; nothing is waited for.
                let _ = outbox.send(request);
            }
        }
    }

    /// Hands a frame over to be sent to every live connection (see [`super::fan_out`]).
    pub(super) fn send_frame(&self, frame: LiveFrame) {
        self.fan_out.send(frame);
    }
}
