//! One outside system over HTTP: base URL, bearer token, timeout, retries of reads, breaker.

use crate::breaker::CircuitBreaker;
use crate::calls::{self, CallOutcome};
use domain::ports::Unavailable;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// How to reach one system.
#[derive(Clone)]
pub struct SystemSettings {
    /// The base URL; paths are appended to it.
    pub base_url: url::Url,
    /// Sent as `Authorization: Bearer …` when set.
    pub token: Option<String>,
    /// The whole call, connection included.
    pub timeout: Duration,
    /// Further tries of a read that timed out, could not connect or got a 5xx.
    pub retries: u32,
    /// The wait before the first retry; doubled for each next one.
    pub backoff: Duration,
    /// Failed calls in a row that open the circuit, and for how long.
    pub breaker_failures: u32,
    pub breaker_open_for: Duration,
}

impl std::fmt::Debug for SystemSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemSettings")
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// The most of an answer read.
const ANSWER_LIMIT: u64 = 1024 * 1024;

#[derive(Debug)]
pub struct HttpSystem {
    /// `citizen-registry`, `billing` or `property-registry`: the name in 503 problems.
    name: &'static str,
    settings: SystemSettings,
    agent: ureq::Agent,
    breaker: CircuitBreaker,
}

/// What one try came to.
enum Try<T> {
    Found(T),
    NotFound,
    /// Worth another try: a timeout, a refused connection, a 5xx, a 429.
    Again(String),
    /// Not worth another: a 4xx other than 404, or an answer that does not parse.
    Fail(String),
}

impl HttpSystem {
    pub fn new(name: &'static str, settings: SystemSettings) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout(settings.timeout)
            .timeout_connect(settings.timeout)
            .redirects(0)
            .user_agent(concat!("azerisiq-eservices/", env!("CARGO_PKG_VERSION")))
            .build();
        let breaker = CircuitBreaker::new(settings.breaker_failures, settings.breaker_open_for);
        Self {
            name,
            settings,
            agent,
            breaker,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    fn unavailable(&self, reason: impl Into<String>) -> Unavailable {
        Unavailable {
            system: self.name,
            reason: reason.into(),
        }
    }

    /// GETs `segments` (each percent-encoded) under the base URL with `query`, and reads the JSON
    /// answer: `None` for a 404.
    pub fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Option<T>, Unavailable> {
        let mut url = self.settings.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| self.unavailable("the base URL cannot take a path"))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut wait = self.settings.backoff;
        let mut last = String::new();
        for attempt in 0..=self.settings.retries {
            if let Err(left) = self.breaker.allow(Instant::now()) {
                calls::record(self.name, CallOutcome::ShortCircuited);
                return Err(self.unavailable(format!(
                    "not called for {} s after repeated failures ({last})",
                    left.as_secs().max(1)
                )));
            }
            match self.try_once::<T>(&url) {
                Try::Found(value) => {
                    calls::record(self.name, CallOutcome::Answered);
                    self.breaker.success();
                    return Ok(Some(value));
                }
                Try::NotFound => {
                    calls::record(self.name, CallOutcome::Answered);
                    self.breaker.success();
                    return Ok(None);
                }
                Try::Fail(reason) => {
                    // The system answered: it is up, but not making sense to us.
                    calls::record(self.name, CallOutcome::Refused);
                    self.breaker.success();
                    tracing::warn!(system = self.name, %reason, "outside system refused");
                    return Err(self.unavailable(reason));
                }
                Try::Again(reason) => {
                    tracing::warn!(system = self.name, attempt, %reason, "outside system failed");
                    last = reason;
                    if attempt < self.settings.retries {
                        calls::record_retry(self.name);
                        std::thread::sleep(wait);
                        wait = wait.saturating_mul(2);
                    }
                }
            }
        }
        // One failed call (its retries included) is one failure for the breaker.
        self.breaker.failure(Instant::now());
        calls::record(self.name, CallOutcome::Failed);
        Err(self.unavailable(last))
    }

    fn try_once<T: DeserializeOwned>(&self, url: &url::Url) -> Try<T> {
        let mut request = self
            .agent
            .get(url.as_str())
            .set("Accept", "application/json")
            .set("traceparent", &crate::trace::outgoing_header());
        if let Some(token) = &self.settings.token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        let response = match request.call() {
            Ok(response) => response,
            Err(ureq::Error::Status(404, _)) => return Try::NotFound,
            Err(ureq::Error::Status(status, _))
                if status >= 500 || status == 429 || status == 408 =>
            {
                return Try::Again(format!("HTTP {status}"));
            }
            Err(ureq::Error::Status(status, _)) => return Try::Fail(format!("HTTP {status}")),
            Err(ureq::Error::Transport(transport)) => {
                return Try::Again(transport.kind().to_string());
            }
        };
        let mut body = Vec::new();
        use std::io::Read;
        if let Err(e) = response
            .into_reader()
            .take(ANSWER_LIMIT)
            .read_to_end(&mut body)
        {
            return Try::Again(format!("reading the answer: {e}"));
        }
        match serde_json::from_slice(&body) {
            Ok(value) => Try::Found(value),
            // The category and place only: serde quotes the values, which are personal data.
            Err(e) => Try::Fail(format!(
                "an answer that does not parse ({:?} at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            )),
        }
    }

    /// A field of an answer that does not hold what it should. The value is not kept: it may be
    /// personal data, and the reason is logged.
    pub fn malformed(&self, what: &str, _value: &str) -> Unavailable {
        self.unavailable(format!("the answer holds an invalid {what}"))
    }

    /// GETs a list: a 404 is not "none" here (a list answers `[]`) but a wrong address or a
    /// changed interface.
    pub fn list<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, Unavailable> {
        self.get(segments, query)?
            .ok_or_else(|| self.unavailable("HTTP 404 for a list: is the base URL right?"))
    }
}
