//! Every error the API gives is an RFC 9457 problem (`application/problem+json`) with a stable
//! machine `code`. This file is the one catalogue of those codes and of how domain errors map to
//! them. Policy: a refusal the applicant can act on is 4xx with the field at fault; an outside
//! system that does not answer is 503 with `Retry-After` and a code naming the system; 500 is a
//! bug, never an answer to input.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use domain::account_change::AccountChangeRefusal;
use domain::meter_damage::MeterDamageRefusal;
use domain::money::Qapik;
use domain::ports::Unavailable;
use domain::service::ServiceError;
use domain::status::TransitionError;
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
const TYPE_PREFIX: &str = "urn:azerisiq:eservices:problem:";
/// Seconds a client should wait before retrying when a system is unavailable.
const RETRY_AFTER_SECONDS: u32 = 5;

macro_rules! error_codes {
    ($($variant:ident => ($code:literal, $status:ident, $title:literal),)*) => {
        /// The stable machine codes of problems.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant,)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The code written as `code`, if there is one.
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status,)* }
            }

            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)* }
            }
        }
    };
}

error_codes! {
    MalformedJson => ("malformed-json", BAD_REQUEST, "The request body is not valid JSON"),
    UnknownField => ("unknown-field", BAD_REQUEST, "The request body has a field this operation does not know"),
    InvalidBody => ("invalid-body", BAD_REQUEST, "The request body does not have the expected shape"),
    InvalidPathParameter => ("invalid-path-parameter", BAD_REQUEST, "A path parameter is not valid"),
    InvalidQueryParameter => ("invalid-query-parameter", BAD_REQUEST, "A query parameter is not valid"),
    InvalidIdempotencyKey => ("invalid-idempotency-key", BAD_REQUEST, "The Idempotency-Key header is not valid"),
    Unauthenticated => ("unauthenticated", UNAUTHORIZED, "A valid bearer token is required"),
    ForbiddenRole => ("forbidden-role", FORBIDDEN, "Your role may not use this operation"),
    InsufficientScope => ("insufficient-scope", FORBIDDEN, "The service account's token lacks the scope this operation needs"),
    InvalidOnBehalfOf => ("invalid-on-behalf-of", BAD_REQUEST, "A service account must name the applicant it acts for"),
    BusinessRequired => ("business-required", FORBIDDEN, "Sign in for a business (with its VÖEN) to use this operation"),
    NotARepresentative => ("not-a-representative", FORBIDDEN, "You are not a representative of this business"),
    NoDepartment => ("no-department", FORBIDDEN, "An operator's token must name the department"),
    LinkInvalid => ("link-invalid", FORBIDDEN, "The document link is not valid"),
    LinkExpired => ("link-expired", FORBIDDEN, "The document link has expired"),
    RouteNotFound => ("route-not-found", NOT_FOUND, "No such operation"),
    ApplicationNotFound => ("application-not-found", NOT_FOUND, "No such application"),
    DocumentNotFound => ("document-not-found", NOT_FOUND, "No such document"),
    MessageNotFound => ("message-not-found", NOT_FOUND, "No such message"),
    WebhookSubscriptionNotFound => ("webhook-subscription-not-found", NOT_FOUND, "No such webhook subscription"),
    MessageNotFailed => ("message-not-failed", CONFLICT, "Only a failed message can be retried"),
    DeliveryInProgress => ("delivery-in-progress", CONFLICT, "The delivery is queued or being sent"),
    PersonNotInRegistry => ("person-not-in-registry", NOT_FOUND, "The citizen registry has no person with your PIN"),
    SubscriberCodeNotFound => ("subscriber-code-not-found", NOT_FOUND, "No such subscriber code"),
    HeadCodeNotFound => ("head-code-not-found", NOT_FOUND, "No such head code among your business's contracts"),
    MethodNotAllowed => ("method-not-allowed", METHOD_NOT_ALLOWED, "This method is not allowed here"),
    OpenApplicationExists => ("open-application-exists", CONFLICT, "An application for this target is already open"),
    ActionNotAllowed => ("action-not-allowed", CONFLICT, "This action is not possible in the application's current status"),
    ApplicationNotEditable => ("application-not-editable", CONFLICT, "The application can no longer be changed"),
    VersionConflict => ("version-conflict", CONFLICT, "The application was changed meanwhile"),
    IdempotencyRequestInProgress => ("idempotency-request-in-progress", CONFLICT, "A request with this Idempotency-Key is still being carried out"),
    IdempotencyRequestInterrupted => ("idempotency-request-interrupted", CONFLICT, "The request with this Idempotency-Key was carried out, but its answer was lost"),
    PreconditionFailed => ("precondition-failed", PRECONDITION_FAILED, "The application has changed since you read it"),
    PayloadTooLarge => ("payload-too-large", PAYLOAD_TOO_LARGE, "The request body is too large"),
    UnsupportedMediaType => ("unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "The request body must be application/json"),
    IdempotencyKeyReused => ("idempotency-key-reused", UNPROCESSABLE_ENTITY, "The Idempotency-Key was used for a different request"),
    ValidationFailed => ("validation-failed", UNPROCESSABLE_ENTITY, "Some fields are not valid"),
    StepNotForKind => ("step-not-for-kind", UNPROCESSABLE_ENTITY, "A step does not belong to this kind of application"),
    ApplicationIncomplete => ("application-incomplete", UNPROCESSABLE_ENTITY, "Steps are missing before the application can be submitted"),
    SubscriberCodeUnknown => ("subscriber-code-unknown", UNPROCESSABLE_ENTITY, "The subscriber code is not a residential account known to billing"),
    SubscriberCodeNotYours => ("subscriber-code-not-yours", UNPROCESSABLE_ENTITY, "The subscriber code is not your account"),
    HeadCodeNotYours => ("head-code-not-yours", UNPROCESSABLE_ENTITY, "The head code is not a contract of your business"),
    MeteringPointNotUnderHeadCode => ("metering-point-not-under-head-code", UNPROCESSABLE_ENTITY, "The metering point is not under the chosen head code"),
    AccountAlreadyYours => ("account-already-yours", UNPROCESSABLE_ENTITY, "The account is already in your name"),
    NameUnchanged => ("name-unchanged", UNPROCESSABLE_ENTITY, "Your name has not changed"),
    DebtOutstanding => ("debt-outstanding", UNPROCESSABLE_ENTITY, "The account has an unpaid debt"),
    PropertyNotFound => ("property-not-found", UNPROCESSABLE_ENTITY, "The property register has no such property"),
    NotPropertyOwner => ("not-property-owner", UNPROCESSABLE_ENTITY, "You are not an owner of this property"),
    PropertyTypeMismatch => ("property-type-mismatch", UNPROCESSABLE_ENTITY, "The property type differs from the register's"),
    AccountNotAtProperty => ("account-not-at-property", UNPROCESSABLE_ENTITY, "The account is not at this property"),
    UnknownDepartment => ("unknown-department", UNPROCESSABLE_ENTITY, "No such department works this kind of application"),
    StepNotRequested => ("step-not-requested", UNPROCESSABLE_ENTITY, "This step was not asked to be corrected"),
    PreconditionRequired => ("precondition-required", PRECONDITION_REQUIRED, "Send If-Match with the ETag of the application you read"),
    TooManyRequests => ("too-many-requests", TOO_MANY_REQUESTS, "Too many requests; slow down"),
    RequestTimeout => ("request-timeout", SERVICE_UNAVAILABLE, "The request took too long; try again shortly"),
    DatabaseUnavailable => ("database-unavailable", SERVICE_UNAVAILABLE, "The database is unavailable; try again shortly"),
    CitizenRegistryUnavailable => ("citizen-registry-unavailable", SERVICE_UNAVAILABLE, "The citizen registry is unavailable; try again shortly"),
    BillingUnavailable => ("billing-unavailable", SERVICE_UNAVAILABLE, "The billing system is unavailable; try again shortly"),
    PropertyRegistryUnavailable => ("property-registry-unavailable", SERVICE_UNAVAILABLE, "The property registry is unavailable; try again shortly"),
    IdentityProviderUnavailable => ("identity-provider-unavailable", SERVICE_UNAVAILABLE, "The identity provider's keys cannot be read; try again shortly"),
    Internal => ("internal-error", INTERNAL_SERVER_ERROR, "Something went wrong on our side"),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"field": "contact.mobile_numbers[0]", "code": "invalid-mobile-number", "message": "a mobile number has 9 digits after +994 (or 10 starting with 0), like 050 123 45 67"}))]
