//! Rate limits per client address that hold across every node.
//!
//! Alone, a node counts in memory (`governor`). In a cluster each limit is a GCRA ("generic
//! cell rate algorithm") state per key in Redis, one script call per check: the same quota,
//! burst and refill as the in-memory limiter, shared, so a client spreading its requests over
//! nodes gets no more than one node would give it. If Redis cannot be reached, the node falls
//! back to its own count rather than refusing everyone or nobody.

use super::Cluster;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// Takes one cell from the bucket at KEYS[1]: ARGV[1] is the time a cell takes to come back
/// (ms), ARGV[2] the burst. Returns 0 when taken, otherwise the milliseconds until one is free.
pub(super) const TAKE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local theoretical = tonumber(redis.call('GET', KEYS[1]) or now)
if theoretical < now then theoretical = now end
local after = theoretical + interval
local wait = after - now - interval * burst
if wait > 0 then return wait end
redis.call('SET', KEYS[1], after, 'PX', after - now)
return 0
";

/// One limit, such as sign-in attempts per address per minute.
pub struct RateLimit {
    /// Names the limit's keys in Redis.
    name: &'static str,
    quota: Quota,
    local: DefaultKeyedRateLimiter<IpAddr>,
    cluster: Option<Cluster>,
}

impl RateLimit {
    /// `count` per `period` per key, all at once if need be.
    pub fn new(name: &'static str, count: u32, period: Duration, cluster: Option<Cluster>) -> RateLimit {
        let burst = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period / burst.get())
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        RateLimit { name, quota, local: DefaultKeyedRateLimiter::keyed(quota), cluster }
    }

    /// Forgets the in-memory allowances that have filled up again.
    pub fn retain_recent(&self) {
        self.local.retain_recent();
    }

    /// Takes one from `key`'s allowance, or says how long until one is free.
    pub async fn check(&self, key: IpAddr) -> Result<(), Duration> {
        if let Some(cluster) = &self.cluster {
            let interval = self.quota.replenish_interval().as_millis().max(1);
            let taken: redis::RedisResult<i64> = cluster
                .inner
                .take
                .key(format!("kezdesu:rate:{}:{key}", self.name))
                .arg(u64::try_from(interval).unwrap_or(u64::MAX))
                .arg(self.quota.burst_size().get())
                .invoke_async(&mut cluster.connection())
                .await;
            match taken {
                Ok(0) => return Ok(()),
                Ok(wait) => return Err(Duration::from_millis(u64::try_from(wait).unwrap_or(1))),
                Err(error) => {
                    tracing::warn!(limit = self.name, %error, "shared rate limit unreachable; counting here")
                }
            }
        }
        self.local.check_key(&key).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()))
        })
    }
}
