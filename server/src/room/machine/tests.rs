//! The room's phase orchestration in simulated time: plain values in, outputs checked, no
//! sleep, no store, no runtime.

use super::*;
use kezdesu_core::timer::ChangeCause;
use proptest::prelude::*;

fn t0() -> Timestamp {
    "2026-12-07T10:00:00Z".parse().expect("a timestamp")
}

fn at(millis: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_millis(millis)).expect("in range")
}

fn share(numerator: u32, denominator: u32) -> Share {
    Share::new(numerator, denominator).expect("a valid share")
}

/// A one-minute meeting held under 1/60: a one-second presentation, as in the integration tests.
fn scheduled() -> Plan {
    Plan { planned_minutes: 1, share: share(1, 60), phases: PhaseRecord::default(), cancelled: false }
}

/// A sixty-minute meeting under 1/4 whose presentation began at `t0`: due at `t0 + 15 min`.
fn presenting_since_t0() -> Plan {
    Plan {
        planned_minutes: 60,
        share: share(1, 4),
        phases: PhaseRecord { presentation_started_at: Some(t0()), ..PhaseRecord::default() },
        cancelled: false,
    }
}

const FIFTEEN_MINUTES: i64 = 15 * 60_000;

fn drain(machine: &mut RoomMachine) -> Vec<Output> {
    std::iter::from_fn(|| machine.poll_output()).collect()
}

fn phase_event(seq: u64, at: Timestamp, phase: Phase, cause: ChangeCause) -> StoredEvent {
    StoredEvent { seq, at, event: LiveEvent::PhaseChanged { phase, cause } }
}

#[test]
fn the_switch_is_not_due_a_millisecond_early_and_is_stamped_exactly_at_the_deadline() {
    let mut machine = RoomMachine::new(presenting_since_t0(), true);
    assert_eq!(machine.next_deadline(), Some(at(FIFTEEN_MINUTES)));

    machine.handle(Input::Timeout, at(FIFTEEN_MINUTES - 1));
    assert_eq!(drain(&mut machine), vec![], "nothing is due before the deadline");

    // Woken late (a busy room, a slow store): the switch is still stamped at the deadline.
    machine.handle(Input::Timeout, at(FIFTEEN_MINUTES + 700));
    assert_eq!(drain(&mut machine), vec![Output::ReadMeeting]);
    assert_eq!(machine.next_deadline(), None, "a write in flight wakes the machine itself");
    machine.handle(Input::Read { plan: presenting_since_t0(), last_seq: 7 }, at(FIFTEEN_MINUTES + 710));
    let qa = phase_event(8, at(FIFTEEN_MINUTES), Phase::Qa, ChangeCause::BudgetSpent);
    let phases = PhaseRecord { qa_started_at: Some(at(FIFTEEN_MINUTES)), ..presenting_since_t0().phases };
    assert_eq!(
        drain(&mut machine),
        vec![Output::Commit { events: vec![qa.clone()], phases, share: share(1, 4) }]
    );
    machine.handle(Input::Committed, at(FIFTEEN_MINUTES + 720));
    let change = PhaseChange { phase: Phase::Qa, at: at(FIFTEEN_MINUTES), cause: ChangeCause::BudgetSpent };
    assert_eq!(
        drain(&mut machine),
        vec![
            Output::Announce { events: vec![qa], changes: vec![change] },
            Output::Finished { kind: WriteKind::Automatic, result: Ok(vec![change]) },
        ]
    );
    assert_eq!(machine.phase(), Phase::Qa);
    assert_eq!(machine.next_deadline(), None, "Q&A ends only when asked");
}

#[test]
fn a_requested_phase_is_committed_then_announced_then_answered() {
    let mut machine = RoomMachine::new(scheduled(), true);
    assert_eq!(machine.next_deadline(), None, "a scheduled meeting has nothing due");
    machine.handle(Input::Apply { target: Some(Phase::Presentation) }, at(0));
    assert_eq!(drain(&mut machine), vec![Output::ReadMeeting]);
    machine.handle(Input::Read { plan: scheduled(), last_seq: 0 }, at(5));
    let started = phase_event(1, at(5), Phase::Presentation, ChangeCause::Requested);
    let phases = PhaseRecord { presentation_started_at: Some(at(5)), ..PhaseRecord::default() };
    assert_eq!(
        drain(&mut machine),
        vec![Output::Commit { events: vec![started.clone()], phases, share: share(1, 60) }]
    );
    machine.handle(Input::Committed, at(9));
    let change = PhaseChange { phase: Phase::Presentation, at: at(5), cause: ChangeCause::Requested };
    assert_eq!(
        drain(&mut machine),
        vec![
            Output::Announce { events: vec![started], changes: vec![change] },
            Output::Finished { kind: WriteKind::Requested, result: Ok(vec![change]) },
        ]
    );
    assert_eq!(machine.next_deadline(), Some(at(1005)), "one second of presentation");
}

