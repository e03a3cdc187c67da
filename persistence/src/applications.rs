//! The application store: applications and their timelines, one transaction per use case (a new
//! application on PostgreSQL is one statement, atomic on its own: `create_on_postgres`).

use crate::connection::{Backend, Database, DbConnection, on_backend, unavailable};
use crate::idempotency;
use crate::outbox;
use crate::schema::{
    application_documents, application_number_sequences, application_timeline, applications,
};
use crate::time::{from_stored, to_stored};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::application::{
    AccountChangeVariant, AccountSelection, Actor, Application, ApplicationKind, ApplicationNumber,
    DamageDescription, DebtCheck, MeterDamageTarget, NewApplication, Step, Steps, TimelineEntry,
    Work,
};
use domain::codes::{HeadCode, MeteringPointCode, SubscriberCode};
use domain::contact::{ContactInformation, EmailAddress, MobileNumber};
use domain::district::DistrictCode;
use domain::documents::{DocumentInfo, DocumentKind, NewDocument};
use domain::identity::{Applicant, LoginMethod, Pin, Role, Tin};
use domain::money::Qapik;
use domain::notifications::{Language, events_of};
use domain::ports::{
    AccountEffect, ApplicationPage, ApplicationQuery, ApplicationStore, ApplicationSummary,
    InboxOrder, InboxQuery, StoreError, Unavailable,
};
use domain::property::{PropertyData, PropertyKey, PropertyType, RegisterExtractNumber};
use domain::routing::DepartmentCode;
use domain::status::{Action, Status};
use domain::workflow::{DamageCause, InspectionFindings, InspectionVisit, MeterReading, Outcome};

/// Applications on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselApplicationStore {
    db: Database,
}

impl DieselApplicationStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

const RESIDENTIAL: &str = "residential";
const NON_RESIDENTIAL: &str = "non-residential";
/// Mobile numbers are stored as one text, E.164 numbers separated by commas.
const MOBILE_SEPARATOR: char = ',';
/// Meter readings are stored as `register=kWh` pairs separated by semicolons.
const READINGS_SEPARATOR: &str = ";";
const READING_SEPARATOR: char = '=';
/// The steps asked to be corrected, by field name, separated by commas.
const STEPS_SEPARATOR: &str = ",";

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = applications)]
pub(crate) struct ApplicationRow {
    id: i64,
    number: String,
    kind: String,
    status: String,
    applicant_pin: String,
    applicant_tin: Option<String>,
    login_method: String,
    subscriber_type: Option<String>,
    subscriber_code: Option<String>,
    head_code: Option<String>,
    metering_point_code: Option<String>,
    damage_description: Option<String>,
    change_variant: Option<String>,
    property_district_code: Option<String>,
    property_registry_number: Option<String>,
    property_registration_number: Option<String>,
    property_type: Option<String>,
    debt_qapik: Option<i64>,
    debt_as_of: Option<NaiveDateTime>,
    debt_checked_at: Option<NaiveDateTime>,
    mobile_numbers: Option<String>,
    email: Option<String>,
    district_code: Option<String>,
    department_code: Option<String>,
    assignee: Option<String>,
    due_at: Option<NaiveDateTime>,
    visit_date: Option<NaiveDate>,
    visit_from: Option<NaiveTime>,
    visit_to: Option<NaiveTime>,
    damage_found: Option<bool>,
    damage_cause: Option<String>,
    act_number: Option<String>,
    meter_readings: Option<String>,
    result_text: Option<String>,
    rejection_reason: Option<String>,
    correction_steps: Option<String>,
    correction_request: Option<String>,
    decided_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    submitted_at: Option<NaiveDateTime>,
    version: i64,
    language: String,
}

/// The columns a use case writes: everything but the id, the number and the creation time.
// `treat_none_as_default_value = false` on the inserts here: a column left out as DEFAULT would
// make the INSERT's text depend on which fields are empty, and diesel then prepares it anew on
// every call (no column written here has a default other than NULL).
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(
    table_name = applications,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
struct ApplicationChanges {
    status: String,
    subscriber_type: Option<String>,
    subscriber_code: Option<String>,
    head_code: Option<String>,
    metering_point_code: Option<String>,
    damage_description: Option<String>,
    change_variant: Option<String>,
    property_district_code: Option<String>,
    property_registry_number: Option<String>,
    property_registration_number: Option<String>,
    property_type: Option<String>,
    debt_qapik: Option<i64>,
    debt_as_of: Option<NaiveDateTime>,
    debt_checked_at: Option<NaiveDateTime>,
    mobile_numbers: Option<String>,
    email: Option<String>,
    open_target: Option<String>,
    district_code: Option<String>,
    department_code: Option<String>,
    assignee: Option<String>,
    due_at: Option<NaiveDateTime>,
    visit_date: Option<NaiveDate>,
    visit_from: Option<NaiveTime>,
    visit_to: Option<NaiveTime>,
    damage_found: Option<bool>,
    damage_cause: Option<String>,
    act_number: Option<String>,
    meter_readings: Option<String>,
    result_text: Option<String>,
    rejection_reason: Option<String>,
    correction_steps: Option<String>,
    correction_request: Option<String>,
    decided_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
    submitted_at: Option<NaiveDateTime>,
    version: i64,
    language: String,
}

/// The columns the lists show (`ApplicationSummary`), and the id their cursor continues after.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = applications)]
pub(crate) struct SummaryRow {
    id: i64,
    number: String,
    kind: String,
    status: String,
    subscriber_code: Option<String>,
    metering_point_code: Option<String>,
    district_code: Option<String>,
    department_code: Option<String>,
    assignee: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    submitted_at: Option<NaiveDateTime>,
    due_at: Option<NaiveDateTime>,
}

pub(crate) fn to_summary(row: SummaryRow) -> Result<ApplicationSummary, Unavailable> {
    let number = &row.number;
    Ok(ApplicationSummary {
        number: ApplicationNumber::parse(number).map_err(|_| corrupt(number, "number"))?,
        kind: ApplicationKind::parse(&row.kind).ok_or_else(|| corrupt(number, "kind"))?,
        status: Status::parse(&row.status).ok_or_else(|| corrupt(number, "status"))?,
        // A metering point is the target of a non-residential investigation; otherwise the
        // subscriber code is (residential investigation, account change).
        target: row.metering_point_code.or(row.subscriber_code),
        district: parse_optional(number, "district", row.district_code.as_deref(), |d| {
            DistrictCode::parse(d)
        })?,
        department: parse_optional(number, "department", row.department_code.as_deref(), |d| {
            DepartmentCode::parse(d)
        })?,
        assignee: row.assignee,
        created_at: from_stored(row.created_at),
        updated_at: from_stored(row.updated_at),
        submitted_at: row.submitted_at.map(from_stored),
        due_at: row.due_at.map(from_stored),
    })
}

#[derive(Debug, Insertable)]
#[diesel(table_name = applications, treat_none_as_default_value = false)]
struct ApplicationIdentity<'a> {
    number: &'a str,
    kind: &'a str,
    applicant_pin: &'a str,
    applicant_tin: Option<&'a str>,
    login_method: &'a str,
    created_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = application_timeline)]
