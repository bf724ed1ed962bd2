//! The live channel's group commit in simulated time: plain values in, outputs checked, no
//! sleep, no store, no runtime.

use super::*;
use jiff::SignedDuration;
use kezdesu_core::{AccountId, Principal, Role};
use proptest::prelude::*;

const MEETING: MeetingId = MeetingId(7);

fn t0() -> Timestamp {
    "2026-12-07T10:00:00Z".parse().expect("a timestamp")
}

fn at(millis: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_millis(millis)).expect("in range")
}

/// Two comments at once, then one every ten seconds.
fn rate() -> RateRule {
    RateRule { interval: SignedDuration::from_secs(10), burst: 2 }
}

fn machine() -> LiveMachine {
    LiveMachine::new(
        LiveConfig { meeting: MEETING, settings: LiveSettings::default(), comment_rate: rate() },
        LiveState::default(),
    )
}

fn viewer(id: i64) -> Actor {
    Actor {
        principal: Principal::Viewer { viewer: ViewerId(id), meeting: MEETING },
        name: format!("Viewer {id}"),
    }
}

fn moderator() -> Actor {
    Actor {
        principal: Principal::Staff { account: AccountId(1), role: Role::Moderator },
        name: "Moderator".to_owned(),
    }
}

fn comment(client_id: &str, text: &str) -> LiveCommand {
    LiveCommand::Comment { client_id: client_id.to_owned(), text: text.to_owned() }
}

fn commands(commands: Vec<(Actor, LiveCommand)>) -> Input {
    Input::Commands { commands, phase: Phase::Qa }
}

fn drain(machine: &mut LiveMachine) -> Vec<Output> {
    std::iter::from_fn(|| machine.poll_output()).collect()
}

fn seqs(records: &[LiveEventRecord]) -> Vec<u64> {
    records.iter().map(|record| record.seq).collect()
}

/// The commit the outputs ask for, and what else they hold.
fn split_commit(outputs: Vec<Output>) -> (Option<Vec<LiveEventRecord>>, Vec<Output>) {
    let mut commit = None;
    let mut rest = Vec::new();
    for output in outputs {
        match output {
            Output::Commit { records, .. } => commit = Some(records),
            other => rest.push(other),
        }
    }
    (commit, rest)
}

#[test]
fn a_batch_is_committed_once_then_acknowledged_then_broadcast() {
    let mut machine = machine();
    machine.handle(
        commands(vec![
            (viewer(1), comment("a", "When is the road fixed?")),
            (viewer(2), comment("b", "Hello")),
        ]),
        at(0),
    );
    let (commit, rest) = split_commit(drain(&mut machine));
    let records = commit.expect("one commit for the batch");
    assert_eq!(seqs(&records), vec![1, 2]);
    assert_eq!(rest, vec![], "nothing is answered or announced before the commit is");

    machine.handle(Input::Committed, at(3));
    let outputs = drain(&mut machine);
    assert!(matches!(outputs[0], Output::Reply { to: 0, result: Ok(LiveReply::Posted { seq: 1, .. }) }));
    assert!(matches!(outputs[1], Output::Reply { to: 1, result: Ok(LiveReply::Posted { seq: 2, .. }) }));
    assert_eq!(outputs[2], Output::Broadcast { records, sent_back: vec![] });
    assert_eq!(outputs.len(), 3);
    assert_eq!(machine.state().last_seq, 2);
}

