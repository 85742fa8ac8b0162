//! Unit tests of [`Store::commit_poll`] and [`Store::commit_polls`] on a
//! real SQLite file: what a poll counts, what it keeps of the feed's state,
//! and that the published outputs' generation moves only when something
//! changed (the served feeds and pages are cached by generation).

use super::*;
use crate::model::Item;

const FEED: &str = "https://f.example/rss";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
}

fn record(outcome: PollOutcome, etag: Option<&str>, secs: i64) -> PollRecord {
    PollRecord {
        at: at(secs),
        outcome,
        status: Some(match outcome {
            PollOutcome::Ok => 200,
            PollOutcome::NotModified => 304,
            PollOutcome::Error => 500,
        }),
        error: (outcome == PollOutcome::Error).then(|| "HTTP 500".to_string()),
        etag: etag.map(str::to_string),
        last_modified: None,
        error_count: u32::from(outcome == PollOutcome::Error),
        next_check_at: at(secs + 600),
        item_count: None,
    }
}

fn item(id: &str, title: &str) -> ItemRecord {
    let item: Item = serde_json::from_value(serde_json::json!({
        "id": id,
        "feed_url": FEED,
        "source": "F",
        "guid": format!("guid-{id}"),
        "link": format!("https://f.example/{id}"),
        "title": title,
        "summary": "Summary",
        "content": "Content",
        "lang": "en",
        "published": at(0),
        "updated": at(0),
        "content_hash": format!("hash-{title}"),
    }))
    .expect("test item");
    ItemRecord {
        item,
        verdict: None,
    }
}

#[tokio::test]
async fn commit_poll_counts_items_keeps_state_and_bumps_the_generation_on_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("p.db")).await.expect("open");
    let g0 = store.generation();

    let first = store
        .commit_poll(
            FEED,
            &record(PollOutcome::Ok, Some("\"v1\""), 0),
            &[item("a", "A")],
            &[],
        )
        .await
        .expect("commit");
    assert_eq!((first.inserted, first.updated, first.unchanged), (1, 0, 0));
    assert_eq!(store.generation(), g0 + 1, "a new item");

    let same = store
        .commit_poll(
            FEED,
            &record(PollOutcome::Ok, None, 60),
            &[item("a", "A")],
            &[],
        )
        .await
        .expect("commit");
    assert_eq!((same.inserted, same.updated, same.unchanged), (0, 0, 1));
    assert_eq!(store.generation(), g0 + 1, "nothing changed");

    let edited = store
        .commit_poll(
            FEED,
            &record(PollOutcome::Ok, None, 120),
            &[item("a", "A2")],
            &[],
        )
        .await
        .expect("commit");
    assert_eq!(
        (edited.inserted, edited.updated, edited.unchanged),
        (0, 1, 0)
    );
    assert_eq!(store.generation(), g0 + 2, "an edit");
    let stored = store.stored_item("a").await.expect("read").expect("stored");
    assert_eq!((stored.item.title.as_str(), stored.revision), ("A2", 2));

    let not_modified = store
        .commit_poll(FEED, &record(PollOutcome::NotModified, None, 180), &[], &[])
        .await
        .expect("commit");
    assert_eq!(not_modified, UpsertCounts::default());
    assert_eq!(store.generation(), g0 + 2);
    store
        .commit_poll(FEED, &record(PollOutcome::Error, None, 240), &[], &[])
        .await
        .expect("commit");
    let state = store.feed_state(FEED).await.expect("read").expect("state");
    assert_eq!(state.etag.as_deref(), Some("\"v1\""), "kept by later polls");
    assert_eq!(state.last_success_at, Some(at(180)));
    assert_eq!(state.last_fetch_at, Some(at(240)));
    assert_eq!(
        (state.error_count, state.total_errors, state.total_fetches),
        (1, 1, 5)
    );
    assert_eq!(state.last_outcome.as_deref(), Some("error"));
}

#[tokio::test]
async fn commit_polls_bumps_the_generation_once_when_any_poll_changed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("p.db")).await.expect("open");
    let ok = record(PollOutcome::Ok, None, 0);
    let a = [item("a", "A")];
    let b = [item("b", "B")];
    let poll = |items| PollCommit {
        feed_url: FEED,
        record: &ok,
        items,
        publications: &[],
    };
    store.commit_polls(&[poll(&a)]).await.expect("batch");
    let g = store.generation();

    let unchanged = store
        .commit_polls(&[poll(&a), poll(&a)])
        .await
        .expect("batch");
    assert_eq!(unchanged.len(), 2);
    for r in &unchanged {
        assert_eq!(r.as_ref().map(|c| c.unchanged).ok(), Some(1));
    }
    assert_eq!(store.generation(), g, "nothing changed");

    let mixed = store
        .commit_polls(&[poll(&a), poll(&b)])
        .await
        .expect("batch");
    let counts: Vec<_> = mixed
        .iter()
        .map(|r| r.as_ref().map(|c| (c.inserted, c.unchanged)).ok())
        .collect();
    assert_eq!(counts, [Some((0, 1)), Some((1, 0))]);
    assert_eq!(
        store.generation(),
        g + 1,
        "the new item b, one bump per batch"
    );
}

