//! The only module with SQL. A SQLite file in WAL mode, created with its
//! folder on first use, migrated by the migrations embedded in the binary.
//!
//! A poll's results (the feed's new fetch state and its items) are written in
//! one transaction: validators such as the ETag must never be saved without
//! the items they vouch for, or the next conditional GET would answer 304 and
//! those items would be lost.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use crate::model::Item;
use crate::model::{
    Decision, Existing, FeedEntryRow, ItemRecord, PollOutcome, PollRecord, Publication,
    PublishedEntry, StoredDecision, StoredItem, StoryAssignment, Verdict,
};

mod fault;
pub mod fed;
pub mod fed_interactions;
#[cfg(test)]
mod index_tests;
pub mod labels;
#[cfg(test)]
mod mutant_tests;
#[cfg(test)]
mod poll_batch_tests;
mod poll_commit;
#[cfg(test)]
mod poll_tests;
pub mod queue;
pub mod retention;
pub mod review;
pub mod tags;
pub(crate) mod time;
#[cfg(test)]
mod time_tests;

/// Exact counts kept by triggers (migration 1001), read in one step.
pub(crate) const ITEM_COUNT_SQL: &str = "SELECT value FROM counters WHERE name = 'items'";
pub(crate) const FEED_ENTRY_COUNT_SQL: &str =
    "SELECT value FROM counters WHERE name = 'feed_entries'";

/// Every migration of the crate, embedded; run by [`Store::open`].
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data folder {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("fediverse tables: {0}")]
    Fed(String),
}

impl From<fed::FedStoreError> for StoreError {
    fn from(e: fed::FedStoreError) -> Self {
        StoreError::Fed(e.to_string())
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// Every read, and the writes outside the ingest path; each connection
    /// has a small page cache ([`READER_CACHE_KIB`]).
    pool: SqlitePool,
    /// One connection with a larger page cache ([`WRITER_CACHE_KIB`]), for
    /// the ingest writer's commits ([`Store::commit_polls`], [`Store::commit_poll`]).
    writer: SqlitePool,
    /// Bumped after each commit that changes what is published (the web
    /// cache compares it instead of querying).
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// What the last poll of a feed left behind.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeedState {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_fetch_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    pub error_count: u32,
    pub total_errors: u64,
    pub total_fetches: u64,
    pub next_check_at: Option<DateTime<Utc>>,
    pub last_item_count: Option<u32>,
}

impl FeedState {
    /// A short health word for listings: "ok", "not_modified", "error 503"…
    pub fn status_label(&self) -> String {
        match (self.last_outcome.as_deref(), self.last_status) {
            (Some("error"), Some(code)) if code != 200 => format!("error {code}"),
            (Some(o), _) => o.to_string(),
            (None, _) => "not fetched".to_string(),
        }
    }
}

/// One poll of a batch for [`Store::commit_polls`].
#[derive(Debug, Clone, Copy)]
pub struct PollCommit<'a> {
    pub feed_url: &'a str,
    pub record: &'a PollRecord,
    pub items: &'a [ItemRecord],
    pub publications: &'a [Publication],
}

impl PollCommit<'_> {
    /// A 304, a failed fetch or a feed with nothing new: only the feed's
    /// state is written.
    fn writes_state_only(&self) -> bool {
        self.items.is_empty() && self.publications.is_empty()
    }
}

/// Each poll's result, once every poll of the batch has one.
fn filled(
    out: Vec<Option<Result<UpsertCounts, StoreError>>>,
) -> Vec<Result<UpsertCounts, StoreError>> {
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Ok(UpsertCounts::default())))
        .collect()
}

/// Feed states per statement at most (12 variables a row).
const STATE_ROWS: usize = 64;

