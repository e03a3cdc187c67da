//! Open operations: the catalogue of e-services, the districts, and the health checks.

use crate::problem::ApiError;
use crate::responses::{DistrictView, ServiceView};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

/// The two e-services with their steps and fields.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "list-services",
    responses((status = 200, description = "The catalogue", body = [ServiceView]))
)]
#[get("/services")]
pub async fn list_services() -> web::Json<Vec<ServiceView>> {
    web::Json(
        domain::catalogue::services()
            .iter()
            .map(Into::into)
            .collect(),
    )
}

/// The districts and cities of Azerbaijan, with stable codes, sorted by code.
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

/// Whether the service and its database answer (for load balancers and container health).
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

/// The process answers (a liveness probe: restart the instance when this fails). Checks
/// nothing else, so that a database outage does not get every instance restarted.
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

/// Whether this instance can serve (a readiness probe: send it traffic only while this
/// answers 200): its database answers. Reports the outbox backlog; a growing `queued` means
/// the dispatchers do not keep up, a growing `failed` needs an operator (see
/// `/api/v1/staff/notifications/failed`).
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

/// The service's metrics for Prometheus (text format 0.0.4): requests by method, route template
/// and status; latency histograms; the database pool; the outbox's queued and failed messages;
/// the calls to the registries and billing by outcome. Labels never hold personal data: routes
/// are templates. With `METRICS_TOKEN` set, a scraper sends it as a bearer token; in production
/// the route is not served without one (404), in development it is open without one. The list
/// of metrics is in `docs/DEPLOYMENT.md`.
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
        outbox: outbox.backlog().ok(),
        outside: integrations::calls::counts(),
    })
    .await
    .map_err(|_| ApiError::internal("metrics task failed"))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render(&snapshot)))
}
