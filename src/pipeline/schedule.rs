//! The ingest cycle: which feeds are due, polling each one (fetch, parse,
//! normalize, store), and when to check it next.
//!
//! One poll is one transaction in the store, so a crash or a shutdown at any
//! point leaves each feed either fully recorded or untouched. A failing feed
//! backs off exponentially on its own and never holds up the others.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::config::ScheduleConfig;
use crate::matching::{Candidate, Topic};
use crate::model::Item;
use crate::model::{Existing, ItemRecord, PollOutcome, PollRecord, Publication, StoryAssignment};
use crate::pipeline::dedupe;
use crate::pipeline::fetch::{FetchError, FetchOutcome, Fetcher, Validators};
use crate::pipeline::item::{LangGuess, normalize_in};
use crate::pipeline::parse::{ParseError, parse_feed};
use crate::pipeline::parse_pool;
use crate::sources::FeedSource;
use crate::store::{FeedState, PollCommit, Store, StoreError, UpsertCounts};

/// What polling needs, shared by every task of a cycle.
#[derive(Clone)]
pub struct Ingest {
    pub store: Store,
    pub fetcher: Fetcher,
    /// The settings in force; a poll takes one snapshot and keeps it.
    pub settings: crate::settings::Settings,
    /// Article links come from feeds; private addresses only in test setups.
    pub allow_private: bool,
    pub metrics: Arc<crate::infra::metrics::Metrics>,
    /// Woken after a commit that published something (feed files, tests).
    pub published: Arc<tokio::sync::Notify>,
    /// Story assignment reads recent stories and then writes: polls of
    /// different feeds run concurrently, so that read-then-write is
    /// serialized or two outlets' reports of one story would start two.
    pub commit_lock: Arc<tokio::sync::Mutex<()>>,
    /// Feeds being polled now: a feed still in flight from an earlier tick
    /// is skipped, never polled twice at once.
    pub in_flight: Arc<std::sync::Mutex<HashSet<String>>>,
    /// Store failures seen by polls (`/readyz`, the scheduler's backoff).
    pub health: Arc<crate::infra::health::StoreHealth>,
    /// Recent stories' fingerprints in memory (loaded once, appended on commit).
    pub stories: crate::pipeline::dedupe::index::StoryIndex,
}

/// The snapshot of the settings a poll takes and uses throughout.
pub type Live = crate::settings::Runtime;

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

impl PollError {
    /// The root cause, short: "DNS: name not found", "connection refused",
    /// "HTTP 503", "timed out after 20 s" (a fetch's in
    /// [`FetchError::plain_cause`]).
    pub fn plain_cause(&self) -> String {
        match self {
            PollError::Fetch(f) => f.plain_cause(),
            PollError::Parse(p) => format!("not a feed: {p}"),
            PollError::Rules(r) => format!("the feed's rules do not compile: {r}"),
        }
    }
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
    /// Due feeds not polled because their previous poll is still running.
    pub skipped: usize,
    /// Polls whose outcome could not be recorded (store errors).
    pub store_errors: usize,
    pub reports: Vec<PollReport>,
}

/// A feed marked as being polled; unmarked when dropped.
struct Claim {
    set: Arc<std::sync::Mutex<HashSet<String>>>,
    url: String,
}

