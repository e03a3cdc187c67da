//! The company's staff: the inbox, its counts, the departments, workflow actions and
//! reassignment.

use crate::auth::StaffPrincipal;
use crate::body::JsonBody;
use crate::etag::if_match_version;
use crate::problem::{ApiError, ErrorCode};
use crate::responses::{
    ApplicationView, CorrectionView, InspectionFindingsView, InspectionVisitView,
};
use crate::routes::application_number;
use crate::routes::with_etag;
use crate::state::{AppState, blocking};
use crate::translations::Preferred;
use crate::vocabulary::{Action, ApplicationKind, Status};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use domain::district::DistrictCode;
use domain::ports::{InboxOrder, InboxQuery};
use domain::routing::DepartmentCode;
use domain::workflow::{InspectionFindings, InspectionVisit, MeterReading, RawActionData};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// How the inbox is sorted.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxSort {
    /// Oldest submission first (the default).
    #[default]
    SubmittedAt,
    /// Earliest due time first.
    DueAt,
}

/// Filters, order and page of the inbox. Pages by number (`page`, from 1) and `limit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxParams {
    pub status: Option<Status>,
    pub kind: Option<ApplicationKind>,
    /// A district code (`GET /api/v1/districts`).
    #[param(pattern = "^AZ-[A-Z]{2,3}(-[A-Z]{3})?$", example = "AZ-BA-YSM")]
    pub district: Option<String>,
    /// An operator's identifier (1 to 64 characters).
    #[param(min_length = 1, max_length = 64)]
    pub assignee: Option<String>,
    /// Submitted at or after (RFC 3339).
    pub submitted_from: Option<DateTime<Utc>>,
    /// Submitted before (RFC 3339).
    pub submitted_to: Option<DateTime<Utc>>,
    /// Only open applications past their due time.
    pub overdue: Option<bool>,
    pub sort: Option<InboxSort>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From 1, default 1.
    #[param(minimum = 1)]
    pub page: Option<u64>,
}

/// One line of the inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxItem {
    pub number: String,
    pub kind: ApplicationKind,
    pub status: Status,
    /// The status in the language of `Accept-Language` (Azerbaijani by default), for display.
    pub status_label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// Being worked on by the company and past its due time (never while with the applicant).
    pub overdue: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{"number": "MD-2026-000001", "kind": "meter-damage-investigation", "status": "submitted", "status_label": "Göndərilib", "district": "AZ-BA-YSM", "department": "BAKI-SEBEKE", "submitted_at": "2026-11-23T09:02:00Z", "due_at": "2026-12-07T20:00:00Z", "overdue": false}], "total": 1, "limit": 20, "page": 1}))]
pub struct InboxPage {
    pub items: Vec<InboxItem>,
    /// All applications matching the filters.
    pub total: u64,
    pub limit: u32,
    pub page: u64,
}

const DEFAULT_PAGE_SIZE: u32 = 20;
const MAX_PAGE_SIZE: u32 = 100;