pub struct FieldViolation {
    /// Where in the request: a JSON path like `contact.mobile_numbers[0]`, or a parameter name.
    pub field: String,
    /// A stable code for the kind of fault.
    pub code: String,
    pub message: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// The unpaid debt that refused an account change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DebtDetails {
    /// In qəpik (1 AZN = 100 qəpik).
    pub amount_qapik: i64,
    /// Always `AZN`.
    pub currency: String,
    pub as_of: DateTime<Utc>,
}

/// An RFC 9457 problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:azerisiq:eservices:problem:debt-outstanding",
    "title": "The account has an unpaid debt",
    "status": 422,
    "detail": "the account has an unpaid debt of 4523.70 AZN; pay it before applying",
    "code": "debt-outstanding",
    "errors": [{"field": "account.subscriber_code", "code": "debt-outstanding", "message": "the account has an unpaid debt of 4523.70 AZN; pay it before applying"}],
    "debt": {"amount_qapik": 452370, "currency": "AZN", "as_of": "2026-11-01T00:00:00Z"}
}))]
pub struct Problem {
    /// `urn:azerisiq:eservices:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The stable machine code; see the list in the API description.
    pub code: String,
    /// The fields at fault, for validation and step refusals.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldViolation>,
    /// With `open-application-exists`: the number of the caller's own open application (absent
    /// when the open one is another person's, whose number is not revealed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_application: Option<String>,
    /// With `debt-outstanding`: the debt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debt: Option<DebtDetails>,
    /// With `application-incomplete`: the steps still missing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_steps: Vec<String>,
}

