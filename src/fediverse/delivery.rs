//! Publishing (writing activities and their delivery rows, optionally in the
//! caller's transaction) and the delivery worker that drains the queue.
//!
//! Retry rules, the same for ActivityPub inboxes and the Mastodon API:
//! 2xx → `delivered`; 408, 429, 5xx, timeouts and connection errors → retry
//! with exponential backoff (from the row's attempt count, so it continues
//! across restarts); other 4xx and 3xx → `failed` (logged at warn); a 410
//! from an inbox also removes the followers behind it; still failing after
//! `dead_after` → `dead`.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::Value;
use tracing::Instrument;
use url::Url;

use super::signatures::{check_remote_url, signed_post};
use super::{Composer, Fediverse, FediverseError};
use crate::model::{PreparedActivity, StoryPost};
use crate::store::fed::FinalState;
use crate::store::fed::{Channel, DeliveryRow};

/// First retry delay; doubles per attempt.
pub const BACKOFF_BASE: Duration = Duration::from_secs(30);
/// Longest delay between two attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(6 * 60 * 60);
/// A claimed row is retried after this if the worker dies mid-send.
pub const CLAIM_LEASE: Duration = Duration::from_secs(5 * 60);
/// Per-request timeout of a delivery.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Delay before attempt `attempts + 1`, with up to 10% jitter so inboxes
/// that failed together do not get retried in lockstep.
pub fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let base = BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(exp))
        .min(BACKOFF_MAX);
    let jitter = base.mul_f64(rand::random::<f64>() * 0.1);
    base + jitter
}

/// What one `deliver_once` pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
    pub dead: usize,
}

enum Outcome {
    Delivered(u16),
    Retry(Option<u16>, String),
    Failed(Option<u16>, String),
    Gone(String),
}

impl Fediverse {
    /// Publishes a story: stores the Note and its `Create`, and queues it
    /// once per distinct follower inbox (and for the Mastodon API if set).
    /// Idempotent: publishing the same story again queues nothing new.
    pub async fn enqueue_create(&self, post: &StoryPost) -> Result<u64, FediverseError> {
        let prepared = self.prepare_create(post)?;
        self.enqueue(&prepared).await
    }

    /// Applies a prepared activity in its own transaction and wakes the worker.
    async fn enqueue(&self, prepared: &PreparedActivity) -> Result<u64, FediverseError> {
        let n = self
            .inner
            .store
            .apply_prepared(prepared, Utc::now())
            .await?;
        self.inner.wake.notify_one();
        Ok(n)
    }

    /// The rows publishing `post` writes, as data: see [`Composer`].
    pub fn prepare_create(&self, post: &StoryPost) -> Result<PreparedActivity, FediverseError> {
        self.inner.composer.prepare_create(post)
    }

    /// An edited story's rows, as data: see [`Composer::prepare_update`].
    pub fn prepare_update(&self, post: &StoryPost) -> Result<PreparedActivity, FediverseError> {
        self.inner.composer.prepare_update(post)
    }

    /// A removed story: tombstones the Note (its URL answers 410) and sends `Delete`.
    pub async fn enqueue_delete(&self, story_id: &str) -> Result<u64, FediverseError> {
        let prepared = self.prepare_delete(story_id, Utc::now())?;
        self.enqueue(&prepared).await
    }

    /// A removed story's rows, as data: see [`Composer::prepare_delete`].
    pub fn prepare_delete(
        &self,
        story_id: &str,
        now: DateTime<Utc>,
    ) -> Result<PreparedActivity, FediverseError> {
        self.inner.composer.prepare_delete(story_id, now)
    }

    /// The pure half of publishing: composes activities as data, holds no
    /// network handle (what the publisher keeps in the settings snapshot).
    pub fn composer(&self) -> &Composer {
        &self.inner.composer
    }

    /// Tells the worker loop that rows were queued (after an outside commit).
    pub fn wake_worker(&self) {
        self.inner.wake.notify_one();
    }

    /// One pass over the queue: claims every row due at `now` (in batches),
    /// sends them with at most `delivery_concurrency` in flight, and records
    /// each outcome. Tests call this directly with a chosen `now`.
    pub async fn deliver_once(&self, now: DateTime<Utc>) -> Result<DeliveryReport, FediverseError> {
        let concurrency = self.inner.settings.delivery_concurrency.max(1);
        let batch = i64::try_from(concurrency.saturating_mul(16).max(256)).unwrap_or(256);
        let mut report = DeliveryReport::default();
        loop {
            let rows = self.inner.store.claim_due(now, batch, CLAIM_LEASE).await?;
            if rows.is_empty() {
                return Ok(report);
            }
            let mut results = futures_util::stream::iter(rows)
                .map(|row| async move {
                    let outcome = self.send(&row).await;
                    (row, outcome)
                })
                .buffer_unordered(concurrency);
            while let Some((row, outcome)) = results.next().await {
                self.record(&row, outcome, now, &mut report).await?;
            }
        }
    }

