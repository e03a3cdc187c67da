//! Contact information: the applicant's mobile numbers and e-mail address.

use crate::text::string_newtype;
use serde::Serialize;

/// An Azerbaijani mobile number, stored in E.164 form (`+994501234567`).
///
/// Accepts the usual written forms: `+994 50 123 45 67`, `00994501234567`, `994501234567`,
/// `050 123 45 67`, `(050) 123-45-67`, `50 123 45 67`. The operator code must be one of
/// [`MobileNumber::OPERATOR_CODES`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct MobileNumber(String);

/// Why a text is not an Azerbaijani mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMobileNumber {
    #[error("a mobile number has 9 digits after +994 (or 10 starting with 0), like 050 123 45 67")]
    Malformed,
    #[error("{0} is not an Azerbaijani mobile operator code (10, 50, 51, 55, 60, 70, 77, 99)")]
    UnknownOperatorCode(String),
}

impl MobileNumber {
    /// The operator codes of Azerbaijan's mobile networks (Azercell, Bakcell, Nar, Naxtel).
    pub const OPERATOR_CODES: [&'static str; 8] = ["10", "50", "51", "55", "60", "70", "77", "99"];
    const COUNTRY_CODE: &'static str = "994";
    const NATIONAL_DIGITS: usize = 9;

    pub fn parse(input: &str) -> Result<Self, InvalidMobileNumber> {
        let trimmed = input.trim();
        let (has_plus, body) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(body.len());
        for c in body.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(InvalidMobileNumber::Malformed),
            }
        }
        let national = if has_plus {
            digits.strip_prefix(Self::COUNTRY_CODE)
        } else if let Some(rest) = digits.strip_prefix("00994") {
            Some(rest)
        } else if digits.len() == 12 {
            digits.strip_prefix(Self::COUNTRY_CODE)
        } else if digits.len() == 10 {
            digits.strip_prefix('0')
        } else {
            Some(digits.as_str())
        }
        .ok_or(InvalidMobileNumber::Malformed)?;
        if national.len() != Self::NATIONAL_DIGITS {
            return Err(InvalidMobileNumber::Malformed);
        }
        let operator = &national[..2];
        if !Self::OPERATOR_CODES.contains(&operator) {
            return Err(InvalidMobileNumber::UnknownOperatorCode(
                operator.to_owned(),
            ));
        }
        Ok(Self(format!("+{}{national}", Self::COUNTRY_CODE)))
    }
}

// `as_str` gives the E.164 form, `+994XXXXXXXXX`.
string_newtype!(MobileNumber);

/// An e-mail address: one `@`, a local part of the characters mail systems accept, and a domain
/// of at least two dot-separated labels. The domain is stored in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

/// Why a text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid e-mail address, like name@example.az")]
pub struct InvalidEmailAddress;

impl EmailAddress {
    pub const MAX_LENGTH: usize = 254;
    const MAX_LOCAL_LENGTH: usize = 64;
    const MAX_LABEL_LENGTH: usize = 63;

    pub fn parse(input: &str) -> Result<Self, InvalidEmailAddress> {
        let candidate = input.trim();
        if candidate.len() > Self::MAX_LENGTH {
            return Err(InvalidEmailAddress);
        }
        let (local, domain) = candidate.split_once('@').ok_or(InvalidEmailAddress)?;
        let local_ok = !local.is_empty()
            && local.len() <= Self::MAX_LOCAL_LENGTH
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= Self::MAX_LABEL_LENGTH
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
        } else {
            Err(InvalidEmailAddress)
        }
    }
}

string_newtype!(EmailAddress);

/// The contact step: at least one mobile number (the seeds: it "must hold an active mobile
/// phone number"), at most [`ContactInformation::MAX_MOBILE_NUMBERS`], no repeats, and an
/// optional e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactInformation {
    mobile_numbers: Vec<MobileNumber>,
    email: Option<EmailAddress>,
}

/// Why a contact step is refused. Indexes point into the submitted list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidContact {
    #[error("at least one mobile number is required")]
    NoMobileNumber,
    #[error("at most {max} mobile numbers may be given")]
    TooManyMobileNumbers { max: usize },
    #[error("mobile number {index}: {reason}")]
    MobileNumber {
        index: usize,
        reason: InvalidMobileNumber,
    },
    #[error("mobile number {index} repeats an earlier one")]
    RepeatedMobileNumber { index: usize },
    #[error("e-mail: {0}")]
    Email(InvalidEmailAddress),
}

impl ContactInformation {
    pub const MAX_MOBILE_NUMBERS: usize = 3;