#[test]
fn a_failed_commit_is_never_broadcast_its_senders_get_unavailable_and_the_state_is_rebuilt() {
    let mut machine = machine();
    machine.handle(
        commands(vec![(viewer(1), comment("a", "First")), (viewer(1), comment("b", "Second"))]),
        at(0),
    );
    let (commit, _) = split_commit(drain(&mut machine));
    assert_eq!(seqs(&commit.expect("a commit")), vec![1, 2]);

    machine.handle(Input::Failed, at(5));
    assert_eq!(
        drain(&mut machine),
        vec![
            Output::Rebuild { committed: 0 },
            Output::Reply { to: 0, result: Err(LiveFailure::Unavailable) },
            Output::Reply { to: 1, result: Err(LiveFailure::Unavailable) },
        ]
    );
    // Until the state is rebuilt it may hold what the store does not: nothing is decided on it.
    machine.handle(commands(vec![(viewer(2), comment("c", "Third"))]), at(6));
    assert_eq!(drain(&mut machine), vec![Output::Reply { to: 0, result: Err(LiveFailure::Unavailable) }]);

    machine.handle(Input::Rebuilt(Box::default()), at(7));
    assert_eq!(machine.state().last_seq, 0);
    machine.handle(commands(vec![(viewer(2), comment("c", "Third"))]), at(8));
    let (commit, _) = split_commit(drain(&mut machine));
    assert_eq!(seqs(&commit.expect("a commit")), vec![1], "the failed batch's seqs are taken again");
}

#[test]
fn refusals_are_answered_at_once_and_commit_nothing() {
    let mut machine = machine();
    machine.handle(
        Input::Commands { commands: vec![(viewer(1), comment("a", "Too early"))], phase: Phase::Scheduled },
        at(0),
    );
    assert_eq!(
        drain(&mut machine),
        vec![Output::Reply { to: 0, result: Err(LiveFailure::Refused(LiveError::NotLive)) }]
    );
    machine.handle(commands(vec![(moderator(), comment("b", "Staff do not comment"))]), at(0));
    assert_eq!(
        drain(&mut machine),
        vec![Output::Reply { to: 0, result: Err(LiveFailure::Refused(LiveError::ViewersOnly)) }]
    );
}

#[test]
fn a_retried_comment_is_answered_with_its_first_ack_without_a_commit() {
    let mut machine = machine();
    machine.handle(commands(vec![(viewer(1), comment("a", "Once"))]), at(0));
    drain(&mut machine);
    machine.handle(Input::Committed, at(1));
    drain(&mut machine);
    machine.handle(commands(vec![(viewer(1), comment("a", "Once"))]), at(2));
    assert!(matches!(
        drain(&mut machine).as_slice(),
        [Output::Reply { to: 0, result: Ok(LiveReply::Posted { seq: 1, .. }) }]
    ));
}

#[test]
fn the_comment_rate_honours_simulated_time() {
    let mut machine = machine();
    let three = |client: &str| {
        (1..=3)
            .map(|n| (viewer(1), comment(&format!("{client}{n}"), &format!("Comment {client}{n}"))))
            .collect::<Vec<_>>()
    };
    machine.handle(commands(three("a")), at(0));
    let (commit, rest) = split_commit(drain(&mut machine));
    assert_eq!(seqs(&commit.expect("a commit")), vec![1, 2], "a burst of two");
    assert_eq!(
        rest,
        vec![Output::Reply {
            to: 2,
            result: Err(LiveFailure::Refused(LiveError::RateLimited {
                retry_after: SignedDuration::from_secs(10)
            }))
        }]
    );
    machine.handle(Input::Committed, at(1));
    drain(&mut machine);

    // A millisecond before the next token: refused; at it: taken.
    machine.handle(commands(vec![(viewer(1), comment("b", "Early"))]), at(9_999));
    assert!(matches!(
        drain(&mut machine).as_slice(),
        [Output::Reply { to: 0, result: Err(LiveFailure::Refused(LiveError::RateLimited { .. })) }]
    ));
    machine.handle(commands(vec![(viewer(1), comment("c", "On time"))]), at(10_000));
    let (commit, _) = split_commit(drain(&mut machine));
    assert_eq!(seqs(&commit.expect("a commit")), vec![3]);
    // Another viewer has a bucket of their own.
    machine.handle(Input::Committed, at(10_001));
    drain(&mut machine);
    machine.handle(commands(vec![(viewer(2), comment("d", "Mine"))]), at(10_002));
    assert!(split_commit(drain(&mut machine)).0.is_some());
}

#[test]
fn buckets_full_again_are_forgotten() {
    let mut machine = machine();
    machine.handle(commands(vec![(viewer(1), comment("a", "One"))]), at(0));
    drain(&mut machine);
    assert_eq!(machine.buckets.len(), 1);
    machine.trim_buckets(at(9_999));
    assert_eq!(machine.buckets.len(), 1);
    machine.trim_buckets(at(10_000));
    assert_eq!(machine.buckets.len(), 0);
}

