//! Webhook subscriptions for integrators (admins only): register a URL for event types with a
//! secret, read the delivery log, redeliver. See `notifications::webhook` for the signature.

use crate::auth::AdminPrincipal;
use crate::body::JsonBody;
use crate::problem::{ApiError, ErrorCode};
use crate::responses::NotificationView;
use crate::state::{AppState, blocking};
use crate::vocabulary::EventType;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use persistence::outbox::{NewSubscription, Subscription};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new subscription.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://portal.e-gov.az/hooks/azerisiq",
    "event_types": ["registered", "approved", "rejected", "completed"],
    "secret": "whsec_3c1e0f9a7b2d4e6f8a0b1c2d3e4f5a6b",
    "description": "e-gov.az: stage of applications in the citizen's cabinet"
}))]
pub struct CreateSubscriptionRequest {
    /// Where events are POSTed: `https://` to a public address (development also takes `http://`
    /// and local addresses, for testing). Kept and shown as given; no white space or control
    /// characters.
    #[schema(max_length = 2000)]
    pub url: String,
    /// At least one; each at most once (so at most the 12 there are).
    #[schema(min_items = 1, max_items = 12)]
    pub event_types: Vec<EventType>,
    /// Signs every delivery (HMAC-SHA256); 32 to 200 characters. Never shown again.
    #[schema(min_length = 32, max_length = 200)]
    pub secret: String,
    /// At most 500 characters, no control characters; white space at either end is dropped.
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

impl std::fmt::Debug for CreateSubscriptionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSubscriptionRequest")
            .field("url", &self.url)
            .field("event_types", &self.event_types)
            .finish_non_exhaustive()
    }
}

