//! A room's hold on its meeting's lease (several nodes, see [`crate::cluster`]), decided apart
//! from Redis and the clock.
//!
//! The driver (`replica.rs`) talks to Redis and reads the monotonic clock: it notes the instant
//! it *sent* a renewal, and the instant the answer *came*, and hands both here. The rule is the
//! safety of the whole cluster: an owner writes only while its lease is surely its own, that is,
//! before the last renewal Redis confirmed, counted from when that renewal was sent, plus the
//! lease's length. Past that instant another node may have claimed the meeting, so an owner that
//! cannot reach Redis stops writing; one told the lease is another's stops at once.
//!
//! What it must not do: read a clock, await, or name Redis. `Instant`s are plain values here, so
//! the tests run a lease's minutes in simulated time (`the_lease_reads_no_clock`).

use std::time::{Duration, Instant};

/// A room's hold on its meeting's lease.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The value the room sets the lease to (see [`crate::cluster::Cluster::lease_holder`]).
    pub holder: String,
    /// How long a renewal holds, from when it was sent.
    lasts: Duration,
    /// Until when the lease is surely this room's: the last confirmed renewal's send plus
    /// `lasts`. `None` until one is confirmed.
    valid_until: Option<Instant>,
}

/// What Redis answered a renewal (or a claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// The lease is this room's, for `lasts` from the send.
    Renewed,
    /// Another node holds it now.
    HeldByAnother,
    /// Redis could not be reached, or did not answer.
    Unreachable,
}

/// What the owner's room must do after a renewal's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The lease is still surely this room's: it goes on writing.
    KeepWriting,
    /// Another node may write the meeting now: this room must never write again.
    StopWriting,
}

impl Lease {
    pub fn new(holder: String, lasts: Duration) -> Lease {
        Lease { holder, lasts, valid_until: None }
    }

    /// Until when the lease is surely this room's, if a renewal or claim was ever confirmed.
    #[cfg(test)]
    pub fn valid_until(&self) -> Option<Instant> {
        self.valid_until
    }

    /// The answer to a renewal (or a claim) sent at `sent`, read at `answered` (after the
    /// call returned, however long it took).
    pub fn answered(&mut self, renewal: Renewal, sent: Instant, answered: Instant) -> Verdict {
        match renewal {
            Renewal::Renewed => {
                // Counted from the send: Redis may have set it at any moment until the answer.
                let until = sent + self.lasts;
                self.valid_until = Some(self.valid_until.map_or(until, |earlier| earlier.max(until)));
                Verdict::KeepWriting
            }
            Renewal::HeldByAnother => Verdict::StopWriting,
            // Redis may come back before the lease lapses; once it may have lapsed, another node
            // may be writing.
            Renewal::Unreachable => {
                if self.valid_until.is_some_and(|until| answered < until) {
                    Verdict::KeepWriting
                } else {
                    Verdict::StopWriting
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LASTS: Duration = Duration::from_secs(5);

    fn at(origin: Instant, millis: u64) -> Instant {
        origin + Duration::from_millis(millis)
    }

    #[test]
    fn a_renewal_counts_from_its_send_not_its_answer() {
        let origin = Instant::now();
        let mut lease = Lease::new("node-a".into(), LASTS);
        // Sent at 0, answered 4 s later (a slow Redis): surely ours until 5 s, not 9 s.
        assert_eq!(lease.answered(Renewal::Renewed, at(origin, 0), at(origin, 4_000)), Verdict::KeepWriting);
        assert_eq!(lease.valid_until(), Some(at(origin, 5_000)));
        assert_eq!(
            lease.answered(Renewal::Unreachable, at(origin, 4_000), at(origin, 4_999)),
            Verdict::KeepWriting
        );
        assert_eq!(
            lease.answered(Renewal::Unreachable, at(origin, 4_000), at(origin, 5_000)),
            Verdict::StopWriting
        );
    }

    #[test]
    fn a_lease_held_by_another_stops_the_writes_at_once() {
        let origin = Instant::now();
        let mut lease = Lease::new("node-a".into(), LASTS);
        lease.answered(Renewal::Renewed, at(origin, 0), at(origin, 10));
        assert_eq!(
            lease.answered(Renewal::HeldByAnother, at(origin, 1_000), at(origin, 1_010)),
            Verdict::StopWriting
        );
    }

    #[test]
    fn without_any_confirmed_renewal_an_unreachable_redis_stops_the_writes() {
        let origin = Instant::now();
        let mut lease = Lease::new("node-a".into(), LASTS);
        assert_eq!(lease.answered(Renewal::Unreachable, origin, origin), Verdict::StopWriting);
    }

    #[test]
    fn a_late_answer_to_an_older_renewal_never_shortens_the_lease() {
        let origin = Instant::now();
        let mut lease = Lease::new("node-a".into(), LASTS);
        lease.answered(Renewal::Renewed, at(origin, 2_000), at(origin, 2_010));
        lease.answered(Renewal::Renewed, at(origin, 1_000), at(origin, 2_020));
        assert_eq!(lease.valid_until(), Some(at(origin, 7_000)));
    }

    proptest! {
        /// Whatever Redis answers and however slowly, the room keeps writing only before the
        /// latest confirmed renewal's send plus the lease's length, and never after another
        /// node took the lease.
        #[test]
        fn an_owner_never_writes_past_its_last_confirmed_renewal(
            steps in prop::collection::vec((0u64..3_000, 0u64..8_000, 0u8..3), 1..40),
        ) {
            let origin = Instant::now();
            let mut lease = Lease::new("node-a".into(), LASTS);
            let mut clock = 0u64;
            let mut confirmed_sends: Vec<u64> = Vec::new();
            for (wait, delay, answer) in steps {
                clock += wait;
                let sent = clock;
                clock += delay;
                let renewal = [Renewal::Renewed, Renewal::HeldByAnother, Renewal::Unreachable][usize::from(answer)];
                let verdict = lease.answered(renewal, at(origin, sent), at(origin, clock));
                if renewal == Renewal::Renewed {
                    confirmed_sends.push(sent);
                }
                let surely_ours_until = confirmed_sends.iter().max().map(|send| send + 5_000);
                match renewal {
                    Renewal::HeldByAnother => prop_assert_eq!(verdict, Verdict::StopWriting),
                    Renewal::Unreachable => prop_assert_eq!(
                        verdict == Verdict::KeepWriting,
                        surely_ours_until.is_some_and(|until| clock < until)
                    ),
                    Renewal::Renewed => prop_assert_eq!(verdict, Verdict::KeepWriting),
                }
                prop_assert_eq!(lease.valid_until(), surely_ours_until.map(|until| at(origin, until)));
            }
        }
    }

    #[test]
    fn the_lease_reads_no_clock() {
        let source = include_str!("lease.rs");
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        let code: String =
            code.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        for forbidden in ["::now(", "tokio", "redis", ".await", "async ", "crate::cluster::Cluster::"] {
            assert!(!code.contains(forbidden), "lease.rs's code names {forbidden}");
        }
    }
}
