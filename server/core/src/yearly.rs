//! An akim's yearly calendar of meetings, as revisions.
//!
//! A revision is drafted, then agreed with the maslikhat (the day of its decision and the
//! decision's number), then submitted to the Government. A correction is a new revision, drafted
//! from the one in force, with its own agreement; every revision is kept. Only a draft changes.
//!
//! The functions here check the steps and the planned meetings with plain values: "today" is an
//! argument, and the territories a meeting may be held in are given.

use crate::TerritoryId;
use crate::calendar::{CalendarDeadlines, CalendarRules};
use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};

/// The most meetings one revision plans: a district akim with a hundred villages, four times.
pub const MAX_ENTRIES: usize = 2_000;
const MAX_PLACE_CHARS: usize = 300;
const MAX_LINK_CHARS: usize = 500;
const MAX_DECISION_CHARS: usize = 100;
const MAX_REASON_CHARS: usize = 1_000;

/// Where a revision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RevisionState {
    /// Being written; the only state in which the planned meetings change.
    Draft,
    /// Agreed with the maslikhat: in force, and frozen.
    Agreed,
    /// Sent to the Government.
    Submitted,
}

impl RevisionState {
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionState::Draft => "draft",
            RevisionState::Agreed => "agreed",
            RevisionState::Submitted => "submitted",
        }
    }

    pub fn parse(text: &str) -> Option<RevisionState> {
        [RevisionState::Draft, RevisionState::Agreed, RevisionState::Submitted]
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    /// Agreed or submitted: the calendar the akim works to.
    pub fn in_force(self) -> bool {
        self != RevisionState::Draft
    }
}

/// What a revision records about its approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub state: RevisionState,
    pub agreed_on: Option<Date>,
    pub maslikhat_decision: Option<String>,
    pub submitted_on: Option<Date>,
}

impl Approval {
    pub fn draft() -> Approval {
        Approval {
            state: RevisionState::Draft,
            agreed_on: None,
            maslikhat_decision: None,
            submitted_on: None,
        }
    }
}

/// A step of a revision's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalStep {
    /// The maslikhat agreed the draft on `on`, by decision number `decision`.
    Agree { on: Date, decision: String },
    /// The agreed calendar was sent to the Government on `on`.
    Submit { on: Date },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("only a draft is agreed; this revision is {0:?}. A correction is a new revision")]
    NotDraft(RevisionState),
    #[error("only an agreed revision is submitted; this one is {0:?}")]
    NotAgreed(RevisionState),
    #[error("the maslikhat's decision number must be 1 to {MAX_DECISION_CHARS} characters")]
    Decision,
    #[error("{0} cannot be a day that has not come yet")]
    InTheFuture(&'static str),
    #[error("a calendar is submitted on or after the day it was agreed ({agreed_on})")]
    BeforeAgreement { agreed_on: Date },
    #[error("the agreement must fall in the calendar's year or the year before it")]
    OutsideYear,
    #[error("a correction is agreed on or after the revision it corrects was ({previous})")]
    BeforePreviousAgreement { previous: Date },
}

