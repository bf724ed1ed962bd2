//! The live channel's rules: comments, moderation and the question queue of one meeting.
//!
//! # Design
//!
//! The channel is event-sourced. [`LiveState::decide`] checks a command against the state and
//! returns the events it causes, changing nothing; [`LiveState::evolve`] applies one stored
//! event. The owner of a meeting (its room) decides and evolves each command of a batch in
//! turn, commits the batch's events, and only then acknowledges them; if the commit fails it
//! rebuilds the state from the log. After a restart the state is rebuilt by evolving every
//! stored event in order, and it is the same state, which a property test checks.
//!
//! Rate limits are not part of the log: they are [`rate::TokenBucket`]s the owner keeps
//! beside the state, since forgetting them at a restart harms nobody.
//!
//! Commenting cannot be switched off while the meeting is live. Moderators hide single comments
//! with a reason from the configured list, time authors out or ban them, slow the channel down,
//! or hold first comments for review. Every moderation action is recorded for the public log.

pub mod rate;

mod model;
mod reading;
mod snapshot;
pub use crate::moderation::{AutoAction, AutoVerdict, SimilarKey};
pub use model::*;
pub use snapshot::*;

use crate::ids::{CommentId, QuestionId, ViewerId};
use crate::moderation::{ModerationRules, SimilarityIndex};
use crate::platforms::{
    CommentSource, MAX_AUTHOR_NAME_CHARS, MAX_EXTERNAL_ID_CHARS, MAX_URL_CHARS, SocialPlatform,
};
use crate::roles::Principal;
use crate::text::{self, TextError};
use crate::timer::Phase;
use jiff::{SignedDuration, Timestamp};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

/// The most comments one question may be promoted from at once.
pub const MAX_SOURCES_PER_PROMOTION: usize = 50;
/// The longest time-out a moderator may give, in minutes.
pub const MAX_TIMEOUT_MINUTES: u32 = 24 * 60;
/// The longest slow-mode interval, in seconds.
pub const MAX_SLOW_MODE_SECONDS: u32 = 600;
/// The latest comments a new comment is compared with for near-duplicates (beside every open
/// question): the index's cost, and the benchmark's 5,000 open items, stay bounded however
/// long the meeting.
pub const MAX_INDEXED_COMMENTS: usize = 5000;

/// Numbers and lists the channel is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSettings {
    /// The longest comment, in characters.
    pub max_comment_chars: usize,
    /// The longest question text, answer summary or dismissal reason.
    pub max_question_chars: usize,
    /// The reasons a moderator may give for hiding a comment.
    pub hide_reasons: Vec<String>,
    /// The automatic rules, question words and duplicate threshold of `config/moderation/`.
    pub moderation: Arc<ModerationRules>,
}

impl Default for LiveSettings {
    fn default() -> LiveSettings {
        LiveSettings {
            max_comment_chars: 1000,
            max_question_chars: 1000,
            hide_reasons: ["spam", "insult", "personal_data", "off_topic", "unlawful", "duplicate"]
                .map(String::from)
                .to_vec(),
            // The shipped files are compiled in and checked by the moderation module's tests.
            moderation: Arc::new(ModerationRules::shipped().expect("the shipped moderation rules compile")),
        }
    }
}

/// Who sends a command to the channel.
// Serialized between the nodes of a cluster, when one forwards a command to the meeting's owner.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Actor {
    pub principal: Principal,
    /// The name shown beside comments, or recorded in the moderation log.
    pub name: String,
}

impl Actor {
    fn viewer(&self) -> Option<ViewerId> {
        match self.principal {
            Principal::Viewer { viewer, .. } => Some(viewer),
            Principal::Staff { .. } => None,
        }
    }

    /// Moderators and admins keep order in the channel; the meeting's akim does not.
    fn moderator(&self) -> Result<Moderator, LiveError> {
        match self.principal {
            Principal::Staff { account, role: crate::Role::Moderator | crate::Role::Admin } => {
                Ok(Moderator { account, name: self.name.clone() })
            }
            _ => Err(LiveError::Forbidden),
        }
    }
}

/// What is true at the moment a command arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub now: Timestamp,
    pub phase: Phase,
}

/// What a command decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Store these events, in order, then evolve the state with them.
    Append(Vec<LiveEvent>),
    /// The same comment was posted before with this client id: answer with its first ack.
    AlreadyPosted { comment: CommentId, seq: u64 },
}

