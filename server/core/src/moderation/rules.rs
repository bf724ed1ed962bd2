//! The automatic rules, as data: `config/moderation/rules.toml`, the blocked-term lists
//! `config/moderation/terms/<language>.txt` and `config/moderation/questions.toml`.
//!
//! The server reads the files and hands their text here; [`ModerationRules::shipped`] has the
//! files of this repository compiled in, as defaults. Every number lives in the files: how
//! long a flood window is, how similar two texts must be, which domains a link may go to.
//!
//! Rules are checked in the file's order and the first that matches decides, so an operator
//! who wants profanity hidden before a link is held puts it first. A rule absent from the file
//! is off.

use super::errors::RulesError;
use super::links::LinkPolicy;
use super::normalize;
use super::normalize::letter_case;
use super::phrases::Phrases;
use super::questions::{QuestionWords, QuestionsConfig};
use super::similar::{jaccard_per_mille, trigrams};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// What an automatic rule does to a comment it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoAction {
    /// Kept from the public until a moderator approves or hides it.
    Hold,
    /// Hidden at once, with the reason in the public moderation log.
    Hide,
}

/// The verdict of the first rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoVerdict {
    /// The rule's id in `rules.toml`.
    pub rule: String,
    pub action: AutoAction,
    /// The public reason code, e.g. `link`.
    pub reason: String,
}

/// Which check a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A term of the blocked-term lists, in the normalized text.
    BlockedTerm,
    /// A link to a domain not on the allow-list.
    Link,
    /// The same or nearly the same text again from one author within the window.
    Flood,
    /// Mostly capital letters.
    Shouting,
}

/// One of the author's recent comments, which the caller keeps (a few, within the flood
/// window) for the flood rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentText<'a> {
    pub at: Timestamp,
    /// The comment normalized by [`normalize`].
    pub normalized: &'a str,
}

