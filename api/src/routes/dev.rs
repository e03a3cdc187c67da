//! Development only: sign a token with the development key, so that Swagger UI users can sign
//! in. The route does not exist in production mode.

use crate::auth::{DevTokenIssuer, TokenRequest};
use crate::body::JsonBody;
use crate::problem::{ApiError, FieldViolation};
use crate::state::AppState;
use crate::vocabulary::{LoginMethod, Role};
use actix_web::{post, web};
use domain::identity::{Pin, Tin};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who the development token is for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"pin": "5R7KQ2M", "login_method": "asan-imza"}))]
pub struct DevTokenRequest {
    /// The person's PIN (FİN), 7 letters and digits.
    pub pin: String,
    /// The business's VÖEN, to act for it.
    pub tin: Option<String>,
    /// Default `["applicant"]`.
    pub roles: Option<Vec<Role>>,
    /// Default `asan-imza`.
    pub login_method: Option<LoginMethod>,
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

/// Signs a token with the development key (development mode only).
#[utoipa::path(
    tag = "development",
    operation_id = "create-dev-token",
    request_body = DevTokenRequest,
    responses((status = 200, description = "A token to use as `Authorization: Bearer …`", body = DevTokenResponse))
)]
#[post("/dev/tokens")]
pub async fn create_dev_token(
    state: web::Data<AppState>,
    issuer: web::Data<DevTokenIssuer>,
    JsonBody(request): JsonBody<DevTokenRequest>,
) -> Result<web::Json<DevTokenResponse>, ApiError> {
    let mut errors = Vec::new();
    let pin = Pin::parse(&request.pin)
        .map_err(|e| errors.push(FieldViolation::new("pin", "invalid-pin", e.to_string())))
        .ok();
    let tin = request
        .tin
        .as_deref()
        .map(Tin::parse)
        .transpose()
        .map_err(|e| errors.push(FieldViolation::new("tin", "invalid-tin", e.to_string())))
        .ok()
        .flatten();
    let Some(pin) = pin.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let token_request = TokenRequest {
        pin,
        tin,
        roles: request.roles.map_or_else(
            || vec![domain::identity::Role::Applicant],
            |roles| roles.into_iter().map(Into::into).collect(),
        ),
        login_method: request
            .login_method
            .map_or(domain::identity::LoginMethod::AsanImza, Into::into),
        lifetime_seconds: DEV_TOKEN_LIFETIME_SECONDS,
    };
    let token = issuer.issue(&token_request, state.clock.now())?;
    Ok(web::Json(DevTokenResponse {
        access_token: token,
        token_type: "Bearer".to_owned(),
        expires_in: DEV_TOKEN_LIFETIME_SECONDS,
    }))
}
