//! The ingest cycle: which feeds are due, polling each one (fetch, parse,
//! normalize, store), and when to check it next.
//!
//! One poll is one transaction in the store, so a crash or a shutdown at any
//! point leaves each feed either fully recorded or untouched. A failing feed
//! backs off exponentially on its own and never holds up the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::config::ScheduleConfig;
use crate::dedupe::{self, STORY_WINDOW_HOURS};
use crate::fetch::{FetchError, FetchOutcome, Fetcher, Validators};
use crate::item::{Item, normalize};
use crate::matching::{Candidate, Decision, Topic};
use crate::parse::{ParseError, parse_feed};
use crate::publish::story::Publisher;
use crate::sources::FeedSource;
use crate::store::{
    Existing, FeedState, ItemRecord, PollOutcome, PollRecord, Publication, Store, StoreError,
    StoryAssignment, UpsertCounts,
};

/// What polling needs, shared by every task of a cycle.
#[derive(Clone)]
pub struct Ingest {
    pub store: Store,
    pub fetcher: Fetcher,
    /// What a config reload replaces; polls in flight keep what they read.
    pub live: Arc<std::sync::RwLock<Live>>,
    /// Article links come from feeds; private addresses only in test setups.
    pub allow_private: bool,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Woken after a commit that published something (feed files, tests).
    pub published: Arc<tokio::sync::Notify>,
    /// Story assignment reads recent stories and then writes: polls of
    /// different feeds run concurrently, so that read-then-write is
    /// serialized or two outlets' reports of one story would start two.
    pub commit_lock: Arc<tokio::sync::Mutex<()>>,
}

/// The reloadable part of the ingest settings (SIGHUP, the dashboard).
#[derive(Clone)]
pub struct Live {
    pub schedule: Arc<ScheduleConfig>,
    pub topic: Arc<Topic>,
    pub publisher: Arc<Publisher>,
    /// Fetch article pages of new stories for their summaries.
    pub fetch_articles: bool,
    /// The age gate and the posting cap (`[publish] max_age`, `max_per_hour`).
    pub gate: crate::publish::gate::Gate,
}

