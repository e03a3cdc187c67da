//! The shapes of an application's steps, the same in requests and responses, and their parsing
//! into domain types with every field at fault reported.

use crate::problem::{ApiError, FieldViolation};
use crate::vocabulary::{AccountChangeVariant, PropertyType};
use domain::application::{self, DamageDescription, InvalidDamageDescription, MeterDamageTarget};
use domain::codes::{HeadCode, MeteringPointCode, SubscriberCode};
use domain::contact::{ContactInformation, InvalidContact, InvalidMobileNumber};
use domain::property::{InvalidPropertyData, PropertyData};
use domain::service::StepChanges;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationErrors};

/// Meter damage: which account the damage is about. Residential subscribers pick one of their
/// subscriber codes (`GET /me/subscriber-accounts`); non-residential ones a head code
/// (`GET /me/head-codes`) and a metering point under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SubscriberSelection {
    #[schema(title = "Residential")]
    Residential {
        #[schema(example = "1000000001", max_length = 10)]
        subscriber_code: String,
    },
    #[schema(title = "NonResidential")]
    NonResidential {
        #[schema(example = "50000001", max_length = 8)]
        head_code: String,
        #[schema(example = "50000001-02", max_length = 32)]
        metering_point: String,
    },
}

/// Account change: the variant and the subscriber code, which is checked for unpaid debt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AccountSelection {
    pub variant: AccountChangeVariant,
    #[schema(example = "1000000004", max_length = 10)]
    #[validate(length(max = 64))]
    pub subscriber_code: String,
}

/// Account change: the private house or apartment, from the real-estate register extract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Property {
    /// A code from `GET /districts`.
    #[schema(example = "AZ-BA-NRM", max_length = 9)]
    #[validate(length(max = 64))]
    pub district: String,
    #[schema(example = "110033056204", max_length = 32)]
    #[validate(length(max = 64))]
    pub registry_number: String,
    #[schema(example = "2026-203517", max_length = 32)]
    #[validate(length(max = 64))]
    pub registration_number: String,
    pub property_type: PropertyType,
}

/// Contact information: 1 to 3 active Azerbaijani mobile numbers (any usual written form;
/// answered in E.164) and an optional e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[schema(example = json!(["+994501234567"]), min_items = 1, max_items = 3, value_type = Vec<MobileNumberText>)]
    #[validate(length(max = 10), custom(function = "short_items"))]
    pub mobile_numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "resad.memmedov@example.az", max_length = 254)]
    #[validate(length(max = 320))]
    pub email: Option<String>,
}

/// One mobile number as written: `050 123 45 67`, `+994 50 123 45 67`, `0501234567`…; at most
/// 64 characters.
#[derive(Debug, ToSchema)]
#[schema(max_length = 64, example = "050 123 45 67")]
pub struct MobileNumberText(pub String);

fn short_items(items: &[String]) -> Result<(), validator::ValidationError> {
    if items.iter().all(|item| item.chars().count() <= 64) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("too-long"))
    }
}

/// The steps a create or update request may carry; `None` leaves a step as it is.
#[derive(Debug, Clone, Copy)]
pub struct StepFields<'a> {
    pub subscriber: Option<&'a SubscriberSelection>,
    pub damage_description: Option<&'a str>,
    pub account: Option<&'a AccountSelection>,
    pub property: Option<&'a Property>,
    pub contact: Option<&'a Contact>,
}

fn violation(field: impl Into<String>, code: &str, message: &impl ToString) -> FieldViolation {
    FieldViolation::new(field, code, message.to_string())
}

/// The validator's bounds first (they keep absurd input away from the parsers), then the
/// domain's formats.
fn bounds(prefix: &str, result: &Result<(), ValidationErrors>, errors: &mut Vec<FieldViolation>) {
    if let Err(failed) = result {
        for (field, field_errors) in failed.field_errors() {
            for error in field_errors {
                errors.push(violation(
                    format!("{prefix}.{field}"),
                    "too-long",
                    &error
                        .message
                        .clone()
                        .unwrap_or_else(|| "too long or too many items".into()),
                ));
            }
        }
    }
}