/// The states of `polls` at `indexes` (at most [`STATE_ROWS`]) in one
/// statement, their results in `out`. If it fails, SQLite has undone just
/// that statement: each poll's state is then written alone, so that a poll
/// that cannot be written fails alone, with its own error.
async fn write_states_each(
    conn: &mut sqlx::SqliteConnection,
    polls: &[PollCommit<'_>],
    indexes: &[usize],
    out: &mut [Option<Result<UpsertCounts, StoreError>>],
) {
    let rows: Vec<(&str, &PollRecord)> = indexes
        .iter()
        .map(|i| (polls[*i].feed_url, polls[*i].record))
        .collect();
    let together = poll_commit::write_feed_states(conn, &rows).await.is_ok();
    for (i, (url, record)) in indexes.iter().zip(rows) {
        out[*i] = Some(if together {
            Ok(UpsertCounts::default())
        } else {
            poll_commit::write_feed_state(conn, url, record)
                .await
                .map(|()| UpsertCounts::default())
        });
    }
}

/// The page cache of each reading connection, in KiB (SQLite's default is
/// 2,000). The writer's B-tree inserts are what a
/// cache speeds up; readers look up a few rows per poll. Measured with
/// `cargo bench --bench cycle` at N = 2,000: 2 MiB on every connection made
/// up 9 MB of a cold cycle's peak heap, 512 KiB on every one cost 5% of its
/// wall time (README, Performance). Readers of 256 KiB rather than 512 hold
/// about 1 MB less at N = 2,000 (their caches fill) for no slower a cycle:
/// a poll's lookups hit the indexes' inner pages, which fit.
const READER_CACHE_KIB: u32 = 256;

/// The writer's page cache, in KiB: half SQLite's default. Its inserts
/// miss the cache more often as the file grows, but a miss is a read from
/// the system's page cache. At N = 2,000 (`cargo bench --bench cycle`, two
/// runs each) the cold cycle's peak was 0.3–1.3 MB lower and its wall time
/// within the runs' spread (README, Performance).
const WRITER_CACHE_KIB: u32 = 1_000;

/// Reading connections: one per core, at least two. Each is a thread with
/// its own page cache, schema and prepared statements (about 0.5 MB in a
/// cycle); with four on two cores the cold cycle's peak was about 1 MB
/// higher and no faster (README, Performance).
fn reading_connections() -> u32 {
    u32::try_from(crate::infra::cores())
        .unwrap_or(u32::MAX)
        .max(2)
}

/// Ids per lookup statement, well under SQLite's variable limit.
const LOOKUP_CHUNK: usize = 500;

/// The number of `?` for `n` ids: rounded up to a power of two (at most
/// [`LOOKUP_CHUNK`]), the last id repeated, so a few statement shapes are
/// prepared and cached rather than one per poll size.
fn bucket(n: usize) -> usize {
    n.next_power_of_two().min(LOOKUP_CHUNK)
}

/// `?,?,…` for [`bucket`]`(n)` values.
fn placeholders(n: usize) -> String {
    let mut s = "?,".repeat(bucket(n));
    s.pop();
    s
}

/// The values to bind for a chunk's [`placeholders`]: the chunk, its last
/// value repeated up to the bucket (an `IN` list is a set, so the repeats
/// change nothing).
fn padded<T: Copy>(chunk: &[T]) -> impl Iterator<Item = T> + '_ {
    let repeats = bucket(chunk.len()).saturating_sub(chunk.len());
    let pad = chunk.last().map(|&last| std::iter::repeat_n(last, repeats));
    chunk.iter().copied().chain(pad.into_iter().flatten())
}

/// A seen id met again in its feed has its time moved to that poll, at most
/// this often, so a feed full of old items writes a row a day, not a poll.
const SEEN_ID_REFRESH_SECS: i64 = 86_400;

/// How a batch of items changed the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    pub inserted: u32,
    pub updated: u32,
    pub unchanged: u32,
}

