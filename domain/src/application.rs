//! An application (müraciət): its kind, its human-readable number, the steps the applicant fills
//! in, and its timeline.

use crate::codes::{HeadCode, MeteringPointCode, SubscriberCode};
use crate::contact::ContactInformation;
use crate::district::DistrictCode;
use crate::identity::{Applicant, Role};
use crate::money::Qapik;
use crate::notifications::Language;
use crate::property::PropertyData;
use crate::routing::DepartmentCode;
use crate::status::{Action, Status};
use crate::text::{FreeTextFault, free_text, string_newtype};
use crate::workflow::Outcome;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The two e-services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApplicationKind {
    /// Investigation of meter damage (service 1).
    MeterDamageInvestigation,
    /// Transfer of the personal account, or its update after a name change (service 2).
    AccountChange,
}

impl ApplicationKind {
    pub const ALL: [Self; 2] = [Self::MeterDamageInvestigation, Self::AccountChange];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MeterDamageInvestigation => "meter-damage-investigation",
            Self::AccountChange => "account-change",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == input)
    }

    /// The first part of the application number.
    pub fn number_prefix(self) -> &'static str {
        match self {
            Self::MeterDamageInvestigation => "MD",
            Self::AccountChange => "AC",
        }
    }
}

/// The application number shown to the applicant: kind prefix, year, zero-padded sequence,
/// like `MD-2026-000042`. The sequence is per kind and year; the store allocates it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ApplicationNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an application number looks like MD-2026-000042 or AC-2026-000042")]
pub struct InvalidApplicationNumber;

impl ApplicationNumber {
    const SEQUENCE_DIGITS: usize = 6;

    pub fn new(kind: ApplicationKind, year: i32, sequence: u64) -> Self {
        Self(format!(
            "{}-{year:04}-{sequence:0width$}",
            kind.number_prefix(),
            width = Self::SEQUENCE_DIGITS
        ))
    }

    pub fn parse(input: &str) -> Result<Self, InvalidApplicationNumber> {
        let candidate = input.trim().to_ascii_uppercase();
        let mut parts = candidate.split('-');
        let (Some(prefix), Some(year), Some(sequence), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidApplicationNumber);
        };
        let known_prefix = ApplicationKind::ALL
            .iter()
            .any(|k| k.number_prefix() == prefix);
        let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        if known_prefix
            && year.len() == 4
            && digits(year)
            && sequence.len() >= Self::SEQUENCE_DIGITS
            && sequence.len() <= 12
            && digits(sequence)
        {
            Ok(Self(candidate))
        } else {
            Err(InvalidApplicationNumber)
        }
    }

    pub fn kind(&self) -> Option<ApplicationKind> {
        ApplicationKind::ALL
            .into_iter()
            .find(|k| self.0.starts_with(k.number_prefix()))
    }
}
string_newtype!(ApplicationNumber);

/// The applicant's own words about the damage: at most 2000 characters, no control characters
/// but line breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DamageDescription(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDamageDescription {
    #[error("the description is at most {max} characters")]
    TooLong { max: usize },
    #[error("the description may not contain control characters")]
    ControlCharacters,
}

impl DamageDescription {
    pub const MAX_CHARACTERS: usize = 2000;

    /// A blank description is no description.
    pub fn parse(input: &str) -> Result<Option<Self>, InvalidDamageDescription> {
        match free_text(input, Self::MAX_CHARACTERS) {
            Ok(text) => Ok(text.map(Self)),
            Err(FreeTextFault::TooLong) => Err(InvalidDamageDescription::TooLong {
                max: Self::MAX_CHARACTERS,
            }),
            Err(FreeTextFault::ControlCharacters) => {
                Err(InvalidDamageDescription::ControlCharacters)
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a meter damage investigation is about: a residential subscriber code, or a metering
/// point under a non-residential head code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeterDamageTarget {
    Residential {
        subscriber_code: SubscriberCode,
    },
    NonResidential {
        head_code: HeadCode,
        metering_point: MeteringPointCode,
    },
}

/// Transfer to another person, or update after the holder's name changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountChangeVariant {
    Transfer,
    NameChange,
}

impl AccountChangeVariant {
    pub const ALL: [Self; 2] = [Self::Transfer, Self::NameChange];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
            Self::NameChange => "name-change",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == input)
    }
}

