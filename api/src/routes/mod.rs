//! The HTTP operations, one file per resource.

pub mod accounts;
pub mod admin;
pub mod applications;
pub mod catalogue;
pub mod dev;
pub mod documents;
pub mod fallback;
pub mod me;
pub mod notifications;
pub mod staff;
pub mod webhooks;

use crate::config::Mode;
use crate::problem::{ApiError, ErrorCode};
use crate::responses::ApplicationView;
use actix_web::HttpResponse;
use domain::application::ApplicationNumber;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Every operation, for the server and for the OpenAPI document alike: what is served is what
/// is documented.
pub fn configure(mode: Mode) -> impl FnOnce(&mut ServiceConfig<'_>) {
    move |config| {
        config.service(catalogue::health);
        config.service(catalogue::health_live);
        config.service(catalogue::health_ready);
        config.service(catalogue::metrics);
        config.service(
            scope::scope("/api/v1")
                .service(catalogue::list_services)
                .service(catalogue::list_districts)
                .service(me::main_information)
                .service(me::subscriber_accounts)
                .service(me::head_codes)
                .service(me::metering_points)
                .service(accounts::debt)
                .service(applications::list_my_applications)
                .service(applications::create_application)
                .service(applications::update_application)
                .service(applications::submit_application)
                .service(applications::cancel_application)
                .service(applications::get_application)
                .service(notifications::set_language)
                .service(staff::inbox)
                .service(staff::inbox_counts)
                .service(staff::departments)
                .service(staff::act)
                .service(staff::assign)
                .service(notifications::list_failed)
                .service(notifications::retry)
                .service(notifications::sms_delivery_report)
                .service(webhooks::create_subscription)
                .service(webhooks::list_subscriptions)
                .service(webhooks::get_subscription)
                .service(webhooks::delete_subscription)
                .service(webhooks::list_deliveries)
                .service(webhooks::redeliver)
                .service(admin::personal_data_reads)
                .service(admin::delegated_calls)
                .service(documents::list_documents)
                .service(documents::get_document)
                .service(documents::get_document_by_link)
                .configure(move |config: &mut ServiceConfig<'_>| {
                    if mode == Mode::Development {
                        config.service(dev::create_dev_token);
                    }
                }),
        );
    }
}

/// The `{number}` of a path.
pub(crate) fn application_number(raw: &str) -> Result<ApplicationNumber, ApiError> {
    ApplicationNumber::parse(raw)
        .map_err(|e| ApiError::at_field(ErrorCode::InvalidPathParameter, "number", e.to_string()))
}

/// The `limit` query parameter of a list: `default` when absent, refused outside 1 to `max`.
pub(crate) fn page_limit(given: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = given.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::at_field(
            ErrorCode::InvalidQueryParameter,
            "limit",
            format!("limit is 1 to {max}"),
        ))
    }
}

/// A free-text query parameter (a filter): at most `max` characters and no control characters,
/// which no identifier has and PostgreSQL cannot even compare (a NUL byte fails the query).
pub(crate) fn query_text(
    given: Option<String>,
    field: &str,
    max: usize,
) -> Result<Option<String>, ApiError> {
    match given {
        Some(text) if text.chars().count() > max || text.chars().any(char::is_control) => {
            Err(ApiError::at_field(
                ErrorCode::InvalidQueryParameter,
                field,
                format!("{field} is at most {max} characters, without control characters"),
            ))
        }
        other => Ok(other),
    }
}

/// An application with its version as `ETag`.
pub(crate) fn with_etag(view: ApplicationView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("ETag", crate::etag::etag(view.version)))
        .json(view)
}
