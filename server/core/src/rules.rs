//! The rule set: the decree's numbers as data.
//!
//! The decree has been amended before (in 2023 the frequencies were lowered), so every number
//! it sets lives in a versioned TOML file under `config/rules/`, never in code. This module only
//! describes and validates that data; reading the file is the adapter's job.

use crate::calendar::{CalendarRules, CalendarRulesError};
use crate::issues::DeadlineRules;
use crate::issues::deadlines::DeadlineRulesError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A versioned set of the decree's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Stable name of the rule set, e.g. `kz-decree-826-2022`.
    pub id: String,
    /// Bumped on every amendment, so a meeting can say which rules it was held under.
    pub version: u32,
    /// Where the rules come from, for people reading the file.
    pub source: String,
    /// Rules for the meeting itself.
    pub meeting: MeetingRules,
    /// Deadlines of the issue register.
    pub issues: DeadlineRules,
    /// The yearly calendar: coverage, its deadlines, announcements.
    pub calendar: CalendarRules,
}

/// Rules that govern a single meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingRules {
    /// The largest share of the planned time that the presentation may take; the rest is Q&A.
    pub presentation_share: Share,
    /// The shortest meeting that may be planned, in minutes.
    pub min_planned_minutes: u32,
    /// The longest meeting that may be planned, in minutes.
    pub max_planned_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleSetError {
    #[error("rule set id must not be empty")]
    EmptyId,
    #[error("meeting.min_planned_minutes must be at least 1 and at most meeting.max_planned_minutes")]
    PlannedMinutesRange,
    #[error(transparent)]
    Deadlines(#[from] DeadlineRulesError),
    #[error(transparent)]
    Calendar(#[from] CalendarRulesError),
}

impl RuleSet {
    /// Checks what serde cannot: relations between fields.
    pub fn validate(&self) -> Result<(), RuleSetError> {
        if self.id.trim().is_empty() {
            return Err(RuleSetError::EmptyId);
        }
        let meeting = &self.meeting;
        if meeting.min_planned_minutes == 0 || meeting.min_planned_minutes > meeting.max_planned_minutes {
            return Err(RuleSetError::PlannedMinutesRange);
        }
        self.issues.validate()?;
        self.calendar.validate()?;
        Ok(())
    }
}

/// A share of a whole, kept as an exact fraction so that `1/4` of 90 minutes is exactly 22.5
/// minutes and never a rounding error. Written as `"1/4"` in TOML and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Share {
    numerator: u32,
    denominator: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a share is written as \"N/D\" with 0 < N <= D, e.g. \"1/4\"; got {0:?}")]
pub struct ShareError(String);

impl Share {
    pub fn new(numerator: u32, denominator: u32) -> Result<Share, ShareError> {
        if numerator == 0 || denominator == 0 || numerator > denominator {
            return Err(ShareError(format!("{numerator}/{denominator}")));
        }
        Ok(Share { numerator, denominator })
    }

    pub fn numerator(self) -> u32 {
        self.numerator
    }

    pub fn denominator(self) -> u32 {
        self.denominator
    }

    /// This share of `whole_millis`, rounded down to the millisecond.
    pub fn of_millis(self, whole_millis: i64) -> i64 {
        // i128 because minutes × 60 000 × numerator can exceed i64 for absurd inputs.
        let part = i128::from(whole_millis) * i128::from(self.numerator) / i128::from(self.denominator);
        i64::try_from(part).unwrap_or(i64::MAX)
    }

    /// Whether `part` is at most this share of `whole`, compared exactly.
    pub fn admits(self, part_millis: i64, whole_millis: i64) -> bool {
        i128::from(part_millis) * i128::from(self.denominator)
            <= i128::from(whole_millis) * i128::from(self.numerator)
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

impl FromStr for Share {
    type Err = ShareError;

    fn from_str(text: &str) -> Result<Share, ShareError> {
        let invalid = || ShareError(text.to_owned());
        let (numerator, denominator) = text.split_once('/').ok_or_else(invalid)?;
        let numerator = numerator.trim().parse().map_err(|_| invalid())?;
        let denominator = denominator.trim().parse().map_err(|_| invalid())?;
        Share::new(numerator, denominator).map_err(|_| invalid())
    }
}

impl Serialize for Share {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Share, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_parses_and_prints() {
        let quarter: Share = "1/4".parse().expect("valid share");
        assert_eq!(quarter.to_string(), "1/4");
        assert_eq!(" 3 / 10 ".parse::<Share>().map(|s| s.to_string()), Ok("3/10".to_owned()));
        for bad in ["", "1", "0/4", "5/4", "1/0", "a/b", "1/4/5", "-1/4"] {
            assert!(bad.parse::<Share>().is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn quarter_of_ninety_minutes_is_exact() {
        let quarter = Share::new(1, 4).expect("valid share");
        assert_eq!(quarter.of_millis(90 * 60_000), 22 * 60_000 + 30_000);
        assert!(quarter.admits(15, 60));
        assert!(!quarter.admits(16, 60));
    }

    #[test]
    fn shipped_rule_set_is_the_decree() {
        let text = include_str!("../../../config/rules/kz-decree-826-2022.toml");
        let rules: RuleSet = toml::from_str(text).expect("shipped rule set parses");
        rules.validate().expect("shipped rule set is valid");
        assert_eq!(rules.meeting.presentation_share, Share::new(1, 4).expect("valid share"));
    }

    #[test]
    fn rule_set_rejects_unknown_keys() {
        let text = r#"
            id = "x"
            version = 1
            source = "test"
            [meeting]
            presentation_share = "1/4"
            presentation_shar = "1/3"
            min_planned_minutes = 1
            max_planned_minutes = 60
        "#;
        let error = toml::from_str::<RuleSet>(text).expect_err("unknown key");
        assert!(error.to_string().contains("presentation_shar"), "{error}");
    }
}
