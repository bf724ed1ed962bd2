//! Why the moderation files were refused: one error type for the rules and the question
//! words, kept apart from both so that neither depends on the other for it.

/// Why the moderation files were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("{file}: {message}")]
    Toml { file: &'static str, message: String },
    #[error("rule ids must be unique and not empty: `{0}`")]
    RuleId(String),
    #[error("rule `{0}`: each check may be used by one rule only")]
    DuplicateCheck(String),
    #[error("rule `{rule}`: the reason `{reason}` must be short snake_case (a-z, 0-9, _)")]
    Reason { rule: String, reason: String },
    #[error("{field} must be from 0 to 1, got {value}")]
    Ratio { field: &'static str, value: String },
    #[error("{0}")]
    Number(&'static str),
    #[error("links.allow: `{0}` is not a domain name")]
    Domain(String),
    #[error("no blocked-term list was given for language `{0}`, which rules.toml names")]
    MissingTerms(String),
    #[error("a blocked-term list was given for language `{0}`, which rules.toml does not name")]
    UnexpectedTerms(String),
    #[error("terms/{language}.txt, line {line}: `{term}`: {why}")]
    Term { language: String, line: usize, term: String, why: &'static str },
    #[error("questions.toml, {language}: `{word}`: {why}")]
    BadQuestionWord { language: String, word: String, why: &'static str },
}