impl Claim {
    fn take(set: &Arc<std::sync::Mutex<HashSet<String>>>, url: &str) -> Option<Claim> {
        let fresh = match set.lock() {
            Ok(mut s) => s.insert(url.to_string()),
            Err(poisoned) => poisoned.into_inner().insert(url.to_string()),
        };
        fresh.then(|| Claim {
            set: set.clone(),
            url: url.to_string(),
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        match self.set.lock() {
            Ok(mut s) => s.remove(&self.url),
            Err(poisoned) => poisoned.into_inner().remove(&self.url),
        };
    }
}

impl Ingest {
    /// One snapshot of the settings in force.
    pub fn live(&self) -> Arc<Live> {
        self.settings.load()
    }

    /// The topic in force.
    pub fn topic(&self) -> Arc<Topic> {
        self.live().topic.clone()
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
        let prepared = self.prepare(feed, state, now).await?;
        self.commit_one(feed, prepared, now).await
    }

    /// The network and CPU part of a poll (fetch, parse, match, article
    /// pages): everything before the store is written.
    async fn prepare(
        &self,
        feed: &FeedSource,
        state: FeedState,
        now: DateTime<Utc>,
    ) -> Result<Prepared, StoreError> {
        // One snapshot of the live settings for the whole poll: a reload
        // mid-poll never mixes two versions.
        let live = self.live();
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let result = self.fetch_measured(&live, feed, &validators, now).await;
        let (record, items, unchanged) = match result {
            Ok(polled) => ok_record(&live, feed, polled, now),
            Err(e) => (
                self.error_record(&live, feed, &state, &e, now),
                Vec::new(),
                0,
            ),
        };
        // Article pages are fetched before taking the lock (network time must
        // not serialize the feeds), only for items that look like new stories;
        // they are cached, and the release of each story reads them there.
        self.cache_article_pages(&live, &items, now).await?;
        Ok(Prepared {
            live,
            state,
            record,
            items,
            unchanged,
        })
    }

    /// Records one prepared poll in a transaction of its own (story
    /// assignment under the commit lock when it has new stories).
    async fn commit_one(
        &self,
        feed: &FeedSource,
        prepared: Prepared,
        now: DateTime<Utc>,
    ) -> Result<PollReport, StoreError> {
        let Prepared {
            live,
            state,
            record,
            items,
            unchanged,
        } = prepared;
        let item_count = items.len() + unchanged;
        let ids: Vec<&str> = items.iter().map(|(i, _)| i.id.as_str()).collect();
        let existing = self.store.existing(&ids).await?;
        // Only new or edited items to publish need story assignment; a poll
        // without them (a 304, unchanged or off-topic items) neither takes
        // the commit lock nor touches the story index.
        let needs_story = needs_story(&items, &existing);
        let (mut counts, published) = if needs_story {
            let _serialized = self.commit_lock.lock().await;
            // Re-read under the lock: what an earlier commit stored counts.
            let existing = self.store.existing(&ids).await?;
            let (items, held) = self.age_gate(&live, items, &existing, now);
            let (mut records, started) = self
                .stories
                .assign(&self.store, items, &existing, now)
                .await?;
            mark_held(&mut records, held);
            let done = self
                .commit_records(&live, feed, &record, &records, &existing, now)
                .await?;
            self.stories.committed(started, now);
            done
        } else {
            let (records, _) =
                dedupe::assign(items, &existing, &crate::matching::StoryIndex::new());
            self.commit_records(&live, feed, &record, &records, &existing, now)
                .await?
        };
        // New stories wait in the queue; publish what the posting cap allows.
        // Only a poll that may have queued one releases (release takes the
        // commit lock); the scheduler's tick releases the rest.
        if needs_story {
            self.release(now).await?;
        }
        counts.unchanged += u32::try_from(unchanged).unwrap_or(u32::MAX);
        Ok(self.finish(feed, &state, &record, item_count, counts, published))
    }

    /// After a poll is committed: metrics, wake-ups, its log line and report.
    fn finish(
        &self,
        feed: &FeedSource,
        state: &FeedState,
        record: &PollRecord,
        item_count: usize,
        counts: UpsertCounts,
        published: usize,
    ) -> PollReport {
        if published > 0 {
            self.metrics.items_published.inc_by(published as u64);
            info!(feed.url = %feed.url, stories = published, "stories updated");
            if let Some(f) = self.settings.fediverse() {
                f.wake_worker();
            }
            self.published.notify_waiters();
        }
        if record.outcome != PollOutcome::Error && state.error_count > 0 {
            info!(feed.url = %feed.url, after_errors = state.error_count, "feed recovered");
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
        PollReport {
            feed_url: feed.url.to_string(),
            outcome: record.outcome,
            status: record.status,
            error: record.error.clone(),
            counts,
            items_in_feed: item_count,
            next_check_at: record.next_check_at,
        }
    }

    /// Commits a poll's records with the publications they imply; returns
    /// the counts and how many stories were published or updated.
    async fn commit_records(
        &self,
        live: &Live,
        feed: &FeedSource,
        record: &PollRecord,
        records: &[ItemRecord],
        existing: &HashMap<String, Existing>,
        now: DateTime<Utc>,
    ) -> Result<(UpsertCounts, usize), StoreError> {
        let publications = self
            .prepare_publications(live, feed, records, existing, now)
            .await?;
        let counts = self
            .store
            .commit_poll(feed.url.as_str(), record, records, &publications)
            .await?;
        Ok((counts, publications.len()))
    }

    /// The publications a poll's records imply (edits of published stories,
    /// outlets joining one), read before its commit.
    async fn prepare_publications(
        &self,
        live: &Live,
        feed: &FeedSource,
        records: &[ItemRecord],
        existing: &HashMap<String, Existing>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Publication>, StoreError> {
        for r in records {
            if let Some(v) = &r.verdict {
                tracing::debug!(feed.url = %feed.url, item.id = %r.item.id, publish = v.publish, score = v.score, reasons = %v.reasons, "item evaluated");
            }
        }
        let mut publications = self.publications(live, records, existing, now).await?;
        publications.extend(self.outlet_updates(live, records, existing, now).await?);
        let matched = records
            .iter()
            .filter(|r| r.verdict.as_ref().is_some_and(|v| v.publish))
            .count();
        self.metrics.items_matched.inc_by(matched as u64);
        Ok(publications)
    }

    /// Fetches and parses a feed, timing it and counting its outcome and
    /// items in the metrics.
    async fn fetch_measured(
        &self,
        live: &Live,
        feed: &FeedSource,
        validators: &Validators,
        now: DateTime<Utc>,
    ) -> Result<Polled, PollError> {
        let started = std::time::Instant::now();
        let result = self.fetch_and_parse(live, feed, validators, now).await;
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
        if let Ok(Polled::Items {
            items, unchanged, ..
        }) = &result
        {
            self.metrics
                .items_seen
                .inc_by((items.len() + unchanged) as u64);
        }
        result
    }

    /// The feed's record after a failed poll: one more consecutive error,
    /// the next check after the backoff (or the server's Retry-After), and
    /// the failure logged.
    fn error_record(
        &self,
        live: &Live,
        feed: &FeedSource,
        state: &FeedState,
        e: &PollError,
        now: DateTime<Utc>,
    ) -> PollRecord {
        let error_count = state.error_count.saturating_add(1);
        let retry_after = match e {
            PollError::Fetch(f) => f.retry_after(),
            _ => None,
        };
        let delay = backoff(&live.schedule, error_count, &mut rand::rng())
            .max(cap_floor(live, retry_after));
        // One line in plain words: WARN when the feed starts failing
        // or fails differently, DEBUG while it repeats itself.
        let cause = e.plain_cause();
        if state.error_count > 0 && state.last_error.as_deref() == Some(&e.to_string()) {
            tracing::debug!(feed.url = %feed.url, cause = %cause, consecutive_errors = error_count, retry_in_secs = delay.as_secs(), "feed poll failed again");
        } else {
            warn!(
                feed.url = %feed.url,
                cause = %cause,
                consecutive_errors = error_count,
                retry_in_secs = delay.as_secs(),
                "feed poll failed: {cause}"
            );
        }
        PollRecord {
            at: now,
            outcome: PollOutcome::Error,
            status: match e {
                PollError::Fetch(f) => f.status(),
                _ => Some(200),
            },
            error: Some(e.to_string()),
            etag: None,
            last_modified: None,
            error_count,
            next_check_at: now + to_chrono(delay),
            item_count: None,
        }
    }

    async fn fetch_and_parse(
        &self,
        live: &Live,
        feed: &FeedSource,
        validators: &Validators,
        now: DateTime<Utc>,
    ) -> Result<Polled, PollError> {
        match self.fetcher.fetch(&feed.url, validators).await? {
            FetchOutcome::NotModified { max_age } => Ok(Polled::NotModified { floor: max_age }),
            FetchOutcome::Body(fetched) => {
                let source = feed.clone();
                let base = fetched.final_url.to_string();
                let topic = feed
                    .topic(&live.topic)
                    .map_err(|e| PollError::Rules(e.to_string()))?;
                // Parsing and matching are CPU work: on the parse pool, off the
                // I/O threads and below the writer's priority. The bodies waiting
                // for a turn are bounded by the cycle's pipeline.
                let parsed = parse_pool::run(move || {
                    parse_items(
                        &fetched.body,
                        fetched.charset.as_deref(),
                        &base,
                        &source,
                        now,
                    )
                })
                .await?;
                let (items, ttl) = parsed?;
                let in_feed = items.len();
                let items = self.drop_stored_unchanged(items).await;
                let unchanged = in_feed - items.len();
                let items = parse_pool::run(move || score_items(items, &topic)).await?;
                let ttl = ttl.map(|m| Duration::from_secs(u64::from(m) * 60));
                Ok(Polled::Items {
                    items,
                    unchanged,
                    status: fetched.status,
                    validators: fetched.validators,
                    floor: max_opt(fetched.max_age, ttl),
                })
            }
        }
    }

    /// The items that are not stored as they are: a changed feed carries
    /// mostly items already stored unchanged, and those need no scoring,
    /// no dedupe and no statement (the poll counts them unchanged all the
    /// same). A forgotten item (its row deleted by retention) has no row and
    /// stays, so the commit keeps its seen id alive. If the store cannot
    /// answer, every item stays: the writer reads them again and decides.
    async fn drop_stored_unchanged(&self, items: Vec<Item>) -> Vec<Item> {
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let stored = match self.store.content_hashes(&ids).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::debug!(error = %e, "reading the stored items failed; scoring every item");
                return items;
            }
        };
        items
            .into_iter()
            .filter(|i| stored.get(&i.id) != Some(&i.content_hash))
            .collect()
    }

    /// The feed entries (and Fediverse activities) the committed records imply
    /// now: a replacement for each edited item that leads a published story.
    /// New stories are queued by the commit and published by [`Ingest::release`].
    async fn publications(
        &self,
        live: &Live,
        records: &[ItemRecord],
        existing: &HashMap<String, Existing>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Publication>, StoreError> {
        let mut out = Vec::new();
        for r in records {
            let Some(v) = &r.verdict else { continue };
            if v.story == StoryAssignment::New {
                continue;
            } else if let Some(at) = existing.get(&r.item.id).and_then(|e| e.published_entry_at) {
                // Only the lead item's text is the story's text; the post
                // keeps naming every outlet.
                let outlets = self.store.story_outlets(&r.item.id).await?;
                out.extend(live.publisher.edited_story(&r.item, &outlets, at, now));
            }
        }
        Ok(out)
    }

    /// For published stories that other outlets' reports join in this poll:
    /// the story's entry and Note re-composed with every outlet (an `Update`,
    /// rate-limited in the store to one per story per hour).
    async fn outlet_updates(
        &self,
        live: &Live,
        records: &[ItemRecord],
        existing: &HashMap<String, Existing>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Publication>, StoreError> {
        let publisher = &live.publisher;
        if !publisher.update_on_new_outlet {
            return Ok(Vec::new());
        }
        let mut joined: Vec<(String, Vec<String>)> = Vec::new();
        for r in records {
            let Some(v) = &r.verdict else { continue };
            let StoryAssignment::Join(story) = &v.story else {
                continue;
            };
            if existing
                .get(&r.item.id)
                .is_some_and(|e| e.story_id.is_some())
            {
                continue; // already in the story: an edit, not a new outlet
            }
            match joined.iter_mut().find(|(s, _)| s == story) {
                Some((_, names)) => names.push(r.item.outlet.clone()),
                None => joined.push((story.clone(), vec![r.item.outlet.clone()])),
            }
        }
        let mut out = Vec::new();
        if joined.is_empty() {
            return Ok(out);
        }
        let ids: Vec<&str> = joined.iter().map(|(s, _)| s.as_str()).collect();
        let pending = self.store.outlets_pending_of(&ids).await?;
        for (story, names) in joined {
            match pending.get(&story) {
                None => continue, // not published (yet): nothing to update
                // Its Update is deferred already and will list every
                // outlet: no need to read them all and compose one the
                // store would hold.
                Some(true) => {
                    out.push(Publication::OutletsPending { story_id: story });
                    continue;
                }
                Some(false) => {}
            }
            let Some((entry, mut outlets, categories)) =
                self.store.story_for_outlets(&story).await?
            else {
                continue; // removed since: nothing to update
            };
            let before = outlets.len();
            for n in names {
                if !outlets.iter().any(|o| o.eq_ignore_ascii_case(&n)) {
                    outlets.push(n);
                }
            }
            if outlets.len() == before {
                continue; // the same outlet again: no new name to show
            }
            out.extend(publisher.outlets_update(&entry, &categories, &outlets, now));
        }
        Ok(out)
    }

    /// Fetches, once, the article pages of items that would start a story
    /// and keeps their main text in the store's cache, where the release of
    /// each story reads it (so nothing is handed back here).
    async fn cache_article_pages(
        &self,
        live: &Live,
        items: &[Evaluated],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if !live.fetch_articles {
            return Ok(());
        }
        let gate = live.gate;
        let candidates: Vec<&Item> = items
            .iter()
            .filter(|(i, d)| d.publish() && gate.hold_item(i, now).is_none())
            .map(|(i, _)| i)
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = candidates.iter().map(|i| i.id.as_str()).collect();
        let existing = self.store.existing(&ids).await?;
        // The budget of one poll: a few pages, and one fetch timeout in all
        // (every page and every redirect hop). What does not fit is
        // published from the feed's own text.
        let deadline = tokio::time::Instant::now() + self.fetcher.timeout();
        let mut fetches_left = ARTICLE_FETCHES_PER_POLL;
        for item in candidates {
            let Some(link) = item.link.as_deref() else {
                continue;
            };
            if existing.contains_key(&item.id) {
                continue;
            }
            let fp = dedupe::fingerprint_of(item);
            if self
                .stories
                .best_story(&self.store, &fp, now)
                .await?
                .is_some()
            {
                continue; // joins a story: no page of its own needed
            }
            if self.store.article_page(link).await?.is_some() {
                continue; // fetched before (with or without a usable text)
            }
            let Ok(url) = url::Url::parse(link) else {
                continue;
            };
            if fetches_left == 0 || tokio::time::Instant::now() >= deadline {
                tracing::debug!(item.id = %item.id, url = %link, "article budget of this poll spent; the feed's text is used");
                continue;
            }
            fetches_left -= 1;
            let fetched = self
                .fetcher
                .fetch_untrusted_until(&url, self.allow_private, deadline)
                .await;
            if matches!(fetched, Err(FetchError::Timeout { .. }))
                && tokio::time::Instant::now() >= deadline
            {
                // Not the page's fault alone: not cached, tried again next time.
                tracing::info!(item.id = %item.id, url = %link, "article page not fetched within this poll's budget; the feed's text is used");
                continue;
            }
            let (status, text) = match fetched {
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
        }
        Ok(())
    }

    /// The age gate on items seen for the first time: a relevant item older
    /// than `max_age` is stored and scored but starts no story. Returns the
    /// items (held ones no longer marked for publication) and why each held
    /// item was held.
    fn age_gate(
        &self,
        live: &Live,
        mut items: Vec<Evaluated>,
        existing: &HashMap<String, Existing>,
        now: DateTime<Utc>,
    ) -> (Vec<Evaluated>, HashMap<String, String>) {
        let gate = live.gate;
        let mut held = HashMap::new();
        for (item, decision) in &mut items {
            if !decision.publish() || existing.contains_key(&item.id) {
                continue;
            }
            if let Some(reason) = gate.hold_item(item, now) {
                decision.hold();
                held.insert(item.id.clone(), reason);
            }
        }
        (items, held)
    }

    /// Polls between their start and the writer's queue, at most: as many
    /// as may fetch at once (`[fetch] concurrency`) and parse at once (the
    /// parse pool's threads, one per core). A poll that has parsed keeps its slot, and its items,
    /// until the writer's queue takes it, so a slot more would only hold
    /// one more prepared poll while the writer is the bottleneck (as at
    /// N = 2,000: 32 fixed slots held 2.5 MB more at the cold cycle's peak).
    pub fn pipeline_slots(&self) -> usize {
        self.fetcher.concurrency().max(1) + parse_pool::threads()
    }

    /// The topic for a feed: the shared one, or with the feed's overrides.
    pub fn topic_for(&self, feed: &FeedSource) -> Result<Arc<Topic>, PollError> {
        feed.topic(&self.topic())
            .map_err(|e| PollError::Rules(e.to_string()))
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
        self.run_cycle_with(feeds, jitter, shutdown, || {}).await
    }

    /// [`Ingest::run_cycle`], calling `on_done` as each feed finishes
    /// (`run --once` draws its progress bar with it).
    ///
    /// A bounded pipeline: a dispatcher starts a due feed's poll task when
    /// one of its [`Ingest::pipeline_slots`] is free; the task fetches (the fetcher
    /// bounds the connections), parses on the parse pool (one thread per core,
    /// at a lower priority than the writer; [`parse_pool`]), and hands the prepared poll to ONE writer (this future) through a bounded
    /// queue. At most that many polls are between their start and that
    /// queue, so the tasks and bodies held in memory do not grow with the
    /// number of feeds. The writer commits polls in batches of up to
    /// [`WRITE_BATCH`] polls and [`WRITE_BATCH_ITEMS`] items (one
    /// transaction, a SAVEPOINT per poll: each poll stays all-or-nothing);
    /// the stories of a batch's polls are assigned under the commit lock
    /// when it is flushed.
    pub async fn run_cycle_with(
        &self,
        feeds: Vec<FeedSource>,
        jitter: bool,
        shutdown: CancellationToken,
        on_done: impl Fn(),
    ) -> Result<CycleReport, StoreError> {
        let mut skipped = 0;
        let (handoff, mut queue) = tokio::sync::mpsc::channel::<Handoff>(WRITER_QUEUE);
        let mut claimed = Vec::with_capacity(feeds.len());
        for feed in feeds {
            let Some(claim) = Claim::take(&self.in_flight, feed.url.as_str()) else {
                tracing::debug!(feed.url = %feed.url, "previous poll still running; skipped");
                skipped += 1;
                continue;
            };
            claimed.push((feed, claim));
        }
        let jitter_max = self.live().schedule.jitter;
        let mut polls: Vec<Dispatch> = claimed
            .into_iter()
            .map(|(feed, claim)| Dispatch {
                delay: if jitter && !jitter_max.is_zero() {
                    rand::rng().random_range(Duration::ZERO..jitter_max)
                } else {
                    Duration::ZERO
                },
                feed,
                claim,
            })
            .collect();
        polls.sort_by_key(|p| p.delay);
        // Dropping this cycle's future (a caller's timeout) aborts the
        // dispatcher, and with it the polls it started.
        let dispatcher = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(
            self.clone().dispatch(polls, shutdown, handoff),
        ));
        let mut tally = Tally {
            report: CycleReport {
                skipped,
                ..CycleReport::default()
            },
            first_store_error: None,
        };
        let mut batch = Batch::default();
        loop {
            // Commit the batch as soon as nothing more is waiting: batches
            // grow under load and stay small (quick) when polls trickle in.
            let next = if batch.polls.is_empty() {
                queue.recv().await
            } else {
                match queue.try_recv() {
                    Ok(h) => Some(h),
                    Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                        self.flush(&mut batch, &mut tally, &on_done).await;
                        continue;
                    }
                    Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => None,
                }
            };
            let Some(h) = next else { break };
            self.stage(h, &mut batch, &mut tally, &on_done).await;
            if batch.polls.len() >= WRITE_BATCH || batch.ids.len() >= WRITE_BATCH_ITEMS {
                self.flush(&mut batch, &mut tally, &on_done).await;
            }
        }
        self.flush(&mut batch, &mut tally, &on_done).await;
        let failed_tasks = dispatcher.await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "the cycle's dispatcher failed");
            0
        });
        for _ in 0..failed_tasks {
            on_done();
        }
        // The cycle's bodies, items and batches are freed by now; without
        // this, SQLite's connections keep the pages the cycle read and
        // glibc the freed heap until the next cycle reuses them, and the
        // daemon idles between cycles at its cycle's peak.
        self.store.release_memory().await;
        crate::infra::memory::release_free_memory();
        match tally.first_store_error {
            Some(e) if tally.report.polled == 0 => Err(e),
            _ => Ok(tally.report),
        }
    }

