//! Open operations: the catalogue of e-services, the districts, and the health checks.

use crate::problem::ApiError;
use crate::responses::{DistrictView, ServiceView};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

/// The catalogue of the two e-services, with their steps and fields.
///
/// What the portal's forms are built from: for the meter damage investigation and for the account
/// transfer or name change, the steps in order, each with its fields, whether each is required, its
/// format, and for a choice the operation that lists the choices (`choices_from`). A step's `id` is
/// the request field that fills it; `main-information` is filled from the registries and has no
/// field in the request. Open to anyone, without a token; the answer is the same for every caller
/// and changes only with a new version of the service.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "list-services",
    responses((status = 200, description = "The catalogue", body = [ServiceView],
        example = json!(catalogue())))
)]
#[get("/services")]
pub async fn list_services() -> web::Json<Vec<ServiceView>> {
    web::Json(catalogue())
}

/// The catalogue as served: also the contract's example of it, which so never falls behind.
fn catalogue() -> Vec<ServiceView> {
    domain::catalogue::services()
        .iter()
        .map(Into::into)
        .collect()
}

/// The districts and cities of Azerbaijan, with stable codes.
///
/// The choices of the property step's `property.district` and of the inbox's `district` filter:
/// every district and city, sorted by code, with its Azerbaijani and English name and its kind.
/// Open to anyone, without a token. The list changes only with a new version of the service, so the
/// answer may be cached for a day (`Cache-Control: public, max-age=86400`); store the code, not the
/// name.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "list-districts",
    responses((status = 200, description = "All districts", body = [DistrictView]))
)]
#[get("/districts")]
pub async fn list_districts() -> HttpResponse {
    let districts: Vec<DistrictView> = domain::district::all()
        .iter()
        .copied()
        .map(Into::into)
        .collect();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .json(districts)
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok` when the database answers.
    pub status: String,
}

/// Whether the service and its database answer.
///
/// For load balancers and container health checks, open to anyone without a token. It makes a round
/// trip to the database and answers `{"status": "ok"}`, or 503 `database-unavailable` (with
/// `Retry-After`) when the database does not answer. It reads nothing about applications or people;
/// `/health/live` and `/health/ready` are the finer-grained probes.
#[utoipa::path(
    tag = "operations",
    operation_id = "health",
    responses((status = 200, description = "The service and its database answer", body = Health))
)]
#[get("/health")]
pub async fn health(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    let database = state.database.clone();
    web::block(move || database.check())
        .await
        .map_err(|_| ApiError::internal("health check task failed"))?
        .map_err(|unavailable| ApiError::unavailable(&unavailable))?;
    Ok(web::Json(Health {
        status: "ok".to_owned(),
    }))
}

/// Whether the process answers (a liveness probe).
///
/// Restart the instance when this fails. It checks nothing else, neither the database nor the
/// outside systems, so that a database outage does not get every instance restarted: while the
/// process serves HTTP it answers `{"status": "ok"}`. Open to anyone, without a token.
#[utoipa::path(
    tag = "operations",
    operation_id = "health-live",
    responses((status = 200, description = "The process answers", body = Health))
)]
#[get("/health/live")]
pub async fn health_live() -> web::Json<Health> {
    web::Json(Health {
        status: "ok".to_owned(),
    })
}

/// The outbox's backlog: messages waiting to be sent, and messages that failed for good.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxBacklog {
    pub queued: u64,
    pub failed: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "database": "ok", "outbox": {"queued": 3, "failed": 0}}))]
pub struct Readiness {
    /// `ok` when the instance can serve.
    pub status: String,
    /// `ok` when the database answers (a round trip).
    pub database: String,
    pub outbox: OutboxBacklog,
}

/// Whether this instance can serve (a readiness probe).
///
/// Send the instance traffic only while this answers 200. It makes a round trip to the database
/// (503 `database-unavailable` when it does not answer) and reports the outbox backlog: a growing
/// `queued` means the dispatchers do not keep up, a growing `failed` needs an operator (see `GET
/// /api/v1/staff/notifications/failed`). Open to anyone, without a token; `eservices probe`, the
/// container's health check, calls it.
#[utoipa::path(
    tag = "operations",
    operation_id = "health-ready",
    responses((status = 200, description = "The database answers", body = Readiness))
)]
#[get("/health/ready")]
pub async fn health_ready(state: web::Data<AppState>) -> Result<web::Json<Readiness>, ApiError> {
    let database = state.database.clone();
    let outbox = state.outbox.clone();
    let backlog = web::block(move || {
        database.check()?;
        outbox.backlog()
    })
    .await
    .map_err(|_| ApiError::internal("readiness check task failed"))?
    .map_err(|unavailable| ApiError::unavailable(&unavailable))?;
    Ok(web::Json(Readiness {
        status: "ok".to_owned(),
        database: "ok".to_owned(),
        outbox: OutboxBacklog {
            queued: backlog.queued,
            failed: backlog.failed,
        },
    }))
}

