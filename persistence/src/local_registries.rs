//! The table-backed stand-ins for the citizen and business registries, billing and the property
//! registry, used in development and tests. They answer from tables loaded by `eservices seed`.

use crate::connection::{Database, unavailable};
use crate::schema::{
    business_representatives, businesses, citizens, head_codes, metering_points, properties,
    property_owners, subscriber_accounts,
};
use crate::time::from_stored;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use domain::codes::{HeadCode, MeteringPointCode, SubscriberCode};
use domain::district::DistrictCode;
use domain::identity::{Pin, Tin};
use domain::money::Qapik;
use domain::ports::{
    Billing, BusinessInformation, CitizenRegistry, DebtStatement, HeadCodeAccount, MainInformation,
    MeteringPoint, PersonName, PropertyRecord, PropertyRegistry, SubscriberAccount, Unavailable,
};
use domain::property::{PropertyKey, PropertyType, RegisterExtractNumber};

/// The registries and billing, answered from this service's own tables.
#[derive(Debug, Clone)]
pub struct LocalRegistries {
    db: Database,
}

impl LocalRegistries {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Whether any registry data is loaded (the demo data is loaded only into empty tables).
    pub fn has_data(&self) -> Result<bool, Unavailable> {
        let mut conn = self.db.connection()?;
        let count: i64 = citizens::table
            .count()
            .get_result(&mut *conn)
            .map_err(|e| unavailable(&e))?;
        Ok(count > 0)
    }
}

/// A registry row that does not parse: the table was loaded with bad data.
fn bad_record(system: &'static str, what: &str, value: &str) -> Unavailable {
    Unavailable {
        system,
        reason: format!("the local {system} holds an invalid {what}: {value:?}"),
    }
}

