//! Small helpers shared by the format newtypes.

/// Whether a text contains a control character (including NUL), which no field of ours accepts.
pub(crate) fn has_control_characters(input: &str) -> bool {
    input.chars().any(char::is_control)
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

/// Whether `input` is `min..=max` ASCII digits.
pub(crate) fn is_digits(input: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&input.len()) && input.chars().all(|c| c.is_ascii_digit())
}
