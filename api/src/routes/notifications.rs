//! The applicant's messages seen from the company: the failed ones and their retry, and the SMS
//! gateway's delivery reports. The applicant's language setting is here too.

use crate::auth::{ApplicantPrincipal, StaffPrincipal};
use crate::body::JsonBody;
use crate::problem::{ApiError, ErrorCode};
use crate::responses::{ApplicationView, NotificationView};
use crate::routes::webhooks::id_of;
use crate::routes::{application_number, with_etag};
use crate::state::{AppState, blocking};
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use domain::identity::Role;
use serde::Deserialize;
use utoipa::ToSchema;

const FAILED_PAGE: i64 = 200;

/// The SMS and e-mails to applicants that failed for good.
///
/// For the company's staff, to find the applicants who were not told: the messages given up on,
/// newest first (the last 200), each with its application, masked recipient and `last_error` (the
/// other side's answer). An operator sees their department's, a supervisor all. Webhook deliveries
/// are not here: administrators read them per subscription (`GET
/// /api/v1/webhooks/{id}/deliveries`). Queue one again with `POST
/// /api/v1/staff/notifications/{id}/retry`; applicants, administrators and service accounts get 403
/// `forbidden-role`.
#[utoipa::path(
    tag = "back-office",
    operation_id = "list-failed-notifications",
    security(("bearer" = [])),
    responses((status = 200, description = "Failed messages", body = Vec<NotificationView>))
)]
#[get("/staff/notifications/failed")]
pub async fn list_failed(
    state: web::Data<AppState>,
    StaffPrincipal(staff): StaffPrincipal,
) -> Result<HttpResponse, ApiError> {
    let outbox = state.outbox.clone();
    let department = match staff.role {
        Role::Supervisor => None,
        _ => staff.department.clone(),
    };
    let failed = blocking(move || Ok(outbox.failed(department.as_ref(), FAILED_PAGE)?)).await?;
    let views: Vec<NotificationView> = failed
        .iter()
        .map(|m| NotificationView::new(m, true))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Queues a failed SMS or e-mail again.
///
/// For the company's staff: the message is queued with a new round of attempts and the dispatcher
/// sends it as any other; 202 means queued, not yet sent. An operator may retry their department's
/// messages, a supervisor any. Refused with 404 `message-not-found` for an unknown id, a webhook
/// delivery (administrators redeliver those) or another department's message, and 409
/// `message-not-failed` when the message is not failed (queued, sent or delivered, or queued again
/// meanwhile).
#[utoipa::path(
    tag = "back-office",
    operation_id = "retry-notification",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The message's id", example = 41)),
    responses((status = 202, description = "Queued again"))
)]
#[post("/staff/notifications/{id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    StaffPrincipal(staff): StaffPrincipal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id_of(&path, "id")?;
    let outbox = state.outbox.clone();
    let now = chrono::Utc::now();
    let found = blocking(move || Ok(outbox.message(id)?)).await?;
    let not_found = || ApiError::new(ErrorCode::MessageNotFound, "no message has this id");
    let message = found
        .filter(|m| m.channel != domain::notifications::Channel::Webhook)
        .ok_or_else(not_found)?;
    let in_scope = staff.role == Role::Supervisor
        || (staff.department.as_ref().map(|d| d.as_str()) == message.department.as_deref());
    if !in_scope {
        return Err(not_found());
    }
    if message.status != domain::notifications::DeliveryStatus::Failed {
        return Err(ApiError::new(
            ErrorCode::MessageNotFailed,
            format!("the message is {}", message.status.as_str()),
        ));
    }
    let outbox = state.outbox.clone();
    let queued = blocking(move || Ok(outbox.retry_failed(id, now)?)).await?;
    if !queued {
        return Err(ApiError::new(
            ErrorCode::MessageNotFailed,
            "the message was queued again meanwhile",
        ));
    }
    Ok(HttpResponse::Accepted().finish())
}

/// A delivery report from the SMS gateway.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"reference": "gw-7f3a9c", "status": "delivered"}))]
pub struct DeliveryReport {
    /// The gateway's `message_id` from its answer to the send (no control characters).
    #[schema(min_length = 1, max_length = 200)]
    pub reference: String,
    pub status: ReportedStatus,
    /// Why it was not delivered: stored and shown to staff as sent, so at most 500 characters
    /// and no control characters (a longer one is refused, not cut).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReportedStatus {
    Delivered,
    Failed,
}

