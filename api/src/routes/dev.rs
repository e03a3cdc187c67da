//! Development only: sign a token with the development key, so that Swagger UI users can sign
//! in. The route does not exist in production mode.

use crate::auth::{DevTokenIssuer, TokenRequest};
use crate::body::JsonBody;
use crate::problem::{ApiError, FieldViolation};
use crate::vocabulary::{LoginMethod, Role};
use actix_web::{post, web};
use domain::identity::{Pin, Tin};
use domain::routing::DepartmentCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who the development token is for: an applicant by PIN, or a staff member by employee id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"pin": "5R7KQ2M", "login_method": "asan-imza"}))]
pub struct DevTokenRequest {
    /// An applicant's PIN (FİN), 7 letters and digits; required with the `applicant` role.
    pub pin: Option<String>,
    /// A staff member's identifier, like `operator-1`; required without the `applicant` role.
    pub employee_id: Option<String>,
    /// The business's VÖEN, to act for it.
    pub tin: Option<String>,
    /// Default `["applicant"]`.
    pub roles: Option<Vec<Role>>,
    /// Default `asan-imza`.
    pub login_method: Option<LoginMethod>,
    /// An operator's department code (see `GET /api/v1/departments`).
    pub department: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJFZERTQSJ9…", "token_type": "Bearer", "expires_in": 3600}))]
pub struct DevTokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

pub const DEV_TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// Signs a development token (development mode only).
///
/// For trying the API: a token signed with the development key, valid for an hour, for an applicant
/// by `pin` (optionally acting for a business's `tin`), or for staff or an administrator by
/// `employee_id` with `roles` (an operator also names a `department`); paste it into Swagger UI's
/// **Authorize**. Open to anyone, because the route does not exist in production mode and is not in
/// the published `openapi.yaml`. Refused with 422 `validation-failed` listing every field at fault.
#[utoipa::path(
    tag = "development",
    operation_id = "create-dev-token",
    request_body = DevTokenRequest,
    responses((status = 200, description = "A token to use as `Authorization: Bearer …`", body = DevTokenResponse))
)]
#[post("/dev/tokens")]
pub async fn create_dev_token(
    issuer: web::Data<DevTokenIssuer>,
    JsonBody(request): JsonBody<DevTokenRequest>,
) -> Result<web::Json<DevTokenResponse>, ApiError> {
    let token_request = token_request(request)?;
    // Tokens live in real time, whatever clock the applications run on.
    let token = issuer.issue(&token_request, chrono::Utc::now())?;
    Ok(web::Json(DevTokenResponse {
        access_token: token,
        token_type: "Bearer".to_owned(),
        expires_in: DEV_TOKEN_LIFETIME_SECONDS,
    }))
}

/// Checks the request, reporting every field at fault.
fn token_request(request: DevTokenRequest) -> Result<TokenRequest, ApiError> {
    let mut errors = Vec::new();
    let roles: Vec<domain::identity::Role> = request.roles.map_or_else(
        || vec![domain::identity::Role::Applicant],
        |roles| roles.into_iter().map(Into::into).collect(),
    );
    let subject = if roles.contains(&domain::identity::Role::Applicant) {
        match request.pin.as_deref().map(Pin::parse) {
            Some(Ok(pin)) => Some(pin.to_string()),
            Some(Err(e)) => {
                errors.push(FieldViolation::new("pin", "invalid-pin", e.to_string()));
                None
            }
            None => {
                errors.push(FieldViolation::new(
                    "pin",
                    "required",
                    "an applicant's token is for a PIN",
                ));
                None
            }
        }
    } else {
        match request.employee_id.as_deref().map(str::trim) {
            Some(id) if crate::auth::is_identifier(id) => Some(id.to_owned()),
            _ => {
                errors.push(FieldViolation::new(
                    "employee_id",
                    "required",
                    "a staff token is for an employee id of 1 to 64 characters",
                ));
                None
            }
        }
    };
    let tin = request
        .tin
        .as_deref()
        .map(Tin::parse)
        .transpose()
        .map_err(|e| errors.push(FieldViolation::new("tin", "invalid-tin", e.to_string())))
        .ok()
        .flatten();
    let department = request
        .department
        .as_deref()
        .map(DepartmentCode::parse)
        .transpose()
        .map_err(|e| {
            errors.push(FieldViolation::new(
                "department",
                "invalid-department",
                e.to_string(),
            ))
        })
        .ok()
        .flatten();
    let operator_only = roles.contains(&domain::identity::Role::Operator)
        && !roles.contains(&domain::identity::Role::Supervisor);
    if operator_only && department.is_none() && request.department.is_none() {
        errors.push(FieldViolation::new(
            "department",
            "required",
            "an operator's token names the department",
        ));
    }
    match subject {
        Some(subject) if errors.is_empty() => Ok(TokenRequest {
            subject,
            tin,
            roles,
            login_method: request
                .login_method
                .map_or(domain::identity::LoginMethod::AsanImza, Into::into),
            department,
            lifetime_seconds: DEV_TOKEN_LIFETIME_SECONDS,
        }),
        _ => Err(ApiError::validation(errors)),
    }
}
