//! Migrations 1200 and up on a database built by the previous schema: rows written
//! with RFC 3339 TEXT times (as sqlx wrote a `DateTime<Utc>`, and in the
//! `Z` / fractional forms) are converted to Unix milliseconds exactly, and
//! the Store API reads them back and compares them as before.

use std::borrow::Cow;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::Store;
use super::queue::QueueState;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}

/// The last migration before times became integers (1200 and up): the
/// schema an older feedwatch left.
const BEFORE_MS: i64 = 1199;

/// A database file at the schema of every migration up to `last`.
async fn database_at(path: &std::path::Path, last: i64) -> sqlx::SqlitePool {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .foreign_keys(true),
        )
        .await
        .expect("open");
    let old = sqlx::migrate::Migrator {
        migrations: Cow::Owned(
            super::MIGRATOR
                .iter()
                .filter(|m| m.version <= last)
                .cloned()
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    old.run(&pool).await.expect("old migrations");
    pool
}

#[tokio::test]
async fn queue_times_written_as_text_are_read_back_as_the_same_instants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let pool = database_at(&path, BEFORE_MS).await;

    // As the old code wrote them: literal forms, and one bound through sqlx.
    for (id, lead, queued, state, stale) in [
        (
            "a",
            "2026-11-30T01:22:23.123456789+00:00",
            "2026-11-30T01:22:24Z",
            "waiting",
            None,
        ),
        (
            "b",
            "2026-11-29T10:00:00+00:00",
            "2026-11-29T10:00:00.5+00:00",
            "waiting",
            None,
        ),
        (
            "c",
            "2026-11-01T00:00:00Z",
            "2026-11-01T00:00:01+00:00",
            "stale",
            Some("2026-11-28T12:00:00.250+00:00"),
        ),
    ] {
        sqlx::query(
            "INSERT INTO publish_queue (story_id, lead_date, queued_at, state, stale_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(lead)
        .bind(queued)
        .bind(state)
        .bind(stale)
        .execute(&pool)
        .await
        .expect("old row");
    }
    // 2026-11-30T00:53:20.987654321Z: between "b" and "a".
    let bound = Utc
        .timestamp_opt(1_796_000_000, 987_654_321)
        .single()
        .expect("time");
    sqlx::query("INSERT INTO publish_queue (story_id, lead_date, queued_at) VALUES ('d', ?, ?)")
        .bind(bound)
        .bind(bound)
        .execute(&pool)
        .await
        .expect("old bound row");
    let (text,): (String,) =
        sqlx::query_as("SELECT typeof(lead_date) FROM publish_queue WHERE story_id = 'd'")
            .fetch_one(&pool)
            .await
            .expect("typeof");
    assert_eq!(text, "text", "the old schema stored text");
    pool.close().await;

    let store = Store::open(&path).await.expect("migrate");
    let (non_integer,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM publish_queue
         WHERE typeof(lead_date) != 'integer' OR typeof(queued_at) != 'integer'
            OR (stale_at IS NOT NULL AND typeof(stale_at) != 'integer')",
    )
    .fetch_one(&store.pool)
    .await
    .expect("typeof");
    assert_eq!(non_integer, 0);

    let waiting = store
        .queued(QueueState::Waiting, 10)
        .await
        .expect("waiting");
    let got: Vec<(&str, DateTime<Utc>, DateTime<Utc>)> = waiting
        .iter()
        .map(|q| (q.story_id.as_str(), q.lead_date, q.queued_at))
        .collect();
    let bound_ms = Utc
        .timestamp_millis_opt(bound.timestamp_millis())
        .single()
        .expect("time");
    assert_eq!(
        got,
        [
            (
                "b",
                t("2026-11-29T10:00:00Z"),
                t("2026-11-29T10:00:00.500Z")
            ),
            ("d", bound_ms, bound_ms),
            (
                "a",
                t("2026-11-30T01:22:23.123Z"),
                t("2026-11-30T01:22:24Z")
            ),
        ],
        "oldest lead date first, to the millisecond"
    );
    let stale = store.queued(QueueState::Stale, 10).await.expect("stale");
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].story_id, "c");
    assert_eq!(stale[0].lead_date, t("2026-11-01T00:00:00Z"));
    assert_eq!(stale[0].stale_at, Some(t("2026-11-28T12:00:00.250Z")));
    assert_eq!(store.queue_counts().await.expect("counts"), (3, 1));

    // Converted times compare as instants: only "b" is older than this.
    let n = store
        .mark_stale(t("2026-11-30T00:00:00Z"), t("2026-11-30T02:00:00Z"))
        .await
        .expect("stale");
    assert_eq!(n, 1);
    assert_eq!(store.queue_counts().await.expect("counts"), (2, 2));
}