/// The SMS gateway's delivery report of a sent SMS.
///
/// Called by the SMS gateway, not by people: authenticated by the shared
/// `SMS_DELIVERY_REPORT_TOKEN` as a bearer token (401 `unauthenticated` without it, with another,
/// or when the service has none). `delivered` marks the SMS delivered; `failed` marks it failed
/// and, when the applicant gave an e-mail that the event does not already use, queues the e-mail
/// instead, as for a failed send. The `reference` is the gateway's `message_id` from its answer to
/// the send (404 `message-not-found` when no sent SMS has it). `reference` and `reason` are stored
/// as sent, so one too long or with control characters is refused with 422 `validation-failed`, not
/// cut.
#[utoipa::path(
    tag = "callbacks",
    operation_id = "report-sms-delivery",
    security(("sms-gateway" = [])),
    request_body = DeliveryReport,
    responses((status = 204, description = "Recorded"))
)]
#[post("/callbacks/sms-delivery")]
pub async fn sms_delivery_report(
    state: web::Data<AppState>,
    request: HttpRequest,
    JsonBody(report): JsonBody<DeliveryReport>,
) -> Result<HttpResponse, ApiError> {
    let expected = state.sms_delivery_report_token.as_deref();
    let given = request
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let authentic = match (expected, given) {
        (Some(expected), Some(given)) => {
            crate::security::constant_time_eq(expected.as_bytes(), given.as_bytes())
        }
        _ => false,
    };
    if !authentic {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "a delivery report needs the gateway's bearer token",
        ));
    }
    // Refused rather than changed: what is stored is what the gateway said, or nothing.
    let text_ok = |text: &str, max: usize| {
        let length = text.chars().count();
        (1..=max).contains(&length) && !text.chars().any(char::is_control)
    };
    if !text_ok(&report.reference, MAX_REFERENCE) {
        return Err(ApiError::at_field(
            ErrorCode::ValidationFailed,
            "reference",
            format!("1 to {MAX_REFERENCE} characters, no control characters"),
        ));
    }
    let reason = report.reason.filter(|r| !r.is_empty());
    if reason.as_deref().is_some_and(|r| !text_ok(r, MAX_REASON)) {
        return Err(ApiError::at_field(
            ErrorCode::ValidationFailed,
            "reason",
            format!("at most {MAX_REASON} characters, no control characters"),
        ));
    }
    let outbox = state.outbox.clone();
    let now = chrono::Utc::now();
    let delivered = matches!(report.status, ReportedStatus::Delivered);
    let recorded = blocking(move || {
        Ok(outbox.delivery_report(&report.reference, delivered, reason.as_deref(), now)?)
    })
    .await?;
    if !recorded {
        return Err(ApiError::new(
            ErrorCode::MessageNotFound,
            "no sent SMS has this reference",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

const MAX_REFERENCE: usize = 200;
const MAX_REASON: usize = 500;

/// The language of the applicant's messages.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"language": "ru"}))]
pub struct LanguageRequest {
    pub language: crate::vocabulary::Language,
}

/// Changes the language of the applicant's SMS and e-mails about an application.
///
/// `az`, `en` or `ru`, at any status, for the messages of the changes that follow. The language is
/// first taken from `Accept-Language` when the application is created and when it is submitted;
/// this sets it explicitly, and setting the one it has changes nothing. For the applicant, or a
/// service account on their behalf. Refused with 404 `application-not-found`, and 409
/// `version-conflict` when the application changed meanwhile.
#[utoipa::path(
    tag = "applications",
    operation_id = "set-application-language",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "The application number", pattern = "^(MD|AC)-[0-9]{4}-[0-9]{6,12}$", example = "MD-2026-000001")),
    request_body = LanguageRequest,
    responses((status = 200, description = "Changed", body = ApplicationView,
        headers(("ETag" = String, description = "Its new version"))))
)]
#[put("/applications/{number}/language")]
pub async fn set_language(
    state: web::Data<AppState>,
    ApplicantPrincipal(principal): ApplicantPrincipal,
    path: web::Path<String>,
    JsonBody(request): JsonBody<LanguageRequest>,
    crate::translations::Preferred(language): crate::translations::Preferred,
) -> Result<HttpResponse, ApiError> {
    let number = application_number(&path)?;
    let service = state.service.clone();
    let applicant = principal.applicant();
    let messages_language = request.language.into();
    let application =
        blocking(move || service.set_language(&applicant, &number, messages_language)).await?;
    Ok(with_etag(ApplicationView::new(
        &application,
        Role::Applicant,
        language,
    )))
}
