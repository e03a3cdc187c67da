//! The districts and cities of Azerbaijan, with stable codes (ISO 3166-2:AZ, and `AZ-BA-…` for
//! Baku's city districts). The list itself is in `list.rs`.

mod list;

use serde::Serialize;

/// What kind of administrative unit a district is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DistrictKind {
    /// A city of republican subordination (şəhər).
    City,
    /// A district (rayon).
    Rayon,
    /// One of Baku's city districts.
    CityDistrict,
}

/// One administrative unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct District {
    pub code: &'static str,
    pub name_az: &'static str,
    pub name_en: &'static str,
    pub kind: DistrictKind,
}

/// A code of a district on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct DistrictCode(&'static str);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a district code from GET /api/v1/districts, like AZ-BA-YSM")]
pub struct UnknownDistrict;

impl DistrictCode {
    pub fn parse(input: &str) -> Result<Self, UnknownDistrict> {
        let candidate = input.trim().to_ascii_uppercase();
        find(&candidate)
            .map(|district| Self(district.code))
            .ok_or(UnknownDistrict)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    pub fn district(self) -> District {
        // A `DistrictCode` is only ever made from an entry of the list.
        find(self.0).unwrap_or(District {
            code: self.0,
            name_az: self.0,
            name_en: self.0,
            kind: DistrictKind::Rayon,
        })
    }
}

impl std::fmt::Display for DistrictCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// All districts, sorted by code.
pub fn all() -> &'static [District] {
    list::DISTRICTS
}

fn find(code: &str) -> Option<District> {
    list::DISTRICTS
        .binary_search_by(|d| d.code.cmp(code))
        .ok()
        .map(|index| list::DISTRICTS[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_unique_and_well_formed() {
        let codes: Vec<&str> = all().iter().map(|d| d.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            codes, sorted,
            "the list must be sorted by code without repeats"
        );
        for d in all() {
            let parts: Vec<&str> = d.code.split('-').collect();
            assert!(parts.len() == 2 || parts.len() == 3, "{}", d.code);
            assert_eq!(parts[0], "AZ");
            assert!(
                parts[1..].iter().all(
                    |p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_uppercase())
                ),
                "{}",
                d.code
            );
            assert_eq!(
                parts.len() == 3,
                d.kind == DistrictKind::CityDistrict,
                "{}",
                d.code
            );
            assert!(!d.name_az.is_empty() && !d.name_en.is_empty());
        }
    }

    #[test]
    fn covers_the_country() {
        let count = |kind| all().iter().filter(|d| d.kind == kind).count();
        assert_eq!(
            count(DistrictKind::CityDistrict),
            12,
            "Baku has 12 city districts"
        );
        assert!(
            count(DistrictKind::Rayon) >= 60,
            "Azerbaijan has over 60 rayons"
        );
        assert!(count(DistrictKind::City) >= 10);
        for code in [
            "AZ-BA",
            "AZ-GA",
            "AZ-SM",
            "AZ-ABS",
            "AZ-BA-YSM",
            "AZ-NX",
            "AZ-LAN",
        ] {
            assert!(DistrictCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn parse_accepts_listed_codes_only() {
        assert_eq!(
            DistrictCode::parse(" az-ba-ysm ").map(|c| c.as_str()),
            Ok("AZ-BA-YSM")
        );
        assert_eq!(DistrictCode::parse("AZ-XX"), Err(UnknownDistrict));
        assert_eq!(DistrictCode::parse(""), Err(UnknownDistrict));
        let yasamal = DistrictCode::parse("AZ-BA-YSM").map(DistrictCode::district);
        assert_eq!(yasamal.map(|d| d.name_az), Ok("Yasamal"));
    }
}