    /// Starts the cycle's polls in order of their jitter delay, each once
    /// its start time has come and one of [`Ingest::pipeline_slots`] is free, so a
    /// cycle holds at most that many poll tasks however many feeds it has
    /// (each one's future is a few kilobytes). A poll holds its slot until
    /// the writer's queue takes it. Returns how many poll tasks panicked.
    async fn dispatch(
        self,
        polls: Vec<Dispatch>,
        shutdown: CancellationToken,
        handoff: tokio::sync::mpsc::Sender<Handoff>,
    ) -> usize {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.pipeline_slots()));
        let start = tokio::time::Instant::now();
        let mut set = JoinSet::new();
        let mut failed = 0;
        let mut reap = |joined: Result<(), tokio::task::JoinError>| {
            if let Err(e) = joined {
                failed += 1;
                tracing::error!(error = %e, "poll task failed");
            }
        };
        let bulk = polls.len() >= BULK_STATES;
        let mut polls = polls.into_iter();
        // The feeds not started when shutdown comes are dropped with
        // `polls`, and their claims with them.
        'chunks: loop {
            let chunk: Vec<Dispatch> = polls.by_ref().take(STATES_CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            // After taking the claims: no other poll of them can commit
            // meanwhile, so a state read now is the one each poll starts from.
            let mut states = if bulk {
                self.chunk_states(&chunk).await
            } else {
                None
            };
            for poll in chunk {
                if !poll.delay.is_zero() {
                    tokio::select! {
                        () = shutdown.cancelled() => break 'chunks,
                        () = tokio::time::sleep_until(start + poll.delay) => {}
                    }
                }
                let slot = tokio::select! {
                    () = shutdown.cancelled() => break 'chunks,
                    slot = slots.clone().acquire_owned() => slot,
                };
                // The semaphore is never closed.
                let Ok(slot) = slot else { break 'chunks };
                while let Some(joined) = set.try_join_next() {
                    reap(joined);
                }
                let known = states
                    .as_mut()
                    .map(|m| m.remove(poll.feed.url.as_str()).unwrap_or_default());
                let span = info_span!("poll", feed.url = %poll.feed.url);
                set.spawn(
                    self.clone()
                        .poll_to_writer(poll, known, slot, handoff.clone())
                        .instrument(span),
                );
            }
        }
        drop(handoff);
        while let Some(joined) = set.join_next().await {
            reap(joined);
        }
        failed
    }

    /// One poll of a cycle: fetch, parse and score it, and hand it to the
    /// writer.
    async fn poll_to_writer(
        self,
        poll: Dispatch,
        known: Option<FeedState>,
        _slot: tokio::sync::OwnedSemaphorePermit,
        handoff: tokio::sync::mpsc::Sender<Handoff>,
    ) {
        let Dispatch { feed, claim, .. } = poll;
        let now = Utc::now();
        let state = match known {
            Some(state) => Ok(Some(state)),
            None => self.store.feed_state(feed.url.as_str()).await,
        };
        let prepared = match state {
            Ok(state) => self.prepare(&feed, state.unwrap_or_default(), now).await,
            Err(e) => Err(e),
        };
        let _ = handoff
            .send(Handoff {
                feed,
                claim,
                now,
                prepared,
            })
            .await;
    }

    /// The states of a large cycle's next polls by URL, read in one query
    /// instead of one per poll, as they are about to start (the whole
    /// cycle's at once held 2,000 states, a megabyte, until its end).
    /// `None` if the read fails: each poll then reads its own, as a small
    /// cycle's do.
    async fn chunk_states(&self, chunk: &[Dispatch]) -> Option<HashMap<String, FeedState>> {
        let urls: Vec<&str> = chunk.iter().map(|p| p.feed.url.as_str()).collect();
        match self.store.feed_states_of(&urls).await {
            Ok(states) => Some(states.into_iter().map(|s| (s.url.clone(), s)).collect()),
            Err(e) => {
                warn!(error = %e, "reading the feeds' states failed; reading them per poll");
                None
            }
        }
    }

    /// The writer's step for one prepared poll: into the batch. A poll with
    /// new or edited items to publish has its stories assigned when the
    /// batch is flushed, under the commit lock; one that carries an item an
    /// earlier poll of the batch also carries goes after that batch's commit,
    /// so its stories are decided on what the earlier poll stored.
    async fn stage(&self, h: Handoff, batch: &mut Batch, tally: &mut Tally, on_done: &impl Fn()) {
        let Handoff {
            feed,
            claim,
            now,
            prepared,
        } = h;
        let p = match prepared {
            Ok(p) => p,
            Err(e) => {
                on_done();
                return tally.add(&self.health, Err(e));
            }
        };
        let ids: Vec<&str> = p.items.iter().map(|(i, _)| i.id.as_str()).collect();
        // The poll's task dropped the items stored as they are, so an item
        // to publish here is new or edited (or, rarely, forgotten by
        // retention): story assignment, which reads what is stored under
        // the commit lock, decides. Reading it here too cost a round trip
        // per poll on the writer's path.
        let starts_stories = p.items.iter().any(|(_, d)| d.publish());
        if starts_stories && ids.iter().any(|id| batch.ids.contains(*id)) {
            self.flush(batch, tally, on_done).await;
        }
        batch.ids.extend(ids.iter().map(|id| (*id).to_string()));
        let Prepared {
            live,
            state,
            record,
            items,
            unchanged,
        } = p;
        let item_count = items.len() + unchanged;
        let work = if starts_stories {
            Work::Stories { live, items }
        } else {
            let ids: Vec<&str> = items.iter().map(|(i, _)| i.id.as_str()).collect();
            let existing = match self.store.existing(&ids).await {
                Ok(e) => e,
                Err(e) => {
                    on_done();
                    return tally.add(&self.health, Err(e));
                }
            };
            let (records, _) =
                dedupe::assign(items, &existing, &crate::matching::StoryIndex::new());
            match self
                .prepare_publications(&live, &feed, &records, &existing, now)
                .await
            {
                Ok(publications) => Work::Ready(Ready {
                    records,
                    publications,
                    started: Vec::new(),
                }),
                Err(e) => {
                    on_done();
                    return tally.add(&self.health, Err(e));
                }
            }
        };
        let polled = Batched {
            feed,
            _claim: claim,
            now,
            state,
            record,
            item_count,
            unchanged,
        };
        batch.polls.push((polled, work));
    }

    /// Commits the writer's batch. Polls that start no story are ready;
    /// the others get their stories assigned here, in arrival order, under
    /// the commit lock (held until they are committed and in the story
    /// index). A poll whose new item would join a story that an earlier
    /// poll of the batch starts goes after that poll's commit, so a story is
    /// always stored before anything joins it. The posting cap then releases
    /// once for the whole batch.
    async fn flush(&self, batch: &mut Batch, tally: &mut Tally, on_done: &impl Fn()) {
        batch.ids.clear();
        let polls = std::mem::take(&mut batch.polls);
        let Some(latest) = polls
            .iter()
            .filter(|(_, w)| matches!(w, Work::Stories { .. }))
            .map(|(p, _)| p.now)
            .max()
        else {
            let ready = polls
                .into_iter()
                .filter_map(|(p, w)| match w {
                    Work::Ready(r) => Some((p, r)),
                    Work::Stories { .. } => None,
                })
                .collect();
            self.commit_ready(ready, tally, on_done).await;
            return;
        };
        let mut queued = false;
        {
            let _serialized = self.commit_lock.lock().await;
            // What is stored for the items of all of the batch's story
            // polls, read once under the lock: what an earlier commit stored
            // counts. A commit of an earlier segment of this flush does not
            // make it stale: `stage` lets no story poll into a batch with an
            // item an earlier poll of it carries.
            let story_ids: Vec<&str> = polls
                .iter()
                .filter_map(|(_, w)| match w {
                    Work::Stories { items, .. } => Some(items),
                    Work::Ready(_) => None,
                })
                .flatten()
                .map(|(i, _)| i.id.as_str())
                .collect();
            let stored = self.store.existing(&story_ids).await;
            let mut segment: Vec<(Batched, Ready)> = Vec::with_capacity(polls.len());
            let mut segment_stories = crate::matching::StoryIndex::new();
            for (p, work) in polls {
                let (live, items) = match work {
                    Work::Ready(r) => {
                        segment.push((p, r));
                        continue;
                    }
                    Work::Stories { live, items } => (live, items),
                };
                let own;
                let existing = match &stored {
                    Ok(all) => all,
                    // The batch's read failed: each poll tries its own.
                    Err(_) => {
                        let ids: Vec<&str> = items.iter().map(|(i, _)| i.id.as_str()).collect();
                        match self.store.existing(&ids).await {
                            Ok(e) => {
                                own = e;
                                &own
                            }
                            Err(e) => {
                                on_done();
                                tally.add(&self.health, Err(e));
                                continue;
                            }
                        }
                    }
                };
                let (items, held) = self.age_gate(&live, items, existing, p.now);
                if joins_any(&items, existing, &segment_stories) {
                    queued |= self
                        .commit_ready(std::mem::take(&mut segment), tally, on_done)
                        .await;
                    segment_stories = crate::matching::StoryIndex::new();
                }
                let assigned = self
                    .stories
                    .assign(&self.store, items, existing, p.now)
                    .await;
                let (mut records, started) = match assigned {
                    Ok(a) => a,
                    Err(e) => {
                        on_done();
                        tally.add(&self.health, Err(e));
                        continue;
                    }
                };
                mark_held(&mut records, held);
                match self
                    .prepare_publications(&live, &p.feed, &records, existing, p.now)
                    .await
                {
                    Ok(publications) => {
                        for story in &started {
                            segment_stories.insert(story.id.clone(), story.fingerprint.clone());
                        }
                        segment.push((
                            p,
                            Ready {
                                records,
                                publications,
                                started,
                            },
                        ));
                    }
                    Err(e) => {
                        on_done();
                        tally.add(&self.health, Err(e));
                    }
                }
            }
            queued |= self.commit_ready(segment, tally, on_done).await;
        }
        // New stories wait in the queue; publish what the posting cap
        // allows, once per batch that queued one (release takes the commit
        // lock; the scheduler's tick releases the rest, as after
        // `commit_one`).
        if !queued {
            return;
        }
        if let Err(e) = self.release(latest).await {
            warn!(error = %e, "releasing waiting stories failed; the next tick retries");
        }
    }

    /// Commits ready polls in one transaction, a SAVEPOINT each; the
    /// stories a committed poll started join the story index. If the batch
    /// itself cannot commit, each of its polls is tried again in a
    /// transaction of its own, so one bad poll costs only itself. Returns
    /// whether a committed poll queued a new story.
    async fn commit_ready(
        &self,
        polls: Vec<(Batched, Ready)>,
        tally: &mut Tally,
        on_done: &impl Fn(),
    ) -> bool {
        let mut queued = false;
        if polls.is_empty() {
            return queued;
        }
        let commits: Vec<PollCommit<'_>> = polls
            .iter()
            .map(|(p, r)| PollCommit {
                feed_url: p.feed.url.as_str(),
                record: &p.record,
                items: &r.records,
                publications: &r.publications,
            })
            .collect();
        let results = match self.store.commit_polls(&commits).await {
            Ok(r) => {
                self.metrics.commit_polls.observe(commits.len() as f64);
                r
            }
            Err(e) => {
                warn!(error = %e, polls = polls.len(), "batch commit failed; committing its polls one by one");
                let mut one_by_one = Vec::with_capacity(commits.len());
                for c in &commits {
                    one_by_one.push(
                        self.store
                            .commit_poll(c.feed_url, c.record, c.items, c.publications)
                            .await,
                    );
                }
                one_by_one
            }
        };
        drop(commits);
        for ((p, r), result) in polls.into_iter().zip(results) {
            let result = result.map(|mut counts| {
                counts.unchanged += u32::try_from(p.unchanged).unwrap_or(u32::MAX);
                queued |= !r.started.is_empty();
                self.stories.committed(r.started, p.now);
                self.finish(
                    &p.feed,
                    &p.state,
                    &p.record,
                    p.item_count,
                    counts,
                    r.publications.len(),
                )
            });
            drop(p);
            on_done();
            tally.add(&self.health, result);
        }
        queued
    }
}