/// A subscription; its secret is never returned.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "url": "https://portal.e-gov.az/hooks/azerisiq",
    "event_types": ["registered", "approved", "rejected", "completed"],
    "description": "e-gov.az: stage of applications in the citizen's cabinet",
    "active": true, "created_by": "admin-01", "created_at": "2026-11-23T09:00:00Z"
}))]
pub struct SubscriptionView {
    pub id: i64,
    pub url: String,
    pub event_types: Vec<EventType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A deleted subscription stays, inactive, with its delivery log.
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<Subscription> for SubscriptionView {
    fn from(s: Subscription) -> Self {
        Self {
            id: s.id,
            url: s.url,
            event_types: s.event_types.into_iter().map(Into::into).collect(),
            description: s.description,
            active: s.active,
            created_by: s.created_by,
            created_at: s.created_at,
        }
    }
}

/// One delivery of the log, with each attempt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "event": "registered", "event_id": "0b6f2c7e-3f0c-4c35-9d8e-5b1a2f6d7c10",
    "occurred_at": "2026-11-23T09:02:00Z", "channel": "webhook",
    "recipient": "https://portal.e-gov.az/hooks/azerisiq", "status": "sent", "attempts": 2,
    "updated_at": "2026-11-23T09:02:27Z", "sent_at": "2026-11-23T09:02:27Z",
    "application": "MD-2026-000001",
    "attempts_log": [
        {"attempt": 1, "at": "2026-11-23T09:02:01Z", "outcome": "transient", "detail": "webhook: HTTP 503 Service Unavailable"},
        {"attempt": 2, "at": "2026-11-23T09:02:27Z", "outcome": "sent"}
    ]
}))]
pub struct DeliveryView {
    #[serde(flatten)]
    pub message: NotificationView,
    pub attempts_log: Vec<AttemptLogView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptLogView {
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// `sent`, `transient` (retried) or `permanent`.
    pub outcome: String,
    /// The receiver's status and an excerpt of its answer, or the network error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

const MAX_URL: usize = 2000;
const SECRET_CHARACTERS: std::ops::RangeInclusive<usize> = 32..=200;
const MAX_DESCRIPTION: usize = 500;
const DELIVERY_PAGE: i64 = 100;

fn check(
    request: CreateSubscriptionRequest,
    private_allowed: bool,
) -> Result<NewSubscriptionParts, ApiError> {
    let mut error: Option<ApiError> = None;
    let mut fault = |field: &str, code: &str, message: String| {
        let e = error.get_or_insert_with(|| {
            ApiError::new(ErrorCode::ValidationFailed, "some fields are not valid")
        });
        e.problem
            .errors
            .push(crate::problem::FieldViolation::new(field, code, message));
    };
    // Stored and shown as given (the sender parses it the same way); so a URL the parser would
    // change by dropping characters (tabs, line breaks, surrounding spaces) is refused, and so is
    // NUL, which PostgreSQL cannot store.
    let url = url::Url::parse(&request.url).ok();
    let url_ok = request.url.chars().count() <= MAX_URL
        && !request
            .url
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
        && url.as_ref().is_some_and(|u| {
            let address = match u.host() {
                Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                _ => None,
            };
            let private = address.is_some_and(|ip| !notifications::webhook::is_public(ip))
                || u.host_str() == Some("localhost");
            let scheme_ok = u.scheme() == "https" || (u.scheme() == "http" && private_allowed);
            u.username().is_empty()
                && u.password().is_none()
                && scheme_ok
                && (private_allowed || !private)
        });
    if !url_ok {
        fault(
            "url",
            "invalid-url",
            "an https URL to a public address, without credentials, white space or control characters, at most 2000 characters (http and local addresses in development only)".to_owned(),
        );
    }
    if request.event_types.is_empty() {
        fault(
            "event_types",
            "empty",
            "name at least one event type".to_owned(),
        );
    }
    let mut types: Vec<domain::notifications::EventType> = Vec::new();
    for (index, t) in request.event_types.iter().enumerate() {
        let t = (*t).into();
        if types.contains(&t) {
            fault(
                &format!("event_types[{index}]"),
                "repeated",
                "each event type at most once".to_owned(),
            );
        } else {
            types.push(t);
        }
    }
    let secret_length = request.secret.chars().count();
    if !SECRET_CHARACTERS.contains(&secret_length) || request.secret.chars().any(char::is_control) {
        fault(
            "secret",
            "invalid-secret",
            "32 to 200 characters, no control characters".to_owned(),
        );
    }
    let description = request
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION || d.chars().any(char::is_control))
    {
        fault(
            "description",
            "invalid-description",
            "at most 500 characters, no control characters".to_owned(),
        );
    }
    match error {
        Some(error) => Err(error),
        None => Ok(NewSubscriptionParts {
            url: request.url,
            types,
            secret: request.secret,
            description,
        }),
    }
}

struct NewSubscriptionParts {
    url: String,
    types: Vec<domain::notifications::EventType>,
    secret: String,
    description: Option<String>,
}

fn subscription_not_found() -> ApiError {
    ApiError::new(
        ErrorCode::WebhookSubscriptionNotFound,
        "no webhook subscription has this id",
    )
}

/// Registers a webhook subscription.
///
/// For administrators (`roles: ["admin"]`), for an integrator such as e-gov.az: every later event
/// of the chosen `event_types` is POSTed to the `url` as JSON, signed with HMAC-SHA256 of the
/// `secret` (`Eservices-Signature`, see `docs/NOTIFICATIONS.md`), and retried with backoff until
/// the receiver answers 2xx or the attempts run out (then an administrator can redeliver it). In
/// production the URL must be `https://` to a public address; the secret (32 to 200 characters) is
/// never shown again. It answers 201 with the subscription and its `Location`. Refused with 422
/// `validation-failed` listing every field at fault (URL, an empty or repeated event type, secret,
/// description); other roles and service accounts get 403 `forbidden-role`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "create-webhook-subscription",
    security(("bearer" = [])),
    request_body = CreateSubscriptionRequest,
    responses((status = 201, description = "Registered", body = SubscriptionView))
)]
#[post("/webhooks")]
pub async fn create_subscription(
    state: web::Data<AppState>,
    AdminPrincipal(admin): AdminPrincipal,
    JsonBody(request): JsonBody<CreateSubscriptionRequest>,
) -> Result<HttpResponse, ApiError> {
    let parts = check(request, state.mode == crate::config::Mode::Development)?;
    let outbox = state.outbox.clone();
    let now = state.clock.now();
    let created = blocking(move || {
        Ok(outbox.create_subscription(&NewSubscription {
            url: parts.url,
            event_types: parts.types,
            secret: parts.secret,
            description: parts.description,
            created_by: admin,
            created_at: now,
        })?)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/webhooks/{}", created.id)))
        .json(SubscriptionView::from(created)))
}

/// Every webhook subscription, active or not.
///
/// For administrators: every subscription with its URL, event types, description, who created it
/// and when; a deleted one stays listed with `active: false`, and its delivery log stays readable.
/// Secrets are never returned, and the list is not paged. Other roles and service accounts get 403
/// `forbidden-role`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list-webhook-subscriptions",
    security(("bearer" = [])),
    responses((status = 200, description = "The subscriptions", body = Vec<SubscriptionView>))
)]
#[get("/webhooks")]
pub async fn list_subscriptions(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
) -> Result<HttpResponse, ApiError> {
    let outbox = state.outbox.clone();
    let all = blocking(move || Ok(outbox.subscriptions()?)).await?;
    let views: Vec<SubscriptionView> = all.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// One webhook subscription.
///
/// For administrators: the subscription with this id, active or not, without its secret. Refused
/// with 404 `webhook-subscription-not-found` for an unknown id and 400 `invalid-path-parameter` for
/// an id that is not a positive whole number; other roles and service accounts get 403
/// `forbidden-role`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "get-webhook-subscription",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The subscription's id", example = 1)),
    responses((status = 200, description = "The subscription", body = SubscriptionView))
)]
#[get("/webhooks/{id}")]
pub async fn get_subscription(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id_of(&path, "id")?;
    let outbox = state.outbox.clone();
    let found = blocking(move || Ok(outbox.subscription(id)?)).await?;
    let found = found.ok_or_else(subscription_not_found)?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(found)))
}

