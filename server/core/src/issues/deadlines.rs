//! When the decree wants things published, as calendar dates.
//!
//! - Results (the summary, the list of problem issues and the action plan with deadlines and
//!   executors) within ten calendar days of the day the meetings and receptions ended.
//! - Progress on the issues every quarter, by the 25th of the month after the quarter.
//! - Issues for the central level collected by 15 February and 15 August.
//!
//! The numbers come from the rule set ([`DeadlineRules`]); these functions only count days on
//! the civil calendar of the meeting's time zone, which is the adapter's to supply. They never
//! read the clock: "today" is an argument.

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The decree's deadlines for the issue register, from the rule set's `[issues]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRules {
    /// Results are published within this many calendar days of the day the meeting ended.
    pub results_within_days: u32,
    /// Progress on each quarter is published by this day of the month after it.
    pub progress_day_of_following_month: u8,
    /// The days of the year by which central-level issues are collected, e.g. `"02-15"`.
    pub central_collection_days: Vec<DayOfYear>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineRulesError {
    #[error("issues.results_within_days must be 1 to 366")]
    ResultsDays,
    #[error("issues.progress_day_of_following_month must be 1 to 28, so that every month has it")]
    ProgressDay,
    #[error("issues.central_collection_days must list at least one day, each once")]
    CollectionDays,
}

impl DeadlineRules {
    pub fn validate(&self) -> Result<(), DeadlineRulesError> {
        if !(1..=366).contains(&self.results_within_days) {
            return Err(DeadlineRulesError::ResultsDays);
        }
        if !(1..=28).contains(&self.progress_day_of_following_month) {
            return Err(DeadlineRulesError::ProgressDay);
        }
        let days = &self.central_collection_days;
        let mut sorted = days.clone();
        sorted.sort();
        sorted.dedup();
        if days.is_empty() || sorted.len() != days.len() {
            return Err(DeadlineRulesError::CollectionDays);
        }
        Ok(())
    }

    /// The last day for publishing a meeting's results, given the day it (and the receptions
    /// after it) ended. Publishing on that day is in time; the day after is late.
    pub fn results_due(&self, ended_on: Date) -> Date {
        add_days(ended_on, self.results_within_days)
    }

    /// Whether a meeting's results are overdue on `today`: not published (or published late,
    /// which stays a breach once it happened).
    pub fn results_overdue(&self, ended_on: Date, published_on: Option<Date>, today: Date) -> bool {
        let due = self.results_due(ended_on);
        match published_on {
            Some(published) => published > due,
            None => today > due,
        }
    }

    /// The last day for publishing progress on `quarter`.
    pub fn progress_due(&self, quarter: Quarter) -> Date {
        let next = quarter.next();
        date(next.year, next.first_month(), i8::try_from(self.progress_day_of_following_month).unwrap_or(25))
    }

    /// The first quarterly progress report an issue raised on `raised_on` owes: the one for
    /// the quarter it was raised in.
    pub fn first_progress_due(&self, raised_on: Date) -> Date {
        self.progress_due(Quarter::of(raised_on))
    }

    /// The progress report due next after the last one reported (`last_reported`, a quarter),
    /// or the first one if none was.
    pub fn next_progress_due(&self, raised_on: Date, last_reported: Option<Quarter>) -> Date {
        match last_reported {
            Some(quarter) => self.progress_due(quarter.next().max(Quarter::of(raised_on))),
            None => self.first_progress_due(raised_on),
        }
    }

    /// The quarter a progress report published on `on` accounts for: the earliest quarter whose
    /// report is still due that day. A report on 20 January covers the fourth quarter (due 25
    /// January); one on 1 February covers the first.
    pub fn quarter_reported_on(&self, on: Date) -> Quarter {
        let previous = Quarter::of(on).previous();
        if on <= self.progress_due(previous) { previous } else { Quarter::of(on) }
    }

    /// The next central collection date on or after `escalated_on`: when an issue escalated to
    /// the central level must be in the Government's list.
    pub fn central_collection_due(&self, escalated_on: Date) -> Date {
        let year = escalated_on.year();
        (year..=year.saturating_add(1))
            .flat_map(|year| self.central_collection_days.iter().map(move |day| day.in_year(year)))
            .filter(|due| *due >= escalated_on)
            .min()
            // Unreachable with at least one collection day, whose date next year is later.
            .unwrap_or(escalated_on)
    }
}

/// `date + days` on the civil calendar, saturating at the last representable day.
fn add_days(date: Date, days: u32) -> Date {
    date.checked_add(i64::from(days).days()).unwrap_or(Date::MAX)
}

/// A valid civil date, clamping the day to the month's last (for 29 February in other years).
fn date(year: i16, month: i8, day: i8) -> Date {
    let first = Date::new(year, month, 1).unwrap_or(Date::MAX);
    let day = day.clamp(1, first.days_in_month());
    Date::new(year, month, day).unwrap_or(first)
}

/// A calendar quarter: January to March is the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Quarter {
    pub year: i16,
    /// 1 to 4.
    pub number: u8,
}

impl Quarter {
    pub fn of(date: Date) -> Quarter {
        // `month()` is 1 to 12, so the quarter is 1 to 4.
        Quarter { year: date.year(), number: u8::try_from((date.month() - 1) / 3 + 1).unwrap_or(1) }
    }

    pub fn previous(self) -> Quarter {
        if self.number <= 1 {
            Quarter { year: self.year.saturating_sub(1), number: 4 }
        } else {
            Quarter { year: self.year, number: self.number - 1 }
        }
    }

    pub fn next(self) -> Quarter {
        if self.number >= 4 {
            Quarter { year: self.year.saturating_add(1), number: 1 }
        } else {
            Quarter { year: self.year, number: self.number + 1 }
        }
    }

    fn first_month(self) -> i8 {
        i8::try_from(self.number.clamp(1, 4) * 3 - 2).unwrap_or(1)
    }

    /// The quarter's first and last days.
    pub fn days(self) -> (Date, Date) {
        let first = date(self.year, self.first_month(), 1);
        let last_month = date(self.year, self.first_month() + 2, 1);
        (first, last_month.last_of_month())
    }

    pub fn last_day(self) -> Date {
        self.days().1
    }

    /// The quarters from this one through `last`, in order (none if `last` comes first).
    pub fn through(self, last: Quarter) -> Vec<Quarter> {
        let mut quarters = Vec::new();
        let mut quarter = self;
        while quarter <= last {
            quarters.push(quarter);
            quarter = quarter.next();
        }
        quarters
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.number)
    }
}

/// A month and day, written `"MM-DD"` in the rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DayOfYear {
    month: i8,
    day: i8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a day of the year is written \"MM-DD\", e.g. \"02-15\"; got {0:?}")]
pub struct DayOfYearError(String);

impl DayOfYear {
    pub fn new(month: i8, day: i8) -> Result<DayOfYear, DayOfYearError> {
        // Checked against a leap year, so that 02-29 is allowed (and falls on 28 February in
        // other years).
        Date::new(2024, month, day)
            .map(|_| DayOfYear { month, day })
            .map_err(|_| DayOfYearError(format!("{month:02}-{day:02}")))
    }

    pub fn in_year(self, year: i16) -> Date {
        date(year, self.month, self.day)
    }
}

impl FromStr for DayOfYear {
    type Err = DayOfYearError;

    fn from_str(text: &str) -> Result<DayOfYear, DayOfYearError> {
        let invalid = || DayOfYearError(text.to_owned());
        let (month, day) = text.trim().split_once('-').ok_or_else(invalid)?;
        let (month, day) = (month.parse().map_err(|_| invalid())?, day.parse().map_err(|_| invalid())?);
        DayOfYear::new(month, day).map_err(|_| invalid())
    }
}

impl fmt::Display for DayOfYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl Serialize for DayOfYear {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DayOfYear {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<DayOfYear, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