#[tokio::test]
async fn page_and_label_times_written_as_text_are_read_back_as_the_same_instants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let pool = database_at(&path, BEFORE_MS).await;
    sqlx::query(
        "INSERT INTO items (id, feed_url, source, title, summary, content, lang, published_at,
                            updated_at, first_seen_at, content_hash)
         VALUES ('x', 'https://f.example/rss', 'F', 'T', 'S', 'C', 'en', ?1, ?1, ?1, 'h')",
    )
    .bind(t("2026-11-01T00:00:00Z"))
    .execute(&pool)
    .await
    .expect("old item");
    // Two labellings, the later one counts; then a third deleted, so the
    // AUTOINCREMENT counter is ahead of the rows.
    for (label, at) in [
        (0i64, "2026-11-02T08:00:00.75+00:00"),
        (2, "2026-11-03T09:30:00Z"),
        (1, "2026-11-04T00:00:00+00:00"),
    ] {
        sqlx::query(
            "INSERT INTO item_labels (item_id, label, labelled_by, labelled_at)
             VALUES ('x', ?, 'op', ?)",
        )
        .bind(label)
        .bind(at)
        .execute(&pool)
        .await
        .expect("old label");
    }
    sqlx::query("DELETE FROM item_labels WHERE seq = 3")
        .execute(&pool)
        .await
        .expect("delete label");
    sqlx::query(
        "INSERT INTO article_pages (url, fetched_at, status, main_text)
         VALUES ('https://f.example/a', '2026-11-05T12:00:00.123456+00:00', 200, 'Text')",
    )
    .execute(&pool)
    .await
    .expect("old page");
    pool.close().await;

    let store = Store::open(&path).await.expect("migrate");
    let labels = store.labels_of(&["x"]).await.expect("labels");
    let latest = labels.get("x").expect("a label");
    assert_eq!(
        (latest.label, latest.by.as_str(), latest.at),
        (2, "op", t("2026-11-03T09:30:00Z"))
    );
    let (fetched, kind): (i64, String) = sqlx::query_as(
        "SELECT fetched_at, typeof(fetched_at) FROM article_pages WHERE url = 'https://f.example/a'",
    )
    .fetch_one(&store.pool)
    .await
    .expect("page");
    assert_eq!(
        (fetched, kind.as_str()),
        (super::time::to_ms(t("2026-11-05T12:00:00.123Z")), "integer")
    );
    assert_eq!(
        store
            .article_page("https://f.example/a")
            .await
            .expect("page"),
        Some(Some("Text".to_string()))
    );

    // A new label gets a seq the deleted one never had, and counts.
    assert!(
        store
            .set_label("x", 1, "op", t("2026-11-06T00:00:00Z"))
            .await
            .expect("label")
    );
    let (seq,): (i64,) = sqlx::query_as("SELECT MAX(seq) FROM item_labels")
        .fetch_one(&store.pool)
        .await
        .expect("seq");
    assert_eq!(seq, 4);
    let labels = store.labels_of(&["x"]).await.expect("labels");
    assert_eq!(
        labels.get("x").map(|l| (l.label, l.at)),
        Some((1, t("2026-11-06T00:00:00Z")))
    );
}

