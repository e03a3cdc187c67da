//! The personal-data access log in its append-only table.

use crate::connection::{Database, unavailable};
use crate::schema::personal_data_reads;
use crate::time::{from_stored, to_stored};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::access_log::{AccessLog, AccessLogQuery, PersonalDataRead, Reader, ReaderKind};
use domain::ports::Unavailable;

#[derive(Debug, Clone)]
pub struct DieselAccessLog {
    db: Database,
}

impl DieselAccessLog {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

type ReadRow = (
    NaiveDateTime,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
);

/// Names kept as `&'static str` in the domain: a stored name outside these is shown as stored.
const REGISTRIES: [&str; 4] = [
    "citizen-registry",
    "business-registry",
    "property-registry",
    "billing",
];
const DATA: [&str; 10] = [
    "main-information",
    "business",
    "subscriber-accounts",
    "account",
    "debt",
    "head-codes",
    "head-code",
    "metering-points",
    "metering-point",
    "property",
];

fn known(names: &[&'static str], stored: &str) -> &'static str {
    names
        .iter()
        .find(|n| **n == stored)
        .copied()
        .unwrap_or("other")
}

impl AccessLog for DieselAccessLog {
    fn record(&self, read: &PersonalDataRead) -> Result<(), Unavailable> {
        let mut conn = self.db.connection()?;
        diesel::insert_into(personal_data_reads::table)
            .values((
                personal_data_reads::at.eq(to_stored(read.at)),
                personal_data_reads::reader_kind.eq(read.reader.kind.as_str()),
                personal_data_reads::reader_id.eq(&read.reader.id),
                personal_data_reads::on_behalf_of.eq(read.reader.on_behalf_of.as_deref()),
                personal_data_reads::subject.eq(&read.subject),
                personal_data_reads::registry.eq(read.registry),
                personal_data_reads::data.eq(read.data),
                personal_data_reads::purpose.eq(&read.purpose),
            ))
            .execute(&mut *conn)
            .map_err(|e| unavailable(&e))?;
        Ok(())
    }

    fn query(&self, query: &AccessLogQuery) -> Result<Vec<PersonalDataRead>, Unavailable> {
        let mut conn = self.db.connection()?;
        let mut select = personal_data_reads::table
            .order((
                personal_data_reads::at.desc(),
                personal_data_reads::id.desc(),
            ))
            .limit(i64::from(query.limit))
            .select((
                personal_data_reads::at,
                personal_data_reads::reader_kind,
                personal_data_reads::reader_id,
                personal_data_reads::on_behalf_of,
                personal_data_reads::subject,
                personal_data_reads::registry,
                personal_data_reads::data,
                personal_data_reads::purpose,
            ))
            .into_boxed();
        if let Some(subject) = &query.subject {
            select = select.filter(personal_data_reads::subject.eq(subject.clone()));
        }
        if let Some(reader) = &query.reader_id {
            select = select.filter(personal_data_reads::reader_id.eq(reader.clone()));
        }
        if let Some(from) = query.from {
            select = select.filter(personal_data_reads::at.ge(to_stored(from)));
        }
        if let Some(to) = query.to {
            select = select.filter(personal_data_reads::at.lt(to_stored(to)));
        }
        let rows: Vec<ReadRow> = select.load(&mut *conn).map_err(|e| unavailable(&e))?;
        Ok(rows
            .into_iter()
            .map(
                |(at, kind, id, on_behalf_of, subject, registry, data, purpose)| PersonalDataRead {
                    at: from_stored(at),
                    reader: Reader {
                        kind: ReaderKind::parse(&kind).unwrap_or(ReaderKind::System),
                        id,
                        on_behalf_of,
                    },
                    subject,
                    registry: known(&REGISTRIES, &registry),
                    data: known(&DATA, &data),
                    purpose,
                },
            )
            .collect())
    }
}

/// A call an integrator made on behalf of an applicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegatedCall {
    pub at: chrono::DateTime<chrono::Utc>,
    pub client_id: String,
    pub applicant_pin: String,
    pub applicant_tin: Option<String>,
    pub login_method: String,
    pub method: String,
    pub path: String,
}

/// The append-only log of delegated calls.
#[derive(Debug, Clone)]
pub struct DieselDelegatedCalls {
    db: Database,
}

impl DieselDelegatedCalls {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub fn record(&self, call: &DelegatedCall) -> Result<(), Unavailable> {
        use crate::schema::delegated_calls as dc;
        let mut conn = self.db.connection()?;
        diesel::insert_into(dc::table)
            .values((
                dc::at.eq(to_stored(call.at)),
                dc::client_id.eq(&call.client_id),
                dc::applicant_pin.eq(&call.applicant_pin),
                dc::applicant_tin.eq(call.applicant_tin.as_deref()),
                dc::login_method.eq(&call.login_method),
                dc::method.eq(&call.method),
                dc::path.eq(&call.path),
            ))
            .execute(&mut *conn)
            .map_err(|e| unavailable(&e))?;
        Ok(())
    }

    /// The calls of a client and/or for an applicant, newest first.
    pub fn query(
        &self,
        client_id: Option<&str>,
        applicant_pin: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DelegatedCall>, Unavailable> {
        use crate::schema::delegated_calls as dc;
        let mut conn = self.db.connection()?;
        let mut select = dc::table
            .order((dc::at.desc(), dc::id.desc()))
            .limit(i64::from(limit))
            .select((
                dc::at,
                dc::client_id,
                dc::applicant_pin,
                dc::applicant_tin,
                dc::login_method,
                dc::method,
                dc::path,
            ))
            .into_boxed();
        if let Some(client) = client_id {
            select = select.filter(dc::client_id.eq(client.to_owned()));
        }
        if let Some(pin) = applicant_pin {
            select = select.filter(dc::applicant_pin.eq(pin.to_owned()));
        }
        type Row = (
            NaiveDateTime,
            String,
            String,
            Option<String>,
            String,
            String,
            String,
        );
        let rows: Vec<Row> = select.load(&mut *conn).map_err(|e| unavailable(&e))?;
        Ok(rows
            .into_iter()
            .map(
                |(at, client_id, applicant_pin, applicant_tin, login_method, method, path)| {
                    DelegatedCall {
                        at: from_stored(at),
                        client_id,
                        applicant_pin,
                        applicant_tin,
                        login_method,
                        method,
                        path,
                    }
                },
            )
            .collect())
    }
}
