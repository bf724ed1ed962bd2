//! A token bucket, with time as an argument.

use jiff::{SignedDuration, Timestamp};

/// How fast something may happen: one every `interval` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRule {
    pub interval: SignedDuration,
    pub burst: u32,
}

/// Allowance left for one key (a viewer, an address) under a [`RateRule`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    updated: Timestamp,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rule: RateRule, now: Timestamp) -> TokenBucket {
        TokenBucket { tokens: f64::from(rule.burst), updated: now }
    }

    /// Takes one token if there is one; otherwise says how long until there will be.
    pub fn take(&mut self, rule: RateRule, now: Timestamp) -> Result<(), SignedDuration> {
        let interval = rule.interval.as_secs_f64().max(1e-9);
        if now > self.updated {
            let earned = now.duration_since(self.updated).as_secs_f64() / interval;
            self.tokens = (self.tokens + earned).min(f64::from(rule.burst));
            self.updated = now;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(SignedDuration::from_secs_f64((1.0 - self.tokens) * interval))
        }
    }

    /// Whether the bucket is full again by `now`, so its owner may forget it.
    pub fn is_full(&self, rule: RateRule, now: Timestamp) -> bool {
        let earned = now.duration_since(self.updated).as_secs_f64() / rule.interval.as_secs_f64().max(1e-9);
        self.tokens + earned >= f64::from(rule.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval() {
        let rule = RateRule { interval: SignedDuration::from_secs(5), burst: 3 };
        let t0: Timestamp = "2026-03-02T10:00:00Z".parse().expect("valid");
        let mut bucket = TokenBucket::new(rule, t0);
        for _ in 0..3 {
            assert_eq!(bucket.take(rule, t0), Ok(()));
        }
        assert_eq!(bucket.take(rule, t0), Err(SignedDuration::from_secs(5)));
        let later = t0 + SignedDuration::from_secs(2);
        assert_eq!(bucket.take(rule, later), Err(SignedDuration::from_secs(3)));
        assert_eq!(bucket.take(rule, t0 + SignedDuration::from_secs(5)), Ok(()));
        assert!(!bucket.is_full(rule, t0 + SignedDuration::from_secs(5)));
        assert!(bucket.is_full(rule, t0 + SignedDuration::from_secs(20)));
    }
}
