//! The one state machine of an application's statuses and the actions that move it.
//!
//! Meter damage investigation:
//! `draft → submitted → accepted → inspection-scheduled → inspected → completed`;
//! account change: `draft → submitted → under-review → approved`. Staff may reject an open
//! application before its end, or return it to the applicant for a correction (until the
//! inspection is scheduled / while it is reviewed); the applicant resubmits it. The applicant can
//! cancel a draft, and an application nobody has started work on.

use crate::application::ApplicationKind;
use crate::identity::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Draft,
    Submitted,
    Accepted,
    InspectionScheduled,
    Inspected,
    UnderReview,
    ReturnedForCorrection,
    Completed,
    Approved,
    Rejected,
    Cancelled,
}

impl Status {
    pub const ALL: [Self; 11] = [
        Self::Draft,
        Self::Submitted,
        Self::Accepted,
        Self::InspectionScheduled,
        Self::Inspected,
        Self::UnderReview,
        Self::ReturnedForCorrection,
        Self::Completed,
        Self::Approved,
        Self::Rejected,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::InspectionScheduled => "inspection-scheduled",
            Self::Inspected => "inspected",
            Self::UnderReview => "under-review",
            Self::ReturnedForCorrection => "returned-for-correction",
            Self::Completed => "completed",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }

    /// The statuses an application of `kind` can ever be in.
    pub fn applies_to(self, kind: ApplicationKind) -> bool {
        match self {
            Self::Accepted | Self::InspectionScheduled | Self::Inspected | Self::Completed => {
                kind == ApplicationKind::MeterDamageInvestigation
            }
            Self::UnderReview | Self::Approved => kind == ApplicationKind::AccountChange,
            _ => true,
        }
    }

    /// No action leads out of a final status.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Approved | Self::Rejected | Self::Cancelled
        )
    }

    /// The company is working on it: open and not back with the applicant. Only these can be
    /// overdue: the clock stops while the applicant corrects.
    pub fn is_with_company(self) -> bool {
        self.is_open() && self != Self::ReturnedForCorrection
    }

    /// Submitted and not yet finished: the company has it. Only one open application per kind
    /// and target may exist.
    pub fn is_open(self) -> bool {
        self != Self::Draft && !self.is_final()
    }

    /// The applicant may change the steps: while drafting, and when the application was returned
    /// for a correction.
    pub fn is_editable_by_applicant(self) -> bool {
        matches!(self, Self::Draft | Self::ReturnedForCorrection)
    }
}

/// What someone does to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The applicant creates the draft (the first timeline entry).
    Create,
    Submit,
    Cancel,
    Accept,
    ScheduleInspection,
    RecordInspection,
    Complete,
    StartReview,
    Approve,
    Reject,
    ReturnForCorrection,
    Resubmit,
    /// A supervisor gives the application to another department or operator; the status stays.
    Assign,
}

impl Action {
    pub const ALL: [Self; 13] = [
        Self::Create,
        Self::Submit,
        Self::Cancel,
        Self::Accept,
        Self::ScheduleInspection,
        Self::RecordInspection,
        Self::Complete,
        Self::StartReview,
        Self::Approve,
        Self::Reject,
        Self::ReturnForCorrection,
        Self::Resubmit,
        Self::Assign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Submit => "submit",
            Self::Cancel => "cancel",
            Self::Accept => "accept",
            Self::ScheduleInspection => "schedule-inspection",
            Self::RecordInspection => "record-inspection",
            Self::Complete => "complete",
            Self::StartReview => "start-review",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::ReturnForCorrection => "return-for-correction",
            Self::Resubmit => "resubmit",
            Self::Assign => "assign",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == input)
    }
}

/// Why an action cannot be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("{action} is not possible while the application is {status}", action = .action.as_str(), status = .status.as_str())]
    NotInThisStatus { action: Action, status: Status },
    #[error("the {role} role may not {action}", role = .role.as_str(), action = .action.as_str())]
    NotForThisRole { action: Action, role: Role },
}

/// Who may take an action, whatever the status.
fn role_may(role: Role, action: Action) -> bool {
    let applicant_action = matches!(
        action,
        Action::Create | Action::Submit | Action::Cancel | Action::Resubmit
    );
    match role {
        Role::Applicant => applicant_action,
        Role::Operator => !applicant_action && action != Action::Assign,
        Role::Supervisor => !applicant_action,
        Role::Admin => false,
    }
}

