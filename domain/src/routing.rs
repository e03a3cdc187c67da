//! Which department works an application: each department serves one kind of application in a
//! set of districts ("the relevant departments" for meter damage, "the registration office" for an
//! account change). The district is the supply address's (meter damage) or the property's
//! (account change).

use crate::application::{ApplicationKind, Steps};
use crate::district::DistrictCode;
use crate::text::{dashed_code, string_newtype};
use serde::Serialize;

/// A department's code, like `BAKI-SEBEKE-1`: 2 to 32 Latin capitals, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DepartmentCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a department code is 2 to 32 Latin capitals, digits and dashes")]
pub struct InvalidDepartmentCode;

impl DepartmentCode {
    pub fn parse(input: &str) -> Result<Self, InvalidDepartmentCode> {
        dashed_code(input, 2, 32)
            .map(Self)
            .ok_or(InvalidDepartmentCode)
    }
}
string_newtype!(DepartmentCode);

/// A department of the company, as master data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub code: DepartmentCode,
    pub name: String,
    /// The kind of application it works.
    pub kind: ApplicationKind,
    pub districts: Vec<DistrictCode>,
}

/// Why an application cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("no department works {kind} applications in {district}", kind = .kind.as_str())]
    NoDepartment {
        kind: ApplicationKind,
        district: DistrictCode,
    },
    #[error("the application's district is not known yet")]
    NoDistrict,
}

/// The department of `kind` that serves `district`. Master data gives each (kind, district) at
/// most one department; the first listed wins should it give more.
pub fn route(
    kind: ApplicationKind,
    district: Option<DistrictCode>,
    departments: &[Department],
) -> Result<DepartmentCode, RoutingError> {
    let district = district.ok_or(RoutingError::NoDistrict)?;
    departments
        .iter()
        .find(|d| d.kind == kind && d.districts.contains(&district))
        .map(|d| d.code.clone())
        .ok_or(RoutingError::NoDepartment { kind, district })
}

/// The district an application is routed by: the property's for an account change; for meter
/// damage, the supply address's, which billing knows (`supply_district`), once a target is chosen.
pub fn application_district(
    steps: &Steps,
    supply_district: Option<DistrictCode>,
) -> Option<DistrictCode> {
    match steps {
        Steps::AccountChange { property, .. } => property.as_ref().map(|p| p.key.district),
        Steps::MeterDamage { target, .. } => target.as_ref().and(supply_district),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn district(code: &str) -> DistrictCode {
        DistrictCode::parse(code).unwrap_or_else(|_| unreachable!())
    }

    fn department(code: &str, kind: ApplicationKind, districts: &[&str]) -> Department {
        Department {
            code: DepartmentCode::parse(code).unwrap_or_else(|_| unreachable!()),
            name: code.to_owned(),
            kind,
            districts: districts.iter().map(|d| district(d)).collect(),
        }
    }

    #[test]
    fn routes_by_kind_and_district() {
        let departments = [
            department(
                "BAKI-SEBEKE",
                ApplicationKind::MeterDamageInvestigation,
                &["AZ-BA-YSM", "AZ-BA-NSM"],
            ),
            department(
                "SUMQAYIT-SEBEKE",
                ApplicationKind::MeterDamageInvestigation,
                &["AZ-SM"],
            ),
            department(
                "BAKI-QEYDIYYAT",
                ApplicationKind::AccountChange,
                &["AZ-BA-YSM", "AZ-SM"],
            ),
        ];
        let to =
            |kind, d: &str| route(kind, Some(district(d)), &departments).map(|c| c.to_string());
        assert_eq!(
            to(ApplicationKind::MeterDamageInvestigation, "AZ-BA-NSM").as_deref(),
            Ok("BAKI-SEBEKE")
        );
        assert_eq!(
            to(ApplicationKind::MeterDamageInvestigation, "AZ-SM").as_deref(),
            Ok("SUMQAYIT-SEBEKE")
        );
        assert_eq!(
            to(ApplicationKind::AccountChange, "AZ-SM").as_deref(),
            Ok("BAKI-QEYDIYYAT")
        );
        assert_eq!(
            route(
                ApplicationKind::AccountChange,
                Some(district("AZ-GA")),
                &departments
            ),
            Err(RoutingError::NoDepartment {
                kind: ApplicationKind::AccountChange,
                district: district("AZ-GA")
            })
        );
        assert_eq!(
            route(ApplicationKind::AccountChange, None, &departments),
            Err(RoutingError::NoDistrict)
        );
    }

    #[test]
    fn department_codes() {
        assert_eq!(
            DepartmentCode::parse(" baki-sebeke-1 ").map(|c| c.0),
            Ok("BAKI-SEBEKE-1".to_owned())
        );
        for bad in ["", "A", "BAKI SEBEKE", "BAKİ", &"A".repeat(33)] {
            assert_eq!(
                DepartmentCode::parse(bad),
                Err(InvalidDepartmentCode),
                "{bad:?}"
            );
        }
    }
}
