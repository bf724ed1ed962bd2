//! How an akim kept the decree, period by period: the figures of the compliance dashboard.
//!
//! Everything is counted from what happened, given as plain values: the meetings the akim held
//! (from the session timer's record), how they were announced, when their results were
//! published, and the progress reports on the issues raised at them. "Today" is an argument, so
//! that a deadline not yet passed counts as pending rather than missed.
//!
//! A figure is a [`Ratio`]: what was done in time, out of what was owed.

use crate::TerritoryId;
use crate::calendar::{CalendarRules, Period, PlannedMeeting, Unit, coverage};
use crate::issues::{DeadlineRules, Quarter};
use crate::meeting::MeetingKind;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// How a meeting was announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announced {
    Not,
    OnTime,
    Late,
}

/// A meeting the akim held: it began, and was not cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMeeting {
    pub territory: TerritoryId,
    pub kind: MeetingKind,
    /// The day its presentation began.
    pub started_on: Date,
    pub ended_on: Option<Date>,
    pub announced: Announced,
    /// Whether the presentation kept to its share of the time; known once it ended.
    pub split_kept: Option<bool>,
    pub results_published_on: Option<Date>,
}

/// A problem issue raised at one of the akim's meetings, as quarterly progress sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActedIssue {
    /// The day the commission took it up; it owes progress from that quarter on.
    pub accepted_on: Date,
    /// The day it was closed (resolved, rejected or escalated), if it was: it owes reports for
    /// the quarters that ended before then, and none after.
    pub closed_on: Option<Date>,
    /// The days its progress reports were published.
    pub progress_on: Vec<Date>,
}

/// `done` of `owed`, with the share in per cent to one decimal (`None` when nothing was owed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ratio {
    pub done: u32,
    pub owed: u32,
    pub percent: Option<f64>,
}

impl Ratio {
    pub fn of(done: u32, owed: u32) -> Ratio {
        let percent = (owed > 0).then(|| {
            let tenths = (u64::from(done) * 1000 + u64::from(owed) / 2) / u64::from(owed);
            tenths as f64 / 10.0
        });
        Ratio { done, owed, percent }
    }
}

fn count<T>(items: impl IntoIterator<Item = T>, keep: impl Fn(&T) -> bool) -> u32 {
    u32::try_from(items.into_iter().filter(|item| keep(item)).count()).unwrap_or(u32::MAX)
}

/// One akim's figures in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodFigures {
    pub period: Period,
    /// 1-based within the year.
    pub index: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub first_day: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub last_day: Date,
    /// Meetings that began in the period.
    pub meetings_held: u32,
    /// Meetings held, out of those the coverage rules require, for the coverage periods ending
    /// in this one (a half-year's requirement is judged in its second quarter).
    pub coverage: Ratio,
    /// Meetings required in coverage periods that end in this one but have not ended yet:
    /// neither met nor missed until they have.
    pub coverage_pending: u32,
    /// The territories short of meetings in those coverage periods, each once.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<i64>))]
    pub coverage_gaps: Vec<TerritoryId>,
    /// Calendar meetings held in the period that were announced by their lead time.
    pub announcements_on_time: Ratio,
    /// Unscheduled meetings held in the period, and how many of those were announced later
    /// than a calendar meeting could be (allowed, and flagged).
    pub unscheduled: u32,
    pub unscheduled_announced_late: u32,
    /// Meetings that ended in the period whose presentation kept to its share.
    pub split_kept: Ratio,
    /// Meetings that ended in the period whose results were published in time, of those due;
    /// `results_pending` are not due yet.
    pub results_on_time: Ratio,
    pub results_pending: u32,
    /// Quarterly progress reports on the issues of the akim's meetings, for the quarters in the
    /// period: published in time, of those due; `progress_pending` are not due yet.
    pub progress_on_time: Ratio,
    pub progress_pending: u32,
}

/// What the figures are computed from.
pub struct ComplianceInput<'a> {
    pub calendar: &'a CalendarRules,
    pub deadlines: &'a DeadlineRules,
    /// The akim's territory.
    pub akim: Unit,
    /// The whole tree of territories (or everything below the akim's).
    pub territories: &'a [Unit],
    pub meetings: &'a [HeldMeeting],
    pub issues: &'a [ActedIssue],
}