impl Store {
    /// Opens (creating if needed) the SQLite file at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode is durable against process crashes, which is
            // the failure that matters for a daemon; FULL only adds power-loss safety.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            // A new file gets incremental auto-vacuum before its first table,
            // so retention can give pages back; an older file is converted
            // once by the daemon's maintenance (store::retention).
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            .foreign_keys(true);
        // A SQLite connection lives in this process: there is nothing a
        // ping before each use could find that the statement would not, and
        // the ping is a round trip to the connection's thread (with a timer
        // armed for it) before every query.
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(reading_connections())
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", format!("-{READER_CACHE_KIB}")),
            )
            .await?;
        MIGRATOR.run(&pool).await?;
        // A batch commits each poll inside a SAVEPOINT, and a savepoint's
        // journal (the pages it changes that the batch had already changed)
        // goes to a temporary file once it passes 64 KiB: a write(2) per
        // page, read back by nothing unless the poll fails. In memory it
        // lives until the poll's RELEASE.
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .connect_with(
                options
                    .pragma("temp_store", "memory")
                    .pragma("cache_size", format!("-{WRITER_CACHE_KIB}")),
            )
            .await?;
        Ok(Store {
            pool,
            writer,
            generation: Default::default(),
        })
    }

    pub async fn feed_state(&self, url: &str) -> Result<Option<FeedState>, StoreError> {
        let row = sqlx::query("SELECT * FROM feeds WHERE url = ?")
            .bind(url)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| feed_state_from_row(&r)).transpose()
    }

    pub async fn feed_states(&self) -> Result<Vec<FeedState>, StoreError> {
        // Row by row (the scheduler reads them every tick): a row holds its
        // own copy of each value, several times the size of the state it
        // becomes, and all rows of 2,000 feeds at once were about 4 MB.
        let mut states = Vec::new();
        let rows = sqlx::query("SELECT * FROM feeds ORDER BY url").fetch(&self.pool);
        push_states(rows, &mut states).await?;
        Ok(states)
    }

    /// The stored states of these feeds (a feed never polled has none).
    pub async fn feed_states_of(&self, urls: &[&str]) -> Result<Vec<FeedState>, StoreError> {
        let mut states = Vec::with_capacity(urls.len());
        for chunk in urls.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT * FROM feeds WHERE url IN ({})",
                placeholders(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for url in padded(chunk) {
                q = q.bind(url);
            }
            push_states(q.fetch(&self.pool), &mut states).await?;
        }
        Ok(states)
    }

    /// Records a poll and its items in one transaction.
    pub async fn commit_poll(
        &self,
        feed_url: &str,
        record: &PollRecord,
        items: &[ItemRecord],
        publications: &[Publication],
    ) -> Result<UpsertCounts, StoreError> {
        let mut conn = self.writer.acquire().await?;
        let counts = self
            .commit_poll_on(&mut conn, feed_url, record, items, publications)
            .await?;
        if counts.inserted + counts.updated > 0 || !publications.is_empty() {
            self.bump_generation();
        }
        Ok(counts)
    }

    /// Records several polls in ONE transaction (the ingest writer's batch),
    /// each poll inside its own SAVEPOINT: a poll that fails rolls back only
    /// itself, and its result says why; the others are kept. If the batch's
    /// own COMMIT fails, nothing of it is kept and that error is returned, so
    /// a feed's validators are never saved without its items either way.
    /// The polls that write only their feed's state (304s, failed fetches)
    /// need no SAVEPOINT: their states go in one statement, and a batch of
    /// nothing else needs no transaction either.
    pub async fn commit_polls(
        &self,
        polls: &[PollCommit<'_>],
    ) -> Result<Vec<Result<UpsertCounts, StoreError>>, StoreError> {
        use sqlx::Connection;
        let mut conn = self.writer.acquire().await?;
        let state_only: Vec<usize> = (0..polls.len())
            .filter(|i| polls[*i].writes_state_only())
            .collect();
        let mut out: Vec<Option<Result<UpsertCounts, StoreError>>> =
            polls.iter().map(|_| None).collect();
        if state_only.len() == polls.len() && polls.len() <= STATE_ROWS {
            // A batch of 304s: one statement, atomic on its own, without
            // the round trips of BEGIN and COMMIT.
            fault::point("poll: begun");
            write_states_each(&mut conn, polls, &state_only, &mut out).await;
            fault::point("poll: committed");
            return Ok(filled(out));
        }
        let mut batch = conn.begin().await?;
        for group in state_only.chunks(STATE_ROWS) {
            write_states_each(&mut batch, polls, group, &mut out).await;
        }
        fault::point("poll: feed states written");
        let mut changed = false;
        for (p, result) in polls.iter().zip(out.iter_mut()) {
            if result.is_some() {
                continue;
            }
            let committed = self
                .commit_poll_on(&mut batch, p.feed_url, p.record, p.items, p.publications)
                .await;
            if let Ok(c) = &committed {
                changed |= c.inserted + c.updated > 0 || !p.publications.is_empty();
            }
            *result = Some(committed);
        }
        batch.commit().await?;
        if changed {
            self.bump_generation();
        }
        Ok(filled(out))
    }

    /// The statements of one poll, on `conn`: a transaction of its own, or a
    /// SAVEPOINT when `conn` is already inside the writer's batch transaction
    /// (sqlx nests `begin` as savepoints). Committed or rolled back whole.
    async fn commit_poll_on(
        &self,
        conn: &mut sqlx::SqliteConnection,
        feed_url: &str,
        record: &PollRecord,
        items: &[ItemRecord],
        publications: &[Publication],
    ) -> Result<UpsertCounts, StoreError> {
        use sqlx::Connection;
        if items.is_empty() && publications.is_empty() {
            // A 304 or a failed fetch committed alone writes one statement,
            // atomic on its own: no transaction round trips (the writer's
            // batches write these polls' states together, in
            // `commit_polls`).
            fault::point("poll: begun");
            poll_commit::write_feed_state(conn, feed_url, record).await?;
            fault::point("poll: feed state written");
            fault::point("poll: committed");
            return Ok(UpsertCounts::default());
        }
        let mut tx = conn.begin().await?;
        fault::point("poll: begun");
        poll_commit::write_feed_state(&mut tx, feed_url, record).await?;
        fault::point("poll: feed state written");
        // One lookup for all of the poll's items, inside the transaction:
        // an earlier poll of the writer's batch may have stored some.
        let mut known = poll_commit::look_up_items(&mut tx, items).await?;
        fault::point("poll: items looked up");
        let mut counts = UpsertCounts::default();
        let mut new_rows = Vec::new();
        for record_item in items {
            poll_commit::record_item(
                &mut tx,
                record,
                record_item,
                &mut known,
                &mut new_rows,
                &mut counts,
            )
            .await?;
        }
        poll_commit::insert_new_rows(&mut tx, &mut new_rows, record.at).await?;
        poll_commit::write_entries_and_edits(&mut tx, publications, record.at).await?;
        // After every item of the poll is written.
        poll_commit::apply_outlets_updates(&mut tx, publications, record.at).await?;
        fault::point("poll: before commit");
        tx.commit().await?;
        fault::point("poll: committed");
        Ok(counts)
    }

    /// A published story's entry, its outlet names (lead first) and the
    /// categories of its lead item, for re-composing its post.
    pub async fn story_for_outlets(
        &self,
        story_id: &str,
    ) -> Result<Option<(FeedEntryRow, Vec<String>, Vec<String>)>, StoreError> {
        let Some(p) = self.published_entry(story_id).await? else {
            return Ok(None);
        };
        let categories: Option<String> =
            sqlx::query_scalar("SELECT categories FROM items WHERE id = ?")
                .bind(story_id)
                .fetch_optional(&self.pool)
                .await?;
        let categories = categories
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default();
        let outlets = p.sources.into_iter().map(|(name, _)| name).collect();
        Ok(Some((p.entry, outlets, categories)))
    }

    /// Changes with every commit that may change the published entries or
    /// their sources (in this process; see `web::cache` for other writers).
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    fn bump_generation(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The content hash of each of these item ids that has a row.
    pub async fn content_hashes(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT id, content_hash FROM items WHERE id IN ({})",
                placeholders(chunk.len())
            );
            let mut q = sqlx::query_as::<_, (String, String)>(&sql);
            for id in padded(chunk) {
                q = q.bind(id);
            }
            out.extend(q.fetch_all(&self.pool).await?);
        }
        Ok(out)
    }

    /// What is stored for these item ids (absent ids are new).
    pub async fn existing(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, Existing>, StoreError> {
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT i.id, i.content_hash, i.story_id, f.published_at
                 FROM items i LEFT JOIN feed_entries f ON f.story_id = i.id
                 WHERE i.id IN ({})",
                placeholders(chunk.len())
            );
            let mut q = sqlx::query_as::<_, (String, String, Option<String>, Option<i64>)>(&sql);
            for id in padded(chunk) {
                q = q.bind(id);
            }
            for (id, content_hash, story_id, published_entry_at) in q.fetch_all(&self.pool).await? {
                out.insert(
                    id,
                    Existing {
                        content_hash,
                        story_id,
                        published_entry_at: time::from_ms_opt(published_entry_at)?,
                        forgotten: false,
                    },
                );
            }
        }
        // The rest may be old items whose rows retention deleted.
        let missing: Vec<(i64, &str)> = ids
            .iter()
            .filter(|id| !out.contains_key(**id))
            .map(|id| (retention::seen_key(id), *id))
            .collect();
        for chunk in missing.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT key_hash FROM seen_items WHERE key_hash IN ({})",
                placeholders(chunk.len())
            );
            let mut q = sqlx::query_scalar::<_, i64>(&sql);
            for (key, _) in padded(chunk) {
                q = q.bind(key);
            }
            let seen: std::collections::HashSet<i64> =
                q.fetch_all(&self.pool).await?.into_iter().collect();
            for (key, id) in chunk {
                if seen.contains(key) {
                    out.insert(
                        (*id).to_string(),
                        Existing {
                            content_hash: String::new(),
                            story_id: None,
                            published_entry_at: None,
                            forgotten: true,
                        },
                    );
                }
            }
        }
        Ok(out)
    }

    /// Fingerprints (JSON) of the stories created since `since` with their
    /// creation time, newest first (loads the in-memory story index).
    pub async fn recent_story_fingerprints_at(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, String, DateTime<Utc>)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, fingerprint, created_at FROM stories WHERE created_at >= ?
             ORDER BY created_at DESC",
        )
        .bind(time::to_ms(since))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, fingerprint, created)| Ok((id, fingerprint, time::from_ms(created)?)))
            .collect()
    }

    /// Stored items with their stored decision, newest first (for replay).
    pub async fn items_with_decisions(
        &self,
        limit: u32,
    ) -> Result<Vec<(StoredItem, Option<StoredDecision>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, feed_url, source, outlet, guid, link, title, summary, content, lang, published_at,
                    updated_at, first_seen_at, content_hash, categories, revision, decision, score, reasons, story_id,
                    story_reasons, author
             FROM items ORDER BY published_at DESC, id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let decision: Option<String> = r.try_get("decision")?;
                let stored = decision.map(|d| -> Result<StoredDecision, sqlx::Error> {
                    Ok(StoredDecision {
                        publish: Decision::parse(&d) == Some(Decision::Publish),
                        score: r.try_get::<Option<f64>, _>("score")?.unwrap_or(0.0),
                        reasons: r
                            .try_get::<Option<String>, _>("reasons")?
                            .unwrap_or_default(),
                        story_id: r.try_get("story_id")?,
                        story_reasons: r.try_get("story_reasons")?,
                    })
                });
                Ok((stored_item_from_row(r)?, stored.transpose()?))
            })
            .collect()
    }

    /// The newest published entries with their sources, for the feeds: two
    /// queries (the entries, then the sources of all of them at once).
    pub async fn published_entries(&self, limit: u32) -> Result<Vec<PublishedEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "{FEED_ENTRY_SELECT} ORDER BY published_at DESC, story_id LIMIT ?"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let entries = rows
            .iter()
            .map(feed_entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let mut sources = self
            .sources_of(entries.iter().map(|e| e.story_id.as_str()))
            .await?;
        Ok(entries
            .into_iter()
            .map(|entry| PublishedEntry {
                sources: sources.remove(&entry.story_id).unwrap_or_default(),
                entry,
            })
            .collect())
    }

    /// One page of published stories, newest first, for the paged front
    /// page: `limit` entries after skipping `offset`.
    pub async fn published_entries_page(
        &self,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<PublishedEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "{FEED_ENTRY_SELECT} ORDER BY published_at DESC, story_id LIMIT ? OFFSET ?"
        ))
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.with_sources(feed_entry_from_row(r)?).await?);
        }
        Ok(out)
    }

    /// How many stories are published (the front page's page count).
    pub async fn published_entry_count(&self) -> Result<u64, StoreError> {
        // Kept by triggers (migration 1001): no walk over the entries.
        let n: i64 = sqlx::query_scalar(FEED_ENTRY_COUNT_SQL)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The outlets that carried a story, the lead item first.
    async fn with_sources(&self, entry: FeedEntryRow) -> Result<PublishedEntry, StoreError> {
        let sources = self
            .sources_of(std::iter::once(entry.story_id.as_str()))
            .await?
            .remove(&entry.story_id)
            .unwrap_or_default();
        Ok(PublishedEntry { entry, sources })
    }

    /// (outlet, link) of the items of each story, the lead item first, in
    /// one query per 500 stories.
    async fn sources_of<'a>(
        &self,
        story_ids: impl Iterator<Item = &'a str>,
    ) -> Result<std::collections::HashMap<String, Vec<(String, String)>>, StoreError> {
        let ids: Vec<&str> = story_ids.collect();
        let mut out: std::collections::HashMap<String, Vec<(String, String)>> =
            std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let placeholders = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT story_id, outlet, source, feed_url, link FROM items
                 WHERE story_id IN ({placeholders}) AND link IS NOT NULL
                 ORDER BY story_id, (id = story_id) DESC, first_seen_at, id"
            );
            let mut q = sqlx::query_as::<_, (String, Option<String>, String, String, String)>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for (story, outlet, source, feed_url, link) in q.fetch_all(&self.pool).await? {
                let name = stored_outlet(outlet, Some(&link), &feed_url, &source);
                out.entry(story).or_default().push((name, link));
            }
        }
        Ok(out)
    }

    /// Removes a published story: drops its feed entry, marks the story
    /// removed and applies its Fediverse `Delete`, in one transaction.
    /// False when no such published story exists.
    pub async fn remove_story(
        &self,
        story_id: &str,
        delete: Option<&crate::model::PreparedActivity>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query("DELETE FROM feed_entries WHERE story_id = ?")
            .bind(story_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE stories SET removed_at = ? WHERE id = ?")
            .bind(time::to_ms(now))
            .bind(story_id)
            .execute(&mut *tx)
            .await?;
        if let Some(d) = delete {
            fed::FedStore::apply_prepared_tx(&mut tx, d, now).await?;
        }
        tx.commit().await?;
        self.bump_generation();
        Ok(true)
    }

    /// Whether a story existed and was removed by the operator.
    pub async fn story_removed(&self, story_id: &str) -> Result<bool, StoreError> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT removed_at FROM stories WHERE id = ?")
                .bind(story_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some_and(|(r,)| r.is_some()))
    }

    /// One published entry by story id.
    pub async fn published_entry(
        &self,
        story_id: &str,
    ) -> Result<Option<PublishedEntry>, StoreError> {
        let row = sqlx::query(&format!("{FEED_ENTRY_SELECT} WHERE story_id = ?"))
            .bind(story_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(Some(self.with_sources(feed_entry_from_row(&r)?).await?)),
            None => Ok(None),
        }
    }

    /// A cached article page: `Some(text)` when fetched before (text may be
    /// `None` if the page had no main text or failed).
    pub async fn article_page(&self, url: &str) -> Result<Option<Option<String>>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT main_text FROM article_pages WHERE url = ?")
                .bind(url)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(t,)| t))
    }

    /// Caches the outcome of one article page fetch.
    pub async fn save_article_page(
        &self,
        url: &str,
        at: DateTime<Utc>,
        status: Option<u16>,
        main_text: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO article_pages (url, fetched_at, status, main_text) VALUES (?, ?, ?, ?)
             ON CONFLICT (url) DO UPDATE SET fetched_at = excluded.fetched_at, status = excluded.status,
                                             main_text = excluded.main_text",
        )
        .bind(url)
        .bind(time::to_ms(at))
        .bind(status.map(i64::from))
        .bind(main_text)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Number of stored items.
    pub async fn item_count(&self) -> Result<u64, StoreError> {
        // Kept by triggers (migration 1001): no walk over the items. Items
        // retention deleted (their ids in `seen_items`) are not counted.
        let n: i64 = sqlx::query_scalar(ITEM_COUNT_SQL)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Stored items, newest first.
    pub async fn recent_items(&self, limit: u32) -> Result<Vec<StoredItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, feed_url, source, outlet, guid, link, title, summary, content, lang, published_at,
                    updated_at, first_seen_at, content_hash, categories, revision, author
             FROM items ORDER BY published_at DESC, id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(stored_item_from_row(r)?)).collect()
    }

    /// The Fediverse tables, on the same pool.
    pub fn fed(&self) -> fed::FedStore {
        fed::FedStore::new(self.pool.clone())
    }

    /// Frees the page caches of the connections not in use (SQLite's
    /// `shrink_memory`): after a cycle, so the daemon does not idle holding
    /// the pages its commits read.
    pub async fn release_memory(&self) {
        for pool in [&self.writer, &self.pool] {
            let held: Vec<_> = (0..pool.num_idle())
                .map_while(|_| pool.try_acquire())
                .collect();
            for mut conn in held {
                if let Err(e) = sqlx::query("PRAGMA shrink_memory")
                    .execute(&mut *conn)
                    .await
                {
                    tracing::debug!(error = %e, "shrink_memory failed");
                }
            }
        }
    }

    /// Closes both pools, checkpointing the WAL. The readers' pool first:
    /// closed after the writer, a reader's connection was at times still
    /// open when this returned (12 of 30 runs of the store's unit tests under
    /// load, where the next open changes the journal mode and needs the file
    /// to itself); in this order, none of 90. Why, inside sqlx, is not found.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// Writes a new story's feed entry and, when it is new, its Fediverse
