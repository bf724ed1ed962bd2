//! The decree's calendar as data: who must meet whom and how often, the yearly calendar's
//! deadlines, and how far ahead a meeting is announced.
//!
//! The numbers come from the rule set's `[calendar]` table (the decree was amended in 2023 with
//! lower frequencies, so they are never code). These functions check a calendar of planned
//! meetings against them with plain values: territories, dates, and "today" as arguments.

use crate::issues::DayOfYear;
use crate::territory::{TerritoryKind, with_descendants};
use crate::{MeetingKind, TerritoryId};
use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The `[calendar]` table of a rule set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarRules {
    /// The akims who approve a yearly calendar, agreed with the maslikhat, by kind of the
    /// territory they govern (oblasts, cities of republican significance, the capital).
    pub approving_akims_of: Vec<TerritoryKind>,
    /// The calendar is approved by this day of the year…
    pub approval_day: DayOfYear,
    /// …sent to the Government by this one…
    pub submission_day: DayOfYear,
    /// …and forwarded by the Government to the Presidential Administration by this one.
    pub forwarding_day: DayOfYear,
    /// Who must hold meetings where, and how often.
    pub coverage: Vec<CoverageRule>,
    /// How far ahead meetings are announced.
    pub announcement: Vec<AnnouncementRule>,
}

/// "At least `min_meetings` meetings of the akim of an `akim_of` territory in each `covers`
/// territory inside it, every `period`." With `covers` empty, in the akim's own territory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageRule {
    pub akim_of: Vec<TerritoryKind>,
    #[serde(default)]
    pub covers: Vec<TerritoryKind>,
    pub period: Period,
    pub min_meetings: u32,
}

/// Meetings of the akim of an `akim_of` territory are announced `lead_days` ahead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementRule {
    pub akim_of: Vec<TerritoryKind>,
    pub lead_days: u32,
}

/// The length of a coverage period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Quarter,
    HalfYear,
    Year,
}

impl Period {
    fn months(self) -> i8 {
        match self {
            Period::Quarter => 3,
            Period::HalfYear => 6,
            Period::Year => 12,
        }
    }

    /// The periods of `year`, in order, as (first day, last day).
    pub fn of_year(self, year: i16) -> Vec<(Date, Date)> {
        let months = self.months();
        (0..12 / months)
            .filter_map(|index| {
                let first = Date::new(year, 1 + index * months, 1).ok()?;
                let last = first.checked_add(i32::from(months).months()).ok()?.yesterday().ok()?;
                Some((first, last))
            })
            .collect()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Period::Quarter => "quarter",
            Period::HalfYear => "half_year",
            Period::Year => "year",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarRulesError {
    #[error("calendar: the approval, submission and forwarding days must come in that order")]
    DeadlineOrder,
    #[error("calendar.coverage: each rule needs an akim_of kind and min_meetings of at least 1")]
    Coverage,
    #[error("calendar.coverage: the akims of {0} have two coverage rules for the same territories")]
    DuplicateCoverage(&'static str),
    #[error("calendar.announcement: each kind of akim once, with lead_days 1 to 90")]
    Announcement,
}

impl CalendarRules {
    pub fn validate(&self) -> Result<(), CalendarRulesError> {
        if !(self.approval_day <= self.submission_day && self.submission_day <= self.forwarding_day) {
            return Err(CalendarRulesError::DeadlineOrder);
        }
        let mut seen: Vec<(TerritoryKind, Vec<TerritoryKind>)> = Vec::new();
        for rule in &self.coverage {
            if rule.akim_of.is_empty() || rule.min_meetings == 0 {
                return Err(CalendarRulesError::Coverage);
            }
            for kind in &rule.akim_of {
                if seen
                    .iter()
                    .any(|(akim, covers)| akim == kind && covers.iter().any(|c| rule.covers.contains(c)))
                {
                    return Err(CalendarRulesError::DuplicateCoverage(kind.as_str()));
                }
                seen.push((*kind, rule.covers.clone()));
            }
        }
        let mut kinds: Vec<TerritoryKind> =
            self.announcement.iter().flat_map(|rule| rule.akim_of.clone()).collect();
        let count = kinds.len();
        kinds.sort_by_key(|kind| kind.as_str());
        kinds.dedup();
        if kinds.len() != count || self.announcement.iter().any(|rule| !(1..=90).contains(&rule.lead_days)) {
            return Err(CalendarRulesError::Announcement);
        }
        Ok(())
    }

    /// The yearly calendar's deadlines for `year`.
    pub fn deadlines(&self, year: i16) -> CalendarDeadlines {
        CalendarDeadlines {
            approval: self.approval_day.in_year(year),
            submission: self.submission_day.in_year(year),
            forwarding: self.forwarding_day.in_year(year),
        }
    }

    /// Whether the akim of a `kind` territory approves a yearly calendar.
    pub fn approves_calendar(&self, kind: TerritoryKind) -> bool {
        self.approving_akims_of.contains(&kind)
    }

    /// How many days ahead the akim of a `kind` territory announces meetings, if the rule set
    /// says.
    pub fn lead_days(&self, kind: TerritoryKind) -> Option<u32> {
        self.announcement.iter().find(|rule| rule.akim_of.contains(&kind)).map(|rule| rule.lead_days)
    }

    /// Checks an announcement made on `announced_on` of a meeting on `meeting_on` by the akim
    /// of a `kind` territory. A calendar meeting announced later than its lead time is refused;
    /// an unscheduled one (at the population's demand, or when needed) is allowed and flagged.
    pub fn check_announcement(
        &self,
        kind: TerritoryKind,
        meeting_kind: MeetingKind,
        announced_on: Date,
        meeting_on: Date,
    ) -> Result<AnnouncementCheck, AnnouncementError> {
        if meeting_on < announced_on {
            return Err(AnnouncementError::InThePast);
        }
        let Some(lead_days) = self.lead_days(kind) else {
            return Ok(AnnouncementCheck {
                lead_days: None,
                latest: None,
                on_time: true,
                unscheduled: false,
            });
        };
        let latest = meeting_on.checked_sub(i64::from(lead_days).days()).unwrap_or(Date::MIN);
        let on_time = announced_on <= latest;
        match meeting_kind {
            MeetingKind::Calendar if !on_time => Err(AnnouncementError::TooLate { lead_days, latest }),
            MeetingKind::Calendar => Ok(AnnouncementCheck {
                lead_days: Some(lead_days),
                latest: Some(latest),
                on_time,
                unscheduled: false,
            }),
            MeetingKind::Unscheduled => Ok(AnnouncementCheck {
                lead_days: Some(lead_days),
                latest: Some(latest),
                on_time,
                unscheduled: true,
            }),
        }
    }

    /// The coverage rules binding the akim of a `kind` territory.
    pub fn coverage_of(&self, kind: TerritoryKind) -> Vec<&CoverageRule> {
        self.coverage.iter().filter(|rule| rule.akim_of.contains(&kind)).collect()
    }
}

/// The yearly calendar's deadlines in one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDeadlines {
    pub approval: Date,
    pub submission: Date,
    pub forwarding: Date,
}

/// An announcement that may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncementCheck {
    /// The rule set's lead time for this akim, if it has one.
    pub lead_days: Option<u32>,
    /// The last day to announce in time.
    pub latest: Option<Date>,
    pub on_time: bool,
    /// An unscheduled meeting: allowed at any time, and flagged as such.
    pub unscheduled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnouncementError {
    #[error(
        "a calendar meeting is announced {lead_days} days ahead, by {latest}; hold it later or as unscheduled"
    )]
    TooLate { lead_days: u32, latest: Date },
    #[error("a meeting cannot be announced after the day it is held")]
    InThePast,
}