/// `rules.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// The rules in the order they are checked.
    #[serde(rename = "rule")]
    pub rules: Vec<RuleConfig>,
    pub blocked_terms: BlockedTermsConfig,
    pub links: LinksConfig,
    pub flood: FloodConfig,
    pub shouting: ShoutingConfig,
    pub duplicates: DuplicatesConfig,
    pub questions: QuestionsFile,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique; named in the verdict and the moderation log.
    pub id: String,
    pub check: Check,
    pub action: AutoAction,
    /// The public reason code: short snake_case.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockedTermsConfig {
    /// One list per language, a path relative to the folder of `rules.toml`.
    pub files: Vec<TermsFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermsFile {
    pub language: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinksConfig {
    /// Domains links may go to, with their subdomains.
    pub allow: Vec<String>,
    /// Top-level domains in Cyrillic that make a bare `name.tld` a link.
    pub cyrillic_tlds: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloodConfig {
    pub window_seconds: u32,
    /// Trigram Jaccard from 0 to 1 at which two texts are nearly the same.
    pub similarity: f64,
    /// How many such texts within the window make a flood, this one included.
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShoutingConfig {
    /// Fewer cased letters than this are never shouting ("ОК", "СПАСИБО!").
    pub min_letters: u32,
    /// The share of capitals among cased letters, from 0 to 1.
    pub capitals_ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicatesConfig {
    /// Trigram Jaccard from 0 to 1 from which a comment is suggested as a duplicate.
    pub threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionsFile {
    /// The question words, a path relative to the folder of `rules.toml`.
    pub file: String,
}

impl RulesConfig {
    pub fn from_toml(text: &str) -> Result<RulesConfig, RulesError> {
        toml::from_str(text).map_err(|e| RulesError::Toml { file: "rules", message: e.to_string() })
    }
}

/// A compiled rule: which check, and what to do when it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoRule {
    pub id: String,
    pub check: Check,
    pub action: AutoAction,
    pub reason: String,
}

/// The automatic rules, ready to check comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoRules {
    rules: Vec<AutoRule>,
    terms: Phrases,
    links: LinkPolicy,
    flood_window_seconds: u32,
    flood_similarity_per_mille: u16,
    flood_count: u32,
    shouting_min_letters: u32,
    shouting_ratio_per_mille: u16,
}

impl AutoRules {
    /// Compiles the rules with the blocked-term list of each language that `config` names,
    /// given as `(language, file text)`.
    pub fn compile(
        config: &RulesConfig,
        terms_by_language: &[(&str, &str)],
    ) -> Result<AutoRules, RulesError> {
        let mut rules: Vec<AutoRule> = Vec::with_capacity(config.rules.len());
        for rule in &config.rules {
            if rule.id.trim().is_empty() || rules.iter().any(|r| r.id == rule.id) {
                return Err(RulesError::RuleId(rule.id.clone()));
            }
            if rules.iter().any(|r| r.check == rule.check) {
                return Err(RulesError::DuplicateCheck(rule.id.clone()));
            }
            if !is_reason_code(&rule.reason) {
                return Err(RulesError::Reason { rule: rule.id.clone(), reason: rule.reason.clone() });
            }
            rules.push(AutoRule {
                id: rule.id.clone(),
                check: rule.check,
                action: rule.action,
                reason: rule.reason.clone(),
            });
        }

        for (language, _) in terms_by_language {
            if !config.blocked_terms.files.iter().any(|f| f.language == *language) {
                return Err(RulesError::UnexpectedTerms((*language).to_owned()));
            }
        }
        let mut terms = Phrases::default();
        for file in &config.blocked_terms.files {
            let Some((_, text)) = terms_by_language.iter().find(|(language, _)| *language == file.language)
            else {
                return Err(RulesError::MissingTerms(file.language.clone()));
            };
            add_terms(&mut terms, &file.language, text)?;
        }

        let mut allow = Vec::with_capacity(config.links.allow.len());
        for domain in &config.links.allow {
            allow.push(domain_name(domain).ok_or_else(|| RulesError::Domain(domain.clone()))?);
        }
        let mut cyrillic_tlds = Vec::with_capacity(config.links.cyrillic_tlds.len());
        for tld in &config.links.cyrillic_tlds {
            let tld = tld.trim().trim_start_matches('.').to_lowercase();
            if tld.is_empty() || tld.contains(['.', ' ']) {
                return Err(RulesError::Domain(tld));
            }
            cyrillic_tlds.push(tld.into_boxed_str());
        }

        if config.flood.window_seconds == 0 {
            return Err(RulesError::Number("flood.window_seconds must be at least 1"));
        }
        if config.flood.count < 2 {
            return Err(RulesError::Number("flood.count must be at least 2: one text is not a flood"));
        }
        if config.shouting.min_letters == 0 {
            return Err(RulesError::Number("shouting.min_letters must be at least 1"));
        }
        Ok(AutoRules {
            rules,
            terms,
            links: LinkPolicy::new(allow, cyrillic_tlds),
            flood_window_seconds: config.flood.window_seconds,
            flood_similarity_per_mille: per_mille("flood.similarity", config.flood.similarity)?,
            flood_count: config.flood.count,
            shouting_min_letters: config.shouting.min_letters,
            shouting_ratio_per_mille: per_mille("shouting.capitals_ratio", config.shouting.capitals_ratio)?,
        })
    }

    /// The rules in the order they are checked.
    pub fn rules(&self) -> &[AutoRule] {
        &self.rules
    }

    /// How far back the flood rule looks: the caller need keep no older comments.
    pub fn flood_window(&self) -> SignedDuration {
        SignedDuration::from_secs(i64::from(self.flood_window_seconds))
    }

    /// The verdict of the first rule that matches `text`, if any. `recent_by_author` are the
    /// same author's earlier comments (any order; older than the flood window are ignored).
    pub fn check(
        &self,
        text: &str,
        recent_by_author: &[RecentText<'_>],
        now: Timestamp,
    ) -> Option<AutoVerdict> {
        self.check_normalized(text, &normalize(text), recent_by_author, now)
    }

    /// [`check`](AutoRules::check) for a caller that has normalized `text` already.
    pub fn check_normalized(
        &self,
        text: &str,
        normalized: &str,
        recent_by_author: &[RecentText<'_>],
        now: Timestamp,
    ) -> Option<AutoVerdict> {
        let rule = self.rules.iter().find(|rule| match rule.check {
            Check::BlockedTerm => self.terms.matches(normalized, 0),
            Check::Link => self.links.has_disallowed_link(text),
            Check::Flood => self.is_flood(normalized, recent_by_author, now),
            Check::Shouting => self.is_shouting(text),
        })?;
        Some(AutoVerdict { rule: rule.id.clone(), action: rule.action, reason: rule.reason.clone() })
    }

    /// Whether, with this text, the author has sent `flood_count` same or nearly the same texts
    /// within the window. A text with nothing to match (only emoji or punctuation) is not
    /// counted: repeated applause is not a flood.
    fn is_flood(&self, normalized: &str, recent: &[RecentText<'_>], now: Timestamp) -> bool {
        if normalized.is_empty() {
            return false;
        }
        let needed = (self.flood_count as usize).saturating_sub(1);
        if recent.len() < needed {
            return false;
        }
        let window = self.flood_window();
        let mine = trigrams(normalized);
        let similar = recent
            .iter()
            .filter(|r| now.duration_since(r.at) <= window)
            .filter(|r| {
                r.normalized == normalized
                    || jaccard_per_mille(&mine, &trigrams(r.normalized)) >= self.flood_similarity_per_mille
            })
            .take(needed)
            .count();
        similar >= needed
    }

    /// Whether `text` has at least the minimum of cased letters and capitals make the ratio.
    /// Letters without case (Chinese, Arabic) are not counted; Cyrillic and Kazakh are.
    fn is_shouting(&self, text: &str) -> bool {
        let (mut cased, mut capitals) = (0u64, 0u64);
        for c in text.chars() {
            match letter_case(c) {
                Some(true) => {
                    cased += 1;
                    capitals += 1;
                }
                Some(false) => cased += 1,
                None => {}
            }
        }
        cased >= u64::from(self.shouting_min_letters)
            && capitals * 1000 >= u64::from(self.shouting_ratio_per_mille) * cased
    }
}

/// A blocked-term list: one term per line; `#` starts a comment; a term ending in `*` is a
/// stem that matches the start of a word. Terms are normalized like the comments they are
/// looked for in.
fn add_terms(terms: &mut Phrases, language: &str, text: &str) -> Result<(), RulesError> {
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: &'static str| RulesError::Term {
            language: language.to_owned(),
            line: index + 1,
            term: line.to_owned(),
            why,
        };
        let (term, stem) = match line.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (line, false),
        };
        if term.contains('*') {
            return Err(bad("only a final `*` marks a stem"));
        }
        let normalized = normalize(term);
        let letters = normalized.chars().filter(|c| *c != ' ').count();
        if stem && letters < 3 {
            return Err(bad(
                "a stem must keep 3 letters or more once normalized, or it catches ordinary words",
            ));
        }
        if letters < 2 {
            return Err(bad("a term must keep 2 letters or more once normalized"));
        }
        terms.add(&normalized, stem);
    }
    Ok(())
}

fn is_reason_code(reason: &str) -> bool {
    (1..=40).contains(&reason.len())
        && reason.starts_with(|c: char| c.is_ascii_lowercase())
        && reason.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A domain of the allow-list, lower case, without `*.` or a leading dot.
fn domain_name(domain: &str) -> Option<Box<str>> {
    let domain =
        domain.trim().trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.').to_lowercase();
    let valid = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        });
    valid.then(|| domain.into_boxed_str())
}

fn per_mille(field: &'static str, value: f64) -> Result<u16, RulesError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(RulesError::Ratio { field, value: value.to_string() });
    }
    // In range, so the rounded value is 0..=1000.
    Ok((value * 1000.0).round() as u16)
}

/// Everything the moderation of a live channel is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerationRules {
    pub auto: AutoRules,
    pub questions: QuestionWords,
    /// Trigram Jaccard, per mille, from which a comment is suggested as a duplicate of an open
    /// question or comment (`SimilarityIndex::best_match`).
    pub duplicate_threshold_per_mille: u16,
}

