//! When a meeting may be on air.
//!
//! The decree wants the meeting broadcast; the broadcast must not outlive it or begin long
//! before it, and it must never run without the live comments beside it (the room checks that).

use crate::MeetingStatus;
use jiff::{SignedDuration, Timestamp};

/// Why a meeting may not go on air now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OnAirRefusal {
    #[error("the meeting was cancelled")]
    Cancelled,
    #[error("the meeting has ended")]
    Ended,
    /// Before the window that opens ahead of the planned start.
    #[error("the broadcast opens {window_minutes} minutes before the planned start")]
    TooEarly { opens_at: Timestamp, window_minutes: u32 },
}

/// Whether a publisher may go on air at `now`: while the meeting is live, or while it is
/// scheduled and `now` is within `window_minutes` of its planned start (a sound check before
/// the akim starts the presentation). A scheduled meeting whose planned start has passed is
/// still open: it is late, not over.
pub fn may_go_on_air(
    status: MeetingStatus,
    planned_start: Timestamp,
    window_minutes: u32,
    now: Timestamp,
) -> Result<(), OnAirRefusal> {
    match status {
        MeetingStatus::Live => Ok(()),
        MeetingStatus::Ended => Err(OnAirRefusal::Ended),
        MeetingStatus::Cancelled => Err(OnAirRefusal::Cancelled),
        MeetingStatus::Scheduled => {
            let window = SignedDuration::from_mins(i64::from(window_minutes));
            // An instant too far back to represent opens at the earliest one there is.
            let opens_at = planned_start.checked_sub(window).unwrap_or(Timestamp::MIN);
            if now >= opens_at { Ok(()) } else { Err(OnAirRefusal::TooEarly { opens_at, window_minutes }) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("a valid instant")
    }

    #[test]
    fn live_meetings_may_go_on_air_whatever_the_plan() {
        let start = at("2026-03-01T10:00:00Z");
        assert_eq!(may_go_on_air(MeetingStatus::Live, start, 0, at("2026-02-01T00:00:00Z")), Ok(()));
        assert_eq!(may_go_on_air(MeetingStatus::Live, start, 30, at("2026-03-02T00:00:00Z")), Ok(()));
    }

    #[test]
    fn scheduled_meetings_open_exactly_at_the_window() {
        let start = at("2026-03-01T10:00:00Z");
        assert_eq!(may_go_on_air(MeetingStatus::Scheduled, start, 30, at("2026-03-01T09:30:00Z")), Ok(()));
        assert_eq!(
            may_go_on_air(MeetingStatus::Scheduled, start, 30, at("2026-03-01T09:29:59.999Z")),
            Err(OnAirRefusal::TooEarly { opens_at: at("2026-03-01T09:30:00Z"), window_minutes: 30 })
        );
        // Late is not over: the akim may still go on air and start.
        assert_eq!(may_go_on_air(MeetingStatus::Scheduled, start, 30, at("2026-03-01T12:00:00Z")), Ok(()));
        // A zero window opens at the planned start itself.
        assert!(may_go_on_air(MeetingStatus::Scheduled, start, 0, at("2026-03-01T09:59:59Z")).is_err());
    }

    #[test]
    fn ended_and_cancelled_meetings_never_go_on_air() {
        let start = at("2026-03-01T10:00:00Z");
        assert_eq!(may_go_on_air(MeetingStatus::Ended, start, 30, start), Err(OnAirRefusal::Ended));
        assert_eq!(may_go_on_air(MeetingStatus::Cancelled, start, 30, start), Err(OnAirRefusal::Cancelled));
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let result = may_go_on_air(MeetingStatus::Scheduled, Timestamp::MIN, 24 * 60, Timestamp::MIN);
        assert_eq!(result, Ok(()));
    }
}
