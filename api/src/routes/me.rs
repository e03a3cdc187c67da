//! The applicant's own data: main information, subscriber accounts, head codes and metering
//! points.

use crate::auth::ApplicantPrincipal;
use crate::problem::{ApiError, ErrorCode};
use crate::responses::{HeadCodeView, MainInformation, MeteringPointView, SubscriberAccountView};
use crate::state::{AppState, blocking};
use actix_web::{get, web};
use domain::codes::HeadCode;

/// "Main information": the applicant's identity from the state registries.
///
/// The first step of both e-services, filled in automatically: the person from the citizen registry
/// by the token's PIN, with the login method, and, when the token carries a `tin` (a business
/// representative), the business from the business registry. For an applicant, or a service account
/// on behalf of one (`X-On-Behalf-Of`); staff and administrators get 403 `forbidden-role`. It only
/// reads, and each read of personal data is recorded in the access log. Refused with 404
/// `person-not-in-registry` when the registry has no such person, 403 `not-a-representative` when
/// the business does not list the applicant among its representatives, and 503 naming the registry
/// that did not answer.
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

/// The applicant's residential subscriber codes.
///
/// The choices of the meter damage form's `subscriber.subscriber_code` for a residential
/// subscriber: the accounts billing holds in the name of the token's PIN, each with its holder,
/// address and district. For an applicant, or a service account on behalf of one. An empty list
/// means billing knows no residential account of the applicant; it is not an error. It only reads;
/// 503 `billing-unavailable` when billing does not answer.
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

/// The head codes (non-residential contracts) of the business the applicant acts for.
///
/// The choices of the meter damage form's `subscriber.head_code` for a non-residential subscriber.
/// For a business representative: a token with `tin` whose business lists the applicant among its
/// representatives in the business registry, or a service account naming both (`X-On-Behalf-Of`,
/// `X-On-Behalf-Of-Tin`). Refused with 403 `business-required` without a `tin`, 403
/// `not-a-representative` when the applicant does not represent the business, and 503 when the
/// registry or billing does not answer.
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
///
/// The choices of the meter damage form's `subscriber.metering_point` once a head code is chosen,
/// each with its address and meter number. For a business representative, as for `GET
/// /api/v1/me/head-codes`. The head code must be a contract of the business: any other gets 404
/// `head-code-not-found`, so that the answer reveals nothing about other businesses, and one that
/// is not 8 digits 400 `invalid-path-parameter`. Without a `tin`, 403 `business-required`; not a
/// representative, 403 `not-a-representative`.
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
