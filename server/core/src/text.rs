//! Cleaning of text that people type: names, titles, and later comments.
//!
//! Text is NFC-normalized, so that the same word typed on two keyboards compares equal, and
//! control characters are removed, so that nobody can hide text or break a layout with them.

use unicode_normalization::UnicodeNormalization;

/// Why a piece of text was refused.
// Serialized between the nodes of a cluster, when one forwards a command to the meeting's owner.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters, got {got}")]
    TooLong { max: usize, got: usize },
}

/// NFC-normalizes `raw`, drops control characters (keeping line breaks when `multiline`), trims
/// surrounding white space, and checks the length in characters.
pub fn clean(raw: &str, max_chars: usize, multiline: bool) -> Result<String, TextError> {
    let kept: String = raw
        .nfc()
        .filter(|c| !c.is_control() || (multiline && *c == '\n'))
        .filter(|c| !is_invisible_formatting(*c))
        .collect();
    let trimmed = kept.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty);
    }
    let count = trimmed.chars().count();
    if count > max_chars {
        return Err(TextError::TooLong { max: max_chars, got: count });
    }
    Ok(trimmed.to_owned())
}

/// Bidirectional overrides and zero-width characters are not `is_control`, yet they can make
/// a name read as something else.
fn is_invisible_formatting(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_strips() {
        // "й" as и + combining breve becomes the single precomposed letter.
        assert_eq!(clean("  Ми\u{306}ра\u{0007}  ", 100, false), Ok("М\u{439}ра".to_owned()));
        assert_eq!(clean("a\u{202E}b\u{200B}c", 100, false), Ok("abc".to_owned()));
        assert_eq!(clean("one\ntwo", 100, true), Ok("one\ntwo".to_owned()));
        assert_eq!(clean("one\ntwo", 100, false), Ok("onetwo".to_owned()));
    }

    #[test]
    fn rejects_empty_and_long() {
        assert_eq!(clean(" \u{0000}\t ", 10, false), Err(TextError::Empty));
        assert_eq!(clean("ақжол", 4, false), Err(TextError::TooLong { max: 4, got: 5 }));
        assert_eq!(clean("ақжол", 5, false), Ok("ақжол".to_owned()));
    }
}
