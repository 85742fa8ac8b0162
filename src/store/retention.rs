//! Retention and SQLite maintenance (issue 9 §4): what `[storage] retain`
//! prunes, and the scheduled `PRAGMA optimize` / incremental vacuum.
//!
//! The daemon calls [`Store::maintain`] from its scheduler tick, at most once
//! an hour, with a full VACUUM once a week (see `app::scheduler_loop`);
//! `run --once` does not. The pruning statements read indexes, never the
//! whole of a table that grows with time (`tests::counters_and_prune_use_indexes`).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::queue::QueueState;
use super::time::to_ms;
use super::{Store, StoreError};

/// Items moved from `items` to `seen_items` per chunk (one transaction
/// each), and at most this many chunks a pass, so that one pass after an
/// upgrade never holds the writer for long; the next pass takes the rest.
const FORGET_CHUNK: i64 = 2_000;
const FORGET_CHUNKS_PER_PASS: usize = 50;

/// The shortest time a seen id is remembered, counted from when a poll last
/// met the item (its first sighting, moved on by `commit_poll` at most daily
/// while its feed carries it); with a longer `retain`, 4 x retain.
pub const SEEN_IDS_AT_LEAST: std::time::Duration = std::time::Duration::from_secs(90 * 86_400);

/// How long the identity of an item is remembered after a poll last met it:
/// max(4 x `retain`, 90 days). A feed carries an item for days or weeks;
/// this is far beyond any feed's memory, and the age gate still holds an
/// old dated item that reappears after it.
pub fn seen_ids_horizon(retain: std::time::Duration) -> std::time::Duration {
    retain.saturating_mul(4).max(SEEN_IDS_AT_LEAST)
}

