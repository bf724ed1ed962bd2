//! The issue register's rules: deadlines on plain dates (year ends, leap years, month ends)
//! and the status workflow, with properties over any date and any path.

use jiff::ToSpan;
use jiff::civil::{Date, date};
use kezdesu_core::RuleSet;
use kezdesu_core::issues::import::{ImportContext, RawImportRow, check_rows};
use kezdesu_core::issues::register::{collection_period_start, publicly_listed};
use kezdesu_core::issues::{
    ActionDeadline, DeadlineRules, EscalationLevel, IssueDates, IssueStatus, Quarter, WorkflowError,
};
use proptest::prelude::*;

fn decree() -> DeadlineRules {
    let rules: RuleSet = toml::from_str(include_str!("../../../config/rules/kz-decree-826-2022.toml"))
        .expect("the shipped rules");
    rules.validate().expect("valid");
    rules.issues
}

#[test]
fn results_are_due_ten_calendar_days_after_the_meeting() {
    let rules = decree();
    assert_eq!(rules.results_due(date(2026, 3, 10)), date(2026, 3, 20));
    // Across a month end, a year end, and 29 February of a leap year.
    assert_eq!(rules.results_due(date(2026, 1, 25)), date(2026, 2, 4));
    assert_eq!(rules.results_due(date(2026, 12, 28)), date(2027, 1, 7));
    assert_eq!(rules.results_due(date(2028, 2, 25)), date(2028, 3, 6));
    assert_eq!(rules.results_due(date(2027, 2, 25)), date(2027, 3, 7));
    assert_eq!(rules.results_due(date(2028, 2, 29)), date(2028, 3, 10));
}

#[test]
fn results_become_overdue_on_day_eleven() {
    let rules = decree();
    let ended = date(2026, 4, 20);
    assert!(!rules.results_overdue(ended, None, date(2026, 4, 30)), "day 10 is in time");
    assert!(rules.results_overdue(ended, None, date(2026, 5, 1)), "day 11 is late");
    assert!(!rules.results_overdue(ended, Some(date(2026, 4, 30)), date(2026, 6, 1)), "published on day 10");
    assert!(
        rules.results_overdue(ended, Some(date(2026, 5, 1)), date(2026, 6, 1)),
        "a late publication stays late"
    );
}

#[test]
fn progress_is_due_on_the_25th_of_the_month_after_each_quarter() {
    let rules = decree();
    let quarter = |year, number| Quarter { year, number };
    assert_eq!(rules.progress_due(quarter(2026, 1)), date(2026, 4, 25));
    assert_eq!(rules.progress_due(quarter(2026, 2)), date(2026, 7, 25));
    assert_eq!(rules.progress_due(quarter(2026, 3)), date(2026, 10, 25));
    assert_eq!(rules.progress_due(quarter(2026, 4)), date(2027, 1, 25), "the fourth quarter's is next year");
    // An issue raised on the last day of a quarter owes that quarter's report.
    assert_eq!(rules.first_progress_due(date(2026, 3, 31)), date(2026, 4, 25));
    assert_eq!(rules.first_progress_due(date(2026, 4, 1)), date(2026, 7, 25));
    // After reporting on Q4 2026, the next is Q1 2027's.
    assert_eq!(rules.next_progress_due(date(2026, 11, 2), Some(quarter(2026, 4))), date(2027, 4, 25));
    assert_eq!(rules.next_progress_due(date(2026, 11, 2), None), date(2027, 1, 25));
    assert_eq!(quarter(2028, 1).days(), (date(2028, 1, 1), date(2028, 3, 31)));
    assert_eq!(quarter(2028, 4).to_string(), "2028-Q4");
}

