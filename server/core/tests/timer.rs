//! The session timer, driven with plain instants: `t0 + 31 min`, no sleeps, no clock.

use jiff::{SignedDuration, Timestamp};
use kezdesu_core::Share;
use kezdesu_core::timer::{ChangeCause, Phase, PhaseRecord, SessionTimer, TransitionError};
use proptest::prelude::*;

fn t0() -> Timestamp {
    "2026-03-02T10:00:00+05:00".parse().expect("valid instant")
}

fn at(minutes: f64) -> Timestamp {
    t0() + SignedDuration::from_secs_f64(minutes * 60.0)
}

fn quarter() -> Share {
    Share::new(1, 4).expect("valid share")
}

fn sixty_minute_meeting() -> SessionTimer {
    SessionTimer::new(60, quarter(), PhaseRecord::default()).expect("empty record is consistent")
}

#[test]
fn presentation_switches_to_qa_when_its_quarter_is_spent() {
    let mut timer = sixty_minute_meeting();
    assert_eq!(timer.phase(), Phase::Scheduled);
    assert_eq!(timer.next_deadline(), None);

    let changes = timer.enter(Phase::Presentation, at(0.0)).expect("may start");
    assert_eq!(changes.len(), 1);
    assert_eq!(timer.presentation_ends_at(), Some(at(15.0)));
    assert_eq!(timer.next_deadline(), Some(at(15.0)));

    assert_eq!(timer.advance(at(14.99)), None);
    assert_eq!(timer.phase(), Phase::Presentation);

    let change = timer.advance(at(31.0)).expect("budget spent");
    assert_eq!(change.phase, Phase::Qa);
    assert_eq!(change.cause, ChangeCause::BudgetSpent);
    // Recorded at the instant it fell due, not when it was noticed.
    assert_eq!(change.at, at(15.0));
    assert_eq!(timer.phase_started_at(), Some(at(15.0)));
    assert_eq!(timer.next_deadline(), None);
}

#[test]
fn requesting_a_phase_applies_a_due_switch_first() {
    let mut timer = sixty_minute_meeting();
    timer.enter(Phase::Presentation, at(0.0)).expect("may start");
    let changes = timer.enter(Phase::Ended, at(61.0)).expect("may end");
    let phases: Vec<_> = changes.iter().map(|c| (c.phase, c.at, c.cause)).collect();
    assert_eq!(
        phases,
        vec![
            (Phase::Qa, at(15.0), ChangeCause::BudgetSpent),
            (Phase::Ended, at(61.0), ChangeCause::Requested)
        ]
    );
    let compliance = timer.compliance().expect("ended");
    assert_eq!(compliance.presentation_seconds, 15.0 * 60.0);
    assert_eq!(compliance.qa_seconds, 46.0 * 60.0);
    assert_eq!(compliance.presentation_budget_seconds, 15.0 * 60.0);
    assert!(compliance.split_kept);
}

#[test]
fn there_is_no_way_back() {
    let mut timer = sixty_minute_meeting();
    assert_eq!(timer.enter(Phase::Ended, at(0.0)), Err(TransitionError::EndBeforeStart));
    timer.enter(Phase::Qa, at(1.0)).expect("may skip the presentation");
    assert_eq!(
        timer.enter(Phase::Presentation, at(2.0)),
        Err(TransitionError::Backwards { from: Phase::Qa, to: Phase::Presentation })
    );
    assert_eq!(timer.enter(Phase::Scheduled, at(2.0)), Err(TransitionError::Unschedule));
    // Asking again for the current phase is a harmless retry.
    assert_eq!(timer.enter(Phase::Qa, at(3.0)), Ok(vec![]));
    assert_eq!(timer.phase_started_at(), Some(at(1.0)));
}

#[test]
fn a_failed_request_changes_nothing() {
    let mut timer = sixty_minute_meeting();
    timer.enter(Phase::Presentation, at(0.0)).expect("may start");
    let before = timer;
    // At 20 minutes the switch to Q&A is due, but the request fails, so nothing is applied.
    assert!(timer.enter(Phase::Scheduled, at(20.0)).is_err());
    assert_eq!(timer, before);
}

#[test]
fn ending_during_the_presentation_breaks_the_split() {
    let mut timer = sixty_minute_meeting();
    timer.enter(Phase::Presentation, at(0.0)).expect("may start");
    timer.enter(Phase::Ended, at(10.0)).expect("may end");
    let compliance = timer.compliance().expect("ended");
    assert_eq!(compliance.presentation_seconds, 600.0);
    assert_eq!(compliance.qa_seconds, 0.0);
    assert!(!compliance.split_kept);
}

#[test]
fn a_short_qa_after_a_full_presentation_breaks_the_split() {
    let mut timer = sixty_minute_meeting();
    timer.enter(Phase::Presentation, at(0.0)).expect("may start");
    timer.enter(Phase::Ended, at(20.0)).expect("may end");
    assert!(!timer.compliance().expect("ended").split_kept, "15 min of 20 is more than a quarter");
}

#[test]
fn a_clock_that_steps_back_does_not_reorder_the_record() {
    let mut timer = sixty_minute_meeting();
    timer.enter(Phase::Presentation, at(10.0)).expect("may start");
    timer.enter(Phase::Qa, at(5.0)).expect("may switch");
    assert_eq!(timer.record().qa_started_at, Some(at(10.0)));
}