/// The account step of an account change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSelection {
    pub variant: AccountChangeVariant,
    pub subscriber_code: SubscriberCode,
}

/// The result of the debt check, recorded with the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebtCheck {
    pub amount: Qapik,
    /// When billing stated the balance.
    pub as_of: DateTime<Utc>,
    /// When this service asked.
    pub checked_at: DateTime<Utc>,
}

/// The steps of an application, by kind. A draft may have any of them missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Steps {
    MeterDamage {
        target: Option<MeterDamageTarget>,
        description: Option<DamageDescription>,
    },
    AccountChange {
        account: Option<AccountSelection>,
        property: Option<PropertyData>,
        debt_check: Option<DebtCheck>,
    },
}

impl Steps {
    pub fn empty(kind: ApplicationKind) -> Self {
        match kind {
            ApplicationKind::MeterDamageInvestigation => Self::MeterDamage {
                target: None,
                description: None,
            },
            ApplicationKind::AccountChange => Self::AccountChange {
                account: None,
                property: None,
                debt_check: None,
            },
        }
    }

    pub fn kind(&self) -> ApplicationKind {
        match self {
            Self::MeterDamage { .. } => ApplicationKind::MeterDamageInvestigation,
            Self::AccountChange { .. } => ApplicationKind::AccountChange,
        }
    }

    /// The key under which at most one open application of this kind may exist: the
    /// subscriber code, or the metering point.
    pub fn target_key(&self) -> Option<String> {
        match self {
            Self::MeterDamage {
                target: Some(MeterDamageTarget::Residential { subscriber_code }),
                ..
            }
            | Self::AccountChange {
                account:
                    Some(AccountSelection {
                        subscriber_code, ..
                    }),
                ..
            } => Some(format!("subscriber:{subscriber_code}")),
            Self::MeterDamage {
                target: Some(MeterDamageTarget::NonResidential { metering_point, .. }),
                ..
            } => Some(format!("metering-point:{metering_point}")),
            _ => None,
        }
    }
}

/// Who made a timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The person's PIN, or a staff member's or system's identifier.
    pub id: String,
    pub role: Role,
}

/// One status change in the application's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: Action,
    pub from: Option<Status>,
    pub to: Status,
    pub comment: Option<String>,
}

/// The company's side of an application: where it is worked, by whom, until when, and what came
/// of it. Empty for a draft.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Work {
    /// The district it is routed by (the supply address's, or the property's).
    pub district: Option<DistrictCode>,
    /// `None` when no department serves the district: supervisors see it and assign it.
    pub department: Option<DepartmentCode>,
    /// The operator it is assigned to, by their identifier.
    pub assignee: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub outcome: Outcome,
}

/// An application as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub number: ApplicationNumber,
    pub status: Status,
    pub applicant: Applicant,
    pub steps: Steps,
    pub contact: Option<ContactInformation>,
    pub work: Work,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// Grows by one with every stored change; the store refuses a change made from an older one.
    pub version: i64,
    pub timeline: Vec<TimelineEntry>,
    /// The language of the applicant's messages.
    pub language: Language,
}

impl Application {
    pub fn kind(&self) -> ApplicationKind {
        self.steps.kind()
    }

    /// Whether `applicant` may see this application: the same person, acting in the same
    /// capacity (for themselves, or for the same business), as when it was made.
    pub fn belongs_to(&self, applicant: &Applicant) -> bool {
        self.applicant.pin == applicant.pin && self.applicant.tin == applicant.tin
    }
}

/// An application about to be stored for the first time (a draft, or a draft submitted in the
/// same call); the store gives it its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    pub status: Status,
    pub applicant: Applicant,
    pub steps: Steps,
    pub contact: Option<ContactInformation>,
    pub work: Work,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub timeline: Vec<TimelineEntry>,
    pub language: Language,
}

/// A step of the portal's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Meter damage: the subscriber code, or the head code and metering point.
    Subscriber,
    /// Account change: the variant and the subscriber code.
    Account,
    /// Account change: the property.
    Property,
    /// Meter damage: the applicant's optional description of the damage.
    DamageDescription,
    /// Mobile numbers and e-mail.
    Contact,
}

impl Step {
    pub const ALL: [Self; 5] = [
        Self::Subscriber,
        Self::Account,
        Self::Property,
        Self::DamageDescription,
        Self::Contact,
    ];

