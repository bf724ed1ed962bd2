//! The live channel inside a room: group commit of comments, votes and moderation, and the
//! frames that fan the committed events out to every connection.
//!
//! Commands that arrive together are decided and applied in memory one after another, then
//! committed in one transaction ("group commit"), and only then acknowledged and broadcast.
//! If the commit fails, nothing is acknowledged and the state is rebuilt from the log, so the
//! state in memory never holds what the store does not.

use super::{Room, RoomError};
use crate::store::{
    FeedCursor, IssueSource, LiveEventRecord, LogReader, ProblemIssue, PublicForm, PublicFormUpdate,
};
use jiff::Timestamp;
use kezdesu_core::CommentId;
use kezdesu_core::live::rate::{RateRule, TokenBucket};
use kezdesu_core::live::{
    Actor, Audience, Decision, LiveCommand, LiveError, LiveEvent, LiveState, ModerationEntry, Moment,
    OwnPart, QuestionState, Snapshot, SnapshotView, StoredEvent,
};
use kezdesu_core::{QuestionId, ViewerId};
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

/// Why a live command got no acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LiveFailure {
    /// The channel's rules refused it.
    Refused(LiveError),
    /// It could not be stored; nothing was kept, and it may be retried.
    Unavailable,
}

/// The answer to a live command, sent once its events are durable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LiveReply {
    /// A comment was stored (or had been, for a retry with the same client id).
    Posted { comment: CommentId, seq: u64 },
    /// Done; `seq` is the last event it caused, `None` when it changed nothing.
    Done { seq: Option<u64> },
}

pub type LiveResult = Result<LiveReply, LiveFailure>;

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

/// What a committed moderation event asks of the platform a comment or author came from,
/// handed to the node's platforms service, which never holds the room up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentBackRequest {
    pub meeting: kezdesu_core::MeetingId,
    /// The moderation event's seq.
    pub seq: u64,
    pub comment: Option<CommentId>,
    pub viewer: Option<ViewerId>,
    pub platform: kezdesu_core::platforms::SocialPlatform,
    pub action: kezdesu_core::live::SentBack,
}

