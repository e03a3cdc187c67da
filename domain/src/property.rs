//! The object information of an account change: the property's district and the numbers of its
//! real-estate register extract, and whether it is a private house or an apartment.

use crate::district::{DistrictCode, UnknownDistrict};
use crate::text::string_newtype;
use serde::{Deserialize, Serialize};

/// The private house or apartment type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PropertyType {
    PrivateHouse,
    Apartment,
}

impl PropertyType {
    pub const ALL: [Self; 2] = [Self::PrivateHouse, Self::Apartment];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrivateHouse => "private-house",
            Self::Apartment => "apartment",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == input)
    }
}

/// A number on the real-estate register extract (the registry number or the registration
/// number): 1 to 32 Latin letters, digits, `/` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RegisterExtractNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a register extract number is 1 to 32 Latin letters, digits, '/' and '-'")]
pub struct InvalidRegisterExtractNumber;

impl RegisterExtractNumber {
    pub const MAX_LENGTH: usize = 32;

    pub fn parse(input: &str) -> Result<Self, InvalidRegisterExtractNumber> {
        let candidate = input.trim();
        let well_formed = (1..=Self::MAX_LENGTH).contains(&candidate.len())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '-');
        if well_formed {
            Ok(Self(candidate.to_owned()))
        } else {
            Err(InvalidRegisterExtractNumber)
        }
    }
}
string_newtype!(RegisterExtractNumber);

/// How the property registry finds a property.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PropertyKey {
    pub district: DistrictCode,
    pub registry_number: RegisterExtractNumber,
    pub registration_number: RegisterExtractNumber,
}

/// The object step of an account change as the applicant fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyData {
    pub key: PropertyKey,
    pub property_type: PropertyType,
}

/// Why the object step is refused, field by field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPropertyData {
    #[error("district: {0}")]
    District(UnknownDistrict),
    #[error("registry number: {0}")]
    RegistryNumber(InvalidRegisterExtractNumber),
    #[error("registration number: {0}")]
    RegistrationNumber(InvalidRegisterExtractNumber),
    #[error("property type: must be private-house or apartment")]
    PropertyType,
}

impl PropertyData {
    pub fn parse(
        district: &str,
        registry_number: &str,
        registration_number: &str,
        property_type: &str,
    ) -> Result<Self, Vec<InvalidPropertyData>> {
        let district = DistrictCode::parse(district).map_err(InvalidPropertyData::District);
        let registry = RegisterExtractNumber::parse(registry_number)
            .map_err(InvalidPropertyData::RegistryNumber);
        let registration = RegisterExtractNumber::parse(registration_number)
            .map_err(InvalidPropertyData::RegistrationNumber);
        let property_type =
            PropertyType::parse(property_type).ok_or(InvalidPropertyData::PropertyType);
        match (district, registry, registration, property_type) {
            (Ok(district), Ok(registry_number), Ok(registration_number), Ok(property_type)) => {
                Ok(Self {
                    key: PropertyKey {
                        district,
                        registry_number,
                        registration_number,
                    },
                    property_type,
                })
            }
            (district, registry, registration, property_type) => Err([
                district.err(),
                registry.err(),
                registration.err(),
                property_type.err(),
            ]
            .into_iter()
            .flatten()
            .collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_complete_object_step() {
        let data = PropertyData::parse("AZ-BA-YSM", "110011012345", "2024/12-345", "apartment");
        assert!(data.is_ok());
        let data = PropertyData::parse("az-sm", " 1 ", "X", "private-house");
        assert_eq!(data.map(|d| d.key.district.as_str()), Ok("AZ-SM"));
    }

    #[test]
    fn reports_every_field_at_fault() {
        let errors = PropertyData::parse("AZ-XX", "", "a b", "villa").err();
        assert_eq!(
            errors,
            Some(vec![
                InvalidPropertyData::District(UnknownDistrict),
                InvalidPropertyData::RegistryNumber(InvalidRegisterExtractNumber),
                InvalidPropertyData::RegistrationNumber(InvalidRegisterExtractNumber),
                InvalidPropertyData::PropertyType,
            ])
        );
        assert!(RegisterExtractNumber::parse(&"1".repeat(33)).is_err());
        assert!(RegisterExtractNumber::parse("12\u{0}3").is_err());
    }
}
