//! Answers for requests no operation matches, and for malformed paths and queries.

use crate::problem::{ApiError, ErrorCode};
use actix_web::{HttpRequest, HttpResponse, error};

/// Unknown route: a 404 problem, never actix's plain text.
#[allow(
    clippy::needless_pass_by_value,
    reason = "actix hands handlers their arguments by value"
)]
pub async fn route_not_found(request: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    ApiError::new(
        ErrorCode::RouteNotFound,
        format!("no operation {} {}", request.method(), request.path()),
    )
    .error_response()
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "the signature actix's QueryConfig asks for"
)]
pub fn query_error(error: error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let message = error.to_string();
    let message = message
        .strip_prefix("Query deserialize error: ")
        .unwrap_or(&message)
        .to_owned();
    let field = message
        .split('`')
        .nth(1)
        .filter(|_| message.contains("field"))
        .unwrap_or("query")
        .to_owned();
    ApiError::at_field(ErrorCode::InvalidQueryParameter, &field, message).into()
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "the signature actix's PathConfig asks for"
)]
pub fn path_error(error: error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::at_field(ErrorCode::InvalidPathParameter, "path", error.to_string()).into()
}