pub(crate) struct TimelineRow {
    at: NaiveDateTime,
    actor_id: String,
    actor_role: String,
    action: String,
    from_status: Option<String>,
    to_status: String,
    comment: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = application_timeline, treat_none_as_default_value = false)]
struct NewTimelineRow {
    application_id: i64,
    at: NaiveDateTime,
    actor_id: String,
    actor_role: &'static str,
    action: &'static str,
    from_status: Option<&'static str>,
    to_status: &'static str,
    comment: Option<String>,
}

fn changes_of(
    status: Status,
    steps: &Steps,
    contact: Option<&ContactInformation>,
    work: &Work,
    updated_at: NaiveDateTime,
    submitted_at: Option<NaiveDateTime>,
    version: i64,
) -> ApplicationChanges {
    let mut changes = ApplicationChanges {
        language: Language::default().as_str().to_owned(),
        status: status.as_str().to_owned(),
        subscriber_type: None,
        subscriber_code: None,
        head_code: None,
        metering_point_code: None,
        damage_description: None,
        change_variant: None,
        property_district_code: None,
        property_registry_number: None,
        property_registration_number: None,
        property_type: None,
        debt_qapik: None,
        debt_as_of: None,
        debt_checked_at: None,
        mobile_numbers: contact.map(|c| {
            c.mobile_numbers()
                .iter()
                .map(MobileNumber::as_str)
                .collect::<Vec<_>>()
                .join(&MOBILE_SEPARATOR.to_string())
        }),
        email: contact
            .and_then(|c| c.email())
            .map(|e| e.as_str().to_owned()),
        open_target: steps.target_key().filter(|_| status.is_open()),
        district_code: work.district.map(|d| d.as_str().to_owned()),
        department_code: work.department.as_ref().map(ToString::to_string),
        assignee: work.assignee.clone(),
        due_at: work.due_at.map(to_stored),
        visit_date: work.outcome.visit.map(|v| v.date),
        visit_from: work.outcome.visit.map(|v| v.from),
        visit_to: work.outcome.visit.map(|v| v.to),
        damage_found: work.outcome.findings.as_ref().map(|f| f.damage_found),
        damage_cause: work
            .outcome
            .findings
            .as_ref()
            .and_then(|f| f.cause)
            .map(|c| c.as_str().to_owned()),
        act_number: work.outcome.findings.as_ref().map(|f| f.act_number.clone()),
        meter_readings: work.outcome.findings.as_ref().map(|f| {
            f.readings
                .iter()
                .map(|r| format!("{}{READING_SEPARATOR}{}", r.register, r.value_kwh))
                .collect::<Vec<_>>()
                .join(READINGS_SEPARATOR)
        }),
        result_text: work.outcome.result.clone(),
        rejection_reason: work.outcome.rejection_reason.clone(),
        correction_steps: work.outcome.correction.as_ref().map(|(steps, _)| {
            steps
                .iter()
                .map(|s| s.field())
                .collect::<Vec<_>>()
                .join(STEPS_SEPARATOR)
        }),
        correction_request: work
            .outcome
            .correction
            .as_ref()
            .map(|(_, request)| request.clone()),
        decided_at: work.outcome.decided_at.map(to_stored),
        updated_at,
        submitted_at,
        version,
    };
    match steps {
        Steps::MeterDamage {
            target,
            description,
        } => {
            changes.damage_description = description.as_ref().map(|d| d.as_str().to_owned());
            match target {
                Some(MeterDamageTarget::Residential { subscriber_code }) => {
                    changes.subscriber_type = Some(RESIDENTIAL.to_owned());
                    changes.subscriber_code = Some(subscriber_code.to_string());
                }
                Some(MeterDamageTarget::NonResidential {
                    head_code,
                    metering_point,
                }) => {
                    changes.subscriber_type = Some(NON_RESIDENTIAL.to_owned());
                    changes.head_code = Some(head_code.to_string());
                    changes.metering_point_code = Some(metering_point.to_string());
                }
                None => {}
            }
        }
        Steps::AccountChange {
            account,
            property,
            debt_check,
        } => {
            if let Some(selection) = account {
                changes.change_variant = Some(selection.variant.as_str().to_owned());
                changes.subscriber_code = Some(selection.subscriber_code.to_string());
            }
            if let Some(data) = property {
                changes.property_district_code = Some(data.key.district.as_str().to_owned());
                changes.property_registry_number = Some(data.key.registry_number.to_string());
                changes.property_registration_number =
                    Some(data.key.registration_number.to_string());
                changes.property_type = Some(data.property_type.as_str().to_owned());
            }
            if let Some(check) = debt_check {
                changes.debt_qapik = Some(check.amount.value());
                changes.debt_as_of = Some(to_stored(check.as_of));
                changes.debt_checked_at = Some(to_stored(check.checked_at));
            }
        }
    }
    changes
}

/// A stored value that no longer parses: the data was changed outside the service.
fn corrupt(number: &str, what: &str) -> Unavailable {
    Unavailable::stored_data(format!("stored application {number} has an invalid {what}"))
}