impl StepFields<'_> {
    /// Parses the given steps into domain types, or reports every field at fault.
    pub fn parse(self) -> Result<StepChanges, ApiError> {
        let mut errors = Vec::new();
        let mut changes = StepChanges::default();
        if let Some(selection) = self.subscriber {
            changes.subscriber = parse_subscriber(selection, &mut errors);
        }
        if let Some(text) = self.damage_description {
            match DamageDescription::parse(text) {
                Ok(description) => changes.damage_description = Some(description),
                Err(error) => {
                    let code = match error {
                        InvalidDamageDescription::TooLong { .. } => "too-long",
                        InvalidDamageDescription::ControlCharacters => "control-characters",
                    };
                    errors.push(violation("damage_description", code, &error));
                }
            }
        }
        if let Some(account) = self.account {
            bounds("account", &account.validate(), &mut errors);
            match SubscriberCode::parse(&account.subscriber_code) {
                Ok(subscriber_code) => {
                    changes.account = Some(application::AccountSelection {
                        variant: account.variant.into(),
                        subscriber_code,
                    });
                }
                Err(error) => errors.push(violation(
                    "account.subscriber_code",
                    "invalid-subscriber-code",
                    &error,
                )),
            }
        }
        if let Some(property) = self.property {
            let before = errors.len();
            bounds("property", &property.validate(), &mut errors);
            if errors.len() == before {
                match PropertyData::parse(
                    &property.district,
                    &property.registry_number,
                    &property.registration_number,
                    domain::property::PropertyType::from(property.property_type).as_str(),
                ) {
                    Ok(data) => changes.property = Some(data),
                    Err(faults) => errors.extend(faults.iter().map(property_violation)),
                }
            }
        }
        if let Some(contact) = self.contact {
            let before = errors.len();
            bounds("contact", &contact.validate(), &mut errors);
            if errors.len() == before {
                match ContactInformation::parse(&contact.mobile_numbers, contact.email.as_deref()) {
                    Ok(information) => changes.contact = Some(information),
                    Err(faults) => errors.extend(faults.iter().map(contact_violation)),
                }
            }
        }
        if errors.is_empty() {
            Ok(changes)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

fn parse_subscriber(
    selection: &SubscriberSelection,
    errors: &mut Vec<FieldViolation>,
) -> Option<MeterDamageTarget> {
    match selection {
        SubscriberSelection::Residential { subscriber_code } => {
            match SubscriberCode::parse(subscriber_code) {
                Ok(subscriber_code) => Some(MeterDamageTarget::Residential { subscriber_code }),
                Err(error) => {
                    errors.push(violation(
                        "subscriber.subscriber_code",
                        "invalid-subscriber-code",
                        &error,
                    ));
                    None
                }
            }
        }
        SubscriberSelection::NonResidential {
            head_code,
            metering_point,
        } => {
            let head = HeadCode::parse(head_code)
                .map_err(|error| {
                    errors.push(violation(
                        "subscriber.head_code",
                        "invalid-head-code",
                        &error,
                    ))
                })
                .ok();
            let point = MeteringPointCode::parse(metering_point)
                .map_err(|error| {
                    errors.push(violation(
                        "subscriber.metering_point",
                        "invalid-metering-point-code",
                        &error,
                    ));
                })
                .ok();
            Some(MeterDamageTarget::NonResidential {
                head_code: head?,
                metering_point: point?,
            })
        }
    }
}

fn property_violation(fault: &InvalidPropertyData) -> FieldViolation {
    let (field, code) = match fault {
        InvalidPropertyData::District(_) => ("property.district", "unknown-district"),
        InvalidPropertyData::RegistryNumber(_) => {
            ("property.registry_number", "invalid-register-number")
        }
        InvalidPropertyData::RegistrationNumber(_) => {
            ("property.registration_number", "invalid-register-number")
        }
        InvalidPropertyData::PropertyType => ("property.property_type", "invalid-property-type"),
    };
    violation(field, code, fault)
}

fn contact_violation(fault: &InvalidContact) -> FieldViolation {
    match fault {
        InvalidContact::NoMobileNumber => violation("contact.mobile_numbers", "required", fault),
        InvalidContact::TooManyMobileNumbers { .. } => {
            violation("contact.mobile_numbers", "too-many", fault)
        }
        InvalidContact::MobileNumber { index, reason } => {
            let code = match reason {
                InvalidMobileNumber::Malformed => "invalid-mobile-number",
                InvalidMobileNumber::UnknownOperatorCode(_) => "unknown-operator-code",
            };
            violation(format!("contact.mobile_numbers[{index}]"), code, reason)
        }
        InvalidContact::RepeatedMobileNumber { index } => violation(
            format!("contact.mobile_numbers[{index}]"),
            "repeated",
            fault,
        ),
        InvalidContact::Email(reason) => violation("contact.email", "invalid-email", reason),
    }
}