/// An error on its way to becoming a problem response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    /// For 429 and 503: when to try again; 503s without one say 5 seconds.
    pub retry_after_seconds: Option<u64>,
    /// Boxed: errors travel in `Result`s on every path, and should stay small there.
    pub problem: Box<Problem>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            retry_after_seconds: None,
            problem: Box::new(Problem {
                problem_type: format!("{TYPE_PREFIX}{}", code.as_str()),
                title: code.title().to_owned(),
                status: code.status().as_u16(),
                detail: detail.into(),
                code: code.as_str().to_owned(),
                errors: Vec::new(),
                open_application: None,
                debt: None,
                missing_steps: Vec::new(),
            }),
        }
    }

    /// A refusal of one field, with the field named.
    pub fn at_field(code: ErrorCode, field: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut error = Self::new(code, detail.clone());
        error
            .problem
            .errors
            .push(FieldViolation::new(field, code.as_str(), detail));
        error
    }

    pub fn validation(errors: Vec<FieldViolation>) -> Self {
        let detail = match errors.as_slice() {
            [only] => format!("{}: {}", only.field, only.message),
            _ => format!("{} fields are not valid", errors.len()),
        };
        let mut error = Self::new(ErrorCode::ValidationFailed, detail);
        error.problem.errors = errors;
        error
    }

    pub fn unavailable(unavailable: &Unavailable) -> Self {
        if unavailable.system == Unavailable::STORED_DATA {
            tracing::error!(reason = %unavailable.reason, "stored data is inconsistent");
            return Self::new(
                ErrorCode::Internal,
                "the request could not be completed; it has been logged",
            );
        }
        let code = match unavailable.system {
            "citizen-registry" => ErrorCode::CitizenRegistryUnavailable,
            "billing" => ErrorCode::BillingUnavailable,
            "property-registry" => ErrorCode::PropertyRegistryUnavailable,
            _ => ErrorCode::DatabaseUnavailable,
        };
        // The reason may hold internals (SQL, hosts); it goes to the log, not to the client.
        tracing::warn!(system = unavailable.system, reason = %unavailable.reason, "outside system unavailable");
        Self::new(code, code.title())
    }

    /// The same error, telling the client when to try again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds.max(1));
        self
    }

    pub fn internal(context: &str) -> Self {
        tracing::error!(context, "internal error");
        Self::new(
            ErrorCode::Internal,
            "the request could not be completed; it has been logged",
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.problem.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.code.status());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        ));
        match self.retry_after_seconds {
            Some(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            None if self.code.status() == StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
            }
            None => {}
        }
        if self.code == ErrorCode::Unauthenticated {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.json(&self.problem)
    }
}