fn parsed<T, E>(
    system: &'static str,
    what: &str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, Unavailable> {
    parse(value).map_err(|_| bad_record(system, what, value))
}

const CITIZEN_REGISTRY: &str = "citizen-registry";
const BILLING: &str = "billing";
const PROPERTY_REGISTRY: &str = "property-registry";

#[derive(Queryable)]
struct CitizenRow {
    _pin: String,
    first_name: String,
    last_name: String,
    patronymic: Option<String>,
    birth_date: NaiveDate,
    registered_address: String,
}

#[derive(Queryable)]
struct AccountRow {
    code: String,
    holder_pin: String,
    holder_first_name: String,
    holder_last_name: String,
    address: String,
    district_code: String,
    property_registry_number: Option<String>,
}

/// The columns of an [`AccountRow`]: the account without its balance.
const ACCOUNT_COLUMNS: (
    subscriber_accounts::code,
    subscriber_accounts::holder_pin,
    subscriber_accounts::holder_first_name,
    subscriber_accounts::holder_last_name,
    subscriber_accounts::address,
    subscriber_accounts::district_code,
    subscriber_accounts::property_registry_number,
) = (
    subscriber_accounts::code,
    subscriber_accounts::holder_pin,
    subscriber_accounts::holder_first_name,
    subscriber_accounts::holder_last_name,
    subscriber_accounts::address,
    subscriber_accounts::district_code,
    subscriber_accounts::property_registry_number,
);

impl AccountRow {
    fn into_account(self) -> Result<SubscriberAccount, Unavailable> {
        Ok(SubscriberAccount {
            code: parsed(
                BILLING,
                "subscriber code",
                &self.code,
                SubscriberCode::parse,
            )?,
            holder_pin: parsed(BILLING, "PIN", &self.holder_pin, Pin::parse)?,
            holder_name: PersonName {
                first_name: self.holder_first_name,
                last_name: self.holder_last_name,
            },
            address: self.address,
            district: parsed(
                BILLING,
                "district",
                &self.district_code,
                DistrictCode::parse,
            )?,
            property_registry_number: self
                .property_registry_number
                .as_deref()
                .map(|n| parsed(BILLING, "registry number", n, RegisterExtractNumber::parse))
                .transpose()?,
        })
    }
}

#[derive(Queryable)]
struct HeadCodeRow {
    code: String,
    tin: String,
    contract_name: String,
    address: String,
    district_code: String,
}

impl HeadCodeRow {
    fn into_account(self) -> Result<HeadCodeAccount, Unavailable> {
        Ok(HeadCodeAccount {
            code: parsed(BILLING, "head code", &self.code, HeadCode::parse)?,
            tin: parsed(BILLING, "TIN", &self.tin, Tin::parse)?,
            contract_name: self.contract_name,
            address: self.address,
            district: parsed(
                BILLING,
                "district",
                &self.district_code,
                DistrictCode::parse,
            )?,
        })
    }
}

#[derive(Queryable)]
struct MeteringPointRow {
    code: String,
    head_code: String,
    address: String,
    meter_number: String,
}

impl MeteringPointRow {
    fn into_point(self) -> Result<MeteringPoint, Unavailable> {
        Ok(MeteringPoint {
            code: parsed(
                BILLING,
                "metering point",
                &self.code,
                MeteringPointCode::parse,
            )?,
            head_code: parsed(BILLING, "head code", &self.head_code, HeadCode::parse)?,
            address: self.address,
            meter_number: self.meter_number,
        })
    }
}

fn db_error(system: &'static str) -> impl Fn(diesel::result::Error) -> Unavailable {
    move |error| Unavailable {
        system,
        reason: unavailable(&error).reason,
    }
}

impl CitizenRegistry for LocalRegistries {
    fn main_information(&self, pin: &Pin) -> Result<Option<MainInformation>, Unavailable> {
        let mut conn = self.db.connection()?;
        let row: Option<CitizenRow> = citizens::table
            .find(pin.as_str())
            .first(&mut *conn)
            .optional()
            .map_err(db_error(CITIZEN_REGISTRY))?;
        Ok(row.map(|row| MainInformation {
            pin: pin.clone(),
            name: PersonName {
                first_name: row.first_name,
                last_name: row.last_name,
            },
            patronymic: row.patronymic,
            birth_date: row.birth_date,
            registered_address: row.registered_address,
        }))
    }

    fn business(&self, tin: &Tin) -> Result<Option<BusinessInformation>, Unavailable> {
        let mut conn = self.db.connection()?;
        let name: Option<String> = businesses::table
            .find(tin.as_str())
            .select(businesses::name)
            .first(&mut *conn)
            .optional()
            .map_err(db_error(CITIZEN_REGISTRY))?;
        let Some(name) = name else { return Ok(None) };
        let pins: Vec<String> = business_representatives::table
            .filter(business_representatives::tin.eq(tin.as_str()))
            .select(business_representatives::pin)
            .order(business_representatives::pin.asc())
            .load(&mut *conn)
            .map_err(db_error(CITIZEN_REGISTRY))?;
        let representatives = pins
            .iter()
            .map(|p| parsed(CITIZEN_REGISTRY, "PIN", p, Pin::parse))
            .collect::<Result<_, _>>()?;
        Ok(Some(BusinessInformation {
            tin: tin.clone(),
            name,
            representatives,
        }))
    }
}

impl Billing for LocalRegistries {
    fn residential_accounts(&self, holder: &Pin) -> Result<Vec<SubscriberAccount>, Unavailable> {
        let mut conn = self.db.connection()?;
        let rows: Vec<AccountRow> = subscriber_accounts::table
            .filter(subscriber_accounts::holder_pin.eq(holder.as_str()))
            .order(subscriber_accounts::code.asc())
            .select(ACCOUNT_COLUMNS)
            .load(&mut *conn)
            .map_err(db_error(BILLING))?;
        rows.into_iter().map(AccountRow::into_account).collect()
    }

    fn account(&self, code: &SubscriberCode) -> Result<Option<SubscriberAccount>, Unavailable> {
        let mut conn = self.db.connection()?;
        let row: Option<AccountRow> = subscriber_accounts::table
            .find(code.as_str())
            .select(ACCOUNT_COLUMNS)
            .first(&mut *conn)
            .optional()
            .map_err(db_error(BILLING))?;
        row.map(AccountRow::into_account).transpose()
    }

    fn debt(&self, code: &SubscriberCode) -> Result<Option<DebtStatement>, Unavailable> {
        let mut conn = self.db.connection()?;
        let row: Option<(i64, NaiveDateTime)> = subscriber_accounts::table
            .find(code.as_str())
            .select((
                subscriber_accounts::debt_qapik,
                subscriber_accounts::debt_as_of,
            ))
            .first(&mut *conn)
            .optional()
            .map_err(db_error(BILLING))?;
        Ok(row.map(|(amount, as_of)| DebtStatement {
            amount: Qapik::new(amount),
            as_of: from_stored(as_of),
        }))
    }

    fn head_codes(&self, tin: &Tin) -> Result<Vec<HeadCodeAccount>, Unavailable> {
        let mut conn = self.db.connection()?;
        let rows: Vec<HeadCodeRow> = head_codes::table
            .filter(head_codes::tin.eq(tin.as_str()))
            .order(head_codes::code.asc())
            .load(&mut *conn)
            .map_err(db_error(BILLING))?;
        rows.into_iter().map(HeadCodeRow::into_account).collect()
    }

    fn head_code(&self, code: &HeadCode) -> Result<Option<HeadCodeAccount>, Unavailable> {
        let mut conn = self.db.connection()?;
        let row: Option<HeadCodeRow> = head_codes::table
            .find(code.as_str())
            .first(&mut *conn)
            .optional()
            .map_err(db_error(BILLING))?;
        row.map(HeadCodeRow::into_account).transpose()
    }

    fn metering_points(&self, head_code: &HeadCode) -> Result<Vec<MeteringPoint>, Unavailable> {
        let mut conn = self.db.connection()?;
        let rows: Vec<MeteringPointRow> = metering_points::table
            .filter(metering_points::head_code.eq(head_code.as_str()))
            .order(metering_points::code.asc())
            .load(&mut *conn)
            .map_err(db_error(BILLING))?;
        rows.into_iter().map(MeteringPointRow::into_point).collect()
    }

    fn metering_point(
        &self,
        code: &MeteringPointCode,
    ) -> Result<Option<MeteringPoint>, Unavailable> {
        let mut conn = self.db.connection()?;
        let row: Option<MeteringPointRow> = metering_points::table
            .find(code.as_str())
            .first(&mut *conn)
            .optional()
            .map_err(db_error(BILLING))?;
        row.map(MeteringPointRow::into_point).transpose()
    }
}

impl PropertyRegistry for LocalRegistries {
    fn property(&self, key: &PropertyKey) -> Result<Option<PropertyRecord>, Unavailable> {
        let mut conn = self.db.connection()?;
        let row: Option<(i64, String, String)> = properties::table
            .filter(properties::district_code.eq(key.district.as_str()))
            .filter(properties::registry_number.eq(key.registry_number.as_str()))
            .filter(properties::registration_number.eq(key.registration_number.as_str()))
            .select((
                properties::id,
                properties::property_type,
                properties::address,
            ))
            .first(&mut *conn)
            .optional()
            .map_err(db_error(PROPERTY_REGISTRY))?;
        let Some((id, property_type, address)) = row else {
            return Ok(None);
        };
        let owners: Vec<String> = property_owners::table
            .filter(property_owners::property_id.eq(id))
            .order(property_owners::pin.asc())
            .select(property_owners::pin)
            .load(&mut *conn)
            .map_err(db_error(PROPERTY_REGISTRY))?;
        Ok(Some(PropertyRecord {
            key: key.clone(),
            property_type: PropertyType::parse(&property_type)
                .ok_or_else(|| bad_record(PROPERTY_REGISTRY, "property type", &property_type))?,
            address,
            owners: owners
                .iter()
                .map(|p| parsed(PROPERTY_REGISTRY, "PIN", p, Pin::parse))
                .collect::<Result<_, _>>()?,
        }))
    }
}
