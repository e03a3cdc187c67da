//! Optimistic concurrency over HTTP: every application read carries an `ETag` naming its version;
//! staff actions must send it back in `If-Match`.

use crate::problem::{ApiError, ErrorCode};
use actix_web::HttpRequest;
use actix_web::http::header;

/// The ETag of an application at `version`.
pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// The version named by the request's `If-Match`: 428 without one, 412 when it is not an ETag
/// this service gave out (a stale one is found out by the use case).
pub fn if_match_version(request: &HttpRequest) -> Result<i64, ApiError> {
    let value = request.headers().get(header::IF_MATCH).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PreconditionRequired,
            "send If-Match with the ETag of the application you read",
        )
    })?;
    value
        .to_str()
        .ok()
        .map(str::trim)
        .and_then(|tag| tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')))
        .and_then(|tag| tag.strip_prefix('v'))
        .and_then(|version| version.parse().ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::PreconditionFailed,
                "If-Match does not name a version of this application",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn round_trip_and_refusals() {
        let request = TestRequest::default()
            .insert_header((header::IF_MATCH, etag(7)))
            .to_http_request();
        assert_eq!(if_match_version(&request).ok(), Some(7));
        let missing = TestRequest::default().to_http_request();
        assert_eq!(
            if_match_version(&missing).err().map(|e| e.code),
            Some(ErrorCode::PreconditionRequired)
        );
        for bad in ["*", "v7", "\"7\"", "W/\"v7\"", "\"vx\""] {
            let request = TestRequest::default()
                .insert_header((header::IF_MATCH, bad))
                .to_http_request();
            assert_eq!(
                if_match_version(&request).err().map(|e| e.code),
                Some(ErrorCode::PreconditionFailed),
                "{bad}"
            );
        }
    }
}