/// Prepared polls waiting for the writer, at most: half a batch. The
/// writer takes what is waiting when it is done with a batch, and the
/// polls that finish meanwhile join it; a longer queue only holds more
/// prepared polls in memory (a whole batch cost about 0.5 MB more at the
/// cold cycle's peak for no faster a cycle; README, Performance).
pub const WRITER_QUEUE: usize = WRITE_BATCH / 2;
/// Polls committed in one transaction, at most. Sixteen keeps most of the
/// gain of batching (one transaction and one release per batch instead of
/// per poll) while holding fewer prepared polls in memory: at 64, a cold
/// cycle's peak RSS was 6–8 MB higher for the same CPU time.
pub const WRITE_BATCH: usize = 16;
/// Items a batch carries, at most (it is committed once it holds this many):
/// a batch of new or edited items holds them until its commit, so polls
/// with items go eight of 40 items at a time, while 304s and unchanged
/// feeds, which carry none, still go [`WRITE_BATCH`] at a time (smaller
/// batches of 304s made the all-304 cycle slower). Batches of 8 polls with
/// a queue of 4 took 1.2–1.8 MB off a cold cycle's peak at N = 500; this
/// bound alone, with the queue of 8, came out within the runs' noise
/// (README, Performance). It bounds what a batch holds whatever the
/// feeds' sizes.
pub const WRITE_BATCH_ITEMS: usize = 320;
/// Cycles of this many feeds or more read the feeds' states a chunk of
/// polls at a time.
const BULK_STATES: usize = 16;
/// Feeds whose states one query reads in a large cycle.
const STATES_CHUNK: usize = 64;

