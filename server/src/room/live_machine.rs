//! The live channel's group commit, apart from the room's IO: a state machine in the manner of
//! [`super::machine`]'s `RoomMachine`.
//!
//! A batch of commands the driver collected goes in through [`LiveMachine::handle`] with the
//! instant it is decided at ([`Input::Commands`], or [`Input::Platform`] for a platform reader's
//! batch). The machine decides each command through `LiveState` and the viewers' rate buckets,
//! applies what it decided to its state, and asks, through [`LiveMachine::poll_output`], to
//! [`Output::Commit`] the batch. The driver stores it and answers [`Input::Committed`] or
//! [`Input::Failed`]. Only after `Committed` do the senders get their acknowledgements
//! ([`Output::Reply`], [`Output::PlatformReply`]) and everyone the events
//! ([`Output::Broadcast`]). After `Failed` the machine asks for its state to be rebuilt from the
//! log ([`Output::Rebuild`], answered with [`Input::Rebuilt`]) and answers every sender
//! `Unavailable`; the batch's events are never broadcast.
//!
//! What it owns: the channel's state as of the last committed event (plus the batch in flight),
//! the per-viewer comment rate buckets, the `seq` of the live events, the public forms and issue
//! rows a batch rewrites, what committed moderation asks of the platforms, and the order
//! decide → commit → acknowledge → broadcast.
//!
//! What it must not do: read a clock, await, or name the store's trait, a channel or tokio; it
//! names only the store's plain record types. A test of this file's text keeps it so
//! (`the_live_machine_reads_no_clock_and_does_no_io`).
//!
//! **Committed before announced**, provable from the outputs alone: an acknowledgement and a
//! broadcast of a batch's events come only after the input that answered its
//! [`Output::Commit`] was [`Input::Committed`], and the broadcast carries exactly the committed
//! records. Refusals (the channel's rules, the rate limit) are answered at once: they commit
//! nothing. The property test in `live_machine/tests.rs` checks this over random batches.
//!
//! The driver may also [`LiveMachine::evolve`] the state with events already committed by
//! another writer (the phase machine's events, an owner's stream, a rebuild's replay).

use crate::store::{FeedCursor, IssueSource, LiveEventRecord, ProblemIssue, PublicForm, PublicFormUpdate};
use jiff::Timestamp;
use kezdesu_core::live::rate::{RateRule, TokenBucket};
use kezdesu_core::live::{
    Actor, Audience, Decision, IncomingPlatformComment, LiveCommand, LiveError, LiveEvent, LiveSettings,
    LiveState, Moment, QuestionState, StoredEvent,
};
use kezdesu_core::platforms::SocialPlatform;
use kezdesu_core::{CommentId, MeetingId, Phase, QuestionId, ViewerId};
use std::collections::{BTreeSet, HashMap, VecDeque};

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

/// What a committed moderation event asks of the platform a comment or author came from,
/// handed to the node's platforms service, which never holds the room up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentBackRequest {
    pub meeting: MeetingId,
    /// The moderation event's seq.
    pub seq: u64,
    pub comment: Option<CommentId>,
    pub viewer: Option<ViewerId>,
    pub platform: SocialPlatform,
    pub action: kezdesu_core::live::SentBack,
}

/// What became of a platform reader's batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Each comment entered, with its seq.
    pub taken: Vec<(CommentId, u64)>,
    /// Comments that had entered before (read again after a restart).
    pub duplicates: usize,
    /// Comments the channel's rules refused (a banned author, an empty text), by external id.
    pub refused: Vec<(String, LiveError)>,
}

/// Why a platform batch was not taken at all; the reader keeps its cursor and tries again, or
/// stops.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchRefusal {
    /// Another node writes this meeting now: its node runs the reader.
    #[error("another node writes this meeting")]
    NotOwner,
    /// It could not be stored; nothing was kept.
    #[error("the batch could not be stored")]
    Unavailable,
}

