//! The decree's calendar on plain values: coverage gaps per period and territory, the yearly
//! deadlines, announcement lead times, and a second rule set that changes validation with no
//! change of code.

use jiff::civil::{Date, date};
use kezdesu_core::calendar::{AnnouncementError, CalendarRules, Period, PlannedMeeting, Unit, coverage};
use kezdesu_core::territory::TerritoryKind::{self, *};
use kezdesu_core::{MeetingKind, RuleSet, TerritoryId};
use proptest::prelude::*;

fn rules_from(text: &str) -> CalendarRules {
    let rules: RuleSet = toml::from_str(text).expect("a rule set");
    rules.validate().expect("valid");
    rules.calendar
}

fn decree() -> CalendarRules {
    rules_from(include_str!("../../../config/rules/kz-decree-826-2022.toml"))
}

fn lower_frequencies() -> CalendarRules {
    rules_from(include_str!("../../../tests/fixtures/rules/lower-frequencies.toml"))
}

const OBLAST: i64 = 1;
const DISTRICT: i64 = 2;
const OTHER_DISTRICT: i64 = 3;
const CITY: i64 = 4;
const OKRUG: i64 = 5;
const VILLAGE_IN_OKRUG: i64 = 6;
const OTHER_VILLAGE_IN_OKRUG: i64 = 7;
const VILLAGE: i64 = 8;

/// An oblast with two districts and a city; the first district has a rural okrug with two
/// villages, and a village of its own.
fn oblast() -> Vec<Unit> {
    let unit = |id: i64, kind: TerritoryKind, parent: Option<i64>| Unit {
        id: TerritoryId(id),
        kind,
        parent: parent.map(TerritoryId),
    };
    vec![
        unit(OBLAST, Oblast, None),
        unit(DISTRICT, District, Some(OBLAST)),
        unit(OTHER_DISTRICT, District, Some(OBLAST)),
        unit(CITY, CityOfOblastSignificance, Some(OBLAST)),
        unit(OKRUG, RuralOkrug, Some(DISTRICT)),
        unit(VILLAGE_IN_OKRUG, Village, Some(OKRUG)),
        unit(OTHER_VILLAGE_IN_OKRUG, Village, Some(OKRUG)),
        unit(VILLAGE, Village, Some(DISTRICT)),
    ]
}

fn akim_of(id: i64) -> Unit {
    *oblast().iter().find(|unit| unit.id == TerritoryId(id)).expect("in the fixture")
}

fn meeting(territory: i64, on: Date) -> PlannedMeeting {
    PlannedMeeting { territory: TerritoryId(territory), on }
}

/// (period index, territory) of every gap.
fn gaps(report: &[kezdesu_core::calendar::PeriodCoverage]) -> Vec<(u32, i64)> {
    report.iter().flat_map(|period| period.gaps().map(|unit| (period.index, unit.territory.0))).collect()
}

/// A district akim who visits the okrug and one of its villages every quarter, and the
/// district's own village in every quarter but the third.
fn district_plan() -> Vec<PlannedMeeting> {
    let mut plan = Vec::new();
    for month in [2, 5, 8, 11] {
        plan.push(meeting(OKRUG, date(2027, month, 10)));
        plan.push(meeting(VILLAGE_IN_OKRUG, date(2027, month, 12)));
        if month != 8 {
            plan.push(meeting(VILLAGE, date(2027, month, 20)));
        }
    }
    plan
}

#[test]
fn a_missing_village_is_a_gap_in_every_quarter_it_is_missing() {
    let report = coverage(&decree(), akim_of(DISTRICT), &oblast(), &district_plan(), 2027);
    assert_eq!(report.len(), 4, "quarters");
    assert!(report.iter().all(|period| period.period == Period::Quarter));
    // Every village, settlement and rural okrug inside the district, each quarter.
    let covered: Vec<i64> = report[0].units.iter().map(|unit| unit.territory.0).collect();
    assert_eq!(covered, [OKRUG, VILLAGE_IN_OKRUG, OTHER_VILLAGE_IN_OKRUG, VILLAGE]);
    // A meeting in the okrug does not count for the villages in it: each is visited itself.
    assert_eq!(
        gaps(&report),
        [
            (1, OTHER_VILLAGE_IN_OKRUG),
            (2, OTHER_VILLAGE_IN_OKRUG),
            (3, OTHER_VILLAGE_IN_OKRUG),
            (3, VILLAGE),
            (4, OTHER_VILLAGE_IN_OKRUG)
        ]
    );
    assert_eq!(report[2].first_day, date(2027, 7, 1));
    assert_eq!(report[2].last_day, date(2027, 9, 30));
}

