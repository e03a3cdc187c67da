//! `eservices-lean`: the simplest correct program for the benchmark's requests on the service's
//! database (docs/BENCHMARKS.md, "The lean program"), to set the service against: actix-web and
//! tokio-postgres, async all the way (no blocking pool), a statement or two per request and
//! pipelined where they are independent. It serves `/health`, `/health/live`, "My applications"
//! (first pages), an application's detail for its applicant, and the submission of a residential
//! meter damage investigation (`"submit": true`), with the same JSON as the service and the
//! same tokens (the development key in DATA_DIR). Configured like the service: DATABASE_URL,
//! HOST, PORT, DATA_DIR, DATABASE_POOL_SIZE, WORKERS, JWT_ISSUER, JWT_AUDIENCE,
//! JWT_LEEWAY_SECONDS, JWT_PUBLIC_KEY_FILE, JWT_ALGORITHM, HOLIDAYS_FILE,
//! METER_DAMAGE_WORKING_DAYS.
#![allow(
    clippy::print_stderr,
    reason = "a benchmark's tool: it says on stderr where it listens and why it cannot start"
)]

mod auth;
mod views;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use views::{ApplicationView, Problem};

struct State {
    pool: Pool,
    auth: auth::Authenticator,
    /// (department, kind, district), by department code: the routing table, read at start.
    departments: Vec<(String, String, String)>,
    calendar: views::Calendar,
    meter_damage_days: u32,
}

type Shared = web::Data<Arc<State>>;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn main() -> std::process::ExitCode {
    match actix_web::rt::System::new().block_on(serve()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("eservices-lean: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[derive(Deserialize)]
struct HolidaysFile {
    holidays: Vec<NaiveDate>,
}

async fn serve() -> Result<()> {
    let url = env("DATABASE_URL").context("DATABASE_URL names the PostgreSQL database")?;
    let host = env("HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
    let port: u16 = env("PORT").map_or(Ok(8080), |p| p.parse())?;
    let data_dir = std::path::PathBuf::from(env("DATA_DIR").unwrap_or_else(|| "./data".to_owned()));
    let pool_size: usize = env("DATABASE_POOL_SIZE").map_or(Ok(10), |p| p.parse())?;
    let key_file =
        env("JWT_PUBLIC_KEY_FILE").map_or_else(|| data_dir.join("dev-jwt-public.pem"), Into::into);
    let pem = std::fs::read(&key_file)
        .with_context(|| format!("reading the public key {}", key_file.display()))?;
    let auth = auth::Authenticator::new(
        &pem,
        env("JWT_ALGORITHM").as_deref() == Some("ES256"),
        &env("JWT_ISSUER").unwrap_or_else(|| "eservices-development".to_owned()),
        &env("JWT_AUDIENCE").unwrap_or_else(|| "azerisiq-eservices".to_owned()),
        env("JWT_LEEWAY_SECONDS").map_or(Ok(30), |s| s.parse())?,
    )?;
    let holidays = match env("HOLIDAYS_FILE") {
        Some(path) => std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?,
        None => include_str!("../../../config/holidays-az.json").to_owned(),
    };
    let holidays: HolidaysFile = serde_json::from_str(&holidays).context("the holidays file")?;
    let manager = Manager::from_config(
        tokio_postgres::Config::from_str(&url).context("DATABASE_URL")?,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager).max_size(pool_size.max(1)).build()?;
    let departments = {
        let client = pool.get().await.context("connecting to the database")?;
        client
            .query(
                "SELECT d.code, d.kind, dd.district_code FROM departments d \
                 JOIN department_districts dd ON dd.department_code = d.code \
                 ORDER BY d.code, dd.district_code",
                &[],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()?
    };
    let state = Arc::new(State {
        pool,
        auth,
        departments,
        calendar: views::Calendar {
            holidays: holidays.holidays.into_iter().collect(),
        },
        meter_damage_days: env("METER_DAMAGE_WORKING_DAYS").map_or(Ok(10), |d| d.parse())?,
    });
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/health", web::get().to(health))
            .route("/health/live", web::get().to(live))
            .route("/api/v1/me/applications", web::get().to(my_applications))
            .route("/api/v1/applications/{number}", web::get().to(detail))
            .route("/api/v1/applications", web::post().to(submit))
    })
    .keep_alive(std::time::Duration::from_secs(75));
    if let Some(workers) = env("WORKERS") {
        server = server.workers(workers.parse()?);
    }
    let server = server.bind((host.as_str(), port))?;
    eprintln!("eservices-lean listening on http://{host}:{port}");
    server.run().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Answers

fn problem(status: u16, code: &'static str, title: &'static str) -> HttpResponse {
    let mut response =
        HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST));
    response.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    ));
    if status == 401 {
        response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
    }
    if status == 503 {
        response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
    }
    response.body(serde_json::to_string(&Problem::new(code, status, title)).unwrap_or_default())
}

