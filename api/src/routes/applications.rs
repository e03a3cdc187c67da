//! Applications: create (and optionally submit), fill in steps, submit, cancel, read, and
//! "My applications".

use crate::auth::{ApplicantPrincipal, Caller};
use crate::body::{JsonBody, OptionalJsonBody};
use crate::problem::{ApiError, ErrorCode};
use crate::responses::{ApplicationList, ApplicationSummary, ApplicationView};
use crate::routes::application_number;
use crate::routes::with_etag;
use crate::state::{AppState, awaited, blocking};
use crate::steps::{AccountSelection, Contact, Property, StepFields, SubscriberSelection};
use crate::translations::accept_language;
use crate::vocabulary::{ApplicationKind, Status};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::identity::Role;
use domain::ports::ApplicationQuery;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// A new application: its kind and, optionally, any steps already known. With `"submit": true`
/// and every step present it is submitted in the same call (for integrators): then it is stored
/// submitted, or not at all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "meter-damage-investigation",
    "subscriber": {"type": "residential", "subscriber_code": "1000000001"},
    "damage_description": "Sayğacın şüşəsi sınıb.",
    "contact": {"mobile_numbers": ["050 123 45 67"], "email": "resad.memmedov@example.az"},
    "submit": true
}))]
pub struct CreateApplicationRequest {
    pub kind: ApplicationKind,
    /// Submit at once; every step must then be present.
    #[serde(default)]
    pub submit: bool,
    /// Meter damage only.
    pub subscriber: Option<SubscriberSelection>,
    /// Meter damage only: the applicant's description of the damage, at most 2000 characters,
    /// no control characters but line breaks and tabs. Stored as sent, less white space at
    /// either end.
    #[schema(max_length = 2000)]
    pub damage_description: Option<String>,
    /// Account change only.
    pub account: Option<AccountSelection>,
    /// Account change only.
    pub property: Option<Property>,
    pub contact: Option<Contact>,
}

/// Steps to fill or change. Each step given replaces that step whole and is checked as the
/// portal's form checks it; steps left out stay as they are. An empty `damage_description`
/// removes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "account": {"variant": "transfer", "subscriber_code": "1000000004"},
    "property": {"district": "AZ-BA-NRM", "registry_number": "110033056204", "registration_number": "2026-203517", "property_type": "apartment"}
}))]
pub struct UpdateApplicationRequest {
    pub subscriber: Option<SubscriberSelection>,
    /// As on creation: at most 2000 characters, no control characters but line breaks and tabs;
    /// white space at either end is dropped.
    #[schema(max_length = 2000)]
    pub damage_description: Option<String>,
    pub account: Option<AccountSelection>,
    pub property: Option<Property>,
    pub contact: Option<Contact>,
}

