//! Near-duplicates: character-trigram Jaccard similarity, and an index that finds the most
//! similar open item without comparing against all of them.
//!
//! DESIGN.md ("Moderation at a flood"): brute force costs about a microsecond per pair, so
//! ~5 ms per comment against 5,000 open items, too much at 50 comments/s from several
//! platforms. The index keeps, for every trigram, the items that have it (posting lists, with a
//! dense counter per item at query time), and answers by *prefix filtering*: an item scoring at
//! least `t` shares at least `ceil(t · |query|)` of the query's trigrams, so it has one of the
//! `|query| − that + 1` query trigrams with the shortest posting lists. `best_match`:
//! 1. reads those lists, counting each item's hits. At a few points it verifies the item with
//!    the most hits; a good match raises the threshold, which shortens the prefix (and the
//!    lists left unread are the longest);
//! 2. keeps the items whose hits plus the unread trigrams could still reach the threshold, and
//!    reads more lists for those while that costs less than verifying them, which tightens
//!    every bound;
//! 3. verifies the rest, most hits first, each by counting its trigrams among the unread ones;
//!    every match found raises the floor the next must reach.
//!
//! The answer is the same as brute force's, ties included (a property test says so); docs/bench/
//! moderation.md has the figures.
//!
//! Scores are per mille, rounded down: `floor(1000 · |A ∩ B| / |A ∪ B|)`. Integers keep the
//! answer exact and let the settings that hold them derive `Eq`.

use crate::ids::{CommentId, QuestionId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// What the index holds: an open comment or a question of the queue.
// Serialized as `{"comment": 5}` or `{"question": 2}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimilarKey {
    Comment(CommentId),
    Question(QuestionId),
}

impl SimilarKey {
    /// Whether `self` is preferred to `other` at an equal score: a question (it gathers the
    /// duplicates already), then the older item (the smaller id), so the answer never depends
    /// on the order things were inserted in.
    fn preferred_to(self, other: SimilarKey) -> bool {
        match (self, other) {
            (SimilarKey::Question(_), SimilarKey::Comment(_)) => true,
            (SimilarKey::Comment(_), SimilarKey::Question(_)) => false,
            (SimilarKey::Question(a), SimilarKey::Question(b)) => a < b,
            (SimilarKey::Comment(a), SimilarKey::Comment(b)) => a < b,
        }
    }
}