fn unavailable(error: &tokio_postgres::Error) -> HttpResponse {
    eprintln!("eservices-lean: database: {error}");
    problem(
        503,
        "database-unavailable",
        "Verilənlər bazası əlçatan deyil; bir azdan yenidən cəhd edin",
    )
}

fn pool_unavailable(error: &deadpool_postgres::PoolError) -> HttpResponse {
    eprintln!("eservices-lean: pool: {error}");
    problem(
        503,
        "database-unavailable",
        "Verilənlər bazası əlçatan deyil; bir azdan yenidən cəhd edin",
    )
}

fn not_found() -> HttpResponse {
    problem(404, "application-not-found", "Belə müraciət yoxdur")
}

fn invalid_body() -> HttpResponse {
    problem(
        400,
        "invalid-body",
        "Sorğunun mətni gözlənilən quruluşda deyil",
    )
}

fn validation_failed() -> HttpResponse {
    problem(422, "validation-failed", "Bəzi sahələr düzgün deyil")
}

fn json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => HttpResponse::build(status)
            .content_type("application/json")
            .body(bytes),
        Err(_) => problem(500, "internal", "Bizim tərəfdə xəta baş verdi"),
    }
}

/// The refusal is boxed: an `HttpResponse` is large and the happy path should not carry it.
fn applicant(state: &State, request: &HttpRequest) -> Result<auth::Principal, Box<HttpResponse>> {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state.auth.applicant(authorization).map_err(|refusal| {
        Box::new(match refusal {
            auth::Refusal::Unauthenticated => {
                problem(401, "unauthenticated", "Etibarlı giriş tokeni tələb olunur")
            }
            auth::Refusal::NotAnApplicant => {
                problem(403, "forbidden-role", "Rolunuz bu əməliyyata icazə vermir")
            }
        })
    })
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

async fn live() -> HttpResponse {
    json(StatusCode::OK, &Health { status: "ok" })
}

async fn health(state: Shared) -> HttpResponse {
    let client = match state.pool.get().await {
        Ok(client) => client,
        Err(error) => return pool_unavailable(&error),
    };
    match client.simple_query("SELECT 1").await {
        Ok(_) => json(StatusCode::OK, &Health { status: "ok" }),
        Err(error) => unavailable(&error),
    }
}

fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

// ---------------------------------------------------------------------------------------------
// My applications

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
    status: Option<String>,
    kind: Option<String>,
}

const LIST_COUNT: &str = "SELECT count(*) FROM applications \
     WHERE applicant_pin = $1 AND applicant_tin IS NOT DISTINCT FROM $2";
const LIST_PAGE: &str = "SELECT id, number, kind, status, subscriber_type, subscriber_code, \
     metering_point_code, change_variant, created_at, updated_at, submitted_at FROM applications \
     WHERE applicant_pin = $1 AND applicant_tin IS NOT DISTINCT FROM $2 AND id < $3 \
     ORDER BY id DESC LIMIT $4";

fn summary(row: &Row) -> Result<(i64, views::Summary), tokio_postgres::Error> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let target = if kind == "account-change" {
        row.try_get::<_, Option<String>>("change_variant")?
            .and(row.try_get("subscriber_code")?)
    } else {
        match row.try_get::<_, Option<&str>>("subscriber_type")? {
            Some("residential") => row.try_get("subscriber_code")?,
            Some(_) => row.try_get("metering_point_code")?,
            None => None,
        }
    };
    Ok((
        row.try_get("id")?,
        views::Summary {
            number: row.try_get("number")?,
            status_label: views::status_label(&status),
            kind,
            status,
            target,
            created_at: utc(row.try_get("created_at")?),
            updated_at: utc(row.try_get("updated_at")?),
            submitted_at: row
                .try_get::<_, Option<NaiveDateTime>>("submitted_at")?
                .map(utc),
        },
    ))
}