/// A comment read from a platform, with the viewer that stands for its author in this
/// meeting (one per platform author, so that time-outs and bans apply to them).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IncomingPlatformComment {
    pub author: ViewerId,
    pub author_name: String,
    pub source: CommentSource,
    pub text: String,
}

/// What a moderation event asks of the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentBack {
    Remove {
        external_id: String,
    },
    /// For `minutes`, or for good when `None`.
    Ban {
        author_id: String,
        minutes: Option<u32>,
    },
}

/// One platform's comments in a meeting, by what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PlatformCounts {
    pub comments: u64,
    pub held: u64,
    pub hidden: u64,
    pub promoted: u64,
}

/// The live state of one meeting's channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveState {
    /// The sequence number of the last event applied; 0 before any.
    pub last_seq: u64,
    pub comments: BTreeMap<CommentId, Comment>,
    pub questions: BTreeMap<QuestionId, Question>,
    /// Pinned questions, in the order moderators set; they lead the queue.
    pub pinned: Vec<QuestionId>,
    pub on_air: Option<QuestionId>,
    pub slow_mode_seconds: u32,
    pub hold_first_comments: bool,
    pub authors: HashMap<ViewerId, AuthorStanding>,
    /// The comment and the seq that acknowledged it, by author and client id, for retries.
    pub posted: HashMap<(ViewerId, String), (CommentId, u64)>,
    /// The comment and its seq, by platform and the platform's id of it: a platform comment
    /// enters once, however often a poller reads it again.
    pub platform_posted: HashMap<(SocialPlatform, String), (CommentId, u64)>,
    /// Platform authors: the platform and its id of the author, for moderation sent back.
    pub platform_authors: HashMap<ViewerId, (SocialPlatform, String)>,
    pub moderation_log: Vec<ModerationEntry>,
    /// The open questions and the latest open comments, by their trigrams, for near-duplicate
    /// suggestions. Derived from the events like the rest, so every node's copy agrees.
    pub similar: SimilarityIndex,
    /// The comments put in `similar`, oldest first, to drop the oldest past
    /// [`MAX_INDEXED_COMMENTS`]; may name comments already taken out.
    pub indexed_comments: VecDeque<CommentId>,
    /// While a log is loaded in bulk, what `similar` will hold, in order, once it is
    /// ([`LiveState::defer_indexing`]).
    pub(crate) deferred_index: Option<reading::DeferredIndex>,
}

impl LiveState {
    /// Checks `command` from `actor` and returns what it causes. Changes nothing.
    pub fn decide(
        &self,
        settings: &LiveSettings,
        actor: &Actor,
        command: LiveCommand,
        moment: Moment,
    ) -> Result<Decision, LiveError> {
        let events = match command {
            LiveCommand::Comment { client_id, text } => {
                return self.decide_comment(settings, actor, client_id, &text, moment);
            }
            LiveCommand::Vote { question, up } => self.decide_vote(actor, question, up)?,
            command => self.decide_moderation(settings, actor.moderator()?, command, moment)?,
        };
        Ok(Decision::Append(events))
    }

    fn decide_comment(
        &self,
        settings: &LiveSettings,
        actor: &Actor,
        client_id: String,
        raw: &str,
        moment: Moment,
    ) -> Result<Decision, LiveError> {
        let author = actor.viewer().ok_or(LiveError::ViewersOnly)?;
        // Client ids travel in public events: plain characters only.
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
        if client_id.is_empty() || client_id.len() > 64 || !client_id.chars().all(plain) {
            return Err(LiveError::InvalidClientId);
        }
        if let Some(&(comment, seq)) = self.posted.get(&(author, client_id.clone())) {
            return Ok(Decision::AlreadyPosted { comment, seq });
        }
        if !moment.phase.is_live() {
            return Err(LiveError::NotLive);
        }
        let standing = self.authors.get(&author);
        if let Some(standing) = standing {
            standing.check_may_comment(moment.now)?;
            if let Some(last) = standing.last_comment_at {
                let next = last + SignedDuration::from_secs(i64::from(self.slow_mode_seconds));
                if self.slow_mode_seconds > 0 && next > moment.now {
                    return Err(LiveError::SlowMode { retry_after: next.duration_since(moment.now) });
                }
            }
        }
        let text = text::clean(raw, settings.max_comment_chars, true).map_err(LiveError::Text)?;
        let trusted = standing.is_some_and(|s| s.trusted);
        let reading = self.read_comment(settings, author, &text, moment.now);
        Ok(Decision::Append(vec![LiveEvent::CommentPosted {
            comment: CommentId(self.comments.len() as i64 + 1),
            author,
            author_name: actor.name.clone(),
            client_id,
            text,
            held: (self.hold_first_comments && !trusted) || reading.flagged.is_some(),
            source: None,
            flagged: reading.flagged,
            likely_question: reading.likely_question,
            similar_to: reading.similar_to,
        }]))
    }

