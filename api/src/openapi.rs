//! The OpenAPI contract, generated from the handlers' annotations. Problem responses are added
//! here from one table (`problems_of`), with an example per code, so that every operation
//! documents each error it can give. `eservices openapi` writes the result to `openapi.yaml`.

use crate::config::Mode;
use crate::problem::{ApiError, ErrorCode, PROBLEM_CONTENT_TYPE, Problem};
use crate::routes;
use actix_web::App;
use utoipa::OpenApi;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Azərişıq e-services API",
        version = "1.0.0",
        description = "Two e-services of Azərişıq OJSC, reached through e-gov.az: investigation of meter damage \
            (residential and non-residential subscribers), and transfer of the personal account or its update after \
            a name change. The applicant's side, and the company's back office (inbox, workflow, documents).\n\n\
            Workflow (`POST /applications/{number}/actions`, staff only, with `If-Match`): meter damage goes \
            submitted → accepted → inspection-scheduled → inspected → completed; an account change submitted → \
            under-review → approved. Operators and supervisors may `reject` at any stage before the end, and \
            `return-for-correction` (meter damage: while submitted or accepted; account change: while submitted or \
            under review); the applicant `resubmit`s. The applicant may `cancel` a draft, a submitted application \
            nobody has started, and one returned to them. Supervisors alone `assign` (`…/assignment`). Every \
            response lists the `allowed_actions` of the caller.\n\n\
            All bodies are JSON. Times are RFC 3339 in UTC; money is an integer number of qəpik (1 AZN = 100 qəpik). \
            Every error is `application/problem+json` (RFC 9457) with a stable `code`; validation problems list the \
            fields at fault in `errors`. A 503 carries `Retry-After` and a code naming the system that did not answer.\n\n\
            Sign in with `Authorization: Bearer <JWT>` (EdDSA or ES256). In development, `POST /api/v1/dev/tokens` \
            or `eservices token --pin …` gives a token.",
        license(name = "MIT", identifier = "MIT")
    ),
    tags(
        (name = "catalogue", description = "Open reference data: the e-services and the districts"),
        (name = "applicant", description = "The applicant's own data from the registries and billing"),
        (name = "applications", description = "Applications: drafts, steps, submission, My applications"),
        (name = "documents", description = "The documents an application produced, and their signed links"),
        (name = "back-office", description = "The company's staff: inbox, workflow actions, assignment"),
        (name = "webhooks", description = "Administrators: signed event deliveries to integrators (e-gov.az and other portals)"),
        (name = "admin", description = "Administrators: the personal-data access log and the calls service accounts made for applicants"),
        (name = "callbacks", description = "Called by outside systems: the SMS gateway's delivery reports"),
        (name = "development", description = "Development mode only; absent in production"),
        (name = "operations", description = "For load balancers and monitoring")
    ),
    components(schemas(Problem, crate::routes::staff::InboxSort))
)]
struct ApiDoc;

/// The document for `mode`. Production's (no development routes) is the published contract,
/// `openapi.yaml`.
pub fn openapi(mode: Mode) -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure(mode))
        .split_for_parts();
    add_security_scheme(&mut api);
    add_problem_responses(&mut api);
    add_request_id_header(&mut api);
    add_accept_language_parameter(&mut api);
    add_links(&mut api);
    mark_open_operations(&mut api);
    add_relative_server(&mut api);
    api
}

/// The operations anyone may call say so with an empty security requirement (`security: [{}]`),
/// so that a reader, a linter or a generated client never has to guess whether one was forgotten.
/// Runs after `add_problem_responses`, which reads "secured" as "has a non-empty requirement".
fn mark_open_operations(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            if operation.security.as_ref().is_none_or(Vec::is_empty) {
                operation.security = Some(vec![
                    utoipa::openapi::security::SecurityRequirement::default(),
                ]);
            }
        }
    }
}

/// One server, relative: the contract is served by every deployment (development, staging,
/// production) at its own address, and Swagger UI and generated clients call the origin that
/// served the document.
fn add_relative_server(api: &mut utoipa::openapi::OpenApi) {
    let mut server = utoipa::openapi::Server::new("/");
    server.description = Some("The address that served this document".to_owned());
    api.servers = Some(vec![server]);
}

