//! What a page joining late needs, at one `seq`, instead of the whole log.
//!
//! A console that joined a meeting of 100,000 comments from the start of the log took many
//! seconds to show the newest one. A snapshot carries what the log would have built: the
//! settings, every question with the queue's pins, the latest comments, and for moderators
//! every held comment and the authors under a time-out or ban. The page then follows the
//! events after `seq` as usual. Who may see what follows the events' own audiences: the public
//! never sees a held or hidden comment, nor who voted.

use super::AutoVerdict;
use super::model::{AuthorStanding, Comment, CommentState, QuestionState};
use super::{LiveState, SimilarKey};
use crate::ids::{CommentId, QuestionId, ViewerId};
use crate::platforms::CommentSource;
use jiff::Timestamp;
use serde::Serialize;

/// Who a snapshot is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotView {
    /// What everyone may see: readers, viewers, akims and the commission.
    Public,
    /// Moderators and admins: every comment in full, held ones included.
    Staff,
}

/// The channel at `seq`, as one view may see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename = "snapshot")]
pub struct Snapshot {
    pub seq: u64,
    pub slow_mode_seconds: u32,
    pub hold_first_comments: bool,
    /// Pinned questions, in order, at the head of the queue.
    pub pinned: Vec<QuestionId>,
    pub on_air: Option<QuestionId>,
    /// Every question of the meeting, by number.
    pub questions: Vec<SnapshotQuestion>,
    /// Oldest first.
    pub comments: Vec<SnapshotComment>,
    /// For staff: authors now banned, or with a time-out on record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<SnapshotAuthor>,
    /// For a viewer: the questions they voted for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_votes: Option<Vec<QuestionId>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotQuestion {
    pub question: QuestionId,
    pub text: String,
    pub sources: Vec<CommentId>,
    pub votes: u32,
    #[serde(flatten)]
    pub state: QuestionState,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotComment {
    pub comment: CommentId,
    pub author: ViewerId,
    pub author_name: String,
    pub text: String,
    pub posted_at: Timestamp,
    pub seq: u64,
    #[serde(flatten)]
    pub state: CommentState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<CommentSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged: Option<AutoVerdict>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub likely_question: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similar_to: Option<SimilarKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotAuthor {
    pub viewer: ViewerId,
    pub banned: bool,
    pub timed_out_until: Option<Timestamp>,
}

/// A viewer's own part of a snapshot: their latest comments in whatever state, and their votes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OwnPart {
    pub comments: Vec<SnapshotComment>,
    pub votes: Vec<QuestionId>,
}

/// How far back the public snapshot looks for comments it may show, in multiples of the
/// number asked for, so that a meeting of mostly hidden comments cannot make it scan the log.
const PUBLIC_SCAN_FACTOR: usize = 20;

impl LiveState {
    /// The channel as `view` may see it, with the latest `latest` comments.
    pub fn snapshot(&self, view: SnapshotView, latest: usize) -> Snapshot {
        let mut comments: Vec<SnapshotComment> = match view {
            SnapshotView::Public => self
                .comments
                .values()
                .rev()
                .take(latest.saturating_mul(PUBLIC_SCAN_FACTOR))
                .filter(|comment| is_public(comment))
                .take(latest)
                .map(|comment| snapshot_comment(comment, true))
                .collect(),
            SnapshotView::Staff => {
                let latest_ids: Vec<CommentId> = self.comments.keys().rev().take(latest).copied().collect();
                let oldest_latest = latest_ids.last().copied();
                // Every held comment, however old: a moderator must be able to release it.
                let older_held = self.comments.values().filter(|comment| {
                    Some(comment.id) < oldest_latest && comment.state == CommentState::Held
                });
                older_held
                    .chain(latest_ids.iter().filter_map(|id| self.comments.get(id)))
                    .map(|comment| snapshot_comment(comment, false))
                    .collect()
            }
        };
        comments.sort_by_key(|comment| comment.comment);
        let authors = match view {
            SnapshotView::Public => Vec::new(),
            SnapshotView::Staff => self
                .authors
                .iter()
                .filter(|(_, standing)| standing.banned || standing.timed_out_until.is_some())
                .map(|(viewer, standing)| snapshot_author(*viewer, standing))
                .collect(),
        };
        let mut authors = authors;
        authors.sort_by_key(|author| author.viewer);
        Snapshot {
            seq: self.last_seq,
            slow_mode_seconds: self.slow_mode_seconds,
            hold_first_comments: self.hold_first_comments,
            pinned: self.pinned.clone(),
            on_air: self.on_air,
            questions: self
                .questions
                .values()
                .map(|question| SnapshotQuestion {
                    question: question.id,
                    text: question.text.clone(),
                    sources: question.sources.clone(),
                    votes: question.voters.len() as u32,
                    state: question.state.clone(),
                    created_at: question.created_at,
                })
                .collect(),
            comments,
            authors,
            my_votes: None,
        }
    }

    /// What only `viewer` sees of the channel: their latest comments (held or hidden ones
    /// with the reason) and the questions they voted for.
    pub fn own_part(&self, viewer: ViewerId) -> OwnPart {
        let comments = self
            .authors
            .get(&viewer)
            .map(|standing| {
                standing
                    .recent
                    .iter()
                    .filter_map(|id| self.comments.get(id))
                    .map(|comment| snapshot_comment(comment, false))
                    .collect()
            })
            .unwrap_or_default();
        let votes = self
            .questions
            .values()
            .filter(|question| question.voters.contains(&viewer))
            .map(|question| question.id)
            .collect();
        OwnPart { comments, votes }
    }
}

impl Snapshot {
    /// This snapshot with a viewer's own part added: their comments among the others, in
    /// number order, and their votes.
    pub fn with_own_part(mut self, own: OwnPart) -> Snapshot {
        for comment in own.comments {
            match self.comments.binary_search_by_key(&comment.comment, |c| c.comment) {
                Ok(index) => self.comments[index] = comment,
                Err(index) => self.comments.insert(index, comment),
            }
        }
        self.my_votes = Some(own.votes);
        self
    }
}

/// A comment everyone may see.
fn is_public(comment: &Comment) -> bool {
    matches!(comment.state, CommentState::Visible | CommentState::Promoted { .. })
}

fn snapshot_comment(comment: &Comment, public: bool) -> SnapshotComment {
    let source = comment.source.as_ref().map(|source| if public { source.public() } else { source.clone() });
    SnapshotComment {
        comment: comment.id,
        author: comment.author,
        author_name: comment.author_name.clone(),
        text: comment.text.clone(),
        posted_at: comment.posted_at,
        seq: comment.seq,
        state: comment.state.clone(),
        source,
        flagged: comment.flagged.clone(),
        likely_question: comment.likely_question,
        similar_to: comment.similar_to,
    }
}

fn snapshot_author(viewer: ViewerId, standing: &AuthorStanding) -> SnapshotAuthor {
    SnapshotAuthor { viewer, banned: standing.banned, timed_out_until: standing.timed_out_until }
}
