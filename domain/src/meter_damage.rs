//! Rules of the meter damage investigation (service 1): which subscriber code or metering point
//! an applicant may ask about.

use crate::codes::{HeadCode, MeteringPointCode, SubscriberCode};
use crate::identity::Tin;
use crate::ports::{HeadCodeAccount, MeteringPoint, SubscriberAccount};

/// Why the subscriber selection is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeterDamageRefusal {
    #[error("subscriber code {0} is not one of your residential accounts")]
    SubscriberCodeNotYours(SubscriberCode),
    #[error(
        "a non-residential application is made for a business: sign in with its taxpayer number (VÖEN)"
    )]
    BusinessRequired,
    #[error("head code {0} is not a contract of your business")]
    HeadCodeNotYours(HeadCode),
    #[error("metering point {metering_point} is not under head code {head_code}")]
    MeteringPointNotUnderHeadCode {
        head_code: HeadCode,
        metering_point: MeteringPointCode,
    },
}

/// Residential: the subscriber code must be one of the applicant's own accounts, as billing lists
/// them for the applicant's PIN.
pub fn check_residential(
    code: &SubscriberCode,
    own_accounts: &[SubscriberAccount],
) -> Result<(), MeterDamageRefusal> {
    if own_accounts.iter().any(|account| &account.code == code) {
        Ok(())
    } else {
        Err(MeterDamageRefusal::SubscriberCodeNotYours(code.clone()))
    }
}

/// Non-residential: the head code must belong to the business the applicant acts for, and the
/// metering point must be under that head code. An unknown head code is "not yours" too, so
/// that nobody learns which codes exist.
pub fn check_non_residential(
    acting_for: Option<&Tin>,
    head_code: &HeadCode,
    head_code_account: Option<&HeadCodeAccount>,
    metering_point: &MeteringPointCode,
    metering_point_record: Option<&MeteringPoint>,
) -> Result<(), MeterDamageRefusal> {
    let tin = acting_for.ok_or(MeterDamageRefusal::BusinessRequired)?;
    match head_code_account {
        Some(account) if &account.code == head_code && &account.tin == tin => {}
        _ => return Err(MeterDamageRefusal::HeadCodeNotYours(head_code.clone())),
    }
    match metering_point_record {
        Some(point) if &point.code == metering_point && &point.head_code == head_code => Ok(()),
        _ => Err(MeterDamageRefusal::MeteringPointNotUnderHeadCode {
            head_code: head_code.clone(),
            metering_point: metering_point.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::district::DistrictCode;
    use crate::identity::Pin;
    use crate::ports::PersonName;

    fn code(s: &str) -> SubscriberCode {
        SubscriberCode::parse(s).unwrap_or_else(|_| unreachable!("test code {s}"))
    }
    fn head(s: &str) -> HeadCode {
        HeadCode::parse(s).unwrap_or_else(|_| unreachable!("test head code {s}"))
    }
    fn point(s: &str) -> MeteringPointCode {
        MeteringPointCode::parse(s).unwrap_or_else(|_| unreachable!("test point {s}"))
    }
    fn tin(s: &str) -> Tin {
        Tin::parse(s).unwrap_or_else(|_| unreachable!("test tin {s}"))
    }
    fn district() -> DistrictCode {
        DistrictCode::parse("AZ-BA-YSM").unwrap_or_else(|_| unreachable!())
    }
    fn account(c: &str) -> SubscriberAccount {
        SubscriberAccount {
            code: code(c),
            holder_pin: Pin::parse("5R7KQ2M").unwrap_or_else(|_| unreachable!()),
            holder_name: PersonName {
                first_name: "Rəşad".into(),
                last_name: "Məmmədov".into(),
            },
            address: "Bakı".into(),
            district: district(),
            property_registry_number: None,
        }
    }
    fn contract(h: &str, t: &str) -> HeadCodeAccount {
        HeadCodeAccount {
            code: head(h),
            tin: tin(t),
            contract_name: "Xəzər Qida MMC".into(),
            address: "Bakı".into(),
            district: district(),
        }
    }
    fn metering(p: &str, h: &str) -> MeteringPoint {
        MeteringPoint {
            code: point(p),
            head_code: head(h),
            address: "Bakı".into(),
            meter_number: "M1".into(),
        }
    }

    #[test]
    fn residential_code_must_be_among_own_accounts() {
        let own = [account("1000000001"), account("1000000002")];
        assert_eq!(check_residential(&code("1000000002"), &own), Ok(()));
        assert_eq!(
            check_residential(&code("1000000003"), &own),
            Err(MeterDamageRefusal::SubscriberCodeNotYours(code(
                "1000000003"
            )))
        );
        assert_eq!(
            check_residential(&code("1000000001"), &[]),
            Err(MeterDamageRefusal::SubscriberCodeNotYours(code(
                "1000000001"
            )))
        );
    }

    #[test]
    fn non_residential_needs_a_business() {
        let result = check_non_residential(
            None,
            &head("50000001"),
            Some(&contract("50000001", "1700456782")),
            &point("50000001-01"),
            Some(&metering("50000001-01", "50000001")),
        );
        assert_eq!(result, Err(MeterDamageRefusal::BusinessRequired));
    }

    #[test]
    fn non_residential_head_code_and_metering_point() {
        let mine = tin("1700456782");
        let ok = check_non_residential(
            Some(&mine),
            &head("50000001"),
            Some(&contract("50000001", "1700456782")),
            &point("50000001-01"),
            Some(&metering("50000001-01", "50000001")),
        );
        assert_eq!(ok, Ok(()));

        let other_business = check_non_residential(
            Some(&mine),
            &head("50000101"),
            Some(&contract("50000101", "1300987652")),
            &point("50000101-01"),
            Some(&metering("50000101-01", "50000101")),
        );
        assert_eq!(
            other_business,
            Err(MeterDamageRefusal::HeadCodeNotYours(head("50000101")))
        );

        let unknown =
            check_non_residential(Some(&mine), &head("59999999"), None, &point("X"), None);
        assert_eq!(
            unknown,
            Err(MeterDamageRefusal::HeadCodeNotYours(head("59999999")))
        );

        let under_other_head = check_non_residential(
            Some(&mine),
            &head("50000001"),
            Some(&contract("50000001", "1700456782")),
            &point("50000002-01"),
            Some(&metering("50000002-01", "50000002")),
        );
        assert_eq!(
            under_other_head,
            Err(MeterDamageRefusal::MeteringPointNotUnderHeadCode {
                head_code: head("50000001"),
                metering_point: point("50000002-01"),
            })
        );

        let unknown_point = check_non_residential(
            Some(&mine),
            &head("50000001"),
            Some(&contract("50000001", "1700456782")),
            &point("50000001-99"),
            None,
        );
        assert!(matches!(
            unknown_point,
            Err(MeterDamageRefusal::MeteringPointNotUnderHeadCode { .. })
        ));
    }
}