/// Every response carries the request's id (`telemetry::echo_request_id`).
fn add_request_id_header(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            for response in operation.responses.responses.values_mut() {
                if let utoipa::openapi::RefOr::T(response) = response {
                    response.headers.insert(
                        "X-Request-Id".to_owned(),
                        utoipa::openapi::HeaderBuilder::new()
                            .schema(Some(
                                utoipa::openapi::ObjectBuilder::new()
                                    .schema_type(utoipa::openapi::schema::Type::String),
                            ))
                            .description(Some(
                                "The request's id, on every log line of the request: the caller's \
                                 `X-Request-Id` when it is 1 to 128 letters, digits and `-._:`, \
                                 otherwise one made for it. Quote it when reporting a problem.",
                            ))
                            .build()
                            .into(),
                    );
                }
            }
        }
    }
}

/// Every operation answers problems (and labels statuses) in the language `Accept-Language`
/// asks for (`translations.rs`).
fn add_accept_language_parameter(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    for item in api.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let parameter = ParameterBuilder::new()
                .name("Accept-Language")
                .parameter_in(ParameterIn::Header)
                .required(utoipa::openapi::Required::False)
                .description(Some(
                    "The language of the problems' `title`, `detail` and field messages and of \
                     the `status_label`s: `az` (the default), `en` or `ru`, with `q` weights as \
                     RFC 9110 allows (`ru-RU,ru;q=0.9,en;q=0.5`). An unsupported one gets \
                     Azerbaijani. Problems say theirs in `Content-Language`; `code`s never change.",
                ))
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::String)
                        .max_length(Some(256))
                        .examples([serde_json::json!("az")]),
                ))
                .build();
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(utoipa::openapi::RefOr::T(parameter));
        }
    }
}

/// Where a link's parameters come from.
type Parameters = &'static [(&'static str, &'static str)];
const CREATED_NUMBER: Parameters = &[("number", "$response.body#/number")];
const SAME_NUMBER: Parameters = &[("number", "$request.path.number")];
const SAME_NUMBER_AND_ETAG: Parameters = &[
    ("number", "$request.path.number"),
    ("If-Match", "$response.header.ETag"),
];
const FIRST_DOCUMENT: Parameters = &[
    ("number", "$request.path.number"),
    ("id", "$response.body#/0/id"),
];
const CREATED_ID: Parameters = &[("id", "$response.body#/id")];

/// The operations a success leads to, with where their parameters come from (OpenAPI links):
/// a created application's number into its reads and steps, a read's `ETag` into `If-Match`,
/// a subscription's id into its operations. Clients and stateful testing follow them.
/// (operation, status, parameters, [(link name, target operation)])
type Links = (
    &'static str,
    &'static str,
    Parameters,
    &'static [(&'static str, &'static str)],
);
const LINKS: &[Links] = &[
    (
        "create-application",
        "201",
        CREATED_NUMBER,
        &[
            ("GetApplication", "get-application"),
            ("UpdateApplication", "update-application"),
            ("SubmitApplication", "submit-application"),
            ("CancelApplication", "cancel-application"),
            ("SetLanguage", "set-application-language"),
            ("ListDocuments", "list-documents"),
        ],
    ),
    (
        "update-application",
        "200",
        SAME_NUMBER,
        &[("SubmitApplication", "submit-application")],
    ),
    (
        "get-application",
        "200",
        SAME_NUMBER_AND_ETAG,
        &[
            ("Act", "act-on-application"),
            ("Assign", "assign-application"),
        ],
    ),
    (
        "act-on-application",
        "200",
        SAME_NUMBER_AND_ETAG,
        &[("ActAgain", "act-on-application")],
    ),
    (
        "assign-application",
        "200",
        SAME_NUMBER_AND_ETAG,
        &[("Act", "act-on-application")],
    ),
    (
        "list-documents",
        "200",
        FIRST_DOCUMENT,
        &[("GetDocument", "get-document")],
    ),
    (
        "create-webhook-subscription",
        "201",
        CREATED_ID,
        &[
            ("GetSubscription", "get-webhook-subscription"),
            ("ListDeliveries", "list-webhook-deliveries"),
            ("DeleteSubscription", "delete-webhook-subscription"),
        ],
    ),
];

