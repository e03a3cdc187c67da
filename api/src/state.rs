//! What every handler can reach, and the bridge from async handlers to the blocking use cases.

use crate::config::Mode;
use crate::problem::{ApiError, ErrorCode};
use actix_web::web;
use domain::back_office::BackOfficeService;
use domain::ports::Clock;
use domain::service::{ApplicantService, ServiceError};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    /// "My applications" and an application's page, awaited (see `persistence::reads`).
    pub reads: domain::reads::ApplicationReading<persistence::DieselApplicationReads>,
    pub service: ApplicantService,
    pub back_office: BackOfficeService,
    pub clock: Arc<dyn Clock>,
    pub mode: Mode,
    pub database: persistence::Database,
    pub document_links: notifications::document_links::DocumentLinks,
    pub outbox: persistence::DieselOutbox,
    pub access_log: std::sync::Arc<dyn domain::access_log::AccessLog>,
    pub delegated_calls: persistence::DieselDelegatedCalls,
    /// Authenticates the SMS gateway's delivery reports; none are accepted when unset.
    pub sms_delivery_report_token: Option<String>,
    pub idempotency: persistence::IdempotencyKeys,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Runs a use case on actix's blocking thread pool: diesel and the registry clients block, and
/// must never hold up the async workers.
pub async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
{
    // The registry reads of the use case are recorded with the request's caller and purpose.
    let context = crate::read_context::capture();
    let deadline = context.as_ref().and_then(|c| c.deadline);
    // Its writes mark the request's Idempotency-Key in their own transaction.
    let claim = crate::idempotency::current_claim();
    let work = web::block(move || {
        persistence::idempotency::run_claimed(claim, || {
            crate::read_context::run_with(context, work)
        })
    });
    // At the deadline the work goes on on its thread; what it commits stays, and an
    // Idempotency-Key keeps a retry from running it twice.
    before_deadline(deadline, work)
        .await?
        .map_err(|_| ApiError::internal("a blocking task was cancelled"))?
        .map_err(ApiError::from)
}

/// Awaits a use case that needs no blocking thread (the reads of `AppState::reads`), within the
/// request's deadline.
pub async fn awaited<T>(
    work: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> Result<T, ApiError> {
    before_deadline(crate::read_context::deadline(), work)
        .await?
        .map_err(ApiError::from)
}

/// `work`'s output, or 503 `request-timeout` when the request's deadline comes first.
async fn before_deadline<F: std::future::Future>(
    deadline: Option<tokio::time::Instant>,
    work: F,
) -> Result<F::Output, ApiError> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, work).await.map_err(|_| {
            tracing::warn!("request timed out");
            ApiError::new(
                ErrorCode::RequestTimeout,
                "the request took too long; try again shortly",
            )
        }),
        None => Ok(work.await),
    }
}

/// A clock that stands still (development only: demos and tests of due times).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub chrono::DateTime<chrono::Utc>);

impl Clock for FixedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Microseconds, the precision PostgreSQL keeps, so that a stored time reads back equal on
    /// both backends.
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        use chrono::SubsecRound;
        chrono::Utc::now().trunc_subsecs(6)
    }
}
