//! Small helpers shared by the format newtypes.

/// Why a free text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FreeTextFault {
    TooLong,
    ControlCharacters,
}

/// A free text as people write it: trimmed, at most `max` characters, no control characters
/// (NUL included) but line breaks and tabs. A blank text is no text.
pub(crate) fn free_text(input: &str, max: usize) -> Result<Option<String>, FreeTextFault> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max {
        return Err(FreeTextFault::TooLong);
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FreeTextFault::ControlCharacters);
    }
    Ok(Some(trimmed.to_owned()))
}

/// Gives a `String` newtype with a `parse` function its `as_str`, `Display` and a `Deserialize`
/// that goes through `parse`, so that no unparsed value can be built from JSON either.
macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_newtype;

/// `input` trimmed and in upper case, when it is `min..=max` Latin letters, digits and dashes
/// (the shape of metering point and department codes).
pub(crate) fn dashed_code(input: &str, min: usize, max: usize) -> Option<String> {
    let candidate = input.trim().to_ascii_uppercase();
    let well_formed = (min..=max).contains(&candidate.len())
        && candidate
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    well_formed.then_some(candidate)
}

/// Whether `input` is `min..=max` ASCII digits.
pub(crate) fn is_digits(input: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&input.len()) && input.chars().all(|c| c.is_ascii_digit())
}
