//! Rules of the account transfer or name change (service 2): the account, the debt check and the
//! property.

use crate::application::AccountChangeVariant;
use crate::codes::SubscriberCode;
use crate::identity::Pin;
use crate::money::Qapik;
use crate::ports::{DebtStatement, PersonName, PropertyRecord, SubscriberAccount};
use crate::property::{PropertyData, PropertyType};
use chrono::{DateTime, Utc};

/// Why an account change step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountChangeRefusal {
    #[error("subscriber code {0} is not a residential account known to billing")]
    SubscriberCodeUnknown(SubscriberCode),
    #[error("subscriber code {0} is not your account; a name change is made by the account holder")]
    SubscriberCodeNotYours(SubscriberCode),
    #[error("subscriber code {0} is already in your name; there is nothing to transfer")]
    AccountAlreadyYours(SubscriberCode),
    #[error("your name in the registry is the same as on the account; there is nothing to change")]
    NameUnchanged,
    #[error("the account has an unpaid debt of {amount}; pay it before applying")]
    DebtOutstanding { amount: Qapik, as_of: DateTime<Utc> },
    #[error(
        "the property register has no property with this district, registry number and registration number"
    )]
    PropertyNotFound,
    #[error("the property register does not list you among the owners of this property")]
    NotPropertyOwner,
    #[error("the property register records this property as {registered}", registered = .registered.as_str())]
    PropertyTypeMismatch { registered: PropertyType },
    #[error("the subscriber account does not supply this property")]
    AccountNotAtProperty,
}

/// The account step. A name change is made by the holder whose registry name now differs from
/// the account's; a transfer moves another person's account to the applicant.
pub fn check_account(
    applicant: &Pin,
    registry_name: &PersonName,
    variant: AccountChangeVariant,
    code: &SubscriberCode,
    account: Option<&SubscriberAccount>,
) -> Result<(), AccountChangeRefusal> {
    let account = account
        .filter(|a| &a.code == code)
        .ok_or_else(|| AccountChangeRefusal::SubscriberCodeUnknown(code.clone()))?;
    let held_by_applicant = &account.holder_pin == applicant;
    match variant {
        AccountChangeVariant::NameChange if !held_by_applicant => {
            Err(AccountChangeRefusal::SubscriberCodeNotYours(code.clone()))
        }
        AccountChangeVariant::NameChange if account.holder_name.same_as(registry_name) => {
            Err(AccountChangeRefusal::NameUnchanged)
        }
        AccountChangeVariant::Transfer if held_by_applicant => {
            Err(AccountChangeRefusal::AccountAlreadyYours(code.clone()))
        }
        _ => Ok(()),
    }
}

/// The debt check: any positive balance refuses, with the amount. An account billing states no
/// balance for is not known to billing.
pub fn check_debt(
    code: &SubscriberCode,
    statement: Option<DebtStatement>,
) -> Result<DebtStatement, AccountChangeRefusal> {
    let statement =
        statement.ok_or_else(|| AccountChangeRefusal::SubscriberCodeUnknown(code.clone()))?;
    if statement.amount.is_debt() {
        Err(AccountChangeRefusal::DebtOutstanding {
            amount: statement.amount,
            as_of: statement.as_of,
        })
    } else {
        Ok(statement)
    }
}