    pub fn parse(field: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.field() == field)
    }

    /// The request field that fills the step.
    pub fn field(self) -> &'static str {
        match self {
            Self::Subscriber => "subscriber",
            Self::Account => "account",
            Self::Property => "property",
            Self::DamageDescription => "damage_description",
            Self::Contact => "contact",
        }
    }
}

/// The steps still missing before an application can be submitted.
pub fn missing_steps(steps: &Steps, contact: Option<&ContactInformation>) -> Vec<Step> {
    let mut missing = match steps {
        Steps::MeterDamage { target, .. } => {
            if target.is_none() {
                vec![Step::Subscriber]
            } else {
                vec![]
            }
        }
        Steps::AccountChange {
            account, property, ..
        } => [
            account.is_none().then_some(Step::Account),
            property.is_none().then_some(Step::Property),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    if contact.is_none() {
        missing.push(Step::Contact);
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_carry_kind_year_and_padded_sequence() {
        let number = ApplicationNumber::new(ApplicationKind::MeterDamageInvestigation, 2026, 42);
        assert_eq!(number.as_str(), "MD-2026-000042");
        assert_eq!(
            number.kind(),
            Some(ApplicationKind::MeterDamageInvestigation)
        );
        let big = ApplicationNumber::new(ApplicationKind::AccountChange, 2026, 1_234_567);
        assert_eq!(big.as_str(), "AC-2026-1234567");
        assert_eq!(ApplicationNumber::parse(big.as_str()), Ok(big));
        assert_eq!(ApplicationNumber::parse("md-2026-000042"), Ok(number));
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for bad in [
            "",
            "MD-2026",
            "XX-2026-000001",
            "MD-26-000001",
            "MD-2026-1",
            "MD-2026-00000a",
            "MD-2026-000001-1",
        ] {
            assert_eq!(
                ApplicationNumber::parse(bad),
                Err(InvalidApplicationNumber),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn descriptions_are_bounded_and_clean() {
        assert_eq!(DamageDescription::parse("   "), Ok(None));
        assert_eq!(
            DamageDescription::parse(" Sayğacın şüşəsi sınıb.\nPlomb qırılıb. ")
                .map(|d| d.map(|d| d.0)),
            Ok(Some("Sayğacın şüşəsi sınıb.\nPlomb qırılıb.".to_owned()))
        );
        assert_eq!(
            DamageDescription::parse(&"ə".repeat(2001)),
            Err(InvalidDamageDescription::TooLong { max: 2000 })
        );
        assert!(DamageDescription::parse(&"ə".repeat(2000)).is_ok());
        assert_eq!(
            DamageDescription::parse("a\u{0}b"),
            Err(InvalidDamageDescription::ControlCharacters)
        );
    }

    #[test]
    fn missing_steps_by_kind() {
        assert_eq!(
            missing_steps(
                &Steps::empty(ApplicationKind::MeterDamageInvestigation),
                None
            ),
            vec![Step::Subscriber, Step::Contact]
        );
        assert_eq!(
            missing_steps(&Steps::empty(ApplicationKind::AccountChange), None),
            vec![Step::Account, Step::Property, Step::Contact]
        );
        let contact = ContactInformation::parse(&["0501234567".to_owned()], None).ok();
        let code = SubscriberCode::parse("1000000001").ok();
        let complete = Steps::MeterDamage {
            target: code.map(|subscriber_code| MeterDamageTarget::Residential { subscriber_code }),
            description: None,
        };
        assert_eq!(missing_steps(&complete, contact.as_ref()), vec![]);
    }

    #[test]
    fn target_keys_separate_subscriber_codes_from_metering_points() {
        let code = SubscriberCode::parse("1000000001").ok();
        let residential = Steps::MeterDamage {
            target: code
                .clone()
                .map(|subscriber_code| MeterDamageTarget::Residential { subscriber_code }),
            description: None,
        };
        assert_eq!(
            residential.target_key().as_deref(),
            Some("subscriber:1000000001")
        );
        let account = Steps::AccountChange {
            account: code.map(|subscriber_code| AccountSelection {
                variant: AccountChangeVariant::Transfer,
                subscriber_code,
            }),
            property: None,
            debt_check: None,
        };
        assert_eq!(
            account.target_key().as_deref(),
            Some("subscriber:1000000001")
        );
        assert_eq!(
            Steps::empty(ApplicationKind::AccountChange).target_key(),
            None
        );
    }
}