    async fn record(
        &self,
        row: &DeliveryRow,
        outcome: Outcome,
        now: DateTime<Utc>,
        report: &mut DeliveryReport,
    ) -> Result<(), FediverseError> {
        let span = tracing::info_span!("delivery", inbox = %row.target, activity.id = %row.activity_id, attempt = row.attempts);
        self.record_inner(row, outcome, now, report)
            .instrument(span)
            .await
    }

    async fn record_inner(
        &self,
        row: &DeliveryRow,
        outcome: Outcome,
        now: DateTime<Utc>,
        report: &mut DeliveryReport,
    ) -> Result<(), FediverseError> {
        let store = &self.inner.store;
        match outcome {
            Outcome::Delivered(status) => {
                store.mark_delivered(row.id, status, now).await?;
                report.delivered += 1;
            }
            Outcome::Failed(status, err) => {
                tracing::warn!(status, error = %err, "delivery refused; not retrying");
                store
                    .mark_final(row.id, FinalState::Failed, status, &err)
                    .await?;
                report.failed += 1;
            }
            Outcome::Gone(err) => {
                let removed = if row.channel == Channel::ActivityPub {
                    store.remove_followers_by_inbox(&row.target).await?
                } else {
                    0
                };
                tracing::warn!(removed_followers = removed, "inbox is gone (410)");
                store
                    .mark_final(row.id, FinalState::Failed, Some(410), &err)
                    .await?;
                report.failed += 1;
            }
            Outcome::Retry(status, err) => {
                let age = (now - row.created_at).to_std().unwrap_or_default();
                if age >= self.inner.settings.dead_after {
                    tracing::warn!(status, error = %err, "delivery dead after retries");
                    store
                        .mark_final(row.id, FinalState::Dead, status, &err)
                        .await?;
                    report.dead += 1;
                } else {
                    let delay = backoff(row.attempts);
                    let next = now + chrono::Duration::from_std(delay).unwrap_or_default();
                    tracing::info!(status, error = %err, retry_in_s = delay.as_secs(), "delivery will be retried");
                    store.mark_retry(row.id, next, status, &err).await?;
                    report.retried += 1;
                }
            }
        }
        Ok(())
    }

    async fn send(&self, row: &DeliveryRow) -> Outcome {
        let result = match row.channel {
            Channel::ActivityPub => self.send_activity(row).await,
            Channel::MastodonApi => self.send_mastodon(row).await,
        };
        match result {
            Ok(resp) => classify(resp.status().as_u16()),
            Err(SendError::Refused(e)) => Outcome::Failed(None, e),
            Err(SendError::Transient(e)) => Outcome::Retry(None, e),
        }
    }