/// activity with the deliveries it fans out to (transactional outbox). False
/// when the story already had an entry (nothing written).
pub(crate) async fn insert_new_entry_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    entry: &FeedEntryRow,
    activity: Option<&crate::model::PreparedActivity>,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO feed_entries (story_id, title, summary, link, lang, hashtags, post_html,
                                   post_text, spoiler_text, published_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (story_id) DO NOTHING",
    )
    .bind(&entry.story_id)
    .bind(&entry.title)
    .bind(&entry.summary)
    .bind(&entry.link)
    .bind(&entry.lang)
    .bind(serde_json::to_string(&entry.hashtags).unwrap_or_else(|_| "[]".to_string()))
    .bind(&entry.post_html)
    .bind(&entry.post_text)
    .bind(&entry.spoiler_text)
    .bind(time::to_ms(entry.published_at))
    .bind(time::to_ms(entry.updated_at))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted != 1 {
        return Ok(false);
    }
    fault::point("entry: written");
    sqlx::query("UPDATE stories SET posted_at = COALESCE(posted_at, ?) WHERE id = ?")
        .bind(time::to_ms(at))
        .bind(&entry.story_id)
        .execute(&mut **tx)
        .await?;
    fault::point("entry: story marked posted");
    if let Some(a) = activity {
        fed::FedStore::apply_prepared_tx(tx, a, at)
            .await
            .map_err(StoreError::from)?;
    }
    Ok(true)
}

