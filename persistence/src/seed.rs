//! Loads registry and billing data for the local adapters from a JSON file (format:
//! `docs/SEED_FORMAT.md`). Loading is idempotent: records are keyed by PIN, TIN, code or property
//! key, an existing record takes the file's values, and owner and representative lists are
//! replaced by the file's.

use crate::connection::{Database, DbConnection};
use crate::schema::{
    business_representatives, businesses, citizens, department_districts, departments, head_codes,
    metering_points, properties, property_owners, subscriber_accounts,
};
use crate::time::to_stored;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use domain::application::ApplicationKind;
use domain::codes::{HeadCode, MeteringPointCode, SubscriberCode};
use domain::district::DistrictCode;
use domain::identity::{Pin, Tin};
use domain::ports::Unavailable;
use domain::property::{PropertyType, RegisterExtractNumber};
use domain::routing::DepartmentCode;
use serde::Deserialize;

/// The seed file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    #[serde(default)]
    pub citizens: Vec<SeedCitizen>,
    #[serde(default)]
    pub businesses: Vec<SeedBusiness>,
    #[serde(default)]
    pub subscriber_accounts: Vec<SeedSubscriberAccount>,
    #[serde(default)]
    pub head_codes: Vec<SeedHeadCode>,
    #[serde(default)]
    pub metering_points: Vec<SeedMeteringPoint>,
    #[serde(default)]
    pub properties: Vec<SeedProperty>,
    #[serde(default)]
    pub departments: Vec<SeedDepartment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDepartment {
    #[serde(deserialize_with = "department_code")]
    pub code: DepartmentCode,
    pub name: String,
    pub kind: ApplicationKind,
    #[serde(deserialize_with = "districts")]
    pub district_codes: Vec<DistrictCode>,
}

fn department_code<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<DepartmentCode, D::Error> {
    let raw = String::deserialize(deserializer)?;
    DepartmentCode::parse(&raw).map_err(serde::de::Error::custom)
}

