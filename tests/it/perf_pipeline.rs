//! The bounded ingest pipeline and its batched writer: several polls in one
//! transaction with a SAVEPOINT each (a failing poll rolls back only itself,
//! never keeping a feed's validators without its items), and backpressure
//! from a stalled writer back to the fetches. Faults are injected with
//! SQLite triggers and a second connection holding the write lock on the
//! same database file.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use feedwatch::app::App;
use feedwatch::model::{PollOutcome, PollRecord};
use feedwatch::store::PollCommit;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, feed, serve};

/// Off-topic feeds (no story assignment: every poll goes through the batch).
#[derive(Clone, Default)]
struct Farm {
    requests: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<Sent>>>,
}

/// (feed, If-None-Match sent)
type Sent = (String, Option<String>);

fn doc(name: &str, title: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title><link>https://{name}.example/</link><description>d</description><item><title>{title}</title><link>https://{name}.example/1</link><guid>https://{name}.example/1</guid><description>A family bakery won the regional prize for its sourdough loaf.</description></item><item><title>Weather: a mild week ahead</title><link>https://{name}.example/2</link><guid>https://{name}.example/2</guid><description>Sunny spells and light winds are expected.</description></item></channel></rss>"#
    )
}

async fn farm_feed(
    State(farm): State<Farm>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    farm.requests.fetch_add(1, Ordering::SeqCst);
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    farm.log.lock().unwrap().push((name.clone(), inm.clone()));
    let etag = format!("\"{name}-1\"");
    let mut r = if inm.as_deref() == Some(etag.as_str()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let title = if name.starts_with("boom") {
            "Boom: this title trips the injected fault"
        } else {
            "Local bakery wins regional bread award"
        };
        doc(&name, title).into_response()
    };
    r.headers_mut().insert(header::ETAG, etag.parse().unwrap());
    r
}

async fn start_farm(farm: &Farm) -> String {
    let router = Router::new()
        .route("/{name}", get(farm_feed))
        .with_state(farm.clone());
    let addr = serve(router).await;
    format!("http://127.0.0.1:{}", addr.port())
}

fn record(etag: &str) -> PollRecord {
    let now = Utc::now();
    PollRecord {
        at: now,
        outcome: PollOutcome::Ok,
        status: Some(200),
        error: None,
        etag: Some(etag.to_string()),
        last_modified: None,
        error_count: 0,
        next_check_at: now,
        item_count: Some(0),
    }
}

/// Three polls in one batch transaction; the middle one fails inside its
/// SAVEPOINT. Only it is rolled back: the others' validators are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_poll_in_a_batch_rolls_back_only_itself() {
    let env = TestEnv::new(&[]);
    let app = App::build(env.config()).await.unwrap();
    let mut side = env.side_connection().await;
    sqlx::query(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON feeds WHEN NEW.url LIKE '%boom%'
         BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
    )
    .execute(&mut side)
    .await
    .unwrap();
    let (r1, r2, r3) = (record("\"e1\""), record("\"e2\""), record("\"e3\""));
    let polls = [
        PollCommit {
            feed_url: "https://one.example/feed",
            record: &r1,
            items: &[],
            publications: &[],
        },
        PollCommit {
            feed_url: "https://boom.example/feed",
            record: &r2,
            items: &[],
            publications: &[],
        },
        PollCommit {
            feed_url: "https://three.example/feed",
            record: &r3,
            items: &[],
            publications: &[],
        },
    ];
    let results = app.store.commit_polls(&polls).await.unwrap();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok(), "{:?}", results[0]);
    let err = results[1].as_ref().unwrap_err().to_string();
    assert!(err.contains("injected fault"), "{err}");
    assert!(results[2].is_ok(), "{:?}", results[2]);
    let etag = |url: &'static str| {
        let store = app.store.clone();
        async move { store.feed_state(url).await.unwrap().and_then(|s| s.etag) }
    };
    assert_eq!(
        etag("https://one.example/feed").await.as_deref(),
        Some("\"e1\"")
    );
    assert_eq!(etag("https://boom.example/feed").await, None);
    assert_eq!(
        etag("https://three.example/feed").await.as_deref(),
        Some("\"e3\"")
    );
}

