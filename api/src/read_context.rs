//! Who is asking, and for what, carried from the request to the registry reads it causes: the
//! access log records both. A request gets a context (its method and path as the purpose); the
//! authentication extractors add the reader; `state::blocking` carries it onto the blocking
//! thread where the use case, and so the registry reads, run.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use domain::access_log::Reader;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct ReadContext {
    pub reader: Option<Reader>,
    pub purpose: String,
    /// When the request's work must be done (`REQUEST_TIMEOUT_SECONDS` after it came in).
    pub deadline: Option<tokio::time::Instant>,
    /// The W3C trace of the request, passed on to the outside systems it calls.
    pub trace: Option<integrations::trace::TraceContext>,
}

tokio::task_local! {
    static REQUEST: Arc<Mutex<ReadContext>>;
}

thread_local! {
    static CURRENT: RefCell<Option<ReadContext>> = const { RefCell::new(None) };
}

/// Middleware: every request runs with a context of its own.
pub async fn scope(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let deadline = request
        .app_data::<actix_web::web::Data<crate::limits::RequestTimeout>>()
        .map(|timeout| tokio::time::Instant::now() + timeout.0);
    let trace = request
        .extensions()
        .get::<crate::telemetry::RequestTrace>()
        .map(|t| t.0);
    let context = Arc::new(Mutex::new(ReadContext {
        reader: None,
        purpose: format!("{} {}", request.method(), request.path()),
        deadline,
        trace,
    }));
    REQUEST.scope(context, next.call(request)).await
}

/// Records the authenticated caller in the request's context.
pub fn set_reader(reader: Reader) {
    let _ = REQUEST.try_with(|context| {
        if let Ok(mut context) = context.lock() {
            context.reader = Some(reader);
        }
    });
}

/// When the request's work must be done, if it has a deadline.
pub fn deadline() -> Option<tokio::time::Instant> {
    REQUEST
        .try_with(|context| context.lock().ok().and_then(|c| c.deadline))
        .ok()
        .flatten()
}

/// The request's context, to carry onto a blocking thread.
pub fn capture() -> Option<ReadContext> {
    REQUEST
        .try_with(|context| context.lock().ok().map(|c| c.clone()))
        .ok()
        .flatten()
}

/// Puts the thread's previous context back when dropped, also when the work panics: a pooled
/// thread never carries one request's reader into the next.
struct Restore(Option<ReadContext>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|current| current.replace(previous));
    }
}

/// Runs `work` with `context` as this thread's current one.
pub fn run_with<T>(context: Option<ReadContext>, work: impl FnOnce() -> T) -> T {
    let trace = context.as_ref().and_then(|c| c.trace);
    let _restore = Restore(CURRENT.with(|current| current.replace(context)));
    integrations::trace::with_current(trace, work)
}

/// The reader and purpose of the work on this thread; the service itself when there is none.
pub fn current() -> (Reader, String) {
    CURRENT.with(|current| match &*current.borrow() {
        Some(ReadContext {
            reader: Some(reader),
            purpose,
            ..
        }) => (reader.clone(), purpose.clone()),
        Some(ReadContext {
            reader: None,
            purpose,
            ..
        }) => (Reader::system(), purpose.clone()),
        None => (Reader::system(), "background".to_owned()),
    })
}
