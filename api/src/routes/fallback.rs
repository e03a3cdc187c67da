//! Answers for requests no operation matches, and for malformed paths and queries.

use crate::problem::{ApiError, ErrorCode};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, error, web};

/// The paths served and their methods, read from the OpenAPI document (which is generated from
/// the same route list), to tell a wrong method (405) from an unknown path (404).
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl RouteTable {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template.split('/').map(str::to_owned).collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(method, _)| method.to_owned())
                .collect();
                (segments, methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods served at `path`, when some operation's template matches it.
    pub fn methods_at(&self, path: &str) -> Option<&[String]> {
        let segments: Vec<&str> = path.split('/').collect();
        self.routes.iter().find_map(|(template, methods)| {
            let matches = template.len() == segments.len()
                && template.iter().zip(&segments).all(|(expected, actual)| {
                    (expected.starts_with('{') && !actual.is_empty()) || expected == actual
                });
            matches.then_some(methods.as_slice())
        })
    }
}

/// No operation matched: 405 with `Allow` when the path exists with other methods, otherwise a
/// 404 problem; never actix's plain text.
#[allow(
    clippy::needless_pass_by_value,
    reason = "actix hands handlers their arguments by value"
)]
pub async fn route_not_found(request: HttpRequest) -> HttpResponse {
    let allowed = request
        .app_data::<web::Data<RouteTable>>()
        .and_then(|table| {
            table
                .methods_at(request.path())
                .map(|methods| methods.join(", "))
        });
    match allowed {
        Some(methods) => {
            let mut response = ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!(
                    "{} is not allowed on {}; use {methods}",
                    request.method(),
                    request.path()
                ),
            )
            .error_response();
            if let Ok(value) = header::HeaderValue::from_str(&methods) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        None => ApiError::new(
            ErrorCode::RouteNotFound,
            format!("no operation {} {}", request.method(), request.path()),
        )
        .error_response(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_templates_segment_by_segment() {
        let table =
            RouteTable::from_openapi(&crate::openapi::openapi(crate::config::Mode::Production));
        let methods = |path| table.methods_at(path).map(|m| m.join(", "));
        assert_eq!(
            methods("/api/v1/applications/MD-2026-000001").as_deref(),
            Some("GET, PATCH")
        );
        assert_eq!(methods("/api/v1/services").as_deref(), Some("GET"));
        assert_eq!(methods("/api/v1/applications//submit"), None);
        assert_eq!(methods("/api/v1/nothing"), None);
    }
}
