//! A circuit breaker per outside system: after a run of failures it opens, and calls fail at
//! once (no waiting on a system known to be down) until a cool-down has passed; then one call
//! is let through, and its outcome closes or reopens the circuit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct CircuitBreaker {
    failures_to_open: u32,
    open_for: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

impl CircuitBreaker {
    pub fn new(failures_to_open: u32, open_for: Duration) -> Self {
        Self {
            failures_to_open: failures_to_open.max(1),
            open_for,
            state: Mutex::default(),
        }
    }

    /// Whether a call may go out at `now`; `Err` with the time left while open. Once the
    /// cool-down is over, one call goes out (the circuit stays marked open until it succeeds).
    pub fn allow(&self, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.open_until {
            Some(until) if now < until => Err(until - now),
            Some(_) => {
                // Half-open: this call is the trial; others wait for its outcome.
                state.open_until = Some(now + self.open_for);
                Ok(())
            }
            None => Ok(()),
        }
    }

    pub fn success(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state = State::default();
    }

    pub fn failure(&self, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        if state.consecutive_failures >= self.failures_to_open {
            state.open_until = Some(now + self.open_for);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_a_run_of_failures_and_closes_after_a_good_trial() {
        let breaker = CircuitBreaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..2 {
            breaker.failure(t0);
            assert!(breaker.allow(t0).is_ok(), "two failures are not a run");
        }
        breaker.failure(t0);
        assert!(breaker.allow(t0 + Duration::from_secs(1)).is_err(), "open");
        let trial = t0 + Duration::from_secs(11);
        assert!(
            breaker.allow(trial).is_ok(),
            "one trial after the cool-down"
        );
        assert!(breaker.allow(trial).is_err(), "and only one");
        breaker.success();
        assert!(breaker.allow(trial).is_ok(), "closed again");
    }

    #[test]
    fn a_failed_trial_reopens() {
        let breaker = CircuitBreaker::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        breaker.failure(t0);
        let trial = t0 + Duration::from_secs(10);
        assert!(breaker.allow(trial).is_ok());
        breaker.failure(trial);
        assert!(breaker.allow(trial + Duration::from_secs(5)).is_err());
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = CircuitBreaker::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        breaker.failure(t0);
        breaker.success();
        breaker.failure(t0);
        assert!(breaker.allow(t0).is_ok());
    }
}