fn add_links(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let id = operation.operation_id.clone().unwrap_or_default();
            for (_, status, parameters, links) in LINKS.iter().filter(|l| l.0 == id) {
                let Some(utoipa::openapi::RefOr::T(response)) =
                    operation.responses.responses.get_mut(*status)
                else {
                    continue;
                };
                for (name, target) in *links {
                    let link = parameters.iter().fold(
                        utoipa::openapi::link::LinkBuilder::new().operation_id(*target),
                        |link, (parameter, expression)| link.parameter(*parameter, *expression),
                    );
                    response
                        .links
                        .insert((*name).to_owned(), link.build().into());
                }
            }
        }
    }
}

/// The published contract as YAML.
pub fn contract_yaml() -> Result<String, String> {
    openapi(Mode::Production)
        .to_yaml()
        .map_err(|error| error.to_string())
}

fn add_security_scheme(api: &mut utoipa::openapi::OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("JWT".to_owned());
    bearer.description = Some(
        "A JWT from the identity provider. Applicants: `sub` is the PIN (FİN), optional `tin` the VÖEN, `roles` \
         absent or `[\"applicant\"]`, `amr` the login method. Staff: `sub` is the employee id, `roles` \
         `[\"operator\"]` with a `department` claim, or `[\"supervisor\"]`. Administrators: `roles`          `[\"admin\"]`."
            .to_owned(),
    );
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    let mut gateway = Http::new(HttpAuthScheme::Bearer);
    gateway.description = Some(
        "The shared token of the SMS gateway (`SMS_DELIVERY_REPORT_TOKEN`), for its delivery reports."
            .to_owned(),
    );
    components.add_security_scheme("sms-gateway", SecurityScheme::Http(gateway));
    let mut metrics = Http::new(HttpAuthScheme::Bearer);
    metrics.description = Some(
        "The monitoring's token (`METRICS_TOKEN`), for `/metrics`. Without it configured the route \
         is open in development and not served in production."
            .to_owned(),
    );
    components.add_security_scheme("metrics-token", SecurityScheme::Http(metrics));
}

const UNAVAILABLE_REGISTRIES: [ErrorCode; 3] = [
    ErrorCode::CitizenRegistryUnavailable,
    ErrorCode::BillingUnavailable,
    ErrorCode::PropertyRegistryUnavailable,
];

/// The step refusals of creating, changing or submitting an application.
const STEP_REFUSALS: &[ErrorCode] = &[
    ErrorCode::ValidationFailed,
    ErrorCode::StepNotForKind,
    ErrorCode::PersonNotInRegistry,
    ErrorCode::BusinessRequired,
    ErrorCode::NotARepresentative,
    ErrorCode::SubscriberCodeUnknown,
    ErrorCode::SubscriberCodeNotYours,
    ErrorCode::HeadCodeNotYours,
    ErrorCode::MeteringPointNotUnderHeadCode,
    ErrorCode::AccountAlreadyYours,
    ErrorCode::NameUnchanged,
    ErrorCode::DebtOutstanding,
    ErrorCode::PropertyNotFound,
    ErrorCode::NotPropertyOwner,
    ErrorCode::PropertyTypeMismatch,
    ErrorCode::AccountNotAtProperty,
    ErrorCode::OpenApplicationExists,
];

