//! Newtype ids, so that a meeting id can never be passed where an account id is meant.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A staff account: admin, akim, moderator or commission member.
    AccountId
);
id_type!(
    /// A meeting of an akim with the population.
    MeetingId
);
id_type!(
    /// A territory (oblast, district, village, ...), identified outside Kezdesu by its KATO code.
    TerritoryId
);
id_type!(
    /// An anonymous viewer of one meeting, who holds a viewer token instead of an account.
    ViewerId
);
id_type!(
    /// A comment in one meeting's live channel, numbered from 1 within the meeting.
    CommentId
);
id_type!(
    /// A question in one meeting's queue, numbered from 1 within the meeting.
    QuestionId
);
id_type!(
    /// A problem issue of the register, whatever it was raised by.
    IssueId
);
id_type!(
    /// An item of an issue's action plan.
    ActionItemId
);
