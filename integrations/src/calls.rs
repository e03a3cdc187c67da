//! How the calls to the outside systems went, counted since the process started: `/metrics`
//! reports them (`eservices_outside_calls_total`), so that a registry that fails is seen before
//! the citizens complain.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// What one call (its retries included) came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CallOutcome {
    /// An answer was read (a record, or "not known").
    Answered,
    /// The system answered something unusable: a 4xx other than 404, or an unreadable body.
    Refused,
    /// No usable answer after the retries: timeouts, refused connections, 5xx, 429.
    Failed,
    /// Not called: the circuit breaker is open after repeated failures.
    ShortCircuited,
}

impl CallOutcome {
    pub const ALL: [Self; 4] = [
        Self::Answered,
        Self::Refused,
        Self::Failed,
        Self::ShortCircuited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::ShortCircuited => "short-circuited",
        }
    }
}

/// Calls per system and outcome, and the retries made (attempts after the first).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CallCounts {
    pub calls: BTreeMap<(&'static str, CallOutcome), u64>,
    pub retries: BTreeMap<&'static str, u64>,
}

static COUNTS: Mutex<CallCounts> = Mutex::new(CallCounts {
    calls: BTreeMap::new(),
    retries: BTreeMap::new(),
});

pub(crate) fn record(system: &'static str, outcome: CallOutcome) {
    if let Ok(mut counts) = COUNTS.lock() {
        *counts.calls.entry((system, outcome)).or_default() += 1;
    }
}

pub(crate) fn record_retry(system: &'static str) {
    if let Ok(mut counts) = COUNTS.lock() {
        *counts.retries.entry(system).or_default() += 1;
    }
}

/// The counts so far.
pub fn counts() -> CallCounts {
    COUNTS.lock().map(|c| c.clone()).unwrap_or_default()
}
