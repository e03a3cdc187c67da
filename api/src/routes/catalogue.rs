//! Open operations: the catalogue of e-services, the districts, and the health check.

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