/// Stops a webhook subscription.
///
/// For administrators: the subscription becomes inactive (`active: false`) and no new events are
/// queued for it; deliveries already queued are still sent (and retried). It is not erased: it
/// stays listed, and its delivery log stays readable at `GET /api/v1/webhooks/{id}/deliveries`. Refused with 404 `webhook-subscription-not-found` for an
/// unknown id; other roles and service accounts get 403 `forbidden-role`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "delete-webhook-subscription",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The subscription's id", example = 1)),
    responses((status = 204, description = "Stopped"))
)]
#[delete("/webhooks/{id}")]
pub async fn delete_subscription(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id_of(&path, "id")?;
    let outbox = state.outbox.clone();
    let stopped = blocking(move || Ok(outbox.deactivate_subscription(id)?)).await?;
    if !stopped {
        return Err(subscription_not_found());
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The delivery log of a webhook subscription.
///
/// For administrators, to see what an integrator was sent: the subscription's deliveries, newest
/// first (the last 100), each with its event, application and status, and every attempt with its
/// outcome and the receiver's status and an excerpt of its answer, or the network error. Inactive
/// subscriptions keep their log. Send one again with `POST
/// /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver`. Refused with 404
/// `webhook-subscription-not-found`; other roles and service accounts get 403 `forbidden-role`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list-webhook-deliveries",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The subscription's id", example = 1)),
    responses((status = 200, description = "The delivery log", body = Vec<DeliveryView>))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id_of(&path, "id")?;
    let outbox = state.outbox.clone();
    let (found, log) = blocking(move || {
        let found = outbox.subscription(id)?;
        let log = match found {
            Some(_) => outbox.deliveries(id, DELIVERY_PAGE)?,
            None => Vec::new(),
        };
        Ok((found, log))
    })
    .await?;
    found.ok_or_else(subscription_not_found)?;
    let views: Vec<DeliveryView> = log
        .iter()
        .map(|(message, attempts)| DeliveryView {
            message: NotificationView::new(message, true),
            attempts_log: attempts
                .iter()
                .map(|a| AttemptLogView {
                    attempt: a.attempt,
                    at: a.at,
                    outcome: a.outcome.clone(),
                    detail: a.detail.clone(),
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Sends a webhook delivery again.
///
/// For administrators, when an integrator missed an event: the delivery is queued for a new round
/// of attempts, whatever came of it before, with the same event id (`Eservices-Event-Id`), so that
/// the receiver can recognise a repeat; 202 means queued, not yet sent. Refused with 404
/// `message-not-found` when the subscription has no delivery with this id, and 409
/// `delivery-in-progress` while it is queued or being sent; other roles and service accounts get
/// 403 `forbidden-role`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "redeliver-webhook",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, minimum = 1, description = "The subscription's id", example = 1),
        ("delivery" = i64, Path, minimum = 1, description = "The delivery's id", example = 41)
    ),
    responses((status = 202, description = "Queued again"))
)]
#[post("/webhooks/{id}/deliveries/{delivery}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = id_of(&path.0, "id")?;
    let delivery = id_of(&path.1, "delivery")?;
    let outbox = state.outbox.clone();
    let now = chrono::Utc::now();
    let queued = blocking(move || {
        let message = outbox.message(delivery)?;
        match message {
            Some(m) if m.subscription_id == Some(id) => Ok(Some(outbox.redeliver(delivery, now)?)),
            _ => Ok(None),
        }
    })
    .await?;
    match queued {
        None => {
            return Err(ApiError::new(
                ErrorCode::MessageNotFound,
                "this subscription has no delivery with this id",
            ));
        }
        Some(false) => {
            return Err(ApiError::new(
                ErrorCode::DeliveryInProgress,
                "the delivery is queued or being sent; wait for its outcome",
            ));
        }
        Some(true) => {}
    }
    Ok(HttpResponse::Accepted().finish())
}

/// A numeric path parameter.
pub(crate) fn id_of(raw: &str, field: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::at_field(
            ErrorCode::InvalidPathParameter,
            field,
            "a positive whole number",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str) -> CreateSubscriptionRequest {
        CreateSubscriptionRequest {
            url: url.to_owned(),
            event_types: vec![EventType::Registered],
            secret: "s".repeat(32),
            description: None,
        }
    }

    #[test]
    fn production_takes_only_https_to_public_addresses() {
        for refused in [
            "http://portal.e-gov.az/hooks",
            "https://127.0.0.1/hooks",
            "https://10.0.0.5/hooks",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hooks",
            "https://localhost/hooks",
            "https://user:pass@portal.e-gov.az/hooks",
        ] {
            assert!(check(request(refused), false).is_err(), "{refused}");
        }
        assert!(check(request("https://portal.e-gov.az/hooks"), false).is_ok());
        assert!(
            check(request("http://127.0.0.1:9000/hooks"), true).is_ok(),
            "development and tests"
        );
    }
}