/// The inbox: the submitted applications the caller's department works.
///
/// For the company's staff: an operator sees the applications routed to their department, a
/// supervisor all of them; drafts never appear. Filters `status`, `kind`, `district`, `assignee`,
/// `submitted_from`/`submitted_to` and `overdue` (open applications with the company past their due
/// time); sorted by submission, oldest first (`sort=submitted_at`, the default), or by due time
/// (`sort=due_at`); paged by `page` (from 1) and `limit` (1 to 100, default 20), with the `total`
/// that match. A malformed or out-of-range parameter gets 400 `invalid-query-parameter`;
/// applicants, administrators and service accounts get 403 `forbidden-role`, an operator's token
/// without a department 403 `no-department`.
#[utoipa::path(
    tag = "back-office",
    operation_id = "list-inbox",
    security(("bearer" = [])),
    params(InboxParams),
    responses((status = 200, description = "A page of the inbox", body = InboxPage))
)]
#[get("/inbox")]
pub async fn inbox(
    state: web::Data<AppState>,
    StaffPrincipal(staff): StaffPrincipal,
    params: crate::query::Query<InboxParams>,
    Preferred(language): Preferred,
) -> Result<web::Json<InboxPage>, ApiError> {
    let params = params.into_inner();
    let limit = crate::routes::page_limit(params.limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let page = params.page.unwrap_or(1);
    // The contract's `page` is an int64, and the page is given back: beyond it, no page.
    if page == 0 || page > i64::MAX.unsigned_abs() {
        return Err(ApiError::at_field(
            ErrorCode::InvalidQueryParameter,
            "page",
            "pages count from 1 (to 2^63 - 1)",
        ));
    }
    let district = params
        .district
        .as_deref()
        .map(DistrictCode::parse)
        .transpose()
        .map_err(|e| {
            ApiError::at_field(ErrorCode::InvalidQueryParameter, "district", e.to_string())
        })?;
    let assignee = params.assignee.map(|a| a.trim().to_owned());
    if assignee
        .as_ref()
        .is_some_and(|a| !crate::auth::is_identifier(a))
    {
        return Err(ApiError::at_field(
            ErrorCode::InvalidQueryParameter,
            "assignee",
            "an operator's identifier is 1 to 64 characters",
        ));
    }
    let now = state.clock.now();
    let query = InboxQuery {
        department: None,
        status: params.status.map(Into::into),
        kind: params.kind.map(Into::into),
        district,
        assignee,
        submitted_from: params.submitted_from,
        submitted_to: params.submitted_to,
        overdue_at: params.overdue.unwrap_or(false).then_some(now),
        order: match params.sort.unwrap_or_default() {
            InboxSort::SubmittedAt => InboxOrder::SubmittedAt,
            InboxSort::DueAt => InboxOrder::DueAt,
        },
        limit,
        offset: (page - 1).saturating_mul(u64::from(limit)),
    };
    let back_office = state.back_office.clone();
    let result = blocking(move || back_office.inbox(&staff, query)).await?;
    Ok(web::Json(InboxPage {
        items: result
            .items
            .iter()
            .map(|a| InboxItem {
                number: a.number.to_string(),
                kind: a.kind.into(),
                status: a.status.into(),
                status_label: crate::translations::status_label(a.status, language).to_owned(),
                district: a.district.map(|d| d.to_string()),
                department: a.department.as_ref().map(ToString::to_string),
                assignee: a.assignee.clone(),
                submitted_at: a.submitted_at,
                due_at: a.due_at,
                overdue: a.status.is_with_company() && a.due_at.is_some_and(|due| due < now),
            })
            .collect(),
        total: result.total,
        limit,
        page,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "submitted", "status_label": "Göndərilib", "count": 12}))]
pub struct StatusCount {
    pub status: Status,
    /// The status in the language of `Accept-Language` (Azerbaijani by default), for display.
    pub status_label: String,
    pub count: u64,
}

/// How many applications of the caller's inbox are in each status.
///
/// For the staff's overview: the counts per status of the applications an operator's department
/// works (a supervisor's: all), each with its `status_label` in the language of `Accept-Language`.
/// Drafts are not counted: they are not the company's yet. Applicants, administrators and service
/// accounts get 403 `forbidden-role`; an operator's token without a department 403 `no-department`.
#[utoipa::path(
    tag = "back-office",
    operation_id = "count-inbox",
    security(("bearer" = [])),
    responses((status = 200, description = "Counts per status (drafts are not the company's)", body = [StatusCount]))
)]
#[get("/inbox/counts")]
pub async fn inbox_counts(
    state: web::Data<AppState>,
    StaffPrincipal(staff): StaffPrincipal,
    Preferred(language): Preferred,
) -> Result<web::Json<Vec<StatusCount>>, ApiError> {
    let back_office = state.back_office.clone();
    let counts = blocking(move || back_office.counts(&staff)).await?;
    Ok(web::Json(
        counts
            .into_iter()
            .map(|(status, count)| StatusCount {
                status: status.into(),
                status_label: crate::translations::status_label(status, language).to_owned(),
                count,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "BAKI-SEBEKE", "name": "Bakı Elektrik Şəbəkəsi — sayğacların yoxlanılması şöbəsi", "kind": "meter-damage-investigation", "districts": ["AZ-BA-YSM"]}))]
pub struct DepartmentView {
    pub code: String,
    pub name: String,
    pub kind: ApplicationKind,
    pub districts: Vec<String>,
}

/// The departments and the districts each serves.
///
/// For the company's staff (operators and supervisors), to read the routing and to choose where to
/// reassign an application (`POST /api/v1/applications/{number}/assignment`): each department works
/// one kind of application and receives the submitted applications of its districts. It only reads.
/// Applicants, administrators and service accounts get 403 `forbidden-role`; an operator's token
/// without a department 403 `no-department`.
#[utoipa::path(
    tag = "back-office",
    operation_id = "list-departments",
    security(("bearer" = [])),
    responses((status = 200, description = "The departments", body = [DepartmentView]))
)]
#[get("/departments")]
pub async fn departments(
    state: web::Data<AppState>,
    _staff: StaffPrincipal,
) -> Result<web::Json<Vec<DepartmentView>>, ApiError> {
    let back_office = state.back_office.clone();
    let departments = blocking(move || back_office.departments()).await?;
    Ok(web::Json(
        departments
            .into_iter()
            .map(|d| DepartmentView {
                code: d.code.to_string(),
                name: d.name,
                kind: d.kind.into(),
                districts: d.districts.iter().map(ToString::to_string).collect(),
            })
            .collect(),
    ))
}