async fn my_applications(
    state: Shared,
    request: HttpRequest,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let principal = match applicant(&state, &request) {
        Ok(principal) => principal,
        Err(refused) => return *refused,
    };
    let bad_query = || {
        problem(
            400,
            "invalid-query-parameter",
            "Sorğu parametri düzgün deyil",
        )
    };
    // Filters are not served by this program: the benchmark asks for first pages only.
    if query.status.is_some() || query.kind.is_some() {
        return bad_query();
    }
    let limit: u32 = match query.limit.as_deref().map(str::parse) {
        None => 20,
        Some(Ok(limit)) if (1..=100).contains(&limit) => limit,
        Some(_) => return bad_query(),
    };
    let after = match query.cursor.as_deref().map(views::decode_cursor) {
        None => i64::MAX,
        Some(Some(after)) => after,
        Some(None) => return bad_query(),
    };
    let client = match state.pool.get().await {
        Ok(client) => client,
        Err(error) => return pool_unavailable(&error),
    };
    let statements = tokio::try_join!(
        client.prepare_cached(LIST_COUNT),
        client.prepare_cached(LIST_PAGE)
    );
    let (count, page) = match statements {
        Ok(statements) => statements,
        Err(error) => return unavailable(&error),
    };
    let tin = principal.tin.as_deref();
    let rows_asked = i64::from(limit) + 1;
    let count_parameters: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&principal.pin, &tin];
    let page_parameters: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&principal.pin, &tin, &after, &rows_asked];
    // Two statements on one connection, sent together (pipelined).
    let answers = tokio::try_join!(
        client.query_one(&count, &count_parameters),
        client.query(&page, &page_parameters)
    );
    let (total, rows) = match answers {
        Ok(answers) => answers,
        Err(error) => return unavailable(&error),
    };
    let mut items = match rows.iter().map(summary).collect::<Result<Vec<_>, _>>() {
        Ok(items) => items,
        Err(error) => return unavailable(&error),
    };
    let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = more
        .then(|| items.last().map(|(id, _)| views::encode_cursor(*id)))
        .flatten();
    let total: i64 = total.try_get(0).unwrap_or_default();
    json(
        StatusCode::OK,
        &views::Page {
            items: items.into_iter().map(|(_, s)| s).collect(),
            total: u64::try_from(total).unwrap_or_default(),
            limit,
            next_cursor,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// An application's detail

const DETAIL_APPLICATION: &str = "SELECT number, kind, status, applicant_pin, applicant_tin, \
     login_method, subscriber_type, subscriber_code, head_code, metering_point_code, \
     damage_description, change_variant, property_district_code, property_registry_number, \
     property_registration_number, property_type, debt_qapik, debt_as_of, debt_checked_at, \
     mobile_numbers, email, district_code, department_code, due_at, visit_date, visit_from, \
     visit_to, damage_found, damage_cause, act_number, meter_readings, result_text, \
     rejection_reason, correction_steps, correction_request, decided_at, created_at, updated_at, \
     submitted_at, version, language FROM applications WHERE number = $1";
const DETAIL_TIMELINE: &str = "SELECT at, actor_id, actor_role, action, from_status, to_status, \
     comment FROM application_timeline \
     WHERE application_id = (SELECT id FROM applications WHERE number = $1) ORDER BY id";
const DETAIL_MESSAGES: &str = "SELECT m.id, e.event_type, e.public_id, e.occurred_at, m.channel, \
     m.recipient, m.status, m.attempts, m.next_attempt_at, m.fallback_of, m.updated_at, \
     m.sent_at, m.delivered_at FROM outbox_messages m \
     JOIN notification_events e ON e.id = m.event_id \
     JOIN applications a ON a.id = e.application_id \
     WHERE a.number = $1 AND m.channel <> 'webhook' ORDER BY m.id";

/// An application number as the service accepts it: `MD|AC-YYYY-NNNNNN…`, any case.
fn application_number(raw: &str) -> Option<String> {
    let candidate = raw.trim().to_ascii_uppercase();
    let mut parts = candidate.split('-');
    let (Some(prefix), Some(year), Some(sequence), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let ok = matches!(prefix, "MD" | "AC")
        && year.len() == 4
        && digits(year)
        && (6..=12).contains(&sequence.len())
        && digits(sequence);
    ok.then_some(candidate)
}

fn application_view(row: &Row, timeline: &[Row]) -> Result<ApplicationView, tokio_postgres::Error> {
    type Text = Option<String>;
    let text = |name: &str| row.try_get::<_, Text>(name);
    let time = |name: &str| {
        row.try_get::<_, Option<NaiveDateTime>>(name)
            .map(|t| t.map(utc))
    };
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let mut view = ApplicationView {
        number: row.try_get("number")?,
        status_label: views::status_label(&status),
        applicant: views::Applicant {
            pin: row.try_get("applicant_pin")?,
            tin: text("applicant_tin")?,
            login_method: row.try_get("login_method")?,
        },
        subscriber: None,
        damage_description: None,
        account: None,
        property: None,
        debt_check: None,
        contact: text("mobile_numbers")?.map(|numbers| views::Contact {
            mobile_numbers: numbers.split(',').map(str::to_owned).collect(),
            email: None,
        }),
        created_at: utc(row.try_get("created_at")?),
        updated_at: utc(row.try_get("updated_at")?),
        submitted_at: time("submitted_at")?,
        version: row.try_get("version")?,
        missing_steps: Vec::new(),
        allowed_actions: views::applicant_actions(&status),
        timeline: Vec::with_capacity(timeline.len()),
        work: None,
        language: row.try_get("language")?,
        kind: String::new(),
        status: String::new(),
    };
    if let Some(contact) = &mut view.contact {
        contact.email = text("email")?;
    }
    if kind == "account-change" {
        view.account = match (text("change_variant")?, text("subscriber_code")?) {
            (Some(variant), Some(subscriber_code)) => Some(views::Account {
                variant,
                subscriber_code,
            }),
            _ => None,
        };
        view.property = match (
            text("property_district_code")?,
            text("property_registry_number")?,
            text("property_registration_number")?,
            text("property_type")?,
        ) {
            (Some(district), Some(registry_number), Some(registration_number), Some(kind)) => {
                Some(views::Property {
                    district,
                    registry_number,
                    registration_number,
                    property_type: kind,
                })
            }
            _ => None,
        };
        view.debt_check = match (
            row.try_get::<_, Option<i64>>("debt_qapik")?,
            time("debt_as_of")?,
            time("debt_checked_at")?,
        ) {
            (Some(amount_qapik), Some(as_of), Some(checked_at)) => Some(views::DebtCheck {
                amount_qapik,
                currency: "AZN",
                as_of,
                checked_at,
            }),
            _ => None,
        };
    } else {
        view.subscriber = match text("subscriber_type")?.as_deref() {
            Some("residential") => text("subscriber_code")?
                .map(|subscriber_code| views::Subscriber::Residential { subscriber_code }),
            Some(_) => match (text("head_code")?, text("metering_point_code")?) {
                (Some(head_code), Some(metering_point)) => {
                    Some(views::Subscriber::NonResidential {
                        head_code,
                        metering_point,
                    })
                }
                _ => None,
            },
            None => None,
        };
        view.damage_description = text("damage_description")?;
    }
    if matches!(status.as_str(), "draft" | "returned-for-correction") {
        let mut missing = Vec::new();
        if kind == "account-change" {
            if view.account.is_none() {
                missing.push("account");
            }
            if view.property.is_none() {
                missing.push("property");
            }
        } else if view.subscriber.is_none() {
            missing.push("subscriber");
        }
        if view.contact.is_none() {
            missing.push("contact");
        }
        view.missing_steps = missing;
    }
    if status != "draft" {
        let visit = match (
            row.try_get::<_, Option<NaiveDate>>("visit_date")?,
            row.try_get("visit_from")?,
            row.try_get("visit_to")?,
        ) {
            (Some(date), Some(from), Some(to)) => Some(views::Visit { date, from, to }),
            _ => None,
        };
        let findings = match (
            row.try_get::<_, Option<bool>>("damage_found")?,
            text("act_number")?,
            text("meter_readings")?,
        ) {
            (Some(damage_found), Some(act_number), Some(readings)) => Some(views::Findings {
                damage_found,
                cause: text("damage_cause")?,
                act_number,
                readings: readings
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(register, value)| views::Reading {
                        register: register.to_owned(),
                        value_kwh: value.parse().unwrap_or_default(),
                    })
                    .collect(),
            }),
            _ => None,
        };
        let correction = match (text("correction_steps")?, text("correction_request")?) {
            (Some(steps), Some(request)) => Some(views::Correction {
                steps: steps.split(',').map(str::to_owned).collect(),
                request,
            }),
            _ => None,
        };
        view.work = Some(views::Work {
            district: text("district_code")?,
            department: text("department_code")?,
            due_at: time("due_at")?,
            inspection_visit: visit,
            inspection_findings: findings,
            result: text("result_text")?,
            rejection_reason: text("rejection_reason")?,
            correction,
            decided_at: time("decided_at")?,
        });
    }
    for entry in timeline {
        let role: String = entry.try_get("actor_role")?;
        let actor: String = entry.try_get("actor_id")?;
        view.timeline.push(views::TimelineEntry {
            at: utc(entry.try_get("at")?),
            // Applicants see staff by role only.
            actor: if role == "applicant" {
                actor
            } else {
                role.clone()
            },
            actor_role: role,
            action: entry.try_get("action")?,
            from: entry.try_get("from_status")?,
            to: entry.try_get("to_status")?,
            comment: entry.try_get("comment")?,
            notifications: Vec::new(),
        });
    }
    view.kind = kind;
    view.status = status;
    Ok(view)
}

fn notification(row: &Row) -> Result<views::Notification, tokio_postgres::Error> {
    let channel: String = row.try_get("channel")?;
    let status: String = row.try_get("status")?;
    let recipient: String = row.try_get("recipient")?;
    let next: Option<NaiveDateTime> = row.try_get("next_attempt_at")?;
    Ok(views::Notification {
        id: row.try_get("id")?,
        event: row.try_get("event_type")?,
        event_id: row.try_get("public_id")?,
        occurred_at: utc(row.try_get("occurred_at")?),
        recipient: views::mask_recipient(&channel, &recipient),
        channel,
        attempts: u32::try_from(row.try_get::<_, i32>("attempts")?).unwrap_or_default(),
        next_attempt_at: next.filter(|_| status == "queued").map(utc),
        status,
        fallback_of: row.try_get("fallback_of")?,
        updated_at: utc(row.try_get("updated_at")?),
        sent_at: row.try_get::<_, Option<NaiveDateTime>>("sent_at")?.map(utc),
        delivered_at: row
            .try_get::<_, Option<NaiveDateTime>>("delivered_at")?
            .map(utc),
    })
}

async fn detail(state: Shared, request: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let principal = match applicant(&state, &request) {
        Ok(principal) => principal,
        Err(refused) => return *refused,
    };
    let Some(number) = application_number(&path) else {
        return problem(
            400,
            "invalid-path-parameter",
            "Ünvandakı parametr düzgün deyil",
        );
    };
    let client = match state.pool.get().await {
        Ok(client) => client,
        Err(error) => return pool_unavailable(&error),
    };
    let statements = tokio::try_join!(
        client.prepare_cached(DETAIL_APPLICATION),
        client.prepare_cached(DETAIL_TIMELINE),
        client.prepare_cached(DETAIL_MESSAGES),
    );
    let (application, timeline, messages) = match statements {
        Ok(statements) => statements,
        Err(error) => return unavailable(&error),
    };
    // Three statements sent together; the timeline and messages are read on the chance that
    // the application is the caller's, as it is in the benchmark.
    let parameters: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&number];
    let answers = tokio::try_join!(
        client.query_opt(&application, &parameters),
        client.query(&timeline, &parameters),
        client.query(&messages, &parameters),
    );
    let (row, timeline, messages) = match answers {
        Ok(answers) => answers,
        Err(error) => return unavailable(&error),
    };
    let Some(row) = row else {
        return not_found();
    };
    let owner: (Option<&str>, Option<Option<&str>>) = (
        row.try_get("applicant_pin").ok(),
        row.try_get("applicant_tin").ok(),
    );
    if owner != (Some(principal.pin.as_str()), Some(principal.tin.as_deref())) {
        return not_found();
    }
    let view = application_view(&row, &timeline).and_then(|mut view| {
        let messages = messages
            .iter()
            .map(notification)
            .collect::<Result<Vec<_>, _>>()?;
        view.attach(messages);
        Ok(view)
    });
    match view {
        Ok(view) => {
            let mut response = json(StatusCode::OK, &view);
            if let Ok(etag) = HeaderValue::from_str(&format!("\"v{}\"", view.version)) {
                response.headers_mut().insert(header::ETAG, etag);
            }
            response
        }
        Err(error) => unavailable(&error),
    }
}

// ---------------------------------------------------------------------------------------------
// Submission (the benchmark's: a residential meter damage investigation, submitted at once)

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    kind: String,
    #[serde(default)]
    submit: bool,
    subscriber: Option<views::Subscriber>,
    damage_description: Option<String>,
    account: Option<serde_json::Value>,
    property: Option<serde_json::Value>,
    contact: Option<views::Contact>,
}

