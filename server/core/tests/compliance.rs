//! The compliance figures on any year of meetings and issues: every ratio is done out of owed,
//! the figures of a year are the sums of its quarters, and nothing is missed before it is due.

use jiff::ToSpan;
use jiff::civil::{Date, date};
use kezdesu_core::calendar::{Period, Unit};
use kezdesu_core::compliance::{
    ActedIssue, Announced, ComplianceInput, HeldMeeting, PeriodFigures, Ratio, figures,
};
use kezdesu_core::territory::TerritoryKind;
use kezdesu_core::{MeetingKind, RuleSet, TerritoryId};
use proptest::prelude::*;

const YEAR: i16 = 2027;

fn rules() -> RuleSet {
    toml::from_str(include_str!("../../../config/rules/kz-decree-826-2022.toml")).expect("the shipped rules")
}

/// A district (1) with three villages (2 to 4).
fn district() -> Vec<Unit> {
    let mut units = vec![Unit { id: TerritoryId(1), kind: TerritoryKind::District, parent: None }];
    units.extend((2..=4).map(|id| Unit {
        id: TerritoryId(id),
        kind: TerritoryKind::Village,
        parent: Some(TerritoryId(1)),
    }));
    units
}

fn day_of_year() -> impl Strategy<Value = Date> {
    (0i64..365).prop_map(|offset| date(YEAR, 1, 1).checked_add(offset.days()).expect("in the year"))
}

fn meeting() -> impl Strategy<Value = HeldMeeting> {
    (
        1i64..=4,
        any::<bool>(),
        day_of_year(),
        prop::option::of(0i64..3),
        0u8..3,
        prop::option::of(any::<bool>()),
        prop::option::of(0i64..30),
    )
        .prop_map(
            |(territory, calendar, started_on, ended_after, announced, split_kept, published_after)| {
                let ended_on = ended_after.map(|days| started_on.checked_add(days.days()).expect("a day"));
                HeldMeeting {
                    territory: TerritoryId(territory),
                    kind: if calendar { MeetingKind::Calendar } else { MeetingKind::Unscheduled },
                    started_on,
                    ended_on,
                    announced: [Announced::Not, Announced::OnTime, Announced::Late][usize::from(announced)],
                    split_kept: ended_on.and(split_kept),
                    results_published_on: ended_on
                        .zip(published_after)
                        .map(|(ended, days)| ended.checked_add(days.days()).expect("a day")),
                }
            },
        )
}

fn issue() -> impl Strategy<Value = ActedIssue> {
    (day_of_year(), prop::option::of(0i64..400), prop::collection::vec(0i64..500, 0..4)).prop_map(
        |(accepted_on, closed_after, reports)| ActedIssue {
            accepted_on,
            closed_on: closed_after.map(|days| accepted_on.checked_add(days.days()).expect("a day")),
            progress_on: reports
                .into_iter()
                .map(|days| accepted_on.checked_add(days.days()).expect("a day"))
                .collect(),
        },
    )
}

fn ratios(figures: &PeriodFigures) -> [Ratio; 5] {
    [
        figures.coverage,
        figures.announcements_on_time,
        figures.split_kept,
        figures.results_on_time,
        figures.progress_on_time,
    ]
}

proptest! {
    #[test]
    fn a_year_is_the_sum_of_its_quarters_and_every_ratio_is_done_of_owed(
        meetings in prop::collection::vec(meeting(), 0..25),
        issues in prop::collection::vec(issue(), 0..10),
    ) {
        let rules = rules();
        let units = district();
        let input = ComplianceInput {
            calendar: &rules.calendar,
            deadlines: &rules.issues,
            akim: units[0],
            territories: &units,
            meetings: &meetings,
            issues: &issues,
        };
        // Counted long after the year, when every deadline has passed.
        let later = date(YEAR + 2, 1, 1);
        let quarters = figures(&input, Period::Quarter, YEAR, later);
        let year = figures(&input, Period::Year, YEAR, later);
        prop_assert_eq!(quarters.len(), 4);
        prop_assert_eq!(year.len(), 1);
        for figures in quarters.iter().chain(&year) {
            for ratio in ratios(figures) {
                prop_assert!(ratio.done <= ratio.owed, "{:?}", ratio);
                prop_assert_eq!(ratio.percent.is_some(), ratio.owed > 0);
                prop_assert!(ratio.percent.is_none_or(|percent| (0.0..=100.0).contains(&percent)));
            }
            prop_assert_eq!((figures.results_pending, figures.progress_pending), (0, 0), "nothing is pending later");
        }
        let year = &year[0];
        let sum = |pick: fn(&PeriodFigures) -> Ratio| {
            quarters.iter().map(pick).fold((0, 0), |(done, owed), ratio| (done + ratio.done, owed + ratio.owed))
        };
        let whole = |ratio: Ratio| (ratio.done, ratio.owed);
        prop_assert_eq!(sum(|f| f.coverage), whole(year.coverage));
        prop_assert_eq!(sum(|f| f.announcements_on_time), whole(year.announcements_on_time));
        prop_assert_eq!(sum(|f| f.split_kept), whole(year.split_kept));
        prop_assert_eq!(sum(|f| f.progress_on_time), whole(year.progress_on_time));
        prop_assert_eq!(quarters.iter().map(|f| f.meetings_held).sum::<u32>(), year.meetings_held);
        prop_assert_eq!(year.meetings_held as usize, meetings.len());
        // The district akim owes one meeting in each of three villages every quarter.
        prop_assert_eq!(year.coverage.owed, 12);
    }

    #[test]
    fn nothing_is_missed_before_it_is_due(
        meetings in prop::collection::vec(meeting(), 0..25),
        issues in prop::collection::vec(issue(), 0..10),
        today in day_of_year(),
    ) {
        let rules = rules();
        let units = district();
        let input = ComplianceInput {
            calendar: &rules.calendar,
            deadlines: &rules.issues,
            akim: units[0],
            territories: &units,
            meetings: &meetings,
            issues: &issues,
        };
        // Only meetings that began by today count, as in the dashboard.
        let happened: Vec<HeldMeeting> = meetings.iter().filter(|meeting| meeting.started_on <= today).cloned().collect();
        let input = ComplianceInput { meetings: &happened, ..input };
        for figures in figures(&input, Period::Quarter, YEAR, today) {
            prop_assert!(figures.first_day <= today, "a quarter not begun is not shown");
            let ended: Vec<&HeldMeeting> = happened
                .iter()
                .filter(|meeting| meeting.ended_on.is_some_and(|on| figures.first_day <= on && on <= figures.last_day))
                .collect();
            // Results not published are pending until the day after their deadline, then late.
            let pending = ended
                .iter()
                .filter(|meeting| meeting.results_published_on.is_none())
                .filter(|meeting| meeting.ended_on.is_some_and(|on| today <= rules.issues.results_due(on)))
                .count() as u32;
            prop_assert_eq!(figures.results_pending, pending);
            // A quarter's coverage is judged once the quarter is over, and pending until then.
            if figures.last_day < today {
                prop_assert_eq!((figures.coverage.owed, figures.coverage_pending), (3, 0));
            } else {
                prop_assert_eq!((figures.coverage.owed, figures.coverage_pending), (0, 3));
                prop_assert!(figures.coverage_gaps.is_empty());
            }
            prop_assert_eq!(figures.results_on_time.owed + figures.results_pending, ended.len() as u32);
        }
    }
}
