//! The nouns of the live channel: commands, events, comments, questions, the moderation log.
//!
//! Commands and events are serde enums tagged by `type`; they are the wire protocol's bodies
//! (see `docs/protocol.md`), so a renamed field is a protocol change.

use crate::ids::{AccountId, CommentId, QuestionId, ViewerId};
use crate::platforms::CommentSource;
use crate::timer::{ChangeCause, Phase};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

// TEMPORARY until the moderation module lands: the shapes it will define.
/// What an automatic rule did to a comment, and the public reason it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoVerdict {
    pub rule: String,
    pub action: AutoAction,
    pub reason: String,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoAction {
    Hold,
    Hide,
}
/// A comment or an open question, as the key of a cluster of near-duplicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimilarKey {
    Comment(CommentId),
    Question(QuestionId),
}

/// What a client asks of the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LiveCommand {
    /// A viewer comments. `client_id` makes a retry idempotent.
    Comment {
        client_id: String,
        text: String,
    },
    /// A viewer upvotes a question (`up: true`) or takes the vote back.
    Vote {
        question: QuestionId,
        up: bool,
    },
    Hide {
        comment: CommentId,
        reason: String,
    },
    Restore {
        comment: CommentId,
    },
    /// Lets a comment held for review be seen by everyone.
    Release {
        comment: CommentId,
    },
    TimeOut {
        viewer: ViewerId,
        minutes: u32,
    },
    Ban {
        viewer: ViewerId,
    },
    Unban {
        viewer: ViewerId,
    },
    /// Seconds each author must wait between comments; 0 turns slow mode off.
    SlowMode {
        seconds: u32,
    },
    /// Holds each author's first comment for review until a moderator releases it.
    HoldFirstComments {
        on: bool,
    },
    /// Makes one question of one or more comments; `text` defaults to the first comment's.
    /// With `into`, that question is then merged into the open question `into`, so a cluster
    /// of comments joins a question already in the queue, keeping every source.
    Promote {
        comments: Vec<CommentId>,
        text: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        into: Option<QuestionId>,
    },
    /// Merges `question` into `into`, keeping every source comment and every vote.
    Merge {
        question: QuestionId,
        into: QuestionId,
    },
    EditQuestion {
        question: QuestionId,
        text: String,
    },
    /// Pins a question at `position` in the queue (0 is first); `null` unpins it.
    Pin {
        question: QuestionId,
        position: Option<u32>,
    },
    PutOnAir {
        question: QuestionId,
    },
    Answer {
        question: QuestionId,
        summary: String,
    },
    Dismiss {
        question: QuestionId,
        reason: String,
    },
}

/// The moderator who acted, as recorded in events and the moderation log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moderator {
    pub account: AccountId,
    pub name: String,
}

/// Something that happened in the channel. Stored in the meeting's log with a `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    CommentPosted {
        comment: CommentId,
        author: ViewerId,
        author_name: String,
        client_id: String,
        text: String,
        /// Held for review: seen only by moderators and its author until released.
        held: bool,
        /// Where it was written, when not on Kezdesu's page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<CommentSource>,
        /// An automatic rule held it (then `held`) or hid it (`held` too, and hidden at once).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        flagged: Option<AutoVerdict>,
        /// The text reads as a question.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        likely_question: bool,
        /// The cluster of near-duplicates it joins: its first comment, or an open question.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        similar_to: Option<SimilarKey>,
    },
    CommentHidden {
        comment: CommentId,
        reason: String,
        by: Moderator,
    },
    /// Carries the comment again, for viewers who never saw it (it was held) or replay it.
    CommentRestored {
        comment: CommentId,
        author: ViewerId,
        author_name: String,
        text: String,
        by: Moderator,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<CommentSource>,
    },
    /// A held comment, now seen by everyone: carries it, since they only saw `redacted`.
    CommentReleased {
        comment: CommentId,
        author: ViewerId,
        author_name: String,
        text: String,
        by: Moderator,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<CommentSource>,
    },
    AuthorTimedOut {
        viewer: ViewerId,
        minutes: u32,
        until: Timestamp,
        by: Moderator,
    },
    AuthorBanned {
        viewer: ViewerId,
        by: Moderator,
    },
    AuthorUnbanned {
        viewer: ViewerId,
        by: Moderator,
    },
    SlowModeSet {
        seconds: u32,
        by: Moderator,
    },
    HoldFirstCommentsSet {
        on: bool,
        by: Moderator,
    },
    QuestionCreated {
        question: QuestionId,
        text: String,
        sources: Vec<CommentId>,
        by: Moderator,
    },
    /// `sources` and `votes` are those of `into` after the merge.
    QuestionMerged {
        question: QuestionId,
        into: QuestionId,
        sources: Vec<CommentId>,
        votes: u32,
        by: Moderator,
    },
    QuestionEdited {
        question: QuestionId,
        text: String,
        by: Moderator,
    },
    /// The pinned questions, in order, at the head of the queue.
    QueueReordered {
        pinned: Vec<QuestionId>,
        by: Moderator,
    },
    QuestionOnAir {
        question: QuestionId,
        replaces: Option<QuestionId>,
        by: Moderator,
    },
    QuestionAnswered {
        question: QuestionId,
        summary: String,
        by: Moderator,
    },
    QuestionDismissed {
        question: QuestionId,
        reason: String,
        by: Moderator,
    },
    /// A vote, seen in full by its voter and staff; others see [`LiveEvent::VotesChanged`].
    VoteCast {
        question: QuestionId,
        voter: ViewerId,
        up: bool,
        votes: u32,
    },
    /// The public form of a vote: the new count, not who voted.
    VotesChanged {
        question: QuestionId,
        votes: u32,
    },
    /// The session timer moved.
    PhaseChanged {
        phase: Phase,
        cause: ChangeCause,
    },
    /// The public form of an event only staff and one viewer may see: it keeps the sequence
    /// gap-free for everyone else.
    Redacted,
}