    /// Checks a comment read from a platform. It meets the rules a typed comment meets
    /// (cleaning, hold-first, bans and time-outs of its author), except those that only make
    /// sense to someone typing here: slow mode and rate limits, which the platform keeps
    /// itself. A text longer than the limit is cut with an ellipsis rather than refused, since
    /// its author cannot be told to shorten it.
    pub fn decide_platform_comment(
        &self,
        settings: &LiveSettings,
        incoming: IncomingPlatformComment,
        moment: Moment,
    ) -> Result<Decision, LiveError> {
        let IncomingPlatformComment { author, author_name, mut source, text: raw } = incoming;
        let key = (source.platform, source.external_id.clone());
        if let Some(&(comment, seq)) = self.platform_posted.get(&key) {
            return Ok(Decision::AlreadyPosted { comment, seq });
        }
        let plain_id = |id: &str| {
            !id.is_empty() && id.len() <= MAX_EXTERNAL_ID_CHARS && id.chars().all(|c| c.is_ascii_graphic())
        };
        if !plain_id(&source.external_id)
            || source.author_id.as_deref().is_some_and(|id| !id.is_empty() && !plain_id(id))
        {
            return Err(LiveError::InvalidSource);
        }
        if source.author_id.as_deref() == Some("") {
            source.author_id = None;
        }
        // A link is only kept when it is an https address with nothing odd in it.
        source.url = source.url.filter(|url| {
            url.starts_with("https://")
                && url.len() <= MAX_URL_CHARS
                && url.chars().all(|c| c.is_ascii_graphic())
        });
        if !moment.phase.is_live() {
            return Err(LiveError::NotLive);
        }
        let standing = self.authors.get(&author);
        if let Some(standing) = standing {
            standing.check_may_comment(moment.now)?;
        }
        let text = match text::clean(&raw, settings.max_comment_chars, true) {
            Err(TextError::TooLong { .. }) => {
                let cleaned = text::clean(&raw, usize::MAX, true).map_err(LiveError::Text)?;
                let kept: String =
                    cleaned.chars().take(settings.max_comment_chars.saturating_sub(1)).collect();
                format!("{}…", kept.trim_end())
            }
            other => other.map_err(LiveError::Text)?,
        };
        let author_name = match text::clean(&author_name, usize::MAX, false) {
            Ok(name) => name.chars().take(MAX_AUTHOR_NAME_CHARS).collect(),
            Err(_) => source.platform.as_str().to_owned(),
        };
        let trusted = standing.is_some_and(|s| s.trusted);
        let reading = self.read_comment(settings, author, &text, moment.now);
        Ok(Decision::Append(vec![LiveEvent::CommentPosted {
            comment: CommentId(self.comments.len() as i64 + 1),
            author,
            author_name,
            client_id: String::new(),
            text,
            held: (self.hold_first_comments && !trusted) || reading.flagged.is_some(),
            source: Some(source),
            flagged: reading.flagged,
            likely_question: reading.likely_question,
            similar_to: reading.similar_to,
        }]))
    }

    /// What a moderation event asks of the platform a comment or an author came from: remove
    /// a hidden comment there, ban a banned or timed-out author there.
    pub fn sent_back(&self, event: &LiveEvent) -> Option<(SocialPlatform, SentBack)> {
        match event {
            LiveEvent::CommentHidden { comment, .. } => {
                let source = self.comments.get(comment)?.source.as_ref()?;
                Some((source.platform, SentBack::Remove { external_id: source.external_id.clone() }))
            }
            LiveEvent::AuthorTimedOut { viewer, minutes, .. } => {
                let (platform, author_id) = self.platform_authors.get(viewer)?;
                Some((*platform, SentBack::Ban { author_id: author_id.clone(), minutes: Some(*minutes) }))
            }
            LiveEvent::AuthorBanned { viewer, .. } => {
                let (platform, author_id) = self.platform_authors.get(viewer)?;
                Some((*platform, SentBack::Ban { author_id: author_id.clone(), minutes: None }))
            }
            _ => None,
        }
    }

