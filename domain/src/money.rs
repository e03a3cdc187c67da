//! Money: an integer number of qəpik (1 manat = 100 qəpik). Never floating point.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of Azerbaijani manat in qəpik.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Qapik(i64);

impl Qapik {
    pub const ZERO: Self = Self(0);
    pub const CURRENCY: &'static str = "AZN";

    pub const fn new(qapik: i64) -> Self {
        Self(qapik)
    }

    pub const fn value(self) -> i64 {
        self.0
    }

    /// A balance above zero is unpaid debt; zero or a credit (overpayment) is not.
    pub const fn is_debt(self) -> bool {
        self.0 > 0
    }
}

impl fmt::Display for Qapik {
    /// `4523.70 AZN`: manat, two digits of qəpik, the currency.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:02} {}",
            magnitude / 100,
            magnitude % 100,
            Self::CURRENCY
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_manat_and_qapik() {
        assert_eq!(Qapik::new(452_370).to_string(), "4523.70 AZN");
        assert_eq!(Qapik::new(5).to_string(), "0.05 AZN");
        assert_eq!(Qapik::new(-1250).to_string(), "-12.50 AZN");
        assert_eq!(
            Qapik::new(i64::MIN).to_string(),
            "-92233720368547758.08 AZN"
        );
    }

    #[test]
    fn only_a_positive_balance_is_debt() {
        assert!(Qapik::new(1).is_debt());
        assert!(!Qapik::ZERO.is_debt());
        assert!(!Qapik::new(-100).is_debt());
    }
}