/// Why the applicant withdraws the application (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Sayğac bərpa olundu."}))]
pub struct CancelApplicationRequest {
    /// At most 500 characters, no control characters but line breaks and tabs; white space at
    /// either end is dropped.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

const MAX_REASON_CHARACTERS: usize = 500;

fn created(view: ApplicationView) -> HttpResponse {
    HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/applications/{}", view.number)))
        .insert_header(("ETag", crate::etag::etag(view.version)))
        .json(view)
}

/// Creates an application and gives it its number.
///
/// The first call of both e-services: the application gets its number at once (the portal shows it
/// before submission) and is stored as a draft with whatever steps the body gives, each checked as
/// the portal's form checks it; the language of the applicant's messages is taken from
/// `Accept-Language`. With `"submit": true` and every step present it is submitted in the same call
/// (for integrators): then it is stored submitted, routed to a department, and the applicant is
/// told by SMS and e-mail (`registered`), or it is not stored at all. For an applicant, or a
/// service account on behalf of one; send an `Idempotency-Key` to retry safely. Refused with 422
/// for a step at fault (`validation-failed`, `step-not-for-kind`, `subscriber-code-not-yours`,
/// `debt-outstanding`, …), 422 `application-incomplete` when `submit` is asked with steps missing,
/// 409 `open-application-exists` when another application for the same target is open, and 503 when
/// a registry or billing does not answer.
#[utoipa::path(
    tag = "applications",
    operation_id = "create-application",
    security(("bearer" = [])),
    request_body = CreateApplicationRequest,
    responses(
        (status = 201, description = "Created (a draft, or submitted with `submit: true`); `Location` names it",
         body = ApplicationView, headers(("Location" = String, description = "The application's URL"), ("ETag" = String, description = "Its version")))
    )
)]
#[post("/applications")]
pub async fn create_application(
    state: web::Data<AppState>,
    ApplicantPrincipal(principal): ApplicantPrincipal,
    http: HttpRequest,
    JsonBody(request): JsonBody<CreateApplicationRequest>,
    crate::translations::Preferred(language): crate::translations::Preferred,
) -> Result<HttpResponse, ApiError> {
    let messages_language = accept_language(http.headers());
    let changes = StepFields {
        subscriber: request.subscriber.as_ref(),
        damage_description: request.damage_description.as_deref(),
        account: request.account.as_ref(),
        property: request.property.as_ref(),
        contact: request.contact.as_ref(),
    }
    .parse()?;
    let service = state.service.clone();
    let applicant = principal.applicant();
    let kind = request.kind.into();
    let submit = request.submit;
    let application =
        blocking(move || service.create(&applicant, kind, changes, submit, messages_language))
            .await?;
    Ok(created(ApplicationView::new(
        &application,
        Role::Applicant,
        language,
    )))
}

/// Fills in or changes steps of a draft (or of an application returned for a correction).
///
/// The form's "Continue": each step given replaces that step whole and is checked as the portal's
/// form checks it (asking the registries and billing as needed); steps left out stay as they are,
/// and an empty `damage_description` removes it. For the applicant, or a service account on their
/// behalf, while the application is a draft or returned for a correction; on a returned one only
/// the steps the company asked to correct may change (422 `step-not-requested`). It answers the
/// application with its new `ETag` and sends nothing to anyone. Refused with 404
/// `application-not-found`, 409 `application-not-editable` once submitted, 409 `version-conflict`
/// when it changed meanwhile, 422 for a step at fault (`validation-failed`, `step-not-for-kind`,
/// `debt-outstanding`, …), and 503 when a registry or billing does not answer.
#[utoipa::path(
    tag = "applications",
    operation_id = "update-application",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "The application number", pattern = "^(MD|AC)-[0-9]{4}-[0-9]{6,12}$", example = "AC-2026-000001")),
    request_body = UpdateApplicationRequest,
    responses((status = 200, description = "The application with the steps changed", body = ApplicationView,
        headers(("ETag" = String, description = "Its new version"))))
)]
#[patch("/applications/{number}")]
pub async fn update_application(
    state: web::Data<AppState>,
    ApplicantPrincipal(principal): ApplicantPrincipal,
    path: web::Path<String>,
    JsonBody(request): JsonBody<UpdateApplicationRequest>,
    crate::translations::Preferred(language): crate::translations::Preferred,
) -> Result<HttpResponse, ApiError> {
    let number = application_number(&path)?;
    let changes = StepFields {
        subscriber: request.subscriber.as_ref(),
        damage_description: request.damage_description.as_deref(),
        account: request.account.as_ref(),
        property: request.property.as_ref(),
        contact: request.contact.as_ref(),
    }
    .parse()?;
    let service = state.service.clone();
    let applicant = principal.applicant();
    let application = blocking(move || service.update(&applicant, &number, changes)).await?;
    Ok(with_etag(ApplicationView::new(
        &application,
        Role::Applicant,
        language,
    )))
}