/// What `subscribers_hear_each_phase_change_as_it_happens` waited a real second for.
#[test]
fn subscribers_hear_the_requested_change_and_then_the_automatic_one_at_its_deadline() {
    let mut world = World::new(scheduled());
    world.apply(Some(Phase::Presentation));
    world.advance_to(at(999));
    world.timeout();
    world.advance_to(at(1000));
    world.timeout();
    let heard: Vec<(Phase, ChangeCause, Timestamp)> =
        world.announced.iter().map(|change| (change.phase, change.cause, change.at)).collect();
    assert_eq!(
        heard,
        vec![
            (Phase::Presentation, ChangeCause::Requested, at(0)),
            (Phase::Qa, ChangeCause::BudgetSpent, at(1000)),
        ]
    );
    assert_eq!(world.store.phases.qa_started_at, Some(at(1000)));
}

/// What `a_restart_mid_presentation_resumes_the_same_phase_and_deadline` waited three real
/// seconds for: a room opened on the stored record sleeps until the stored deadline.
#[test]
fn a_room_opened_mid_presentation_switches_at_the_stored_deadline() {
    let mut world = World::new(presenting_since_t0());
    // The room opens five minutes in (a restart): nothing is due yet.
    world.advance_to(at(5 * 60_000));
    world.apply(None);
    assert_eq!(world.machine.phase(), Phase::Presentation);
    assert_eq!(world.machine.next_deadline(), Some(at(FIFTEEN_MINUTES)));
    world.advance_to(at(FIFTEEN_MINUTES));
    world.timeout();
    assert_eq!(world.store.phases.qa_started_at, Some(at(FIFTEEN_MINUTES)));
}

/// What `a_switch_that_fell_due_while_the_server_was_down_is_applied_at_start` slept for.
#[test]
fn a_switch_that_fell_due_while_no_room_ran_is_applied_when_one_opens() {
    let mut world = World::new(presenting_since_t0());
    world.advance_to(at(FIFTEEN_MINUTES + 3_600_000));
    // Opening applies what is due before anyone asks, with no timeout needed.
    world.apply(None);
    assert_eq!(world.store.phases.qa_started_at, Some(at(FIFTEEN_MINUTES)));
    assert_eq!(
        world.finished,
        vec![Ok(vec![PhaseChange {
            phase: Phase::Qa,
            at: at(FIFTEEN_MINUTES),
            cause: ChangeCause::BudgetSpent,
        }])]
    );
}

#[test]
fn asking_to_end_after_the_deadline_applies_the_due_switch_first() {
    let mut world = World::new(presenting_since_t0());
    world.advance_to(at(FIFTEEN_MINUTES + 60_000));
    world.apply(Some(Phase::Ended));
    let heard: Vec<(Phase, ChangeCause)> =
        world.announced.iter().map(|change| (change.phase, change.cause)).collect();
    assert_eq!(heard, vec![(Phase::Qa, ChangeCause::BudgetSpent), (Phase::Ended, ChangeCause::Requested)]);
    assert_eq!(world.committed_seqs, vec![vec![1, 2]], "both in one transaction");
}

#[test]
fn a_failed_commit_is_never_announced_and_the_switch_is_tried_again_a_moment_later() {
    let mut machine = RoomMachine::new(presenting_since_t0(), true);
    machine.handle(Input::Timeout, at(FIFTEEN_MINUTES));
    machine.handle(Input::Read { plan: presenting_since_t0(), last_seq: 0 }, at(FIFTEEN_MINUTES));
    machine.handle(Input::Failed, at(FIFTEEN_MINUTES + 30));
    let outputs = drain(&mut machine);
    assert!(!outputs.iter().any(|output| matches!(output, Output::Announce { .. })), "{outputs:?}");
    assert_eq!(
        outputs.last(),
        Some(&Output::Finished { kind: WriteKind::Automatic, result: Err(Refusal::Failed) })
    );
    assert_eq!(machine.phase(), Phase::Presentation, "nothing committed, nothing changed");
    // The room keeps serving meanwhile; it is woken again 200 ms after the failure.
    assert_eq!(machine.next_deadline(), Some(at(FIFTEEN_MINUTES + 230)));
    machine.handle(Input::Timeout, at(FIFTEEN_MINUTES + 229));
    assert_eq!(drain(&mut machine), vec![]);
    machine.handle(Input::Timeout, at(FIFTEEN_MINUTES + 230));
    assert_eq!(drain(&mut machine), vec![Output::ReadMeeting]);
}