/// A decided command, waiting for its batch to commit.
struct Pending {
    reply: oneshot::Sender<LiveResult>,
    answer: LiveReply,
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
        self.live = state;
        Ok(())
    }

    pub(super) fn join_live(&mut self, snapshot_for: Option<LogReader>) -> LiveJoin {
        let frames = self.frames.subscribe();
        let snapshot = snapshot_for.map(|reader| self.snapshot_for(reader));
        LiveJoin { viewers: self.frames.receiver_count(), frames, last_seq: self.live.last_seq, snapshot }
    }

    /// The snapshot `reader` may see, built once per view and `seq`.
    fn snapshot_for(&mut self, reader: LogReader) -> JoinSnapshot {
        let (view, own) = match reader {
            LogReader::Staff => (SnapshotView::Staff, None),
            LogReader::Viewer(viewer) => (SnapshotView::Public, Some(self.live.own_part(viewer))),
            LogReader::Public => (SnapshotView::Public, None),
        };
        let cached = match view {
            SnapshotView::Public => &mut self.snapshots.public,
            SnapshotView::Staff => &mut self.snapshots.staff,
        };
        let shared = match cached {
            Some(snapshot) if snapshot.seq == self.live.last_seq => snapshot.clone(),
            _ => {
                let built = Arc::new(self.live.snapshot(view, self.shared.live.snapshot_comments));
                *cached = Some(built.clone());
                built
            }
        };
        JoinSnapshot { shared, own }
    }

    pub(super) fn moderation_record(&self) -> ModerationRecord {
        let acted_on: BTreeSet<CommentId> = self
            .live
            .moderation_log
            .iter()
            .filter_map(|entry| match entry.target {
                kezdesu_core::live::Target::Comment(comment) => Some(comment),
                _ => None,
            })
            .collect();
        let hidden_texts = acted_on
            .into_iter()
            .filter_map(|id| self.live.comments.get(&id).map(|comment| (id, comment.text.clone())))
            .collect();
        ModerationRecord {
            entries: self.live.moderation_log.clone(),
            hidden_texts,
            by_platform: self.live.platform_counts(),
        }
    }

    /// Decides `first` and whatever else is already waiting, up to the batch limit, commits
    /// them together, then answers each. Returns a non-live command met in the inbox, for the
    /// caller to handle after this batch.
    pub(super) async fn run_live_batch(
        &mut self,
        first: LiveRequest,
        inbox: &mut mpsc::Receiver<super::Command>,
    ) -> Option<super::Command> {
        let phase = self.machine.phase();
        let mut records: Vec<LiveEventRecord> = Vec::new();
        let mut public_updates: Vec<PublicFormUpdate> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut handled = 0;
        let mut touched: BTreeSet<QuestionId> = BTreeSet::new();
        let mut deferred = None;
        let mut request = Some(first);
        while let Some(LiveRequest { actor, command, reply }) = request.take() {
            let moment = Moment { now: super::now_to_the_millisecond(), phase };
            match self.decide_and_apply(
                &actor,
                command,
                moment,
                &mut records,
                &mut public_updates,
                &mut touched,
            ) {
                Ok(answer) => pending.push(Pending { reply, answer }),
                Err(error) => {
                    let _ = reply.send(Err(LiveFailure::Refused(error)));
                }
            }
            // Refused commands count too, so a flood of them cannot hold a batch open.
            handled += 1;
            if handled >= self.shared.live.max_batch {
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
        if records.is_empty() {
            for Pending { reply, answer } in pending {
                let _ = reply.send(Ok(answer));
            }
            return deferred;
        }
        if self.commit_batch(&records, &public_updates, &touched, None).await {
            for Pending { reply, answer } in pending {
                let _ = reply.send(Ok(answer));
            }
            self.announce(&records);
        } else {
            for Pending { reply, .. } in pending {
                let _ = reply.send(Err(LiveFailure::Unavailable));
            }
        }
        deferred
    }

    /// Commits a batch's events (and, for a platform reader's batch, the cursor it was read up
    /// to). Returns whether it was committed; if not, the state is rebuilt from the log (or the
    /// room poisoned). Once the commands are answered, [`Room::announce`] tells everyone.
    pub(super) async fn commit_batch(
        &mut self,
        records: &[LiveEventRecord],
        public_updates: &[PublicFormUpdate],
        touched: &BTreeSet<QuestionId>,
        cursor: Option<&FeedCursor>,
    ) -> bool {
        let issues = self.issues_for(touched);
        let committed = self
            .shared
            .store
            .commit_live(
                self.meeting.id,
                records,
                public_updates,
                &issues,
                None,
                cursor,
                super::now_to_the_millisecond(),
            )
            .await;
        match committed {
            Ok(_) => true,
            Err(error) => {
                self.sent_back.clear();
                tracing::error!(meeting = %self.meeting.id, %error, "could not commit live events");
                // What the store had before this batch: another writer may have added to it.
                let committed = records.first().map_or(self.live.last_seq, |record| record.seq - 1);
                if let Err(error) = self.catch_up(committed).await {
                    // The state holds events the store does not: close the room, so the next
                    // command opens a fresh one from the log.
                    tracing::error!(meeting = %self.meeting.id, %error, "could not rebuild the live state");
                    self.poisoned = true;
                }
                false
            }
        }
    }

    /// Streams a committed batch to the other nodes, fans it out to this node's connections,
    /// and hands what its moderation asks of the platforms to the node's platforms service.
    pub(super) fn announce(&mut self, records: &[LiveEventRecord]) {
        if !records.is_empty() {
            self.stream_out(crate::cluster::StreamEntry::Records { records: records.to_vec() });
            self.send_frame(LiveFrame::events(records.iter().map(FramedEvent::from_record).collect()));
        }
        let sent_back = std::mem::take(&mut self.sent_back);
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

    fn decide_and_apply(
        &mut self,
        actor: &Actor,
        command: LiveCommand,
        moment: Moment,
        records: &mut Vec<LiveEventRecord>,
        public_updates: &mut Vec<PublicFormUpdate>,
        touched: &mut BTreeSet<QuestionId>,
    ) -> Result<LiveReply, LiveError> {
        let is_comment = matches!(command, LiveCommand::Comment { .. });
        let events = match self.live.decide(&self.shared.live.settings, actor, command, moment)? {
            Decision::AlreadyPosted { comment, seq } => return Ok(LiveReply::Posted { comment, seq }),
            Decision::Append(events) => events,
        };
        if is_comment && let kezdesu_core::Principal::Viewer { viewer, .. } = actor.principal {
            let rule = self.shared.live.comment_rate;
            let bucket = self.buckets.entry(viewer).or_insert_with(|| TokenBucket::new(rule, moment.now));
            bucket.take(rule, moment.now).map_err(|retry_after| LiveError::RateLimited { retry_after })?;
        }
        let mut answer = LiveReply::Done { seq: None };
        for event in events {
            let stored = StoredEvent { seq: self.live.last_seq + 1, at: moment.now, event };
            if let LiveEvent::CommentPosted { comment, .. } = &stored.event {
                answer = LiveReply::Posted { comment: *comment, seq: stored.seq };
            } else {
                answer = LiveReply::Done { seq: Some(stored.seq) };
            }
            self.apply_decided(stored, records, public_updates, touched);
        }
        Ok(answer)
    }

    /// Applies one decided event to the state and adds it to the batch being built.
    pub(super) fn apply_decided(
        &mut self,
        stored: StoredEvent,
        records: &mut Vec<LiveEventRecord>,
        public_updates: &mut Vec<PublicFormUpdate>,
        touched: &mut BTreeSet<QuestionId>,
    ) {
        touched.extend(questions_touched(&stored.event));
        public_updates.extend(self.republish(&stored.event));
        self.live.evolve(&stored);
        if let Some((platform, action)) = self.live.sent_back(&stored.event) {
            let (comment, viewer) = match &stored.event {
                LiveEvent::CommentHidden { comment, .. } => (Some(*comment), None),
                LiveEvent::AuthorTimedOut { viewer, .. } | LiveEvent::AuthorBanned { viewer, .. } => {
                    (None, Some(*viewer))
                }
                _ => (None, None),
            };
            self.sent_back.push(SentBackRequest {
                meeting: self.meeting.id,
                seq: stored.seq,
                comment,
                viewer,
                platform,
                action,
            });
        }
        records.push(record_of(&stored));
    }

    /// How a moderation event changes what the public is replayed of the comment it names: a
    /// hidden comment's text is no longer replayed to anyone but moderators and its author;
    /// a restored or released one is replayed to everyone again.
    fn republish(&self, event: &LiveEvent) -> Option<PublicFormUpdate> {
        let (comment, hide) = match event {
            LiveEvent::CommentHidden { comment, .. } => (comment, true),
            LiveEvent::CommentRestored { comment, .. } | LiveEvent::CommentReleased { comment, .. } => {
                (comment, false)
            }
            _ => return None,
        };
        let posted = self.live.comments.get(comment)?;
        let public = if hide {
            restricted(posted.seq, posted.posted_at, posted.author, LiveEvent::Redacted)
        } else if let Some(source) = posted.source.as_ref().filter(|source| source.author_id.is_some()) {
            // A platform comment is replayed to the public without its author's platform id.
            let public_event = LiveEvent::CommentPosted {
                comment: posted.id,
                author: posted.author,
                author_name: posted.author_name.clone(),
                client_id: String::new(),
                text: posted.text.clone(),
                held: false,
                source: Some(source.public()),
                flagged: posted.flagged.clone(),
                likely_question: posted.likely_question,
                similar_to: posted.similar_to,
            };
            restricted(posted.seq, posted.posted_at, posted.author, public_event)
        } else {
            PublicForm::FULL
        };
        Some(PublicFormUpdate { seq: posted.seq, public })
    }

    /// The issue-list rows of the questions a batch touched, as they stand now.
    fn issues_for(&self, touched: &BTreeSet<QuestionId>) -> Vec<ProblemIssue> {
        touched
            .iter()
            .filter_map(|id| self.live.questions.get(id))
            .map(|question| {
                let (state, outcome) = match &question.state {
                    QuestionState::Queued => ("queued", None),
                    QuestionState::OnAir => ("on_air", None),
                    QuestionState::Answered { summary } => ("answered", Some(summary.clone())),
                    QuestionState::Dismissed { reason } => ("dismissed", Some(reason.clone())),
                    QuestionState::Merged { into } => {
                        ("merged", Some(format!("merged into question {into}")))
                    }
                };
                ProblemIssue {
                    meeting: self.meeting.id,
                    question: question.id.0,
                    text: question.text.clone(),
                    state: state.to_owned(),
                    outcome,
                    votes: question.voters.len() as i64,
                    merged_into: match &question.state {
                        QuestionState::Merged { into } => Some(into.0),
                        _ => None,
                    },
                    created_at: question.created_at,
                    sources: question
                        .sources
                        .iter()
                        .filter_map(|id| self.live.comments.get(id))
                        .map(|comment| IssueSource {
                            comment: comment.id.0,
                            author: comment.author,
                            author_name: comment.author_name.clone(),
                            text: comment.text.clone(),
                            posted_at: comment.posted_at,
                            source: comment.source.as_ref().map(|source| source.public()),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Forgets rate-limit buckets that have filled up again, so idle viewers cost nothing.
    pub(super) fn trim_buckets(&mut self, now: Timestamp) {
        let rule = self.shared.live.comment_rate;
        self.buckets.retain(|_, bucket| !bucket.is_full(rule, now));
    }
}

/// The questions an event changes, whose issue-list rows must be refreshed.
fn questions_touched(event: &LiveEvent) -> Vec<QuestionId> {
    match event {
        LiveEvent::QuestionCreated { question, .. }
        | LiveEvent::QuestionEdited { question, .. }
        | LiveEvent::QuestionAnswered { question, .. }
        | LiveEvent::QuestionDismissed { question, .. }
        | LiveEvent::VoteCast { question, .. } => vec![*question],
        LiveEvent::QuestionMerged { question, into, .. } => vec![*question, *into],
        LiveEvent::QuestionOnAir { question, replaces, .. } => {
            std::iter::once(*question).chain(*replaces).collect()
        }
        _ => Vec::new(),
    }
}

/// Serializes an event once in each form it is shown in.
pub(super) fn record_of(stored: &StoredEvent) -> LiveEventRecord {
    // Serializing our own plain structs cannot fail.
    let body = serde_json::to_string(stored).expect("events serialize");
    let public = match stored.event.audience() {
        Audience::Everyone => PublicForm::FULL,
        Audience::StaffAnd(viewer) => restricted(stored.seq, stored.at, viewer, stored.event.public_form()),
    };
    LiveEventRecord { seq: stored.seq, at: stored.at, body, public }
}

/// The public form of an event seen in full only by moderators and `viewer`: others see
/// `public_event` in its place, under the same `seq`.
fn restricted(seq: u64, at: Timestamp, viewer: ViewerId, public_event: LiveEvent) -> PublicForm {
    let redacted = public_event == LiveEvent::Redacted;
    let public = StoredEvent { seq, at, event: public_event };
    // Serializing our own plain structs cannot fail.
    PublicForm {
        body: Some(serde_json::to_string(&public).expect("events serialize")),
        audience: Some(viewer),
        redacted,
    }
}