/// A claimed feed waiting for its poll to start.
struct Dispatch {
    feed: FeedSource,
    claim: Claim,
    /// When it starts, after the cycle's start (jitter).
    delay: Duration,
}

/// A poll fetched and parsed, not yet written.
struct Prepared {
    live: Arc<Live>,
    state: FeedState,
    record: PollRecord,
    items: Vec<Evaluated>,
    /// Items in the feed stored unchanged, left out of `items`.
    unchanged: usize,
}

/// What a feed's task hands to the writer.
struct Handoff {
    feed: FeedSource,
    claim: Claim,
    now: DateTime<Utc>,
    prepared: Result<Prepared, StoreError>,
}

/// The writer's batch: polls waiting for one transaction, and the item ids
/// they carry.
#[derive(Default)]
struct Batch {
    polls: Vec<(Batched, Work)>,
    ids: HashSet<String>,
}

/// A poll in the writer's batch (its feed stays claimed until committed).
struct Batched {
    feed: FeedSource,
    _claim: Claim,
    now: DateTime<Utc>,
    state: FeedState,
    record: PollRecord,
    item_count: usize,
    /// Items stored unchanged, not passed to the store (counted all the same).
    unchanged: usize,
}

/// What a batched poll still needs before its commit.
enum Work {
    /// Nothing: its records and publications are ready.
    Ready(Ready),
    /// Story assignment, under the commit lock, when the batch is flushed:
    /// it has new or edited items to publish.
    Stories {
        live: Arc<Live>,
        items: Vec<Evaluated>,
    },
}