    /// How many comments each platform brought, and what became of them, for the public
    /// moderation log. Comments typed on Kezdesu's page are not counted here.
    pub fn platform_counts(&self) -> BTreeMap<SocialPlatform, PlatformCounts> {
        let mut counts: BTreeMap<SocialPlatform, PlatformCounts> = BTreeMap::new();
        for comment in self.comments.values() {
            let Some(source) = &comment.source else { continue };
            let entry = counts.entry(source.platform).or_default();
            entry.comments += 1;
            match comment.state {
                CommentState::Hidden { .. } => entry.hidden += 1,
                CommentState::Held => entry.held += 1,
                CommentState::Promoted { .. } => entry.promoted += 1,
                CommentState::Visible => {}
            }
        }
        counts
    }

    fn decide_vote(
        &self,
        actor: &Actor,
        question: QuestionId,
        up: bool,
    ) -> Result<Vec<LiveEvent>, LiveError> {
        let voter = actor.viewer().ok_or(LiveError::ViewersOnly)?;
        if self.authors.get(&voter).is_some_and(|standing| standing.banned) {
            return Err(LiveError::Banned);
        }
        let found = self.questions.get(&question).ok_or(LiveError::UnknownQuestion)?;
        if !found.is_open() {
            return Err(LiveError::QuestionClosed);
        }
        if found.voters.contains(&voter) == up {
            return Ok(Vec::new());
        }
        let votes = found.voters.len() as u32 + u32::from(up) - u32::from(!up);
        Ok(vec![LiveEvent::VoteCast { question, voter, up, votes }])
    }

