//! Per-client rate limits and the request timeout.
//!
//! A client is its token's subject when the token verifies, else its address: a forged token
//! cannot spend someone else's allowance. The verified token is kept in the request's extensions
//! for the authentication extractors, so a request's signature is checked once.
//!
//! The limits are per process: with N instances behind a balancer a client gets up to N times
//! the allowance. The balancer should keep its own per-address limit.

use crate::auth::Authenticator;
use crate::problem::{ApiError, ErrorCode};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bucket's contents are counted in sixty-thousandths of a request, so that refilling
/// `per_minute` requests a minute adds exactly `per_minute` units a millisecond, in integers.
const UNITS_PER_REQUEST: u64 = 60_000;

/// Buckets kept at most; beyond it the full ones (clients quiet for a while) are dropped.
const MAX_CLIENTS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    units: u64,
    updated: Instant,
}

/// A token bucket per client: `burst` requests at once, refilled at `per_minute`.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u64,
    capacity: u64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `per_minute` 0 admits everything.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_minute: u64::from(per_minute),
            capacity: u64::from(burst.max(1)).saturating_mul(UNITS_PER_REQUEST),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `client`'s bucket at `now`, or says how long until one is there.
    pub fn admit(&self, client: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic mid-update; admitting is safer than refusing all.
            return Ok(());
        };
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(client) {
            let (per_minute, capacity) = (self.per_minute, self.capacity);
            buckets.retain(|_, bucket| refilled(*bucket, now, per_minute, capacity) < capacity);
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            units: self.capacity,
            updated: now,
        });
        let units = refilled(*bucket, now, self.per_minute, self.capacity);
        *bucket = Bucket {
            units,
            updated: now,
        };
        if units >= UNITS_PER_REQUEST {
            bucket.units = units - UNITS_PER_REQUEST;
            Ok(())
        } else {
            let missing = UNITS_PER_REQUEST - units;
            Err(Duration::from_millis(missing.div_ceil(self.per_minute)))
        }
    }
}

fn refilled(bucket: Bucket, now: Instant, per_minute: u64, capacity: u64) -> u64 {
    let elapsed = u64::try_from(now.saturating_duration_since(bucket.updated).as_millis())
        .unwrap_or(u64::MAX);
    bucket
        .units
        .saturating_add(elapsed.saturating_mul(per_minute))
        .min(capacity)
}

/// Paths outside the limit: the balancer's health checks, the metrics scraper, and the SMS gateway's delivery
/// reports (which carry the gateway's own token) come from a few addresses, often all of
/// them through one proxy.
fn exempt(path: &str) -> bool {
    path == "/health"
        || path.starts_with("/health/")
        || path == "/metrics"
        || path == "/api/v1/callbacks/sms-delivery"
}

/// Middleware: verifies the token once and applies the client's rate limit.
pub async fn admit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // `None` without a token or when it does not verify: the operation then answers 401 or 503.
    let token = Authenticator::verified(request.request()).await.ok();
    let client = match &token {
        // A service account acting for applicants (the e-gov portal) has a bucket per applicant.
        Some(token) => format!("token:{}", token.key_owner(request.headers())),
        None => format!(
            "address:{}",
            request
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default()
        ),
    };
    if let Some(token) = token {
        request.extensions_mut().insert(token);
    }
    if !exempt(request.path())
        && let Some(limiter) = request.app_data::<web::Data<RateLimiter>>()
        && let Err(wait) = limiter.admit(&client, Instant::now())
    {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let error = ApiError::new(
            ErrorCode::TooManyRequests,
            format!("too many requests from this client; try again in {seconds} s"),
        )
        .retry_after(seconds);
        return Ok(request.error_response(error));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// The longest a request's work may run, set per app with `web::Data<RequestTimeout>`; the
/// request's context carries its deadline to `state::blocking`.
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeout(pub Duration);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = RateLimiter::new(60, 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.admit("a", start), Ok(()));
        }
        assert_eq!(limiter.admit("a", start), Err(Duration::from_millis(1000)));
        // Another client has its own bucket.
        assert_eq!(limiter.admit("b", start), Ok(()));
        // One a second comes back.
        let later = start + Duration::from_millis(400);
        assert_eq!(limiter.admit("a", later), Err(Duration::from_millis(600)));
        assert_eq!(limiter.admit("a", start + Duration::from_secs(1)), Ok(()));
        assert!(limiter.admit("a", start + Duration::from_secs(1)).is_err());
        // A long pause refills to the burst, not beyond.
        let much_later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(limiter.admit("a", much_later), Ok(()));
        }
        assert!(limiter.admit("a", much_later).is_err());
    }

    #[test]
    fn zero_per_minute_admits_everything() {
        let limiter = RateLimiter::new(0, 1);
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(limiter.admit("a", now), Ok(()));
        }
    }

    proptest! {
        /// Over any span, a client is admitted at most the burst plus what the rate refilled.
        #[test]
        fn never_more_than_burst_plus_rate(
            per_minute in 1u32..10_000,
            burst in 1u32..50,
            gaps in proptest::collection::vec(0u64..500, 1..300),
        ) {
            let limiter = RateLimiter::new(per_minute, burst);
            let start = Instant::now();
            let mut now = start;
            let mut admitted = 0u64;
            for gap in gaps {
                now += Duration::from_millis(gap);
                if limiter.admit("c", now).is_ok() {
                    admitted += 1;
                }
            }
            let elapsed = u64::try_from((now - start).as_millis()).unwrap_or(u64::MAX);
            let allowed = u64::from(burst) + elapsed * u64::from(per_minute) / 60_000;
            prop_assert!(admitted <= allowed, "{admitted} > {allowed}");
        }

        /// The wait it names is enough: after it, the client is admitted.
        #[test]
        fn the_named_wait_is_enough(per_minute in 1u32..10_000, burst in 1u32..5) {
            let limiter = RateLimiter::new(per_minute, burst);
            let now = Instant::now();
            for _ in 0..burst {
                prop_assert!(limiter.admit("c", now).is_ok());
            }
            let wait = limiter.admit("c", now).err().unwrap_or_default();
            prop_assert!(wait > Duration::ZERO);
            prop_assert!(limiter.admit("c", now + wait).is_ok());
        }
    }
}