/// A poll's records and publications, ready to commit, and the stories it
/// starts (they join the story index once committed).
struct Ready {
    records: Vec<ItemRecord>,
    publications: Vec<Publication>,
    started: Vec<dedupe::RecentStory>,
}

/// A cycle's totals as its polls finish.
struct Tally {
    report: CycleReport,
    first_store_error: Option<StoreError>,
}

impl Tally {
    fn add(
        &mut self,
        health: &crate::infra::health::StoreHealth,
        r: Result<PollReport, StoreError>,
    ) {
        match r {
            Ok(r) => {
                if health.ok() {
                    info!("the store answers again");
                }
                self.report.polled += 1;
                match r.outcome {
                    PollOutcome::Ok => self.report.ok += 1,
                    PollOutcome::NotModified => self.report.not_modified += 1,
                    PollOutcome::Error => self.report.failed += 1,
                }
                self.report.inserted += r.counts.inserted;
                self.report.updated += r.counts.updated;
                self.report.reports.push(r);
            }
            Err(e) => {
                let f = health.failed(&e.to_string(), Utc::now());
                if f.repeated {
                    tracing::debug!(error = %e, failures = f.failures, "could not record a poll");
                } else {
                    tracing::error!(error = %e, failures = f.failures, retry_in_secs = f.retry_in.as_secs(), "could not record a poll; the store is retried with backoff");
                }
                self.report.store_errors += 1;
                self.first_store_error.get_or_insert(e);
            }
        }
    }
}