    fn decide_moderation(
        &self,
        settings: &LiveSettings,
        by: Moderator,
        command: LiveCommand,
        moment: Moment,
    ) -> Result<Vec<LiveEvent>, LiveError> {
        let question_text =
            |raw: &str| text::clean(raw, settings.max_question_chars, true).map_err(LiveError::Text);
        let event = match command {
            LiveCommand::Comment { .. } | LiveCommand::Vote { .. } => return Err(LiveError::ViewersOnly),
            LiveCommand::Hide { comment, reason } => {
                if !settings.hide_reasons.contains(&reason) {
                    return Err(LiveError::InvalidReason { allowed: settings.hide_reasons.clone() });
                }
                match self.comment(comment)?.state {
                    CommentState::Visible | CommentState::Held => {
                        LiveEvent::CommentHidden { comment, reason, by }
                    }
                    CommentState::Hidden { .. } => return Ok(Vec::new()),
                    CommentState::Promoted { .. } => return Err(LiveError::AlreadyPromoted),
                }
            }
            LiveCommand::Restore { comment } => match self.comment(comment)?.state {
                CommentState::Hidden { .. } => {
                    let found = self.comment(comment)?;
                    LiveEvent::CommentRestored {
                        comment,
                        author: found.author,
                        author_name: found.author_name.clone(),
                        text: found.text.clone(),
                        by,
                        source: found.source.clone(),
                    }
                }
                _ => return Err(LiveError::NotHidden),
            },
            LiveCommand::Release { comment } => match self.comment(comment)?.state {
                CommentState::Held => {
                    let found = self.comment(comment)?;
                    LiveEvent::CommentReleased {
                        comment,
                        author: found.author,
                        author_name: found.author_name.clone(),
                        text: found.text.clone(),
                        by,
                        source: found.source.clone(),
                    }
                }
                _ => return Err(LiveError::NotHeld),
            },
            LiveCommand::TimeOut { viewer, minutes } => {
                if minutes == 0 || minutes > MAX_TIMEOUT_MINUTES {
                    return Err(LiveError::InvalidMinutes);
                }
                self.author(viewer)?;
                let until = moment.now + SignedDuration::from_mins(i64::from(minutes));
                LiveEvent::AuthorTimedOut { viewer, minutes, until, by }
            }
            LiveCommand::Ban { viewer } => {
                self.author(viewer)?;
                LiveEvent::AuthorBanned { viewer, by }
            }
            LiveCommand::Unban { viewer } => {
                self.author(viewer)?;
                LiveEvent::AuthorUnbanned { viewer, by }
            }
            LiveCommand::SlowMode { seconds } => {
                if seconds > MAX_SLOW_MODE_SECONDS {
                    return Err(LiveError::InvalidSeconds);
                }
                LiveEvent::SlowModeSet { seconds, by }
            }
            LiveCommand::HoldFirstComments { on } => LiveEvent::HoldFirstCommentsSet { on, by },
            LiveCommand::Promote { comments, text, into } => {
                if comments.is_empty() || comments.len() > MAX_SOURCES_PER_PROMOTION {
                    return Err(LiveError::InvalidSources);
                }
                let unique: BTreeSet<_> = comments.iter().collect();
                if unique.len() != comments.len() {
                    return Err(LiveError::InvalidSources);
                }
                for comment in &comments {
                    match self.comment(*comment)?.state {
                        CommentState::Visible => {}
                        // Promoting would publish it; a moderator releases it first.
                        CommentState::Held => return Err(LiveError::CommentHeld),
                        CommentState::Hidden { .. } => return Err(LiveError::CommentHidden),
                        CommentState::Promoted { .. } => return Err(LiveError::AlreadyPromoted),
                    }
                }
                let text = match text {
                    Some(text) => question_text(&text)?,
                    None => self.comment(comments[0])?.text.clone(),
                };
                let question = QuestionId(self.questions.len() as i64 + 1);
                let Some(into) = into else {
                    return Ok(vec![LiveEvent::QuestionCreated { question, text, sources: comments, by }]);
                };
                // Joining a question already in the queue: the new question is made and merged
                // at once, so the register keeps both and every source lands on `into`.
                let target = self.open_question(into)?;
                let mut sources = target.sources.clone();
                sources.extend(comments.iter().copied());
                let votes = target.voters.len() as u32;
                return Ok(vec![
                    LiveEvent::QuestionCreated { question, text, sources: comments, by: by.clone() },
                    LiveEvent::QuestionMerged { question, into, sources, votes, by },
                ]);
            }
            LiveCommand::Merge { question, into } => {
                if question == into {
                    return Err(LiveError::InvalidSources);
                }
                let source = self.open_question(question)?;
                let target = self.open_question(into)?;
                let mut sources = target.sources.clone();
                sources.extend(source.sources.iter().copied());
                let votes = target.voters.union(&source.voters).count() as u32;
                LiveEvent::QuestionMerged { question, into, sources, votes, by }
            }
            LiveCommand::EditQuestion { question, text } => {
                self.open_question(question)?;
                LiveEvent::QuestionEdited { question, text: question_text(&text)?, by }
            }
            LiveCommand::Pin { question, position } => {
                self.open_question(question)?;
                let mut pinned: Vec<_> = self.pinned.iter().copied().filter(|q| *q != question).collect();
                if let Some(position) = position {
                    pinned.insert((position as usize).min(pinned.len()), question);
                }
                if pinned == self.pinned {
                    return Ok(Vec::new());
                }
                LiveEvent::QueueReordered { pinned, by }
            }
            LiveCommand::PutOnAir { question } => {
                let found = self.open_question(question)?;
                if found.state == QuestionState::OnAir {
                    return Ok(Vec::new());
                }
                LiveEvent::QuestionOnAir { question, replaces: self.on_air, by }
            }
            LiveCommand::Answer { question, summary } => {
                self.open_question(question)?;
                LiveEvent::QuestionAnswered { question, summary: question_text(&summary)?, by }
            }
            LiveCommand::Dismiss { question, reason } => {
                self.open_question(question)?;
                LiveEvent::QuestionDismissed { question, reason: question_text(&reason)?, by }
            }
        };
        Ok(vec![event])
    }

    fn comment(&self, id: CommentId) -> Result<&Comment, LiveError> {
        self.comments.get(&id).ok_or(LiveError::UnknownComment)
    }

    fn author(&self, viewer: ViewerId) -> Result<&AuthorStanding, LiveError> {
        self.authors.get(&viewer).ok_or(LiveError::UnknownAuthor)
    }

    fn open_question(&self, id: QuestionId) -> Result<&Question, LiveError> {
        let question = self.questions.get(&id).ok_or(LiveError::UnknownQuestion)?;
        if question.is_open() { Ok(question) } else { Err(LiveError::QuestionClosed) }
    }