/// How the machine is configured.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub meeting: MeetingId,
    pub settings: LiveSettings,
    /// Each viewer's comment rate.
    pub comment_rate: RateRule,
}

/// What happened, handed to [`LiveMachine::handle`] with the instant it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Commands collected together, in order, decided at `now` in `phase`. Their answers come
    /// as [`Output::Reply`] with each one's index here.
    Commands { commands: Vec<(Actor, LiveCommand)>, phase: Phase },
    /// A platform reader's comments, and the cursor after them (`None` keeps the stored one).
    /// Its answer comes as one [`Output::PlatformReply`].
    Platform {
        platform: SocialPlatform,
        comments: Vec<IncomingPlatformComment>,
        cursor: Option<String>,
        phase: Phase,
    },
    /// The answer to [`Output::Commit`]: stored.
    Committed,
    /// The answer to [`Output::Commit`]: nothing was stored.
    Failed,
    /// The answer to [`Output::Rebuild`] (or a load): the state as the log holds it.
    Rebuilt(Box<LiveState>),
}

/// What the room must do, taken from [`LiveMachine::poll_output`] in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Store these in one transaction; answer with [`Input::Committed`] or [`Input::Failed`].
    Commit {
        records: Vec<LiveEventRecord>,
        public_updates: Vec<PublicFormUpdate>,
        issues: Vec<ProblemIssue>,
        cursor: Option<FeedCursor>,
    },
    /// Answer the command at index `to` of its [`Input::Commands`].
    Reply { to: usize, result: LiveResult },
    /// Answer the platform batch.
    PlatformReply(Result<BatchOutcome, BatchRefusal>),
    /// Tell everyone: `records` are committed; hand `sent_back` to the platforms service.
    Broadcast { records: Vec<LiveEventRecord>, sent_back: Vec<SentBackRequest> },
    /// The state holds events the store does not: rebuild it from the log, and deliver what
    /// another writer committed past `committed`; answer with [`Input::Rebuilt`]. If that
    /// fails, the room must close.
    Rebuild { committed: u64 },
}

/// Who waits for the batch in flight.
#[derive(Debug, Clone, PartialEq)]
enum Waiting {
    Commands(Vec<(usize, LiveReply)>),
    Platform(BatchOutcome),
}

/// The batch in flight, decided and applied, waiting for its commit.
#[derive(Debug, Clone, PartialEq)]
struct Batch {
    records: Vec<LiveEventRecord>,
    sent_back: Vec<SentBackRequest>,
    waiting: Waiting,
    /// The last `seq` before the batch.
    committed: u64,
}

/// One meeting's live channel orchestration. See the module's documentation.
#[derive(Debug)]
pub struct LiveMachine {
    config: LiveConfig,
    /// As of the last committed event, plus the batch in flight.
    state: LiveState,
    /// Each viewer's comment allowance; not logged, so forgotten at a restart.
    buckets: HashMap<ViewerId, TokenBucket>,
    batch: Option<Batch>,
    /// Set from a failed commit until the state is rebuilt: it may hold what the store does not.
    stale: bool,
    outputs: VecDeque<Output>,
}

/// What one batch builds while it is decided.
#[derive(Default)]
struct Building {
    records: Vec<LiveEventRecord>,
    public_updates: Vec<PublicFormUpdate>,
    touched: BTreeSet<QuestionId>,
    sent_back: Vec<SentBackRequest>,
}

impl LiveMachine {
    pub fn new(config: LiveConfig, state: LiveState) -> LiveMachine {
        LiveMachine {
            config,
            state,
            buckets: HashMap::new(),
            batch: None,
            stale: false,
            outputs: VecDeque::new(),
        }
    }

    /// The channel as of the last committed event (and, while a commit is in flight, its batch).
    pub fn state(&self) -> &LiveState {
        &self.state
    }

    /// Applies an event another writer already committed (see the module's documentation).
    pub fn evolve(&mut self, stored: &StoredEvent) {
        self.state.evolve(stored);
    }