/// Submits the application to the company.
///
/// "Send application": every step must be present (422 `application-incomplete`, with
/// `missing_steps`) and is checked again with fresh facts; for an account change the debt is read
/// anew and recorded with the application (422 `debt-outstanding`). The application is routed to
/// the department of its kind that serves its district and gets its due time; the applicant is told
/// by SMS and e-mail (`registered`) in the language of `Accept-Language`, and webhooks hear of it.
/// An application returned for a correction is resubmitted the same way (`resubmitted`, by SMS).
/// For the applicant, or a service account on their behalf; refused with 404
/// `application-not-found`, 409 `action-not-allowed` when it is neither a draft nor returned, 409
/// `open-application-exists` when another application for the same target is open, 409
/// `version-conflict`, and 503 when a registry or billing does not answer.
#[utoipa::path(
    tag = "applications",
    operation_id = "submit-application",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "The application number", pattern = "^(MD|AC)-[0-9]{4}-[0-9]{6,12}$", example = "MD-2026-000001")),
    responses((status = 200, description = "Submitted", body = ApplicationView,
        headers(("ETag" = String, description = "Its new version"))))
)]
#[post("/applications/{number}/submit")]
pub async fn submit_application(
    state: web::Data<AppState>,
    ApplicantPrincipal(principal): ApplicantPrincipal,
    http: HttpRequest,
    path: web::Path<String>,
    crate::translations::Preferred(language): crate::translations::Preferred,
) -> Result<HttpResponse, ApiError> {
    let number = application_number(&path)?;
    let service = state.service.clone();
    let applicant = principal.applicant();
    let messages_language = accept_language(http.headers());
    let application =
        blocking(move || service.submit(&applicant, &number, messages_language)).await?;
    Ok(with_etag(ApplicationView::new(
        &application,
        Role::Applicant,
        language,
    )))
}

/// Withdraws (cancels) the application.
///
/// The applicant withdraws a draft, a submitted application nobody has started work on, or one
/// returned to them for a correction; its status becomes `cancelled` for good. The body is
/// optional: a `reason` (at most 500 characters) is kept on the timeline. For the applicant, or a
/// service account on their behalf; webhook subscribers hear of it (`cancelled`), the applicant is
/// sent no SMS or e-mail. Refused with 404 `application-not-found`, 409 `action-not-allowed` once
/// the company has started work or the application is finished, 409 `version-conflict` when it
/// changed meanwhile, and 422 `validation-failed` for a reason too long or with control characters.
#[utoipa::path(
    tag = "applications",
    operation_id = "cancel-application",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "The application number", pattern = "^(MD|AC)-[0-9]{4}-[0-9]{6,12}$", example = "MD-2026-000001")),
    request_body(content = Option<CancelApplicationRequest>, description = "Optional reason",
        example = json!({"reason": "Sayğac bərpa olundu."})),
    responses((status = 200, description = "Cancelled", body = ApplicationView,
        headers(("ETag" = String, description = "Its new version"))))
)]
#[post("/applications/{number}/cancel")]
pub async fn cancel_application(
    state: web::Data<AppState>,
    ApplicantPrincipal(principal): ApplicantPrincipal,
    path: web::Path<String>,
    OptionalJsonBody(cancel): OptionalJsonBody<CancelApplicationRequest>,
    crate::translations::Preferred(language): crate::translations::Preferred,
) -> Result<HttpResponse, ApiError> {
    let number = application_number(&path)?;
    let reason = cancel
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let invalid = |reason: &String| {
        reason.chars().count() > MAX_REASON_CHARACTERS
            || reason
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    };
    if reason.as_ref().is_some_and(invalid) {
        return Err(ApiError::validation(vec![
            crate::problem::FieldViolation::new(
                "reason",
                "invalid-reason",
                format!("at most {MAX_REASON_CHARACTERS} characters, no control characters"),
            ),
        ]));
    }
    let service = state.service.clone();
    let applicant = principal.applicant();
    let application = blocking(move || service.cancel(&applicant, &number, reason)).await?;
    Ok(with_etag(ApplicationView::new(
        &application,
        Role::Applicant,
        language,
    )))
}