#[test]
fn the_live_machine_reads_no_clock_and_does_no_io() {
    // The code, not the comments, which may say what it must not do.
    let source: String = include_str!("../live_machine.rs")
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for word in [
        "::now(",
        "tokio",
        "super::",
        "dyn Store",
        "Store>",
        "mpsc",
        "oneshot",
        ".await",
        "async ",
        "std::time",
        "tracing",
    ] {
        assert!(!source.contains(word), "room/live_machine.rs uses `{word}`");
    }
    // It names the crate only for the store's plain record types.
    let crate_uses: Vec<&str> = source.matches("crate::").collect();
    assert_eq!(crate_uses.len(), 1, "room/live_machine.rs names the crate beyond `use crate::store::{{…}}`");
    assert!(source.contains("use crate::store::{"));
}

/// One simulated step.
#[derive(Debug, Clone)]
enum Step {
    /// A batch: (viewer 1 to 4 or 0 for the moderator, client id 0 to 5, hide the n-th comment).
    Batch(Vec<(u8, u8, bool)>),
    /// Time passes by this many milliseconds.
    Wait(u16),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => prop::collection::vec((0u8..5, 0u8..6, any::<bool>()), 1..6).prop_map(Step::Batch),
        1 => (0u16..15_000).prop_map(Step::Wait),
    ]
}

/// The machine, a log made of plain values, and simulated time.
struct World {
    machine: LiveMachine,
    /// The store's log.
    log: Vec<LiveEventRecord>,
    now: Timestamp,
    /// Seqs broadcast so far.
    broadcast: BTreeSet<u64>,
    /// Each viewer's fresh comments that went into a commit, by the instant they were decided.
    comment_times: HashMap<i64, Vec<Timestamp>>,
}

impl World {
    fn last_seq(&self) -> u64 {
        self.log.last().map_or(0, |record| record.seq)
    }

    fn command(&self, (who, client, hide): (u8, u8, bool)) -> (Actor, LiveCommand) {
        if who == 0 {
            let comment = CommentId(i64::from(client) + 1);
            if hide {
                return (moderator(), LiveCommand::Hide { comment, reason: "spam".to_owned() });
            }
            return (moderator(), LiveCommand::Restore { comment });
        }
        (viewer(i64::from(who)), comment(&format!("c{who}-{client}"), &format!("Comment number {client}")))
    }

