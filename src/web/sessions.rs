//! Admin sign-in sessions and the limit on failed sign-ins.
//!
//! Signing in creates a random, server-side session id (256 bits); the
//! cookie carries only that id, never the token. A session ends after
//! [`SESSION_TTL`], on sign-out, when the daemon restarts, and when the
//! configured token changes. Failed sign-ins are limited to
//! [`MAX_FAILURES`] per [`FAILURE_WINDOW`] (for everyone: the server sits
//! behind a proxy and sees no client addresses it could trust); past that,
//! sign-in answers 429 until the window has passed. `Authorization: Bearer`
//! is not affected.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a sign-in lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Failed sign-ins allowed per window.
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

struct Session {
    expires: Instant,
    /// Digest of the token the session was opened with.
    token: [u8; 32],
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Session>,
    failures: VecDeque<Instant>,
}

/// The daemon's admin sessions and recent failed sign-ins.
#[derive(Default)]
pub struct Sessions {
    state: Mutex<State>,
}

fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(format!("feedwatch-session:{token}").as_bytes()).into()
}

impl Sessions {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Opens a session for the holder of `token`; returns its id.
    pub fn open(&self, token: &str) -> String {
        self.open_at(token, Instant::now())
    }

    fn open_at(&self, token: &str, now: Instant) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let id = hex::encode(bytes);
        self.with(|s| {
            s.sessions.retain(|_, v| v.expires > now);
            s.sessions.insert(
                id.clone(),
                Session {
                    expires: now + SESSION_TTL,
                    token: token_digest(token),
                },
            );
        });
        id
    }

    /// Whether `id` is a live session opened with the token now configured.
    pub fn valid(&self, id: &str, token: &str) -> bool {
        self.valid_at(id, token, Instant::now())
    }

    fn valid_at(&self, id: &str, token: &str, now: Instant) -> bool {
        let want = token_digest(token);
        self.with(|s| {
            s.sessions
                .get(id)
                .is_some_and(|v| v.expires > now && v.token == want)
        })
    }

    pub fn close(&self, id: &str) {
        self.with(|s| {
            s.sessions.remove(id);
        });
    }

    /// Whether a sign-in may be tried now (fewer than the allowed failures
    /// in the window).
    pub fn may_try_login(&self) -> bool {
        self.may_try_login_at(Instant::now())
    }

    fn may_try_login_at(&self, now: Instant) -> bool {
        self.with(|s| {
            while s
                .failures
                .front()
                .is_some_and(|t| now.duration_since(*t) > FAILURE_WINDOW)
            {
                s.failures.pop_front();
            }
            s.failures.len() < MAX_FAILURES
        })
    }

    pub fn login_failed(&self) {
        self.login_failed_at(Instant::now());
    }

    fn login_failed_at(&self, now: Instant) {
        self.with(|s| s.failures.push_back(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_random_bound_to_the_token_and_closable() {
        let sessions = Sessions::default();
        let (open, valid) = (
            |t: &str| sessions.open(t),
            |id: &str, t: &str| sessions.valid(id, t),
        );
        let a = open("secret");
        let b = open("secret");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(!a.contains("secret"));
        assert!(valid(&a, "secret"));
        assert!(!valid(&a, "rotated"), "a token change ends sessions");
        assert!(!valid("not-a-session", "secret"));
        sessions.close(&a);
        assert!(!valid(&a, "secret"));
        assert!(valid(&b, "secret"));
    }

    #[test]
    fn failed_sign_ins_are_limited() {
        let sessions = Sessions::default();
        for _ in 0..MAX_FAILURES {
            assert!(sessions.may_try_login());
            sessions.login_failed();
        }
        assert!(!sessions.may_try_login());
    }

    #[test]
    fn a_session_lasts_twelve_hours_and_expired_ones_are_dropped() {
        assert_eq!(SESSION_TTL, Duration::from_secs(12 * 60 * 60));
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        let a = sessions.open_at("secret", t0);
        assert!(sessions.valid_at(&a, "secret", t0 + SESSION_TTL - second));
        assert!(!sessions.valid_at(&a, "secret", t0 + SESSION_TTL));
        let live = || sessions.with(|s| s.sessions.len());
        let b = sessions.open_at("secret", t0 + SESSION_TTL - second);
        assert_eq!(live(), 2, "a is still live");
        let c = sessions.open_at("secret", t0 + SESSION_TTL);
        assert_eq!(live(), 2, "opening a session drops the expired a");
        assert!(sessions.valid_at(&b, "secret", t0 + SESSION_TTL));
        assert!(sessions.valid_at(&c, "secret", t0 + SESSION_TTL));
    }

    #[test]
    fn failed_sign_ins_are_forgotten_after_the_window() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES {
            sessions.login_failed_at(t0);
        }
        assert!(!sessions.may_try_login_at(t0 + FAILURE_WINDOW));
        assert!(sessions.may_try_login_at(t0 + FAILURE_WINDOW + Duration::from_secs(1)));
        // The old failures are gone: four new ones still leave one try.
        let later = t0 + FAILURE_WINDOW * 2;
        for _ in 1..MAX_FAILURES {
            sessions.login_failed_at(later);
        }
        assert!(sessions.may_try_login_at(later));
        sessions.login_failed_at(later);
        assert!(!sessions.may_try_login_at(later));
    }
}