/// The errors particular to each operation. Authentication, body and database problems are
/// added by [`add_problem_responses`] from the operation's shape. A new operation without an
/// entry here fails the contract test.
fn problems_of(operation_id: &str) -> Option<Vec<ErrorCode>> {
    use ErrorCode as E;
    let with_registries = |codes: &[ErrorCode]| {
        let mut all = codes.to_vec();
        all.extend(UNAVAILABLE_REGISTRIES);
        all
    };
    Some(match operation_id {
        "list-services" | "list-districts" | "create-dev-token" => vec![],
        "health" | "health-live" | "health-ready" => vec![],
        "metrics" => vec![E::RouteNotFound],
        "get-main-information" => with_registries(&[E::PersonNotInRegistry, E::NotARepresentative]),
        "list-subscriber-accounts" => with_registries(&[]),
        "list-head-codes" => with_registries(&[E::BusinessRequired, E::NotARepresentative]),
        "list-metering-points" => with_registries(&[
            E::InvalidPathParameter,
            E::BusinessRequired,
            E::NotARepresentative,
            E::HeadCodeNotFound,
        ]),
        "get-debt" => with_registries(&[E::InvalidPathParameter, E::SubscriberCodeNotFound]),
        "create-application" => {
            let mut codes = with_registries(STEP_REFUSALS);
            codes.push(E::ApplicationIncomplete);
            codes
        }
        "update-application" => {
            let mut codes = with_registries(STEP_REFUSALS);
            codes.extend([
                E::InvalidPathParameter,
                E::ApplicationNotFound,
                E::ApplicationNotEditable,
                E::VersionConflict,
                E::StepNotRequested,
            ]);
            codes
        }
        "submit-application" => {
            let mut codes = with_registries(STEP_REFUSALS);
            codes.extend([
                E::InvalidPathParameter,
                E::ApplicationNotFound,
                E::ApplicationIncomplete,
                E::ActionNotAllowed,
                E::VersionConflict,
            ]);
            codes
        }
        "cancel-application" => vec![
            E::InvalidPathParameter,
            E::ValidationFailed,
            E::ApplicationNotFound,
            E::ActionNotAllowed,
            E::VersionConflict,
        ],
        "get-application" => vec![
            E::InvalidPathParameter,
            E::ApplicationNotFound,
            E::NoDepartment,
        ],
        "list-inbox" => vec![E::InvalidQueryParameter, E::NoDepartment],
        "list-documents" => vec![
            E::InvalidPathParameter,
            E::ApplicationNotFound,
            E::NoDepartment,
        ],
        "get-document" => vec![
            E::InvalidPathParameter,
            E::ApplicationNotFound,
            E::DocumentNotFound,
            E::NoDepartment,
        ],
        "get-document-by-link" => vec![E::LinkInvalid, E::LinkExpired, E::DocumentNotFound],
        "count-inbox" | "list-departments" => vec![E::NoDepartment],
        "act-on-application" => with_registries(&[
            E::InvalidPathParameter,
            E::ApplicationNotFound,
            E::NoDepartment,
            E::PreconditionRequired,
            E::PreconditionFailed,
            E::ActionNotAllowed,
            E::ValidationFailed,
            E::PersonNotInRegistry,
        ]),
        "assign-application" => vec![
            E::InvalidPathParameter,
            E::ApplicationNotFound,
            E::NoDepartment,
            E::PreconditionRequired,
            E::PreconditionFailed,
            E::ActionNotAllowed,
            E::ValidationFailed,
            E::UnknownDepartment,
        ],
        "list-my-applications" => vec![E::InvalidQueryParameter],
        "set-application-language" => vec![
            E::InvalidPathParameter,
            E::ApplicationNotFound,
            E::VersionConflict,
        ],
        "list-failed-notifications" => vec![E::NoDepartment],
        "retry-notification" => vec![
            E::InvalidPathParameter,
            E::NoDepartment,
            E::MessageNotFound,
            E::MessageNotFailed,
        ],
        "report-sms-delivery" => vec![E::ValidationFailed, E::MessageNotFound],
        "create-webhook-subscription" => vec![E::ValidationFailed],
        "list-webhook-subscriptions" => vec![],
        "list-personal-data-reads" | "list-delegated-calls" => vec![E::InvalidQueryParameter],
        "get-webhook-subscription" | "delete-webhook-subscription" | "list-webhook-deliveries" => {
            vec![E::InvalidPathParameter, E::WebhookSubscriptionNotFound]
        }
        "redeliver-webhook" => vec![
            E::InvalidPathParameter,
            E::MessageNotFound,
            E::DeliveryInProgress,
        ],
        _ => return None,
    })
}