#[tokio::test]
async fn feed_times_written_as_text_are_read_back_as_the_same_instants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let pool = database_at(&path, BEFORE_MS).await;
    sqlx::query(
        "INSERT INTO feeds (url, etag, last_modified, last_fetch_at, last_success_at, last_status,
                            last_outcome, last_error, error_count, total_errors, total_fetches,
                            next_check_at, last_item_count)
         VALUES ('https://f.example/a', '\"v1\"', 'Mon, 30 Nov 2026 00:00:00 GMT',
                 '2026-11-30T01:00:00.042+00:00', NULL, 500, 'error', 'HTTP 500', 2, 3, 9,
                 '2026-11-30T01:10:00Z', 7)",
    )
    .execute(&pool)
    .await
    .expect("old feed");
    let fetched = Utc
        .timestamp_opt(1_796_000_000, 5_000_123)
        .single()
        .expect("time");
    sqlx::query(
        "INSERT INTO feeds (url, last_fetch_at, last_success_at, next_check_at)
         VALUES ('https://f.example/b', ?1, ?1, NULL)",
    )
    .bind(fetched)
    .execute(&pool)
    .await
    .expect("old bound feed");
    pool.close().await;

    let store = Store::open(&path).await.expect("migrate");
    let a = store
        .feed_state("https://f.example/a")
        .await
        .expect("state")
        .expect("feed a");
    assert_eq!(a.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        a.last_modified.as_deref(),
        Some("Mon, 30 Nov 2026 00:00:00 GMT"),
        "validators are kept verbatim"
    );
    assert_eq!(a.last_fetch_at, Some(t("2026-11-30T01:00:00.042Z")));
    assert_eq!(a.last_success_at, None);
    assert_eq!(a.next_check_at, Some(t("2026-11-30T01:10:00Z")));
    assert_eq!(
        (
            a.last_status,
            a.error_count,
            a.total_errors,
            a.total_fetches,
            a.last_item_count
        ),
        (Some(500), 2, 3, 9, Some(7))
    );
    let b = store
        .feed_state("https://f.example/b")
        .await
        .expect("state")
        .expect("feed b");
    let fetched_ms = super::time::from_ms(super::time::to_ms(fetched)).expect("time");
    assert_eq!(
        (b.last_fetch_at, b.last_success_at, b.next_check_at),
        (Some(fetched_ms), Some(fetched_ms), None)
    );
    let (non_integer,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM feeds
         WHERE typeof(last_fetch_at) NOT IN ('integer', 'null')
            OR typeof(last_success_at) NOT IN ('integer', 'null')
            OR typeof(next_check_at) NOT IN ('integer', 'null')",
    )
    .fetch_one(&store.pool)
    .await
    .expect("typeof");
    assert_eq!(non_integer, 0);
}

#[tokio::test]
async fn story_times_written_as_text_are_read_back_as_the_same_instants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let pool = database_at(&path, BEFORE_MS).await;
    for (id, created, removed, posted) in [
        (
            "s1",
            "2026-11-29T08:00:00.5+00:00",
            None,
            Some("2026-11-29T08:00:01Z"),
        ),
        (
            "s2",
            "2026-11-30T00:00:00.001Z",
            Some("2026-11-30T02:00:00+00:00"),
            Some("2026-11-30T00:30:00.999+00:00"),
        ),
        ("s3", "2026-11-30T01:00:00+00:00", None, None),
    ] {
        sqlx::query(
            "INSERT INTO stories (id, lead_item_id, created_at, fingerprint, removed_at, posted_at)
             VALUES (?1, ?1, ?2, '{}', ?3, ?4)",
        )
        .bind(id)
        .bind(created)
        .bind(removed)
        .bind(posted)
        .execute(&pool)
        .await
        .expect("old story");
    }
    pool.close().await;

    let store = Store::open(&path).await.expect("migrate");
    let recent = store
        .recent_story_fingerprints_at(t("2026-11-29T08:00:00.5Z"))
        .await
        .expect("recent");
    let got: Vec<(&str, DateTime<Utc>)> = recent
        .iter()
        .map(|(id, _, at)| (id.as_str(), *at))
        .collect();
    assert_eq!(
        got,
        [
            ("s3", t("2026-11-30T01:00:00Z")),
            ("s2", t("2026-11-30T00:00:00.001Z")),
            ("s1", t("2026-11-29T08:00:00.500Z")),
        ],
        "newest first, the bound inclusive to the millisecond"
    );
    assert!(store.story_removed("s2").await.expect("removed"));
    assert!(!store.story_removed("s1").await.expect("removed"));
    assert_eq!(
        store.story_posted_at("s2").await.expect("posted"),
        Some(t("2026-11-30T00:30:00.999Z"))
    );
    assert_eq!(store.story_posted_at("s3").await.expect("posted"), None);
    assert_eq!(
        store
            .stories_posted_since(t("2026-11-29T08:00:01Z"))
            .await
            .expect("count"),
        1,
        "posted after, strictly"
    );
}