#[test]
fn inconsistent_records_are_refused() {
    let past_budget =
        PhaseRecord { presentation_started_at: Some(at(0.0)), qa_started_at: Some(at(16.0)), ended_at: None };
    assert!(SessionTimer::new(60, quarter(), past_budget).is_err());
    let backwards =
        PhaseRecord { presentation_started_at: Some(at(5.0)), qa_started_at: Some(at(1.0)), ended_at: None };
    assert!(SessionTimer::new(60, quarter(), backwards).is_err());
    let ended_only = PhaseRecord { ended_at: Some(at(5.0)), ..PhaseRecord::default() };
    assert!(SessionTimer::new(60, quarter(), ended_only).is_err());
}

/// One step of a session: a request for a phase, or just time passing (a tick).
#[derive(Debug, Clone)]
enum Step {
    Request(Phase),
    Tick,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Tick),
        prop_oneof![Just(Phase::Scheduled), Just(Phase::Presentation), Just(Phase::Qa), Just(Phase::Ended)]
            .prop_map(Step::Request),
    ]
}

/// Steps at arbitrary instants, mostly forward in time but sometimes back (a clock that steps).
fn session() -> impl Strategy<Value = (u32, Vec<(Step, i64)>)> {
    (1u32..=240, prop::collection::vec((step(), -60_000i64..=40 * 60_000), 0..24))
}

fn presentation_length(timer: &SessionTimer, now: Timestamp) -> SignedDuration {
    let record = timer.record();
    match record.presentation_started_at {
        None => SignedDuration::ZERO,
        Some(start) => {
            let end = record.qa_started_at.or(record.ended_at).unwrap_or(now.max(start));
            end.duration_since(start)
        }
    }
}

proptest! {
    #[test]
    fn presentation_never_exceeds_its_budget((minutes, steps) in session()) {
        let mut timer = SessionTimer::new(minutes, quarter(), PhaseRecord::default()).expect("empty");
        let mut now = t0();
        for (step, delta_millis) in steps {
            now += SignedDuration::from_millis(delta_millis);
            timer.advance(now);
            if let Step::Request(phase) = step {
                let _ = timer.enter(phase, now);
            }
            prop_assert!(presentation_length(&timer, now) <= timer.budget());
        }
    }

    #[test]
    fn phases_only_move_forward((minutes, steps) in session()) {
        let mut timer = SessionTimer::new(minutes, quarter(), PhaseRecord::default()).expect("empty");
        let mut now = t0();
        let mut seen = Phase::Scheduled;
        for (step, delta_millis) in steps {
            now += SignedDuration::from_millis(delta_millis);
            match step {
                Step::Tick => { timer.advance(now); }
                Step::Request(phase) => {
                    if let Ok(changes) = timer.enter(phase, now) {
                        for pair in changes.windows(2) {
                            prop_assert!(pair[0].phase < pair[1].phase);
                            prop_assert!(pair[0].at <= pair[1].at);
                        }
                    }
                }
            }
            prop_assert!(timer.phase() >= seen, "{:?} after {:?}", timer.phase(), seen);
            seen = timer.phase();
        }
    }

    /// A server that stops at any step, misses any number of ticks, and rebuilds its timer from
    /// the stored record ends up exactly where a server that never stopped is.
    #[test]
    fn rebuilding_from_the_record_equals_never_stopping(
        (minutes, steps) in session(),
        restarts in prop::collection::vec(any::<bool>(), 24),
    ) {
        let mut running = SessionTimer::new(minutes, quarter(), PhaseRecord::default()).expect("empty");
        let mut restarted = running;
        let mut now = t0();
        for (index, (step, delta_millis)) in steps.into_iter().enumerate() {
            now += SignedDuration::from_millis(delta_millis);
            running.advance(now);
            if restarts[index] {
                restarted = SessionTimer::new(minutes, quarter(), restarted.record()).expect("stored record is consistent");
            }
            restarted.advance(now);
            if let Step::Request(phase) = step {
                prop_assert_eq!(running.enter(phase, now), restarted.enter(phase, now));
            }
            prop_assert_eq!(running, restarted);
            prop_assert_eq!(running.presentation_ends_at(), restarted.presentation_ends_at());
            prop_assert_eq!(running.phase_started_at(), restarted.phase_started_at());
        }
    }

    #[test]
    fn the_switch_is_due_exactly_at_the_budget(minutes in 1u32..=480, numerator in 1u32..=4, extra in 4u32..=10) {
        let share = Share::new(numerator, numerator + extra).expect("valid");
        let mut timer = SessionTimer::new(minutes, share, PhaseRecord::default()).expect("empty");
        timer.enter(Phase::Presentation, t0()).expect("may start");
        let due = timer.presentation_ends_at().expect("started");
        prop_assert!(due > t0());
        prop_assert!(share.admits(due.duration_since(t0()).as_millis() as i64, i64::from(minutes) * 60_000));
        prop_assert_eq!(timer.advance(due - SignedDuration::from_millis(1)), None);
        prop_assert_eq!(timer.advance(due).map(|c| c.at), Some(due));
    }
}
