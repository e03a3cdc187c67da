//! The company's billing system: residential accounts by holder, an account and its debt,
//! contracts (head codes) by TIN and their metering points. The debt is never cached: it is
//! read fresh at every check and recorded with the application.

use crate::client::HttpSystem;
use chrono::{DateTime, Utc};
use domain::codes::{HeadCode, MeteringPointCode, SubscriberCode};
use domain::district::DistrictCode;
use domain::identity::{Pin, Tin};
use domain::money::Qapik;
use domain::ports::{
    Billing, DebtStatement, HeadCodeAccount, MeteringPoint, PersonName, SubscriberAccount,
    Unavailable,
};
use domain::property::RegisterExtractNumber;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct AccountAnswer {
    code: String,
    holder_pin: String,
    holder_first_name: String,
    holder_last_name: String,
    address: String,
    district: String,
    #[serde(default)]
    property_registry_number: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DebtAnswer {
    amount_qapik: i64,
    as_of: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct ContractAnswer {
    head_code: String,
    tin: String,
    contract_name: String,
    address: String,
    district: String,
}

#[derive(Debug, Deserialize)]
struct MeteringPointAnswer {
    code: String,
    head_code: String,
    address: String,
    meter_number: String,
}

#[derive(Debug)]
pub struct HttpBilling {
    system: HttpSystem,
}

impl HttpBilling {
    pub fn new(system: HttpSystem) -> Self {
        Self { system }
    }

    fn parse<T, E>(
        &self,
        what: &str,
        value: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, Unavailable> {
        parse(value).map_err(|_| self.system.malformed(what, value))
    }

    fn account_of(&self, a: AccountAnswer) -> Result<SubscriberAccount, Unavailable> {
        Ok(SubscriberAccount {
            code: self.parse("subscriber code", &a.code, SubscriberCode::parse)?,
            holder_pin: self.parse("PIN", &a.holder_pin, Pin::parse)?,
            holder_name: PersonName {
                first_name: a.holder_first_name,
                last_name: a.holder_last_name,
            },
            address: a.address,
            district: self.parse("district", &a.district, DistrictCode::parse)?,
            property_registry_number: a
                .property_registry_number
                .as_deref()
                .map(|n| self.parse("registry number", n, RegisterExtractNumber::parse))
                .transpose()?,
        })
    }

    fn contract_of(&self, c: ContractAnswer) -> Result<HeadCodeAccount, Unavailable> {
        Ok(HeadCodeAccount {
            code: self.parse("head code", &c.head_code, HeadCode::parse)?,
            tin: self.parse("TIN", &c.tin, Tin::parse)?,
            contract_name: c.contract_name,
            address: c.address,
            district: self.parse("district", &c.district, DistrictCode::parse)?,
        })
    }

    fn point_of(&self, p: MeteringPointAnswer) -> Result<MeteringPoint, Unavailable> {
        Ok(MeteringPoint {
            code: self.parse("metering point", &p.code, MeteringPointCode::parse)?,
            head_code: self.parse("head code", &p.head_code, HeadCode::parse)?,
            address: p.address,
            meter_number: p.meter_number,
        })
    }
}

impl Billing for HttpBilling {
    fn residential_accounts(&self, holder: &Pin) -> Result<Vec<SubscriberAccount>, Unavailable> {
        let answer: Vec<AccountAnswer> = self
            .system
            .list(&["accounts"], &[("holder_pin", holder.as_str())])?;
        let accounts: Vec<SubscriberAccount> = answer
            .into_iter()
            .map(|a| self.account_of(a))
            .collect::<Result<_, _>>()?;
        if let Some(other) = accounts.iter().find(|a| &a.holder_pin != holder) {
            return Err(self
                .system
                .malformed("account of another holder", other.code.as_str()));
        }
        Ok(accounts)
    }

    fn account(&self, code: &SubscriberCode) -> Result<Option<SubscriberAccount>, Unavailable> {
        let answer: Option<AccountAnswer> = self.system.get(&["accounts", code.as_str()], &[])?;
        let account = answer.map(|a| self.account_of(a)).transpose()?;
        if account.as_ref().is_some_and(|a| &a.code != code) {
            return Err(self
                .system
                .malformed("account (another one than asked)", ""));
        }
        Ok(account)
    }

    fn debt(&self, code: &SubscriberCode) -> Result<Option<DebtStatement>, Unavailable> {
        let answer: Option<DebtAnswer> =
            self.system.get(&["accounts", code.as_str(), "debt"], &[])?;
        Ok(answer.map(|d| DebtStatement {
            amount: Qapik::new(d.amount_qapik),
            as_of: d.as_of,
        }))
    }

    fn head_codes(&self, tin: &Tin) -> Result<Vec<HeadCodeAccount>, Unavailable> {
        let answer: Vec<ContractAnswer> =
            self.system.list(&["contracts"], &[("tin", tin.as_str())])?;
        let contracts: Vec<HeadCodeAccount> = answer
            .into_iter()
            .map(|c| self.contract_of(c))
            .collect::<Result<_, _>>()?;
        if contracts.iter().any(|c| &c.tin != tin) {
            return Err(self.system.malformed("contract of another business", ""));
        }
        Ok(contracts)
    }

    fn head_code(&self, code: &HeadCode) -> Result<Option<HeadCodeAccount>, Unavailable> {
        let answer: Option<ContractAnswer> = self.system.get(&["contracts", code.as_str()], &[])?;
        let contract = answer.map(|c| self.contract_of(c)).transpose()?;
        if contract.as_ref().is_some_and(|c| &c.code != code) {
            return Err(self
                .system
                .malformed("contract (another one than asked)", ""));
        }
        Ok(contract)
    }

    fn metering_points(&self, head_code: &HeadCode) -> Result<Vec<MeteringPoint>, Unavailable> {
        let answer: Vec<MeteringPointAnswer> = self
            .system
            .list(&["contracts", head_code.as_str(), "metering-points"], &[])?;
        let points: Vec<MeteringPoint> = answer
            .into_iter()
            .map(|p| self.point_of(p))
            .collect::<Result<_, _>>()?;
        if points.iter().any(|p| &p.head_code != head_code) {
            return Err(self
                .system
                .malformed("metering point of another contract", ""));
        }
        Ok(points)
    }

    fn metering_point(
        &self,
        code: &MeteringPointCode,
    ) -> Result<Option<MeteringPoint>, Unavailable> {
        let answer: Option<MeteringPointAnswer> =
            self.system.get(&["metering-points", code.as_str()], &[])?;
        answer.map(|p| self.point_of(p)).transpose()
    }
}