fn parse_stored<T, E>(
    number: &str,
    what: &str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, Unavailable> {
    parse(value).map_err(|_| corrupt(number, what))
}

fn parse_optional<T, E>(
    number: &str,
    what: &str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, Unavailable> {
    value
        .map(|v| parse_stored(number, what, v, parse))
        .transpose()
}

fn some_or_corrupt<T>(number: &str, what: &str, value: Option<T>) -> Result<T, Unavailable> {
    value.ok_or_else(|| corrupt(number, what))
}

pub(crate) fn to_domain(
    row: &ApplicationRow,
    timeline: Vec<TimelineRow>,
) -> Result<Application, Unavailable> {
    let n = row.number.as_str();
    let kind = some_or_corrupt(n, "kind", ApplicationKind::parse(&row.kind))?;
    let steps = match kind {
        ApplicationKind::MeterDamageInvestigation => {
            let target = match row.subscriber_type.as_deref() {
                None => None,
                Some(RESIDENTIAL) => Some(MeterDamageTarget::Residential {
                    subscriber_code: parse_stored(
                        n,
                        "subscriber code",
                        some_or_corrupt(n, "subscriber code", row.subscriber_code.as_deref())?,
                        SubscriberCode::parse,
                    )?,
                }),
                Some(NON_RESIDENTIAL) => Some(MeterDamageTarget::NonResidential {
                    head_code: parse_stored(
                        n,
                        "head code",
                        some_or_corrupt(n, "head code", row.head_code.as_deref())?,
                        HeadCode::parse,
                    )?,
                    metering_point: parse_stored(
                        n,
                        "metering point",
                        some_or_corrupt(n, "metering point", row.metering_point_code.as_deref())?,
                        MeteringPointCode::parse,
                    )?,
                }),
                Some(_) => return Err(corrupt(n, "subscriber type")),
            };
            let description = parse_optional(
                n,
                "damage description",
                row.damage_description.as_deref(),
                DamageDescription::parse,
            )?
            .flatten();
            Steps::MeterDamage {
                target,
                description,
            }
        }
        ApplicationKind::AccountChange => {
            let account = match row.change_variant.as_deref() {
                None => None,
                Some(variant) => Some(AccountSelection {
                    variant: some_or_corrupt(n, "variant", AccountChangeVariant::parse(variant))?,
                    subscriber_code: parse_stored(
                        n,
                        "subscriber code",
                        some_or_corrupt(n, "subscriber code", row.subscriber_code.as_deref())?,
                        SubscriberCode::parse,
                    )?,
                }),
            };
            let property = match (
                row.property_district_code.as_deref(),
                row.property_registry_number.as_deref(),
                row.property_registration_number.as_deref(),
                row.property_type.as_deref(),
            ) {
                (Some(district), Some(registry), Some(registration), Some(property_type)) => {
                    Some(PropertyData {
                        key: PropertyKey {
                            district: parse_stored(n, "district", district, DistrictCode::parse)?,
                            registry_number: parse_stored(
                                n,
                                "registry number",
                                registry,
                                RegisterExtractNumber::parse,
                            )?,
                            registration_number: parse_stored(
                                n,
                                "registration number",
                                registration,
                                RegisterExtractNumber::parse,
                            )?,
                        },
                        property_type: some_or_corrupt(
                            n,
                            "property type",
                            PropertyType::parse(property_type),
                        )?,
                    })
                }
                (None, None, None, None) => None,
                _ => return Err(corrupt(n, "property")),
            };
            let debt_check = match (row.debt_qapik, row.debt_as_of, row.debt_checked_at) {
                (Some(amount), Some(as_of), Some(checked_at)) => Some(DebtCheck {
                    amount: Qapik::new(amount),
                    as_of: from_stored(as_of),
                    checked_at: from_stored(checked_at),
                }),
                (None, None, None) => None,
                _ => return Err(corrupt(n, "debt check")),
            };
            Steps::AccountChange {
                account,
                property,
                debt_check,
            }
        }
    };
    let contact = match row.mobile_numbers.as_deref() {
        None => None,
        Some(numbers) => {
            let mobiles = numbers
                .split(MOBILE_SEPARATOR)
                .map(|m| parse_stored(n, "mobile number", m, MobileNumber::parse))
                .collect::<Result<Vec<_>, _>>()?;
            let email = parse_optional(n, "e-mail", row.email.as_deref(), EmailAddress::parse)?;
            Some(ContactInformation::from_stored(mobiles, email))
        }
    };
    let timeline = timeline
        .into_iter()
        .map(|entry| {
            Ok(TimelineEntry {
                at: from_stored(entry.at),
                actor: Actor {
                    id: entry.actor_id,
                    role: some_or_corrupt(n, "actor role", Role::parse(&entry.actor_role))?,
                },
                action: some_or_corrupt(n, "action", Action::parse(&entry.action))?,
                from: entry
                    .from_status
                    .as_deref()
                    .map(|s| some_or_corrupt(n, "status", Status::parse(s)))
                    .transpose()?,
                to: some_or_corrupt(n, "status", Status::parse(&entry.to_status))?,
                comment: entry.comment,
            })
        })
        .collect::<Result<Vec<_>, Unavailable>>()?;
    Ok(Application {
        number: parse_stored(n, "number", n, ApplicationNumber::parse)?,
        status: some_or_corrupt(n, "status", Status::parse(&row.status))?,
        applicant: Applicant {
            pin: parse_stored(n, "applicant PIN", &row.applicant_pin, Pin::parse)?,
            tin: parse_optional(n, "applicant TIN", row.applicant_tin.as_deref(), Tin::parse)?,
            login_method: some_or_corrupt(
                n,
                "login method",
                LoginMethod::parse(&row.login_method),
            )?,
        },
        steps,
        contact,
        work: work_of(row)?,
        created_at: from_stored(row.created_at),
        updated_at: from_stored(row.updated_at),
        submitted_at: row.submitted_at.map(from_stored),
        version: row.version,
        timeline,
        language: some_or_corrupt(n, "language", Language::parse(&row.language))?,
    })
}

/// Changes the subscriber account as an approved account change says. The account exists: the
/// application was checked against it; should it be gone, the whole approval is rolled back.
fn apply_account_effect(conn: &mut DbConnection, effect: &AccountEffect) -> Result<(), WriteError> {
    use crate::schema::subscriber_accounts::dsl as accounts;
    let updated = match effect {
        AccountEffect::Transfer {
            code,
            new_holder,
            name,
        } => diesel::update(accounts::subscriber_accounts.find(code.as_str()))
            .set((
                accounts::holder_pin.eq(new_holder.as_str()),
                accounts::holder_first_name.eq(&name.first_name),
                accounts::holder_last_name.eq(&name.last_name),
            ))
            .execute(conn)?,
        AccountEffect::Rename { code, name } => {
            diesel::update(accounts::subscriber_accounts.find(code.as_str()))
                .set((
                    accounts::holder_first_name.eq(&name.first_name),
                    accounts::holder_last_name.eq(&name.last_name),
                ))
                .execute(conn)?
        }
    };
    if updated == 1 {
        Ok(())
    } else {
        Err(WriteError::Store(StoreError::Unavailable(
            Unavailable::stored_data(
                "the subscriber account of an approved account change is missing",
            ),
        )))
    }
}

fn document_info(
    number: &str,
    id: i64,
    kind: &str,
    file_name: String,
    content_type: String,
    size: u64,
    created_at: NaiveDateTime,
) -> Result<DocumentInfo, Unavailable> {
    Ok(DocumentInfo {
        id,
        kind: DocumentKind::parse(kind).ok_or_else(|| corrupt(number, "document kind"))?,
        file_name,
        content_type,
        size,
        created_at: from_stored(created_at),
    })
}

/// The company's side of a stored application.
fn work_of(row: &ApplicationRow) -> Result<Work, Unavailable> {
    let n = row.number.as_str();
    let visit = match (row.visit_date, row.visit_from, row.visit_to) {
        (Some(date), Some(from), Some(to)) => Some(InspectionVisit { date, from, to }),
        (None, None, None) => None,
        _ => return Err(corrupt(n, "inspection visit")),
    };
    let findings = match (
        row.damage_found,
        row.act_number.as_deref(),
        row.meter_readings.as_deref(),
    ) {
        (Some(damage_found), Some(act_number), Some(readings)) => Some(InspectionFindings {
            damage_found,
            cause: row
                .damage_cause
                .as_deref()
                .map(|c| some_or_corrupt(n, "damage cause", DamageCause::parse(c)))
                .transpose()?,
            act_number: act_number.to_owned(),
            readings: readings
                .split(READINGS_SEPARATOR)
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (register, value) = pair
                        .split_once(READING_SEPARATOR)
                        .ok_or_else(|| corrupt(n, "meter reading"))?;
                    Ok(MeterReading {
                        register: register.to_owned(),
                        value_kwh: value.parse().map_err(|_| corrupt(n, "meter reading"))?,
                    })
                })
                .collect::<Result<_, Unavailable>>()?,
        }),
        (None, None, None) => None,
        _ => return Err(corrupt(n, "inspection findings")),
    };
    let correction = match (
        row.correction_steps.as_deref(),
        row.correction_request.as_deref(),
    ) {
        (Some(steps), Some(request)) => Some((
            steps
                .split(STEPS_SEPARATOR)
                .map(|s| some_or_corrupt(n, "correction step", Step::parse(s)))
                .collect::<Result<_, _>>()?,
            request.to_owned(),
        )),
        (None, None) => None,
        _ => return Err(corrupt(n, "correction request")),
    };
    Ok(Work {
        district: parse_optional(
            n,
            "district",
            row.district_code.as_deref(),
            DistrictCode::parse,
        )?,
        department: parse_optional(
            n,
            "department",
            row.department_code.as_deref(),
            DepartmentCode::parse,
        )?,
        assignee: row.assignee.clone(),
        due_at: row.due_at.map(from_stored),
        outcome: Outcome {
            visit,
            findings,
            result: row.result_text.clone(),
            rejection_reason: row.rejection_reason.clone(),
            correction,
            decided_at: row.decided_at.map(from_stored),
        },
    })
}