/// An item that retention forgot (only its seen id is left) and that its
/// feed still carries is never new again: the poll counts it unchanged,
/// stores nothing for it, and moves its seen id's time on to the poll, at
/// most once a day. An item's outlet is stored only when it has one (the
/// queue shows `COALESCE(outlet, source)`).
#[tokio::test]
async fn a_forgotten_item_stays_seen_and_its_seen_id_moves_on_daily() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("p.db")).await.expect("open");
    let key = retention::seen_key("old");
    sqlx::query("INSERT INTO seen_items (key_hash, first_seen) VALUES (?, ?)")
        .bind(key)
        .bind(super::time::to_ms(at(0)))
        .execute(&store.pool)
        .await
        .expect("seed the seen id");
    let mut wire = item("wire", "W");
    wire.item.outlet = "Wire Outlet".to_string();
    let c = store
        .commit_poll(
            FEED,
            &record(PollOutcome::Ok, None, 3600),
            &[item("old", "A"), item("plain", "P"), wire],
            &[],
        )
        .await
        .expect("commit");
    assert_eq!((c.inserted, c.updated, c.unchanged), (2, 0, 1));
    assert_eq!(
        stored(&store, "old").await,
        None,
        "a forgotten item is not stored"
    );
    assert_eq!(stored(&store, "plain").await, Some(None), "no outlet: NULL");
    assert_eq!(
        stored(&store, "wire").await,
        Some(Some("Wire Outlet".to_string()))
    );
    assert_eq!(
        first_seen(&store, key).await,
        super::time::to_ms(at(0)),
        "within a day: kept"
    );

    let later = 86_400 + 7200;
    let c = store
        .commit_poll(
            FEED,
            &record(PollOutcome::Ok, None, later),
            &[item("old", "A")],
            &[],
        )
        .await
        .expect("commit");
    assert_eq!((c.inserted, c.updated, c.unchanged), (0, 0, 1));
    assert_eq!(stored(&store, "old").await, None);
    assert_eq!(
        first_seen(&store, key).await,
        super::time::to_ms(at(later)),
        "a day on: moved"
    );
}

async fn first_seen(store: &Store, key: i64) -> i64 {
    sqlx::query_scalar("SELECT first_seen FROM seen_items WHERE key_hash = ?")
        .bind(key)
        .fetch_one(&store.pool)
        .await
        .expect("the seen id")
}

async fn stored(store: &Store, id: &str) -> Option<Option<String>> {
    sqlx::query_scalar("SELECT outlet FROM items WHERE id = ?")
        .bind(id)
        .fetch_optional(&store.pool)
        .await
        .expect("read")
}

/// A verdict's full explanation is stored as written; a compact decision
/// (an empty explanation) is stored as NULL, keeping only score and reasons.
#[tokio::test]
async fn a_verdict_keeps_its_explanation_and_a_compact_one_stores_null() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("v.db")).await.expect("open");
    let verdict = |explanation: &str| Verdict {
        publish: false,
        score: 0.25,
        explanation: explanation.to_string(),
        reasons: "score 0.25 below 0.5".to_string(),
        fingerprint: None,
        story: StoryAssignment::None,
        story_reasons: None,
        held: None,
    };
    let mut full = item("full", "Full");
    full.verdict = Some(verdict(r#"{"score":0.25,"terms":["interpol"]}"#));
    let mut compact = item("compact", "Compact");
    compact.verdict = Some(verdict(""));
    store
        .commit_poll(
            FEED,
            &record(PollOutcome::Ok, None, 0),
            &[full, compact],
            &[],
        )
        .await
        .expect("commit");

    let explanation = |id: &'static str| {
        let pool = store.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>("SELECT explanation FROM items WHERE id = ?")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("the item")
        }
    };
    assert_eq!(
        explanation("full").await.as_deref(),
        Some(r#"{"score":0.25,"terms":["interpol"]}"#),
        "a full explanation is stored as written"
    );
    assert_eq!(
        explanation("compact").await,
        None,
        "a compact decision stores NULL"
    );
}

#[tokio::test]
async fn feed_states_of_reads_the_named_feeds_and_no_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).await.expect("open");
    for (i, url) in [
        "https://a.example/rss",
        "https://b.example/rss",
        "https://c.example/rss",
    ]
    .into_iter()
    .enumerate()
    {
        let etag = format!("\"{i}\"");
        store
            .commit_poll(url, &record(PollOutcome::Ok, Some(&etag), 0), &[], &[])
            .await
            .expect("commit");
    }
    let mut states = store
        .feed_states_of(&[
            "https://c.example/rss",
            "https://a.example/rss",
            "https://new.example/rss",
        ])
        .await
        .expect("states");
    states.sort_by(|x, y| x.url.cmp(&y.url));
    let got: Vec<(&str, Option<&str>)> = states
        .iter()
        .map(|s| (s.url.as_str(), s.etag.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("https://a.example/rss", Some("\"0\"")),
            ("https://c.example/rss", Some("\"2\""))
        ]
    );
}

#[tokio::test]
async fn released_memory_skips_a_connection_in_use_and_leaves_all_working() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("m.db")).await.expect("open");
    store
        .commit_poll(
            FEED,
            &record(PollOutcome::Ok, Some("\"a\""), 0),
            &[item("a", "A")],
            &[],
        )
        .await
        .expect("commit");
    // A reading connection in use is passed over, not waited for.
    let in_use = store.pool.acquire().await.expect("acquire");
    tokio::time::timeout(Duration::from_secs(5), store.release_memory())
        .await
        .expect("release_memory waited for a connection in use");
    drop(in_use);
    store.release_memory().await;
    let state = store.feed_state(FEED).await.expect("read").expect("row");
    assert_eq!(state.etag.as_deref(), Some("\"a\""));
    let counts = store
        .commit_poll(
            FEED,
            &record(PollOutcome::Ok, Some("\"b\""), 60),
            &[item("b", "B")],
            &[],
        )
        .await
        .expect("commit after the release");
    assert_eq!(counts.inserted, 1);
    assert_eq!(
        store.content_hashes(&["a", "b"]).await.expect("read").len(),
        2
    );
}
