//! `Idempotency-Key` on the operations that create or change something (POST, PUT, PATCH,
//! DELETE): a double click or a network retry is carried out once.
//!
//! - The first request with a key claims it, runs, and its response is stored with a hash of the
//!   request; a retry with the same key and the same request gets that response again, marked
//!   `Idempotent-Replayed: true`.
//! - The same key with a different request (method, path, query, body) is refused with 422.
//! - A retry while the first request runs gets 409 with `Retry-After`.
//! - A key's effects commit at most once: every write a keyed request can make (the application
//!   store's; the outbox's webhook registration and stop, redelivery and retry) marks the claim in
//!   the operation's own transaction (`persistence::idempotency`). If a server dies after that
//!   commit but before storing the response, a retry gets 409 `idempotency-request-interrupted`
//!   (the client reads the current state); if it dies before, a retry after the lease runs again.
//! - A response of 500 or 503 is not stored: the claim is given up and a retry runs again.
//! - Keys belong to the token's subject (and business); without a valid token the header is
//!   ignored and the operation answers 401. Keys are kept `IDEMPOTENCY_KEY_HOURS`.

use crate::problem::{ApiError, ErrorCode};
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use base64::Engine;
use persistence::idempotency::{Claim, ClaimTimes, Claimed, StoredResponse};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub const HEADER: &str = "Idempotency-Key";
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// Longest key accepted; clients usually send a UUID (36 characters).
pub const MAX_KEY_LENGTH: usize = 255;

/// How long keys are held and kept, set per app with `web::Data<IdempotencyTimes>`.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyTimes {
    pub lease: Duration,
    pub keep: Duration,
}

tokio::task_local! {
    static CLAIM: Option<Claim>;
}

/// The request's claim, to carry onto the blocking thread where its writes run.
pub fn current_claim() -> Option<Claim> {
    CLAIM.try_with(Clone::clone).ok().flatten()
}

fn changes_something(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// The key from the header: 1 to 255 visible ASCII characters, sent once.
fn key_of(request: &ServiceRequest) -> Result<Option<String>, ApiError> {
    let mut values = request.headers().get_all(HEADER);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |why: &str| ApiError::at_field(ErrorCode::InvalidIdempotencyKey, HEADER, why);
    if values.next().is_some() {
        return Err(invalid("send one Idempotency-Key"));
    }
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty() && k.len() <= MAX_KEY_LENGTH && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .ok_or_else(|| {
            invalid("the key must be 1 to 255 visible ASCII characters (a UUID, for example)")
        })?;
    Ok(Some(key.to_owned()))
}

fn request_hash(request: &ServiceRequest, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(request.method().as_str());
    hash.update([0]);
    hash.update(request.path());
    hash.update([0]);
    hash.update(request.query_string());
    hash.update([0]);
    hash.update(body);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.finalize())
}

/// Reads the whole body (up to the limit) so that it can be hashed, and puts it back.
async fn take_body(request: &mut ServiceRequest) -> Result<web::Bytes, ApiError> {
    let limit = crate::body::limit_of(request.request());
    let mut payload = request.take_payload();
    let body = crate::body::read_limited(&mut payload, limit)
        .await?
        .freeze();
    request.set_payload(Payload::from(body.clone()));
    Ok(body)
}

fn replay(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    for (name, value) in stored.headers {
        response.append_header((name, value));
    }
    response.insert_header((REPLAYED_HEADER, "true"));
    response.body(stored.body)
}

/// The headers of a response worth giving again (not the ones the outer layers add).
fn kept_headers(response: &HttpResponse<BoxBody>) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .filter(|(name, _)| [header::CONTENT_TYPE, header::LOCATION, header::ETAG].contains(name))
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect()
}