#[test]
fn central_issues_go_to_the_next_collection() {
    let rules = decree();
    assert_eq!(rules.central_collection_due(date(2026, 1, 5)), date(2026, 2, 15));
    assert_eq!(rules.central_collection_due(date(2026, 2, 15)), date(2026, 2, 15), "on the day is in time");
    assert_eq!(rules.central_collection_due(date(2026, 2, 16)), date(2026, 8, 15));
    assert_eq!(rules.central_collection_due(date(2026, 8, 16)), date(2027, 2, 15), "across the year end");
}

#[test]
fn deadline_rules_are_checked() {
    let mut rules = decree();
    rules.progress_day_of_following_month = 31;
    assert!(rules.validate().is_err(), "not every month has a 31st");
    let mut rules = decree();
    rules.central_collection_days.clear();
    assert!(rules.validate().is_err());
    let mut rules = decree();
    rules.central_collection_days.push("02-15".parse().expect("a day"));
    assert!(rules.validate().is_err(), "a day listed twice");
    for bad in ["02-30", "13-01", "1-", "feb-15", ""] {
        assert!(bad.parse::<kezdesu_core::issues::DayOfYear>().is_err(), "{bad:?}");
    }
    let leap: kezdesu_core::issues::DayOfYear = "02-29".parse().expect("allowed");
    assert_eq!(leap.in_year(2027), date(2027, 2, 28), "falls on the month's last day in other years");
}

#[test]
fn the_main_path_goes_one_step_at_a_time() {
    use IssueStatus::*;
    for (from, to) in [(New, Accepted), (Accepted, Planned), (Planned, InProgress), (InProgress, Resolved)] {
        assert_eq!(from.change_to(to, None, None), Ok(()), "{from} -> {to}");
    }
    assert_eq!(New.change_to(Planned, None, None), Err(WorkflowError::NotAllowed { from: New, to: Planned }));
    assert!(Planned.change_to(Accepted, None, None).is_err(), "never back");
    assert_eq!(Planned.change_to(Rejected, Some("  "), None), Err(WorkflowError::ReasonRequired));
    assert_eq!(Planned.change_to(Rejected, Some("not the akimat's remit"), None), Ok(()));
    assert_eq!(Accepted.change_to(Escalated, None, None), Err(WorkflowError::LevelRequired));
    assert_eq!(Accepted.change_to(Escalated, None, Some(EscalationLevel::Central)), Ok(()));
}

fn any_date() -> impl Strategy<Value = Date> {
    (1990i16..2200, 1i8..=12, 1i8..=31).prop_map(|(year, month, day)| {
        let first = date(year, month, 1);
        date(year, month, day.min(first.days_in_month()))
    })
}

fn any_status() -> impl Strategy<Value = IssueStatus> {
    proptest::sample::select(IssueStatus::ALL.to_vec())
}

proptest! {
    #[test]
    fn results_are_due_exactly_the_configured_days_later(ended in any_date(), days in 1u32..=366) {
        let rules = DeadlineRules { results_within_days: days, ..decree() };
        let due = rules.results_due(ended);
        prop_assert_eq!(ended.until(due).expect("a span").get_days(), i32::try_from(days).expect("small"));
        prop_assert!(!rules.results_overdue(ended, None, due));
        prop_assert!(rules.results_overdue(ended, None, due.checked_add(1.day()).expect("a date")));
    }

    #[test]
    fn progress_falls_after_its_quarter_within_two_months(raised in any_date()) {
        let rules = decree();
        let due = rules.first_progress_due(raised);
        let (_, quarter_ends) = Quarter::of(raised).days();
        prop_assert!(due > quarter_ends && due > raised);
        prop_assert_eq!(due.day(), 25);
        prop_assert!(quarter_ends.until(due).expect("a span").get_days() <= 25);
        // Reporting moves the next deadline exactly one quarter on.
        let next = rules.next_progress_due(raised, Some(Quarter::of(raised)));
        prop_assert_eq!(Quarter::of(next), Quarter::of(due).next());
    }

    #[test]
    fn the_central_collection_is_the_next_one_and_within_half_a_year(escalated in any_date()) {
        let due = decree().central_collection_due(escalated);
        prop_assert!(due >= escalated);
        prop_assert!(escalated.until(due).expect("a span").get_days() <= 184);
        prop_assert!((due.month(), due.day()) == (2, 15) || (due.month(), due.day()) == (8, 15));
    }

    #[test]
    fn closed_issues_stay_closed_and_open_ones_can_always_close(from in any_status(), to in any_status()) {
        let outcome = from.change_to(to, Some("a reason"), Some(EscalationLevel::Oblast));
        if from.is_closed() {
            prop_assert!(outcome.is_err());
        } else if matches!(to, IssueStatus::Rejected | IssueStatus::Escalated) {
            prop_assert!(outcome.is_ok());
        }
    }
}

