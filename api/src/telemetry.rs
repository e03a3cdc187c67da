//! Structured logs: text for a developer's terminal, JSON lines in production.

use crate::config::LogFormat;
use integrations::trace::TraceContext;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,diesel=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _already_installed = match format {
        // The request span (with its id) on every line; the list of parent spans would repeat it.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

/// The span of each request, without personal data: the method, the route's template (not the
/// path with its values, nor the query), the status and the request id. The default builder
/// records the full target, the client's address and the error's details, which can carry a
/// PIN, a phone number or an e-mail address.
#[derive(Debug)]
pub struct PrivateRootSpan;

impl RootSpanBuilder for PrivateRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = incoming_request_id(request).unwrap_or_else(|| {
            request
                .extensions()
                .get::<RequestId>()
                .map(ToString::to_string)
                .unwrap_or_default()
        });
        request
            .extensions_mut()
            .insert(RequestIdentifier(request_id.clone()));
        // The caller's trace when it sent a valid `traceparent`, otherwise a new one; this
        // request is a span of its own in it, the parent of the outside calls it makes.
        let span_id: [u8; 8] = rand::random();
        let trace = request
            .headers()
            .get(TRACEPARENT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(TraceContext::parse)
            .map_or_else(
                || TraceContext::begin(rand::random(), span_id),
                |caller| caller.child(span_id),
            );
        request.extensions_mut().insert(RequestTrace(trace));
        request
            .extensions_mut()
            .insert(RequestStarted(std::time::Instant::now()));
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = tracing::field::Empty,
            status = tracing::field::Empty,
            request_id = %request_id,
            trace_id = %trace.trace_id(),
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        match outcome {
            Ok(response) => {
                let route =
                    route_template(response.request()).unwrap_or_else(|| "(no route)".to_owned());
                let status = response.status().as_u16();
                span.record("route", route.as_str());
                span.record("status", status);
                // From the span's start to the answer's head, in µs: a slow request is found in
                // the log by its id, not only as a bucket of the duration histogram.
                let duration_us =
                    response
                        .request()
                        .extensions()
                        .get::<RequestStarted>()
                        .map(|started| {
                            u64::try_from(started.0.elapsed().as_micros()).unwrap_or(u64::MAX)
                        });
                tracing::info!(parent: &span, route = %route, status, duration_us, "request done");
            }
            Err(error) => {
                let status = error.as_response_error().status_code().as_u16();
                span.record("status", status);
                tracing::info!(parent: &span, status, "request failed");
            }
        }
    }
}

/// When the request's span began: the `duration_us` of its `request done` line.
#[derive(Debug, Clone, Copy)]
struct RequestStarted(std::time::Instant);

/// The W3C trace the request belongs to, with this request's span as the parent: carried to
/// the outside systems its use case calls (`read_context`, `integrations::trace`).
#[derive(Debug, Clone, Copy)]
pub struct RequestTrace(pub TraceContext);

pub const TRACEPARENT_HEADER: &str = "traceparent";

/// The matched route's template, found once per request: the metrics (`metrics::record`) and
/// the request's log line both want it, and finding it walks the routing table.
#[derive(Debug, Clone)]
struct RouteTemplate(Option<String>);

/// The template of the route `request` matched (`/api/v1/applications/{number}`), if any.
pub fn route_template(request: &actix_web::HttpRequest) -> Option<String> {
    if let Some(found) = request.extensions().get::<RouteTemplate>() {
        return found.0.clone();
    }
    let template = request.match_pattern();
    request
        .extensions_mut()
        .insert(RouteTemplate(template.clone()));
    template
}

/// The request's id, on every log line of the request and in the `X-Request-Id` response header.
#[derive(Debug, Clone)]
pub struct RequestIdentifier(pub String);

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The caller's `X-Request-Id` when it is usable as a log field: 1 to 128 letters, digits and
/// `-._:` (a gateway's or a frontend's id, so one id follows the call across systems). Anything
/// else is ignored, and the request gets an id of its own.
fn incoming_request_id(request: &ServiceRequest) -> Option<String> {
    let value = request.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let usable = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    usable.then(|| value.to_owned())
}

/// Answers every request with its id in `X-Request-Id`. Handlers' and extractors' errors are
/// responses by here; an error a middleware returns as `Err` reaches the client without it.
pub async fn echo_request_id(
    request: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // Set by `PrivateRootSpan::on_request_start`, which runs first (TracingLogger wraps this).
    let id = request
        .extensions()
        .get::<RequestIdentifier>()
        .and_then(|id| actix_web::http::header::HeaderValue::from_str(&id.0).ok());
    let mut response = next.call(request).await?;
    if let Some(value) = id {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static(REQUEST_ID_HEADER),
            value,
        );
    }
    Ok(response)
}