/// What can go wrong inside a write transaction.
#[derive(Debug)]
enum WriteError {
    Diesel(DieselError),
    Store(StoreError),
}

impl From<DieselError> for WriteError {
    fn from(error: DieselError) -> Self {
        Self::Diesel(error)
    }
}

impl From<Unavailable> for WriteError {
    fn from(error: Unavailable) -> Self {
        Self::Store(StoreError::Unavailable(error))
    }
}

/// The counts of submitted applications the triggers keep (migration `application_counts`), by
/// status (one row per department and kind: sum them).
fn stored_counts(
    conn: &mut DbConnection,
    department: Option<&DepartmentCode>,
    kind: Option<ApplicationKind>,
    status: Option<Status>,
) -> Result<Vec<(String, i64)>, DieselError> {
    use crate::schema::application_counts::dsl as counts;
    on_backend!(conn, conn => {
        let mut select = counts::application_counts
            .select((counts::status, counts::count))
            .into_boxed();
        if let Some(department) = department {
            select = select.filter(counts::department_code.eq(department.as_str()));
        }
        if let Some(kind) = kind {
            select = select.filter(counts::kind.eq(kind.as_str()));
        }
        if let Some(status) = status {
            select = select.filter(counts::status.eq(status.as_str()));
        }
        select.load(conn)
    })
}

diesel::define_sql_function! {
    /// The next number of a prefix and year from its PostgreSQL sequence, made on the first call
    /// (migration `hot_rows`).
    fn next_application_number(prefix: diesel::sql_types::Text, year: diesel::sql_types::Integer) -> diesel::sql_types::BigInt;
}