    /// Takes what happened at `now`. A batch that comes while another is in flight, or while
    /// the state waits to be rebuilt, is answered `Unavailable`: the driver commits one at a time.
    pub fn handle(&mut self, input: Input, now: Timestamp) {
        match input {
            Input::Commands { commands, phase } => {
                if self.batch.is_some() || self.stale {
                    for to in 0..commands.len() {
                        self.outputs.push_back(Output::Reply { to, result: Err(LiveFailure::Unavailable) });
                    }
                    return;
                }
                self.decide_commands(commands, Moment { now, phase });
            }
            Input::Platform { platform, comments, cursor, phase } => {
                if self.batch.is_some() || self.stale {
                    self.outputs.push_back(Output::PlatformReply(Err(BatchRefusal::Unavailable)));
                    return;
                }
                self.decide_platform(platform, comments, cursor, Moment { now, phase });
            }
            Input::Committed => {
                let Some(batch) = self.batch.take() else { return };
                match batch.waiting {
                    Waiting::Commands(pending) => {
                        for (to, answer) in pending {
                            self.outputs.push_back(Output::Reply { to, result: Ok(answer) });
                        }
                    }
                    Waiting::Platform(outcome) => self.outputs.push_back(Output::PlatformReply(Ok(outcome))),
                }
                if !batch.records.is_empty() || !batch.sent_back.is_empty() {
                    self.outputs
                        .push_back(Output::Broadcast { records: batch.records, sent_back: batch.sent_back });
                }
            }
            Input::Failed => {
                let Some(batch) = self.batch.take() else { return };
                self.stale = true;
                self.outputs.push_back(Output::Rebuild { committed: batch.committed });
                match batch.waiting {
                    Waiting::Commands(pending) => {
                        for (to, _) in pending {
                            self.outputs
                                .push_back(Output::Reply { to, result: Err(LiveFailure::Unavailable) });
                        }
                    }
                    Waiting::Platform(_) => {
                        self.outputs.push_back(Output::PlatformReply(Err(BatchRefusal::Unavailable)))
                    }
                }
            }
            Input::Rebuilt(state) => {
                self.state = *state;
                self.stale = false;
            }
        }
    }

    /// What the driver must do next, in order; `None` once it has done everything.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Forgets rate-limit buckets that have filled up again by `now`, so idle viewers cost nothing.
    pub fn trim_buckets(&mut self, now: Timestamp) {
        let rule = self.config.comment_rate;
        self.buckets.retain(|_, bucket| !bucket.is_full(rule, now));
    }

    fn decide_commands(&mut self, commands: Vec<(Actor, LiveCommand)>, moment: Moment) {
        let committed = self.state.last_seq;
        let mut building = Building::default();
        let mut pending = Vec::new();
        for (to, (actor, command)) in commands.into_iter().enumerate() {
            match self.decide_and_apply(&actor, command, moment, &mut building) {
                Ok(answer) => pending.push((to, answer)),
                Err(error) => {
                    self.outputs.push_back(Output::Reply { to, result: Err(LiveFailure::Refused(error)) })
                }
            }
        }
        if building.records.is_empty() {
            // Nothing to store: what they answer is committed already.
            for (to, answer) in pending {
                self.outputs.push_back(Output::Reply { to, result: Ok(answer) });
            }
            return;
        }
        self.start_commit(building, None, Waiting::Commands(pending), committed);
    }

