//! The applicant's own data: main information, subscriber accounts, head codes and metering
//! points.

use crate::auth::ApplicantPrincipal;
use crate::problem::{ApiError, ErrorCode};
use crate::responses::{HeadCodeView, MainInformation, MeteringPointView, SubscriberAccountView};
use crate::state::{AppState, blocking};
use actix_web::{get, web};
use domain::codes::HeadCode;

/// "Main information": the applicant's identity from the citizen registry (and the business
/// from the business registry when the token carries a `tin`).
#[utoipa::path(
    tag = "applicant",
    operation_id = "get-main-information",
    security(("bearer" = [])),
    responses((status = 200, description = "The applicant's main information", body = MainInformation))
)]
#[get("/me")]
pub async fn main_information(
    state: web::Data<AppState>,
    ApplicantPrincipal(principal): ApplicantPrincipal,
) -> Result<web::Json<MainInformation>, ApiError> {
    let service = state.service.clone();
    let applicant = principal.applicant();
    let view = blocking(move || service.main_information(&applicant)).await?;
    Ok(web::Json(MainInformation::new(
        view,
        principal.login_method,
    )))
}

/// The applicant's residential subscriber codes, for the meter damage form.
#[utoipa::path(
    tag = "applicant",
    operation_id = "list-subscriber-accounts",
    security(("bearer" = [])),
    responses((status = 200, description = "The applicant's residential accounts (maybe none)", body = [SubscriberAccountView]))
)]
#[get("/me/subscriber-accounts")]
pub async fn subscriber_accounts(
    state: web::Data<AppState>,
    ApplicantPrincipal(principal): ApplicantPrincipal,
) -> Result<web::Json<Vec<SubscriberAccountView>>, ApiError> {
    let service = state.service.clone();
    let applicant = principal.applicant();
    let accounts = blocking(move || service.subscriber_accounts(&applicant)).await?;
    Ok(web::Json(accounts.into_iter().map(Into::into).collect()))
}

/// The non-residential contracts (head codes) of the business the applicant acts for.
#[utoipa::path(
    tag = "applicant",
    operation_id = "list-head-codes",
    security(("bearer" = [])),
    responses((status = 200, description = "The business's head codes", body = [HeadCodeView]))
)]
#[get("/me/head-codes")]
pub async fn head_codes(
    state: web::Data<AppState>,
    ApplicantPrincipal(principal): ApplicantPrincipal,
) -> Result<web::Json<Vec<HeadCodeView>>, ApiError> {
    let service = state.service.clone();
    let applicant = principal.applicant();
    let contracts = blocking(move || service.head_codes(&applicant)).await?;
    Ok(web::Json(contracts.into_iter().map(Into::into).collect()))
}

/// The metering points under one of the business's head codes.
#[utoipa::path(
    tag = "applicant",
    operation_id = "list-metering-points",
    security(("bearer" = [])),
    params(("head_code" = String, Path, description = "A head code of the business (8 digits)", pattern = "^[0-9]{8}$", example = "50000001")),
    responses((status = 200, description = "The metering points under the head code", body = [MeteringPointView]))
)]
#[get("/me/head-codes/{head_code}/metering-points")]
pub async fn metering_points(
    state: web::Data<AppState>,
    ApplicantPrincipal(principal): ApplicantPrincipal,
    path: web::Path<String>,
) -> Result<web::Json<Vec<MeteringPointView>>, ApiError> {
    let head_code = HeadCode::parse(&path).map_err(|e| {
        ApiError::at_field(ErrorCode::InvalidPathParameter, "head_code", e.to_string())
    })?;
    let service = state.service.clone();
    let applicant = principal.applicant();
    let points = blocking(move || service.metering_points(&applicant, &head_code)).await?;
    Ok(web::Json(points.into_iter().map(Into::into).collect()))
}