/// Gives out the next sequence number of a prefix and year.
///
/// PostgreSQL: `nextval` of the prefix and year's sequence, which locks no row, so concurrent
/// submissions (of one instance or several) never wait for each other's commit; a number taken by
/// a transaction that then rolls back is not given again (a gap). SQLite has one writer at a time
/// (`BEGIN IMMEDIATE`): a counter row, updated in the transaction, gapless. The first number of a
/// year inserts the row; when another writer inserted it first, the savepoint is rolled back and
/// the UPDATE tried again.
fn next_sequence(conn: &mut DbConnection, prefix: &str, year: i32) -> Result<u64, DieselError> {
    use application_number_sequences::dsl as seq;
    if let DbConnection::Postgresql(pg) = conn {
        let value: i64 = diesel::select(next_application_number(prefix, year)).get_result(pg)?;
        return Ok(u64::try_from(value).unwrap_or_default());
    }
    for _ in 0..3 {
        let updated = diesel::update(seq::application_number_sequences.find((prefix, year)))
            .set(seq::last_value.eq(seq::last_value + 1))
            .execute(conn)?;
        if updated == 0 {
            let inserted = conn.transaction(|savepoint| {
                diesel::insert_into(seq::application_number_sequences)
                    .values((
                        seq::prefix.eq(prefix),
                        seq::year.eq(year),
                        seq::last_value.eq(1_i64),
                    ))
                    .execute(savepoint)
            });
            match inserted {
                Ok(_) => {}
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => continue,
                Err(other) => return Err(other),
            }
        }
        let value: i64 = seq::application_number_sequences
            .find((prefix, year))
            .select(seq::last_value)
            .first(conn)?;
        return Ok(u64::try_from(value).unwrap_or_default());
    }
    Err(DieselError::RollbackTransaction)
}

/// Appends `entries` to an application's timeline and gives them back as stored, in order, a
/// statement a row (SQLite's way; PostgreSQL writes them with the events, `create_on_postgres`).
fn insert_timeline(
    conn: &mut DbConnection,
    application_id: i64,
    entries: &[TimelineEntry],
) -> Result<Vec<TimelineRow>, DieselError> {
    entries
        .iter()
        .map(|entry| {
            on_backend!(conn, conn => {
                diesel::insert_into(application_timeline::table)
                    .values(NewTimelineRow {
                        application_id,
                        at: to_stored(entry.at),
                        actor_id: entry.actor.id.clone(),
                        actor_role: entry.actor.role.as_str(),
                        action: entry.action.as_str(),
                        from_status: entry.from.map(Status::as_str),
                        to_status: entry.to.as_str(),
                        comment: entry.comment.clone(),
                    })
                    .returning(TimelineRow::as_returning())
                    .get_result(conn)
            })
        })
        .collect()
}

/// The queries of the reads, as macros: each expands for the connection it runs on (the sync
/// PostgreSQL and SQLite ones here, the async PostgreSQL one in `reads`), so that all run the
/// same SQL.
macro_rules! application_by_number {
    ($number:expr) => {
        $crate::schema::applications::table
            .filter($crate::schema::applications::number.eq($number))
            .select($crate::applications::ApplicationRow::as_select())
    };
}
pub(crate) use application_by_number;

/// An application's timeline, oldest first, found by the application's number so that it can
/// be sent together with the application's row.
macro_rules! timeline_by_number {
    ($number:expr) => {
        $crate::schema::application_timeline::table
            .inner_join($crate::schema::applications::table)
            .filter($crate::schema::applications::number.eq($number))
            .order($crate::schema::application_timeline::id.asc())
            .select($crate::applications::TimelineRow::as_select())
    };
}
pub(crate) use timeline_by_number;

/// "My applications" with the query's filters, boxed, before paging.
macro_rules! my_applications {
    ($query:expr) => {{
        use $crate::schema::applications;
        let query: &domain::ports::ApplicationQuery = $query;
        let mut select = applications::table
            .filter(applications::applicant_pin.eq(query.applicant.as_str()))
            .into_boxed();
        select = match &query.acting_for {
            Some(tin) => select.filter(applications::applicant_tin.eq(tin.as_str())),
            None => select.filter(applications::applicant_tin.is_null()),
        };
        if let Some(status) = query.status {
            select = select.filter(applications::status.eq(status.as_str()));
        }
        if let Some(kind) = query.kind {
            select = select.filter(applications::kind.eq(kind.as_str()));
        }
        select
    }};
}
pub(crate) use my_applications;

/// One page of "My applications": newest first, after the cursor, one more than the limit to
/// tell whether another page follows.
macro_rules! my_applications_page {
    ($query:expr) => {{
        use $crate::schema::applications;
        let query: &domain::ports::ApplicationQuery = $query;
        let mut page = $crate::applications::my_applications!(query);
        if let Some(after) = query.after {
            page = page.filter(applications::id.lt(after));
        }
        page.order(applications::id.desc())
            .limit(i64::from(query.limit) + 1)
            .select($crate::applications::SummaryRow::as_select())
    }};
}
pub(crate) use my_applications_page;

/// The page the rows of `my_applications_page!` make.
pub(crate) fn page_of(
    query: &ApplicationQuery,
    total: i64,
    mut rows: Vec<SummaryRow>,
) -> Result<ApplicationPage, Unavailable> {
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let next_after = if has_more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    summary_page(total, rows, next_after)
}

/// A page of the lists (My applications, the inbox) from its rows.
fn summary_page(
    total: i64,
    rows: Vec<SummaryRow>,
    next_after: Option<i64>,
) -> Result<ApplicationPage, Unavailable> {
    let items = rows
        .into_iter()
        .map(to_summary)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ApplicationPage {
        items,
        total: u64::try_from(total).unwrap_or_default(),
        next_after,
    })
}

fn load(conn: &mut DbConnection, number: &str) -> Result<Option<Application>, WriteError> {
    let found: Option<(ApplicationRow, Vec<TimelineRow>)> = on_backend!(conn, conn => {
        let row: Option<ApplicationRow> = application_by_number!(number)
            .first(conn)
            .optional()?;
        match row {
            None => None,
            Some(row) => Some((row, timeline_by_number!(number).load(conn)?)),
        }
    });
    found
        .map(|(row, timeline)| to_domain(&row, timeline))
        .transpose()
        .map_err(WriteError::from)
}

/// Marks the request's idempotency key committed in this transaction; refuses to commit when
/// another request has taken the key over (see `idempotency`).
fn committed_once(conn: &mut DbConnection) -> Result<(), WriteError> {
    idempotency::mark_committed(conn)?
        .map_err(|_| WriteError::Store(StoreError::Unavailable(idempotency::taken_over())))
}