#[test]
fn a_progress_report_counts_for_the_earliest_quarter_still_due() {
    let rules = decree();
    let q = |year, number| Quarter { year, number };
    assert_eq!(rules.quarter_reported_on(date(2027, 1, 20)), q(2026, 4));
    assert_eq!(rules.quarter_reported_on(date(2027, 1, 25)), q(2026, 4));
    assert_eq!(rules.quarter_reported_on(date(2027, 1, 26)), q(2027, 1));
    assert_eq!(rules.quarter_reported_on(date(2027, 3, 31)), q(2027, 1));
    assert_eq!(rules.quarter_reported_on(date(2027, 4, 25)), q(2027, 1));
    assert_eq!(rules.quarter_reported_on(date(2027, 12, 31)), q(2027, 4));
}

fn dates(status: IssueStatus) -> IssueDates {
    IssueDates { status, accepted_on: None, progress_on: Vec::new(), escalated: None, actions: Vec::new() }
}

#[test]
fn an_issue_owes_quarterly_progress_from_its_acceptance_until_it_closes() {
    let rules = decree();
    let mut issue = dates(IssueStatus::Planned);
    issue.accepted_on = Some(date(2026, 11, 20));
    // Accepted in Q4: the Q4 report is due on 25 January.
    let on_due_day = rules.issue_deadlines(&issue, date(2027, 1, 25));
    assert_eq!(on_due_day.progress_due, Some(date(2027, 1, 25)));
    assert!(!on_due_day.progress_overdue && !on_due_day.overdue);
    let day_after = rules.issue_deadlines(&issue, date(2027, 1, 26));
    assert!(day_after.progress_overdue && day_after.overdue);
    // A report on 20 January settles Q4; Q1 is due on 25 April.
    issue.progress_on.push(date(2027, 1, 20));
    let reported = rules.issue_deadlines(&issue, date(2027, 1, 26));
    assert_eq!(reported.progress_due, Some(date(2027, 4, 25)));
    assert!(!reported.overdue);
    // New issues and closed ones owe nothing.
    for status in [IssueStatus::New, IssueStatus::Resolved, IssueStatus::Rejected] {
        let mut closed = issue.clone();
        closed.status = status;
        closed.progress_on.clear();
        assert_eq!(rules.issue_deadlines(&closed, date(2028, 1, 1)).progress_due, None, "{status}");
    }
}

#[test]
fn an_open_action_item_past_its_deadline_makes_the_issue_overdue() {
    let rules = decree();
    let mut issue = dates(IssueStatus::InProgress);
    issue.actions = vec![
        ActionDeadline { deadline: date(2027, 3, 31), done: false },
        ActionDeadline { deadline: date(2027, 2, 28), done: true },
        ActionDeadline { deadline: date(2027, 6, 30), done: false },
    ];
    let on_deadline = rules.issue_deadlines(&issue, date(2027, 3, 31));
    assert_eq!((on_deadline.actions_overdue, on_deadline.next_action_deadline), (0, Some(date(2027, 3, 31))));
    let after = rules.issue_deadlines(&issue, date(2027, 4, 1));
    assert_eq!(after.actions_overdue, 1);
    assert!(after.overdue);
    issue.status = IssueStatus::Resolved;
    assert!(!rules.issue_deadlines(&issue, date(2027, 7, 1)).overdue);
}