#[tokio::test]
async fn entry_times_written_as_text_are_read_back_as_the_same_instants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let pool = database_at(&path, BEFORE_MS).await;
    // The lead item of "e2", so `existing` joins its entry's time.
    sqlx::query(
        "INSERT INTO items (id, feed_url, source, title, summary, content, lang, published_at,
                            updated_at, first_seen_at, content_hash, story_id)
         VALUES ('e2', 'https://f.example/rss', 'F', 'T', 'S', 'C', 'en', ?1, ?1, ?1, 'h', 'e2')",
    )
    .bind(t("2026-11-01T00:00:00Z"))
    .execute(&pool)
    .await
    .expect("old item");
    for (id, published, updated, outlets_updated, pending) in [
        (
            "e1",
            "2026-11-29T08:00:00.5+00:00",
            "2026-11-29T09:00:00Z",
            None,
            None,
        ),
        (
            "e2",
            "2026-11-30T00:00:00.001Z",
            "2026-11-30T00:10:00.123456+00:00",
            Some("2026-11-30T00:20:00+00:00"),
            Some("2026-11-30T00:40:00.250Z"),
        ),
        (
            "e3",
            "2026-11-30T00:00:00.001+00:00",
            "2026-11-30T00:00:00.001+00:00",
            None,
            Some("2026-11-30T00:30:00Z"),
        ),
    ] {
        sqlx::query(
            "INSERT INTO feed_entries (story_id, title, summary, link, lang, hashtags, post_html,
                                       post_text, spoiler_text, published_at, updated_at,
                                       outlets_updated_at, outlets_pending_since)
             VALUES (?1, 'T', 'S', 'https://f.example/a', 'en', '[]', '<p>x</p>', 'x', NULL,
                     ?2, ?3, ?4, ?5)",
        )
        .bind(id)
        .bind(published)
        .bind(updated)
        .bind(outlets_updated)
        .bind(pending)
        .execute(&pool)
        .await
        .expect("old entry");
    }
    pool.close().await;

    let store = Store::open(&path).await.expect("migrate");
    let entries = store.published_entries(10).await.expect("entries");
    let got: Vec<(&str, DateTime<Utc>, DateTime<Utc>)> = entries
        .iter()
        .map(|e| {
            (
                e.entry.story_id.as_str(),
                e.entry.published_at,
                e.entry.updated_at,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "e2",
                t("2026-11-30T00:00:00.001Z"),
                t("2026-11-30T00:10:00.123Z")
            ),
            (
                "e3",
                t("2026-11-30T00:00:00.001Z"),
                t("2026-11-30T00:00:00.001Z")
            ),
            (
                "e1",
                t("2026-11-29T08:00:00.500Z"),
                t("2026-11-29T09:00:00Z")
            ),
        ],
        "newest first, equal times by story id, to the millisecond"
    );
    let existing = store.existing(&["e2"]).await.expect("existing");
    assert_eq!(
        existing.get("e2").and_then(|e| e.published_entry_at),
        Some(t("2026-11-30T00:00:00.001Z"))
    );
    // Pending outlets compare as instants: e3 (never updated) is due; e2
    // only once its last update is at or before `due`.
    assert_eq!(
        store
            .outlets_pending_due(t("2026-11-30T00:19:59.999Z"), 10)
            .await
            .expect("due"),
        ["e3"]
    );
    assert_eq!(
        store
            .outlets_pending_due(t("2026-11-30T00:20:00Z"), 10)
            .await
            .expect("due"),
        ["e3", "e2"],
        "longest pending first"
    );
    // The entry counter's triggers came back with the table.
    assert_eq!(store.published_entry_count().await.expect("count"), 3);
    sqlx::query("DELETE FROM feed_entries WHERE story_id = 'e1'")
        .execute(&store.pool)
        .await
        .expect("delete");
    assert_eq!(store.published_entry_count().await.expect("count"), 2);
    let (non_integer,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM feed_entries
         WHERE typeof(published_at) != 'integer' OR typeof(updated_at) != 'integer'
            OR typeof(outlets_updated_at) NOT IN ('integer', 'null')
            OR typeof(outlets_pending_since) NOT IN ('integer', 'null')",
    )
    .fetch_one(&store.pool)
    .await
    .expect("typeof");
    assert_eq!(non_integer, 0);
}