/// Why a poll failed, as recorded on the feed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("fetch: {0}")]
    Fetch(#[from] FetchError),
    #[error("parse: {0}")]
    Parse(#[from] ParseError),
    #[error("this feed's rules do not compile: {0}")]
    Rules(String),
}

/// The result of polling one feed.
#[derive(Debug, Clone)]
pub struct PollReport {
    pub feed_url: String,
    pub outcome: PollOutcome,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub counts: UpsertCounts,
    pub items_in_feed: usize,
    pub next_check_at: DateTime<Utc>,
}

/// Totals of one cycle.
#[derive(Debug, Clone, Default)]
pub struct CycleReport {
    pub polled: usize,
    pub ok: usize,
    pub not_modified: usize,
    pub failed: usize,
    pub inserted: u32,
    pub updated: u32,
    pub reports: Vec<PollReport>,
}

impl Ingest {
    /// A snapshot of the live settings.
    pub fn live(&self) -> Live {
        match self.live.read() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the live settings; polls already running finish with the old.
    pub fn replace_live(&self, live: Live) {
        match self.live.write() {
            Ok(mut l) => *l = live,
            Err(poisoned) => *poisoned.into_inner() = live,
        }
    }

    /// The topic in force.
    pub fn topic(&self) -> Arc<Topic> {
        self.live().topic
    }

    /// Polls one feed and records the outcome. Only a store failure is an
    /// error here; fetch and parse failures are recorded on the feed.
    pub async fn poll_once(
        &self,
        feed: &FeedSource,
        now: DateTime<Utc>,
    ) -> Result<PollReport, StoreError> {
        let state = self
            .store
            .feed_state(feed.url.as_str())
            .await?
            .unwrap_or_default();
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let started = std::time::Instant::now();
        let result = self.fetch_and_parse(feed, &validators, now).await;
        self.metrics
            .fetch_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics.fetch(match &result {
            Ok(Polled::Items { .. }) => "ok",
            Ok(Polled::NotModified { .. }) => "not_modified",
            Err(PollError::Fetch(f)) => f.kind(),
            Err(PollError::Parse(_)) => "parse",
            Err(PollError::Rules(_)) => "rules",
        });
        if let Ok(Polled::Items { items, .. }) = &result {
            self.metrics.items_seen.inc_by(items.len() as u64);
        }
        let interval = feed.interval.unwrap_or(self.live().schedule.interval);
        let (record, items) = match result {
            Ok(Polled::Items {
                items,
                status,
                validators,
                floor,
            }) => {
                let record = PollRecord {
                    at: now,
                    outcome: PollOutcome::Ok,
                    status: Some(status),
                    error: None,
                    etag: validators.etag,
                    last_modified: validators.last_modified,
                    error_count: 0,
                    next_check_at: now + to_chrono(interval.max(self.cap_floor(floor))),
                    item_count: u32::try_from(items.len()).ok(),
                };
                (record, items)
            }
            Ok(Polled::NotModified { floor }) => (
                PollRecord {
                    at: now,
                    outcome: PollOutcome::NotModified,
                    status: Some(304),
                    error: None,
                    etag: None,
                    last_modified: None,
                    error_count: 0,
                    next_check_at: now + to_chrono(interval.max(self.cap_floor(floor))),
                    item_count: None,
                },
                Vec::new(),
            ),
            Err(e) => {
                let error_count = state.error_count.saturating_add(1);
                let retry_after = match &e {
                    PollError::Fetch(f) => f.retry_after(),
                    _ => None,
                };
                let delay = backoff(&self.live().schedule, error_count, &mut rand::rng())
                    .max(self.cap_floor(retry_after));
                warn!(
                    feed.url = %feed.url,
                    error = %e,
                    consecutive_errors = error_count,
                    retry_in_secs = delay.as_secs(),
                    "feed poll failed"
                );
                (
                    PollRecord {
                        at: now,
                        outcome: PollOutcome::Error,
                        status: match &e {
                            PollError::Fetch(f) => f.status(),
                            _ => Some(200),
                        },
                        error: Some(e.to_string()),
                        etag: None,
                        last_modified: None,
                        error_count,
                        next_check_at: now + to_chrono(delay),
                        item_count: None,
                    },
                    Vec::new(),
                )
            }
        };
        let item_count = items.len();
        // Article pages are fetched before taking the lock (network time must
        // not serialize the feeds), only for items that look like new stories;
        // they are cached, and the release of each story reads them there.
        self.article_texts(&items, now).await?;
        let published;
        let counts = {
            let _serialized = self.commit_lock.lock().await;
            let ids: Vec<&str> = items.iter().map(|(i, _)| i.id.as_str()).collect();
            let existing = self.store.existing(&ids).await?;
            let since = now - chrono::Duration::hours(STORY_WINDOW_HOURS);
            let mut recent =
                dedupe::recent_stories(self.store.recent_story_fingerprints(since).await?);
            let (items, held) = self.age_gate(items, &existing, now);
            let mut records = dedupe::assign(items, &existing, &mut recent);
            mark_held(&mut records, held);
            for r in &records {
                if let Some(v) = &r.verdict {
                    tracing::debug!(feed.url = %feed.url, item.id = %r.item.id, publish = v.publish, score = v.score, reasons = %v.reasons, "item evaluated");
                }
            }
            let publications = self.publications(&records, &existing, now);
            let matched = records
                .iter()
                .filter(|r| r.verdict.as_ref().is_some_and(|v| v.publish))
                .count();
            self.metrics.items_matched.inc_by(matched as u64);
            published = publications.len();
            self.store
                .commit_poll(feed.url.as_str(), &record, &records, &publications)
                .await?
        };
        // New stories wait in the queue; publish what the posting cap allows.
        self.release(now).await?;
        if published > 0 {
            self.metrics.items_published.inc_by(published as u64);
            info!(feed.url = %feed.url, stories = published, "stories updated");
            if let Some(f) = &self.live().publisher.fediverse {
                f.wake_worker();
            }
            self.published.notify_waiters();
        }
        if record.outcome != PollOutcome::Error {
            info!(
                feed.url = %feed.url,
                outcome = ?record.outcome,
                items = item_count,
                new = counts.inserted,
                edited = counts.updated,
                "feed polled"
            );
        }
        Ok(PollReport {
            feed_url: feed.url.to_string(),
            outcome: record.outcome,
            status: record.status,
            error: record.error,
            counts,
            items_in_feed: item_count,
            next_check_at: record.next_check_at,
        })
    }

    async fn fetch_and_parse(
        &self,
        feed: &FeedSource,
        validators: &Validators,
        now: DateTime<Utc>,
    ) -> Result<Polled, PollError> {
        match self.fetcher.fetch(&feed.url, validators).await? {
            FetchOutcome::NotModified { max_age } => Ok(Polled::NotModified { floor: max_age }),
            FetchOutcome::Body(fetched) => {
                let source = feed.clone();
                let base = fetched.final_url.to_string();
                let topic = self.topic_for(feed)?;
                // Parsing and matching are CPU work; keep them off the I/O threads.
                let parsed = tokio::task::spawn_blocking(
                    move || -> Result<(Vec<Evaluated>, Option<u32>), ParseError> {
                        let parsed =
                            parse_feed(&fetched.body, fetched.charset.as_deref(), Some(&base))?;
                        let items = parsed
                            .entries
                            .iter()
                            .map(|e| {
                                let item = normalize(&parsed, e, &source, now);
                                let decision = topic.evaluate(&candidate(&item));
                                (item, decision)
                            })
                            .collect();
                        Ok((items, parsed.ttl))
                    },
                )
                .await
                .map_err(|e| ParseError::Panicked(e.to_string()))?;
                let (items, ttl) = parsed?;
                let ttl = ttl.map(|m| Duration::from_secs(u64::from(m) * 60));
                Ok(Polled::Items {
                    items,
                    status: fetched.status,
                    validators: fetched.validators,
                    floor: max_opt(fetched.max_age, ttl),
                })
            }
        }
    }

    /// The feed entries (and Fediverse activities) the committed records imply
    /// now: a replacement for each edited item that leads a published story.
    /// New stories are queued by the commit and published by [`Ingest::release`].
    fn publications(
        &self,
        records: &[ItemRecord],
        existing: &HashMap<String, Existing>,
        now: DateTime<Utc>,
    ) -> Vec<Publication> {
        let mut out = Vec::new();
        for r in records {
            let Some(v) = &r.verdict else { continue };
            if v.story == StoryAssignment::New {
                continue;
            } else if let Some(at) = existing.get(&r.item.id).and_then(|e| e.published_entry_at) {
                // Only the lead item's text is the story's text.
                out.extend(self.live().publisher.edited_story(&r.item, at, now));
            }
        }
        out
    }

    /// Main text of the article pages of items that would start a story,
    /// from the cache or fetched once (for published items only).
    async fn article_texts(
        &self,
        items: &[Evaluated],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut out = HashMap::new();
        if !self.live().fetch_articles {
            return Ok(out);
        }
        let gate = self.live().gate;
        let candidates: Vec<&Item> = items
            .iter()
            .filter(|(i, d)| d.publish && gate.hold_item(i, now).is_none())
            .map(|(i, _)| i)
            .collect();
        if candidates.is_empty() {
            return Ok(out);
        }
        let ids: Vec<&str> = candidates.iter().map(|i| i.id.as_str()).collect();
        let existing = self.store.existing(&ids).await?;
        let since = now - chrono::Duration::hours(STORY_WINDOW_HOURS);
        let recent = dedupe::recent_stories(self.store.recent_story_fingerprints(since).await?);
        for item in candidates {
            let Some(link) = item.link.as_deref() else {
                continue;
            };
            if existing.contains_key(&item.id) {
                continue;
            }
            let fp = crate::matching::StoryFingerprint::new(&item.title, &item.summary, &item.lang);
            if dedupe::best_story(&fp, &recent).is_some() {
                continue; // joins a story: no page of its own needed
            }
            if let Some(cached) = self.store.article_page(link).await? {
                if let Some(text) = cached {
                    out.insert(item.id.clone(), text);
                }
                continue;
            }
            let Ok(url) = url::Url::parse(link) else {
                continue;
            };
            let (status, text) = match self.fetcher.fetch_untrusted(&url, self.allow_private).await
            {
                Ok(page) => {
                    let status = page.status;
                    let html = String::from_utf8_lossy(&page.body).into_owned();
                    let link_owned = link.to_string();
                    let text = tokio::task::spawn_blocking(move || {
                        crate::summary::article_main_text(&html, &link_owned)
                    })
                    .await
                    .ok()
                    .flatten();
                    (Some(status), text)
                }
                Err(e) => {
                    tracing::info!(item.id = %item.id, url = %link, error = %e, "article page not used for the summary");
                    (e.status(), None)
                }
            };
            self.store
                .save_article_page(link, now, status, text.as_deref())
                .await?;
            if let Some(t) = text {
                out.insert(item.id.clone(), t);
            }
        }
        Ok(out)
    }

    /// The age gate on items seen for the first time: a relevant item older
    /// than `max_age` is stored and scored but starts no story. Returns the
    /// items (held ones no longer marked for publication) and why each held
    /// item was held.
    fn age_gate(
        &self,
        mut items: Vec<Evaluated>,
        existing: &HashMap<String, Existing>,
        now: DateTime<Utc>,
    ) -> (Vec<Evaluated>, HashMap<String, String>) {
        let gate = self.live().gate;
        let mut held = HashMap::new();
        for (item, decision) in &mut items {
            if !decision.publish || existing.contains_key(&item.id) {
                continue;
            }
            if let Some(reason) = gate.hold_item(item, now) {
                decision.publish = false;
                held.insert(item.id.clone(), reason);
            }
        }
        (items, held)
    }

    /// The topic for a feed: the shared one, or with the feed's overrides.
    pub fn topic_for(&self, feed: &FeedSource) -> Result<Arc<Topic>, PollError> {
        feed.topic(&self.topic())
            .map_err(|e| PollError::Rules(e.to_string()))
    }

    fn cap_floor(&self, floor: Option<Duration>) -> Duration {
        floor
            .unwrap_or_default()
            .min(self.live().schedule.floor_max)
    }

    /// Polls `feeds` concurrently (the fetcher bounds the concurrency). With
    /// `jitter`, each feed starts after a random delay up to the configured
    /// jitter. Cancelling `shutdown` stops feeds that have not started; the
    /// ones in flight finish and commit.
    pub async fn run_cycle(
        &self,
        feeds: Vec<FeedSource>,
        jitter: bool,
        shutdown: CancellationToken,
    ) -> Result<CycleReport, StoreError> {
        let mut set = JoinSet::new();
        for feed in feeds {
            let this = self.clone();
            let shutdown = shutdown.clone();
            let delay = if jitter && !self.live().schedule.jitter.is_zero() {
                rand::rng().random_range(Duration::ZERO..self.live().schedule.jitter)
            } else {
                Duration::ZERO
            };
            let span = info_span!("poll", feed.url = %feed.url);
            set.spawn(
                async move {
                    tokio::select! {
                        () = shutdown.cancelled() => return None,
                        () = tokio::time::sleep(delay) => {}
                    }
                    Some(this.poll_once(&feed, Utc::now()).await)
                }
                .instrument(span),
            );
        }
        let mut report = CycleReport::default();
        let mut first_store_error = None;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Some(Ok(r))) => {
                    report.polled += 1;
                    match r.outcome {
                        PollOutcome::Ok => report.ok += 1,
                        PollOutcome::NotModified => report.not_modified += 1,
                        PollOutcome::Error => report.failed += 1,
                    }
                    report.inserted += r.counts.inserted;
                    report.updated += r.counts.updated;
                    report.reports.push(r);
                }
                Ok(Some(Err(e))) => {
                    tracing::error!(error = %e, "could not record a poll");
                    first_store_error.get_or_insert(e);
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "poll task failed"),
            }
        }
        match first_store_error {
            Some(e) if report.polled == 0 => Err(e),
            _ => Ok(report),
        }
    }
}