const FEED_ENTRY_SELECT: &str =
    "SELECT story_id, title, summary, link, lang, hashtags, post_html, post_text,
        spoiler_text, published_at, updated_at, revision FROM feed_entries";

fn feed_entry_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<FeedEntryRow, sqlx::Error> {
    let hashtags: String = r.try_get("hashtags")?;
    Ok(FeedEntryRow {
        story_id: r.try_get("story_id")?,
        title: r.try_get("title")?,
        summary: r.try_get("summary")?,
        link: r.try_get("link")?,
        lang: r.try_get("lang")?,
        hashtags: serde_json::from_str(&hashtags).unwrap_or_default(),
        post_html: r.try_get("post_html")?,
        post_text: r.try_get("post_text")?,
        spoiler_text: r.try_get("spoiler_text")?,
        published_at: time::from_ms(r.try_get("published_at")?)?,
        updated_at: time::from_ms(r.try_get("updated_at")?)?,
        revision: u32::try_from(r.try_get::<i64, _>("revision")?).unwrap_or(1),
    })
}

/// The outlet of a stored item; rows stored before outlets were (NULL) get
/// the credit their link and feed give (no entry `<source>` is known).
fn stored_outlet(
    outlet: Option<String>,
    link: Option<&str>,
    feed_url: &str,
    source: &str,
) -> String {
    match outlet.filter(|o| !o.is_empty()) {
        Some(o) => o,
        None => match url::Url::parse(feed_url) {
            Ok(feed) => crate::model::credit(None, link, &feed, None, source),
            Err(_) => source.to_string(),
        },
    }
}