    /// Applies one stored event. Events come from [`LiveState::decide`] and the log, so an
    /// event that names something unknown is skipped rather than trusted.
    pub fn evolve(&mut self, stored: &StoredEvent) {
        self.last_seq = stored.seq;
        let at = stored.at;
        match &stored.event {
            LiveEvent::CommentPosted {
                comment,
                author,
                author_name,
                client_id,
                text,
                held,
                source,
                flagged,
                likely_question,
                similar_to,
            } => {
                let state = match flagged {
                    Some(verdict) if verdict.action == AutoAction::Hide => {
                        CommentState::Hidden { reason: verdict.reason.clone() }
                    }
                    _ if *held => CommentState::Held,
                    _ => CommentState::Visible,
                };
                // A comment a rule hid is no cluster's member.
                if !matches!(state, CommentState::Hidden { .. }) {
                    self.index_comment(*comment, text);
                }
                self.comments.insert(
                    *comment,
                    Comment {
                        id: *comment,
                        author: *author,
                        author_name: author_name.clone(),
                        text: text.clone(),
                        posted_at: at,
                        seq: stored.seq,
                        state,
                        source: source.clone(),
                        flagged: flagged.clone(),
                        likely_question: *likely_question,
                        similar_to: *similar_to,
                    },
                );
                if let Some(verdict) = flagged {
                    self.moderation_log.push(ModerationEntry {
                        at,
                        moderator: None,
                        rule: Some(verdict.rule.clone()),
                        action: match verdict.action {
                            AutoAction::Hold => ModerationAction::Hold,
                            AutoAction::Hide => ModerationAction::Hide,
                        },
                        reason: Some(verdict.reason.clone()),
                        target: Target::Comment(*comment),
                    });
                }
                let standing = self.authors.entry(*author).or_default();
                standing.last_comment_at = Some(at);
                standing.trusted |= !*held;
                if standing.recent.len() >= RECENT_PER_AUTHOR {
                    standing.recent.remove(0);
                }
                standing.recent.push(*comment);
                match source {
                    None => {
                        self.posted.insert((*author, client_id.clone()), (*comment, stored.seq));
                    }
                    Some(source) => {
                        self.platform_posted
                            .insert((source.platform, source.external_id.clone()), (*comment, stored.seq));
                        if let Some(author_id) = &source.author_id {
                            self.platform_authors.insert(*author, (source.platform, author_id.clone()));
                        }
                    }
                }
            }
            LiveEvent::CommentHidden { comment, reason, by } => {
                self.unindex(SimilarKey::Comment(*comment));
                self.set_comment_state(*comment, CommentState::Hidden { reason: reason.clone() });
                self.record(at, by, ModerationAction::Hide, Some(reason.clone()), Target::Comment(*comment));
            }
            LiveEvent::CommentRestored { comment, text, by, .. } => {
                self.index_comment(*comment, text);
                self.set_comment_state(*comment, CommentState::Visible);
                self.record(at, by, ModerationAction::Restore, None, Target::Comment(*comment));
            }
            LiveEvent::CommentReleased { comment, by, .. } => {
                self.set_comment_state(*comment, CommentState::Visible);
                if let Some(author) = self.comments.get(comment).map(|c| c.author) {
                    self.authors.entry(author).or_default().trusted = true;
                }
                self.record(at, by, ModerationAction::Release, None, Target::Comment(*comment));
            }
            LiveEvent::AuthorTimedOut { viewer, minutes, until, by } => {
                self.authors.entry(*viewer).or_default().timed_out_until = Some(*until);
                self.record(
                    at,
                    by,
                    ModerationAction::TimeOut,
                    Some(format!("{minutes} min")),
                    Target::Author(*viewer),
                );
            }
            LiveEvent::AuthorBanned { viewer, by } => {
                self.authors.entry(*viewer).or_default().banned = true;
                self.record(at, by, ModerationAction::Ban, None, Target::Author(*viewer));
            }
            LiveEvent::AuthorUnbanned { viewer, by } => {
                let standing = self.authors.entry(*viewer).or_default();
                standing.banned = false;
                standing.timed_out_until = None;
                self.record(at, by, ModerationAction::Unban, None, Target::Author(*viewer));
            }
            LiveEvent::SlowModeSet { seconds, by } => {
                self.slow_mode_seconds = *seconds;
                self.record(
                    at,
                    by,
                    ModerationAction::SlowMode,
                    Some(format!("{seconds} s")),
                    Target::Channel,
                );
            }
            LiveEvent::HoldFirstCommentsSet { on, by } => {
                self.hold_first_comments = *on;
                let setting = if *on { "on" } else { "off" };
                self.record(
                    at,
                    by,
                    ModerationAction::HoldFirstComments,
                    Some(setting.into()),
                    Target::Channel,
                );
            }
            LiveEvent::QuestionCreated { question, text, sources, by } => {
                self.questions.insert(
                    *question,
                    Question {
                        id: *question,
                        text: text.clone(),
                        sources: sources.clone(),
                        voters: BTreeSet::new(),
                        state: QuestionState::Queued,
                        created_at: at,
                    },
                );
                for comment in sources {
                    // Its text stays indexed: later duplicates of it are suggested against the question.
                    self.set_comment_state(*comment, CommentState::Promoted { question: *question });
                }
                self.index(SimilarKey::Question(*question), text);
                self.record(at, by, ModerationAction::Promote, None, Target::Question(*question));
            }
            LiveEvent::QuestionMerged { question, into, sources, by, .. } => {
                let merged_voters =
                    self.questions.get(question).map(|q| q.voters.clone()).unwrap_or_default();
                if let Some(target) = self.questions.get_mut(into) {
                    target.sources = sources.clone();
                    target.voters.extend(merged_voters);
                }
                for comment in sources {
                    self.set_comment_state(*comment, CommentState::Promoted { question: *into });
                }
                self.close_question(*question, QuestionState::Merged { into: *into });
                self.record(
                    at,
                    by,
                    ModerationAction::Merge,
                    Some(format!("into question {into}")),
                    Target::Question(*question),
                );
            }
            LiveEvent::QuestionEdited { question, text, by } => {
                if let Some(found) = self.questions.get_mut(question) {
                    found.text = text.clone();
                    if found.is_open() {
                        self.index(SimilarKey::Question(*question), text);
                    }
                }
                self.record(at, by, ModerationAction::EditQuestion, None, Target::Question(*question));
            }
            LiveEvent::QueueReordered { pinned, by } => {
                self.pinned = pinned.clone();
                self.record(at, by, ModerationAction::Reorder, None, Target::Channel);
            }
            LiveEvent::QuestionOnAir { question, replaces, by } => {
                if let Some(previous) = replaces.and_then(|id| self.questions.get_mut(&id))
                    && previous.state == QuestionState::OnAir
                {
                    previous.state = QuestionState::Queued;
                }
                if let Some(found) = self.questions.get_mut(question) {
                    found.state = QuestionState::OnAir;
                }
                self.on_air = Some(*question);
                self.record(at, by, ModerationAction::OnAir, None, Target::Question(*question));
            }
            LiveEvent::QuestionAnswered { question, summary, by } => {
                self.close_question(*question, QuestionState::Answered { summary: summary.clone() });
                self.record(at, by, ModerationAction::Answer, None, Target::Question(*question));
            }
            LiveEvent::QuestionDismissed { question, reason, by } => {
                self.close_question(*question, QuestionState::Dismissed { reason: reason.clone() });
                self.record(
                    at,
                    by,
                    ModerationAction::Dismiss,
                    Some(reason.clone()),
                    Target::Question(*question),
                );
            }
            LiveEvent::VoteCast { question, voter, up, .. } => {
                if let Some(found) = self.questions.get_mut(question) {
                    if *up {
                        found.voters.insert(*voter);
                    } else {
                        found.voters.remove(voter);
                    }
                }
            }
            LiveEvent::PhaseChanged { .. } | LiveEvent::VotesChanged { .. } | LiveEvent::Redacted => {}
        }
    }