impl DieselApplicationStore {
    /// Runs a write (in its transaction) and gives its error as the store's, see [`Self::guarded`].
    fn write_guarded<T>(
        &self,
        kind: ApplicationKind,
        target_key: Option<&str>,
        work: impl FnOnce(&mut DbConnection) -> Result<T, WriteError>,
    ) -> Result<T, StoreError> {
        self.guarded(kind, target_key, self.db.write(work))
    }

    /// The store's error of a write: a unique violation on the open-target index becomes
    /// `OpenApplicationExists`, looked up after the failed write is rolled back.
    fn guarded<T>(
        &self,
        kind: ApplicationKind,
        target_key: Option<&str>,
        result: Result<T, WriteError>,
    ) -> Result<T, StoreError> {
        match result {
            Ok(value) => Ok(value),
            Err(WriteError::Store(error)) => Err(error),
            Err(WriteError::Diesel(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                info,
            ))) => {
                let open = match target_key {
                    Some(key) => self.open_application_for(kind, key)?,
                    None => None,
                };
                Err(match open {
                    Some(number) => StoreError::OpenApplicationExists(number),
                    None => {
                        StoreError::Unavailable(Unavailable::stored_data(info.message().to_owned()))
                    }
                })
            }
            Err(WriteError::Diesel(error)) => Err(StoreError::Unavailable(unavailable(&error))),
        }
    }
}

/// The stored values of a new application with the number it is given.
fn values_of<'a>(
    new: &'a NewApplication,
    number: &'a ApplicationNumber,
) -> (ApplicationIdentity<'a>, ApplicationChanges) {
    (
        ApplicationIdentity {
            number: number.as_str(),
            kind: new.steps.kind().as_str(),
            applicant_pin: new.applicant.pin.as_str(),
            applicant_tin: new.applicant.tin.as_ref().map(Tin::as_str),
            login_method: new.applicant.login_method.as_str(),
            created_at: to_stored(new.created_at),
        },
        ApplicationChanges {
            language: new.language.as_str().to_owned(),
            ..changes_of(
                new.status,
                &new.steps,
                new.contact.as_ref(),
                &new.work,
                to_stored(new.created_at),
                new.submitted_at.map(to_stored),
                1,
            )
        },
    )
}

/// The row that inserting these values stores, as a read gives it back but for the id (which
/// the domain does not see): the application as created is built from it, through the same
/// conversion as a read's, without reading it back.
fn as_inserted(identity: &ApplicationIdentity<'_>, changes: &ApplicationChanges) -> ApplicationRow {
    ApplicationRow {
        id: 0,
        number: identity.number.to_owned(),
        kind: identity.kind.to_owned(),
        status: changes.status.clone(),
        applicant_pin: identity.applicant_pin.to_owned(),
        applicant_tin: identity.applicant_tin.map(str::to_owned),
        login_method: identity.login_method.to_owned(),
        subscriber_type: changes.subscriber_type.clone(),
        subscriber_code: changes.subscriber_code.clone(),
        head_code: changes.head_code.clone(),
        metering_point_code: changes.metering_point_code.clone(),
        damage_description: changes.damage_description.clone(),
        change_variant: changes.change_variant.clone(),
        property_district_code: changes.property_district_code.clone(),
        property_registry_number: changes.property_registry_number.clone(),
        property_registration_number: changes.property_registration_number.clone(),
        property_type: changes.property_type.clone(),
        debt_qapik: changes.debt_qapik,
        debt_as_of: changes.debt_as_of,
        debt_checked_at: changes.debt_checked_at,
        mobile_numbers: changes.mobile_numbers.clone(),
        email: changes.email.clone(),
        district_code: changes.district_code.clone(),
        department_code: changes.department_code.clone(),
        assignee: changes.assignee.clone(),
        due_at: changes.due_at,
        visit_date: changes.visit_date,
        visit_from: changes.visit_from,
        visit_to: changes.visit_to,
        damage_found: changes.damage_found,
        damage_cause: changes.damage_cause.clone(),
        act_number: changes.act_number.clone(),
        meter_readings: changes.meter_readings.clone(),
        result_text: changes.result_text.clone(),
        rejection_reason: changes.rejection_reason.clone(),
        correction_steps: changes.correction_steps.clone(),
        correction_request: changes.correction_request.clone(),
        decided_at: changes.decided_at,
        created_at: identity.created_at,
        updated_at: changes.updated_at,
        submitted_at: changes.submitted_at,
        version: changes.version,
        language: changes.language.clone(),
    }
}

/// Timeline entries as their rows store them.
fn as_stored_timeline(entries: &[TimelineEntry]) -> Vec<TimelineRow> {
    entries
        .iter()
        .map(|entry| TimelineRow {
            at: to_stored(entry.at),
            actor_id: entry.actor.id.clone(),
            actor_role: entry.actor.role.as_str().to_owned(),
            action: entry.action.as_str().to_owned(),
            from_status: entry.from.map(|s| s.as_str().to_owned()),
            to_status: entry.to.as_str().to_owned(),
            comment: entry.comment.clone(),
        })
        .collect()
}

/// The number a new application gets: the next of its kind's prefix in the year it is made.
fn next_number(
    conn: &mut DbConnection,
    new: &NewApplication,
) -> Result<ApplicationNumber, DieselError> {
    let kind = new.steps.kind();
    let year = new.created_at.year();
    let sequence = next_sequence(conn, kind.number_prefix(), year)?;
    Ok(ApplicationNumber::new(kind, year, sequence))
}