    fn decide_platform(
        &mut self,
        platform: SocialPlatform,
        comments: Vec<IncomingPlatformComment>,
        cursor: Option<String>,
        moment: Moment,
    ) {
        let committed = self.state.last_seq;
        let mut building = Building::default();
        let mut outcome = BatchOutcome::default();
        for incoming in comments {
            let external_id = incoming.source.external_id.clone();
            match self.state.decide_platform_comment(&self.config.settings, incoming, moment) {
                Ok(Decision::AlreadyPosted { .. }) => outcome.duplicates += 1,
                Ok(Decision::Append(events)) => {
                    for event in events {
                        let stored = StoredEvent { seq: self.state.last_seq + 1, at: moment.now, event };
                        if let LiveEvent::CommentPosted { comment, .. } = &stored.event {
                            outcome.taken.push((*comment, stored.seq));
                        }
                        self.apply_decided(stored, &mut building);
                    }
                }
                Err(error) => outcome.refused.push((external_id, error)),
            }
        }
        let cursor = cursor.map(|cursor| FeedCursor { platform, cursor });
        if building.records.is_empty() && cursor.is_none() {
            self.outputs.push_back(Output::PlatformReply(Ok(outcome)));
            return;
        }
        self.start_commit(building, cursor, Waiting::Platform(outcome), committed);
    }

    fn start_commit(
        &mut self,
        building: Building,
        cursor: Option<FeedCursor>,
        waiting: Waiting,
        committed: u64,
    ) {
        let Building { records, public_updates, touched, sent_back } = building;
        let issues = self.issues_for(&touched);
        self.outputs.push_back(Output::Commit { records: records.clone(), public_updates, issues, cursor });
        self.batch = Some(Batch { records, sent_back, waiting, committed });
    }

    fn decide_and_apply(
        &mut self,
        actor: &Actor,
        command: LiveCommand,
        moment: Moment,
        building: &mut Building,
    ) -> Result<LiveReply, LiveError> {
        let is_comment = matches!(command, LiveCommand::Comment { .. });
        let events = match self.state.decide(&self.config.settings, actor, command, moment)? {
            Decision::AlreadyPosted { comment, seq } => return Ok(LiveReply::Posted { comment, seq }),
            Decision::Append(events) => events,
        };
        if is_comment && let kezdesu_core::Principal::Viewer { viewer, .. } = actor.principal {
            let rule = self.config.comment_rate;
            let bucket = self.buckets.entry(viewer).or_insert_with(|| TokenBucket::new(rule, moment.now));
            bucket.take(rule, moment.now).map_err(|retry_after| LiveError::RateLimited { retry_after })?;
        }
        let mut answer = LiveReply::Done { seq: None };
        for event in events {
            let stored = StoredEvent { seq: self.state.last_seq + 1, at: moment.now, event };
            if let LiveEvent::CommentPosted { comment, .. } = &stored.event {
                answer = LiveReply::Posted { comment: *comment, seq: stored.seq };
            } else {
                answer = LiveReply::Done { seq: Some(stored.seq) };
            }
            self.apply_decided(stored, building);
        }
        Ok(answer)
    }

    /// Applies one decided event to the state and adds it to the batch being built.
    fn apply_decided(&mut self, stored: StoredEvent, building: &mut Building) {
        building.touched.extend(questions_touched(&stored.event));
        building.public_updates.extend(self.republish(&stored.event));
        self.state.evolve(&stored);
        if let Some((platform, action)) = self.state.sent_back(&stored.event) {
            let (comment, viewer) = match &stored.event {
                LiveEvent::CommentHidden { comment, .. } => (Some(*comment), None),
                LiveEvent::AuthorTimedOut { viewer, .. } | LiveEvent::AuthorBanned { viewer, .. } => {
                    (None, Some(*viewer))
                }
                _ => (None, None),
            };
            building.sent_back.push(SentBackRequest {
                meeting: self.config.meeting,
                seq: stored.seq,
                comment,
                viewer,
                platform,
                action,
            });
        }
        building.records.push(record_of(&stored));
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
        let posted = self.state.comments.get(comment)?;
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
            .filter_map(|id| self.state.questions.get(id))
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
                    meeting: self.config.meeting,
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
                        .filter_map(|id| self.state.comments.get(id))
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
pub fn record_of(stored: &StoredEvent) -> LiveEventRecord {
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

#[cfg(test)]
mod tests;
