//! Documents of an application: the list, a document with a token, and a document by a signed
//! link (no token: what an SMS carries).

use crate::auth::Caller;
use crate::problem::{ApiError, ErrorCode};
use crate::routes::application_number;
use crate::state::{AppState, blocking};
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use domain::application::ApplicationNumber;
use domain::documents::DocumentInfo;
use notifications::document_links::LinkRefused;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A PDF file, as bytes (not JSON).
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfFile(pub Vec<u8>);

/// A document of an application.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "kind": "account-change-confirmation", "file_name": "AC-2026-000001-confirmation.pdf",
    "content_type": "application/pdf", "size": 23145, "created_at": "2026-11-25T10:00:00Z",
    "url": "/api/v1/applications/AC-2026-000001/documents/1",
    "signed_url": "/api/v1/document-links/AC-2026-000001/1?expires=1795000000&signature=3f1c…",
    "signed_url_expires_at": "2026-11-28T10:00:00Z"
}))]
pub struct DocumentView {
    pub id: i64,
    /// `account-change-confirmation` or `inspection-result`.
    pub kind: String,
    pub file_name: String,
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    pub created_at: DateTime<Utc>,
    /// With a bearer token.
    pub url: String,
    /// Without a token, until `signed_url_expires_at`: for SMS.
    pub signed_url: String,
    pub signed_url_expires_at: DateTime<Utc>,
}

fn view(state: &AppState, number: &ApplicationNumber, info: DocumentInfo) -> DocumentView {
    let (signed_url, signed_url_expires_at) = state
        .document_links
        // Links live in real time, whatever clock the applications run on.
        .link(number.as_str(), info.id, Utc::now());
    DocumentView {
        id: info.id,
        kind: info.kind.as_str().to_owned(),
        url: format!("/api/v1/applications/{number}/documents/{}", info.id),
        file_name: info.file_name,
        content_type: info.content_type,
        size: info.size,
        created_at: info.created_at,
        signed_url,
        signed_url_expires_at,
    }
}

fn file(info: &DocumentInfo, content: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(info.content_type.clone())
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"{}\"", info.file_name),
        ))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(content)
}

/// The documents of an application.
///
/// The PDFs an application produced: the confirmation of an approved account change, the result of
/// a completed meter damage investigation (none before), oldest first. Each is listed with its
/// `url` (with a bearer token) and a fresh `signed_url` that works without a token until
/// `signed_url_expires_at` (`DOCUMENT_LINK_HOURS`, 72 by default), the link a `documents-ready` SMS
/// carries. For the applicant (or a service account on their behalf), an operator of the
/// application's department or a supervisor; for anyone else 404 `application-not-found`.
#[utoipa::path(
    tag = "documents",
    operation_id = "list-documents",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "The application number", pattern = "^(MD|AC)-[0-9]{4}-[0-9]{6,12}$", example = "AC-2026-000001")),
    responses((status = 200, description = "The documents, oldest first", body = [DocumentView]))
)]
#[get("/applications/{number}/documents")]
pub async fn list_documents(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<Vec<DocumentView>>, ApiError> {
    let number = application_number(&path)?;
    let lookup = number.clone();
    let documents = match caller {
        Caller::Applicant(principal) => {
            let service = state.service.clone();
            blocking(move || service.documents(&principal.applicant(), &lookup)).await?
        }
        Caller::Staff(staff) => {
            let back_office = state.back_office.clone();
            blocking(move || back_office.documents(&staff, &lookup)).await?
        }
    };
    Ok(web::Json(
        documents
            .into_iter()
            .map(|info| view(&state, &number, info))
            .collect(),
    ))
}

/// One document of an application, as a PDF file.
///
/// The document's bytes (`application/pdf`), to be shown inline with its file name
/// (`Content-Disposition`) and never cached. For the same callers as the list: the applicant (or a
/// service account on their behalf), an operator of the application's department, a supervisor.
/// Refused with 404 `application-not-found` when the caller may not see the application and 404
/// `document-not-found` when it has no document with this id.
#[utoipa::path(
    tag = "documents",
    operation_id = "get-document",
    security(("bearer" = [])),
    params(
        ("number" = String, Path, description = "The application number", pattern = "^(MD|AC)-[0-9]{4}-[0-9]{6,12}$", example = "AC-2026-000001"),
        ("id" = i64, Path, minimum = 1, description = "The document's id", example = 1)
    ),
    responses((status = 200, description = "The document", content_type = "application/pdf", body = PdfFile))
)]
#[get("/applications/{number}/documents/{id}")]
pub async fn get_document(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (number, id) = path.into_inner();
    let number = application_number(&number)?;
    let id = parse_id(&id)?;
    let (info, content) = match caller {
        Caller::Applicant(principal) => {
            let service = state.service.clone();
            blocking(move || service.document(&principal.applicant(), &number, id)).await?
        }
        Caller::Staff(staff) => {
            let back_office = state.back_office.clone();
            blocking(move || back_office.document(&staff, &number, id)).await?
        }
    };
    Ok(file(&info, content))
}

fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::at_field(
            ErrorCode::InvalidPathParameter,
            "id",
            "a document id is a positive number",
        )
    })
}

/// The signature of a document link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkParams {
    /// Unix time the link expires at.
    #[param(value_type = i64)]
    pub expires: Option<String>,
    /// Hex HMAC-SHA256 of the application number, document id and expiry.
    #[param(value_type = String, min_length = 64, max_length = 64, pattern = "^[0-9a-fA-F]+$")]
    pub signature: Option<String>,
}

/// A document by its signed link, without a token.
///
/// What the `documents-ready` SMS and the list's `signed_url` carry, for whoever holds the link:
/// its signature (HMAC-SHA256 of the application number, the document id and the expiry) stands for
/// the applicant's permission. An altered or malformed link gets 403 `link-invalid`, an expired one
/// 403 `link-expired` (the documents list gives fresh links), and a document that does not exist
/// 404 `document-not-found`. The file is served as by `GET
/// /api/v1/applications/{number}/documents/{id}`.
#[utoipa::path(
    tag = "documents",
    operation_id = "get-document-by-link",
    params(
        ("number" = String, Path, description = "The application number", pattern = "^(MD|AC)-[0-9]{4}-[0-9]{6,12}$", example = "AC-2026-000001"),
        ("id" = i64, Path, minimum = 1, description = "The document's id", example = 1),
        LinkParams
    ),
    responses((status = 200, description = "The document", content_type = "application/pdf", body = PdfFile))
)]
#[get("/document-links/{number}/{id}")]
pub async fn get_document_by_link(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    params: Result<web::Query<LinkParams>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (number, id) = path.into_inner();
    // Whatever is wrong with a link, it is "not valid": it was not made as it stands. That holds
    // for a query that does not parse too (a repeated `expires`, say), which is no 400.
    let invalid = || ApiError::new(ErrorCode::LinkInvalid, "the link is not valid");
    let params = params.map_err(|_| invalid())?;
    let id = parse_id(&id).map_err(|_| invalid())?;
    let expires = params
        .expires
        .as_deref()
        .and_then(|e| e.parse::<i64>().ok())
        .ok_or_else(invalid)?;
    let signature = params.signature.as_deref().ok_or_else(invalid)?;
    state
        .document_links
        .verify(&number, id, expires, signature, Utc::now())
        .map_err(|refused| match refused {
            LinkRefused::Invalid => invalid(),
            LinkRefused::Expired => ApiError::new(
                ErrorCode::LinkExpired,
                "the link has expired; ask for a new one on the portal",
            ),
        })?;
    let number = application_number(&number)?;
    let service = state.service.clone();
    let (info, content) = blocking(move || service.document_by_link(&number, id)).await?;
    Ok(file(&info, content))
}