fn stored_item_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<StoredItem, sqlx::Error> {
    let feed_url: String = r.try_get("feed_url")?;
    let source: String = r.try_get("source")?;
    let link: Option<String> = r.try_get("link")?;
    let outlet = stored_outlet(r.try_get("outlet")?, link.as_deref(), &feed_url, &source);
    Ok(StoredItem {
        item: Item {
            id: r.try_get("id")?,
            feed_url,
            source,
            outlet,
            guid: r.try_get("guid")?,
            link,
            title: r.try_get("title")?,
            summary: r.try_get("summary")?,
            content: r.try_get("content")?,
            lang: r.try_get("lang")?,
            published: time::from_ms(r.try_get("published_at")?)?,
            updated: time::from_ms(r.try_get("updated_at")?)?,
            content_hash: r.try_get("content_hash")?,
            categories: serde_json::from_str(&r.try_get::<String, _>("categories")?)
                .unwrap_or_default(),
            // Absent from a SELECT that does not name it: empty.
            author: r.try_get("author")?,
        },
        first_seen_at: time::from_ms(r.try_get("first_seen_at")?)?,
        revision: u32::try_from(r.try_get::<i64, _>("revision")?).unwrap_or(1),
    })
}

/// Appends each row's state to `states` as the row arrives, so only the
/// states, not the rows, are held (see [`Store::feed_states`]).
async fn push_states(
    mut rows: impl futures_util::Stream<Item = Result<sqlx::sqlite::SqliteRow, sqlx::Error>> + Unpin,
    states: &mut Vec<FeedState>,
) -> Result<(), StoreError> {
    while let Some(row) = rows.try_next().await? {
        states.push(feed_state_from_row(&row)?);
    }
    Ok(())
}