/// A realistic problem for the example of `code`.
fn example_problem(code: ErrorCode) -> ApiError {
    let detail = match code {
        ErrorCode::DebtOutstanding => {
            "the account has an unpaid debt of 4523.70 AZN; pay it before applying"
        }
        ErrorCode::OpenApplicationExists => {
            "your application MD-2026-000041 is already open for this target; follow it instead"
        }
        ErrorCode::ValidationFailed => {
            "contact.mobile_numbers[0]: 12 is not an Azerbaijani mobile operator code (10, 50, 51, 55, 60, 70, 77, 99)"
        }
        _ => code.title(),
    };
    let mut error = ApiError::new(code, detail);
    match code {
        ErrorCode::DebtOutstanding => {
            error.problem.debt = Some(crate::problem::debt_details(
                domain::money::Qapik::new(452_370),
                chrono::DateTime::from_timestamp(1_793_491_200, 0).unwrap_or_default(),
            ));
        }
        ErrorCode::OpenApplicationExists => {
            error.problem.open_application = Some("MD-2026-000041".to_owned())
        }
        ErrorCode::ValidationFailed => {
            error.problem.errors.push(crate::problem::FieldViolation::new(
                "contact.mobile_numbers[0]",
                "unknown-operator-code",
                "12 is not an Azerbaijani mobile operator code (10, 50, 51, 55, 60, 70, 77, 99)",
            ));
        }
        ErrorCode::ApplicationIncomplete => {
            error.problem.missing_steps = vec!["contact".to_owned()];
        }
        _ => {}
    }
    error
}

fn operations_mut(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// Adds the problem responses of every operation, grouped by status, one example per code.
fn add_problem_responses(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        // The operations that create or change something take an Idempotency-Key.
        let changing: Vec<String> = [&item.post, &item.put, &item.patch, &item.delete]
            .into_iter()
            .flatten()
            .filter_map(|operation| operation.operation_id.clone())
            .collect();
        for operation in operations_mut(item) {
            let id = operation.operation_id.clone().unwrap_or_default();
            let Some(mut codes) = problems_of(&id) else {
                // Left without problems on purpose: the contract test names the operation.
                continue;
            };
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            if secured {
                codes.push(ErrorCode::Unauthenticated);
            }
            // A person's or service account's JWT has roles and may need the key set; the
            // gateway's and the monitoring's shared tokens have neither.
            let by_jwt = operation.security.iter().flatten().any(|requirement| {
                serde_json::to_value(requirement).is_ok_and(|value| value.get("bearer").is_some())
            });
            if by_jwt {
                codes.extend([
                    ErrorCode::ForbiddenRole,
                    ErrorCode::IdentityProviderUnavailable,
                ]);
            }
            let for_applicants = operation
                .tags
                .iter()
                .flatten()
                .any(|t| matches!(t.as_str(), "applicant" | "applications" | "documents"));
            if secured && for_applicants {
                codes.extend([ErrorCode::InsufficientScope, ErrorCode::InvalidOnBehalfOf]);
            }
            // The gateway's delivery reports carry its own token, not a person's: keys are a
            // person's or a service account's.
            if secured && changing.contains(&id) && id != "report-sms-delivery" {
                add_idempotency_key_parameter(operation);
                codes.extend([
                    ErrorCode::InvalidIdempotencyKey,
                    ErrorCode::IdempotencyRequestInProgress,
                    ErrorCode::IdempotencyRequestInterrupted,
                    ErrorCode::IdempotencyKeyReused,
                ]);
            }
            // Every operation: the per-client rate limit and the request timeout.
            codes.extend([ErrorCode::TooManyRequests, ErrorCode::RequestTimeout]);
            if operation.request_body.is_some() {
                codes.extend([
                    ErrorCode::MalformedJson,
                    ErrorCode::UnknownField,
                    ErrorCode::InvalidBody,
                    ErrorCode::PayloadTooLarge,
                    ErrorCode::UnsupportedMediaType,
                ]);
                if id == "create-dev-token" {
                    codes.push(ErrorCode::ValidationFailed);
                }
            }
            let touches_database = !matches!(
                id.as_str(),
                "list-services" | "list-districts" | "create-dev-token" | "health-live"
            );
            if touches_database {
                codes.push(ErrorCode::DatabaseUnavailable);
            }
            let mut by_status: std::collections::BTreeMap<u16, Vec<ErrorCode>> = Default::default();
            for code in codes {
                let list = by_status.entry(code.status().as_u16()).or_default();
                if !list.contains(&code) {
                    list.push(code);
                }
            }
            for (status, codes) in by_status {
                let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
                let mut content =
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem")));
                content = content.examples_from_iter(codes.iter().map(|&code| {
                    let value =
                        serde_json::to_value(*example_problem(code).problem).unwrap_or_default();
                    (
                        code.as_str(),
                        ExampleBuilder::new()
                            .summary(code.title())
                            .value(Some(value))
                            .build(),
                    )
                }));
                let mut response = ResponseBuilder::new()
                    .description(format!("Problem: {}", names.join(", ")))
                    .content(PROBLEM_CONTENT_TYPE, content.build());
                if status == 503 || status == 429 {
                    response = response.header(
                        "Retry-After",
                        utoipa::openapi::HeaderBuilder::new()
                            .schema(Some(
                                utoipa::openapi::ObjectBuilder::new()
                                    .schema_type(utoipa::openapi::schema::Type::Integer),
                            ))
                            .description(Some("Seconds to wait before retrying"))
                            .build(),
                    );
                }
                operation
                    .responses
                    .responses
                    .insert(status.to_string(), response.build().into());
            }
        }
    }
}

