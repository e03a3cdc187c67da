//! When a message is tried again: exponential backoff with jitter, up to a number of attempts.

use super::AttemptOutcome;
use chrono::{DateTime, TimeDelta, Utc};

/// The retry schedule of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt.
    pub base: TimeDelta,
    /// No wait is longer than this.
    pub max_delay: TimeDelta,
    /// After this many failed attempts the message fails for good.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 30 s, 1 min, 2 min … capped at 1 h, 8 attempts: about two hours of trying.
    fn default() -> Self {
        Self {
            base: TimeDelta::seconds(30),
            max_delay: TimeDelta::hours(1),
            max_attempts: 8,
        }
    }
}

/// What to do with a message after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    Sent { reference: Option<String> },
    RetryAt { at: DateTime<Utc>, reason: String },
    Fail { reason: String },
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`, after `attempts` failed ones: half of
    /// `base · 2^(attempts-1)` (capped) fixed, the other half scaled by `jitter_permille`
    /// (0–1000, random, from the caller) so that many failed messages do not return together.
    pub fn delay(&self, attempts: u32, jitter_permille: u32) -> TimeDelta {
        let doublings = attempts.saturating_sub(1).min(30);
        let exponential = self
            .base
            .checked_mul(1_i32 << doublings)
            .unwrap_or(self.max_delay);
        let capped = exponential.min(self.max_delay);
        let half = capped / 2;
        let jitter_permille = i32::try_from(jitter_permille.min(1000)).unwrap_or(1000);
        let jitter = (capped - half) * jitter_permille / 1000;
        half + jitter
    }

    /// The next step after attempt number `attempts` (counting this one) came to `outcome`.
    pub fn after(
        &self,
        attempts: u32,
        outcome: AttemptOutcome,
        now: DateTime<Utc>,
        jitter_permille: u32,
    ) -> NextStep {
        match outcome {
            AttemptOutcome::Sent { reference } => NextStep::Sent { reference },
            AttemptOutcome::Permanent(reason) => NextStep::Fail { reason },
            AttemptOutcome::Transient(reason) if attempts >= self.max_attempts => NextStep::Fail {
                reason: format!("{reason} (gave up after {attempts} attempts)"),
            },
            AttemptOutcome::Transient(reason) => NextStep::RetryAt {
                at: now + self.delay(attempts, jitter_permille),
                reason,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: TimeDelta::seconds(10),
            max_delay: TimeDelta::seconds(300),
            max_attempts: 5,
        }
    }

    #[test]
    fn delays_double_and_stop_at_the_cap() {
        let p = policy();
        let full: Vec<i64> = (1..=7).map(|a| p.delay(a, 1000).num_seconds()).collect();
        assert_eq!(full, vec![10, 20, 40, 80, 160, 300, 300]);
        let none: Vec<i64> = (1..=3).map(|a| p.delay(a, 0).num_seconds()).collect();
        assert_eq!(none, vec![5, 10, 20]);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        assert_eq!(policy().delay(u32::MAX, 1000), TimeDelta::seconds(300));
    }

    #[test]
    fn transient_failures_retry_until_the_last_attempt() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let p = policy();
        let transient = || AttemptOutcome::Transient("503".into());
        assert!(matches!(
            p.after(4, transient(), now, 0),
            NextStep::RetryAt { .. }
        ));
        assert!(matches!(
            p.after(5, transient(), now, 0),
            NextStep::Fail { .. }
        ));
        assert!(matches!(
            p.after(1, AttemptOutcome::Permanent("400".into()), now, 0),
            NextStep::Fail { .. }
        ));
        assert_eq!(
            p.after(1, AttemptOutcome::Sent { reference: None }, now, 0),
            NextStep::Sent { reference: None }
        );
    }

    proptest! {
        #[test]
        fn a_delay_lies_between_half_and_all_of_the_backoff(attempts in 1_u32..40, jitter in 0_u32..=1000) {
            let p = policy();
            let delay = p.delay(attempts, jitter);
            let ceiling = p.delay(attempts, 1000);
            prop_assert!(delay <= ceiling);
            prop_assert!(delay * 2 >= ceiling);
            prop_assert!(delay <= p.max_delay);
            prop_assert!(delay > TimeDelta::zero());
        }
    }
}
