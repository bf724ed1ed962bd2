//! Roles, the principal behind a request, and who may do what.
//!
//! The HTTP and live adapters ask these functions; they never decide permissions themselves.

use crate::ids::{AccountId, MeetingId, ViewerId};
use serde::{Deserialize, Serialize};

/// What a staff account is allowed to do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages accounts, territories, rule sets and every meeting.
    Admin,
    /// Holds meetings: presents, and runs the session timer of their own meetings.
    Akim,
    /// Keeps order in the live channel and runs the session timer of any meeting.
    Moderator,
    /// Collects and systematizes problem issues before and after meetings.
    Commission,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Akim, Role::Moderator, Role::Commission];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Akim => "akim",
            Role::Moderator => "moderator",
            Role::Commission => "commission",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// Who is behind a request: a signed-in staff member or an anonymous viewer of one meeting.
// Serialized between the nodes of a cluster, when one forwards a command to the meeting's owner.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Principal {
    Staff { account: AccountId, role: Role },
    Viewer { viewer: ViewerId, meeting: MeetingId },
}

impl Principal {
    /// The staff account acting, if any.
    pub fn account(&self) -> Option<AccountId> {
        match self {
            Principal::Staff { account, .. } => Some(*account),
            Principal::Viewer { .. } => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::Staff { role: Role::Admin, .. })
    }

    pub fn is_staff(&self) -> bool {
        matches!(self, Principal::Staff { .. })
    }

    /// Accounts are managed by admins only.
    pub fn may_manage_accounts(&self) -> bool {
        self.is_admin()
    }

    /// Territories are reference data, kept by admins.
    pub fn may_manage_territories(&self) -> bool {
        self.is_admin()
    }

    /// Admins and akims plan meetings at all (akims only their own: see `may_create_meeting`).
    pub fn may_plan_meetings(&self) -> bool {
        matches!(self, Principal::Staff { role: Role::Admin | Role::Akim, .. })
    }

    /// Meetings are planned by admins, and by akims for themselves.
    pub fn may_create_meeting(&self, meeting_akim: AccountId) -> bool {
        match self {
            Principal::Staff { role: Role::Admin, .. } => true,
            Principal::Staff { account, role: Role::Akim } => *account == meeting_akim,
            _ => false,
        }
    }

    /// A meeting is edited by an admin or by its own akim.
    pub fn may_edit_meeting(&self, meeting_akim: AccountId) -> bool {
        self.may_create_meeting(meeting_akim)
    }

    /// The broadcast (the stream key, going on air) belongs to the meeting's akim; admins
    /// may stand in. Moderators run the room, not the camera.
    pub fn may_manage_broadcast(&self, meeting_akim: AccountId) -> bool {
        self.may_create_meeting(meeting_akim)
    }

    /// Recordings are public records of the meetings: only admins delete one, and the
    /// deletion itself stays on record.
    pub fn may_delete_recordings(&self) -> bool {
        self.is_admin()
    }

    /// A meeting's results are published by the commission, the meeting's akim or an admin.
    pub fn may_publish_results(&self, meeting_akim: AccountId) -> bool {
        match self {
            Principal::Staff { role: Role::Admin | Role::Commission, .. } => true,
            Principal::Staff { account, role: Role::Akim } => *account == meeting_akim,
            _ => false,
        }
    }

    /// The whole register of problem issues (every issue, imports, the central export) is kept
    /// by the commission and admins; moderators run the live room, not the register.
    pub fn may_keep_register(&self) -> bool {
        matches!(self, Principal::Staff { role: Role::Admin | Role::Commission, .. })
    }

    /// An issue (its status, plan, progress, and the contacts behind it) is managed by the
    /// register's keepers and by the akim of the meeting it was raised for; an akim does not
    /// manage another akim's issues, nor those raised for no meeting.
    pub fn may_manage_issue(&self, meeting_akim: Option<AccountId>) -> bool {
        match self {
            Principal::Staff { role: Role::Admin | Role::Commission, .. } => true,
            Principal::Staff { account, role: Role::Akim } => meeting_akim == Some(*account),
            _ => false,
        }
    }

