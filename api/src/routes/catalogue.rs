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