    fn set_comment_state(&mut self, comment: CommentId, state: CommentState) {
        if let Some(found) = self.comments.get_mut(&comment) {
            found.state = state;
        }
    }

    fn close_question(&mut self, question: QuestionId, state: QuestionState) {
        self.unindex(SimilarKey::Question(question));
        // A merged question's sources now belong to the question it joined, and stay indexed.
        if !matches!(state, QuestionState::Merged { .. })
            && let Some(found) = self.questions.get(&question)
        {
            for comment in found.sources.clone() {
                self.unindex(SimilarKey::Comment(comment));
            }
        }
        if let Some(found) = self.questions.get_mut(&question) {
            found.state = state;
        }
        self.pinned.retain(|q| *q != question);
        if self.on_air == Some(question) {
            self.on_air = None;
        }
    }

    fn record(
        &mut self,
        at: Timestamp,
        by: &Moderator,
        action: ModerationAction,
        reason: Option<String>,
        target: Target,
    ) {
        self.moderation_log.push(ModerationEntry {
            at,
            moderator: Some(by.clone()),
            rule: None,
            action,
            reason,
            target,
        });
    }

    /// The open questions in queue order: pinned ones in their order, then the rest by votes
    /// (most first) and age (oldest first). The question on air is not in the queue.
    pub fn queue(&self) -> Vec<QuestionId> {
        let mut unpinned: Vec<&Question> = self
            .questions
            .values()
            .filter(|q| q.state == QuestionState::Queued && !self.pinned.contains(&q.id))
            .collect();
        unpinned.sort_by(|a, b| b.voters.len().cmp(&a.voters.len()).then(a.id.cmp(&b.id)));
        let pinned_queued = self
            .pinned
            .iter()
            .copied()
            .filter(|id| self.questions.get(id).is_some_and(|q| q.state == QuestionState::Queued));
        pinned_queued.chain(unpinned.into_iter().map(|q| q.id)).collect()
    }
}