fn meter_damage_refusal(refusal: &MeterDamageRefusal) -> ApiError {
    let (code, field) = match refusal {
        MeterDamageRefusal::SubscriberCodeNotYours(_) => (
            ErrorCode::SubscriberCodeNotYours,
            "subscriber.subscriber_code",
        ),
        MeterDamageRefusal::BusinessRequired => {
            (ErrorCode::BusinessRequired, "subscriber.head_code")
        }
        MeterDamageRefusal::HeadCodeNotYours(_) => {
            (ErrorCode::HeadCodeNotYours, "subscriber.head_code")
        }
        MeterDamageRefusal::MeteringPointNotUnderHeadCode { .. } => (
            ErrorCode::MeteringPointNotUnderHeadCode,
            "subscriber.metering_point",
        ),
    };
    ApiError::at_field(code, field, refusal.to_string())
}

fn account_change_refusal(refusal: &AccountChangeRefusal) -> ApiError {
    let (code, field) = match refusal {
        AccountChangeRefusal::SubscriberCodeUnknown(_) => {
            (ErrorCode::SubscriberCodeUnknown, "account.subscriber_code")
        }
        AccountChangeRefusal::SubscriberCodeNotYours(_) => {
            (ErrorCode::SubscriberCodeNotYours, "account.subscriber_code")
        }
        AccountChangeRefusal::AccountAlreadyYours(_) => {
            (ErrorCode::AccountAlreadyYours, "account.subscriber_code")
        }
        AccountChangeRefusal::NameUnchanged => (ErrorCode::NameUnchanged, "account.variant"),
        AccountChangeRefusal::DebtOutstanding { .. } => {
            (ErrorCode::DebtOutstanding, "account.subscriber_code")
        }
        AccountChangeRefusal::PropertyNotFound => (ErrorCode::PropertyNotFound, "property"),
        AccountChangeRefusal::NotPropertyOwner => (ErrorCode::NotPropertyOwner, "property"),
        AccountChangeRefusal::PropertyTypeMismatch { .. } => {
            (ErrorCode::PropertyTypeMismatch, "property.property_type")
        }
        AccountChangeRefusal::AccountNotAtProperty => {
            (ErrorCode::AccountNotAtProperty, "property.district")
        }
    };
    let mut error = ApiError::at_field(code, field, refusal.to_string());
    if let AccountChangeRefusal::DebtOutstanding { amount, as_of } = refusal {
        error.problem.debt = Some(debt_details(*amount, *as_of));
    }
    error
}

