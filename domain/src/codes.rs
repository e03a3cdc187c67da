//! The codes by which billing knows an electricity customer: the residential subscriber code,
//! the non-residential head code and the metering points under it.
//!
//! The formats follow the company's billing system; a code that passes `parse` may still be
//! unknown to billing, which the rules in [`crate::meter_damage`] and
//! [`crate::account_change`] decide.

use crate::text::{dashed_code, is_digits, string_newtype};
use serde::Serialize;

/// Identifies a residential subscriber's account (abonent kodu): exactly 10 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SubscriberCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a subscriber code is exactly 10 digits")]
pub struct InvalidSubscriberCode;

impl SubscriberCode {
    pub const LENGTH: usize = 10;

    pub fn parse(input: &str) -> Result<Self, InvalidSubscriberCode> {
        let candidate = input.trim();
        if is_digits(candidate, Self::LENGTH, Self::LENGTH) {
            Ok(Self(candidate.to_owned()))
        } else {
            Err(InvalidSubscriberCode)
        }
    }
}
string_newtype!(SubscriberCode);

/// Identifies a non-residential customer's contract (baş kod): exactly 8 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct HeadCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a head code is exactly 8 digits")]
pub struct InvalidHeadCode;

impl HeadCode {
    pub const LENGTH: usize = 8;

    pub fn parse(input: &str) -> Result<Self, InvalidHeadCode> {
        let candidate = input.trim();
        if is_digits(candidate, Self::LENGTH, Self::LENGTH) {
            Ok(Self(candidate.to_owned()))
        } else {
            Err(InvalidHeadCode)
        }
    }
}
string_newtype!(HeadCode);

/// Identifies one metered supply point (uçot nöqtəsi) under a head code: 1 to 32 Latin capital
/// letters, digits and dashes, such as `50000001-01`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MeteringPointCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a metering point code is 1 to 32 Latin letters, digits and dashes")]
pub struct InvalidMeteringPointCode;

impl MeteringPointCode {
    pub const MAX_LENGTH: usize = 32;

    pub fn parse(input: &str) -> Result<Self, InvalidMeteringPointCode> {
        dashed_code(input, 1, Self::MAX_LENGTH)
            .map(Self)
            .ok_or(InvalidMeteringPointCode)
    }
}
string_newtype!(MeteringPointCode);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn subscriber_codes_are_ten_digits() {
        assert_eq!(
            SubscriberCode::parse(" 1000000001 ").map(|c| c.0),
            Ok("1000000001".to_owned())
        );
        for bad in ["", "100000000", "10000000011", "10000000a1", "1000 00001"] {
            assert_eq!(
                SubscriberCode::parse(bad),
                Err(InvalidSubscriberCode),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn head_codes_are_eight_digits() {
        assert!(HeadCode::parse("50000001").is_ok());
        for bad in ["", "5000000", "500000011", "5000000x"] {
            assert_eq!(HeadCode::parse(bad), Err(InvalidHeadCode), "{bad:?}");
        }
    }

    #[test]
    fn metering_point_codes() {
        assert_eq!(
            MeteringPointCode::parse("50000001-01").map(|c| c.0),
            Ok("50000001-01".to_owned())
        );
        assert_eq!(
            MeteringPointCode::parse("ab-1").map(|c| c.0),
            Ok("AB-1".to_owned())
        );
        for bad in ["", "50000001_01", "50000001 01", "Ə1", &"1".repeat(33)] {
            assert_eq!(
                MeteringPointCode::parse(bad),
                Err(InvalidMeteringPointCode),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn parsed_codes_parse_again_to_themselves(input in "\\PC{0,40}") {
            if let Ok(code) = SubscriberCode::parse(&input) {
                prop_assert_eq!(SubscriberCode::parse(code.as_str()), Ok(code.clone()));
            }
            if let Ok(code) = HeadCode::parse(&input) {
                prop_assert_eq!(HeadCode::parse(code.as_str()), Ok(code.clone()));
            }
            if let Ok(code) = MeteringPointCode::parse(&input) {
                prop_assert_eq!(MeteringPointCode::parse(code.as_str()), Ok(code.clone()));
            }
        }
    }
}