#[test]
fn central_issues_are_due_at_the_next_collection_and_periods_are_half_years() {
    let rules = decree();
    let mut issue = dates(IssueStatus::Escalated);
    issue.escalated = Some((EscalationLevel::Central, date(2026, 11, 27)));
    assert_eq!(
        rules.issue_deadlines(&issue, date(2026, 11, 27)).central_collection_due,
        Some(date(2027, 2, 15))
    );
    issue.escalated = Some((EscalationLevel::Oblast, date(2026, 11, 27)));
    assert_eq!(rules.issue_deadlines(&issue, date(2026, 11, 27)).central_collection_due, None);
    assert_eq!(collection_period_start(&rules, date(2027, 2, 15)), date(2026, 8, 16));
    assert_eq!(collection_period_start(&rules, date(2027, 8, 15)), date(2027, 2, 16));
}

#[test]
fn only_live_questions_and_issues_taken_up_are_public() {
    assert!(publicly_listed(IssueStatus::New, true, false));
    assert!(!publicly_listed(IssueStatus::New, false, false));
    assert!(publicly_listed(IssueStatus::Accepted, false, false));
    assert!(!publicly_listed(IssueStatus::Accepted, true, true));
}

fn context() -> ImportContext {
    ImportContext {
        categories: ["roads".to_owned()].into(),
        territory_katos: ["751110000".to_owned()].into(),
        meetings: [1].into(),
    }
}

fn row(external_id: &str) -> RawImportRow {
    RawImportRow {
        channel: Some("opendata".into()),
        external_id: Some(external_id.into()),
        title: Some("Яма на улице Абая".into()),
        ..RawImportRow::default()
    }
}

#[test]
fn an_import_reports_every_bad_row_and_keeps_nothing() {
    let good = row("a-1");
    let mut no_title = row("a-2");
    no_title.title = Some("  ".into());
    let mut bad_refs = row("a-3");
    bad_refs.category = Some("weather".into());
    bad_refs.supporters = Some("0".into());
    bad_refs.received_at = Some("yesterday".into());
    let repeated = row("a-1");
    let errors = check_rows(&[good.clone(), no_title, bad_refs, repeated], &context()).expect_err("bad rows");
    let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(
        found,
        [(2, "title"), (3, "category"), (3, "supporters"), (3, "received_at"), (4, "external_id")]
    );
    let mut full = good;
    full.territory_kato = Some("751110000".into());
    full.meeting_id = Some("1".into());
    full.supporters = Some("12".into());
    full.received_at = Some("2026-11-01T10:00:00+05:00".into());
    let rows = check_rows(&[full], &context()).expect("a good row");
    assert_eq!((rows[0].supporters, rows[0].meeting_id), (12, Some(1)));
}

proptest! {
    /// Whatever day a report is published, it covers a quarter whose deadline it meets, and no
    /// earlier quarter's deadline is still open that day.
    #[test]
    fn a_report_meets_the_deadline_of_the_quarter_it_covers(days in 0i64..20_000) {
        let rules = decree();
        let on = date(2000, 1, 1).checked_add(days.days()).expect("in range");
        let quarter = rules.quarter_reported_on(on);
        prop_assert!(on <= rules.progress_due(quarter));
        prop_assert!(on > rules.progress_due(quarter.previous()));
    }
}

#[test]
fn an_issue_is_planned_only_with_an_action_plan() {
    use kezdesu_core::issues::workflow::check_plan;
    assert_eq!(check_plan(IssueStatus::Planned, 0), Err(WorkflowError::PlanRequired));
    assert_eq!(check_plan(IssueStatus::Planned, 1), Ok(()));
    for other in IssueStatus::ALL.into_iter().filter(|status| *status != IssueStatus::Planned) {
        assert_eq!(check_plan(other, 0), Ok(()), "{other}");
    }
}