fn feed_state_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<FeedState, StoreError> {
    let count = |name: &str| -> Result<i64, sqlx::Error> { r.try_get::<i64, _>(name) };
    Ok(FeedState {
        url: r.try_get("url")?,
        etag: r.try_get("etag")?,
        last_modified: r.try_get("last_modified")?,
        last_fetch_at: time::from_ms_opt(r.try_get("last_fetch_at")?)?,
        last_success_at: time::from_ms_opt(r.try_get("last_success_at")?)?,
        last_status: r
            .try_get::<Option<i64>, _>("last_status")?
            .and_then(|s| u16::try_from(s).ok()),
        last_outcome: r.try_get("last_outcome")?,
        last_error: r.try_get("last_error")?,
        error_count: u32::try_from(count("error_count")?).unwrap_or(u32::MAX),
        total_errors: u64::try_from(count("total_errors")?).unwrap_or(0),
        total_fetches: u64::try_from(count("total_fetches")?).unwrap_or(0),
        next_check_at: time::from_ms_opt(r.try_get("next_check_at")?)?,
        last_item_count: r
            .try_get::<Option<i64>, _>("last_item_count")?
            .and_then(|n| u32::try_from(n).ok()),
    })
}

#[cfg(test)]
mod lookup_tests {
    use super::{LOOKUP_CHUNK, padded, placeholders};

    #[test]
    fn a_lookup_binds_one_value_per_placeholder_padding_with_the_last() {
        for n in [1, 2, 3, 5, 16, 17, 300, LOOKUP_CHUNK] {
            let chunk: Vec<usize> = (0..n).collect();
            let values: Vec<usize> = padded(&chunk).collect();
            assert_eq!(
                values.len(),
                placeholders(n).matches('?').count(),
                "n = {n}"
            );
            assert_eq!(values[..n], chunk[..], "n = {n}");
            assert!(values[n..].iter().all(|&v| v == n - 1), "n = {n}");
        }
        assert_eq!(placeholders(3), "?,?,?,?");
        assert_eq!(placeholders(300).matches('?').count(), LOOKUP_CHUNK);
    }
}
