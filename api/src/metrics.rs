//! The service's metrics, for Prometheus (`GET /metrics`, text format 0.0.4): requests by route
//! and status, their latency, the database pool, the outbox and the outside systems' calls.
//! Routes are the matched templates (`/api/v1/applications/{number}`), never the paths, so that
//! no PIN, code or number reaches the metrics and their count stays bounded.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Upper bounds of the latency buckets, in microseconds, and as the `le` label writes them in
/// seconds: the targets (20 ms p99) fall between them. Kept in integers: no float arithmetic.
const LATENCY_BUCKETS: [(u64, &str); 12] = [
    (1_000, "0.001"),
    (2_500, "0.0025"),
    (5_000, "0.005"),
    (10_000, "0.01"),
    (20_000, "0.02"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (10_000_000, "10"),
];

/// The route label of a request that matched none.
pub const UNMATCHED_ROUTE: &str = "(unmatched)";

/// The lowest and highest status code counted; codes are 100 to 999.
const FIRST_STATUS: u16 = 100;
const LAST_STATUS: u16 = 999;

/// One (method, route)'s counts. Atomics: requests on different workers count at once, and a
/// scrape reads while they do (each value is exact; the set is a moment's, as Prometheus
/// expects of a scrape).
#[derive(Debug)]
struct Series {
    /// Answers by status code, at `status - FIRST_STATUS`.
    statuses: Box<[AtomicU64]>,
    /// Observations at or under each bound (not cumulative here; summed when written).
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Series {
    fn new() -> Self {
        Self {
            statuses: (FIRST_STATUS..=LAST_STATUS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, status: u16, took: Duration) {
        let index = status.clamp(FIRST_STATUS, LAST_STATUS) - FIRST_STATUS;
        if let Some(counter) = self.statuses.get(usize::from(index)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = LATENCY_BUCKETS
            .iter()
            .position(|(bound, _)| micros <= *bound)
        {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Microseconds as seconds with six decimals, without float arithmetic.
fn seconds(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

type RouteKey = (&'static str, String);

/// What the process has counted since it started. One per server; the outside systems' calls are
/// counted per process (`integrations::calls`).
#[derive(Debug)]
pub struct Metrics {
    /// The series by method and route template. A request takes the read side only (shared,
    /// never waiting for another request); the write side is taken once per new route.
    series: RwLock<HashMap<RouteKey, Series>>,
    /// `METRICS_TOKEN`: the bearer token a scraper must send; in production `/metrics` is not
    /// served without one.
    token: Option<crate::config::Secret>,
    mode: crate::config::Mode,
}

/// What is read at scrape time, not counted as it happens.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub pool: Option<persistence::PoolState>,
    /// The async pool of the hot reads (PostgreSQL with `DATABASE_ASYNC_READS`).
    pub read_pool: Option<persistence::PoolState>,
    pub outbox: Option<persistence::outbox::Backlog>,
    pub outside: integrations::calls::CallCounts,
}

/// Who may read the metrics.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// A token is configured and the request did not carry it.
    Unauthenticated,
    /// Production without `METRICS_TOKEN`: the route is not served.
    Off,
}

impl Metrics {
    pub fn new(token: Option<crate::config::Secret>, mode: crate::config::Mode) -> Self {
        Self {
            series: RwLock::new(HashMap::new()),
            token,
            mode,
        }
    }

    pub fn access(&self, authorization: Option<&str>) -> Access {
        match &self.token {
            None if self.mode == crate::config::Mode::Production => Access::Off,
            None => Access::Allowed,
            Some(token) => {
                let given = authorization
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or_default();
                if crate::security::constant_time_eq(token.expose().as_bytes(), given.as_bytes()) {
                    Access::Allowed
                } else {
                    Access::Unauthenticated
                }
            }
        }
    }

    /// Counts one answered request.
    pub fn observe(&self, method: &'static str, route: String, status: u16, took: Duration) {
        let key = (method, route);
        if let Ok(series) = self.series.read()
            && let Some(found) = series.get(&key)
        {
            found.observe(status, took);
            return;
        }
        if let Ok(mut series) = self.series.write() {
            series
                .entry(key)
                .or_insert_with(Series::new)
                .observe(status, took);
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let series = match self.series.read() {
            Ok(series) => series,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Sorted, so that a scrape reads the same order every time.
        let mut series: Vec<(&RouteKey, &Series)> = series.iter().collect();
        series.sort_by_key(|(key, _)| *key);
        header(
            &mut out,
            "eservices_http_requests_total",
            "counter",
            "HTTP requests answered, by method, route template and status.",
        );
        for ((method, route), counts) in &series {
            for (status, counter) in (FIRST_STATUS..=LAST_STATUS).zip(counts.statuses.iter()) {
                let count = counter.load(Ordering::Relaxed);
                if count > 0 {
                    let _ = writeln!(
                        out,
                        "eservices_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                        escape(route)
                    );
                }
            }
        }
        header(
            &mut out,
            "eservices_http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its answer, by method and route template.",
        );
        for ((method, route), histogram) in &series {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            let mut cumulative = 0;
            for ((_, bound), count) in LATENCY_BUCKETS.iter().zip(&histogram.buckets) {
                cumulative += count.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "eservices_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "eservices_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count.load(Ordering::Relaxed)
            );
            let _ = writeln!(
                out,
                "eservices_http_request_duration_seconds_sum{{{labels}}} {}",
                seconds(histogram.sum_micros.load(Ordering::Relaxed))
            );
            let _ = writeln!(
                out,
                "eservices_http_request_duration_seconds_count{{{labels}}} {}",
                histogram.count.load(Ordering::Relaxed)
            );
        }
        if let Some(pool) = snapshot.pool {
            pool_gauges(
                &mut out,
                "eservices_db_pool",
                "Database connections of this instance's pool, by state.",
                "The most connections the pool opens (DATABASE_POOL_SIZE).",
                pool,
            );
        }
        if let Some(pool) = snapshot.read_pool {
            pool_gauges(
                &mut out,
                "eservices_db_read_pool",
                "Async database connections of this instance's read pools (My applications, an application's page; one a worker), by state.",
                "The most connections the read pools open together (DATABASE_POOL_SIZE).",
                pool,
            );
        }
        header(
            &mut out,
            "eservices_outbox_readable",
            "gauge",
            "1 when the outbox could be read for this scrape, 0 when the database did not answer.",
        );
        let _ = writeln!(
            out,
            "eservices_outbox_readable {}",
            u8::from(snapshot.outbox.is_some())
        );
        if let Some(outbox) = &snapshot.outbox {
            header(
                &mut out,
                "eservices_outbox_messages",
                "gauge",
                "SMS, e-mails and webhook calls in the outbox (all instances): queued waits to be sent, failed needs an operator.",
            );
            let _ = writeln!(
                out,
                "eservices_outbox_messages{{status=\"queued\"}} {}",
                outbox.queued
            );
            let _ = writeln!(
                out,
                "eservices_outbox_messages{{status=\"failed\"}} {}",
                outbox.failed
            );
        }
        header(
            &mut out,
            "eservices_outside_calls_total",
            "counter",
            "Calls to the outside systems (registries, billing) by this process, by outcome; retries included in one call.",
        );
        for ((system, outcome), count) in &snapshot.outside.calls {
            let _ = writeln!(
                out,
                "eservices_outside_calls_total{{system=\"{system}\",outcome=\"{}\"}} {count}",
                outcome.as_str()
            );
        }
        header(
            &mut out,
            "eservices_outside_call_retries_total",
            "counter",
            "Attempts after the first of calls to the outside systems.",
        );
        for (system, count) in &snapshot.outside.retries {
            let _ = writeln!(
                out,
                "eservices_outside_call_retries_total{{system=\"{system}\"}} {count}"
            );
        }
        header(
            &mut out,
            "eservices_build_info",
            "gauge",
            "The running version (always 1).",
        );
        let _ = writeln!(
            out,
            "eservices_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

/// A pool's `{family}_connections{state}` and `{family}_max_connections` gauges.
fn pool_gauges(
    out: &mut String,
    family: &str,
    connections_help: &str,
    max_help: &str,
    pool: persistence::PoolState,
) {
    let connections = format!("{family}_connections");
    header(out, &connections, "gauge", connections_help);
    let busy = pool.open.saturating_sub(pool.idle);
    let _ = writeln!(out, "{connections}{{state=\"in-use\"}} {busy}");
    let _ = writeln!(out, "{connections}{{state=\"idle\"}} {}", pool.idle);
    let max = format!("{family}_max_connections");
    header(out, &max, "gauge", max_help);
    let _ = writeln!(out, "{max} {}", pool.max);
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The method as a label: the standard ones by name, anything else as `OTHER`, so that a caller
/// cannot grow the series.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware: counts every request with its route template, status and time.
pub async fn record(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(request.method());
    let outcome = next.call(request).await;
    if let Some(metrics) = metrics {
        let (route, status) = match &outcome {
            Ok(response) => (
                crate::telemetry::route_template(response.request()),
                response.status().as_u16(),
            ),
            Err(error) => (None, error.as_response_error().status_code().as_u16()),
        };
        metrics.observe(
            method,
            route.unwrap_or_else(|| UNMATCHED_ROUTE.to_owned()),
            status,
            started.elapsed(),
        );
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Mode, Secret};

    #[test]
    fn requests_are_counted_by_route_and_status_with_cumulative_buckets() {
        let metrics = Metrics::new(None, Mode::Development);
        metrics.observe(
            "GET",
            "/api/v1/applications/{number}".to_owned(),
            200,
            Duration::from_millis(4),
        );
        metrics.observe(
            "GET",
            "/api/v1/applications/{number}".to_owned(),
            200,
            Duration::from_millis(300),
        );
        metrics.observe(
            "GET",
            "/api/v1/applications/{number}".to_owned(),
            404,
            Duration::from_millis(2),
        );
        let text = metrics.render(&Snapshot::default());
        assert!(text.contains(
            "eservices_http_requests_total{method=\"GET\",route=\"/api/v1/applications/{number}\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "eservices_http_requests_total{method=\"GET\",route=\"/api/v1/applications/{number}\",status=\"404\"} 1"
        ));
        let bucket = |le: &str| {
            format!(
                "eservices_http_request_duration_seconds_bucket{{method=\"GET\",route=\"/api/v1/applications/{{number}}\",le=\"{le}\"}}"
            )
        };
        assert!(text.contains(&format!("{} 0\n", bucket("0.001"))));
        assert!(text.contains(&format!("{} 1\n", bucket("0.0025"))));
        assert!(text.contains(&format!("{} 2\n", bucket("0.005"))));
        assert!(text.contains(&format!("{} 2\n", bucket("0.25"))));
        assert!(text.contains(&format!("{} 3\n", bucket("0.5"))));
        assert!(text.contains(&format!("{} 3\n", bucket("+Inf"))));
        assert!(text.contains("eservices_outbox_readable 0"));
        assert!(text.contains(
            "eservices_http_request_duration_seconds_sum{method=\"GET\",route=\"/api/v1/applications/{number}\"} 0.306000\n"
        ));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn the_token_decides_who_reads() {
        let open = Metrics::new(None, Mode::Development);
        assert_eq!(open.access(None), Access::Allowed);
        let off = Metrics::new(None, Mode::Production);
        assert_eq!(off.access(Some("Bearer x")), Access::Off);
        let guarded = Metrics::new(
            Some(Secret::new("scrape-token-of-the-monitoring".to_owned())),
            Mode::Production,
        );
        assert_eq!(
            guarded.access(Some("Bearer scrape-token-of-the-monitoring")),
            Access::Allowed
        );
        assert_eq!(
            guarded.access(Some("Bearer wrong")),
            Access::Unauthenticated
        );
        assert_eq!(guarded.access(None), Access::Unauthenticated);
    }
}