pub fn debt_details(amount: Qapik, as_of: DateTime<Utc>) -> DebtDetails {
    DebtDetails {
        amount_qapik: amount.value(),
        currency: Qapik::CURRENCY.to_owned(),
        as_of,
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let detail = error.to_string();
        match error {
            ServiceError::ApplicationNotFound => Self::new(ErrorCode::ApplicationNotFound, detail),
            ServiceError::PersonNotInRegistry => Self::new(ErrorCode::PersonNotInRegistry, detail),
            ServiceError::BusinessRequired => Self::new(ErrorCode::BusinessRequired, detail),
            ServiceError::NotARepresentative(_) => Self::new(ErrorCode::NotARepresentative, detail),
            ServiceError::HeadCodeNotYours(_) => Self::new(ErrorCode::HeadCodeNotFound, detail),
            ServiceError::SubscriberCodeUnknown(_) => {
                Self::new(ErrorCode::SubscriberCodeNotFound, detail)
            }
            ServiceError::StepNotForKind { step, .. } => {
                Self::at_field(ErrorCode::StepNotForKind, step.field(), detail)
            }
            ServiceError::NotEditable(_) => Self::new(ErrorCode::ApplicationNotEditable, detail),
            ServiceError::Incomplete(steps) => {
                let mut error = Self::new(
                    ErrorCode::ApplicationIncomplete,
                    format!(
                        "fill in these steps first: {}",
                        steps
                            .iter()
                            .map(|s| s.field())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                error.problem.errors = steps
                    .iter()
                    .map(|s| FieldViolation::new(s.field(), "required", "this step is required"))
                    .collect();
                error.problem.missing_steps = steps.iter().map(|s| s.field().to_owned()).collect();
                error
            }
            ServiceError::MeterDamage(refusal) => meter_damage_refusal(&refusal),
            ServiceError::AccountChange(refusal) => account_change_refusal(&refusal),
            ServiceError::OpenApplicationExists {
                yours: Some(number),
            } => {
                let mut error = Self::new(
                    ErrorCode::OpenApplicationExists,
                    format!(
                        "your application {number} is already open for this target; follow it instead"
                    ),
                );
                error.problem.open_application = Some(number.to_string());
                error
            }
            ServiceError::OpenApplicationExists { yours: None } => Self::new(
                ErrorCode::OpenApplicationExists,
                "another application for this target is already open; a new one can be made when it is finished",
            ),
            ServiceError::Transition(TransitionError::NotForThisRole { .. }) => {
                Self::new(ErrorCode::ForbiddenRole, detail)
            }
            ServiceError::Transition(TransitionError::NotInThisStatus { .. }) => {
                Self::new(ErrorCode::ActionNotAllowed, detail)
            }
            ServiceError::VersionConflict => Self::new(ErrorCode::VersionConflict, detail),
            ServiceError::StaleVersion => Self::new(ErrorCode::PreconditionFailed, detail),
            ServiceError::DocumentNotFound => Self::new(ErrorCode::DocumentNotFound, detail),
            ServiceError::ActionData(error) => Self::validation(vec![FieldViolation::new(
                error.field,
                "invalid-action-data",
                error.problem.to_string(),
            )]),
            ServiceError::UnknownDepartment(_) => {
                Self::at_field(ErrorCode::UnknownDepartment, "department", detail)
            }
            ServiceError::NoDepartment => Self::new(ErrorCode::NoDepartment, detail),
            ServiceError::ForbiddenRole => Self::new(ErrorCode::ForbiddenRole, detail),
            ServiceError::UseAssignment => Self::at_field(ErrorCode::InvalidBody, "action", detail),
            ServiceError::StepNotRequested(step) => {
                Self::at_field(ErrorCode::StepNotRequested, step.field(), detail)
            }
            ServiceError::Unavailable(unavailable) => Self::unavailable(&unavailable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_kebab_case_and_errors() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-')
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn unavailable_names_the_system_and_hides_the_reason() {
        let error = ApiError::unavailable(&Unavailable {
            system: "billing",
            reason: "connect refused 10.0.0.1".into(),
        });
        assert_eq!(error.code, ErrorCode::BillingUnavailable);
        assert!(!error.problem.detail.contains("10.0.0.1"));
    }
}
