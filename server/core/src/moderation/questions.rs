//! Whether a comment reads as a question, so the moderator sees it first.
//!
//! It does if it has a question mark (ASCII, full-width, Arabic, the inverted and doubled ones,
//! or the emoji), or an interrogative word or phrase of `config/moderation/questions.toml`
//! as a whole word, or a Kazakh question particle (`ма`, `ме`, `ба`, `бе`, `па`, `пе`) as a
//! separate word after the first (`Жол жөнделе ме`). It is a hint for sorting, never a
//! decision: `как` and `когда` also begin statements.
//!
//! Kazakh and Russian entries are normalized and matched on the normalized text, so `qashan`,
//! `КАШАН` and `қашан` all count. An entry written in Latin letters (the English list) is
//! matched against the text's own words, lower-cased but not transliterated: normalized,
//! English `how` would read `хош` and fire on the Kazakh greeting `хош келдіңіз`.

use super::errors::RulesError;
use super::normalize;
use super::phrases::Phrases;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `questions.toml`: per language, its interrogative words and its particles.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct QuestionsConfig {
    pub languages: BTreeMap<String, QuestionLanguage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionLanguage {
    /// Interrogative words and phrases, matched as whole words anywhere.
    pub words: Vec<String>,
    /// Particles that make a question of the word before them, matched as whole words after
    /// the first word.
    #[serde(default)]
    pub particles: Vec<String>,
}

/// The compiled question words of every language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuestionWords {
    words: Phrases,
    particles: Phrases,
    latin_words: Phrases,
}

/// Question marks of the scripts and keyboards commenters use.
const QUESTION_MARKS: &[char] = &['?', '？', '؟', '¿', '⁇', '⁈', '⁉', '﹖', '❓', '❔', '\u{037E}'];

impl QuestionWords {
    pub fn compile(config: &QuestionsConfig) -> Result<QuestionWords, RulesError> {
        let mut compiled = QuestionWords::default();
        for (language, lists) in &config.languages {
            for (entries, is_particle) in [(&lists.words, false), (&lists.particles, true)] {
                for entry in entries {
                    let (text, stem) = match entry.trim().strip_suffix('*') {
                        Some(stem) => (stem, true),
                        None => (entry.trim(), false),
                    };
                    let bad = |why: &'static str| RulesError::BadQuestionWord {
                        language: language.clone(),
                        word: entry.clone(),
                        why,
                    };
                    if is_latin_entry(text) && !is_particle {
                        let latin = latin_words(text);
                        if latin.is_empty() {
                            return Err(bad("it has no letters"));
                        }
                        compiled.latin_words.add(&latin, stem);
                        continue;
                    }
                    let normalized = normalize(text);
                    if normalized.is_empty() {
                        return Err(bad("it has no letters"));
                    }
                    if is_particle {
                        compiled.particles.add(&normalized, stem);
                    } else {
                        compiled.words.add(&normalized, stem);
                    }
                }
            }
        }
        Ok(compiled)
    }

    /// Whether `text` (as typed) reads as a question.
    pub fn is_likely_question(&self, text: &str) -> bool {
        has_question_mark(text) || self.is_likely_question_normalized(text, &normalize(text))
    }

    /// The same, when the caller has normalized `text` already.
    pub fn is_likely_question_normalized(&self, text: &str, normalized: &str) -> bool {
        has_question_mark(text)
            || self.words.matches(normalized, 0)
            || self.particles.matches(normalized, 1)
            || (!self.latin_words.is_empty() && self.latin_words.matches(&latin_words(text), 0))
    }
}

fn has_question_mark(text: &str) -> bool {
    text.contains(QUESTION_MARKS)
}

/// An entry written in Latin letters only.
fn is_latin_entry(entry: &str) -> bool {
    entry.chars().any(|c| c.is_ascii_alphabetic())
        && entry.chars().all(|c| c.is_ascii() || !c.is_alphabetic())
}

/// The text's words as typed, lower-cased, joined by single spaces.
fn latin_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> QuestionWords {
        let config: QuestionsConfig = match toml::from_str(
            r#"
            kk = { words = ["қашан", "не үшін"], particles = ["ма", "ме"] }
            en = { words = ["how", "what"] }
            "#,
        ) {
            Ok(config) => config,
            Err(error) => panic!("{error}"),
        };
        match QuestionWords::compile(&config) {
            Ok(words) => words,
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn latin_entries_are_not_transliterated() {
        let w = words();
        assert!(w.is_likely_question("How long"));
        assert!(!w.is_likely_question("Хош келдіңіз"));
        assert!(w.is_likely_question("Жол қашан жөнделеді"));
        assert!(w.is_likely_question("jol qashan jondeledi"));
        assert!(w.is_likely_question("Бұл не үшін керек"));
        assert!(w.is_likely_question("Жол жөнделе ме"));
        assert!(!w.is_likely_question("Ме жол"));
        assert!(w.is_likely_question("Жол？"));
    }
}