    async fn send_activity(&self, row: &DeliveryRow) -> Result<reqwest::Response, SendError> {
        let inbox = Url::parse(&row.target).map_err(|e| SendError::Refused(e.to_string()))?;
        if self.inner.is_blocked_url(inbox.as_str()) {
            return Err(SendError::Refused("domain blocked".into()));
        }
        let data = self.data();
        check_remote_url(&inbox, &data)
            .await
            .map_err(|e| SendError::Refused(e.to_string()))?;
        let req = signed_post(&data, &inbox, Bytes::from(row.body.clone().into_bytes()))
            .await
            .map_err(|e| SendError::Transient(e.to_string()))?;
        let fut = self.inner.client.execute(req);
        match tokio::time::timeout(self.delivery_timeout, fut).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(SendError::Transient(e.to_string())),
            Err(_) => Err(SendError::Transient("timed out".into())),
        }
    }

    /// `POST {instance}/api/v1/statuses` with the bearer token; the row id is
    /// the `Idempotency-Key`, so a retry after a lost response does not post twice.
    async fn send_mastodon(&self, row: &DeliveryRow) -> Result<reqwest::Response, SendError> {
        let Some(m) = &self.inner.mastodon else {
            return Err(SendError::Refused(
                "Mastodon API publisher not configured".into(),
            ));
        };
        let url = m
            .instance
            .join("api/v1/statuses")
            .map_err(|e| SendError::Refused(e.to_string()))?;
        let body: Value =
            serde_json::from_str(&row.body).map_err(|e| SendError::Refused(e.to_string()))?;
        // The instance URL comes from the operator (trusted), so this uses a
        // plain client rather than the private-address-refusing one.
        let client = reqwest::Client::builder()
            .timeout(self.delivery_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SendError::Transient(e.to_string()))?;
        client
            .post(url)
            .bearer_auth(&m.token)
            .header("Idempotency-Key", row.id.to_string())
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::Transient(e.without_url().to_string()))
    }

    /// Drains the queue until `shutdown` resolves: a pass whenever rows are
    /// queued (woken by publishers) or the earliest retry falls due.
    ///
    /// A failing pass (the store errs or is locked, or a pass panics) never
    /// ends the worker: the first failure is logged at ERROR, repeats at
    /// DEBUG, the recovery at INFO, and the next pass waits
    /// [`store_backoff`] (1 s doubling to 60 s), deaf to wake-ups meanwhile.
    pub async fn run_delivery_worker(&self, shutdown: impl Future<Output = ()>) {
        use futures_util::FutureExt;
        tokio::pin!(shutdown);
        let mut failures: u32 = 0;
        loop {
            let pass = std::panic::AssertUnwindSafe(self.deliver_once(Utc::now()))
                .catch_unwind()
                .await;
            let error = match pass {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some("the delivery pass panicked".to_string()),
            };
            let sleep_for = match error {
                Some(e) => {
                    failures = failures.saturating_add(1);
                    let wait = store_backoff(failures);
                    if failures == 1 {
                        tracing::error!(error = %e, retry_in_secs = wait.as_secs(), "delivery pass failed; retried with backoff");
                    } else {
                        tracing::debug!(error = %e, failures, retry_in_secs = wait.as_secs(), "delivery pass still fails");
                    }
                    wait
                }
                None => {
                    if failures > 0 {
                        tracing::info!(failures, "delivery passes work again");
                    }
                    failures = 0;
                    match self.inner.store.next_due_at().await {
                        Ok(Some(t)) => (t - Utc::now())
                            .to_std()
                            .unwrap_or_default()
                            .min(Duration::from_secs(60)),
                        _ => Duration::from_secs(60),
                    }
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = self.inner.wake.notified(), if failures == 0 => {}
                () = tokio::time::sleep(sleep_for.max(Duration::from_millis(50))) => {}
            }
        }
    }
}

/// The wait before the delivery worker's next pass after `failures` failed
/// passes in a row: 1 s, 2 s, 4 s … at most 60 s.
pub fn store_backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

enum SendError {
    Refused(String),
    Transient(String),
}

fn classify(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered(status),
        410 => Outcome::Gone(format!("HTTP {status}")),
        408 | 429 => Outcome::Retry(Some(status), format!("HTTP {status}")),
        300..=499 => Outcome::Failed(Some(status), format!("HTTP {status}")),
        _ => Outcome::Retry(Some(status), format!("HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap_with_at_most_ten_percent_jitter() {
        for _ in 0..50 {
            for (attempts, base) in [
                (0, BACKOFF_BASE),
                (1, BACKOFF_BASE),
                (2, BACKOFF_BASE * 2),
                (3, BACKOFF_BASE * 4),
                (1000, BACKOFF_MAX),
            ] {
                let d = backoff(attempts);
                let want = base.min(BACKOFF_MAX);
                assert!(
                    d >= want && d <= want.mul_f64(1.1),
                    "{attempts}: {d:?} vs {want:?}"
                );
            }
        }
    }

    #[test]
    fn classify_sorts_answers_into_delivered_retry_gone_and_failed() {
        let kind = |s: u16| match classify(s) {
            Outcome::Delivered(x) => ("delivered", Some(x)),
            Outcome::Retry(x, _) => ("retry", x),
            Outcome::Gone(_) => ("gone", None),
            Outcome::Failed(x, _) => ("failed", x),
        };
        assert_eq!(kind(200), ("delivered", Some(200)));
        assert_eq!(kind(202), ("delivered", Some(202)));
        assert_eq!(kind(299), ("delivered", Some(299)));
        assert_eq!(kind(410), ("gone", None));
        assert_eq!(kind(408), ("retry", Some(408)));
        assert_eq!(kind(429), ("retry", Some(429)));
        assert_eq!(kind(300), ("failed", Some(300)));
        assert_eq!(kind(301), ("failed", Some(301)));
        assert_eq!(kind(400), ("failed", Some(400)));
        assert_eq!(kind(401), ("failed", Some(401)));
        assert_eq!(kind(499), ("failed", Some(499)));
        assert_eq!(kind(500), ("retry", Some(500)));
        assert_eq!(kind(503), ("retry", Some(503)));
        assert_eq!(kind(199), ("retry", Some(199)));
    }

    #[test]
    fn the_worker_backs_off_from_1_s_doubling_to_60_s() {
        let waits: Vec<u64> = (1..=9).map(|n| store_backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(store_backoff(u32::MAX).as_secs(), 60);
    }
}