/// Creates the application on PostgreSQL: its number from the sequence, then the application,
/// its timeline, events and messages in one statement (`create_on_postgres`), in a transaction
/// only where an idempotency claim must be marked committed with it.
fn create_on_postgres(
    conn: &mut DbConnection,
    new: &NewApplication,
) -> Result<Application, WriteError> {
    // Outside any transaction: a sequence is not rolled back anyway.
    let number = next_number(conn, new)?;
    let values = values_of(new, &number);
    let created = to_domain(
        &as_inserted(&values.0, &values.1),
        as_stored_timeline(&new.timeline),
    )?;
    let events = events_of(&created, &new.timeline, &[], created.language);
    let write = |conn: &mut DbConnection| -> Result<(), WriteError> {
        let DbConnection::Postgresql(pg) = conn else {
            return Err(WriteError::Diesel(DieselError::QueryBuilderError(
                "the one-statement create is PostgreSQL's".into(),
            )));
        };
        let insert = diesel::insert_into(applications::table)
            .values(&values)
            .returning(applications::id);
        crate::create_on_postgres::create(pg, insert, &new.timeline, &events)?;
        Ok(())
    };
    if idempotency::is_claimed() {
        conn.transaction(|conn| {
            write(conn)?;
            committed_once(conn)
        })?;
    } else {
        write(conn)?;
    }
    Ok(created)
}

/// Creates the application on SQLite, inside the caller's transaction, a statement a row.
fn create_row_by_row(
    conn: &mut DbConnection,
    new: &NewApplication,
) -> Result<Application, WriteError> {
    let number = next_number(conn, new)?;
    let values = values_of(new, &number);
    // The stored row comes back from the INSERT and the timeline from its own: the application
    // as created is built from them without reading it again.
    let row: ApplicationRow = on_backend!(conn, conn => {
        diesel::insert_into(applications::table)
            .values(&values)
            .returning(ApplicationRow::as_returning())
            .get_result(conn)?
    });
    let timeline = insert_timeline(conn, row.id, &new.timeline)?;
    let created = to_domain(&row, timeline)?;
    let events = events_of(&created, &new.timeline, &[], created.language);
    outbox::enqueue(conn, row.id, &events)?;
    committed_once(conn)?;
    Ok(created)
}

impl ApplicationStore for DieselApplicationStore {
    fn create(&self, new: NewApplication) -> Result<Application, StoreError> {
        let kind = new.steps.kind();
        let target_key = new.steps.target_key();
        let created = match self.db.backend() {
            Backend::Postgres => self
                .db
                .connection()
                .map_err(WriteError::from)
                .and_then(|mut conn| create_on_postgres(&mut conn, &new)),
            Backend::Sqlite => self.db.write(|conn| create_row_by_row(conn, &new)),
        };
        self.guarded(kind, target_key.as_deref(), created)
    }

    fn find(&self, number: &ApplicationNumber) -> Result<Option<Application>, Unavailable> {
        let mut conn = self.db.connection()?;
        match load(&mut conn, number.as_str()) {
            Ok(found) => Ok(found),
            Err(WriteError::Diesel(error)) => Err(unavailable(&error)),
            Err(WriteError::Store(StoreError::Unavailable(error))) => Err(error),
            Err(WriteError::Store(other)) => Err(Unavailable {
                system: "database",
                reason: other.to_string(),
            }),
        }
    }

    fn update_with_effects(
        &self,
        application: &Application,
        new_entries: &[TimelineEntry],
        effects: &[AccountEffect],
        documents: &[NewDocument],
    ) -> Result<Application, StoreError> {
        let kind = application.kind();
        let target_key = application.steps.target_key();
        self.write_guarded(kind, target_key.as_deref(), |conn| {
            let number = application.number.as_str();
            let changes = ApplicationChanges {
                language: application.language.as_str().to_owned(),
                ..changes_of(
                    application.status,
                    &application.steps,
                    application.contact.as_ref(),
                    &application.work,
                    to_stored(application.updated_at),
                    application.submitted_at.map(to_stored),
                    application.version + 1,
                )
            };
            let updated: Option<i64> = diesel::update(
                applications::table
                    .filter(applications::number.eq(number))
                    .filter(applications::version.eq(application.version)),
            )
            .set(&changes)
            .returning(applications::id)
            .get_result(conn)
            .optional()?;
            let Some(id) = updated else {
                let exists: i64 = applications::table
                    .filter(applications::number.eq(number))
                    .count()
                    .get_result(conn)?;
                return Err(WriteError::Store(if exists == 0 {
                    StoreError::NotFound
                } else {
                    StoreError::VersionConflict
                }));
            };
            for effect in effects {
                apply_account_effect(conn, effect)?;
            }
            for document in documents {
                diesel::insert_into(application_documents::table)
                    .values((
                        application_documents::application_id.eq(id),
                        application_documents::kind.eq(document.kind.as_str()),
                        application_documents::file_name.eq(&document.file_name),
                        application_documents::content_type.eq(document.content_type),
                        application_documents::content.eq(&document.content),
                        application_documents::created_at.eq(to_stored(document.created_at)),
                    ))
                    .execute(conn)?;
            }
            let events = events_of(application, new_entries, documents, application.language);
            match conn {
                DbConnection::Postgresql(pg) => {
                    crate::create_on_postgres::append(pg, id, new_entries, &events)?;
                }
                DbConnection::Sqlite(_) => {
                    insert_timeline(conn, id, new_entries)?;
                    outbox::enqueue(conn, id, &events)?;
                }
            }
            committed_once(conn)?;
            load(conn, number)?.ok_or(WriteError::Store(StoreError::NotFound))
        })
    }

    fn open_application_for(
        &self,
        kind: ApplicationKind,
        target_key: &str,
    ) -> Result<Option<ApplicationNumber>, Unavailable> {
        let mut conn = self.db.connection()?;
        let number: Option<String> = applications::table
            .filter(applications::kind.eq(kind.as_str()))
            .filter(applications::open_target.eq(target_key))
            .select(applications::number)
            .first(&mut *conn)
            .optional()
            .map_err(|e| unavailable(&e))?;
        number
            .map(|n| ApplicationNumber::parse(&n).map_err(|_| corrupt(&n, "number")))
            .transpose()
    }

