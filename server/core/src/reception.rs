//! Personal receptions of citizens after a meeting: slots with the officials taking part, and
//! citizens' bookings of them with a topic.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

const MAX_MINUTES: u32 = 8 * 60;
const MAX_CAPACITY: u32 = 500;
const MAX_OFFICIALS: usize = 20;

/// An official taking part in a reception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Official {
    pub name: String,
    /// Their office, e.g. "deputy akim for social affairs".
    #[serde(default)]
    pub position: String,
}

/// A reception slot as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotDraft {
    pub starts_at: Timestamp,
    pub minutes: u32,
    pub place: String,
    pub officials: Vec<Official>,
    /// How many citizens it receives.
    pub capacity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("a personal reception follows the meeting: it starts at or after the meeting's start")]
    BeforeMeeting,
    #[error("a reception lasts 5 to {MAX_MINUTES} minutes")]
    Minutes,
    #[error("a reception receives 1 to {MAX_CAPACITY} citizens")]
    Capacity,
    #[error("a reception names 1 to {MAX_OFFICIALS} officials taking part")]
    Officials,
    #[error("{0}")]
    Text(String),
}

fn text(field: &str, raw: &str, max: usize) -> Result<String, SlotError> {
    crate::text::clean(raw, max, false).map_err(|error| SlotError::Text(format!("{field} {error}")))
}

/// Checks a slot of a meeting that starts at `meeting_start`, and cleans its text.
pub fn check_slot(draft: SlotDraft, meeting_start: Timestamp) -> Result<SlotDraft, SlotError> {
    if draft.starts_at < meeting_start {
        return Err(SlotError::BeforeMeeting);
    }
    if !(5..=MAX_MINUTES).contains(&draft.minutes) {
        return Err(SlotError::Minutes);
    }
    if !(1..=MAX_CAPACITY).contains(&draft.capacity) {
        return Err(SlotError::Capacity);
    }
    if draft.officials.is_empty() || draft.officials.len() > MAX_OFFICIALS {
        return Err(SlotError::Officials);
    }
    let officials = draft
        .officials
        .into_iter()
        .map(|official| {
            let position = official.position.trim();
            Ok(Official {
                name: text("officials.name", &official.name, 200)?,
                position: if position.is_empty() {
                    String::new()
                } else {
                    text("officials.position", position, 200)?
                },
            })
        })
        .collect::<Result<Vec<Official>, SlotError>>()?;
    Ok(SlotDraft { place: text("place", &draft.place, 300)?, officials, ..draft })
}

/// Where a slot stands, for a booking made at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotState {
    pub starts_at: Timestamp,
    pub capacity: u32,
    pub booked: u32,
    pub cancelled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    #[error("this reception was cancelled")]
    Cancelled,
    #[error("this reception has begun; bookings close when it starts")]
    Started,
    #[error("this reception is fully booked")]
    Full,
}

/// Whether one more citizen may book the slot at `now`.
pub fn check_booking(slot: SlotState, now: Timestamp) -> Result<(), BookingError> {
    if slot.cancelled {
        Err(BookingError::Cancelled)
    } else if now >= slot.starts_at {
        Err(BookingError::Started)
    } else if slot.booked >= slot.capacity {
        Err(BookingError::Full)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn draft(starts_at: Timestamp) -> SlotDraft {
        SlotDraft {
            starts_at,
            minutes: 120,
            place: " Акимат, каб. 305 ".into(),
            officials: vec![Official { name: "Ержан Сейітов".into(), position: " ".into() }],
            capacity: 10,
        }
    }

    #[test]
    fn slots_follow_the_meeting_and_name_their_officials() {
        let meeting = Timestamp::from_second(1_800_000_000).expect("an instant");
        let after = meeting + SignedDuration::from_hours(2);
        let slot = check_slot(draft(after), meeting).expect("valid");
        assert_eq!(slot.place, "Акимат, каб. 305");
        assert_eq!(slot.officials[0].position, "");
        let before = meeting - SignedDuration::from_mins(1);
        assert_eq!(check_slot(draft(before), meeting), Err(SlotError::BeforeMeeting));
        assert_eq!(check_slot(SlotDraft { minutes: 4, ..draft(after) }, meeting), Err(SlotError::Minutes));
        assert_eq!(check_slot(SlotDraft { capacity: 0, ..draft(after) }, meeting), Err(SlotError::Capacity));
        assert_eq!(
            check_slot(SlotDraft { officials: vec![], ..draft(after) }, meeting),
            Err(SlotError::Officials)
        );
        let nameless = SlotDraft {
            officials: vec![Official { name: "\u{200B}".into(), position: String::new() }],
            ..draft(after)
        };
        assert!(matches!(check_slot(nameless, meeting), Err(SlotError::Text(_))));
    }

    #[test]
    fn bookings_close_when_full_started_or_cancelled() {
        let starts_at = Timestamp::from_second(1_800_000_000).expect("an instant");
        let early = starts_at - SignedDuration::from_hours(1);
        let slot = SlotState { starts_at, capacity: 2, booked: 1, cancelled: false };
        assert_eq!(check_booking(slot, early), Ok(()));
        assert_eq!(check_booking(SlotState { booked: 2, ..slot }, early), Err(BookingError::Full));
        assert_eq!(check_booking(slot, starts_at), Err(BookingError::Started));
        assert_eq!(check_booking(SlotState { cancelled: true, ..slot }, early), Err(BookingError::Cancelled));
    }
}