/// Why a command was refused; each has a stable code for the wire.
// Serialized between the nodes of a cluster, when one forwards a command to the meeting's owner.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
pub enum LiveError {
    #[error("comments are taken while the meeting is live")]
    NotLive,
    #[error("only viewers comment and vote")]
    ViewersOnly,
    #[error("only moderators and admins do that")]
    Forbidden,
    #[error("client_id must be 1 to 64 of A-Z, a-z, 0-9, '-', '_', '.' and ':'")]
    InvalidClientId,
    #[error("text {0}")]
    Text(TextError),
    #[error("you were banned from this meeting's comments")]
    Banned,
    #[error("you were timed out until {until}")]
    TimedOut { until: Timestamp, retry_after: SignedDuration },
    #[error("slow mode is on; wait before commenting again")]
    SlowMode { retry_after: SignedDuration },
    #[error("too many comments; wait before commenting again")]
    RateLimited { retry_after: SignedDuration },
    #[error("no such comment")]
    UnknownComment,
    #[error("no such question")]
    UnknownQuestion,
    #[error("this viewer has not commented in this meeting")]
    UnknownAuthor,
    #[error("the question is answered, dismissed or merged")]
    QuestionClosed,
    #[error("the reason must be one of: {}", allowed.join(", "))]
    InvalidReason { allowed: Vec<String> },
    #[error("the comment is not hidden")]
    NotHidden,
    #[error("the comment is not held for review")]
    NotHeld,
    #[error("the comment is hidden")]
    CommentHidden,
    #[error("the comment is held for review; release it first")]
    CommentHeld,
    #[error("the comment is already part of a question")]
    AlreadyPromoted,
    #[error("give 1 to 50 distinct comments, or two distinct questions")]
    InvalidSources,
    #[error("minutes must be 1 to 1440")]
    InvalidMinutes,
    #[error("seconds must be 0 to 600")]
    InvalidSeconds,
    #[error("a platform comment's ids must be 1 to 256 visible ASCII characters")]
    InvalidSource,
}

impl LiveError {
    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            LiveError::NotLive => "not_live",
            LiveError::ViewersOnly => "viewers_only",
            LiveError::Forbidden => "forbidden",
            LiveError::InvalidClientId => "invalid_client_id",
            LiveError::Text(TextError::Empty) => "text_empty",
            LiveError::Text(TextError::TooLong { .. }) => "text_too_long",
            LiveError::Banned => "banned",
            LiveError::TimedOut { .. } => "timed_out",
            LiveError::SlowMode { .. } => "slow_mode",
            LiveError::RateLimited { .. } => "rate_limited",
            LiveError::UnknownComment => "unknown_comment",
            LiveError::UnknownQuestion => "unknown_question",
            LiveError::UnknownAuthor => "unknown_author",
            LiveError::QuestionClosed => "question_closed",
            LiveError::InvalidReason { .. } => "invalid_reason",
            LiveError::NotHidden => "not_hidden",
            LiveError::NotHeld => "not_held",
            LiveError::CommentHidden => "comment_hidden",
            LiveError::CommentHeld => "comment_held",
            LiveError::AlreadyPromoted => "already_promoted",
            LiveError::InvalidSources => "invalid_sources",
            LiveError::InvalidMinutes => "invalid_minutes",
            LiveError::InvalidSeconds => "invalid_seconds",
            LiveError::InvalidSource => "invalid_source",
        }
    }

    /// How long to wait before trying again, when waiting helps.
    pub fn retry_after(&self) -> Option<SignedDuration> {
        match self {
            LiveError::TimedOut { retry_after, .. }
            | LiveError::SlowMode { retry_after }
            | LiveError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}