/// Whether a poll has new or edited items to publish, which need story
/// assignment (under the commit lock). A 304, unchanged or off-topic items
/// do not.
fn needs_story(items: &[Evaluated], existing: &HashMap<String, Existing>) -> bool {
    items.iter().any(|(i, d)| {
        d.publish()
            && existing
                .get(&i.id)
                .is_none_or(|e| !e.unchanged(&i.content_hash))
    })
}

/// Whether a new item to publish would join one of `stories` (the stories
/// started by polls not yet committed).
fn joins_any(
    items: &[Evaluated],
    existing: &HashMap<String, Existing>,
    stories: &crate::matching::StoryIndex,
) -> bool {
    !stories.is_empty()
        && items.iter().any(|(i, d)| {
            d.publish()
                && existing.get(&i.id).is_none_or(|e| e.story_id.is_none())
                && d.fingerprint().is_some_and(|fp| stories.best(fp).is_some())
        })
}

/// At most this many article pages are fetched in one poll.
pub const ARTICLE_FETCHES_PER_POLL: usize = 8;

/// A server-imposed floor, capped by `[schedule] floor_max`.
fn cap_floor(live: &Live, floor: Option<Duration>) -> Duration {
    floor.unwrap_or_default().min(live.schedule.floor_max)
}

/// An item with the topic's decision on it.
type Evaluated = (Item, dedupe::Scored);