/// An item with the topic's decision on it.
type Evaluated = (Item, Decision);

enum Polled {
    Items {
        items: Vec<Evaluated>,
        status: u16,
        validators: Validators,
        floor: Option<Duration>,
    },
    NotModified {
        floor: Option<Duration>,
    },
}

/// Records why held items were not published (their verdicts say `held`).
fn mark_held(records: &mut [ItemRecord], mut held: HashMap<String, String>) {
    if held.is_empty() {
        return;
    }
    for r in records {
        if let (Some(v), Some(reason)) = (&mut r.verdict, held.remove(&r.item.id)) {
            v.held = Some(reason);
        }
    }
}

/// What the matcher sees of an item.
pub fn candidate(item: &Item) -> Candidate<'_> {
    Candidate {
        title: &item.title,
        summary: &item.summary,
        link: item.link.as_deref().unwrap_or(""),
        source: &item.source,
        lang: &item.lang,
    }
}

fn max_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Exponential backoff after `failures` consecutive failures (1 = first):
/// base, 2×base, 4×base … up to the cap, with ±10% jitter so feeds that failed
/// together do not retry together.
pub fn backoff(cfg: &ScheduleConfig, failures: u32, rng: &mut impl Rng) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let raw = cfg
        .backoff_base
        .saturating_mul(1u32 << exp)
        .min(cfg.backoff_max);
    let factor = rng.random_range(0.9..=1.1);
    raw.mul_f64(factor).min(cfg.backoff_max)
}