/// Middleware: see the module's documentation.
pub async fn guard(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Only operations that exist: a method a path does not serve gets its 405 whatever the key.
    let served = request
        .app_data::<web::Data<crate::routes::fallback::RouteTable>>()
        .and_then(|table| table.methods_at(request.path()))
        .is_some_and(|methods| methods.iter().any(|m| m == request.method().as_str()));
    if !changes_something(request.method()) || !served {
        return Ok(next.call(request).await?.map_into_boxed_body());
    }
    let key = match key_of(&request) {
        Ok(Some(key)) => key,
        Ok(None) => return Ok(next.call(request).await?.map_into_boxed_body()),
        Err(error) => return Ok(request.error_response(error)),
    };
    if !request.headers().contains_key(header::AUTHORIZATION) {
        // An anonymous operation (a development token): nobody to hold the key for.
        return Ok(next.call(request).await?.map_into_boxed_body());
    }
    // The token the rate limit verified; verified again here if that failed, so that a key is
    // never silently ignored: a token refused here is refused (401, or 503 while the identity
    // provider's keys cannot be read) before anything runs.
    let token = match crate::auth::Authenticator::verified(request.request()).await {
        Ok(token) => token,
        Err(error) => return Ok(request.error_response(error)),
    };
    let owner = token.key_owner(request.headers());
    let (Some(state), Some(times)) = (
        request.app_data::<web::Data<AppState>>().cloned(),
        request
            .app_data::<web::Data<IdempotencyTimes>>()
            .map(|t| *t.get_ref()),
    ) else {
        return Ok(request.error_response(ApiError::internal("idempotency settings missing")));
    };
    let body = match take_body(&mut request).await {
        Ok(body) => body,
        Err(error) => return Ok(request.error_response(error)),
    };
    let hash = request_hash(&request, &body);
    let fence = uuid::Uuid::new_v4().to_string();
    let claim_times = ClaimTimes {
        now: chrono::Utc::now(),
        lease: chrono::TimeDelta::from_std(times.lease).unwrap_or(chrono::TimeDelta::MAX),
        keep: chrono::TimeDelta::from_std(times.keep).unwrap_or(chrono::TimeDelta::MAX),
    };
    let keys = state.idempotency.clone();
    let claimed = web::block(move || keys.claim(&owner, &key, &hash, &fence, claim_times)).await;
    let claim = match claimed {
        Ok(Ok(Claimed::Run(claim))) => claim,
        Ok(Ok(Claimed::Replay(stored))) => {
            return Ok(request.into_response(replay(stored)));
        }
        Ok(Ok(Claimed::Mismatch)) => {
            let error = ApiError::at_field(
                ErrorCode::IdempotencyKeyReused,
                HEADER,
                "this key was used for a different request; use a new key for a new request",
            );
            return Ok(request.error_response(error));
        }
        Ok(Ok(Claimed::InProgress {
            retry_after_seconds,
        })) => {
            let error = ApiError::new(
                ErrorCode::IdempotencyRequestInProgress,
                "the first request with this key is still being carried out; try again shortly",
            )
            .retry_after(u64::try_from(retry_after_seconds).unwrap_or(1));
            return Ok(request.error_response(error));
        }
        Ok(Ok(Claimed::Interrupted)) => {
            let error = ApiError::new(
                ErrorCode::IdempotencyRequestInterrupted,
                "the request with this key was carried out, but its answer was lost; read the \
                 current state (for example GET /api/v1/me/applications)",
            );
            return Ok(request.error_response(error));
        }
        Ok(Err(unavailable)) => {
            return Ok(request.error_response(ApiError::unavailable(&unavailable)));
        }
        Err(_) => {
            return Ok(request.error_response(ApiError::internal("idempotency claim cancelled")));
        }
    };
    let response = CLAIM
        .scope(Some(claim.clone()), next.call(request))
        .await?
        .map_into_boxed_body();
    let (http_request, response) = response.into_parts();
    let status = response.status();
    let headers = kept_headers(&response);
    let (head, body) = response.into_parts();
    let keys = state.idempotency.clone();
    let Ok(body) = actix_web::body::to_bytes(body).await else {
        // Answered as a problem (with the outer layers' headers), and the key given up.
        let _ = web::block(move || keys.release(&claim)).await;
        let error = ApiError::internal("the response body could not be read");
        return Ok(ServiceResponse::new(
            http_request,
            actix_web::ResponseError::error_response(&error),
        ));
    };
    let stored = if status.is_server_error() {
        web::block(move || keys.release(&claim)).await
    } else {
        let stored = StoredResponse {
            status: status.as_u16(),
            headers,
            body: body.to_vec(),
        };
        web::block(move || keys.complete(&claim, &stored)).await
    };
    if !matches!(stored, Ok(Ok(()))) {
        // The operation's outcome stands; a retry finds the key committed or claimed, not lost.
        tracing::warn!("the response of an idempotent request could not be stored");
    }
    Ok(ServiceResponse::new(
        http_request,
        head.set_body(BoxBody::new(body)),
    ))
}