/// The character trigrams of a normalized text, hashed to 32 bits, sorted and deduplicated.
///
/// Each word is padded with a space on both sides and cut into trigrams on its own, so a word
/// of one letter still has one (` a `) and no trigram spans two words: reordering words keeps
/// most trigrams. Hashing rather than packing keeps any script (three characters need 63 bits);
/// two distinct trigrams share a hash with probability 2⁻³², which moves a score by a trigram.
pub fn trigrams(normalized: &str) -> Vec<u32> {
    let mut out = Vec::with_capacity(normalized.len());
    for word in normalized.split(' ').filter(|w| !w.is_empty()) {
        let mut before = ' ';
        let mut middle: Option<char> = None;
        for c in word.chars() {
            if let Some(m) = middle {
                out.push(trigram_hash(before, m, c));
                before = m;
            }
            middle = Some(c);
        }
        if let Some(m) = middle {
            out.push(trigram_hash(before, m, ' '));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn trigram_hash(a: char, b: char, c: char) -> u32 {
    // A fixed mix (the SplitMix64 finalizer): the same text has the same trigrams on every node
    // and in every run.
    let mut z = (u64::from(a) << 42) | (u64::from(b) << 21) | u64::from(c);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z >> 32) as u32
}

/// Jaccard similarity of two sorted, deduplicated trigram lists, per mille, rounded down.
/// Two empty lists score 0: there is nothing to compare.
pub fn jaccard_per_mille(a: &[u32], b: &[u32]) -> u16 {
    let shared = shared_count(a, b);
    score(shared, a.len(), b.len())
}

fn score(shared: usize, a: usize, b: usize) -> u16 {
    let union = (a + b).saturating_sub(shared);
    if union == 0 {
        return 0;
    }
    // shared ≤ union, so the quotient is at most 1000.
    u16::try_from(shared.saturating_mul(1000) / union).unwrap_or(1000)
}

/// Whether an item of `m` trigrams with `seen` hits among the query's trigrams read so far, and
/// `unread` left, may still score `floor` against a query of `n`: it shares at most
/// `seen + unread` (and at most `m`), and scores below `floor` when 1000·shared < floor·union.
/// No division: this runs for every candidate. An item of no trigrams (a dead slot) never may.
fn may_reach(seen: u32, unread: usize, m: u32, n: usize, floor: u16) -> bool {
    let m = m as usize;
    let shared = (seen as usize + unread).min(m);
    shared * 1000 >= usize::from(floor) * (n + m - shared)
}

fn shared_count(a: &[u32], b: &[u32]) -> usize {
    // Branch-free: which list advances is data, not a guess the processor gets wrong half the
    // time. This is the inner loop of every verification.
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        shared += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    shared
}

/// Hashes a trigram (already well mixed) by spreading it over 64 bits, which the hash table
/// wants in its top bits too.
#[derive(Debug, Clone, Copy, Default)]
struct TrigramHasher(u64);

impl Hasher for TrigramHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// How many posting-list entries one more list may have, per candidate left, to be worth
/// reading: a verification walks a couple of hundred trigrams, an entry read costs about a
/// step, and a list read prunes only some candidates. Between 16 and 128 the benchmark
/// (docs/bench/moderation.md) hardly moves.
const READ_PER_CANDIDATE: usize = 64;

type Postings = HashMap<u32, Vec<u32>, BuildHasherDefault<TrigramHasher>>;

#[derive(Debug, Clone)]
struct Slot {
    key: SimilarKey,
    trigrams: Box<[u32]>,
}

/// The open comments and questions, searchable by similarity.
///
/// Removing an item only empties its slot (a tombstone); the posting lists still name the slot
/// until more slots are dead than alive, when they are rebuilt at once. That keeps removal
/// O(1) and its amortized cost O(trigrams). Two indexes are equal when they hold the same keys
/// with the same trigrams, whatever their history.
#[derive(Debug, Clone, Default)]
pub struct SimilarityIndex {
    slots: Vec<Option<Slot>>,
    /// Each slot's number of trigrams (0 once dead), apart from the slots for the cache.
    sizes: Vec<u32>,
    by_key: HashMap<SimilarKey, u32>,
    postings: Postings,
    dead: usize,
}

impl PartialEq for SimilarityIndex {
    fn eq(&self, other: &SimilarityIndex) -> bool {
        self.by_key.len() == other.by_key.len()
            && self.by_key.keys().all(|key| self.trigrams_of(*key) == other.trigrams_of(*key))
    }
}

impl Eq for SimilarityIndex {}

impl SimilarityIndex {
    /// Adds an item under `key`, or replaces the text of the item already there.
    /// `normalized` is the output of [`normalize`](super::normalize).
    ///
    /// The index holds at most `u32::MAX` slots; beyond that, inserts are ignored.
    pub fn insert(&mut self, key: SimilarKey, normalized: &str) {
        self.remove(key);
        let Ok(slot) = u32::try_from(self.slots.len()) else {
            return;
        };
        let trigrams = trigrams(normalized).into_boxed_slice();
        for &t in trigrams.iter() {
            self.postings.entry(t).or_default().push(slot);
        }
        self.sizes.push(u32::try_from(trigrams.len()).unwrap_or(u32::MAX));
        self.slots.push(Some(Slot { key, trigrams }));
        self.by_key.insert(key, slot);
    }

    /// Removes the item under `key`, if any.
    pub fn remove(&mut self, key: SimilarKey) {
        let Some(slot) = self.by_key.remove(&key) else {
            return;
        };
        if let Some(entry) = self.slots.get_mut(slot as usize) {
            *entry = None;
            self.dead += 1;
        }
        if let Some(size) = self.sizes.get_mut(slot as usize) {
            *size = 0;
        }
        if self.dead > self.by_key.len() {
            self.compact();
        }
    }

    /// How many items the index holds.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    pub fn contains(&self, key: SimilarKey) -> bool {
        self.by_key.contains_key(&key)
    }

    fn trigrams_of(&self, key: SimilarKey) -> Option<&[u32]> {
        let slot = self.by_key.get(&key)?;
        self.slots.get(*slot as usize)?.as_ref().map(|s| &*s.trigrams)
    }

    /// The item most similar to `normalized` whose score reaches `threshold_per_mille` (a score
    /// of 0 never matches), with its score. At an equal score a question wins over a comment,
    /// then the smaller id.
    pub fn best_match(&self, normalized: &str, threshold_per_mille: u16) -> Option<(SimilarKey, u16)> {
        let query = trigrams(normalized);
        if query.is_empty() || self.by_key.is_empty() {
            return None;
        }
        let n = query.len();
        let threshold = threshold_per_mille.clamp(1, 1000);
        // How many of the query's trigrams, rarest first, a match of score ≥ `t` must share one
        // of: it shares at least ceil(t·n/1000) of the n, since 1000·shared ≥ t·union ≥ t·n.
        let prefix_for = |t: u16| n - (usize::from(t) * n).div_ceil(1000).max(1) + 1;

        // The query's posting lists, shortest first. Trigrams no item has come first in the
        // order: they count towards the prefix and cost nothing.
        let mut lists: Vec<(&[u32], u32)> =
            query.iter().filter_map(|t| self.postings.get(t).map(|list| (list.as_slice(), *t))).collect();
        lists.sort_unstable_by_key(|(list, t)| (list.len(), *t));
        let absent = n - lists.len();
        let mut read = 0;
        let mut limit = prefix_for(threshold).saturating_sub(absent);

        // 1. The prefix: every item on these lists is a candidate. Once a good match is known,
        // a higher threshold needs a shorter prefix (the lists left are the longest): at these
        // points the item seen most often so far is verified.
        let checkpoints: Vec<usize> = [950u16, 850, 700]
            .into_iter()
            .filter(|t| *t > threshold)
            .map(|t| prefix_for(t).saturating_sub(absent))
            .collect();
        let mut counts = vec![0u32; self.slots.len()];
        let mut touched = 0usize;
        let mut leader: Option<(u32, u32)> = None;
        let mut best: Option<(SimilarKey, u16)> = None;
        while read < limit {
            let Some((list, _)) = lists.get(read) else { break };
            let (mut top, mut top_slot) = leader.unwrap_or((0, 0));
            for &slot in *list {
                if let Some(count) = counts.get_mut(slot as usize) {
                    *count += 1;
                    touched += usize::from(*count == 1);
                    if *count > top {
                        (top, top_slot) = (*count, slot);
                    }
                }
            }
            if top > 0 {
                leader = Some((top, top_slot));
            }
            read += 1;
            if checkpoints.contains(&read) {
                if let Some((_, slot)) = leader {
                    self.verify(slot, &query, 0, n, threshold, &mut best);
                }
                if let Some((_, score)) = best {
                    limit = limit.min(prefix_for(score.max(threshold)).saturating_sub(absent));
                }
            }
        }

        let floor = |best: Option<(SimilarKey, u16)>| best.map_or(threshold, |(_, s)| s.max(threshold));
        let mut unread = lists.len() - read;
        let first_floor = floor(best);
        // Whatever its size, a candidate scores at most 1000·(seen + unread)/n: fewer hits than
        // this cannot reach the floor.
        let min_seen = (usize::from(first_floor) * n).div_ceil(1000).saturating_sub(unread).max(1);
        let min_seen = u32::try_from(min_seen).unwrap_or(u32::MAX);
        // A plain pass over the counts, written without a branch per slot: whether a slot is a
        // candidate is a coin toss the processor would mispredict thousands of times (and a
        // list of touched slots kept in the loop above slows it more). Only touched slots can
        // qualify, and dead slots (no trigrams) never do.
        let mut candidates: Vec<(u32, u32)> = vec![(0, 0); touched];
        let mut kept = 0;
        for ((&seen, &m), slot) in counts.iter().zip(&self.sizes).zip(0u32..) {
            if let Some(candidate) = candidates.get_mut(kept) {
                *candidate = (seen, slot);
            }
            kept += usize::from((seen >= min_seen) & may_reach(seen, unread, m, n, first_floor));
        }
        candidates.truncate(kept);

        // 2. More lists, for the candidates only, while reading one costs a fraction of
        // verifying them all: each list read tightens every candidate's bound, and those that
        // cannot reach the floor any more are dropped. Without this a query near many items
        // verifies hundreds of them.
        while let Some((list, _)) = lists.get(read) {
            if candidates.len() < 2 || list.len() > candidates.len() * READ_PER_CANDIDATE {
                break;
            }
            for &slot in *list {
                if let Some(count) = counts.get_mut(slot as usize) {
                    *count += 1;
                }
            }
            read += 1;
            unread -= 1;
            let floor = floor(best);
            candidates.retain_mut(|(seen, slot)| {
                *seen = counts.get(*slot as usize).copied().unwrap_or(0);
                let m = self.sizes.get(*slot as usize).copied().unwrap_or(0);
                may_reach(*seen, unread, m, n, floor)
            });
        }

        // 3. Verify, the most promising first: a good match found early raises the floor that
        // prunes the rest. A verification counts only the trigrams not read.
        let mut unread_trigrams: Vec<u32> =
            lists.get(read..).unwrap_or(&[]).iter().map(|(_, t)| *t).collect();
        unread_trigrams.sort_unstable();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        for (seen, slot) in candidates {
            let floor = floor(best);
            if (seen as usize + unread) * 1000 < usize::from(floor) * n {
                break; // and the rest, which have seen no more
            }
            let m = self.sizes.get(slot as usize).copied().unwrap_or(0);
            if may_reach(seen, unread, m, n, floor) {
                self.verify(slot, &unread_trigrams, seen as usize, n, threshold, &mut best);
            }
        }
        best
    }

    /// Counts the slot's trigrams among `rest` (sorted), adds `seen` (its hits among the query's
    /// other trigrams), and keeps the slot if its score against a query of `n` trigrams beats
    /// `best`.
    fn verify(
        &self,
        slot: u32,
        rest: &[u32],
        seen: usize,
        n: usize,
        threshold: u16,
        best: &mut Option<(SimilarKey, u16)>,
    ) {
        let Some(Some(item)) = self.slots.get(slot as usize) else { return };
        if best.is_some_and(|(key, _)| key == item.key) {
            return;
        }
        let exact = score(seen + shared_count(rest, &item.trigrams), n, item.trigrams.len());
        let better = exact >= threshold
            && best.is_none_or(|(best_key, best_score)| {
                exact > best_score || (exact == best_score && item.key.preferred_to(best_key))
            });
        if better {
            *best = Some((item.key, exact));
        }
    }

    /// Drops the dead slots and renumbers the live ones, in their order.
    fn compact(&mut self) {
        let mut renumber = vec![u32::MAX; self.slots.len()];
        let mut slots = Vec::with_capacity(self.by_key.len());
        let mut sizes = Vec::with_capacity(self.by_key.len());
        for (old, entry) in std::mem::take(&mut self.slots).into_iter().enumerate() {
            if let Some(item) = entry {
                let new = slots.len() as u32;
                if let Some(r) = renumber.get_mut(old) {
                    *r = new;
                }
                self.by_key.insert(item.key, new);
                sizes.push(u32::try_from(item.trigrams.len()).unwrap_or(u32::MAX));
                slots.push(Some(item));
            }
        }
        self.sizes = sizes;
        self.postings.retain(|_, list| {
            list.retain_mut(|slot| match renumber.get(*slot as usize) {
                Some(&new) if new != u32::MAX => {
                    *slot = new;
                    true
                }
                _ => false,
            });
            !list.is_empty()
        });
        self.slots = slots;
        self.dead = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moderation::normalize;

    fn c(id: i64) -> SimilarKey {
        SimilarKey::Comment(CommentId(id))
    }
    fn q(id: i64) -> SimilarKey {
        SimilarKey::Question(QuestionId(id))
    }

    #[test]
    fn trigrams_pad_words() {
        assert_eq!(trigrams("а").len(), 1);
        assert_eq!(trigrams("аб").len(), 2);
        assert_eq!(trigrams("абв где").len(), 6);
        assert_eq!(trigrams(""), Vec::<u32>::new());
        assert_eq!(trigrams("аб вг"), trigrams("вг аб"));
    }

    #[test]
    fn jaccard_is_per_mille() {
        let a = trigrams("дорога");
        assert_eq!(jaccard_per_mille(&a, &a), 1000);
        assert_eq!(jaccard_per_mille(&a, &trigrams("школа")), 0);
        assert_eq!(jaccard_per_mille(&[], &[]), 0);
        assert_eq!(jaccard_per_mille(&[1, 2, 3, 4], &[3, 4, 5]), 400);
    }

    #[test]
    fn finds_a_near_duplicate_and_prefers_a_question() {
        let mut index = SimilarityIndex::default();
        let text = normalize("Когда отремонтируют дорогу на улице Абая?");
        index.insert(c(1), &text);
        index.insert(q(7), &text);
        index.insert(c(2), &normalize("Отопление в школе номер 5 не работает"));
        let probe = normalize("когда отремонтируют дорогу на улице Абая");
        assert_eq!(index.best_match(&probe, 550), Some((q(7), 1000)));
        index.remove(q(7));
        assert_eq!(index.best_match(&probe, 550), Some((c(1), 1000)));
        assert_eq!(index.best_match(&normalize("Спасибо за встречу"), 550), None);
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn removal_compacts_and_equality_ignores_history() {
        let mut grown = SimilarityIndex::default();
        for i in 0..10 {
            grown.insert(c(i), &format!("текст {i}"));
        }
        for i in 0..8 {
            grown.remove(c(i));
        }
        let mut fresh = SimilarityIndex::default();
        fresh.insert(c(9), "текст 9");
        fresh.insert(c(8), "текст 8");
        assert_eq!(grown, fresh);
        assert_eq!(grown.best_match("текст 9", 1000), Some((c(9), 1000)));
        assert!(grown.contains(c(8)) && !grown.contains(c(1)));
    }

    #[test]
    fn serializes_keys_externally_tagged() {
        assert_eq!(serde_json::to_string(&c(5)).ok().as_deref(), Some(r#"{"comment":5}"#));
        assert_eq!(serde_json::to_string(&q(2)).ok().as_deref(), Some(r#"{"question":2}"#));
    }
}