/// Enabled feeds whose next check is due at `now` (never-checked feeds are due).
pub fn due_feeds(
    feeds: &[FeedSource],
    states: &[FeedState],
    now: DateTime<Utc>,
) -> Vec<FeedSource> {
    feeds
        .iter()
        .filter(|f| f.enabled)
        .filter(|f| {
            states
                .iter()
                .find(|s| s.url == f.url.as_str())
                .and_then(|s| s.next_check_at)
                .is_none_or(|next| next <= now)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cfg() -> ScheduleConfig {
        ScheduleConfig {
            cron_text: "* * * * *".into(),
            cron: crate::config::parse_cron("* * * * *").expect("test input"),
            interval: Duration::from_secs(900),
            jitter: Duration::ZERO,
            backoff_base: Duration::from_secs(60),
            backoff_max: Duration::from_secs(3600),
            floor_max: Duration::from_secs(86400),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let c = cfg();
        let d: Vec<u64> = (1..=10)
            .map(|n| backoff(&c, n, &mut rng).as_secs())
            .collect();
        for (n, secs) in d.iter().enumerate() {
            let expected = (60u64 << n).min(3600) as f64;
            assert!(
                (*secs as f64) >= expected * 0.9 - 1.0
                    && (*secs as f64) <= (expected * 1.1).min(3600.0),
                "{n}: {secs}"
            );
        }
        assert!(d[9] <= 3600);
    }
}