fn add_idempotency_key_parameter(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    let parameter = ParameterBuilder::new()
        .name(crate::idempotency::HEADER)
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(
            "Makes a retry safe: the first request with a key is carried out and its response \
             is kept (24 hours by default); a retry with the same key and the same request gets \
             the same response again, with `Idempotent-Replayed: true`, and changes nothing. \
             The same key with another request is refused (422 `idempotency-key-reused`); a \
             retry while the first request runs gets 409 with `Retry-After`. 1 to 255 visible \
             ASCII characters; send a new UUID for each new request.",
        ))
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .min_length(Some(1))
                .max_length(Some(crate::idempotency::MAX_KEY_LENGTH))
                .pattern(Some("^[!-~]+$"))
                .examples([serde_json::json!("5f0c6a8e-3b7d-4f1e-9a2c-8d4b1e7f6a30")]),
        ))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(utoipa::openapi::RefOr::T(parameter));
}

/// The operation ids that [`problems_of`] does not know (must be empty).
pub fn operations_without_problem_table(api: &utoipa::openapi::OpenApi) -> Vec<String> {
    let mut missing = Vec::new();
    for item in api.paths.paths.values() {
        let mut item = item.clone();
        for operation in operations_mut(&mut item) {
            let id = operation.operation_id.clone().unwrap_or_default();
            if problems_of(&id).is_none() {
                missing.push(id);
            }
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_its_problems_documented() {
        let api = openapi(Mode::Development);
        assert_eq!(operations_without_problem_table(&api), Vec::<String>::new());
    }

    #[test]
    fn every_link_is_attached_and_names_an_operation_and_its_parameters() {
        let api = serde_json::to_value(openapi(Mode::Production)).unwrap_or_default();
        let mut operations = std::collections::HashMap::new();
        for item in api["paths"].as_object().into_iter().flatten() {
            for operation in item.1.as_object().into_iter().flatten().map(|o| o.1) {
                operations.insert(
                    operation["operationId"].as_str().unwrap_or_default(),
                    operation,
                );
            }
        }
        for (source, status, parameters, links) in LINKS {
            for (name, target) in *links {
                let link = &operations[source]["responses"][status]["links"][name];
                assert_eq!(
                    link["operationId"],
                    serde_json::json!(target),
                    "{source} {name}"
                );
                let names: Vec<&str> = operations[target]["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                for (parameter, _) in *parameters {
                    assert!(
                        names.contains(parameter),
                        "{target} has no parameter {parameter}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_dev_token_route_is_not_in_the_published_contract() {
        let production = openapi(Mode::Production);
        assert!(!production.paths.paths.contains_key("/api/v1/dev/tokens"));
        assert!(
            openapi(Mode::Development)
                .paths
                .paths
                .contains_key("/api/v1/dev/tokens")
        );
    }
}