/// The object step: the property must be in the register with the type the applicant chose, and
/// the account (when already chosen) must supply it: the same district and, when billing knows
/// it, the same registry number. For a transfer the applicant must be among the owners.
pub fn check_property(
    applicant: &Pin,
    variant: Option<AccountChangeVariant>,
    property: &PropertyData,
    record: Option<&PropertyRecord>,
    account: Option<&SubscriberAccount>,
) -> Result<(), AccountChangeRefusal> {
    let record = record
        .filter(|r| r.key == property.key)
        .ok_or(AccountChangeRefusal::PropertyNotFound)?;
    if record.property_type != property.property_type {
        return Err(AccountChangeRefusal::PropertyTypeMismatch {
            registered: record.property_type,
        });
    }
    if variant == Some(AccountChangeVariant::Transfer) && !record.owners.contains(applicant) {
        return Err(AccountChangeRefusal::NotPropertyOwner);
    }
    let supplies_property = |a: &SubscriberAccount| {
        a.district == property.key.district
            && a.property_registry_number
                .as_ref()
                .is_none_or(|number| *number == property.key.registry_number)
    };
    if account.is_some_and(|a| !supplies_property(a)) {
        return Err(AccountChangeRefusal::AccountNotAtProperty);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::district::DistrictCode;
    use crate::property::{PropertyKey, RegisterExtractNumber};
    use chrono::TimeZone;

    fn pin(s: &str) -> Pin {
        Pin::parse(s).unwrap_or_else(|_| unreachable!())
    }
    fn code(s: &str) -> SubscriberCode {
        SubscriberCode::parse(s).unwrap_or_else(|_| unreachable!())
    }
    fn name(first: &str, last: &str) -> PersonName {
        PersonName {
            first_name: first.into(),
            last_name: last.into(),
        }
    }
    fn district(s: &str) -> DistrictCode {
        DistrictCode::parse(s).unwrap_or_else(|_| unreachable!())
    }
    fn account(c: &str, holder: &str, holder_name: PersonName, d: &str) -> SubscriberAccount {
        SubscriberAccount {
            code: code(c),
            holder_pin: pin(holder),
            holder_name,
            address: "Bakı".into(),
            district: district(d),
            property_registry_number: None,
        }
    }
    fn key(d: &str) -> PropertyKey {
        PropertyKey {
            district: district(d),
            registry_number: RegisterExtractNumber::parse("110033056204")
                .unwrap_or_else(|_| unreachable!()),
            registration_number: RegisterExtractNumber::parse("2026-203517")
                .unwrap_or_else(|_| unreachable!()),
        }
    }
    fn record(d: &str, owners: &[&str], property_type: PropertyType) -> PropertyRecord {
        PropertyRecord {
            key: key(d),
            property_type,
            address: "Bakı".into(),
            owners: owners.iter().map(|o| pin(o)).collect(),
        }
    }
    fn data(d: &str, property_type: PropertyType) -> PropertyData {
        PropertyData {
            key: key(d),
            property_type,
        }
    }

    const ME: &str = "5N3HV8A";
    const OTHER: &str = "5P2SF6L";

    #[test]
    fn name_change_by_the_holder_whose_name_changed() {
        let current = name("Nərmin", "Hüseynova");
        let mine_old_name = account("1000000003", ME, name("Nərmin", "Quliyeva"), "AZ-BA-NSM");
        assert_eq!(
            check_account(
                &pin(ME),
                &current,
                AccountChangeVariant::NameChange,
                &code("1000000003"),
                Some(&mine_old_name)
            ),
            Ok(())
        );
        let mine_same_name = account("1000000003", ME, name("NƏRMİN", "HÜSEYNOVA"), "AZ-BA-NSM");
        assert_eq!(
            check_account(
                &pin(ME),
                &current,
                AccountChangeVariant::NameChange,
                &code("1000000003"),
                Some(&mine_same_name)
            ),
            Err(AccountChangeRefusal::NameUnchanged)
        );
        let someone_elses = account("1000000004", OTHER, name("Pərvin", "Səfərova"), "AZ-BA-NRM");
        assert_eq!(
            check_account(
                &pin(ME),
                &current,
                AccountChangeVariant::NameChange,
                &code("1000000004"),
                Some(&someone_elses)
            ),
            Err(AccountChangeRefusal::SubscriberCodeNotYours(code(
                "1000000004"
            )))
        );
    }

    #[test]
    fn transfer_is_of_someone_elses_account() {
        let current = name("Tural", "Abbasov");
        let previous_owner = account("1000000004", OTHER, name("Pərvin", "Səfərova"), "AZ-BA-NRM");
        assert_eq!(
            check_account(
                &pin(ME),
                &current,
                AccountChangeVariant::Transfer,
                &code("1000000004"),
                Some(&previous_owner)
            ),
            Ok(())
        );
        let mine = account("1000000003", ME, current.clone(), "AZ-BA-NSM");
        assert_eq!(
            check_account(
                &pin(ME),
                &current,
                AccountChangeVariant::Transfer,
                &code("1000000003"),
                Some(&mine)
            ),
            Err(AccountChangeRefusal::AccountAlreadyYours(code(
                "1000000003"
            )))
        );
    }

    #[test]
    fn unknown_accounts_are_refused_for_both_variants() {
        for variant in AccountChangeVariant::ALL {
            assert_eq!(
                check_account(
                    &pin(ME),
                    &name("A", "B"),
                    variant,
                    &code("1999999999"),
                    None
                ),
                Err(AccountChangeRefusal::SubscriberCodeUnknown(code(
                    "1999999999"
                )))
            );
        }
    }

    #[test]
    fn debt_refuses_with_the_amount() {
        let as_of = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let owes = DebtStatement {
            amount: Qapik::new(452_370),
            as_of,
        };
        assert_eq!(
            check_debt(&code("1000000005"), Some(owes)),
            Err(AccountChangeRefusal::DebtOutstanding {
                amount: Qapik::new(452_370),
                as_of
            })
        );
        let one_qapik = DebtStatement {
            amount: Qapik::new(1),
            as_of,
        };
        assert!(check_debt(&code("1000000005"), Some(one_qapik)).is_err());
        let settled = DebtStatement {
            amount: Qapik::ZERO,
            as_of,
        };
        assert_eq!(check_debt(&code("1000000004"), Some(settled)), Ok(settled));
        let credit = DebtStatement {
            amount: Qapik::new(-500),
            as_of,
        };
        assert_eq!(check_debt(&code("1000000004"), Some(credit)), Ok(credit));
        assert_eq!(
            check_debt(&code("1000000009"), None),
            Err(AccountChangeRefusal::SubscriberCodeUnknown(code(
                "1000000009"
            )))
        );
    }

    #[test]
    fn property_checks() {
        let me = pin(ME);
        let transfer = Some(AccountChangeVariant::Transfer);
        let apartment = data("AZ-BA-NRM", PropertyType::Apartment);
        let owned = record("AZ-BA-NRM", &[ME, "5L6CF2J"], PropertyType::Apartment);
        let account_there = account("1000000004", OTHER, name("P", "S"), "AZ-BA-NRM");
        let account_elsewhere = account("1000000004", OTHER, name("P", "S"), "AZ-SM");

        assert_eq!(
            check_property(
                &me,
                transfer,
                &apartment,
                Some(&owned),
                Some(&account_there)
            ),
            Ok(())
        );
        assert_eq!(
            check_property(&me, transfer, &apartment, Some(&owned), None),
            Ok(())
        );
        assert_eq!(
            check_property(&me, transfer, &apartment, None, None),
            Err(AccountChangeRefusal::PropertyNotFound)
        );
        let not_mine = record("AZ-BA-NRM", &[OTHER], PropertyType::Apartment);
        assert_eq!(
            check_property(&me, transfer, &apartment, Some(&not_mine), None),
            Err(AccountChangeRefusal::NotPropertyOwner)
        );
        assert_eq!(
            check_property(
                &me,
                Some(AccountChangeVariant::NameChange),
                &apartment,
                Some(&not_mine),
                None
            ),
            Ok(()),
            "ownership is only asked for a transfer"
        );
        let house = data("AZ-BA-NRM", PropertyType::PrivateHouse);
        assert_eq!(
            check_property(&me, transfer, &house, Some(&owned), None),
            Err(AccountChangeRefusal::PropertyTypeMismatch {
                registered: PropertyType::Apartment
            })
        );
        assert_eq!(
            check_property(
                &me,
                transfer,
                &apartment,
                Some(&owned),
                Some(&account_elsewhere)
            ),
            Err(AccountChangeRefusal::AccountNotAtProperty)
        );
        let registered_here = SubscriberAccount {
            property_registry_number: Some(key("AZ-BA-NRM").registry_number),
            ..account_there.clone()
        };
        assert_eq!(
            check_property(
                &me,
                transfer,
                &apartment,
                Some(&owned),
                Some(&registered_here)
            ),
            Ok(())
        );
        let registered_elsewhere = SubscriberAccount {
            property_registry_number: RegisterExtractNumber::parse("999999999999").ok(),
            ..account_there.clone()
        };
        for variant in [transfer, Some(AccountChangeVariant::NameChange)] {
            assert_eq!(
                check_property(
                    &me,
                    variant,
                    &apartment,
                    Some(&owned),
                    Some(&registered_elsewhere)
                ),
                Err(AccountChangeRefusal::AccountNotAtProperty),
                "an account of another property in the same district is refused"
            );
        }
        let other_key = record("AZ-SM", &[ME], PropertyType::Apartment);
        assert_eq!(
            check_property(&me, transfer, &apartment, Some(&other_key), None),
            Err(AccountChangeRefusal::PropertyNotFound)
        );
    }
}
