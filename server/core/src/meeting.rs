//! What a meeting is, and which plans for one are acceptable.

use crate::rules::MeetingRules;
use crate::text::{self, TextError};
use crate::timer::Phase;
use serde::{Deserialize, Serialize};

/// The longest title, in characters, in any one language.
pub const MAX_TITLE_CHARS: usize = 300;

/// A name or title with a field per language: Kazakh (Cyrillic), Russian and English.
/// At least one must be given; the others may be empty and the pages fall back.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalizedText {
    #[serde(default)]
    pub kk: String,
    #[serde(default)]
    pub ru: String,
    #[serde(default)]
    pub en: String,
}

/// Why a localized text was refused, naming the language at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalizedTextError {
    #[error("at least one of kk, ru and en must be given")]
    AllEmpty,
    #[error("{language}: {error}")]
    Invalid { language: &'static str, error: TextError },
}

impl LocalizedText {
    /// Cleans every language (see [`text::clean`]) and checks that one is left.
    pub fn cleaned(&self, max_chars: usize) -> Result<LocalizedText, LocalizedTextError> {
        let clean_one = |language: &'static str, raw: &str| -> Result<String, LocalizedTextError> {
            match text::clean(raw, max_chars, false) {
                Ok(clean) => Ok(clean),
                Err(TextError::Empty) => Ok(String::new()),
                Err(error) => Err(LocalizedTextError::Invalid { language, error }),
            }
        };
        let cleaned = LocalizedText {
            kk: clean_one("kk", &self.kk)?,
            ru: clean_one("ru", &self.ru)?,
            en: clean_one("en", &self.en)?,
        };
        if cleaned.kk.is_empty() && cleaned.ru.is_empty() && cleaned.en.is_empty() {
            return Err(LocalizedTextError::AllEmpty);
        }
        Ok(cleaned)
    }
}

/// Whether a meeting was in the approved yearly calendar or called when needed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    Calendar,
    Unscheduled,
}

impl MeetingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingKind::Calendar => "calendar",
            MeetingKind::Unscheduled => "unscheduled",
        }
    }

    pub fn parse(text: &str) -> Option<MeetingKind> {
        [MeetingKind::Calendar, MeetingKind::Unscheduled].into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Where a meeting stands, derived from its phase and whether it was cancelled.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    /// Planned, not yet begun.
    Scheduled,
    /// In its presentation or Q&A.
    Live,
    /// Over; the compliance record is final.
    Ended,
    /// Called off before it began.
    Cancelled,
}

impl MeetingStatus {
    pub fn of(phase: Phase, cancelled: bool) -> MeetingStatus {
        match phase {
            Phase::Scheduled if cancelled => MeetingStatus::Cancelled,
            Phase::Scheduled => MeetingStatus::Scheduled,
            Phase::Presentation | Phase::Qa => MeetingStatus::Live,
            Phase::Ended => MeetingStatus::Ended,
        }
    }
}

/// Why a planned duration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("planned_minutes must be between {min} and {max}, got {got}")]
pub struct PlannedMinutesError {
    pub min: u32,
    pub max: u32,
    pub got: i64,
}

/// Checks a planned duration against the rule set.
pub fn check_planned_minutes(rules: &MeetingRules, planned_minutes: i64) -> Result<u32, PlannedMinutesError> {
    let error = PlannedMinutesError {
        min: rules.min_planned_minutes,
        max: rules.max_planned_minutes,
        got: planned_minutes,
    };
    let minutes = u32::try_from(planned_minutes).map_err(|_| error)?;
    if minutes < rules.min_planned_minutes || minutes > rules.max_planned_minutes {
        return Err(error);
    }
    Ok(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Share;

    fn rules() -> MeetingRules {
        MeetingRules {
            presentation_share: Share::new(1, 4).expect("valid"),
            min_planned_minutes: 20,
            max_planned_minutes: 480,
        }
    }

    #[test]
    fn planned_minutes_follow_the_rule_set() {
        assert_eq!(check_planned_minutes(&rules(), 60), Ok(60));
        assert_eq!(check_planned_minutes(&rules(), 20), Ok(20));
        assert_eq!(check_planned_minutes(&rules(), 480), Ok(480));
        for bad in [-1, 0, 19, 481, i64::MAX] {
            assert!(check_planned_minutes(&rules(), bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn localized_text_needs_one_language() {
        let empty = LocalizedText { kk: " ".into(), ru: String::new(), en: "\u{200B}".into() };
        assert_eq!(empty.cleaned(10), Err(LocalizedTextError::AllEmpty));
        let russian_only = LocalizedText { ru: " Встреча ".into(), ..LocalizedText::default() };
        assert_eq!(russian_only.cleaned(10).map(|t| t.ru), Ok("Встреча".to_owned()));
        let too_long = LocalizedText { kk: "кездесу".into(), ..LocalizedText::default() };
        assert!(matches!(too_long.cleaned(3), Err(LocalizedTextError::Invalid { language: "kk", .. })));
    }

    #[test]
    fn status_follows_phase() {
        assert_eq!(MeetingStatus::of(Phase::Scheduled, false), MeetingStatus::Scheduled);
        assert_eq!(MeetingStatus::of(Phase::Scheduled, true), MeetingStatus::Cancelled);
        assert_eq!(MeetingStatus::of(Phase::Qa, false), MeetingStatus::Live);
        assert_eq!(MeetingStatus::of(Phase::Ended, false), MeetingStatus::Ended);
    }
}