enum Polled {
    Items {
        /// New, edited or forgotten items, scored.
        items: Vec<Evaluated>,
        /// Items the store holds unchanged (not scored, not passed on).
        unchanged: usize,
        status: u16,
        validators: Validators,
        floor: Option<Duration>,
    },
    NotModified {
        floor: Option<Duration>,
    },
}

/// The feed's record after a successful poll (items, or 304 Not Modified)
/// with its items: no errors, the next check after the feed's interval or
/// the server's cache lifetime, whichever is longer (capped).
fn ok_record(
    live: &Live,
    feed: &FeedSource,
    polled: Polled,
    now: DateTime<Utc>,
) -> (PollRecord, Vec<Evaluated>, usize) {
    let interval = feed.interval.unwrap_or(live.schedule.interval);
    match polled {
        Polled::Items {
            items,
            unchanged,
            status,
            validators,
            floor,
        } => {
            let record = PollRecord {
                at: now,
                outcome: PollOutcome::Ok,
                status: Some(status),
                error: None,
                etag: validators.etag,
                last_modified: validators.last_modified,
                error_count: 0,
                next_check_at: now + to_chrono(interval.max(cap_floor(live, floor))),
                item_count: u32::try_from(items.len() + unchanged).ok(),
            };
            (record, items, unchanged)
        }
        Polled::NotModified { floor } => (
            PollRecord {
                at: now,
                outcome: PollOutcome::NotModified,
                status: Some(304),
                error: None,
                etag: None,
                last_modified: None,
                error_count: 0,
                next_check_at: now + to_chrono(interval.max(cap_floor(live, floor))),
                item_count: None,
            },
            Vec::new(),
            0,
        ),
    }
}

/// Parses a fetched body and normalizes each entry into an item (CPU work:
/// run on a blocking thread). Also the feed's own `<ttl>` (minutes), if any.
fn parse_items(
    body: &[u8],
    charset: Option<&str>,
    base: &str,
    source: &FeedSource,
    now: DateTime<Utc>,
) -> Result<(Vec<Item>, Option<u32>), ParseError> {
    let parsed = parse_feed(body, charset, Some(base))?;
    let mut langs = LangGuess::default();
    let items = parsed
        .entries
        .iter()
        .map(|e| normalize_in(&parsed, e, source, now, &mut langs))
        .collect();
    Ok((items, parsed.ttl))
}

/// Scores each item against `topic` (CPU work: run on a blocking thread).
fn score_items(items: Vec<Item>, topic: &Topic) -> Vec<Evaluated> {
    items
        .into_iter()
        .map(|item| {
            let decision = dedupe::Scored::of(decide(topic, &item), &item);
            (item, decision)
        })
        .collect()
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
/// The topic's decision on `item`, its categories (`tags:`) and author
/// (`author:`) included.
pub fn decide(topic: &crate::matching::Topic, item: &Item) -> crate::matching::Decision {
    topic.evaluate_with(&candidate(item), &item.categories, &item.author)
}

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

    #[test]
    fn backoff_stays_within_ten_percent_and_the_cap() {
        let c = cfg();
        // The extremes of the jitter, with several seeds.
        for seed in 0..50 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let first = backoff(&c, 1, &mut rng).as_secs_f64();
            assert!((54.0..=66.0).contains(&first), "{first}");
            let third = backoff(&c, 3, &mut rng).as_secs_f64();
            assert!((216.0..=264.0).contains(&third), "{third}");
            let capped = backoff(&c, 40, &mut rng).as_secs_f64();
            assert!((3240.0..=3600.0).contains(&capped), "{capped}");
        }
        // No failure yet counts as the first.
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert!(backoff(&c, 0, &mut rng).as_secs() <= 66);
    }

    /// Issue 16: `due_feeds` is the one reader of the stored next checks.
    #[test]
    fn due_feeds_obeys_next_check_and_enabled() {
        let now = Utc::now();
        let url =
            |n: &str| url::Url::parse(&format!("https://feeds.example/{n}.xml")).expect("url");
        let feed = |n: &str, enabled: bool| FeedSource {
            enabled,
            ..FeedSource::new(url(n), n)
        };
        let state = |n: &str, next: Option<DateTime<Utc>>| FeedState {
            url: url(n).to_string(),
            next_check_at: next,
            ..FeedState::default()
        };
        let feeds = [
            feed("never-checked", true),
            feed("no-next", true),
            feed("past", true),
            feed("exactly-now", true),
            feed("future", true),
            feed("disabled-due", false),
        ];
        let states = [
            state("no-next", None),
            state("past", Some(now - chrono::Duration::seconds(1))),
            state("exactly-now", Some(now)),
            state("future", Some(now + chrono::Duration::seconds(1))),
            state("disabled-due", Some(now - chrono::Duration::hours(1))),
        ];
        let due: Vec<String> = due_feeds(&feeds, &states, now)
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(due, ["never-checked", "no-next", "past", "exactly-now"]);
        // Another feed's state does not make a feed due or not due.
        let other = [state("future", Some(now - chrono::Duration::hours(1)))];
        let due = due_feeds(&[feed("past", true)], &other, now);
        assert_eq!(due.len(), 1);
        let due = due_feeds(&[feed("future", true)], &states, now);
        assert!(due.is_empty());
    }
}