/// Applies `step` to a revision of the calendar for `year`, on `today`. `previous_agreement` is
/// the day the revision before it was agreed, for a correction: a correction cannot be agreed
/// before what it corrects (nor move the year's approval date back).
pub fn approve(
    current: &Approval,
    step: ApprovalStep,
    year: i16,
    previous_agreement: Option<Date>,
    today: Date,
) -> Result<Approval, ApprovalError> {
    match step {
        ApprovalStep::Agree { on, decision } => {
            if current.state != RevisionState::Draft {
                return Err(ApprovalError::NotDraft(current.state));
            }
            let decision = crate::text::clean(&decision, MAX_DECISION_CHARS, false)
                .map_err(|_| ApprovalError::Decision)?;
            if on > today {
                return Err(ApprovalError::InTheFuture("the day of agreement"));
            }
            // A calendar is agreed late in the year before it at the earliest, and corrections
            // through its own year.
            if on.year() != year && on.year() != year.saturating_sub(1) {
                return Err(ApprovalError::OutsideYear);
            }
            if let Some(previous) = previous_agreement.filter(|previous| on < *previous) {
                return Err(ApprovalError::BeforePreviousAgreement { previous });
            }
            Ok(Approval {
                state: RevisionState::Agreed,
                agreed_on: Some(on),
                maslikhat_decision: Some(decision),
                submitted_on: None,
            })
        }
        ApprovalStep::Submit { on } => {
            let Some(agreed_on) = current.agreed_on.filter(|_| current.state == RevisionState::Agreed) else {
                return Err(ApprovalError::NotAgreed(current.state));
            };
            if on > today {
                return Err(ApprovalError::InTheFuture("the day of submission"));
            }
            if on < agreed_on {
                return Err(ApprovalError::BeforeAgreement { agreed_on });
            }
            Ok(Approval { state: RevisionState::Submitted, submitted_on: Some(on), ..current.clone() })
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorrectionError {
    #[error("revision {0} is still a draft: change it instead of starting another")]
    DraftOpen(u32),
    #[error("a reason is 1 to {MAX_REASON_CHARS} characters; a correction states one")]
    Reason,
}

/// Checks that a new revision may be started after the latest one (`None` for the first) and
/// cleans its reason. The first revision needs no reason; a correction does.
pub fn check_new_revision(
    latest: Option<(u32, RevisionState)>,
    reason: &str,
) -> Result<String, CorrectionError> {
    match latest {
        // The first revision needs no reason; one given is still checked.
        None if crate::text::clean(reason, MAX_REASON_CHARS, true) == Err(crate::text::TextError::Empty) => {
            Ok(String::new())
        }
        None => crate::text::clean(reason, MAX_REASON_CHARS, true).map_err(|_| CorrectionError::Reason),
        Some((number, RevisionState::Draft)) => Err(CorrectionError::DraftOpen(number)),
        Some(_) => crate::text::clean(reason, MAX_REASON_CHARS, true).map_err(|_| CorrectionError::Reason),
    }
}

/// A planned meeting of a calendar, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub territory: TerritoryId,
    pub on: Date,
    /// The local start time, when already known.
    pub starts_at: Option<Time>,
    pub place: String,
    /// Where the meeting is streamed; empty until known.
    pub online_link: String,
}

/// Why a planned meeting was refused; `index` is its 0-based position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("entries[{index}]: {problem}")]
pub struct EntryError {
    pub index: usize,
    pub problem: String,
}

/// Checks the planned meetings of a calendar for `year`: each in the year, in the akim's
/// territory (`covered`: the territory and everything inside it), with a place and, if given,
/// an http(s) link. Returns them cleaned, or every problem found.
pub fn check_entries(
    entries: Vec<Entry>,
    year: i16,
    covered: &[TerritoryId],
) -> Result<Vec<Entry>, Vec<EntryError>> {
    if entries.len() > MAX_ENTRIES {
        return Err(vec![EntryError {
            index: MAX_ENTRIES,
            problem: format!("a calendar plans at most {MAX_ENTRIES} meetings"),
        }]);
    }
    let mut errors = Vec::new();
    let mut cleaned = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let mut problem = |text: String| errors.push(EntryError { index, problem: text });
        if entry.on.year() != year {
            problem(format!("{} is not in {year}", entry.on));
        }
        if !covered.contains(&entry.territory) {
            problem(format!("territory {} is not the akim's territory or inside it", entry.territory.0));
        }
        let place = match crate::text::clean(&entry.place, MAX_PLACE_CHARS, false) {
            Ok(place) => place,
            Err(error) => {
                problem(format!("place {error}"));
                String::new()
            }
        };
        let online_link = entry.online_link.trim().to_owned();
        if !online_link.is_empty() && !is_web_link(&online_link) {
            problem(format!("online_link must be an http(s) address of at most {MAX_LINK_CHARS} characters"));
        }
        cleaned.push(Entry { place, online_link, ..entry });
    }
    if errors.is_empty() { Ok(cleaned) } else { Err(errors) }
}

/// An absolute http(s) address with a host and no white space or control characters: what a
/// page may safely show as a link.
pub fn is_web_link(text: &str) -> bool {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    text.chars().count() <= MAX_LINK_CHARS
        && !host.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\'))
}

/// One of the calendar's deadlines in one year: when it falls due, when it was done, and whether
/// it was met (`None` while it is neither done nor past).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadlineCheck {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub due: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub done_on: Option<Date>,
    pub met: Option<bool>,
}

