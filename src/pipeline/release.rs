//! Releasing waiting stories under the posting cap: the scheduler tick and
//! `run --once` call [`Ingest::release`] with their `now` (tests pass their
//! own, so they move the clock instead of sleeping).

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::pipeline::schedule::Ingest;
use crate::store::StoreError;
use crate::store::queue::QueueState;

/// What one release pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReleaseReport {
    /// Stories published now.
    pub released: u32,
    /// Waiting stories dropped because their lead item passed `max_age`.
    pub stale: u64,
    /// Stories still waiting for a later hour.
    pub waiting: u64,
    /// Published stories whose deferred outlets `Update` was sent now.
    pub updated: u32,
}

/// The most stories one pass publishes when there is no cap (a backlog
/// drains over a few passes instead of one huge burst of work).
const MAX_PER_PASS: u32 = 500;

impl Ingest {
    /// Drops stale waiting stories, then publishes as many waiting stories,
    /// oldest first, as the posting cap allows at `now`: each in its own
    /// transaction with its feed entry, `Create` and deliveries.
    pub async fn release(&self, now: DateTime<Utc>) -> Result<ReleaseReport, StoreError> {
        let live = self.live();
        let gate = live.gate;
        let mut report = ReleaseReport::default();
        {
            // Counting and publishing are one decision: no commit in between.
            let _serialized = self.commit_lock.lock().await;
            if let Some(max_age) = gate.max_age {
                let limit = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
                report.stale = self.store.mark_stale(now - limit, now).await?;
                if report.stale > 0 {
                    info!(
                        stories = report.stale,
                        "waiting stories dropped as stale (older than max_age)"
                    );
                }
            }
            let posted = self
                .store
                .stories_posted_since(now - chrono::Duration::hours(1))
                .await?;
            let allowance = gate.allowance(posted).map_or(MAX_PER_PASS, |a| {
                u32::try_from(a).unwrap_or(MAX_PER_PASS).min(MAX_PER_PASS)
            });
            if allowance > 0 {
                for q in self.store.queued(QueueState::Waiting, allowance).await? {
                    let Some(stored) = self.store.stored_item(&q.story_id).await? else {
                        warn!(story.id = %q.story_id, "waiting story has no lead item; dropped");
                        self.store.drop_queued(&q.story_id).await?;
                        continue;
                    };
                    let article = match (&stored.item.link, live.fetch_articles) {
                        (Some(link), true) => self.store.article_page(link).await?.flatten(),
                        _ => None,
                    };
                    // The lead item's own date, never later than now.
                    let date = q.lead_date.min(now);
                    // Outlets that joined while it waited are named from the start.
                    let outlets = self.store.story_outlets(&q.story_id).await?;
                    let Some(publication) =
                        live.publisher
                            .new_story(&stored.item, &outlets, article.as_deref(), date)
                    else {
                        self.store.drop_queued(&q.story_id).await?;
                        continue;
                    };
                    if self
                        .store
                        .release_story(&q.story_id, &publication, now)
                        .await?
                    {
                        report.released += 1;
                    }
                }
            }
            report.waiting = self.store.queue_counts().await?.0;
            report.updated = self.send_pending_outlets(&live, now).await?;
        }
        if report.updated > 0 {
            info!(
                stories = report.updated,
                "deferred Updates sent: outlets that joined within the hour"
            );
            if report.released == 0 {
                if let Some(f) = self.settings.fediverse() {
                    f.wake_worker();
                }
                self.published.notify_waiters();
            }
        }
        if report.released > 0 {
            self.metrics
                .items_published
                .inc_by(u64::from(report.released));
            info!(
                stories = report.released,
                waiting = report.waiting,
                "stories published"
            );
            if let Some(f) = self.settings.fediverse() {
                f.wake_worker();
            }
            self.published.notify_waiters();
        } else if report.waiting > 0 {
            tracing::debug!(
                waiting = report.waiting,
                "posting cap reached; stories wait"
            );
        }
        Ok(report)
    }

    /// Published stories that other outlets joined within the hour after
    /// their last outlets `Update`: once that hour has passed, one `Update`
    /// naming every outlet. Returns how many were sent. The caller holds
    /// the commit lock.
    async fn send_pending_outlets(
        &self,
        live: &crate::pipeline::schedule::Live,
        now: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        if !live.publisher.update_on_new_outlet {
            return Ok(0); // kept pending: sent if updates are turned on again
        }
        let due = now - chrono::Duration::hours(1);
        let mut sent = 0;
        for story in self.store.outlets_pending_due(due, MAX_PER_PASS).await? {
            let Some((entry, outlets, categories)) = self.store.story_for_outlets(&story).await?
            else {
                self.store.clear_outlets_pending(&story).await?;
                continue;
            };
            let Some(publication) =
                live.publisher
                    .outlets_update(&entry, &categories, &outlets, now)
            else {
                self.store.clear_outlets_pending(&story).await?;
                continue;
            };
            if self.store.apply_outlets_update(&publication, now).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }
}