/// A territory as coverage sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub id: TerritoryId,
    pub kind: TerritoryKind,
    pub parent: Option<TerritoryId>,
}

/// A meeting of the calendar: where and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedMeeting {
    pub territory: TerritoryId,
    pub on: Date,
}

/// How one territory is covered in one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitCoverage {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub territory: TerritoryId,
    pub required: u32,
    /// Meetings in the territory or anywhere inside it.
    pub planned: u32,
    /// Fewer planned than required.
    pub gap: bool,
}

/// One period of the year and every territory the akim must cover in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodCoverage {
    pub period: Period,
    /// 1-based within the year.
    pub index: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub first_day: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub last_day: Date,
    pub units: Vec<UnitCoverage>,
}

impl PeriodCoverage {
    pub fn gaps(&self) -> impl Iterator<Item = &UnitCoverage> {
        self.units.iter().filter(|unit| unit.gap)
    }
}

/// Checks the meetings an akim plans in `year` against the coverage rules for the akim's
/// territory `akim`: for every period and every territory to cover, how many meetings are
/// required and planned. `territories` is the whole tree (or at least everything below the
/// akim's territory); a meeting counts for a territory when it is held there or inside it.
pub fn coverage(
    rules: &CalendarRules,
    akim: Unit,
    territories: &[Unit],
    planned: &[PlannedMeeting],
    year: i16,
) -> Vec<PeriodCoverage> {
    let parents: Vec<(TerritoryId, Option<TerritoryId>)> =
        territories.iter().map(|unit| (unit.id, unit.parent)).collect();
    let below = with_descendants(&parents, akim.id);
    let mut report = Vec::new();
    for rule in rules.coverage_of(akim.kind) {
        let mut units: Vec<TerritoryId> = if rule.covers.is_empty() {
            vec![akim.id]
        } else {
            territories
                .iter()
                .filter(|unit| {
                    unit.id != akim.id && below.contains(&unit.id) && rule.covers.contains(&unit.kind)
                })
                .map(|unit| unit.id)
                .collect()
        };
        units.sort();
        let places: Vec<(TerritoryId, Vec<TerritoryId>)> =
            units.iter().map(|unit| (*unit, with_descendants(&parents, *unit))).collect();
        for (index, (first_day, last_day)) in rule.period.of_year(year).into_iter().enumerate() {
            let in_period: Vec<&PlannedMeeting> =
                planned.iter().filter(|meeting| meeting.on >= first_day && meeting.on <= last_day).collect();
            let units = places
                .iter()
                .map(|(unit, inside)| {
                    let count =
                        in_period.iter().filter(|meeting| inside.contains(&meeting.territory)).count();
                    let planned = u32::try_from(count).unwrap_or(u32::MAX);
                    UnitCoverage {
                        territory: *unit,
                        required: rule.min_meetings,
                        planned,
                        gap: planned < rule.min_meetings,
                    }
                })
                .collect();
            report.push(PeriodCoverage {
                period: rule.period,
                index: u32::try_from(index + 1).unwrap_or(u32::MAX),
                first_day,
                last_day,
                units,
            });
        }
    }
    report
}