/// One akim's figures for every `period` of `year` that has begun by `today`.
pub fn figures(input: &ComplianceInput<'_>, period: Period, year: i16, today: Date) -> Vec<PeriodFigures> {
    let held: Vec<PlannedMeeting> = input
        .meetings
        .iter()
        .map(|meeting| PlannedMeeting { territory: meeting.territory, on: meeting.started_on })
        .collect();
    let covered = coverage(input.calendar, input.akim, input.territories, &held, year);
    period
        .of_year(year)
        .into_iter()
        .enumerate()
        .filter(|(_, (first_day, _))| *first_day <= today)
        .map(|(index, (first_day, last_day))| {
            let inside = |day: Date| first_day <= day && day <= last_day;
            let started: Vec<&HeldMeeting> =
                input.meetings.iter().filter(|meeting| inside(meeting.started_on)).collect();
            let ended: Vec<(&HeldMeeting, Date)> = input
                .meetings
                .iter()
                .filter_map(|meeting| meeting.ended_on.filter(|day| inside(*day)).map(|day| (meeting, day)))
                .collect();

            // A coverage period is judged once it is over; until then its meetings may still
            // come.
            let (judged, open): (Vec<_>, Vec<_>) = covered
                .iter()
                .filter(|period| inside(period.last_day))
                .partition(|period| period.last_day < today);
            let judged: Vec<_> = judged.into_iter().flat_map(|period| period.units.iter()).collect();
            let required: u32 = judged.iter().map(|unit| unit.required).sum();
            let met: u32 = judged.iter().map(|unit| unit.planned.min(unit.required)).sum();
            let coverage_pending: u32 =
                open.into_iter().flat_map(|period| period.units.iter()).map(|unit| unit.required).sum();
            let mut coverage_gaps: Vec<TerritoryId> =
                judged.iter().filter(|unit| unit.gap).map(|unit| unit.territory).collect();
            coverage_gaps.sort_unstable();
            coverage_gaps.dedup();

            let calendar_meetings: Vec<&&HeldMeeting> =
                started.iter().filter(|meeting| meeting.kind == MeetingKind::Calendar).collect();
            let unscheduled: Vec<&&HeldMeeting> =
                started.iter().filter(|meeting| meeting.kind == MeetingKind::Unscheduled).collect();

            let results: Vec<Outcome> = ended
                .iter()
                .map(|(meeting, ended_on)| {
                    let due = input.deadlines.results_due(*ended_on);
                    Outcome::of(meeting.results_published_on.map(|published| published <= due), due, today)
                })
                .collect();

            let progress: Vec<Outcome> = Quarter::of(first_day)
                .through(Quarter::of(last_day))
                .into_iter()
                .flat_map(|quarter| {
                    let due = input.deadlines.progress_due(quarter);
                    input
                        .issues
                        .iter()
                        .filter(move |issue| {
                            issue.accepted_on <= quarter.last_day()
                                && issue.closed_on.is_none_or(|closed| closed > quarter.last_day())
                        })
                        .map(move |issue| {
                            let reported = issue
                                .progress_on
                                .iter()
                                .any(|on| input.deadlines.quarter_reported_on(*on) == quarter);
                            Outcome::of(reported.then_some(true), due, today)
                        })
                })
                .collect();

            PeriodFigures {
                period,
                index: u32::try_from(index + 1).unwrap_or(u32::MAX),
                first_day,
                last_day,
                meetings_held: count(&started, |_| true),
                coverage: Ratio::of(met, required),
                coverage_pending,
                coverage_gaps,
                announcements_on_time: Ratio::of(
                    count(&calendar_meetings, |meeting| meeting.announced == Announced::OnTime),
                    count(&calendar_meetings, |_| true),
                ),
                unscheduled: count(&unscheduled, |_| true),
                unscheduled_announced_late: count(&unscheduled, |meeting| {
                    meeting.announced == Announced::Late
                }),
                split_kept: Ratio::of(
                    count(&ended, |(meeting, _)| meeting.split_kept == Some(true)),
                    count(&ended, |_| true),
                ),
                results_on_time: Outcome::ratio(&results),
                results_pending: count(&results, |outcome| matches!(outcome, Outcome::Pending)),
                progress_on_time: Outcome::ratio(&progress),
                progress_pending: count(&progress, |outcome| matches!(outcome, Outcome::Pending)),
            }
        })
        .collect()
}

/// What became of one thing owed by a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    OnTime,
    Late,
    /// Not done, and not due yet.
    Pending,
}

impl Outcome {
    /// `done_in_time`: `Some(true)` done by the deadline, `Some(false)` done after it, `None` not
    /// done.
    fn of(done_in_time: Option<bool>, due: Date, today: Date) -> Outcome {
        match done_in_time {
            Some(true) => Outcome::OnTime,
            Some(false) => Outcome::Late,
            None if today > due => Outcome::Late,
            None => Outcome::Pending,
        }
    }