#[test]
fn the_oblast_akim_covers_districts_and_cities_each_half_year_through_meetings_inside_them() {
    let plan = [
        // A meeting in a village of the district counts for the district.
        meeting(VILLAGE_IN_OKRUG, date(2027, 3, 1)),
        meeting(DISTRICT, date(2027, 9, 1)),
        meeting(CITY, date(2027, 6, 30)),
        meeting(OTHER_DISTRICT, date(2027, 7, 1)),
        // Another year's meeting counts for nothing.
        meeting(OTHER_DISTRICT, date(2026, 12, 31)),
    ];
    let report = coverage(&decree(), akim_of(OBLAST), &oblast(), &plan, 2027);
    assert_eq!(report.len(), 2, "half-years");
    assert_eq!(gaps(&report), [(1, OTHER_DISTRICT), (2, CITY)]);
}

#[test]
fn a_village_akim_meets_in_the_village_every_quarter() {
    let plan = [meeting(VILLAGE, date(2027, 1, 15)), meeting(VILLAGE, date(2027, 4, 15))];
    let report = coverage(&decree(), akim_of(VILLAGE), &oblast(), &plan, 2027);
    assert_eq!(gaps(&report), [(3, VILLAGE), (4, VILLAGE)]);
}

#[test]
fn a_rule_set_with_lower_frequencies_changes_validation_and_nothing_else() {
    let plan = district_plan();
    let strict = coverage(&decree(), akim_of(DISTRICT), &oblast(), &plan, 2027);
    let lenient = coverage(&lower_frequencies(), akim_of(DISTRICT), &oblast(), &plan, 2027);
    assert_eq!(lenient.len(), 2, "half-years");
    // The village missed in the third quarter was visited in the second half-year anyway.
    assert_eq!(gaps(&lenient), [(1, OTHER_VILLAGE_IN_OKRUG), (2, OTHER_VILLAGE_IN_OKRUG)]);
    assert!(gaps(&strict).len() > gaps(&lenient).len());
    let oblast_plan = [meeting(DISTRICT, date(2027, 2, 1)), meeting(OTHER_DISTRICT, date(2027, 11, 1))];
    assert_eq!(
        gaps(&coverage(&lower_frequencies(), akim_of(OBLAST), &oblast(), &oblast_plan, 2027)),
        [(1, CITY)]
    );
}

#[test]
fn the_yearly_calendar_is_approved_submitted_and_forwarded_by_fixed_days() {
    let rules = decree();
    let deadlines = rules.deadlines(2027);
    assert_eq!(
        (deadlines.approval, deadlines.submission, deadlines.forwarding),
        (date(2027, 1, 15), date(2027, 1, 20), date(2027, 2, 1))
    );
    assert!(rules.approves_calendar(Oblast));
    assert!(rules.approves_calendar(Capital));
    assert!(!rules.approves_calendar(District));
}

#[test]
fn a_calendar_meeting_announced_late_is_refused_and_an_unscheduled_one_is_flagged() {
    let rules = decree();
    let meeting_on = date(2027, 3, 20);
    // District akims announce 14 days ahead: by 6 March.
    let in_time = rules
        .check_announcement(District, MeetingKind::Calendar, date(2027, 3, 6), meeting_on)
        .expect("in time");
    assert!(in_time.on_time && !in_time.unscheduled);
    assert_eq!(in_time.latest, Some(date(2027, 3, 6)));
    assert_eq!(
        rules.check_announcement(District, MeetingKind::Calendar, date(2027, 3, 7), meeting_on),
        Err(AnnouncementError::TooLate { lead_days: 14, latest: date(2027, 3, 6) })
    );
    let unscheduled = rules
        .check_announcement(District, MeetingKind::Unscheduled, date(2027, 3, 19), meeting_on)
        .expect("allowed");
    assert!(unscheduled.unscheduled && !unscheduled.on_time);
    // Village akims announce 7 days ahead.
    assert!(rules.check_announcement(Village, MeetingKind::Calendar, date(2027, 3, 13), meeting_on).is_ok());
    assert!(rules.check_announcement(Village, MeetingKind::Calendar, date(2027, 3, 14), meeting_on).is_err());
    assert_eq!(
        rules.check_announcement(Village, MeetingKind::Calendar, date(2027, 3, 21), meeting_on),
        Err(AnnouncementError::InThePast)
    );
}

