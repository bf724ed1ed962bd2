//! Meetings at the population's demand: citizens raise a public demand for a meeting on their
//! territory; once enough distinct people support it, the akim owes a meeting by a deadline.

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The numbers, from the configuration's `[demands]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemandRules {
    /// Distinct supporters (the one who raised it included) that oblige the akim.
    pub supporters_threshold: u32,
    /// Days from reaching the threshold to the day the meeting must be held by.
    pub hold_within_days: u32,
}

/// Where a demand stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum DemandState {
    /// Gathering support: `missing` more supporters oblige the akim.
    Open { missing: u32 },
    /// The akim owes a meeting held by `due`; `overdue` once that day has passed.
    Obliged {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        due: Date,
        overdue: bool,
    },
    /// A meeting was scheduled for it.
    Met,
}

impl DemandRules {
    /// Whether `supporters` is the count that reaches the threshold (so the obligation starts
    /// with this supporter).
    pub fn reached(&self, supporters: u32) -> bool {
        supporters >= self.supporters_threshold
    }

    /// The day the meeting must be held by, when the threshold was reached on `reached_on`.
    pub fn due(&self, reached_on: Date) -> Date {
        reached_on.checked_add(i64::from(self.hold_within_days).days()).unwrap_or(Date::MAX)
    }

    /// The demand's state on `today`, from its supporters, the day it reached the threshold,
    /// and whether a meeting was scheduled for it.
    pub fn state(&self, supporters: u32, reached_on: Option<Date>, met: bool, today: Date) -> DemandState {
        if met {
            return DemandState::Met;
        }
        match reached_on {
            Some(reached_on) => {
                let due = self.due(reached_on);
                DemandState::Obliged { due, overdue: today > due }
            }
            None => DemandState::Open { missing: self.supporters_threshold.saturating_sub(supporters) },
        }
    }
}

/// How a supporter is told apart from another: the contact they give. An e-mail address is
/// compared without case; a phone number without spaces, brackets, dashes or dots, so that
/// "+7 (701) 555-12-34" and "+77015551234" are one person. Anything else is no contact.
pub fn contact_identity(contact: &str) -> Option<String> {
    let contact = contact.trim();
    if let Some((local, domain)) = contact.split_once('@') {
        let valid = !local.is_empty() && domain.contains('.') && !contact.chars().any(char::is_whitespace);
        return valid.then(|| contact.to_lowercase());
    }
    let phone: String =
        contact.chars().filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '-' | '.')).collect();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let shaped = phone.strip_prefix('+').unwrap_or(&phone).chars().all(|c| c.is_ascii_digit());
    (shaped && (7..=15).contains(&digits)).then_some(phone)
}