    fn ratio(outcomes: &[Outcome]) -> Ratio {
        Ratio::of(
            count(outcomes, |outcome| matches!(outcome, Outcome::OnTime)),
            count(outcomes, |outcome| !matches!(outcome, Outcome::Pending)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TerritoryKind;
    use jiff::civil::date;

    #[test]
    fn ratios_round_to_a_tenth_and_say_when_nothing_was_owed() {
        assert_eq!(Ratio::of(2, 3).percent, Some(66.7));
        assert_eq!(Ratio::of(1, 3).percent, Some(33.3));
        assert_eq!(Ratio::of(3, 3).percent, Some(100.0));
        assert_eq!(Ratio::of(0, 0).percent, None);
    }

    fn rules() -> crate::RuleSet {
        toml::from_str(include_str!("../../../config/rules/kz-decree-826-2022.toml"))
            .expect("the shipped rules")
    }

    /// A district (1) with two villages (2, 3); the district akim owes one meeting in each
    /// village every quarter.
    fn tree() -> Vec<Unit> {
        vec![
            Unit { id: TerritoryId(1), kind: TerritoryKind::District, parent: None },
            Unit { id: TerritoryId(2), kind: TerritoryKind::Village, parent: Some(TerritoryId(1)) },
            Unit { id: TerritoryId(3), kind: TerritoryKind::Village, parent: Some(TerritoryId(1)) },
        ]
    }

    fn held(territory: i64, started_on: Date) -> HeldMeeting {
        HeldMeeting {
            territory: TerritoryId(territory),
            kind: MeetingKind::Calendar,
            started_on,
            ended_on: Some(started_on),
            announced: Announced::OnTime,
            split_kept: Some(true),
            results_published_on: Some(started_on),
        }
    }

    #[test]
    fn a_quarter_is_judged_on_what_happened_in_it() {
        let rules = rules();
        let territories = tree();
        let meetings = vec![
            held(2, date(2027, 2, 10)),
            HeldMeeting {
                announced: Announced::Not,
                split_kept: Some(false),
                results_published_on: Some(date(2027, 3, 21)),
                ..held(2, date(2027, 3, 10))
            },
            HeldMeeting {
                kind: MeetingKind::Unscheduled,
                announced: Announced::Late,
                ..held(1, date(2027, 3, 30))
            },
            // Second quarter: village 3 only, results not published yet.
            HeldMeeting { results_published_on: None, ..held(3, date(2027, 6, 25)) },
        ];
        let issues = vec![
            // Reported for the first quarter on 20 April: in time.
            ActedIssue {
                accepted_on: date(2027, 2, 11),
                closed_on: None,
                progress_on: vec![date(2027, 4, 20)],
            },
            // Reported on 26 April: late for the first quarter.
            ActedIssue {
                accepted_on: date(2027, 3, 1),
                closed_on: None,
                progress_on: vec![date(2027, 4, 26)],
            },
            // Closed within the first quarter: owes nothing.
            ActedIssue {
                accepted_on: date(2027, 3, 1),
                closed_on: Some(date(2027, 3, 20)),
                progress_on: vec![],
            },
            // Closed in the second quarter, never reported: the first quarter's report stays
            // missed.
            ActedIssue {
                accepted_on: date(2027, 3, 2),
                closed_on: Some(date(2027, 5, 2)),
                progress_on: vec![],
            },
        ];
        let input = ComplianceInput {
            calendar: &rules.calendar,
            deadlines: &rules.issues,
            akim: territories[0],
            territories: &territories,
            meetings: &meetings,
            issues: &issues,
        };
        let quarters = figures(&input, Period::Quarter, 2027, date(2027, 7, 1));
        assert_eq!(quarters.len(), 3, "the fourth quarter has not begun");
        let first = &quarters[0];
        assert_eq!(first.meetings_held, 3);
        assert_eq!((first.coverage.done, first.coverage.owed), (1, 2));
        assert_eq!(first.coverage_gaps, vec![TerritoryId(3)]);
        assert_eq!((first.announcements_on_time.done, first.announcements_on_time.owed), (1, 2));
        assert_eq!((first.unscheduled, first.unscheduled_announced_late), (1, 1));
        assert_eq!((first.split_kept.done, first.split_kept.owed), (2, 3));
        assert_eq!((first.results_on_time.done, first.results_on_time.owed), (2, 3), "21 March is day 11");
        assert_eq!((first.progress_on_time.done, first.progress_on_time.owed), (1, 3));
        let second = &quarters[1];
        assert_eq!(second.coverage_gaps, vec![TerritoryId(2)]);
        assert_eq!((second.results_on_time.owed, second.results_pending), (0, 1), "due 5 July");
        // The report of 26 April, late for the first quarter, serves the second; the other
        // issue's second report is not due until 25 July.
        let progress = &second.progress_on_time;
        assert_eq!((progress.done, progress.owed, second.progress_pending), (1, 1, 1));
        // The third quarter has begun but not ended: its coverage is pending, not missed.
        let third = &quarters[2];
        assert_eq!(third.meetings_held, 0);
        assert_eq!((third.coverage.owed, third.coverage.percent, third.coverage_pending), (0, None, 2));
        assert!(third.coverage_gaps.is_empty());

        // A year row judges the quarters that are over, each territory named once.
        let year = figures(&input, Period::Year, 2027, date(2027, 7, 1));
        assert_eq!((year[0].coverage.done, year[0].coverage.owed, year[0].coverage_pending), (2, 4, 4));
        assert_eq!(year[0].coverage_gaps, vec![TerritoryId(2), TerritoryId(3)]);
    }
}
