//! The API's names for the domain's enumerations, with their OpenAPI schemas. Each converts to
//! and from its domain twin; the wire names are the domain's `as_str` names.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident => $domain:path { $($variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name { $($variant,)* }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => <$domain>::$variant,)* }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => $name::$variant,)* }
            }
        }
    };
}

mirror_enum! {
    /// The language of the applicant's SMS and e-mails: `az` (the default), `en`, `ru`.
    Language => domain::notifications::Language { Az, En, Ru }
}

mirror_enum! {
    /// What happened: the applicant is told of `registered`, `resubmitted`, `accepted`,
    /// `inspection-scheduled`, `returned-for-correction`, `approved`, `rejected`, `completed` and
    /// `documents-ready`; webhooks receive every type.
    EventType => domain::notifications::EventType {
        Registered, Resubmitted, Accepted, InspectionScheduled, Inspected, ReviewStarted,
        ReturnedForCorrection, Approved, Rejected, Completed, Cancelled, DocumentsReady,
    }
}

mirror_enum! {
    /// How a message travels.
    Channel => domain::notifications::Channel { Sms, Email, Webhook }
}

mirror_enum! {
    /// `queued` (waiting for its next attempt), `sent` (accepted by the SMTP server, the SMS
    /// gateway or the webhook receiver), `delivered` (the SMS gateway reported it on the phone),
    /// `failed` (given up; staff can retry it).
    DeliveryStatus => domain::notifications::DeliveryStatus { Queued, Sent, Delivered, Failed }
}

mirror_enum! {
    /// The e-service: `meter-damage-investigation` (service 1) or `account-change` (service 2).
    ApplicationKind => domain::application::ApplicationKind { MeterDamageInvestigation, AccountChange }
}

mirror_enum! {
    /// The application's status. `draft` until submitted; `submitted`, `accepted`,
    /// `inspection-scheduled`, `inspected` (meter damage), `under-review` (account change),
    /// `returned-for-correction` while open; `completed`, `approved`, `rejected`, `cancelled` at
    /// the end.
    Status => domain::status::Status {
        Draft, Submitted, Accepted, InspectionScheduled, Inspected, UnderReview,
        ReturnedForCorrection, Completed, Approved, Rejected, Cancelled,
    }
}

mirror_enum! {
    /// Something done to an application; the timeline's entries and the actions the caller may
    /// take next.
    Action => domain::status::Action {
        Create, Submit, Cancel, Accept, ScheduleInspection, RecordInspection, Complete,
        StartReview, Approve, Reject, ReturnForCorrection, Resubmit, Assign,
    }
}

mirror_enum! {
    /// Who acted.
    Role => domain::identity::Role { Applicant, Operator, Supervisor, Admin }
}

mirror_enum! {
    /// How the applicant signed in on the portal.
    LoginMethod => domain::identity::LoginMethod { ESignature, AsanImza, Password }
}

mirror_enum! {
    /// `transfer` to the applicant, or `name-change` of the applicant's own account.
    AccountChangeVariant => domain::application::AccountChangeVariant { Transfer, NameChange }
}

mirror_enum! {
    /// Private house or apartment.
    PropertyType => domain::property::PropertyType { PrivateHouse, Apartment }
}

mirror_enum! {
    /// The cause of meter damage an inspection records (a fixed list).
    DamageCause => domain::workflow::DamageCause {
        MechanicalDamage, BrokenSeal, Burnout, Overvoltage, WaterIngress, Tampering,
        ManufacturingDefect, WearAndTear, Other,
    }
}

/// A step of the application form, by its request field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Subscriber,
    DamageDescription,
    Account,
    Property,
    Contact,
}

impl From<Step> for domain::application::Step {
    fn from(value: Step) -> Self {
        match value {
            Step::Subscriber => Self::Subscriber,
            Step::DamageDescription => Self::DamageDescription,
            Step::Account => Self::Account,
            Step::Property => Self::Property,
            Step::Contact => Self::Contact,
        }
    }
}

impl From<domain::application::Step> for Step {
    fn from(value: domain::application::Step) -> Self {
        use domain::application::Step as S;
        match value {
            S::Subscriber => Self::Subscriber,
            S::DamageDescription => Self::DamageDescription,
            S::Account => Self::Account,
            S::Property => Self::Property,
            S::Contact => Self::Contact,
        }
    }
}

mirror_enum! {
    /// City, rayon, or one of Baku's city districts.
    DistrictKind => domain::district::DistrictKind { City, Rayon, CityDistrict }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire<T: Serialize>(value: T) -> String {
        serde_json::to_value(value)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    #[test]
    fn wire_names_are_the_domain_names() {
        for s in domain::status::Status::ALL {
            assert_eq!(wire(Status::from(s)), s.as_str());
        }
        for a in domain::status::Action::ALL {
            assert_eq!(wire(Action::from(a)), a.as_str());
        }
        for k in domain::application::ApplicationKind::ALL {
            assert_eq!(wire(ApplicationKind::from(k)), k.as_str());
        }
        for m in domain::identity::LoginMethod::ALL {
            assert_eq!(wire(LoginMethod::from(m)), m.as_str());
        }
        for r in domain::identity::Role::ALL {
            assert_eq!(wire(Role::from(r)), r.as_str());
        }
        for v in domain::application::AccountChangeVariant::ALL {
            assert_eq!(wire(AccountChangeVariant::from(v)), v.as_str());
        }
        for t in domain::property::PropertyType::ALL {
            assert_eq!(wire(PropertyType::from(t)), t.as_str());
        }
        for c in domain::workflow::DamageCause::ALL {
            assert_eq!(wire(DamageCause::from(c)), c.as_str());
        }
        for s in domain::application::Step::ALL {
            assert_eq!(wire(Step::from(s)), s.field());
        }
    }
}