/// What the notification event records for its messages (domain `EventFacts`).
#[derive(Serialize)]
struct Facts<'a> {
    number: &'a str,
    kind: &'a str,
    status: &'a str,
    applicant_pin: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    applicant_tin: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<&'a str>,
}

const ACCOUNT_OF: &str =
    "SELECT district_code FROM subscriber_accounts WHERE code = $1 AND holder_pin = $2";
const NEXT_NUMBER: &str = "SELECT nextval($1::text::regclass)";
/// The application, its two timeline entries, the `registered` event and its messages (SMS,
/// e-mail when given, and one per active webhook subscription that wants the event), in one
/// statement and so in one transaction.
const CREATE: &str = "WITH app AS (\
       INSERT INTO applications (number, kind, status, applicant_pin, applicant_tin, \
         login_method, subscriber_type, subscriber_code, damage_description, mobile_numbers, \
         email, open_target, district_code, department_code, due_at, created_at, updated_at, \
         submitted_at, version, language) \
       VALUES ($1, 'meter-damage-investigation', 'submitted', $2, $3, $4, 'residential', $5, \
         $6, $7, $8, $9, $10, $11, $12, $13, $13, $13, 1, 'az') RETURNING id), \
     timeline AS (\
       INSERT INTO application_timeline (application_id, at, actor_id, actor_role, action, \
         from_status, to_status) \
       SELECT id, $13, $2, 'applicant', 'create', NULL, 'draft' FROM app \
       UNION ALL SELECT id, $13, $2, 'applicant', 'submit', 'draft', 'submitted' FROM app), \
     event AS (\
       INSERT INTO notification_events (public_id, application_id, event_type, occurred_at, \
         language, mobile, email, facts) \
       SELECT $14, id, 'registered', $13, 'az', $15, $8, $16 FROM app RETURNING id), \
     messages AS (\
       INSERT INTO outbox_messages (event_id, channel, recipient, subscription_id, status, \
         attempts, next_attempt_at, created_at, updated_at) \
       SELECT event.id, m.channel, m.recipient, m.subscription_id, 'queued', 0, $13, $13, $13 \
       FROM event, (\
         SELECT 1 AS o, 'sms' AS channel, $15::text AS recipient, NULL::bigint AS subscription_id \
         UNION ALL SELECT 2, 'email', $8::text, NULL WHERE $8::text IS NOT NULL \
         UNION ALL SELECT 3, 'webhook', s.url, s.id FROM webhook_subscriptions s \
           WHERE s.active AND 'registered' = ANY (string_to_array(s.event_types, ','))) m \
       ORDER BY m.o, m.subscription_id) \
     SELECT id FROM app";

