//! The personal-data access log, for administrators: who read whose data, from which system,
//! what and why. Read-only; nobody can change it.

use crate::auth::AdminPrincipal;
use crate::problem::ApiError;
use crate::routes::{page_limit, query_text};
use crate::state::{AppState, blocking};
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use domain::access_log::AccessLogQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The logs' pages: newest first, this many by default, at most that many.
const DEFAULT_LOG_PAGE: u32 = 100;
const MAX_LOG_PAGE: u32 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessLogParams {
    /// Whose data: a PIN, TIN, subscriber code, head code or property (`district/registry/registration`).
    #[param(max_length = 100)]
    pub subject: Option<String>,
    /// Who read: a PIN, an employee or client id.
    #[param(max_length = 100)]
    pub reader: Option<String>,
    /// From this time (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// At most this many, newest first (1–500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// One read of personal data.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "at": "2026-11-23T09:01:12Z", "reader_kind": "applicant", "reader_id": "5R7KQ2M",
    "subject": "5R7KQ2M", "registry": "citizen-registry", "data": "main-information",
    "purpose": "GET /api/v1/me"
}))]
pub struct AccessLogEntry {
    pub at: DateTime<Utc>,
    /// `applicant`, `operator`, `supervisor`, `admin`, `integrator`, `system`.
    pub reader_kind: String,
    pub reader_id: String,
    /// The business a representative acted for, or the person an integrator acted for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    pub subject: String,
    pub registry: String,
    pub data: String,
    /// The request that needed it.
    pub purpose: String,
}

/// The personal-data access log, newest first.
///
/// For administrators: every read of a person's or a business's data from the registries and
/// billing, with who read it (an applicant, staff, a service account and whom it acted for), whose
/// data, from which system, what, and the request that needed it. Filter by `subject` (a PIN, TIN,
/// subscriber code, head code or property), `reader`, `from`/`to`, and `limit` (1 to 500, default
/// 100). The log is read-only: nobody can change it. A malformed, out-of-range or unknown parameter
/// gets 400 `invalid-query-parameter`; other roles and service accounts get 403 `forbidden-role`.
#[utoipa::path(
    tag = "admin",
    operation_id = "list-personal-data-reads",
    security(("bearer" = [])),
    params(AccessLogParams),
    responses((status = 200, description = "The reads that match", body = Vec<AccessLogEntry>))
)]
#[get("/admin/personal-data-reads")]
pub async fn personal_data_reads(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    params: crate::query::Query<AccessLogParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let limit = page_limit(params.limit, DEFAULT_LOG_PAGE, MAX_LOG_PAGE)?;
    let query = AccessLogQuery {
        subject: query_text(params.subject, "subject", 100)?,
        reader_id: query_text(params.reader, "reader", 100)?,
        from: params.from,
        to: params.to,
        limit,
    };
    let log = state.access_log.clone();
    let reads = blocking(move || Ok(log.query(&query)?)).await?;
    let entries: Vec<AccessLogEntry> = reads
        .into_iter()
        .map(|r| AccessLogEntry {
            at: r.at,
            reader_kind: r.reader.kind.as_str().to_owned(),
            reader_id: r.reader.id,
            on_behalf_of: r.reader.on_behalf_of,
            subject: r.subject,
            registry: r.registry.to_owned(),
            data: r.data.to_owned(),
            purpose: r.purpose,
        })
        .collect();
    Ok(HttpResponse::Ok().json(entries))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DelegatedCallParams {
    /// The service account's client id.
    #[param(max_length = 64)]
    pub client: Option<String>,
    /// The applicant's PIN.
    #[param(max_length = 7)]
    pub applicant: Option<String>,
    /// At most this many, newest first (1–500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A call a service account made on behalf of an applicant.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "at": "2026-11-23T09:02:00Z", "client_id": "egov-portal", "applicant_pin": "5R7KQ2M",
    "login_method": "asan-imza", "method": "POST", "path": "/api/v1/applications"
}))]
pub struct DelegatedCallEntry {
    pub at: DateTime<Utc>,
    pub client_id: String,
    pub applicant_pin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant_tin: Option<String>,
    pub login_method: String,
    pub method: String,
    pub path: String,
}

/// The calls service accounts made on behalf of applicants, newest first.
///
/// For administrators: every call an integrator's service account made for an applicant
/// (`X-On-Behalf-Of`), recorded before it was carried out, with the client id, the applicant's PIN
/// and TIN, the login method the portal reported, the method and the path. Filter by `client` and
/// `applicant` (a PIN), with `limit` 1 to 500 (default 100); the log is append-only. A malformed,
/// out-of-range or unknown parameter gets 400 `invalid-query-parameter`; other roles and service
/// accounts get 403 `forbidden-role`.
#[utoipa::path(
    tag = "admin",
    operation_id = "list-delegated-calls",
    security(("bearer" = [])),
    params(DelegatedCallParams),
    responses((status = 200, description = "The calls that match", body = Vec<DelegatedCallEntry>))
)]
#[get("/admin/delegated-calls")]
pub async fn delegated_calls(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    params: crate::query::Query<DelegatedCallParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let limit = page_limit(params.limit, DEFAULT_LOG_PAGE, MAX_LOG_PAGE)?;
    let client = query_text(params.client, "client", 64)?;
    let applicant = query_text(params.applicant, "applicant", 7)?;
    let log = state.delegated_calls.clone();
    let calls =
        blocking(move || Ok(log.query(client.as_deref(), applicant.as_deref(), limit)?)).await?;
    let entries: Vec<DelegatedCallEntry> = calls
        .into_iter()
        .map(|c| DelegatedCallEntry {
            at: c.at,
            client_id: c.client_id,
            applicant_pin: c.applicant_pin,
            applicant_tin: c.applicant_tin,
            login_method: c.login_method,
            method: c.method,
            path: c.path,
        })
        .collect();
    Ok(HttpResponse::Ok().json(entries))
}