#[test]
fn rule_sets_with_contradictions_are_refused() {
    let mut rules = decree();
    rules.submission_day = "01-10".parse().expect("a day");
    assert!(rules.validate().is_err(), "submission before approval");
    let mut rules = decree();
    rules.announcement[1].akim_of.push(District);
    assert!(rules.validate().is_err(), "two lead times for district akims");
    let mut rules = decree();
    rules.coverage[0].min_meetings = 0;
    assert!(rules.validate().is_err());
}

proptest! {
    /// The periods of any year, for any length, tile the year: no day is in two, none in none.
    #[test]
    fn periods_tile_the_year(year in 1901i16..2199, length in prop_oneof![Just(Period::Quarter), Just(Period::HalfYear), Just(Period::Year)]) {
        let periods = length.of_year(year);
        prop_assert_eq!(periods.first().map(|p| p.0), Some(date(year, 1, 1)));
        prop_assert_eq!(periods.last().map(|p| p.1), Some(date(year, 12, 31)));
        for pair in periods.windows(2) {
            prop_assert_eq!(pair[0].1.tomorrow().ok(), Some(pair[1].0));
        }
    }
}

#[test]
fn a_demand_obliges_the_akim_once_enough_distinct_people_support_it() {
    use kezdesu_core::demand::{DemandRules, DemandState, contact_identity};
    let rules = DemandRules { supporters_threshold: 3, hold_within_days: 30 };
    let today = date(2027, 3, 1);
    assert_eq!(rules.state(1, None, false, today), DemandState::Open { missing: 2 });
    assert!(!rules.reached(2) && rules.reached(3));
    let reached = Some(date(2027, 3, 1));
    assert_eq!(
        rules.state(3, reached, false, date(2027, 3, 31)),
        DemandState::Obliged { due: date(2027, 3, 31), overdue: false }
    );
    assert_eq!(
        rules.state(3, reached, false, date(2027, 4, 1)),
        DemandState::Obliged { due: date(2027, 3, 31), overdue: true }
    );
    assert_eq!(rules.state(3, reached, true, date(2027, 4, 1)), DemandState::Met);
    // One person, however they type their number or address.
    assert_eq!(contact_identity("+7 (701) 555-12-34"), contact_identity("+77015551234"));
    assert_eq!(contact_identity(" Aigul@Example.KZ "), contact_identity("aigul@example.kz"));
    assert_ne!(contact_identity("+77015551234"), contact_identity("+77015551235"));
    for nothing in ["", "12", "call me", "a@b", "+7 701 555 12 34 ext"] {
        assert_eq!(contact_identity(nothing), None, "{nothing:?}");
    }
}

#[test]
fn territories_import_parents_first_and_report_every_bad_row() {
    use kezdesu_core::territory::{RawTerritoryRow, check_territory_rows};
    let row = |kato: &str, kind: &str, parent: Option<&str>| RawTerritoryRow {
        kato: Some(kato.into()),
        kind: Some(kind.into()),
        name_kk: Some("Атау".into()),
        name_ru: Some("Название".into()),
        name_en: Some("Name".into()),
        parent_kato: parent.map(Into::into),
    };
    let known = ["110000000".to_owned()].into();
    // A village before its okrug, the okrug before its district: imported parents first.
    let rows = [
        row("113230100", "village", Some("113230000")),
        row("113230000", "rural_okrug", Some("113200000")),
        row("113200000", "district", Some("110000000")),
        row("110000000", "oblast", None),
    ];
    let import = check_territory_rows(&rows, &known).expect("valid");
    let order: Vec<&str> = import.new.iter().map(|t| t.kato.as_str()).collect();
    assert_eq!(order, ["113200000", "113230000", "113230100"]);
    assert_eq!(import.already_present, 1);

    let bad = [
        row("11323010", "village", None),
        row("113230200", "county", Some("999999999")),
        row("113230300", "village", Some("113230400")),
        row("113230400", "village", Some("113230300")),
    ];
    let errors = check_territory_rows(&bad, &known).expect_err("bad rows");
    let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(found, [(1, "kato"), (2, "kind"), (3, "parent_kato"), (4, "parent_kato")]);
}