/// Through a whole cycle: a feed whose item cannot be stored keeps neither
/// its items nor its ETag (so the next poll fetches it in full), and the
/// other feeds committed with it are unharmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_that_cannot_store_its_items_keeps_no_validators() {
    let farm = Farm::default();
    let base = start_farm(&farm).await;
    let names = ["a.xml", "boom.xml", "c.xml", "d.xml"];
    let env = TestEnv::new(
        &names
            .iter()
            .map(|n| feed(format!("{base}/{n}"), n))
            .collect::<Vec<_>>(),
    );
    let app = App::build(env.config()).await.unwrap();
    let mut side = env.side_connection().await;
    sqlx::query(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON items WHEN NEW.title LIKE 'Boom%'
         BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
    )
    .execute(&mut side)
    .await
    .unwrap();
    let feeds = app.load_sources().unwrap();
    let first = app
        .ingest
        .run_cycle(feeds.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(first.store_errors, 1, "{first:?}");
    assert_eq!((first.ok, first.inserted), (3, 6), "{first:?}");
    let boom_url = format!("{base}/boom.xml");
    let boom = app.store.feed_state(&boom_url).await.unwrap();
    assert!(
        boom.as_ref().and_then(|s| s.etag.clone()).is_none(),
        "validators without items: {boom:?}"
    );
    assert_eq!(app.store.item_count().await.unwrap(), 6);
    for n in ["a.xml", "c.xml", "d.xml"] {
        let s = app
            .store
            .feed_state(&format!("{base}/{n}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.etag.as_deref(), Some(format!("\"{n}-1\"").as_str()));
    }

    sqlx::query("DROP TRIGGER injected_fault")
        .execute(&mut side)
        .await
        .unwrap();
    farm.log.lock().unwrap().clear();
    let second = app
        .ingest
        .run_cycle(feeds, false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        (
            second.not_modified,
            second.ok,
            second.inserted,
            second.store_errors
        ),
        (3, 1, 2, 0),
        "{second:?}"
    );
    let log = farm.log.lock().unwrap().clone();
    let boom_request = log.iter().find(|(n, _)| n == "boom.xml").unwrap();
    assert_eq!(boom_request.1, None, "fetched in full, without a validator");
    assert_eq!(app.store.item_count().await.unwrap(), 8);
}

/// A stalled writer stops the fetches: with the database write-locked by
/// another connection, the feeds fetched stay within the pipeline's bounds
/// (slots + queue + one batch) instead of all N bodies piling up; once the
/// lock is released, every feed is committed. The cycle holds a task only
/// for the polls it has started, not one for every feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_writer_holds_back_the_fetches() {
    use feedwatch::pipeline::schedule::{WRITE_BATCH, WRITER_QUEUE};
    const N: usize = 400;
    let farm = Farm::default();
    let base = start_farm(&farm).await;
    let env = TestEnv::new(
        &(0..N)
            .map(|i| feed(format!("{base}/f{i}.xml"), &format!("F{i}")))
            .collect::<Vec<_>>(),
    );
    let app = App::build(env.config()).await.unwrap();
    let slots = app.ingest.pipeline_slots();
    let bound = slots + WRITER_QUEUE + WRITE_BATCH;
    assert!(bound < N);
    let feeds = app.load_sources().unwrap();
    let mut side = env.side_connection().await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut side)
        .await
        .unwrap();
    let ingest = app.ingest.clone();
    let cycle = tokio::spawn(async move {
        ingest
            .run_cycle(feeds, false, CancellationToken::new())
            .await
    });
    // Until the fetches stop (the same count three samples in a row), at
    // most 8 s: well inside the store's 10 s busy timeout.
    let deadline = Instant::now() + Duration::from_secs(8);
    let (mut last, mut same) = (0, 0);
    while Instant::now() < deadline && same < 3 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = farm.requests.load(Ordering::SeqCst);
        same = if now == last && now > 0 { same + 1 } else { 0 };
        last = now;
    }
    let stalled_at = farm.requests.load(Ordering::SeqCst);
    // Every task of this test's runtime: the polls started, both ends of
    // each loopback connection, the cycle and its dispatcher. A poll task is
    // started only when a slot is free, so this stays far below N (it was
    // N and more when every feed's task was spawned at the cycle's start).
    let alive = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    sqlx::query("COMMIT").execute(&mut side).await.unwrap();
    assert!(same >= 3, "the fetches did not stop: {stalled_at} of {N}");
    assert!(
        stalled_at <= bound,
        "{stalled_at} feeds fetched while the writer was stalled (bound {bound})"
    );
    let task_bound = 3 * slots + 16;
    assert!(
        alive <= task_bound,
        "{alive} tasks alive while the writer was stalled (bound {task_bound}, N = {N})"
    );
    let report = tokio::time::timeout(Duration::from_secs(120), cycle)
        .await
        .expect("the cycle finishes once the writer can write")
        .unwrap()
        .unwrap();
    assert_eq!(
        (report.ok, report.store_errors),
        (N, 0),
        "{:?}",
        report.reports.first()
    );
    assert_eq!(app.store.item_count().await.unwrap(), 2 * N as u64);
}
