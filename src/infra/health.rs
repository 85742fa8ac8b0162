//! Whether the store is failing for the daemon, and when to try it again.
//!
//! The scheduler marks each store failure and each success here. While the
//! store fails, `/readyz` answers 503 and the scheduler skips ticks with an
//! exponential backoff; the first success clears it and `/readyz` is 200.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// First pause after a store failure; doubles per failure.
const BASE: Duration = Duration::from_secs(2);
/// Longest pause between attempts while the store fails.
const MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
pub struct StoreHealth {
    state: Mutex<State>,
}

#[derive(Debug, Default, Clone)]
struct State {
    failures: u32,
    retry_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

/// What [`StoreHealth::failed`] decided.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Consecutive failures, this one included.
    pub failures: u32,
    pub retry_in: Duration,
    /// The same error as the previous failure (log it quietly).
    pub repeated: bool,
}

impl StoreHealth {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Records a store failure at `now`.
    pub fn failed(&self, error: &str, now: DateTime<Utc>) -> Failure {
        self.with(|s| {
            s.failures = s.failures.saturating_add(1);
            let exp = s.failures.saturating_sub(1).min(16);
            let retry_in = BASE.saturating_mul(1u32 << exp).min(MAX);
            s.retry_at = Some(now + chrono::Duration::from_std(retry_in).unwrap_or_default());
            let repeated = s.last_error.as_deref() == Some(error);
            s.last_error = Some(error.to_string());
            Failure {
                failures: s.failures,
                retry_in,
                repeated,
            }
        })
    }

    /// Records a success; true when it ends a run of failures.
    pub fn ok(&self) -> bool {
        self.with(|s| {
            let was_failing = s.failures > 0;
            *s = State::default();
            was_failing
        })
    }

    pub fn is_failing(&self) -> bool {
        self.with(|s| s.failures > 0)
    }

    /// Whether the store may be tried at `now` (the backoff has passed).
    pub fn may_try(&self, now: DateTime<Utc>) -> bool {
        self.with(|s| s.retry_at.is_none_or(|t| t <= now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_and_clears_on_success() {
        let h = StoreHealth::default();
        let now = Utc::now();
        assert!(!h.is_failing() && h.may_try(now));
        let f1 = h.failed("database is locked", now);
        assert_eq!((f1.failures, f1.retry_in, f1.repeated), (1, BASE, false));
        assert!(h.is_failing());
        assert!(!h.may_try(now + chrono::Duration::seconds(1)));
        assert!(h.may_try(now + chrono::Duration::seconds(2)));
        let f2 = h.failed("database is locked", now);
        assert_eq!((f2.failures, f2.retry_in, f2.repeated), (2, BASE * 2, true));
        for _ in 0..20 {
            h.failed("other", now);
        }
        assert_eq!(h.failed("other", now).retry_in, MAX);
        assert!(h.ok());
        assert!(!h.is_failing() && h.may_try(now));
        assert!(!h.ok());
    }
}