const METRICS_EXAMPLE: &str = "\
# HELP eservices_http_requests_total HTTP requests answered, by method, route template and status.
# TYPE eservices_http_requests_total counter
eservices_http_requests_total{method=\"GET\",route=\"/api/v1/me/applications\",status=\"200\"} 1532
# HELP eservices_outbox_messages SMS, e-mails and webhook calls in the outbox (all instances): queued waits to be sent, failed needs an operator.
# TYPE eservices_outbox_messages gauge
eservices_outbox_messages{status=\"queued\"} 3
eservices_outbox_messages{status=\"failed\"} 0
";

/// The service's metrics, in the Prometheus text format.
///
/// For the monitoring's scraper (text format 0.0.4): requests by method, route template and status;
/// latency histograms; the database pool; the outbox's queued and failed messages; the calls to the
/// registries and billing by outcome. Labels never hold personal data: routes are templates. With
/// `METRICS_TOKEN` set, the scraper sends it as a bearer token (401 `unauthenticated` without it or
/// with another); in production the route is not served without one (404 `route-not-found`), in
/// development it is open without one. The list of metrics is in `docs/DEPLOYMENT.md`.
#[utoipa::path(
    tag = "operations",
    operation_id = "metrics",
    security(("metrics-token" = [])),
    responses((
        status = 200,
        description = "The metrics, in the Prometheus text format",
        content_type = "text/plain; version=0.0.4; charset=utf-8",
        body = String,
        example = json!(METRICS_EXAMPLE)
    ))
)]
#[get("/metrics")]
pub async fn metrics(
    request: actix_web::HttpRequest,
    state: web::Data<AppState>,
    metrics: web::Data<crate::metrics::Metrics>,
) -> Result<HttpResponse, ApiError> {
    let authorization = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match metrics.access(authorization) {
        crate::metrics::Access::Allowed => {}
        crate::metrics::Access::Unauthenticated => {
            return Err(ApiError::new(
                crate::problem::ErrorCode::Unauthenticated,
                "the metrics need the bearer token METRICS_TOKEN names",
            ));
        }
        crate::metrics::Access::Off => {
            return Err(ApiError::new(
                crate::problem::ErrorCode::RouteNotFound,
                "no such operation",
            ));
        }
    }
    let database = state.database.clone();
    let outbox = state.outbox.clone();
    // The backlog is read from the database; when it does not answer, the rest is still worth
    // scraping (`eservices_outbox_readable 0` says so).
    let snapshot = web::block(move || crate::metrics::Snapshot {
        pool: Some(database.pool_state()),
        read_pool: database.read_pool_state(),
        outbox: outbox.backlog().ok(),
        outside: integrations::calls::counts(),
    })
    .await
    .map_err(|_| ApiError::internal("metrics task failed"))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render(&snapshot)))
}