/// Where an action leads from a status, for an application of `kind`, regardless of role.
fn target(kind: ApplicationKind, status: Status, action: Action) -> Option<Status> {
    use ApplicationKind::{AccountChange, MeterDamageInvestigation};
    use Status as S;
    let to = match (kind, status, action) {
        (_, S::Draft, Action::Submit) => S::Submitted,
        (_, S::Draft | S::Submitted | S::ReturnedForCorrection, Action::Cancel) => S::Cancelled,
        (_, S::ReturnedForCorrection, Action::Resubmit) => S::Submitted,
        // An application the applicant does not correct can still be rejected.
        (_, S::ReturnedForCorrection, Action::Reject) => S::Rejected,
        (_, open, Action::Assign) if open.is_open() && open.applies_to(kind) => open,
        (MeterDamageInvestigation, S::Submitted, Action::Accept) => S::Accepted,
        (MeterDamageInvestigation, S::Accepted, Action::ScheduleInspection) => {
            S::InspectionScheduled
        }
        (MeterDamageInvestigation, S::InspectionScheduled, Action::RecordInspection) => {
            S::Inspected
        }
        (MeterDamageInvestigation, S::Inspected, Action::Complete) => S::Completed,
        (
            MeterDamageInvestigation,
            S::Submitted | S::Accepted | S::InspectionScheduled | S::Inspected,
            Action::Reject,
        ) => S::Rejected,
        (MeterDamageInvestigation, S::Submitted | S::Accepted, Action::ReturnForCorrection) => {
            S::ReturnedForCorrection
        }
        (AccountChange, S::Submitted, Action::StartReview) => S::UnderReview,
        (AccountChange, S::UnderReview, Action::Approve) => S::Approved,
        (AccountChange, S::Submitted | S::UnderReview, Action::Reject) => S::Rejected,
        (AccountChange, S::Submitted | S::UnderReview, Action::ReturnForCorrection) => {
            S::ReturnedForCorrection
        }
        _ => return None,
    };
    Some(to)
}

/// The status that `action`, taken by `role`, leads to, or why it cannot be taken.
pub fn next_status(
    kind: ApplicationKind,
    status: Status,
    action: Action,
    role: Role,
) -> Result<Status, TransitionError> {
    if !role_may(role, action) {
        return Err(TransitionError::NotForThisRole { action, role });
    }
    target(kind, status, action).ok_or(TransitionError::NotInThisStatus { action, status })
}