#[tokio::test]
async fn seen_ids_kept_in_seconds_become_milliseconds_and_still_expire_on_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let pool = database_at(&path, BEFORE_MS).await;
    // As retention wrote them: first_seen in Unix seconds. "kept" 119 days
    // before `now`, "gone" 121 days (the horizon is max(4 x 30 d, 90 d)).
    let now = t("2026-11-30T00:00:00Z");
    let kept = super::retention::seen_key("kept");
    let gone = super::retention::seen_key("gone");
    for (key, days) in [(kept, 119), (gone, 121)] {
        sqlx::query("INSERT INTO seen_items (key_hash, first_seen) VALUES (?, ?)")
            .bind(key)
            .bind((now - chrono::Duration::days(days)).timestamp())
            .execute(&pool)
            .await
            .expect("old seen id");
    }
    pool.close().await;

    let store = Store::open(&path).await.expect("migrate");
    let (first_seen, kind): (i64, String) =
        sqlx::query_as("SELECT first_seen, typeof(first_seen) FROM seen_items WHERE key_hash = ?")
            .bind(kept)
            .fetch_one(&store.pool)
            .await
            .expect("seen id");
    assert_eq!(
        (first_seen, kind.as_str()),
        (
            super::time::to_ms(now - chrono::Duration::days(119)),
            "integer"
        )
    );
    let existing = store.existing(&["kept", "gone"]).await.expect("existing");
    assert!(existing.get("kept").is_some_and(|e| e.forgotten));
    let report = store
        .prune(now, std::time::Duration::from_secs(30 * 86_400))
        .await
        .expect("prune");
    assert_eq!(report.seen_expired, 1, "only the one past its horizon");
    let left: Vec<i64> = sqlx::query_scalar("SELECT key_hash FROM seen_items")
        .fetch_all(&store.pool)
        .await
        .expect("left");
    assert_eq!(left, [kept]);
}

/// The schema just before items' times became integers (1206): every other
/// table already in Unix ms, as the previous feedwatch left it.
const BEFORE_ITEM_MS: i64 = 1205;