/// Who may see an event in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    /// Staff and this viewer see it in full; everyone else sees its public form.
    StaffAnd(ViewerId),
}

impl LiveEvent {
    /// Who may see this event in full.
    pub fn audience(&self) -> Audience {
        match self {
            LiveEvent::CommentPosted { author, held: true, .. } => Audience::StaffAnd(*author),
            LiveEvent::VoteCast { voter, .. } => Audience::StaffAnd(*voter),
            // A platform author's id on the platform is for moderators only.
            LiveEvent::CommentPosted { author, source: Some(source), .. }
            | LiveEvent::CommentRestored { author, source: Some(source), .. }
            | LiveEvent::CommentReleased { author, source: Some(source), .. }
                if source.author_id.is_some() =>
            {
                Audience::StaffAnd(*author)
            }
            _ => Audience::Everyone,
        }
    }

    /// What everyone outside the audience sees instead.
    pub fn public_form(&self) -> LiveEvent {
        match self {
            LiveEvent::VoteCast { question, votes, .. } => {
                LiveEvent::VotesChanged { question: *question, votes: *votes }
            }
            LiveEvent::CommentPosted { held: false, .. }
            | LiveEvent::CommentRestored { .. }
            | LiveEvent::CommentReleased { .. } => self.without_author_ids(),
            _ => LiveEvent::Redacted,
        }
    }

    /// The event with its platform source's author id dropped.
    pub fn without_author_ids(&self) -> LiveEvent {
        let mut public = self.clone();
        if let LiveEvent::CommentPosted { source: Some(source), .. }
        | LiveEvent::CommentRestored { source: Some(source), .. }
        | LiveEvent::CommentReleased { source: Some(source), .. } = &mut public
        {
            source.author_id = None;
        }
        public
    }
}

/// An event with its place in the meeting's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Strictly increasing and gap-free within the meeting, from 1.
    pub seq: u64,
    pub at: Timestamp,
    #[serde(flatten)]
    pub event: LiveEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub author: ViewerId,
    pub author_name: String,
    pub text: String,
    pub posted_at: Timestamp,
    /// The event that posted it.
    pub seq: u64,
    pub state: CommentState,
    /// Where it was written, when not on Kezdesu's page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<CommentSource>,
    /// What an automatic rule did to it, if one acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged: Option<AutoVerdict>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub likely_question: bool,
    /// The cluster of near-duplicates it joined when it was posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similar_to: Option<SimilarKey>,
}

/// What became of a comment; its author is shown this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CommentState {
    Visible,
    Held,
    Hidden { reason: String },
    Promoted { question: QuestionId },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub id: QuestionId,
    pub text: String,
    /// Every comment the question was made of or merged from.
    pub sources: Vec<CommentId>,
    pub voters: BTreeSet<ViewerId>,
    pub state: QuestionState,
    pub created_at: Timestamp,
}

impl Question {
    /// Still in the queue or on air: it may be voted on, edited, merged or closed.
    pub fn is_open(&self) -> bool {
        matches!(self.state, QuestionState::Queued | QuestionState::OnAir)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum QuestionState {
    Queued,
    OnAir,
    Answered { summary: String },
    Dismissed { reason: String },
    Merged { into: QuestionId },
}

/// How an author stands in one meeting's channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorStanding {
    /// Has had a comment seen by everyone, so later ones are not held for review.
    pub trusted: bool,
    pub banned: bool,
    pub timed_out_until: Option<Timestamp>,
    /// For slow mode.
    pub last_comment_at: Option<Timestamp>,
    /// The author's latest comments, oldest first, at most [`RECENT_PER_AUTHOR`]: for the
    /// flood rule, and for the author's own part of a snapshot.
    pub recent: Vec<CommentId>,
}

/// How many of an author's latest comments the channel remembers by author.
pub const RECENT_PER_AUTHOR: usize = 8;

impl AuthorStanding {
    /// Refuses a banned author, or one timed out at `now`, whatever the comment came through.
    pub fn check_may_comment(&self, now: Timestamp) -> Result<(), super::LiveError> {
        if self.banned {
            return Err(super::LiveError::Banned);
        }
        if let Some(until) = self.timed_out_until.filter(|until| *until > now) {
            return Err(super::LiveError::TimedOut { until, retry_after: until.duration_since(now) });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModerationAction {
    /// An automatic rule held a comment for review.
    Hold,
    Hide,
    Restore,
    Release,
    TimeOut,
    Ban,
    Unban,
    SlowMode,
    HoldFirstComments,
    Promote,
    Merge,
    EditQuestion,
    Reorder,
    OnAir,
    Answer,
    Dismiss,
}

/// What a moderation action was taken on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Target {
    Comment(CommentId),
    Author(ViewerId),
    Question(QuestionId),
    /// The whole channel (slow mode, holding, queue order).
    Channel,
}

/// One line of the moderation log: done by a moderator, or by an automatic rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationEntry {
    pub at: Timestamp,
    /// Who acted; `None` when an automatic rule did.
    pub moderator: Option<Moderator>,
    /// The automatic rule that acted, by its id in the rule set.
    pub rule: Option<String>,
    pub action: ModerationAction,
    pub reason: Option<String>,
    pub target: Target,
}