/// The sequence of a prefix and year (the service's scheme: `application_number_md_2026`).
fn sequence_name(prefix: &str, year: i32) -> String {
    format!("application_number_{}_{year}", prefix.to_ascii_lowercase())
}

/// Makes the sequence of a prefix and year, continuing after the highest number given so far.
async fn create_sequence(
    client: &deadpool_postgres::Client,
    prefix: &str,
    year: i32,
) -> Result<(), tokio_postgres::Error> {
    let highest: i64 = client
        .query_one(
            "SELECT COALESCE(max(split_part(number, '-', 3)::bigint), 0) FROM applications \
             WHERE number LIKE $1",
            &[&format!("{prefix}-{year:04}-%")],
        )
        .await?
        .try_get(0)?;
    // Another instance may make it meanwhile: whoever fails here finds it made.
    let _ = client
        .batch_execute(&format!(
            "CREATE SEQUENCE IF NOT EXISTS {} START WITH {}",
            sequence_name(prefix, year),
            highest.saturating_add(1)
        ))
        .await;
    Ok(())
}

struct Submission {
    code: String,
    description: Option<String>,
    mobiles: Vec<String>,
    email: Option<String>,
}

/// The request, checked as the service checks the fields of this one kind of submission.
fn submission(body: &[u8]) -> Result<Submission, Box<HttpResponse>> {
    let request: CreateRequest =
        serde_json::from_slice(body).map_err(|_| Box::new(invalid_body()))?;
    let Some(views::Subscriber::Residential { subscriber_code }) = request.subscriber else {
        return Err(Box::new(invalid_body()));
    };
    if request.kind != "meter-damage-investigation"
        || !request.submit
        || request.account.is_some()
        || request.property.is_some()
    {
        // Not what the benchmark sends: this program serves that one request only.
        return Err(Box::new(invalid_body()));
    }
    let code = subscriber_code.trim().to_owned();
    if code.len() != 10 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(Box::new(validation_failed()));
    }
    let description = match request.damage_description.as_deref() {
        None => None,
        Some(text) => views::free_text(text, 2000).map_err(|_| Box::new(validation_failed()))?,
    };
    let Some(contact) = request.contact else {
        return Err(Box::new(problem(
            422,
            "application-incomplete",
            "Müraciəti göndərməzdən əvvəl bəzi addımlar tamamlanmalıdır",
        )));
    };
    if contact.mobile_numbers.is_empty() || contact.mobile_numbers.len() > 3 {
        return Err(Box::new(validation_failed()));
    }
    let mut mobiles: Vec<String> = Vec::with_capacity(contact.mobile_numbers.len());
    for raw in &contact.mobile_numbers {
        match views::mobile_number(raw) {
            Some(number) if !mobiles.contains(&number) => mobiles.push(number),
            _ => return Err(Box::new(validation_failed())),
        }
    }
    let email = match contact
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        None => None,
        Some(raw) => Some(views::email_address(raw).ok_or_else(|| Box::new(validation_failed()))?),
    };
    Ok(Submission {
        code,
        description,
        mobiles,
        email,
    })
}