    fn documents(&self, number: &ApplicationNumber) -> Result<Vec<DocumentInfo>, Unavailable> {
        let mut conn = self.db.connection()?;
        let rows: Vec<(i64, String, String, String, i32, NaiveDateTime)> =
            application_documents::table
                .inner_join(applications::table)
                .filter(applications::number.eq(number.as_str()))
                .order(application_documents::id.asc())
                .select((
                    application_documents::id,
                    application_documents::kind,
                    application_documents::file_name,
                    application_documents::content_type,
                    // The size without loading the content.
                    diesel::dsl::sql::<diesel::sql_types::Integer>(
                        "CAST(length(application_documents.content) AS INTEGER)",
                    ),
                    application_documents::created_at,
                ))
                .load(&mut *conn)
                .map_err(|e| unavailable(&e))?;
        rows.into_iter()
            .map(|(id, kind, file_name, content_type, size, created_at)| {
                let size = u64::try_from(size).unwrap_or_default();
                document_info(
                    number.as_str(),
                    id,
                    &kind,
                    file_name,
                    content_type,
                    size,
                    created_at,
                )
            })
            .collect()
    }

    fn document(
        &self,
        number: &ApplicationNumber,
        id: i64,
    ) -> Result<Option<(DocumentInfo, Vec<u8>)>, Unavailable> {
        let mut conn = self.db.connection()?;
        let row: Option<(String, String, String, Vec<u8>, NaiveDateTime)> =
            application_documents::table
                .inner_join(applications::table)
                .filter(applications::number.eq(number.as_str()))
                .filter(application_documents::id.eq(id))
                .select((
                    application_documents::kind,
                    application_documents::file_name,
                    application_documents::content_type,
                    application_documents::content,
                    application_documents::created_at,
                ))
                .first(&mut *conn)
                .optional()
                .map_err(|e| unavailable(&e))?;
        row.map(|(kind, file_name, content_type, content, created_at)| {
            let size = u64::try_from(content.len()).unwrap_or_default();
            document_info(
                number.as_str(),
                id,
                &kind,
                file_name,
                content_type,
                size,
                created_at,
            )
            .map(|info| (info, content))
        })
        .transpose()
    }

    fn inbox(&self, query: &InboxQuery) -> Result<ApplicationPage, Unavailable> {
        let mut conn = self.db.connection()?;
        // Only what the company is working on can be overdue: the clock stops while the applicant corrects.
        let with_company: Vec<&str> = Status::ALL
            .into_iter()
            .filter(|s| s.is_with_company())
            .map(Status::as_str)
            .collect();
        // Filtered by department, status and kind only (an operator's usual view), the total
        // comes from the counts the triggers keep; other filters are counted.
        let counted_by_triggers = query.district.is_none()
            && query.assignee.is_none()
            && query.submitted_from.is_none()
            && query.submitted_to.is_none()
            && query.overdue_at.is_none();
        let stored_total: Option<i64> = if counted_by_triggers {
            let counts = stored_counts(
                &mut conn,
                query.department.as_ref(),
                query.kind,
                query.status,
            )
            .map_err(|e| unavailable(&e))?;
            Some(counts.iter().map(|(_, count)| *count).sum())
        } else {
            None
        };
        let (total, rows): (i64, Vec<SummaryRow>) = on_backend!(&mut *conn, conn => {
            let filtered = || {
                let mut select = applications::table
                    .filter(applications::submitted_at.is_not_null())
                    .into_boxed();
                if let Some(department) = &query.department {
                    select = select.filter(applications::department_code.eq(department.as_str()));
                }
                if let Some(status) = query.status {
                    select = select.filter(applications::status.eq(status.as_str()));
                }
                if let Some(kind) = query.kind {
                    select = select.filter(applications::kind.eq(kind.as_str()));
                }
                if let Some(district) = query.district {
                    select = select.filter(applications::district_code.eq(district.as_str()));
                }
                if let Some(assignee) = &query.assignee {
                    select = select.filter(applications::assignee.eq(assignee));
                }
                if let Some(from) = query.submitted_from {
                    select = select.filter(applications::submitted_at.ge(to_stored(from)));
                }
                if let Some(to) = query.submitted_to {
                    select = select.filter(applications::submitted_at.lt(to_stored(to)));
                }
                if let Some(now) = query.overdue_at {
                    select = select
                        .filter(applications::due_at.lt(to_stored(now)))
                        .filter(applications::status.eq_any(with_company.clone()));
                }
                select
            };
            let total = match stored_total {
                Some(total) => total,
                None => filtered()
                    .count()
                    .get_result(conn)
                    .map_err(|e| unavailable(&e))?,
            };
            let ordered = match query.order {
                InboxOrder::SubmittedAt => {
                    filtered().order((applications::submitted_at.asc(), applications::id.asc()))
                }
                InboxOrder::DueAt => {
                    filtered().order((applications::due_at.asc(), applications::id.asc()))
                }
            };
            let rows = ordered
                .limit(i64::from(query.limit))
                .offset(i64::try_from(query.offset).unwrap_or(i64::MAX))
                .select(SummaryRow::as_select())
                .load(conn)
                .map_err(|e| unavailable(&e))?;
            (total, rows)
        });
        // The inbox pages by offset: no cursor.
        summary_page(total, rows, None)
    }

    fn counts(
        &self,
        department: Option<&DepartmentCode>,
    ) -> Result<Vec<(Status, u64)>, Unavailable> {
        let mut conn = self.db.connection()?;
        let rows = stored_counts(&mut conn, department, None, None).map_err(|e| unavailable(&e))?;
        let mut counts: Vec<(Status, u64)> = Status::ALL
            .into_iter()
            .filter(|s| *s != Status::Draft)
            .map(|status| (status, 0))
            .collect();
        for (status, count) in rows {
            let status = Status::parse(&status)
                .ok_or_else(|| Unavailable::stored_data(format!("unknown status {status:?}")))?;
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == status) {
                slot.1 += u64::try_from(count).unwrap_or_default();
            }
        }
        Ok(counts)
    }

    fn list(&self, query: &ApplicationQuery) -> Result<ApplicationPage, Unavailable> {
        let mut conn = self.db.connection()?;
        let (total, rows): (i64, Vec<SummaryRow>) = on_backend!(&mut *conn, conn => {
            let total = my_applications!(query)
                .count()
                .get_result(conn)
                .map_err(|e| unavailable(&e))?;
            let rows = my_applications_page!(query)
                .load(conn)
                .map_err(|e| unavailable(&e))?;
            (total, rows)
        });
        page_of(query, total, rows)
    }
}