/// The compact key of an item id in `seen_items`: the first 8 bytes of its
/// SHA-256, big-endian, as i64. Two ids share a key with a chance of about
/// n^2 / 2^65 (1 in 370,000 for ten million ids); a collision only makes a
/// new item count as seen.
pub fn seen_key(item_id: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(item_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Pages handed back to the file system per maintenance pass at most, so one
/// pass after a large prune stays short (4 KiB pages: 16 MiB a pass).
const VACUUM_PAGES_PER_PASS: i64 = 4096;

/// What one retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Finished deliveries removed: delivered, failed (refused) and dead.
    pub deliveries: u64,
    /// Outgoing activities removed (no delivery and no Note refers to them).
    pub activities: u64,
    /// Unpublished items whose text was dropped (row kept: in a story that
    /// was never published, or labelled).
    pub items_emptied: u64,
    /// Unpublished items deleted, their identity kept in `seen_items`.
    pub items_forgotten: u64,
    /// `seen_items` rows past their horizon, removed.
    pub seen_expired: u64,
    /// Cached article pages removed.
    pub article_pages: u64,
    /// Handled inbox activity ids removed.
    pub inbox_seen: u64,
    /// Stale (never published) queue rows removed.
    pub stale_queue: u64,
    /// Pages the incremental vacuum gave back.
    pub pages_freed: i64,
}

impl Store {
    /// Prunes what is older than `retain` at `now`, in one transaction, then
    /// runs SQLite's maintenance (`PRAGMA optimize`, an incremental vacuum of
    /// at most `VACUUM_PAGES_PER_PASS` pages).
    ///
    /// With `full_vacuum` (the daemon asks weekly), a full `VACUUM` instead:
    /// emptied items shrink in place, and only a full VACUUM repacks the
    /// half-empty pages they leave (the soak test measured half of the items
    /// table as unused space without it).
    pub async fn maintain(
        &self,
        now: DateTime<Utc>,
        retain: std::time::Duration,
        full_vacuum: bool,
    ) -> Result<PruneReport, StoreError> {
        let mut report = self.prune(now, retain).await?;
        report.pages_freed = if full_vacuum {
            self.full_vacuum().await?
        } else {
            self.vacuum_step().await?
        };
        sqlx::query("PRAGMA optimize").execute(&self.pool).await?;
        Ok(report)
    }

    /// The retention pass alone (see [`PruneReport`] for what goes).
    pub async fn prune(
        &self,
        now: DateTime<Utc>,
        retain: std::time::Duration,
    ) -> Result<PruneReport, StoreError> {
        let cutoff = now - chrono::Duration::from_std(retain).unwrap_or(chrono::Duration::MAX);
        let cutoff_ms = to_ms(cutoff);
        let mut r = PruneReport::default();
        let mut tx = self.pool.begin().await?;
        r.deliveries = sqlx::query(
            "DELETE FROM fed_deliveries
             WHERE status IN ('delivered', 'failed', 'dead') AND created_at < ?",
        )
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // An activity goes once nothing is left to send and it is older than
        // retain; a Note's current Create stays (the outbox serves it).
        r.activities = sqlx::query(
            "DELETE FROM fed_activities
             WHERE created_at < ?
               AND NOT EXISTS (SELECT 1 FROM fed_deliveries d WHERE d.activity_id = fed_activities.id)
               AND NOT EXISTS (SELECT 1 FROM fed_notes n WHERE n.create_id = fed_activities.id)",
        )
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Unpublished items in no story and without a label: the whole row
        // goes, in chunks of their own transactions (see below); their
        // identity stays in `seen_items`, so they are never new again.
        // Unpublished items that are in a story (never published) or that
        // carry an operator's label keep their identity, content hash and
        // decision in place; their text, explanation, reasons and
        // fingerprint go.
        r.items_emptied = sqlx::query(
            "UPDATE items SET title = '', summary = '', content = '', explanation = NULL,
                              reasons = CASE WHEN reasons IS NULL THEN NULL ELSE '' END,
                              fingerprint = NULL, pruned_at = ?
             WHERE pruned_at IS NULL AND first_seen_at < ?
               AND story_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM feed_entries f WHERE f.story_id = items.story_id)
               AND NOT EXISTS (SELECT 1 FROM publish_queue q
                               WHERE q.story_id = items.id AND q.state = ?)",
        )
        .bind(to_ms(now))
        .bind(cutoff_ms)
        .bind(QueueState::Waiting.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        r.items_emptied += sqlx::query(
            "UPDATE items SET title = '', summary = '', content = '', explanation = NULL,
                              reasons = CASE WHEN reasons IS NULL THEN NULL ELSE '' END,
                              fingerprint = NULL, pruned_at = ?
             WHERE pruned_at IS NULL AND first_seen_at < ? AND +story_id IS NULL
               AND EXISTS (SELECT 1 FROM item_labels l WHERE l.item_id = items.id)",
        )
        .bind(to_ms(now))
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let seen_cutoff = chrono::Duration::from_std(seen_ids_horizon(retain))
            .ok()
            .and_then(|h| now.checked_sub_signed(h))
            .map_or(i64::MIN, to_ms);
        r.seen_expired = sqlx::query("DELETE FROM seen_items WHERE first_seen < ?")
            .bind(seen_cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        r.article_pages = sqlx::query("DELETE FROM article_pages WHERE fetched_at < ?")
            .bind(to_ms(cutoff))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        r.inbox_seen = sqlx::query("DELETE FROM fed_inbox_seen WHERE received_at < ?")
            .bind(cutoff_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        r.stale_queue = sqlx::query("DELETE FROM publish_queue WHERE state = ? AND stale_at < ?")
            .bind(QueueState::Stale.as_str())
            .bind(to_ms(cutoff))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        r.items_forgotten = self.forget_items(cutoff).await?;
        Ok(r)
    }

    /// Deletes unpublished items first seen before `cutoff` that are in no
    /// story, carry no label and wait in no queue, after writing their
    /// identity to `seen_items`; chunk by chunk, each in one transaction.
    /// Returns how many went.
    async fn forget_items(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut forgotten = 0;
        for _ in 0..FORGET_CHUNKS_PER_PASS {
            let mut tx = self.pool.begin().await?;
            let rows: Vec<(String, i64)> = sqlx::query_as(FORGET_SELECT_SQL)
                .bind(to_ms(cutoff))
                .bind(FORGET_CHUNK)
                .fetch_all(&mut *tx)
                .await?;
            for (id, first_seen) in &rows {
                sqlx::query(
                    "INSERT INTO seen_items (key_hash, first_seen) VALUES (?, ?)
                     ON CONFLICT (key_hash) DO UPDATE SET first_seen = MAX(first_seen, excluded.first_seen)",
                )
                .bind(seen_key(id))
                .bind(*first_seen)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM items WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            forgotten += rows.len() as u64;
            if (rows.len() as i64) < FORGET_CHUNK {
                break;
            }
        }
        Ok(forgotten)
    }

    /// Converts the database file at `path`, made before feedwatch set
    /// `auto_vacuum = INCREMENTAL` (new files get it at creation), with one
    /// full `VACUUM`. The daemon calls this once at start-up, holding the
    /// instance lock and before it opens its pool: SQLite can change the
    /// mode only by a VACUUM outside WAL mode, and leaving WAL needs the only
    /// connection. True when it converted; false when there was nothing to
    /// do (no file yet, or already incremental). An error (another process,
    /// such as `feedwatch feeds`, has the file open) leaves the file as it
    /// was; the next start tries again.
    pub async fn convert_to_incremental_vacuum(path: &std::path::Path) -> Result<bool, StoreError> {
        use sqlx::Connection;
        if !path.exists() {
            return Ok(false);
        }
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(std::time::Duration::from_secs(5));
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
        let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
            .fetch_one(&mut conn)
            .await?;
        if mode == 2 {
            conn.close().await?;
            return Ok(false);
        }
        let started = std::time::Instant::now();
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode = DELETE")
            .fetch_one(&mut conn)
            .await?;
        let converted = async {
            sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
                .execute(&mut conn)
                .await?;
            sqlx::query("VACUUM").execute(&mut conn).await
        }
        .await;
        if journal.eq_ignore_ascii_case("delete") {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&mut conn)
                .await?;
        }
        conn.close().await?;
        converted?;
        tracing::info!(
            took_ms = started.elapsed().as_millis() as u64,
            "database converted to auto_vacuum = INCREMENTAL (one full VACUUM)"
        );
        Ok(true)
    }

    /// SQLite's `auto_vacuum` mode: 0 none, 1 full, 2 incremental.
    pub async fn auto_vacuum_mode(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("PRAGMA auto_vacuum")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// A full `VACUUM` (WAL stays on); returns the pages given back.
    async fn full_vacuum(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let before: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut *conn)
            .await?;
        sqlx::query("VACUUM").execute(&mut *conn).await?;
        let after: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut *conn)
            .await?;
        Ok((before - after).max(0))
    }

    /// One incremental vacuum step; returns the pages freed. Nothing on a
    /// database not (yet) in `auto_vacuum = INCREMENTAL` (see
    /// [`Store::convert_to_incremental_vacuum`]).
    async fn vacuum_step(&self) -> Result<i64, StoreError> {
        if self.auto_vacuum_mode().await? != 2 {
            return Ok(0);
        }
        let before: i64 = sqlx::query_scalar("PRAGMA freelist_count")
            .fetch_one(&self.pool)
            .await?;
        let mut conn = self.pool.acquire().await?;
        sqlx::query(&format!(
            "PRAGMA incremental_vacuum({VACUUM_PAGES_PER_PASS})"
        ))
        .execute(&mut *conn)
        .await?;
        let after: i64 = sqlx::query_scalar("PRAGMA freelist_count")
            .fetch_one(&mut *conn)
            .await?;
        Ok((before - after).max(0))
    }
}

/// The items [`Store::prune`] deletes (keeping their identity in
/// `seen_items`): unpublished, in no story, unlabelled, older than retain.
/// An item in no story is in no queue either (a queued story's id is its
/// lead item's, whose `story_id` is set). The unary `+` keeps SQLite from
/// walking `items_by_story` over every story-less item, fresh ones too:
/// the pass reads the old unpruned range of `items_unpruned_by_seen`.
const FORGET_SELECT_SQL: &str = "SELECT id, first_seen_at FROM items
     WHERE pruned_at IS NULL AND first_seen_at < ? AND +story_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM item_labels l WHERE l.item_id = items.id)
     LIMIT ?";

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    const DAY: std::time::Duration = std::time::Duration::from_secs(86_400);

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        (dir, store)
    }

    async fn item(store: &Store, id: &str, seen: DateTime<Utc>, story: Option<&str>) {
        sqlx::query(
            "INSERT INTO items (id, feed_url, source, guid, link, title, summary, content, lang,
                                published_at, updated_at, first_seen_at, content_hash, decision,
                                explanation, story_id)
             VALUES (?, 'https://f.example/rss', 'F', ?, ?, 'Title', 'Summary', 'Content', 'en',
                     ?, ?, ?, 'hash', 'skip', '{}', ?)",
        )
        .bind(id)
        .bind(format!("guid-{id}"))
        .bind(format!("https://f.example/{id}"))
        .bind(super::to_ms(seen))
        .bind(super::to_ms(seen))
        .bind(super::to_ms(seen))
        .bind(story)
        .execute(&store.pool)
        .await
        .unwrap();
    }

    async fn delivery(store: &Store, activity: &str, status: &str, at: DateTime<Utc>) {
        sqlx::query(
            "INSERT INTO fed_activities (id, kind, json, created_at) VALUES (?, 'Create', '{}', ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(activity)
        .bind(to_ms(at))
        .execute(&store.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO fed_deliveries (activity_id, channel, target, status, next_attempt_at, created_at)
             VALUES (?, 'activitypub', ?, ?, ?, ?)",
        )
        .bind(activity)
        .bind(format!("https://peer.example/{activity}/{status}"))
        .bind(status)
        .bind(to_ms(at))
        .bind(to_ms(at))
        .execute(&store.pool)
        .await
        .unwrap();
    }

    async fn count(store: &Store, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_new_database_has_incremental_auto_vacuum() {
        let (_d, store) = store().await;
        assert_eq!(store.auto_vacuum_mode().await.unwrap(), 2);
    }

    #[tokio::test]
    async fn an_old_database_is_converted_once_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        // A file made the old way: WAL, tables before any auto_vacuum setting.
        {
            let store = Store::open(&path).await.unwrap();
            sqlx::query("PRAGMA auto_vacuum = NONE")
                .execute(&store.pool)
                .await
                .unwrap();
            store.close().await;
            let mut conn = sqlx::SqliteConnection::connect_with(
                &sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
            )
            .await
            .unwrap();
            sqlx::query("PRAGMA journal_mode = DELETE")
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("PRAGMA auto_vacuum = NONE")
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("VACUUM").execute(&mut conn).await.unwrap();
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        }
        let store = Store::open(&path).await.unwrap();
        assert_eq!(store.auto_vacuum_mode().await.unwrap(), 0, "the old kind");
        // Maintenance on it works, without the incremental step.
        assert_eq!(
            store
                .maintain(Utc::now(), 30 * DAY, false)
                .await
                .unwrap()
                .pages_freed,
            0
        );
        store.close().await;
        assert!(Store::convert_to_incremental_vacuum(&path).await.unwrap());
        assert!(
            !Store::convert_to_incremental_vacuum(&path).await.unwrap(),
            "once"
        );
        let store = Store::open(&path).await.unwrap();
        assert_eq!(store.auto_vacuum_mode().await.unwrap(), 2);
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(journal, "wal");
    }

    #[tokio::test]
    async fn prune_drops_what_retain_no_longer_keeps_and_nothing_else() {
        let (_d, store) = store().await;
        let now = Utc::now();
        let old = now - chrono::Duration::days(40);
        let fresh = now - chrono::Duration::days(2);
        // Items: old unpublished, old published (a story with an entry),
        // old waiting in the queue, fresh unpublished, old labelled, old in
        // a story that was never published.
        item(&store, "old-skip", old, None).await;
        item(&store, "old-pub", old, Some("old-pub")).await;
        item(&store, "old-wait", old, Some("old-wait")).await;
        item(&store, "fresh", fresh, None).await;
        item(&store, "old-labelled", old, None).await;
        item(&store, "old-unposted", old, Some("old-unposted")).await;
        store
            .set_label("old-labelled", 2, "test", old)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO feed_entries (story_id, title, summary, link, lang, hashtags, post_html,
                                       post_text, published_at, updated_at)
             VALUES ('old-pub', 'T', 'S', 'https://f.example/old-pub', 'en', '[]', '', '', ?, ?)",
        )
        .bind(super::to_ms(old))
        .bind(super::to_ms(old))
        .execute(&store.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO publish_queue (story_id, lead_date, queued_at) VALUES ('old-wait', ?, ?)",
        )
        .bind(super::to_ms(old))
        .bind(super::to_ms(old))
        .execute(&store.pool)
        .await
        .unwrap();
        // A seen id far past its horizon (max(4 x 30 d, 90 d)) and one within.
        for (key, days) in [(1i64, 121), (2, 119)] {
            sqlx::query("INSERT INTO seen_items (key_hash, first_seen) VALUES (?, ?)")
                .bind(key)
                .bind(super::to_ms(now - chrono::Duration::days(days)))
                .execute(&store.pool)
                .await
                .unwrap();
        }
        // Deliveries: old delivered and dead go; old pending and fresh stay.
        delivery(&store, "a-old", "delivered", old).await;
        delivery(&store, "a-old", "dead", old).await;
        delivery(&store, "a-old", "failed", old).await;
        delivery(&store, "a-old-pending", "pending", old).await;
        delivery(&store, "a-fresh", "delivered", fresh).await;
        for (url, at) in [
            ("https://x.example/old", old),
            ("https://x.example/new", fresh),
        ] {
            store
                .save_article_page(url, at, Some(200), Some("text"))
                .await
                .unwrap();
        }
        for (id, at) in [("in-old", old), ("in-new", fresh)] {
            store
                .fed()
                .claim_inbox_activity(id, "Follow", "https://peer.example/u", at)
                .await
                .unwrap();
        }

        let r = store.prune(now, 30 * DAY).await.unwrap();
        assert_eq!(
            r,
            PruneReport {
                deliveries: 3,
                activities: 1,
                items_emptied: 2,
                items_forgotten: 1,
                seen_expired: 1,
                article_pages: 1,
                inbox_seen: 1,
                stale_queue: 0,
                pages_freed: 0,
            }
        );
        // The old unpublished item in no story is gone; its identity stays
        // in seen_items, where `existing` finds it.
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM items WHERE id = 'old-skip'").await,
            0
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM seen_items").await,
            2,
            "old-skip's key and the seen id within its horizon"
        );
        let existing = store
            .existing(&["old-skip", "fresh", "never"])
            .await
            .unwrap();
        assert!(existing["old-skip"].forgotten, "{existing:?}");
        assert!(existing["old-skip"].unchanged("any other hash"));
        assert!(!existing["fresh"].forgotten);
        assert!(!existing.contains_key("never"));
        // The labelled and the never-posted items keep their identity, hash
        // and decision (and the label), not their text.
        for id in ["old-labelled", "old-unposted"] {
            let (title, guid, hash, decision, explanation): (
                String,
                String,
                String,
                String,
                Option<String>,
            ) = sqlx::query_as(
                "SELECT title, guid, content_hash, decision, explanation FROM items WHERE id = ?",
            )
            .bind(id)
            .fetch_one(&store.pool)
            .await
            .unwrap();
            assert_eq!((title.as_str(), guid), ("", format!("guid-{id}")));
            assert_eq!(
                (hash.as_str(), decision.as_str(), explanation),
                ("hash", "skip", None)
            );
        }
        assert_eq!(count(&store, "SELECT COUNT(*) FROM item_labels").await, 1);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM items WHERE title = 'Title'").await,
            3,
            "published, waiting and fresh items keep their text"
        );
        // The counter the triggers keep is exact.
        assert_eq!(store.item_count().await.unwrap(), 5);
        assert_eq!(
            store.item_count().await.unwrap() as i64,
            count(&store, "SELECT COUNT(*) FROM items").await
        );
        assert_eq!(store.published_entry_count().await.unwrap(), 1);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM fed_activities").await,
            2,
            "the pending one's and the fresh one's activities stay"
        );
        assert_eq!(
            store.article_page("https://x.example/new").await.unwrap(),
            Some(Some("text".into()))
        );
        assert_eq!(
            store.article_page("https://x.example/old").await.unwrap(),
            None
        );
        // A second pass finds nothing: emptied items are marked.
        assert_eq!(
            store.prune(now, 30 * DAY).await.unwrap(),
            PruneReport::default()
        );
    }

    /// The counters the triggers keep (migration 1001) equal COUNT(*)
    /// through inserts, upserts, tombstones and deletes.
    #[tokio::test]
    async fn trigger_counters_stay_exact() {
        let (_d, store) = store().await;
        let now = Utc::now();
        let fed = store.fed();
        let check = |store: &Store| {
            let store = store.clone();
            async move {
                let fed = store.fed();
                assert_eq!(
                    store.item_count().await.unwrap() as i64,
                    count(&store, "SELECT COUNT(*) FROM items").await
                );
                assert_eq!(
                    store.published_entry_count().await.unwrap() as i64,
                    count(&store, "SELECT COUNT(*) FROM feed_entries").await
                );
                assert_eq!(
                    fed.outbox_count().await.unwrap(),
                    count(
                        &store,
                        "SELECT COUNT(*) FROM fed_notes WHERE deleted_at IS NULL"
                    )
                    .await
                );
                assert_eq!(
                    fed.interaction_totals().await.unwrap().0 as i64,
                    count(&store, "SELECT COUNT(*) FROM fed_mentions").await
                );
            }
        };
        check(&store).await;
        for id in ["a", "b", "c"] {
            item(&store, id, now, Some(id)).await;
            sqlx::query(
                "INSERT INTO feed_entries (story_id, title, summary, link, lang, hashtags, post_html,
                                           post_text, published_at, updated_at)
                 VALUES (?, 'T', 'S', 'https://f.example/', 'en', '[]', '', '', ?, ?)",
            )
            .bind(id)
            .bind(super::to_ms(now))
            .bind(super::to_ms(now))
            .execute(&store.pool)
            .await
            .unwrap();
            let note = |deleted: Option<DateTime<Utc>>| crate::model::NoteRow {
                story_id: id.to_string(),
                note_id: format!("https://b.example/notes/{id}"),
                create_id: format!("https://b.example/activities/{id}"),
                json: "{}".to_string(),
                published_at: now,
                updated_at: None,
                deleted_at: deleted,
            };
            let mut tx = store.pool.begin().await.unwrap();
            crate::store::fed::FedStore::upsert_note_tx(&mut tx, &note(None))
                .await
                .unwrap();
            // A re-publication: the upsert's UPDATE path.
            crate::store::fed::FedStore::upsert_note_tx(&mut tx, &note(None))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            sqlx::query(
                "INSERT INTO fed_mentions (activity_id, object_id, actor_id, content_html, received_at)
                 VALUES (?, 'o', 'https://p.example/u', 'hi', 0)",
            )
            .bind(format!("https://p.example/m/{id}"))
            .execute(&store.pool)
            .await
            .unwrap();
            check(&store).await;
        }
        assert_eq!(store.item_count().await.unwrap(), 3);
        assert_eq!(fed.outbox_count().await.unwrap(), 3);
        let mut tx = store.pool.begin().await.unwrap();
        assert!(
            crate::store::fed::FedStore::tombstone_note_tx(&mut tx, "a", now)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        check(&store).await;
        assert_eq!(fed.outbox_count().await.unwrap(), 2);
        assert!(store.remove_story("b", None, now).await.unwrap());
        sqlx::query("DELETE FROM items WHERE id = 'c'")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM fed_notes WHERE story_id = 'c'")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM fed_mentions WHERE activity_id = 'https://p.example/m/c'")
            .execute(&store.pool)
            .await
            .unwrap();
        check(&store).await;
        assert_eq!(store.item_count().await.unwrap(), 2);
        assert_eq!(store.published_entry_count().await.unwrap(), 2);
        assert_eq!(fed.outbox_count().await.unwrap(), 1);
        assert_eq!(fed.interaction_totals().await.unwrap().0, 2);
    }

    /// The counters of /metrics and the dashboard and the retention pass
    /// read indexes: no plan step walks a whole growing table.
    #[tokio::test]
    async fn counters_and_prune_use_indexes() {
        let (_d, store) = store().await;
        let plan = |sql: String| {
            let pool = store.pool.clone();
            async move {
                let explain = format!("EXPLAIN QUERY PLAN {sql}");
                let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
                for _ in 0..sql.matches('?').count() {
                    q = q.bind(0i64);
                }
                let rows = q.fetch_all(&pool).await.unwrap();
                rows.into_iter()
                    .map(|r| r.3)
                    .collect::<Vec<_>>()
                    .join(" | ")
            }
        };
        let checks = [
            super::super::fed::DELIVERY_COUNT_SQL.to_string(),
            super::super::queue::QUEUE_COUNTS_SQL.to_string(),
            "SELECT COUNT(*) FROM stories WHERE posted_at > ?".to_string(),
            "DELETE FROM fed_deliveries WHERE status IN ('delivered', 'failed', 'dead') AND created_at < ?"
                .to_string(),
            "DELETE FROM article_pages WHERE fetched_at < ?".to_string(),
            "DELETE FROM fed_inbox_seen WHERE received_at < ?".to_string(),
            "SELECT id FROM items WHERE pruned_at IS NULL AND first_seen_at < ?".to_string(),
            FORGET_SELECT_SQL.to_string(),
            "DELETE FROM seen_items WHERE first_seen < ?".to_string(),
            "SELECT key_hash FROM seen_items WHERE key_hash IN (?, ?)".to_string(),
            super::super::ITEM_COUNT_SQL.to_string(),
            super::super::FEED_ENTRY_COUNT_SQL.to_string(),
            super::super::fed::LIVE_NOTE_COUNT_SQL.to_string(),
            super::super::fed::MENTION_COUNT_SQL.to_string(),
        ];
        for sql in checks {
            let p = plan(sql.clone()).await;
            // SEARCH (a range of an index) only: no SCAN, not even of a
            // covering index, which would still walk every row.
            let scans = p
                .split(" | ")
                .any(|step| step.starts_with("SCAN ") && step != "SCAN CONSTANT ROW");
            assert!(!scans, "{sql}\n=> {p}");
            if sql == FORGET_SELECT_SQL {
                assert!(p.contains("items_unpruned_by_seen"), "{sql}\n=> {p}");
            }
            assert!(p.contains("SEARCH "), "{sql}\n=> {p}");
        }
    }
}
