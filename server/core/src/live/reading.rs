//! What the channel reads in a comment before anyone does: the automatic rules, whether it
//! reads as a question, and the cluster of near-duplicates it joins; and the near-duplicate
//! index the state keeps for that, which `evolve` maintains like the rest of the state.

use super::{CommentState, LiveSettings, LiveState, MAX_INDEXED_COMMENTS, Question};
use crate::ids::{CommentId, QuestionId, ViewerId};
use crate::moderation::{AutoVerdict, RecentText, SimilarKey, normalize};
use jiff::Timestamp;

/// What [`LiveState::read_comment`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Reading {
    pub(super) flagged: Option<AutoVerdict>,
    pub(super) likely_question: bool,
    pub(super) similar_to: Option<SimilarKey>,
}

impl LiveState {
    /// What the channel reads in a comment before anyone does: whether an automatic rule
    /// holds or hides it, whether it reads as a question, and which cluster of near-duplicates
    /// it joins. Suggestions only; nothing here merges anything.
    pub(super) fn read_comment(
        &self,
        settings: &LiveSettings,
        author: ViewerId,
        text: &str,
        now: Timestamp,
    ) -> Reading {
        let rules = &settings.moderation;
        let normalized = normalize(text);
        let window_start = now - rules.auto.flood_window();
        let recent: Vec<(Timestamp, String)> = self
            .authors
            .get(&author)
            .map(|standing| {
                standing
                    .recent
                    .iter()
                    .filter_map(|id| self.comments.get(id))
                    .filter(|comment| comment.posted_at >= window_start)
                    .map(|comment| (comment.posted_at, normalize(&comment.text)))
                    .collect()
            })
            .unwrap_or_default();
        let recent: Vec<RecentText<'_>> =
            recent.iter().map(|(at, normalized)| RecentText { at: *at, normalized }).collect();
        let similar_to = self
            .similar
            .best_match(&normalized, rules.duplicate_threshold_per_mille)
            .and_then(|(key, _)| self.cluster_of(key));
        Reading {
            flagged: rules.auto.check_normalized(text, &normalized, &recent, now),
            likely_question: rules.questions.is_likely_question_normalized(text, &normalized),
            similar_to,
        }
    }

    /// The cluster an indexed item stands for, if it still stands for one: a question for
    /// itself while open; a comment promoted into an open question for that question; any other
    /// comment for the cluster it joined while that is still open, or else for itself.
    fn cluster_of(&self, key: SimilarKey) -> Option<SimilarKey> {
        let own = self.live_cluster(key)?;
        let SimilarKey::Comment(id) = own else { return Some(own) };
        let joined = self.comments.get(&id).and_then(|comment| comment.similar_to);
        Some(joined.and_then(|root| self.live_cluster(root)).unwrap_or(own))
    }

    /// What `key` stands for now as a cluster's key, if anything.
    fn live_cluster(&self, key: SimilarKey) -> Option<SimilarKey> {
        let open_question = |id: QuestionId| {
            self.questions.get(&id).is_some_and(Question::is_open).then_some(SimilarKey::Question(id))
        };
        match key {
            SimilarKey::Question(id) => open_question(id),
            SimilarKey::Comment(id) => match self.comments.get(&id)?.state {
                CommentState::Visible | CommentState::Held => Some(key),
                CommentState::Promoted { question } => open_question(question),
                CommentState::Hidden { .. } => None,
            },
        }
    }

    /// Puts a comment in the near-duplicate index, dropping the oldest past the bound.
    pub(super) fn index_comment(&mut self, id: CommentId, text: &str) {
        self.similar.insert(SimilarKey::Comment(id), &normalize(text));
        self.indexed_comments.push_back(id);
        while self.indexed_comments.len() > MAX_INDEXED_COMMENTS {
            if let Some(oldest) = self.indexed_comments.pop_front() {
                self.similar.remove(SimilarKey::Comment(oldest));
            }
        }
    }
}
