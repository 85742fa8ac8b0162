//! The ingest writer's batch is bounded by the items it carries as well as
//! by its polls: polls of 40 new items go at most eight to a transaction
//! (`WRITE_BATCH_ITEMS`, 320), so a cold cycle holds fewer items waiting
//! for their commit, while 304s, which carry none, still go up to
//! `WRITE_BATCH` (16) at a time. The writer is stalled in each cycle so the
//! polls queue up and reach it together; the batch sizes are read from
//! `feedwatch_commit_polls`.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use feedwatch::app::App;
use feedwatch::pipeline::schedule::{WRITE_BATCH, WRITE_BATCH_ITEMS};
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, feed, serve};

const FEEDS: usize = 24;
const ITEMS: usize = 40;

/// A feed of `ITEMS` off-topic items with an ETag: 304 once it was fetched.
async fn feed_of_forty(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let etag = format!("\"{name}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let items: String = (0..ITEMS)
        .map(|i| {
            format!(
                "<item><title>Council approves park budget {name}-{i}</title><link>https://{name}.example/{i}</link><guid>https://{name}.example/{i}</guid><description>The council approved a budget for the riverside park, item {i}.</description></item>"
            )
        })
        .collect();
    let mut r = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title><link>https://{name}.example/</link><description>d</description>{items}</channel></rss>"#
    )
    .into_response();
    r.headers_mut()
        .insert(header::ETAG, etag.parse().expect("etag"));
    r
}

/// (transactions of at most 8 polls, all transactions) so far.
fn batches(metrics: &str) -> (u64, u64) {
    let value = |prefix: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
    };
    (
        value("feedwatch_commit_polls_bucket{le=\"8.0\"}"),
        value("feedwatch_commit_polls_count"),
    )
}

/// One cycle over `feeds` with the database write-locked by another
/// connection for its first two seconds, so that its polls queue up.
async fn stalled_cycle(env: &TestEnv, app: &App, feeds: Vec<feedwatch::sources::FeedSource>) {
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
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sqlx::query("COMMIT").execute(&mut side).await.unwrap();
    let report = tokio::time::timeout(Duration::from_secs(60), cycle)
        .await
        .expect("the cycle finishes")
        .unwrap()
        .unwrap();
    assert_eq!(
        (report.ok + report.not_modified, report.store_errors),
        (FEEDS, 0),
        "{:?}",
        report.reports
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_hold_eight_polls_of_forty_items_and_sixteen_304s() {
    assert_eq!(WRITE_BATCH_ITEMS / ITEMS, 8);
    assert_eq!(WRITE_BATCH, 16);
    let addr = serve(Router::new().route("/{name}", get(feed_of_forty))).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let env = TestEnv::new(
        &(0..FEEDS)
            .map(|i| feed(format!("{base}/f{i}.xml"), &format!("Outlet {i}")))
            .collect::<Vec<_>>(),
    );
    let app = App::build(env.config()).await.unwrap();
    let feeds = app.load_sources().unwrap();

    stalled_cycle(&env, &app, feeds.clone()).await;
    let (small, all) = batches(&app.ingest.metrics.render());
    assert_eq!(
        app.store.item_count().await.unwrap(),
        (FEEDS * ITEMS) as u64
    );
    assert_eq!(
        small, all,
        "a transaction held more than 8 polls of 40 items"
    );
    assert!(
        all < FEEDS as u64,
        "every poll of items had a transaction of its own ({all})"
    );

    stalled_cycle(&env, &app, feeds).await;
    let (small_after, all_after) = batches(&app.ingest.metrics.render());
    assert!(
        all_after - all > small_after - small,
        "no transaction held more than 8 of the 304s ({} transactions)",
        all_after - all
    );
}
