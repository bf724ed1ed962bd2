//! A reader's status: kept in memory on the node that runs the reader, announced to that
//! node's connections and event streams, and stored for the other nodes, on every change of
//! state and every few seconds while only the counts change.

use super::{FeedKey, PlatformChange, Shared};
use crate::metrics::{PlatformLabels, PlatformOutcomeLabels};
use crate::wire::{PlatformState, PlatformStatus};
use jiff::Timestamp;
use kezdesu_core::platforms::SocialPlatform;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// While only the counts change, a status is announced and stored at most this often.
const COUNTS_EVERY: Duration = Duration::from_secs(5);

/// A status with when it was last announced.
pub(super) struct Tracked {
    pub(super) status: PlatformStatus,
    pub(super) announced: Instant,
}

/// A status nobody has written yet: the reader has not run.
pub(super) fn idle_status((meeting, platform): FeedKey) -> PlatformStatus {
    PlatformStatus {
        meeting_id: meeting.0,
        platform,
        state: PlatformState::Idle,
        reason: None,
        until: None,
        comments: 0,
        refused: 0,
        quota_units: (platform == SocialPlatform::Youtube).then_some(0),
        last_error: None,
        resolved: None,
        since: Timestamp::now().to_string(),
        actions: Vec::new(),
    }
}

pub(super) fn labels(platform: SocialPlatform) -> PlatformLabels {
    PlatformLabels { platform: platform.as_str() }
}

impl Shared {
    pub(super) fn status(&self, key: FeedKey) -> Option<PlatformStatus> {
        let statuses = self.statuses.lock().expect("the status map is never left poisoned");
        statuses.get(&key).map(|tracked| tracked.status.clone())
    }

    /// Changes a status; announces it (and stores it) when its state changed, when `urgent`,
    /// or when the last announcement is a few seconds old.
    pub(super) fn update(
        self: &Arc<Self>,
        key: FeedKey,
        urgent: bool,
        change: impl FnOnce(&mut PlatformStatus),
    ) {
        let announce = {
            let mut statuses = self.statuses.lock().expect("the status map is never left poisoned");
            let tracked = statuses
                .entry(key)
                .or_insert_with(|| Tracked { status: idle_status(key), announced: Instant::now() });
            let before =
                (tracked.status.state, tracked.status.reason.clone(), tracked.status.last_error.clone());
            change(&mut tracked.status);
            let after =
                (tracked.status.state, tracked.status.reason.clone(), tracked.status.last_error.clone());
            if before.0 != after.0 {
                tracked.status.since = Timestamp::now().to_string();
            }
            let due = urgent || before != after || tracked.announced.elapsed() >= COUNTS_EVERY;
            if due {
                tracked.announced = Instant::now();
                Some(tracked.status.clone())
            } else {
                None
            }
        };
        let Some(status) = announce else { return };
        // Serializing our own plain structs cannot fail.
        let json: Arc<str> = serde_json::to_string(&status).expect("statuses serialize").into();
        let _ = self.changes.send(PlatformChange { meeting: key.0, json: json.clone() });
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(error) = store.set_meeting_platform_status(key.0, key.1, &json).await {
                tracing::warn!(meeting = %key.0, platform = %key.1, %error, "could not store a platform reader's status");
            }
        });
    }

    pub(super) fn set_state(
        self: &Arc<Self>,
        key: FeedKey,
        state: PlatformState,
        reason: Option<String>,
        until: Option<Timestamp>,
    ) {
        self.update(key, false, |status| {
            status.state = state;
            status.reason = reason;
            status.until = until.map(|until| until.to_string());
        });
    }

    pub(super) fn failed_read(&self, platform: SocialPlatform, outcome: &'static str) {
        self.metrics
            .read_failures
            .get_or_create(&PlatformOutcomeLabels { platform: platform.as_str(), outcome })
            .inc();
    }

    pub(super) fn spend_quota(self: &Arc<Self>, key: FeedKey, units: u64) {
        if units == 0 {
            return;
        }
        self.metrics.quota_units.inc_by(units);
        self.update(key, false, |status| {
            status.quota_units = Some(status.quota_units.unwrap_or(0) + units);
        });
    }
}