/// A workflow action with its data. Which data an action needs: `schedule-inspection` a
/// `visit` (a working day within 90 days, 08:00 to 20:00 Baku time); `record-inspection` the
/// `findings`; `complete` a `result`; `reject` a `reason`; `return-for-correction` a
/// `correction`. `accept`, `start-review` and `approve` need none. (`assign` is taken with
/// `POST …/assignment`; the applicant's `cancel` and `resubmit` with `…/cancel` and `…/submit`.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "schedule-inspection", "visit": {"date": "2026-11-26", "from": "10:00:00", "to": "13:00:00"}, "comment": "Abunəçi ilə razılaşdırıldı."}))]
pub struct ActionRequest {
    pub action: Action,
    /// Shown on the timeline; at most 2000 characters. Free texts (`comment`, `result`,
    /// `reason`, `correction.request`) take no control characters but line breaks and tabs, and
    /// lose white space at either end.
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    pub visit: Option<InspectionVisitView>,
    pub findings: Option<InspectionFindingsView>,
    /// The result of a meter damage investigation.
    #[schema(max_length = 2000)]
    pub result: Option<String>,
    /// Why the application is rejected.
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
    pub correction: Option<CorrectionView>,
}

/// Takes a workflow action on an application.
///
/// The back office's work: `accept`, `schedule-inspection`, `record-inspection`, `complete` (meter
/// damage), `start-review`, `approve` (account change), `reject` and `return-for-correction`
/// (both), each with the data it needs (see the body), by an operator of the application's
/// department or a supervisor, on the version read: send its `ETag` as `If-Match` (428
/// `precondition-required` without it, 412 `precondition-failed` when it changed since). Each
/// action adds a timeline entry and, in the same transaction, queues the applicant's SMS and
/// e-mails and the webhook calls of its event; `accept` and `start-review` make the caller the
/// assignee when there is none. Approving an account change changes the subscriber account and
/// makes the confirmation PDF, completing an investigation makes the result PDF, and a
/// `documents-ready` SMS carries its signed link. Refused with 404 `application-not-found` (not the
/// caller's department), 409 `action-not-allowed` in a status without that action, 400
/// `invalid-body` for `assign` (use `…/assignment`), and 422 `validation-failed` for missing or
/// invalid action data.
#[utoipa::path(
    tag = "back-office",
    operation_id = "act-on-application",
    security(("bearer" = [])),
    params(
        ("number" = String, Path, description = "The application number", pattern = "^(MD|AC)-[0-9]{4}-[0-9]{6,12}$", example = "MD-2026-000001"),
        ("If-Match" = String, Header, description = "The ETag of the application as read", example = "\"v2\"", max_length = 24, pattern = "^\"v[0-9]+\"$")
    ),
    request_body = ActionRequest,
    responses((status = 200, description = "The application after the action, with its new ETag", body = ApplicationView,
        headers(("ETag" = String, description = "The new version"))))
)]
#[post("/applications/{number}/actions")]
pub async fn act(
    state: web::Data<AppState>,
    StaffPrincipal(staff): StaffPrincipal,
    path: web::Path<String>,
    request: HttpRequest,
    JsonBody(body): JsonBody<ActionRequest>,
    crate::translations::Preferred(language): crate::translations::Preferred,
) -> Result<HttpResponse, ApiError> {
    let number = application_number(&path)?;
    let seen_version = if_match_version(&request)?;
    let data = RawActionData {
        visit: body.visit.map(|v| InspectionVisit {
            date: v.date,
            from: v.from,
            to: v.to,
        }),
        findings: body.findings.map(|f| InspectionFindings {
            damage_found: f.damage_found,
            cause: f.cause.map(Into::into),
            act_number: f.act_number,
            readings: f
                .readings
                .into_iter()
                .map(|r| MeterReading {
                    register: r.register,
                    value_kwh: r.value_kwh,
                })
                .collect(),
        }),
        result: body.result,
        reason: body.reason,
        correction_steps: body
            .correction
            .as_ref()
            .map(|c| c.steps.iter().copied().map(Into::into).collect()),
        correction_request: body.correction.map(|c| c.request),
    };
    let back_office = state.back_office.clone();
    let role = staff.role;
    let action = body.action.into();
    let comment = body.comment;
    let application = blocking(move || {
        back_office.act(
            &staff,
            &number,
            seen_version,
            action,
            data,
            comment.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(ApplicationView::new(
        &application,
        role,
        language,
    )))
}

/// Who works the application next: a department (the same or another) and, optionally, one of its
/// operators.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"department": "SUMQAYIT-SEBEKE", "assignee": "operator-7", "comment": "Ünvan Sumqayıtdadır."}))]
pub struct AssignmentRequest {
    /// A department code of the application's kind.
    #[schema(max_length = 64, example = "SUMQAYIT-SEBEKE")]
    pub department: String,
    /// An operator's identifier (1 to 64 characters).
    #[schema(max_length = 64)]
    pub assignee: Option<String>,
    /// Shown on the timeline after "assigned to {department}: "; at most 2000 characters.
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// Reassigns an application to a department and, optionally, one of its operators.
///
/// For supervisors alone (operators get 403 `forbidden-role`): gives an open application to a
/// department of its kind, the same or another, and optionally to one of its operators; moving it
/// to another department clears the operator unless one is named. The status stays; the timeline
/// records "assigned to {department}" with the comment, and nobody is notified. As with actions,
/// send the `ETag` read as `If-Match` (428 `precondition-required`, 412 `precondition-failed`).
/// Refused with 404 `application-not-found`, 409 `action-not-allowed` when the application is not
/// open, 422 `unknown-department` when no such department works its kind, and 422
/// `validation-failed` for a malformed department code or assignee.
#[utoipa::path(
    tag = "back-office",
    operation_id = "assign-application",
    security(("bearer" = [])),
    params(
        ("number" = String, Path, description = "The application number", pattern = "^(MD|AC)-[0-9]{4}-[0-9]{6,12}$", example = "MD-2026-000001"),
        ("If-Match" = String, Header, description = "The ETag of the application as read", example = "\"v2\"", max_length = 24, pattern = "^\"v[0-9]+\"$")
    ),
    request_body = AssignmentRequest,
    responses((status = 200, description = "The application reassigned, with its new ETag", body = ApplicationView,
        headers(("ETag" = String, description = "The new version"))))
)]
#[post("/applications/{number}/assignment")]
pub async fn assign(
    state: web::Data<AppState>,
    StaffPrincipal(staff): StaffPrincipal,
    path: web::Path<String>,
    request: HttpRequest,
    JsonBody(body): JsonBody<AssignmentRequest>,
    crate::translations::Preferred(language): crate::translations::Preferred,
) -> Result<HttpResponse, ApiError> {
    let number = application_number(&path)?;
    let seen_version = if_match_version(&request)?;
    let department = DepartmentCode::parse(&body.department).map_err(|e| {
        ApiError::validation(vec![crate::problem::FieldViolation::new(
            "department",
            "invalid-department",
            e.to_string(),
        )])
    })?;
    let assignee = body.assignee.map(|a| a.trim().to_owned());
    if assignee
        .as_ref()
        .is_some_and(|a| !crate::auth::is_identifier(a))
    {
        return Err(ApiError::validation(vec![
            crate::problem::FieldViolation::new(
                "assignee",
                "invalid-assignee",
                "an operator's identifier is 1 to 64 characters",
            ),
        ]));
    }
    let back_office = state.back_office.clone();
    let role = staff.role;
    let comment = body.comment;
    let application = blocking(move || {
        back_office.assign(
            &staff,
            &number,
            seen_version,
            department,
            assignee,
            comment.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(ApplicationView::new(
        &application,
        role,
        language,
    )))
}
