//! Moderation at a flood: the pure half of issue 18.
//!
//! A meeting's chat may take 50 comments a second from the page and several platforms. These
//! functions decide, for one comment and without IO or a clock (`now` is an argument):
//! - [`normalize`]: one spelling for matching, whatever the script, look-alikes, spacing or
//!   repeated letters (never shown);
//! - [`AutoRules`]: the automatic rules of `config/moderation/rules.toml`, blocked terms, links,
//!   floods and shouting, of which the first that matches holds or hides the comment with a
//!   public reason;
//! - [`QuestionWords`]: whether a comment reads as a question;
//! - [`SimilarityIndex`]: the open question or comment a new one nearly repeats, to suggest a
//!   merge (never to merge by itself).

mod errors;
mod links;
mod normalize;
mod phrases;
mod questions;
mod rules;
mod similar;

pub use errors::RulesError;
pub use normalize::normalize;
pub use questions::{QuestionLanguage, QuestionWords, QuestionsConfig};
pub use rules::{
    AutoAction, AutoRule, AutoRules, AutoVerdict, BlockedTermsConfig, Check, DuplicatesConfig, FloodConfig,
    LinksConfig, ModerationRules, QuestionsFile, RecentText, RuleConfig, RulesConfig, ShoutingConfig,
    TermsFile,
};
pub use similar::{SimilarKey, SimilarityIndex, jaccard_per_mille, trigrams};
