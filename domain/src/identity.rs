//! Who is acting: the applicant's personal identification number (FİN), the business's taxpayer
//! identification number (VÖEN), the login method and the role.

use crate::text::{is_digits, string_newtype};
use serde::{Deserialize, Serialize};

/// Personal identification number (FİN): the 7 characters on the national ID card, Latin
/// capital letters and digits. Lower-case input is accepted and normalised to upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Pin(String);

/// Why a text is not a [`Pin`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a personal identification number (FİN) is exactly 7 Latin letters and digits")]
pub struct InvalidPin;

impl Pin {
    pub const LENGTH: usize = 7;

    pub fn parse(input: &str) -> Result<Self, InvalidPin> {
        let candidate = input.trim().to_ascii_uppercase();
        let well_formed = candidate.len() == Self::LENGTH
            && candidate
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if well_formed {
            Ok(Self(candidate))
        } else {
            Err(InvalidPin)
        }
    }
}

string_newtype!(Pin);

/// Taxpayer identification number (VÖEN): exactly 10 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Tin(String);

/// Why a text is not a [`Tin`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a taxpayer identification number (VÖEN) is exactly 10 digits")]
pub struct InvalidTin;

impl Tin {
    pub const LENGTH: usize = 10;

    pub fn parse(input: &str) -> Result<Self, InvalidTin> {
        let candidate = input.trim();
        if is_digits(candidate, Self::LENGTH, Self::LENGTH) {
            Ok(Self(candidate.to_owned()))
        } else {
            Err(InvalidTin)
        }
    }
}

string_newtype!(Tin);

/// How the person signed in on the portal: the seeds' three ways in. Recorded on each
/// application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoginMethod {
    /// Electronic signature with a certificate.
    ESignature,
    /// Asan İmza, the mobile signature.
    AsanImza,
    /// The username and password issued by the e-government system.
    Password,
}

impl LoginMethod {
    pub const ALL: [Self; 3] = [Self::ESignature, Self::AsanImza, Self::Password];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ESignature => "e-signature",
            Self::AsanImza => "asan-imza",
            Self::Password => "password",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == input)
    }
}

/// What a person may do, from the token's `roles` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A citizen or a business's representative acting for themselves.
    Applicant,
    /// A company employee who works applications of one department.
    Operator,
    /// A company employee who oversees all departments.
    Supervisor,
    /// Administers the service.
    Admin,
}

impl Role {
    pub const ALL: [Self; 4] = [
        Self::Applicant,
        Self::Operator,
        Self::Supervisor,
        Self::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applicant => "applicant",
            Self::Operator => "operator",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == input)
    }
}

/// The signed-in applicant, as established by authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub pin: Pin,
    /// Set when the person acts for a business or as an entrepreneur.
    pub tin: Option<Tin>,
    pub login_method: LoginMethod,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pin_accepts_seven_letters_and_digits_and_normalises_case() {
        assert_eq!(Pin::parse("5abc12z").map(|p| p.0), Ok("5ABC12Z".to_owned()));
        assert_eq!(
            Pin::parse(" 1ABC234 ").map(|p| p.0),
            Ok("1ABC234".to_owned())
        );
    }

    #[test]
    fn pin_refuses_wrong_lengths_and_characters() {
        for bad in [
            "", "1ABC23", "1ABC2345", "1AB-234", "1ABÇ234", "1AB 234", "1ABC23\0",
        ] {
            assert_eq!(Pin::parse(bad), Err(InvalidPin), "{bad:?}");
        }
    }

    #[test]
    fn tin_is_exactly_ten_digits() {
        assert!(Tin::parse("1234567890").is_ok());
        for bad in ["123456789", "12345678901", "12345678a0", "", "١٢٣٤٥٦٧٨٩٠"] {
            assert_eq!(Tin::parse(bad), Err(InvalidTin), "{bad:?}");
        }
    }

    #[test]
    fn login_methods_and_roles_round_trip_their_names() {
        for m in LoginMethod::ALL {
            assert_eq!(LoginMethod::parse(m.as_str()), Some(m));
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(LoginMethod::parse("sms"), None);
        assert_eq!(Role::parse("root"), None);
    }

    proptest! {
        #[test]
        fn any_parsed_pin_is_seven_upper_alphanumerics(input in "\\PC{0,12}") {
            if let Ok(pin) = Pin::parse(&input) {
                prop_assert_eq!(pin.as_str().len(), 7);
                prop_assert!(pin.as_str().chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
                prop_assert_eq!(Pin::parse(pin.as_str()), Ok(pin.clone()));
            }
        }

        #[test]
        fn every_seven_char_alphanumeric_is_a_pin(input in "[0-9A-Za-z]{7}") {
            prop_assert!(Pin::parse(&input).is_ok());
        }
    }
}