#[tokio::test]
async fn item_times_written_as_text_are_read_back_as_the_same_instants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let pool = database_at(&path, BEFORE_ITEM_MS).await;
    let now = t("2026-11-30T00:00:00Z");
    // As the old code wrote them: literal forms (sub-ms digits, `Z`,
    // `+00:00`, another offset, NULL) and one bound through sqlx.
    // (id, published, updated, first_seen, pruned, decision, score, held, story)
    type Old<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
        f64,
        Option<&'a str>,
        Option<&'a str>,
    );
    let rows: [Old; 4] = [
        (
            "held",
            "2026-11-29T23:59:59.999999+00:00",
            "2026-11-30T00:00:00Z",
            "2026-11-29T12:00:00.5+00:00",
            None,
            "held",
            0.9,
            Some("older than max_age (2d)"),
            None,
        ),
        (
            "near",
            "2026-11-29T23:59:59.999Z",
            "2026-11-30T01:00:00+01:00",
            "2026-11-29T13:00:00Z",
            None,
            "skip",
            0.45,
            None,
            None,
        ),
        (
            "lab",
            "2026-10-20T23:00:00+00:00",
            "2026-10-20T23:00:00+00:00",
            "2026-10-21T00:00:00.250+00:00",
            None,
            "skip",
            0.1,
            None,
            None,
        ),
        (
            "pruned",
            "2026-10-01T00:00:00.1Z",
            "2026-10-01T00:00:00.1Z",
            "2026-10-01T00:00:01Z",
            Some("2026-11-02T00:00:00.25Z"),
            "publish",
            0.8,
            None,
            Some("pruned"),
        ),
    ];
    for (id, published, updated, first_seen, pruned, decision, score, held, story) in rows {
        sqlx::query(
            "INSERT INTO items (id, feed_url, source, title, summary, content, lang, published_at,
                                updated_at, first_seen_at, content_hash, pruned_at, decision,
                                score, held, story_id)
             VALUES (?, 'https://f.example/rss', 'F', 'T', 'S', 'C', 'en', ?, ?, ?, 'h', ?, ?,
                     ?, ?, ?)",
        )
        .bind(id)
        .bind(published)
        .bind(updated)
        .bind(first_seen)
        .bind(pruned)
        .bind(decision)
        .bind(score)
        .bind(held)
        .bind(story)
        .execute(&pool)
        .await
        .expect("old item");
    }
    // Seen 40 days ago, bound as the old code bound a DateTime<Utc>.
    let old_seen = t("2026-10-21T06:30:00.125Z");
    sqlx::query(
        "INSERT INTO items (id, feed_url, source, title, summary, content, lang, published_at,
                            updated_at, first_seen_at, content_hash, decision, score)
         VALUES ('old', 'https://f.example/rss', 'F', 'T', 'S', 'C', 'en', ?1, ?1, ?1, 'h',
                 'skip', 0.1)",
    )
    .bind(old_seen)
    .execute(&pool)
    .await
    .expect("old item");
    // Labels (their times already ms since 1201): two of "lab", one of
    // "pruned", a fourth deleted so the AUTOINCREMENT counter is ahead.
    for (seq, id, label) in [
        (1i64, "lab", 0i64),
        (2, "lab", 2),
        (3, "pruned", 1),
        (4, "lab", 1),
    ] {
        sqlx::query(
            "INSERT INTO item_labels (seq, item_id, label, labelled_by, labelled_at)
             VALUES (?, ?, ?, 'op', ?)",
        )
        .bind(seq)
        .bind(id)
        .bind(label)
        .bind(super::time::to_ms(t("2026-11-03T09:30:00Z")) + seq)
        .execute(&pool)
        .await
        .expect("old label");
    }
    sqlx::query("DELETE FROM item_labels WHERE seq = 4")
        .execute(&pool)
        .await
        .expect("delete label");
    pool.close().await;

    let store = Store::open(&path).await.expect("migrate");
    let non_integer: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items
         WHERE typeof(published_at) <> 'integer' OR typeof(updated_at) <> 'integer'
            OR typeof(first_seen_at) <> 'integer'
            OR (pruned_at IS NOT NULL AND typeof(pruned_at) <> 'integer')",
    )
    .fetch_one(&store.pool)
    .await
    .expect("types");
    assert_eq!(non_integer, 0);
    let pruned: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT id, pruned_at FROM items ORDER BY id")
            .fetch_all(&store.pool)
            .await
            .expect("pruned_at");
    assert_eq!(
        pruned,
        [
            ("held".to_string(), None),
            ("lab".to_string(), None),
            ("near".to_string(), None),
            ("old".to_string(), None),
            (
                "pruned".to_string(),
                Some(super::time::to_ms(t("2026-11-02T00:00:00.25Z")))
            ),
        ]
    );

    // Read back through the Store as the same instants, to the ms.
    let held = store
        .stored_item("held")
        .await
        .expect("item")
        .expect("held");
    assert_eq!(
        (held.item.published, held.item.updated, held.first_seen_at),
        (
            t("2026-11-29T23:59:59.999Z"),
            t("2026-11-30T00:00:00Z"),
            t("2026-11-29T12:00:00.5Z")
        )
    );
    let near = store
        .stored_item("near")
        .await
        .expect("item")
        .expect("near");
    assert_eq!(
        near.item.updated,
        t("2026-11-30T00:00:00Z"),
        "+01:00 applied"
    );
    let old = store.stored_item("old").await.expect("item").expect("old");
    assert_eq!(
        (old.item.published, old.first_seen_at),
        (old_seen, old_seen)
    );

    // Newest first: "held" and "near" tie to the ms, then by id.
    let recent: Vec<String> = store
        .recent_items(10)
        .await
        .expect("recent")
        .into_iter()
        .map(|s| s.item.id)
        .collect();
    assert_eq!(recent, ["held", "near", "old", "lab", "pruned"]);
    let review = store.review_items(0.5, 0.1, 10).await.expect("review");
    assert_eq!(
        review
            .iter()
            .map(|r| (r.id.as_str(), r.published))
            .collect::<Vec<_>>(),
        [
            ("held", t("2026-11-29T23:59:59.999Z")),
            ("near", t("2026-11-29T23:59:59.999Z"))
        ]
    );

    // The labels survived the rebuild with their seqs; the counter is exact.
    let seqs: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, item_id FROM item_labels ORDER BY seq")
            .fetch_all(&store.pool)
            .await
            .expect("seqs");
    assert_eq!(
        seqs,
        [
            (1, "lab".to_string()),
            (2, "lab".to_string()),
            (3, "pruned".to_string())
        ]
    );
    let labels = store.labels_of(&["lab", "pruned"]).await.expect("labels");
    assert_eq!(
        labels.get("lab").map(|l| (l.label, l.at)),
        Some((
            2,
            super::time::from_ms(super::time::to_ms(t("2026-11-03T09:30:00Z")) + 2).expect("ms")
        ))
    );
    assert_eq!(labels.get("pruned").map(|l| l.label), Some(1));
    assert_eq!(store.item_count().await.expect("count"), 5);
    let fk: Vec<(String, i64, String, i64)> = sqlx::query_as("PRAGMA foreign_key_check")
        .fetch_all(&store.pool)
        .await
        .expect("fk check");
    assert!(fk.is_empty(), "{fk:?}");

    // Retention compares integers: 30 days before `now` forgets "old" (its
    // identity kept with its first_seen in ms) and empties the labelled
    // "lab"; the fresh ones and the already pruned one stay as they were.
    let report = store
        .prune(now, std::time::Duration::from_secs(30 * 86_400))
        .await
        .expect("prune");
    assert_eq!((report.items_forgotten, report.items_emptied), (1, 1));
    assert!(
        store
            .existing(&["old"])
            .await
            .expect("existing")
            .get("old")
            .is_some_and(|e| e.forgotten)
    );
    let seen: i64 = sqlx::query_scalar("SELECT first_seen FROM seen_items WHERE key_hash = ?")
        .bind(super::retention::seen_key("old"))
        .fetch_one(&store.pool)
        .await
        .expect("seen id");
    assert_eq!(seen, super::time::to_ms(old_seen));
    let lab_pruned: Option<i64> =
        sqlx::query_scalar("SELECT pruned_at FROM items WHERE id = 'lab'")
            .fetch_one(&store.pool)
            .await
            .expect("lab");
    assert_eq!(lab_pruned, Some(super::time::to_ms(now)));
    assert_eq!(store.item_count().await.expect("count"), 4);
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM items")
        .fetch_one(&store.pool)
        .await
        .expect("rows");
    assert_eq!(rows, 4);

    // A new label gets a seq the deleted one never had.
    assert!(store.set_label("lab", 1, "op", now).await.expect("label"));
    let (seq,): (i64,) = sqlx::query_as("SELECT MAX(seq) FROM item_labels")
        .fetch_one(&store.pool)
        .await
        .expect("seq");
    assert_eq!(seq, 5);
}