/// An application with its timeline and the caller's next actions.
///
/// The application as its reader may see it: its steps, its status (with `status_label` in the
/// language of `Accept-Language`), the timeline with the SMS and e-mails each change raised and
/// where each stands, the company's work once submitted, and the `allowed_actions` of the caller.
/// An applicant (or a service account on their behalf) reads their own; an operator their
/// department's; a supervisor any submitted one; anything else, drafts included for staff, is 404
/// `application-not-found`, so that numbers reveal nothing. The `ETag` is the version staff send as
/// `If-Match` with `…/actions` and `…/assignment`; only staff see why a message failed
/// (`last_error`).
#[utoipa::path(
    tag = "applications",
    operation_id = "get-application",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "The application number", pattern = "^(MD|AC)-[0-9]{4}-[0-9]{6,12}$", example = "MD-2026-000001")),
    responses((status = 200, description = "The application", body = ApplicationView,
        headers(("ETag" = String, description = "Its version, for If-Match"))))
)]
#[get("/applications/{number}")]
pub async fn get_application(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    crate::translations::Preferred(language): crate::translations::Preferred,
) -> Result<HttpResponse, ApiError> {
    let number = application_number(&path)?;
    let (found, role) = match caller {
        Caller::Applicant(principal) => (
            awaited(state.reads.own(&principal.applicant(), &number)).await?,
            Role::Applicant,
        ),
        Caller::Staff(staff) => (
            awaited(state.reads.for_staff(&staff, &number)).await?,
            staff.role,
        ),
    };
    let mut view = ApplicationView::new(&found.application, role, language);
    view.attach_notifications(&found.application, &found.messages, role);
    Ok(with_etag(view))
}

/// Filters and page of "My applications". Paging is by opaque cursor: pass the previous page's
/// `next_cursor` as `cursor`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListApplicationsQuery {
    /// Only applications in this status.
    pub status: Option<Status>,
    /// Only applications of this kind.
    pub kind: Option<ApplicationKind>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 64, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

const DEFAULT_PAGE_SIZE: u32 = 20;
const MAX_PAGE_SIZE: u32 = 100;
const CURSOR_PREFIX: &str = "after:";

fn encode_cursor(after: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{after}"))
}

fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.strip_prefix(CURSOR_PREFIX)
                .and_then(|n| n.parse().ok())
        })
        .ok_or_else(|| {
            ApiError::at_field(
                ErrorCode::InvalidQueryParameter,
                "cursor",
                "not a cursor this service gave out",
            )
        })
}

/// "My applications": the applicant's applications, newest first.
///
/// The portal's "Müraciətlərim": the applications made in the capacity of the token (as a person,
/// or for the business of its `tin`), drafts included, newest first, each with its status and
/// `status_label`, and the `total` that match. Filter by `status` and `kind`; pages by opaque
/// cursor: pass the previous page's `next_cursor` as `cursor` (absent on the last page), with
/// `limit` 1 to 100 (default 20). For an applicant, or a service account on behalf of one. A
/// `limit` out of range, an unknown status or kind, or a cursor this service did not give out gets
/// 400 `invalid-query-parameter`.
#[utoipa::path(
    tag = "applications",
    operation_id = "list-my-applications",
    security(("bearer" = [])),
    params(ListApplicationsQuery),
    responses((status = 200, description = "A page of applications", body = ApplicationList))
)]
#[get("/me/applications")]
pub async fn list_my_applications(
    state: web::Data<AppState>,
    ApplicantPrincipal(principal): ApplicantPrincipal,
    query: crate::query::Query<ListApplicationsQuery>,
    crate::translations::Preferred(language): crate::translations::Preferred,
) -> Result<web::Json<ApplicationList>, ApiError> {
    let query = query.into_inner();
    let limit = crate::routes::page_limit(query.limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let store_query = ApplicationQuery {
        applicant: principal.pin.clone(),
        acting_for: principal.tin.clone(),
        status: query.status.map(Into::into),
        kind: query.kind.map(Into::into),
        limit,
        after,
    };
    let page = awaited(state.reads.my_applications(&store_query)).await?;
    Ok(web::Json(ApplicationList {
        items: page
            .items
            .iter()
            .map(|a| ApplicationSummary::new(a, language))
            .collect(),
        total: page.total,
        limit,
        next_cursor: page.next_after.map(encode_cursor),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)).ok(), Some(42));
        for bad in ["", "42", "!!", &URL_SAFE_NO_PAD.encode("before:1")] {
            assert!(decode_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