/// The actions `role` may take on an application of `kind` in `status`, in a stable order.
pub fn allowed_actions(kind: ApplicationKind, status: Status, role: Role) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|&action| next_status(kind, status, action, role).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApplicationKind::{AccountChange, MeterDamageInvestigation};
    use proptest::prelude::*;

    #[test]
    fn meter_damage_happy_path() {
        let steps = [
            (
                Status::Draft,
                Action::Submit,
                Role::Applicant,
                Status::Submitted,
            ),
            (
                Status::Submitted,
                Action::Accept,
                Role::Operator,
                Status::Accepted,
            ),
            (
                Status::Accepted,
                Action::ScheduleInspection,
                Role::Operator,
                Status::InspectionScheduled,
            ),
            (
                Status::InspectionScheduled,
                Action::RecordInspection,
                Role::Supervisor,
                Status::Inspected,
            ),
            (
                Status::Inspected,
                Action::Complete,
                Role::Operator,
                Status::Completed,
            ),
        ];
        for (from, action, role, to) in steps {
            assert_eq!(
                next_status(MeterDamageInvestigation, from, action, role),
                Ok(to)
            );
        }
    }

    #[test]
    fn account_change_happy_path() {
        let steps = [
            (
                Status::Draft,
                Action::Submit,
                Role::Applicant,
                Status::Submitted,
            ),
            (
                Status::Submitted,
                Action::StartReview,
                Role::Operator,
                Status::UnderReview,
            ),
            (
                Status::UnderReview,
                Action::Approve,
                Role::Operator,
                Status::Approved,
            ),
        ];
        for (from, action, role, to) in steps {
            assert_eq!(next_status(AccountChange, from, action, role), Ok(to));
        }
    }

    #[test]
    fn the_applicant_cancels_only_until_work_has_started() {
        for kind in [MeterDamageInvestigation, AccountChange] {
            for status in Status::ALL {
                let may_cancel = next_status(kind, status, Action::Cancel, Role::Applicant).is_ok();
                let expected = matches!(
                    status,
                    Status::Draft | Status::Submitted | Status::ReturnedForCorrection
                );
                assert_eq!(may_cancel, expected, "{kind:?} {status:?}");
            }
        }
    }

    #[test]
    fn roles_are_kept_apart() {
        assert_eq!(
            next_status(
                MeterDamageInvestigation,
                Status::Submitted,
                Action::Accept,
                Role::Applicant
            ),
            Err(TransitionError::NotForThisRole {
                action: Action::Accept,
                role: Role::Applicant
            })
        );
        assert_eq!(
            next_status(AccountChange, Status::Draft, Action::Submit, Role::Operator),
            Err(TransitionError::NotForThisRole {
                action: Action::Submit,
                role: Role::Operator
            })
        );
        for status in Status::ALL {
            assert!(allowed_actions(AccountChange, status, Role::Admin).is_empty());
        }
    }

    #[test]
    fn actions_of_the_other_kind_are_refused() {
        assert_eq!(
            next_status(
                AccountChange,
                Status::Submitted,
                Action::Accept,
                Role::Operator
            ),
            Err(TransitionError::NotInThisStatus {
                action: Action::Accept,
                status: Status::Submitted
            })
        );
        assert!(
            next_status(
                MeterDamageInvestigation,
                Status::Submitted,
                Action::StartReview,
                Role::Operator
            )
            .is_err()
        );
    }

    #[test]
    fn allowed_actions_of_a_fresh_draft() {
        assert_eq!(
            allowed_actions(MeterDamageInvestigation, Status::Draft, Role::Applicant),
            vec![Action::Submit, Action::Cancel]
        );
        assert_eq!(
            allowed_actions(AccountChange, Status::Submitted, Role::Operator),
            vec![
                Action::StartReview,
                Action::Reject,
                Action::ReturnForCorrection
            ]
        );
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
    }

    #[test]
    fn open_final_and_draft_partition_the_statuses() {
        for s in Status::ALL {
            let classes = [s == Status::Draft, s.is_open(), s.is_final()];
            assert_eq!(classes.iter().filter(|c| **c).count(), 1, "{s:?}");
        }
    }

    fn any_kind() -> impl Strategy<Value = ApplicationKind> {
        prop_oneof![Just(MeterDamageInvestigation), Just(AccountChange)]
    }

    proptest! {
        #[test]
        fn every_transition_stays_within_the_kind_and_never_leaves_a_final_status(
            kind in any_kind(),
            status in proptest::sample::select(Status::ALL.to_vec()),
            action in proptest::sample::select(Action::ALL.to_vec()),
            role in proptest::sample::select(Role::ALL.to_vec()),
        ) {
            if let Ok(to) = next_status(kind, status, action, role) {
                prop_assert!(!status.is_final());
                prop_assert!(status.applies_to(kind) && to.applies_to(kind));
                prop_assert_ne!(to, Status::Draft);
                prop_assert!(allowed_actions(kind, status, role).contains(&action));
            } else {
                prop_assert!(!allowed_actions(kind, status, role).contains(&action));
            }
        }

        #[test]
        fn every_reachable_status_reaches_a_final_one(
            kind in any_kind(),
            walk in proptest::collection::vec(0usize..16, 0..12),
        ) {
            // Random walks through allowed actions: never stuck before a final status.
            let mut status = Status::Draft;
            for choice in walk {
                let options: Vec<(Action, Role)> = Role::ALL
                    .into_iter()
                    .flat_map(|role| allowed_actions(kind, status, role).into_iter().map(move |a| (a, role)))
                    .collect();
                if status.is_final() {
                    prop_assert!(options.is_empty());
                    break;
                }
                prop_assert!(!options.is_empty(), "stuck in {:?}", status);
                let (action, role) = options[choice % options.len()];
                status = next_status(kind, status, action, role).unwrap_or(status);
            }
        }
    }
}
