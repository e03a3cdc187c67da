//! The debt check of a subscriber code.

use crate::auth::ApplicantPrincipal;
use crate::problem::{ApiError, ErrorCode};
use crate::responses::DebtView;
use crate::state::{AppState, blocking};
use actix_web::{get, web};
use domain::codes::SubscriberCode;

/// The unpaid balance of a subscriber code.
///
/// The debt check of the account change form: an account with unpaid debt cannot be transferred or
/// renamed (422 `debt-outstanding` when the application is checked). Any signed-in applicant may
/// ask, or a service account on behalf of one, since a transfer concerns someone else's account;
/// only the balance is shown (`amount_qapik` in qəpik, `has_debt`, `as_of`), nothing about the
/// holder. A code that is not 10 digits gets 400 `invalid-path-parameter`, one billing does not
/// know 404 `subscriber-code-not-found`, and 503 `billing-unavailable` when billing does not
/// answer.
#[utoipa::path(
    tag = "applicant",
    operation_id = "get-debt",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "A subscriber code (10 digits)", pattern = "^[0-9]{10}$", example = "1000000005")),
    responses((status = 200, description = "The balance", body = DebtView))
)]
#[get("/subscriber-accounts/{code}/debt")]
pub async fn debt(
    state: web::Data<AppState>,
    _principal: ApplicantPrincipal,
    path: web::Path<String>,
) -> Result<web::Json<DebtView>, ApiError> {
    let code = SubscriberCode::parse(&path)
        .map_err(|e| ApiError::at_field(ErrorCode::InvalidPathParameter, "code", e.to_string()))?;
    let service = state.service.clone();
    let lookup = code.clone();
    let statement = blocking(move || service.debt(&lookup)).await?;
    Ok(web::Json(DebtView::new(&code, statement)))
}