#[test]
fn a_conflict_reads_again_and_gives_up_after_five_attempts() {
    let mut machine = RoomMachine::new(scheduled(), true);
    machine.handle(Input::Apply { target: Some(Phase::Presentation) }, at(0));
    let mut reads = 0;
    loop {
        let outputs = drain(&mut machine);
        match outputs.as_slice() {
            [Output::ReadMeeting] => {
                reads += 1;
                machine.handle(Input::Read { plan: scheduled(), last_seq: 0 }, at(reads));
            }
            [Output::Commit { .. }] => machine.handle(Input::Conflict, at(reads)),
            [Output::Finished { kind: WriteKind::Requested, result }] => {
                assert_eq!(result, &Err(Refusal::Conflict));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(reads, WRITE_ATTEMPTS as i64);
}

#[test]
fn a_taken_seq_catches_up_and_numbers_after_the_other_writer() {
    let mut machine = RoomMachine::new(presenting_since_t0(), true);
    machine.handle(Input::Apply { target: Some(Phase::Qa) }, at(1000));
    assert_eq!(drain(&mut machine), vec![Output::ReadMeeting]);
    machine.handle(Input::Read { plan: presenting_since_t0(), last_seq: 4 }, at(1000));
    machine.handle(Input::Taken, at(1001));
    assert!(matches!(drain(&mut machine).as_slice(), [Output::Commit { .. }, Output::CatchUp]));
    machine.handle(Input::CaughtUp, at(1002));
    assert_eq!(drain(&mut machine), vec![Output::ReadMeeting]);
    machine.handle(Input::Read { plan: presenting_since_t0(), last_seq: 6 }, at(1003));
    match drain(&mut machine).as_slice() {
        [Output::Commit { events, .. }] => assert_eq!(events[0].seq, 7),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn refusals_are_answered_and_nothing_is_committed() {
    let cancelled = Plan { cancelled: true, ..scheduled() };
    let mut machine = RoomMachine::new(cancelled, true);
    machine.handle(Input::Apply { target: Some(Phase::Presentation) }, at(0));
    machine.handle(Input::Read { plan: cancelled, last_seq: 0 }, at(0));
    assert_eq!(
        drain(&mut machine),
        vec![
            Output::ReadMeeting,
            Output::Finished { kind: WriteKind::Requested, result: Err(Refusal::Cancelled) }
        ]
    );
    let mut machine = RoomMachine::new(scheduled(), true);
    machine.handle(Input::Apply { target: Some(Phase::Ended) }, at(0));
    machine.handle(Input::Read { plan: scheduled(), last_seq: 0 }, at(0));
    assert_eq!(
        drain(&mut machine).last(),
        Some(&Output::Finished {
            kind: WriteKind::Requested,
            result: Err(Refusal::Transition(TransitionError::EndBeforeStart))
        })
    );
}

#[test]
fn a_mirror_never_switches_until_it_writes() {
    let mut machine = RoomMachine::new(presenting_since_t0(), false);
    assert_eq!(machine.next_deadline(), None);
    machine.handle(Input::Timeout, at(FIFTEEN_MINUTES + 1));
    assert_eq!(drain(&mut machine), vec![]);
    // It took the lease over: the switch that fell due is now its to apply.
    machine.handle(Input::Writes(true), at(FIFTEEN_MINUTES + 2));
    assert_eq!(machine.next_deadline(), Some(at(FIFTEEN_MINUTES)));
    machine.handle(Input::Timeout, at(FIFTEEN_MINUTES + 2));
    assert_eq!(drain(&mut machine), vec![Output::ReadMeeting]);
}

#[test]
fn requests_that_come_during_a_write_are_answered_in_order_after_it() {
    let mut world = World::new(scheduled());
    world.machine.handle(Input::Apply { target: Some(Phase::Presentation) }, at(0));
    world.machine.handle(Input::Apply { target: Some(Phase::Qa) }, at(0));
    world.machine.handle(Input::Apply { target: Some(Phase::Ended) }, at(0));
    world.run_outputs();
    let phases: Vec<Phase> =
        world.finished.iter().map(|result| result.as_ref().expect("each applies")[0].phase).collect();
    assert_eq!(phases, vec![Phase::Presentation, Phase::Qa, Phase::Ended]);
}

/// The rule that keeps this part pure: no clock, no runtime, no store, no channel.
#[test]
fn the_machine_reads_no_clock_and_does_no_io() {
    // The code, not the comments, which may say what it must not do.
    let source: String = include_str!("../machine.rs")
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for word in [
        "::now(",
        "tokio",
        "crate::",
        "super::",
        "dyn Store",
        "mpsc",
        "oneshot",
        ".await",
        "async ",
        "std::time",
    ] {
        assert!(!source.contains(word), "room/machine.rs uses `{word}`");
    }
}

/// How the simulated store answers the next output that asks for an answer.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Ok,
    Conflict,
    Taken,
    Failed,
}

/// The machine, a store made of plain values, and simulated time; it answers every output at
/// once and checks the invariants as it goes.
struct World {
    machine: RoomMachine,
    store: Plan,
    /// The store's log's last `seq`.
    last_seq: u64,
    now: Timestamp,
    /// How the store answers, in turn; `Ok` once they run out.
    outcomes: VecDeque<Outcome>,
    /// The events of a commit the store answered `Committed` and nobody announced yet.
    confirmed: Option<Vec<StoredEvent>>,
    announced: Vec<PhaseChange>,
    announced_seqs: Vec<u64>,
    committed_seqs: Vec<Vec<u64>>,
    finished: Vec<Result<Vec<PhaseChange>, Refusal>>,
    requested: usize,
}

impl World {
    fn new(plan: Plan) -> World {
        World {
            machine: RoomMachine::new(plan, true),
            store: plan,
            last_seq: 0,
            now: t0(),
            outcomes: VecDeque::new(),
            confirmed: None,
            announced: Vec::new(),
            announced_seqs: Vec::new(),
            committed_seqs: Vec::new(),
            finished: Vec::new(),
            requested: 0,
        }
    }

    fn advance_to(&mut self, now: Timestamp) {
        assert!(now >= self.now);
        self.now = now;
    }

    fn timeout(&mut self) {
        let idle = self.machine.write.is_none();
        self.machine.handle(Input::Timeout, self.now);
        let due = self.store.timer().expect("consistent").next_deadline();
        if idle && due.is_none_or(|due| self.now < due) {
            assert!(self.machine.outputs.is_empty(), "a write started before its deadline");
        }
        self.run_outputs();
    }

    fn apply(&mut self, target: Option<Phase>) {
        self.requested += 1;
        self.machine.handle(Input::Apply { target }, self.now);
        self.run_outputs();
    }

    fn outcome(&mut self) -> Outcome {
        self.outcomes.pop_front().unwrap_or(Outcome::Ok)
    }

    /// Does what the machine asks, as the driver would, checking each step.
    fn run_outputs(&mut self) {
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::ReadMeeting => {
                    let input = match self.outcome() {
                        Outcome::Failed => Input::Failed,
                        _ => Input::Read { plan: self.store, last_seq: self.last_seq },
                    };
                    self.machine.handle(input, self.now);
                }
                Output::Commit { events, phases, share } => {
                    // Gap-free: a commit numbers its events right after the store's last.
                    let seqs: Vec<u64> = events.iter().map(|event| event.seq).collect();
                    let expected: Vec<u64> = (self.last_seq + 1..).take(events.len()).collect();
                    assert_eq!(seqs, expected, "a commit's seqs follow the log's");
                    let deadline = self.store.timer().expect("consistent").next_deadline();
                    for event in &events {
                        if let LiveEvent::PhaseChanged { cause: ChangeCause::BudgetSpent, .. } = event.event {
                            // Exactly at the timer's deadline, and never decided before it.
                            assert_eq!(Some(event.at), deadline);
                            assert!(self.now >= event.at, "switched before the deadline");
                        }
                    }
                    let input = match self.outcome() {
                        Outcome::Ok => {
                            SessionTimer::new(self.store.planned_minutes, share, phases)
                                .expect("the machine commits only consistent records");
                            self.store.phases = phases;
                            self.store.share = share;
                            self.last_seq += events.len() as u64;
                            self.committed_seqs.push(seqs);
                            self.confirmed = Some(events);
                            Input::Committed
                        }
                        Outcome::Conflict => Input::Conflict,
                        Outcome::Taken => {
                            // Another writer's comment took the number.
                            self.last_seq += 1;
                            Input::Taken
                        }
                        Outcome::Failed => Input::Failed,
                    };
                    self.machine.handle(input, self.now);
                }
                Output::CatchUp => {
                    let input = match self.outcome() {
                        Outcome::Failed => Input::Failed,
                        _ => Input::CaughtUp,
                    };
                    self.machine.handle(input, self.now);
                }
                Output::Announce { events, changes } => {
                    // Committed before announced: exactly what the store confirmed, once.
                    let confirmed = self.confirmed.take().expect("announced what no commit confirmed");
                    assert_eq!(events, confirmed);
                    assert_eq!(events.len(), changes.len());
                    self.announced_seqs.extend(events.iter().map(|event| event.seq));
                    self.announced.extend(changes);
                }
                Output::Finished { kind, result } => {
                    assert!(self.confirmed.is_none(), "answered before announcing");
                    if kind == WriteKind::Requested {
                        self.finished.push(result);
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Wait(i64),
    Timeout,
    Apply(Option<Phase>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0i64..120_000).prop_map(Step::Wait),
        Just(Step::Timeout),
        prop::option::of(prop_oneof![
            Just(Phase::Scheduled),
            Just(Phase::Presentation),
            Just(Phase::Qa),
            Just(Phase::Ended)
        ])
        .prop_map(Step::Apply),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        6 => Just(Outcome::Ok),
        1 => Just(Outcome::Conflict),
        1 => Just(Outcome::Taken),
        1 => Just(Outcome::Failed),
    ]
}

proptest! {
    /// Random commands, store answers and waits, in simulated time: every announced event was
    /// committed first, the log stays gap-free, the switch is never early and lands exactly on
    /// the deadline, each request gets one answer, and the room always knows when to wake.
    #[test]
    fn committed_before_announced_and_never_early(
        planned_minutes in 1u32..=120,
        denominator in 1u32..=60,
        steps in prop::collection::vec(step(), 1..40),
        outcomes in prop::collection::vec(outcome(), 0..40),
    ) {
        let plan = Plan { share: share(1, denominator), planned_minutes, ..scheduled() };
        let mut world = World::new(plan);
        world.outcomes = outcomes.into();
        for step in steps {
            match step {
                Step::Wait(millis) => {
                    let later = world.now.checked_add(SignedDuration::from_millis(millis)).expect("in range");
                    world.advance_to(later);
                }
                Step::Timeout => world.timeout(),
                Step::Apply(target) => world.apply(target),
            }
            prop_assert!(world.machine.write.is_none(), "every write ends once its outputs are done");
            // A presentation under way always has a deadline to wake the room at, never an
            // earlier one than the timer's.
            let due = world.store.timer().expect("consistent").next_deadline();
            match (due, world.machine.next_deadline()) {
                (Some(due), Some(wake)) => prop_assert!(wake >= due),
                (None, None) => {}
                (due, wake) => prop_assert!(false, "timer due {due:?}, woken {wake:?}"),
            }
        }
        prop_assert_eq!(world.finished.len(), world.requested);
        let expected: Vec<u64> = (1..).take(world.announced_seqs.len()).collect();
        let announced_phases: Vec<u64> = world.committed_seqs.concat();
        prop_assert_eq!(&world.announced_seqs, &announced_phases);
        // Only phase events in this world, with no other writer's between, except a taken seq.
        prop_assert!(world.announced_seqs.iter().zip(expected.iter()).all(|(seq, first)| seq >= first));
        prop_assert!(world.announced_seqs.windows(2).all(|pair| pair[0] < pair[1]));

        // Liveness: with the store answering again, a room woken after the deadline switches.
        world.outcomes.clear();
        if let Some(due) = world.machine.next_deadline() {
            world.advance_to(due.max(world.now));
            world.timeout();
            prop_assert_ne!(world.machine.phase(), Phase::Presentation);
        }
    }
}