/// The files of `config/moderation/`, compiled in.
const SHIPPED_RULES: &str = include_str!("../../../../config/moderation/rules.toml");
const SHIPPED_QUESTIONS: &str = include_str!("../../../../config/moderation/questions.toml");
const SHIPPED_TERMS: &[(&str, &str)] = &[
    ("terms/kk.txt", include_str!("../../../../config/moderation/terms/kk.txt")),
    ("terms/ru.txt", include_str!("../../../../config/moderation/terms/ru.txt")),
    ("terms/en.txt", include_str!("../../../../config/moderation/terms/en.txt")),
];

impl ModerationRules {
    /// Reads `rules.toml`, the blocked-term lists it names as `(language, file text)`, and
    /// `questions.toml`.
    pub fn from_toml(
        rules_toml: &str,
        terms: &[(&str, &str)],
        questions_toml: &str,
    ) -> Result<ModerationRules, RulesError> {
        let config = RulesConfig::from_toml(rules_toml)?;
        let questions: QuestionsConfig = toml::from_str(questions_toml)
            .map_err(|e| RulesError::Toml { file: "questions", message: e.to_string() })?;
        ModerationRules::compile(&config, terms, &questions)
    }

    pub fn compile(
        config: &RulesConfig,
        terms: &[(&str, &str)],
        questions: &QuestionsConfig,
    ) -> Result<ModerationRules, RulesError> {
        Ok(ModerationRules {
            auto: AutoRules::compile(config, terms)?,
            questions: QuestionWords::compile(questions)?,
            duplicate_threshold_per_mille: per_mille("duplicates.threshold", config.duplicates.threshold)?,
        })
    }

    /// The rules of `config/moderation/` as this build shipped them, the server's default.
    pub fn shipped() -> Result<ModerationRules, RulesError> {
        let config = RulesConfig::from_toml(SHIPPED_RULES)?;
        let mut terms = Vec::with_capacity(config.blocked_terms.files.len());
        for file in &config.blocked_terms.files {
            let text = SHIPPED_TERMS
                .iter()
                .find(|(path, _)| *path == file.path)
                .map(|(_, text)| *text)
                .ok_or_else(|| RulesError::MissingTerms(file.language.clone()))?;
            terms.push((file.language.as_str(), text));
        }
        ModerationRules::from_toml(SHIPPED_RULES, &terms, SHIPPED_QUESTIONS)
    }
}