    /// Hands a batch in and answers every output, the store failing when `fail`.
    fn batch(&mut self, spec: Vec<(u8, u8, bool)>, fail: bool) {
        let batch: Vec<(Actor, LiveCommand)> = spec.into_iter().map(|spec| self.command(spec)).collect();
        let count = batch.len();
        self.machine.handle(commands(batch), self.now);
        let mut answered = vec![0usize; count];
        let decided = drain(&mut self.machine);
        let mut commit = None;
        for output in decided {
            match output {
                Output::Commit { records, .. } => {
                    assert!(commit.is_none(), "one commit per batch");
                    commit = Some(records);
                }
                Output::Reply { to, result } => {
                    answered[to] += 1;
                    if let Ok(reply) = result {
                        assert!(commit.is_none(), "acked before the commit was answered");
                        // Nothing to commit: the ack names only what the store holds.
                        let seq = match reply {
                            LiveReply::Posted { seq, .. } | LiveReply::Done { seq: Some(seq) } => seq,
                            LiveReply::Done { seq: None } => 0,
                        };
                        assert!(seq <= self.last_seq(), "an ack names seq {seq}, not committed");
                    }
                }
                other => panic!("{other:?} before the commit was answered"),
            }
        }
        let Some(records) = commit else {
            assert!(answered.iter().all(|count| *count == 1), "every command answered once: {answered:?}");
            return;
        };
        // The seq is gap-free over the log.
        let expected: Vec<u64> = (self.last_seq() + 1..).take(records.len()).collect();
        assert_eq!(seqs(&records), expected, "a batch continues the log without a gap");
        for record in &records {
            let stored: StoredEvent = serde_json::from_str(&record.body).expect("a stored event");
            assert_eq!(stored.at, self.now);
            if let LiveEvent::CommentPosted { author, .. } = stored.event {
                self.comment_times.entry(author.0).or_default().push(stored.at);
            }
        }
        self.now = self.now.checked_add(SignedDuration::from_millis(1)).expect("in range");
        if fail {
            self.machine.handle(Input::Failed, self.now);
        } else {
            self.log.extend(records.iter().cloned());
            self.machine.handle(Input::Committed, self.now);
        }
        let mut rebuilt = false;
        for output in drain(&mut self.machine) {
            match output {
                Output::Reply { to, result } => {
                    answered[to] += 1;
                    match result {
                        Ok(reply) => {
                            assert!(!fail, "acked after a failed commit");
                            if let LiveReply::Posted { seq, .. } | LiveReply::Done { seq: Some(seq) } = reply
                            {
                                assert!(seq <= self.last_seq(), "an ack names seq {seq}, not committed");
                            }
                        }
                        Err(LiveFailure::Unavailable) => assert!(fail, "unavailable after a commit"),
                        Err(LiveFailure::Refused(error)) => panic!("refused only when decided: {error:?}"),
                    }
                }
                Output::Broadcast { records: told, sent_back } => {
                    assert!(!fail, "a failed commit's events broadcast");
                    assert_eq!(told, records, "the broadcast carries exactly the committed records");
                    for record in &told {
                        assert!(self.broadcast.insert(record.seq), "seq {} broadcast twice", record.seq);
                        assert_eq!(&self.log[record.seq as usize - 1], record, "broadcast, not stored");
                    }
                    for request in sent_back {
                        assert!(told.iter().any(|record| record.seq == request.seq));
                    }
                }
                Output::Rebuild { committed } => {
                    assert!(fail, "a rebuild after a commit");
                    assert_eq!(committed, self.last_seq());
                    rebuilt = true;
                }
                other => panic!("{other:?} after the commit was answered"),
            }
        }
        assert!(answered.iter().all(|count| *count == 1), "every command answered once: {answered:?}");
        if fail {
            assert!(rebuilt, "a failed commit asks for a rebuild");
            let mut state = LiveState::default();
            for record in &self.log {
                state.evolve(&serde_json::from_str(&record.body).expect("a stored event"));
            }
            self.machine.handle(Input::Rebuilt(Box::new(state)), self.now);
        }
        assert_eq!(self.machine.state().last_seq, self.last_seq());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn committed_before_acked_and_announced(
        steps in prop::collection::vec(step(), 1..40),
        failures in prop::collection::vec(any::<bool>(), 40),
    ) {
        let mut world = World {
            machine: machine(),
            log: Vec::new(),
            now: t0(),
            broadcast: BTreeSet::new(),
            comment_times: HashMap::new(),
        };
        for (index, step) in steps.into_iter().enumerate() {
            match step {
                Step::Batch(spec) => world.batch(spec, failures[index]),
                Step::Wait(millis) => {
                    world.now = world.now.checked_add(SignedDuration::from_millis(millis.into())).expect("in range");
                }
            }
        }
        // Everything committed was broadcast, once, in order.
        prop_assert_eq!(world.broadcast.iter().copied().collect::<Vec<_>>(), (1..=world.last_seq()).collect::<Vec<_>>());
        // A token bucket: no window of simulated time holds more fresh comments of one viewer
        // than the burst and one per interval it spans.
        let rule = rate();
        for times in world.comment_times.values() {
            for (i, first) in times.iter().enumerate() {
                for (j, last) in times.iter().enumerate().skip(i) {
                    let span = last.duration_since(*first).as_secs_f64() / rule.interval.as_secs_f64();
                    let taken = (j - i + 1) as f64;
                    prop_assert!(taken <= f64::from(rule.burst) + span + 1e-9,
                        "{} comments in {:.3} intervals", taken, span);
                }
            }
        }
    }
}