impl DeadlineCheck {
    fn of(due: Date, done_on: Option<Date>, today: Date) -> DeadlineCheck {
        let met = match done_on {
            Some(done) => Some(done <= due),
            None if today > due => Some(false),
            None => None,
        };
        DeadlineCheck { due, done_on, met }
    }
}

/// Whether a year's calendar met the decree's deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadlineReport {
    /// Whether the rule set asks this akim's level for an approved calendar at all; the akims
    /// of oblasts, republican cities and the capital, in the shipped rules.
    pub required: bool,
    /// Approved, agreed with the maslikhat: by the first revision's agreement. `met` is null
    /// when the rule set does not ask this level for a calendar.
    pub approval: DeadlineCheck,
    /// Sent to the Government: by the first revision's submission.
    pub submission: DeadlineCheck,
    /// The Government forwards it to the Presidential Administration by this day; outside
    /// the akimat, so only shown.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub forwarding_due: Date,
}

/// The deadlines of `year`'s calendar, met by its first agreed and first submitted revisions
/// (`revisions` in order of their numbers). Corrections come later by design and count neither
/// for nor against them.
pub fn deadline_report(
    rules: &CalendarRules,
    required: bool,
    year: i16,
    revisions: &[Approval],
    today: Date,
) -> DeadlineReport {
    let CalendarDeadlines { approval, submission, forwarding } = rules.deadlines(year);
    let first_agreed = revisions.iter().find_map(|revision| revision.agreed_on);
    let first_submitted = revisions.iter().find_map(|revision| revision.submitted_on);
    let check = |due: Date, done_on: Option<Date>| {
        let check = DeadlineCheck::of(due, done_on, today);
        // A deadline the rule set does not set for this level is neither met nor missed.
        if required { check } else { DeadlineCheck { met: None, ..check } }
    };
    DeadlineReport {
        required,
        approval: check(approval, first_agreed),
        submission: check(submission, first_submitted),
        forwarding_due: forwarding,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn agree(on: Date) -> ApprovalStep {
        ApprovalStep::Agree { on, decision: "№ 12/3".into() }
    }

    #[test]
    fn a_revision_goes_draft_agreed_submitted_and_no_other_way() {
        let today = date(2027, 1, 18);
        let agreed =
            approve(&Approval::draft(), agree(date(2027, 1, 14)), 2027, None, today).expect("agreed");
        assert_eq!(agreed.state, RevisionState::Agreed);
        assert_eq!(agreed.maslikhat_decision.as_deref(), Some("№ 12/3"));
        assert_eq!(
            approve(&agreed, agree(date(2027, 1, 14)), 2027, None, today),
            Err(ApprovalError::NotDraft(RevisionState::Agreed))
        );
        assert_eq!(
            approve(&Approval::draft(), ApprovalStep::Submit { on: today }, 2027, None, today),
            Err(ApprovalError::NotAgreed(RevisionState::Draft))
        );
        assert_eq!(
            approve(&agreed, ApprovalStep::Submit { on: date(2027, 1, 13) }, 2027, None, today),
            Err(ApprovalError::BeforeAgreement { agreed_on: date(2027, 1, 14) })
        );
        assert_eq!(
            approve(&agreed, ApprovalStep::Submit { on: date(2027, 1, 19) }, 2027, None, today),
            Err(ApprovalError::InTheFuture("the day of submission"))
        );
        let submitted = approve(&agreed, ApprovalStep::Submit { on: date(2027, 1, 17) }, 2027, None, today)
            .expect("submitted");
        assert_eq!(
            (submitted.state, submitted.agreed_on),
            (RevisionState::Submitted, Some(date(2027, 1, 14)))
        );
        assert_eq!(
            approve(&submitted, ApprovalStep::Submit { on: today }, 2027, None, today),
            Err(ApprovalError::NotAgreed(RevisionState::Submitted))
        );
    }

    #[test]
    fn an_agreement_needs_a_decision_and_a_day_of_the_years_around_it() {
        let today = date(2027, 6, 1);
        let blank = ApprovalStep::Agree { on: today, decision: " \u{200B} ".into() };
        assert_eq!(approve(&Approval::draft(), blank, 2027, None, today), Err(ApprovalError::Decision));
        assert_eq!(
            approve(&Approval::draft(), agree(date(2025, 12, 30)), 2027, None, today),
            Err(ApprovalError::OutsideYear)
        );
        assert!(approve(&Approval::draft(), agree(date(2026, 12, 30)), 2027, None, today).is_ok());
        assert_eq!(
            approve(&Approval::draft(), agree(date(2027, 1, 9)), 2027, Some(date(2027, 1, 20)), today),
            Err(ApprovalError::BeforePreviousAgreement { previous: date(2027, 1, 20) })
        );
        assert_eq!(
            approve(&Approval::draft(), agree(date(2027, 6, 2)), 2027, None, today),
            Err(ApprovalError::InTheFuture("the day of agreement"))
        );
    }

    #[test]
    fn a_correction_waits_for_the_draft_and_states_why() {
        assert_eq!(check_new_revision(None, ""), Ok(String::new()));
        assert_eq!(check_new_revision(None, &"x".repeat(1001)), Err(CorrectionError::Reason));
        assert_eq!(
            check_new_revision(Some((1, RevisionState::Draft)), "x"),
            Err(CorrectionError::DraftOpen(1))
        );
        assert_eq!(check_new_revision(Some((1, RevisionState::Agreed)), "  "), Err(CorrectionError::Reason));
        assert_eq!(
            check_new_revision(Some((2, RevisionState::Submitted)), " Аул перенесён "),
            Ok("Аул перенесён".to_owned())
        );
    }

    #[test]
    fn entries_are_checked_all_at_once() {
        let inside = [TerritoryId(1), TerritoryId(2)];
        let entry = |territory: i64, on: Date, place: &str, link: &str| Entry {
            territory: TerritoryId(territory),
            on,
            starts_at: None,
            place: place.into(),
            online_link: link.into(),
        };
        let good = vec![entry(2, date(2027, 3, 1), " Дом культуры ", " https://example.kz/live ")];
        let cleaned = check_entries(good, 2027, &inside).expect("valid");
        assert_eq!(
            (cleaned[0].place.as_str(), cleaned[0].online_link.as_str()),
            ("Дом культуры", "https://example.kz/live")
        );
        let bad = vec![
            entry(1, date(2027, 3, 1), "Акимат", ""),
            entry(9, date(2028, 1, 1), " ", "javascript:alert(1)"),
        ];
        let errors = check_entries(bad, 2027, &inside).expect_err("invalid");
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors.iter().all(|error| error.index == 1));
    }

    #[test]
    fn links_are_plain_web_addresses() {
        assert!(is_web_link("https://youtube.com/live/abc?x=1"));
        assert!(is_web_link("http://10.0.0.1:8080/"));
        for bad in ["https://", "ftp://x", "https://a b", "https://x/\"onload", "//x.kz", "https:///path"] {
            assert!(!is_web_link(bad), "{bad}");
        }
    }

    #[test]
    fn deadlines_count_the_first_agreement_and_submission() {
        let rules: crate::RuleSet =
            toml::from_str(include_str!("../../../config/rules/kz-decree-826-2022.toml"))
                .expect("the shipped rules parse");
        let calendar = &rules.calendar;
        let agreed_late = Approval {
            state: RevisionState::Submitted,
            agreed_on: Some(date(2027, 1, 16)),
            maslikhat_decision: Some("1".into()),
            submitted_on: Some(date(2027, 1, 20)),
        };
        // Even a correction dated earlier does not make the first revision's agreement in time.
        let correction = Approval { agreed_on: Some(date(2027, 1, 10)), ..agreed_late.clone() };
        let report = deadline_report(calendar, true, 2027, &[agreed_late, correction], date(2027, 6, 1));
        assert_eq!(report.approval.met, Some(false));
        assert_eq!(report.approval.done_on, Some(date(2027, 1, 16)));
        assert_eq!(report.submission.met, Some(true));
        assert_eq!(report.forwarding_due, date(2027, 2, 1));
        let pending = deadline_report(calendar, true, 2027, &[Approval::draft()], date(2027, 1, 15));
        assert_eq!((pending.approval.met, pending.submission.met), (None, None));
        let missed = deadline_report(calendar, true, 2027, &[], date(2027, 1, 21));
        assert_eq!((missed.approval.met, missed.submission.met), (Some(false), Some(false)));
        let not_asked = deadline_report(calendar, false, 2027, &[], date(2027, 1, 21));
        assert_eq!((not_asked.approval.met, not_asked.submission.met), (None, None));
        assert_eq!(not_asked.approval.due, date(2027, 1, 15), "still shown");
    }
}
