//! What the channel reads in a comment before anyone does: the automatic rules, whether it
//! reads as a question, and the cluster of near-duplicates it joins; and the near-duplicate
//! index the state keeps for that, which `evolve` maintains like the rest of the state.

use super::{CommentState, LiveSettings, LiveState, MAX_INDEXED_COMMENTS, Question};
use crate::ids::{CommentId, QuestionId, ViewerId};
use crate::moderation::{AutoVerdict, RecentText, SimilarKey, normalize};
use jiff::Timestamp;
use std::collections::HashMap;

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
        self.index(SimilarKey::Comment(id), text);
        self.indexed_comments.push_back(id);
        while self.indexed_comments.len() > MAX_INDEXED_COMMENTS {
            if let Some(oldest) = self.indexed_comments.pop_front() {
                self.unindex(SimilarKey::Comment(oldest));
            }
        }
    }

    /// Puts `text` in the near-duplicate index under `key`, replacing what was there.
    pub(super) fn index(&mut self, key: SimilarKey, text: &str) {
        match &mut self.deferred_index {
            Some(deferred) => deferred.put(key),
            None => self.similar.insert(key, &normalize(text)),
        }
    }

    /// Takes `key` out of the near-duplicate index.
    pub(super) fn unindex(&mut self, key: SimilarKey) {
        if let Some(deferred) = &mut self.deferred_index {
            deferred.take(key);
        }
        self.similar.remove(key);
    }

    /// Before loading a log in bulk: from now on, [`LiveState::evolve`] only notes what the
    /// near-duplicate index holds, until [`LiveState::index_deferred`] builds it. Replaying a
    /// meeting of 100,000 comments otherwise normalized and indexed every one of them, about
    /// a second's work, though all but the latest 5,000 are dropped again.
    pub fn defer_indexing(&mut self) {
        if self.deferred_index.is_none() {
            self.deferred_index = Some(DeferredIndex::default());
        }
    }

    /// After a bulk load: builds the near-duplicate index from the texts as they stand, in
    /// the order it would have been built event by event, so that the state equals one that
    /// was never deferred (and ties between equally near items go the same way).
    pub fn index_deferred(&mut self) {
        let Some(deferred) = self.deferred_index.take() else { return };
        for key in deferred.order.into_iter().flatten() {
            let text = match key {
                SimilarKey::Comment(id) => self.comments.get(&id).map(|comment| comment.text.as_str()),
                SimilarKey::Question(id) => self.questions.get(&id).map(|question| question.text.as_str()),
            };
            if let Some(text) = text {
                self.similar.insert(key, &normalize(text));
            }
        }
    }
}

/// The keys the near-duplicate index is to hold, in the order each was last put in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DeferredIndex {
    /// Keys in the order they were put in; `None` where one was taken out or put in again.
    order: Vec<Option<SimilarKey>>,
    at: HashMap<SimilarKey, usize>,
}

impl DeferredIndex {
    fn put(&mut self, key: SimilarKey) {
        self.take(key);
        self.at.insert(key, self.order.len());
        self.order.push(Some(key));
    }

    fn take(&mut self, key: SimilarKey) {
        if let Some(position) = self.at.remove(&key)
            && let Some(slot) = self.order.get_mut(position)
        {
            *slot = None;
        }
    }
}