    /// Parses the contact step as the portal's form gives it, reporting every field at fault.
    pub fn parse(
        mobile_numbers: &[String],
        email: Option<&str>,
    ) -> Result<Self, Vec<InvalidContact>> {
        let mut errors = Vec::new();
        if mobile_numbers.is_empty() {
            errors.push(InvalidContact::NoMobileNumber);
        }
        if mobile_numbers.len() > Self::MAX_MOBILE_NUMBERS {
            errors.push(InvalidContact::TooManyMobileNumbers {
                max: Self::MAX_MOBILE_NUMBERS,
            });
        }
        let mut parsed: Vec<MobileNumber> = Vec::with_capacity(mobile_numbers.len());
        for (index, raw) in mobile_numbers.iter().enumerate() {
            match MobileNumber::parse(raw) {
                Ok(number) if parsed.contains(&number) => {
                    errors.push(InvalidContact::RepeatedMobileNumber { index });
                }
                Ok(number) => parsed.push(number),
                Err(reason) => errors.push(InvalidContact::MobileNumber { index, reason }),
            }
        }
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(raw) => match EmailAddress::parse(raw) {
                Ok(address) => Some(address),
                Err(reason) => {
                    errors.push(InvalidContact::Email(reason));
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok(Self {
                mobile_numbers: parsed,
                email,
            })
        } else {
            Err(errors)
        }
    }

    /// Rebuilds contact information that was valid when it was stored.
    pub fn from_stored(mobile_numbers: Vec<MobileNumber>, email: Option<EmailAddress>) -> Self {
        Self {
            mobile_numbers,
            email,
        }
    }

    pub fn mobile_numbers(&self) -> &[MobileNumber] {
        &self.mobile_numbers
    }

    pub fn email(&self) -> Option<&EmailAddress> {
        self.email.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_usual_written_forms_and_stores_e164() {
        for written in [
            "+994 50 123 45 67",
            "+994501234567",
            "00994501234567",
            "994501234567",
            "050 123 45 67",
            "0501234567",
            "(050) 123-45-67",
            "50 123 45 67",
            "501234567",
            " 050.123.45.67 ",
        ] {
            assert_eq!(
                MobileNumber::parse(written).map(|m| m.0),
                Ok("+994501234567".to_owned()),
                "{written:?}"
            );
        }
    }

    #[test]
    fn accepts_every_operator_code() {
        for code in MobileNumber::OPERATOR_CODES {
            let written = format!("0{code}1234567");
            assert_eq!(
                MobileNumber::parse(&written).map(|m| m.0),
                Ok(format!("+994{code}1234567"))
            );
        }
    }

    #[test]
    fn refuses_landlines_foreign_and_malformed_numbers() {
        assert_eq!(
            MobileNumber::parse("012 555 12 34"),
            Err(InvalidMobileNumber::UnknownOperatorCode("12".to_owned()))
        );
        assert_eq!(
            MobileNumber::parse("+994 40 123 45 67"),
            Err(InvalidMobileNumber::UnknownOperatorCode("40".to_owned()))
        );
        for bad in [
            "",
            "+7 912 345 67 89",
            "+994 50 123 45 6",
            "+994 50 123 45 678",
            "050-123-45-6x",
            "+99450123456",
            "050 123 45 67 ext 5",
            "++994501234567",
            "0501234567\0",
        ] {
            assert_eq!(
                MobileNumber::parse(bad),
                Err(InvalidMobileNumber::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn email_addresses() {
        assert_eq!(
            EmailAddress::parse(" Leyla.Mammadova+eservices@Mail.AZ ").map(|e| e.0),
            Ok("Leyla.Mammadova+eservices@mail.az".to_owned())
        );
        for bad in [
            "",
            "plain",
            "@example.az",
            "a@",
            "a@b",
            "a@b.",
            "a@.az",
            "a..b@example.az",
            ".a@example.az",
            "a@-x.az",
            "a b@example.az",
            "ə@example.az",
            "a@example.1",
            "a@@example.az",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(InvalidEmailAddress),
                "{bad:?}"
            );
        }
        let too_long = format!("{}@example.az", "a".repeat(65));
        assert_eq!(EmailAddress::parse(&too_long), Err(InvalidEmailAddress));
    }

    #[test]
    fn contact_needs_one_to_three_distinct_mobiles_and_reports_every_fault() {
        let ok = ContactInformation::parse(&["050 123 45 67".to_owned()], Some("a@b.az"));
        assert!(ok.is_ok());
        assert_eq!(
            ContactInformation::parse(&[], None),
            Err(vec![InvalidContact::NoMobileNumber])
        );
        let four: Vec<String> = (0..4).map(|i| format!("05012345{i}0")).collect();
        assert_eq!(
            ContactInformation::parse(&four, None),
            Err(vec![InvalidContact::TooManyMobileNumbers { max: 3 }])
        );
        let errors = ContactInformation::parse(
            &[
                "0501234567".to_owned(),
                "+994501234567".to_owned(),
                "123".to_owned(),
            ],
            Some("nope"),
        )
        .err();
        assert_eq!(
            errors,
            Some(vec![
                InvalidContact::RepeatedMobileNumber { index: 1 },
                InvalidContact::MobileNumber {
                    index: 2,
                    reason: InvalidMobileNumber::Malformed
                },
                InvalidContact::Email(InvalidEmailAddress),
            ])
        );
        let blank_email = ContactInformation::parse(&["0501234567".to_owned()], Some("  "));
        assert_eq!(blank_email.map(|c| c.email), Ok(None));
    }

    proptest! {
        #[test]
        fn every_valid_national_number_round_trips_through_e164(
            operator in proptest::sample::select(MobileNumber::OPERATOR_CODES.to_vec()),
            subscriber in "[0-9]{7}",
        ) {
            let written = format!("0{operator} {} {} {}", &subscriber[..3], &subscriber[3..5], &subscriber[5..]);
            let parsed = MobileNumber::parse(&written);
            prop_assert_eq!(parsed.clone().map(|m| m.0), Ok(format!("+994{operator}{subscriber}")));
            let reparsed = MobileNumber::parse(parsed.map(|m| m.0).unwrap_or_default().as_str());
            prop_assert!(reparsed.is_ok());
        }

        #[test]
        fn parsing_never_panics(input in "\\PC{0,30}") {
            let _ = MobileNumber::parse(&input);
            let _ = EmailAddress::parse(&input);
        }
    }
}