fn districts<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<DistrictCode>, D::Error> {
    let raw = Vec::<String>::deserialize(deserializer)?;
    raw.iter()
        .map(|code| DistrictCode::parse(code).map_err(serde::de::Error::custom))
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCitizen {
    pub pin: Pin,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub patronymic: Option<String>,
    pub birth_date: NaiveDate,
    pub registered_address: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBusiness {
    pub tin: Tin,
    pub name: String,
    pub representative_pins: Vec<Pin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSubscriberAccount {
    pub code: SubscriberCode,
    pub holder_pin: Pin,
    pub holder_first_name: String,
    pub holder_last_name: String,
    pub address: String,
    #[serde(deserialize_with = "district")]
    pub district_code: DistrictCode,
    /// The real-estate registry number of the supplied property, when billing knows it.
    #[serde(default)]
    pub property_registry_number: Option<RegisterExtractNumber>,
    pub debt_qapik: i64,
    pub debt_as_of: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedHeadCode {
    pub code: HeadCode,
    pub tin: Tin,
    pub contract_name: String,
    pub address: String,
    #[serde(deserialize_with = "district")]
    pub district_code: DistrictCode,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMeteringPoint {
    pub code: MeteringPointCode,
    pub head_code: HeadCode,
    pub address: String,
    pub meter_number: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProperty {
    #[serde(deserialize_with = "district")]
    pub district_code: DistrictCode,
    pub registry_number: RegisterExtractNumber,
    pub registration_number: RegisterExtractNumber,
    pub property_type: PropertyType,
    pub address: String,
    pub owner_pins: Vec<Pin>,
}

fn district<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<DistrictCode, D::Error> {
    let raw = String::deserialize(deserializer)?;
    DistrictCode::parse(&raw).map_err(serde::de::Error::custom)
}

/// Why a seed file was not loaded. Nothing of it is stored then.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the seed file is not valid: {0}")]
    Format(#[from] serde_json::Error),
    #[error("the seed file does not fit the data already stored: {0}")]
    Rejected(#[from] diesel::result::Error),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// How many records the file holds, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeedSummary {
    pub citizens: usize,
    pub businesses: usize,
    pub subscriber_accounts: usize,
    pub head_codes: usize,
    pub metering_points: usize,
    pub properties: usize,
    pub departments: usize,
}

impl SeedFile {
    pub fn from_json(json: &str) -> Result<Self, SeedError> {
        Ok(serde_json::from_str(json)?)
    }
}

/// Loads the file in one transaction.
pub fn load(db: &Database, file: &SeedFile) -> Result<SeedSummary, SeedError> {
    db.write(|conn| load_into(conn, file))
}

/// Updates the row with `$key` or, when there is none, inserts it.
macro_rules! upsert {
    ($conn:expr, $table:path, $key:expr, $values:expr) => {{
        let updated = diesel::update($table.find($key))
            .set($values)
            .execute($conn)?;
        if updated == 0 {
            diesel::insert_into($table).values($values).execute($conn)?;
        }
    }};
}

fn load_into(conn: &mut DbConnection, file: &SeedFile) -> Result<SeedSummary, SeedError> {
    for c in &file.citizens {
        upsert!(
            conn,
            citizens::table,
            c.pin.as_str(),
            (
                citizens::pin.eq(c.pin.as_str()),
                citizens::first_name.eq(&c.first_name),
                citizens::last_name.eq(&c.last_name),
                citizens::patronymic.eq(c.patronymic.as_deref()),
                citizens::birth_date.eq(c.birth_date),
                citizens::registered_address.eq(&c.registered_address),
            )
        );
    }
    for b in &file.businesses {
        upsert!(
            conn,
            businesses::table,
            b.tin.as_str(),
            (
                businesses::tin.eq(b.tin.as_str()),
                businesses::name.eq(&b.name),
            )
        );
        diesel::delete(
            business_representatives::table
                .filter(business_representatives::tin.eq(b.tin.as_str())),
        )
        .execute(conn)?;
        for pin in &b.representative_pins {
            diesel::insert_into(business_representatives::table)
                .values((
                    business_representatives::tin.eq(b.tin.as_str()),
                    business_representatives::pin.eq(pin.as_str()),
                ))
                .execute(conn)?;
        }
    }
    for a in &file.subscriber_accounts {
        upsert!(
            conn,
            subscriber_accounts::table,
            a.code.as_str(),
            (
                subscriber_accounts::code.eq(a.code.as_str()),
                subscriber_accounts::holder_pin.eq(a.holder_pin.as_str()),
                subscriber_accounts::holder_first_name.eq(&a.holder_first_name),
                subscriber_accounts::holder_last_name.eq(&a.holder_last_name),
                subscriber_accounts::address.eq(&a.address),
                subscriber_accounts::district_code.eq(a.district_code.as_str()),
                subscriber_accounts::property_registry_number.eq(a
                    .property_registry_number
                    .as_ref()
                    .map(RegisterExtractNumber::as_str)),
                subscriber_accounts::debt_qapik.eq(a.debt_qapik),
                subscriber_accounts::debt_as_of.eq(to_stored(a.debt_as_of)),
            )
        );
    }
    for h in &file.head_codes {
        upsert!(
            conn,
            head_codes::table,
            h.code.as_str(),
            (
                head_codes::code.eq(h.code.as_str()),
                head_codes::tin.eq(h.tin.as_str()),
                head_codes::contract_name.eq(&h.contract_name),
                head_codes::address.eq(&h.address),
                head_codes::district_code.eq(h.district_code.as_str()),
            )
        );
    }
    for m in &file.metering_points {
        upsert!(
            conn,
            metering_points::table,
            m.code.as_str(),
            (
                metering_points::code.eq(m.code.as_str()),
                metering_points::head_code.eq(m.head_code.as_str()),
                metering_points::address.eq(&m.address),
                metering_points::meter_number.eq(&m.meter_number),
            )
        );
    }
    for p in &file.properties {
        let by_key = properties::table
            .filter(properties::district_code.eq(p.district_code.as_str()))
            .filter(properties::registry_number.eq(p.registry_number.as_str()))
            .filter(properties::registration_number.eq(p.registration_number.as_str()));
        let values = (
            properties::district_code.eq(p.district_code.as_str()),
            properties::registry_number.eq(p.registry_number.as_str()),
            properties::registration_number.eq(p.registration_number.as_str()),
            properties::property_type.eq(p.property_type.as_str()),
            properties::address.eq(&p.address),
        );
        let existing: Option<i64> = by_key.select(properties::id).first(conn).optional()?;
        let id = match existing {
            Some(id) => {
                diesel::update(properties::table.find(id))
                    .set(values)
                    .execute(conn)?;
                id
            }
            None => {
                diesel::insert_into(properties::table)
                    .values(values)
                    .execute(conn)?;
                by_key.select(properties::id).first(conn)?
            }
        };
        diesel::delete(property_owners::table.filter(property_owners::property_id.eq(id)))
            .execute(conn)?;
        for pin in &p.owner_pins {
            diesel::insert_into(property_owners::table)
                .values((
                    property_owners::property_id.eq(id),
                    property_owners::pin.eq(pin.as_str()),
                ))
                .execute(conn)?;
        }
    }
    for d in &file.departments {
        upsert!(
            conn,
            departments::table,
            d.code.as_str(),
            (
                departments::code.eq(d.code.as_str()),
                departments::name.eq(&d.name),
                departments::kind.eq(d.kind.as_str()),
            )
        );
        diesel::delete(
            department_districts::table
                .filter(department_districts::department_code.eq(d.code.as_str())),
        )
        .execute(conn)?;
        for district in &d.district_codes {
            diesel::insert_into(department_districts::table)
                .values((
                    department_districts::department_code.eq(d.code.as_str()),
                    department_districts::district_code.eq(district.as_str()),
                ))
                .execute(conn)?;
        }
    }
    Ok(SeedSummary {
        citizens: file.citizens.len(),
        businesses: file.businesses.len(),
        subscriber_accounts: file.subscriber_accounts.len(),
        head_codes: file.head_codes.len(),
        metering_points: file.metering_points.len(),
        properties: file.properties.len(),
        departments: file.departments.len(),
    })
}
