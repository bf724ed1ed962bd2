//! Whole-word matching of words and phrases in a normalized text.
//!
//! A text here is words joined by single spaces (what `normalize` returns). An entry matches
//! from the start of a word: a plain entry up to the end of a word (`казино` matches the word
//! `казино`, not `казиноx`), a stem (written `term*` in the lists) anywhere inside the word it
//! ends in (`бляд*` matches `бляди`). Entries may span words (`не ушин`). Never across a word
//! boundary in the middle: `ка зино` does not match `казино`.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: the entries are short, and the standard hasher's resistance to flooding is not
/// needed for a list the operator writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

type Set = HashSet<Box<str>, BuildHasherDefault<Fnv>>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Phrases {
    exact: Set,
    stems: Set,
    /// The distinct lengths in bytes of the stems, so a lookup tries only those.
    stem_lengths: Vec<usize>,
    /// The most words an exact entry has.
    max_words: usize,
    /// The first two characters of every entry, packed, sorted: most words start otherwise,
    /// and are passed over with one search instead of a lookup per entry length.
    openings: Vec<u64>,
    /// A stem of one character has no second to filter on.
    unfiltered: bool,
}

/// The first two characters of `text`, packed; the end of the text counts as a space, the end
/// of a word.
fn opening(text: &str) -> u64 {
    let mut chars = text.chars();
    let first = chars.next().map_or(0, u64::from);
    let second = u64::from(chars.next().unwrap_or(' '));
    (first << 21) | second
}

impl Phrases {
    /// Adds an entry already in the form of the texts it will be matched against.
    pub(crate) fn add(&mut self, entry: &str, stem: bool) {
        if entry.is_empty() {
            return;
        }
        let open = opening(entry);
        if let Err(at) = self.openings.binary_search(&open) {
            self.openings.insert(at, open);
        }
        self.unfiltered |= stem && entry.chars().nth(1).is_none();
        if stem {
            if let Err(at) = self.stem_lengths.binary_search(&entry.len()) {
                self.stem_lengths.insert(at, entry.len());
            }
            self.stems.insert(entry.into());
        } else {
            self.max_words = self.max_words.max(entry.split(' ').count());
            self.exact.insert(entry.into());
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.stems.is_empty()
    }

    /// Whether an entry matches `text` at a word that is not among the first `skip_words`.
    pub(crate) fn matches(&self, text: &str, skip_words: usize) -> bool {
        if self.is_empty() {
            return false;
        }
        let word_starts =
            std::iter::once(0).chain(text.char_indices().filter(|(_, c)| *c == ' ').map(|(i, _)| i + 1));
        for start in word_starts.skip(skip_words) {
            let Some(rest) = text.get(start..) else { continue };
            if !self.unfiltered && self.openings.binary_search(&opening(rest)).is_err() {
                continue;
            }
            if !self.exact.is_empty() {
                let mut ends = rest.char_indices().filter(|(_, c)| *c == ' ').map(|(i, _)| i);
                for _ in 0..self.max_words {
                    let end = ends.next().unwrap_or(rest.len());
                    if rest.get(..end).is_some_and(|phrase| self.exact.contains(phrase)) {
                        return true;
                    }
                    if end == rest.len() {
                        break;
                    }
                }
            }
            for &len in &self.stem_lengths {
                if rest.get(..len).is_some_and(|prefix| self.stems.contains(prefix)) {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::Phrases;

    #[test]
    fn matches_whole_words_stems_and_phrases() {
        let mut phrases = Phrases::default();
        phrases.add("казино", false);
        phrases.add("бляд", true);
        phrases.add("не ушин", false);
        assert!(phrases.matches("онлаин казино тут", 0));
        assert!(!phrases.matches("казинотут", 0));
        assert!(!phrases.matches("ка зино", 0));
        assert!(phrases.matches("ну бляди", 0));
        assert!(!phrases.matches("ну обляди", 0));
        assert!(phrases.matches("а не ушин", 0));
        assert!(!phrases.matches("не ушинар", 0));
        assert!(!phrases.matches("казино", 1));
        assert!(phrases.matches("ну казино", 1));
        assert!(!Phrases::default().matches("казино", 0));

        let mut short = Phrases::default();
        short.add("а", false);
        assert!(short.matches("б а", 0) && short.matches("а б", 0) && !short.matches("аб", 0));
        short.add("в", true);
        assert!(short.matches("б вг", 0) && !short.matches("б гв", 0));
    }
}
