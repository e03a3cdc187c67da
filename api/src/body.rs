//! The JSON body extractors: `application/json` only, a size limit, unknown fields refused, and
//! every fault reported as a problem that names the field (JSON path) at fault.

use crate::problem::{ApiError, ErrorCode, FieldViolation};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// The largest body accepted, set per app with `web::Data<BodyLimit>`.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

const DEFAULT_LIMIT: usize = 64 * 1024;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// A JSON request body that may be left out (no body at all gives `T::default()`).
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

fn is_json(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            let media = media.trim().to_ascii_lowercase();
            media == "application/json"
                || (media.starts_with("application/") && media.ends_with("+json"))
        })
}

/// Turns a serde error at a path into a problem.
fn body_error(error: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.inner();
    let message = inner.to_string();
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    match inner.classify() {
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => {
            let mut problem = ApiError::new(
                ErrorCode::MalformedJson,
                format!("the body is not valid JSON: {message}"),
            );
            // Inside a value (a lone surrogate, bytes that are not UTF-8, a raw control
            // character in a string): the field it is in is known, and named.
            if path != "." && !path.is_empty() {
                problem.problem.errors.push(FieldViolation::new(
                    path,
                    ErrorCode::MalformedJson.as_str(),
                    message,
                ));
            }
            problem
        }
        serde_json::error::Category::Data => {
            let code = if message.starts_with("unknown field") {
                ErrorCode::UnknownField
            } else {
                ErrorCode::InvalidBody
            };
            let field = if path == "." {
                "(body)".to_owned()
            } else {
                path
            };
            let mut problem = ApiError::new(code, format!("{field}: {message}"));
            problem
                .problem
                .errors
                .push(FieldViolation::new(field, code.as_str(), message));
            problem
        }
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| body_error(&e))?;
    deserializer.end().map_err(|_| {
        ApiError::new(
            ErrorCode::MalformedJson,
            "the body has more after its JSON value",
        )
    })?;
    Ok(value)
}

/// The largest body this app accepts.
pub(crate) fn limit_of(request: &HttpRequest) -> usize {
    request
        .app_data::<web::Data<BodyLimit>>()
        .map_or(DEFAULT_LIMIT, |limit| limit.0)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the body may be at most {limit} bytes"),
    )
}

/// Reads a whole payload, refusing it (413) as soon as it passes `limit` bytes.
pub(crate) async fn read_limited(
    payload: &mut Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::new(ErrorCode::MalformedJson, "the body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads the body: `None` when there is none; refuses a body over the limit (before reading more
/// than the limit) and a body that is not JSON.
fn read(
    request: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<Option<web::BytesMut>, ApiError>> {
    let limit = limit_of(request);
    let json = is_json(request);
    let declared_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = payload.take();
    Box::pin(async move {
        if declared_length.is_some_and(|length| length > limit) {
            return Err(too_large(limit));
        }
        let body = read_limited(&mut payload, limit).await?;
        if body.is_empty() {
            return Ok(None);
        }
        if !json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as application/json",
            ));
        }
        Ok(Some(body))
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(request);
        let body = read(request, payload);
        Box::pin(async move {
            match body.await? {
                Some(bytes) => parse(&bytes).map(Self),
                None if json => Err(ApiError::new(
                    ErrorCode::MalformedJson,
                    "a JSON body is required",
                )),
                None => Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "send the body as application/json",
                )),
            }
        })
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read(request, payload);
        Box::pin(async move {
            match body.await? {
                // `null` is no body too.
                Some(bytes) => {
                    parse::<Option<T>>(&bytes).map(|value| Self(value.unwrap_or_default()))
                }
                None => Ok(Self(T::default())),
            }
        })
    }
}