    /// An akim's yearly calendar is drafted, agreed and submitted by the akim's office (the
    /// akim's own account) or by an admin.
    pub fn may_keep_calendar(&self, akim: AccountId) -> bool {
        self.may_create_meeting(akim)
    }

    /// Personal receptions after a meeting are arranged, and their bookings read, by the same
    /// people who manage the meeting's issues: admins, the commission and the meeting's akim.
    pub fn may_arrange_receptions(&self, meeting_akim: AccountId) -> bool {
        self.may_publish_results(meeting_akim)
    }

    /// The session timer is run by the meeting's akim, a moderator or an admin.
    pub fn may_change_phase(&self, meeting_akim: AccountId) -> bool {
        match self {
            Principal::Staff { role: Role::Admin | Role::Moderator, .. } => true,
            Principal::Staff { account, role: Role::Akim } => *account == meeting_akim,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AKIM: AccountId = AccountId(7);
    const OTHER_AKIM: AccountId = AccountId(8);

    fn staff(account: AccountId, role: Role) -> Principal {
        Principal::Staff { account, role }
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("viewer"), None);
    }

    #[test]
    fn only_admins_manage_accounts() {
        assert!(staff(AccountId(1), Role::Admin).may_manage_accounts());
        for role in [Role::Akim, Role::Moderator, Role::Commission] {
            assert!(!staff(AccountId(1), role).may_manage_accounts(), "{role:?}");
        }
        let viewer = Principal::Viewer { viewer: ViewerId(1), meeting: MeetingId(1) };
        assert!(!viewer.may_manage_accounts());
    }

    #[test]
    fn phase_is_run_by_own_akim_moderators_and_admins() {
        assert!(staff(AKIM, Role::Akim).may_change_phase(AKIM));
        assert!(!staff(OTHER_AKIM, Role::Akim).may_change_phase(AKIM));
        assert!(staff(AccountId(2), Role::Moderator).may_change_phase(AKIM));
        assert!(staff(AccountId(3), Role::Admin).may_change_phase(AKIM));
        assert!(!staff(AccountId(4), Role::Commission).may_change_phase(AKIM));
        let viewer = Principal::Viewer { viewer: ViewerId(1), meeting: MeetingId(1) };
        assert!(!viewer.may_change_phase(AKIM));
    }

    #[test]
    fn the_broadcast_is_the_akims_and_results_are_the_commissions_too() {
        assert!(staff(AKIM, Role::Akim).may_manage_broadcast(AKIM));
        assert!(!staff(OTHER_AKIM, Role::Akim).may_manage_broadcast(AKIM));
        assert!(staff(AccountId(3), Role::Admin).may_manage_broadcast(AKIM));
        assert!(!staff(AccountId(2), Role::Moderator).may_manage_broadcast(AKIM));
        assert!(!staff(AccountId(4), Role::Commission).may_manage_broadcast(AKIM));

        assert!(staff(AKIM, Role::Akim).may_publish_results(AKIM));
        assert!(!staff(OTHER_AKIM, Role::Akim).may_publish_results(AKIM));
        assert!(staff(AccountId(4), Role::Commission).may_publish_results(AKIM));
        assert!(staff(AccountId(3), Role::Admin).may_publish_results(AKIM));
        assert!(!staff(AccountId(2), Role::Moderator).may_publish_results(AKIM));
        let viewer = Principal::Viewer { viewer: ViewerId(1), meeting: MeetingId(1) };
        assert!(!viewer.may_publish_results(AKIM) && !viewer.may_manage_broadcast(AKIM));
        assert_eq!(staff(AKIM, Role::Akim).account(), Some(AKIM));
        assert_eq!(viewer.account(), None);
    }
}