async fn submit(state: Shared, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let principal = match applicant(&state, &request) {
        Ok(principal) => principal,
        Err(refused) => return *refused,
    };
    let submission = match submission(&body) {
        Ok(submission) => submission,
        Err(refused) => return *refused,
    };
    let client = match state.pool.get().await {
        Ok(client) => client,
        Err(error) => return pool_unavailable(&error),
    };
    match create(&state, &client, &principal, &submission).await {
        Ok(Ok(view)) => {
            let mut response = json(StatusCode::CREATED, &view);
            let headers = response.headers_mut();
            if let Ok(location) =
                HeaderValue::from_str(&format!("/api/v1/applications/{}", view.number))
            {
                headers.insert(header::LOCATION, location);
            }
            headers.insert(header::ETAG, HeaderValue::from_static("\"v1\""));
            response
        }
        Ok(Err(refused)) => refused,
        Err(error) => unavailable(&error),
    }
}

async fn create(
    state: &State,
    client: &deadpool_postgres::Client,
    principal: &auth::Principal,
    submission: &Submission,
) -> Result<Result<ApplicationView, HttpResponse>, tokio_postgres::Error> {
    let now = Utc::now().trunc_subsecs(6);
    let year = chrono::Datelike::year(&now);
    let sequence = sequence_name("MD", year);
    let (account_of, next_number) = tokio::try_join!(
        client.prepare_cached(ACCOUNT_OF),
        client.prepare_cached(NEXT_NUMBER)
    )?;
    // The account's owner and district, and the number, sent together.
    let account_parameters: [&(dyn tokio_postgres::types::ToSql + Sync); 2] =
        [&submission.code, &principal.pin];
    let number_parameters: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&sequence];
    let (account, number) = tokio::join!(
        client.query_opt(&account_of, &account_parameters),
        client.query_one(&next_number, &number_parameters),
    );
    let number: i64 = match number {
        Ok(row) => row.try_get(0)?,
        Err(error) if error.code() == Some(&SqlState::UNDEFINED_TABLE) => {
            create_sequence(client, "MD", year).await?;
            client
                .query_one(&next_number, &[&sequence])
                .await?
                .try_get(0)?
        }
        Err(error) => return Err(error),
    };
    let Some(account) = account? else {
        return Ok(Err(problem(
            422,
            "subscriber-code-not-yours",
            "Abonent kodu sizin hesabınız deyil",
        )));
    };
    let district: String = account.try_get(0)?;
    let department = state
        .departments
        .iter()
        .find(|(_, kind, served)| kind == "meter-damage-investigation" && *served == district)
        .map(|(code, _, _)| code.clone());
    let number = format!("MD-{year:04}-{number:06}");
    let due_at = state.calendar.due_after(now, state.meter_damage_days);
    let mobile = submission.mobiles.first().cloned().unwrap_or_default();
    let facts = serde_json::to_string(&Facts {
        number: &number,
        kind: "meter-damage-investigation",
        status: "submitted",
        applicant_pin: &principal.pin,
        applicant_tin: principal.tin.as_deref(),
        department: department.as_deref(),
    })
    .unwrap_or_default();
    let stored_now = now.naive_utc();
    let statement = client.prepare_cached(CREATE).await?;
    let created = client
        .query_one(
            &statement,
            &[
                &number,
                &principal.pin,
                &principal.tin,
                &principal.login_method,
                &submission.code,
                &submission.description,
                &submission.mobiles.join(","),
                &submission.email,
                &format!("subscriber:{}", submission.code),
                &district,
                &department,
                &due_at.naive_utc(),
                &stored_now,
                &uuid::Uuid::new_v4().to_string(),
                &mobile,
                &facts,
            ],
        )
        .await;
    if let Err(error) = &created
        && error.code() == Some(&SqlState::UNIQUE_VIOLATION)
        && error
            .as_db_error()
            .and_then(|e| e.constraint())
            .is_some_and(|c| c == "applications_one_open_per_target")
    {
        return Ok(Err(problem(
            409,
            "open-application-exists",
            "Bu hədəf üzrə artıq açıq müraciət var",
        )));
    }
    created?;
    let entry = |action: &str, from: Option<&str>, to: &str| views::TimelineEntry {
        at: now,
        actor: principal.pin.clone(),
        actor_role: "applicant".to_owned(),
        action: action.to_owned(),
        from: from.map(str::to_owned),
        to: to.to_owned(),
        comment: None,
        notifications: Vec::new(),
    };
    Ok(Ok(ApplicationView {
        number,
        kind: "meter-damage-investigation".to_owned(),
        status: "submitted".to_owned(),
        status_label: views::status_label("submitted"),
        applicant: views::Applicant {
            pin: principal.pin.clone(),
            tin: principal.tin.clone(),
            login_method: principal.login_method.to_owned(),
        },
        subscriber: Some(views::Subscriber::Residential {
            subscriber_code: submission.code.clone(),
        }),
        damage_description: submission.description.clone(),
        account: None,
        property: None,
        debt_check: None,
        contact: Some(views::Contact {
            mobile_numbers: submission.mobiles.clone(),
            email: submission.email.clone(),
        }),
        created_at: now,
        updated_at: now,
        submitted_at: Some(now),
        version: 1,
        missing_steps: Vec::new(),
        allowed_actions: views::applicant_actions("submitted"),
        timeline: vec![
            entry("create", None, "draft"),
            entry("submit", Some("draft"), "submitted"),
        ],
        work: Some(views::Work {
            district: Some(district),
            department,
            due_at: Some(due_at),
            ..Default::default()
        }),
        language: "az".to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_sequences() {
        assert_eq!(
            application_number(" md-2026-000042 ").as_deref(),
            Some("MD-2026-000042")
        );
        assert_eq!(application_number("XX-2026-000042"), None);
        assert_eq!(application_number("MD-2026-42"), None);
        assert_eq!(sequence_name("MD", 2026), "application_number_md_2026");
    }

    #[test]
    fn only_the_benchmarks_submission_is_taken() {
        let body = r#"{"kind": "meter-damage-investigation",
            "subscriber": {"type": "residential", "subscriber_code": "1000000001"},
            "damage_description": "  Sayğacın şüşəsi sınıb. ",
            "contact": {"mobile_numbers": ["050 123 45 67"], "email": "abonent@Example.az"},
            "submit": true}"#;
        let Ok(taken) = submission(body.as_bytes()) else {
            unreachable!("the benchmark's body is refused")
        };
        assert_eq!(taken.code, "1000000001");
        assert_eq!(taken.description.as_deref(), Some("Sayğacın şüşəsi sınıb."));
        assert_eq!(taken.mobiles, ["+994501234567"]);
        assert_eq!(taken.email.as_deref(), Some("abonent@example.az"));
        let draft = br#"{"kind": "meter-damage-investigation", "submit": false}"#;
        assert!(submission(draft).is_err());
        let unknown = br#"{"kind": "meter-damage-investigation", "submit": true, "x": 1}"#;
        assert!(submission(unknown).is_err());
    }
}
