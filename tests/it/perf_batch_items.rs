//! The ingest writer's batch is bounded by the items it carries as well as
//! by its polls: polls of 40 new items go at most eight to a transaction
//! (`WRITE_BATCH_ITEMS`, 320), so a cold cycle holds fewer items waiting
//! for their commit, while 304s, which carry none, are batched by
//! `WRITE_BATCH` (16) alone. The writer is stalled in each cycle so the
//! polls queue up and reach it together; the batch sizes are read from
//! `feedwatch_commit_polls`.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use feedwatch::app::App;
use feedwatch::pipeline::schedule::{WRITE_BATCH, WRITE_BATCH_ITEMS};

use crate::helpers::{TestEnv, cycle_with_writer_stalled, feed, metric, serve};

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
    (
        metric(metrics, "feedwatch_commit_polls_bucket{le=\"8.0\"}"),
        metric(metrics, "feedwatch_commit_polls_count"),
    )
}

/// One cycle over `feeds`, every poll of it ok or not modified.
async fn stalled_cycle(env: &TestEnv, app: &App, feeds: Vec<feedwatch::sources::FeedSource>) {
    let report = cycle_with_writer_stalled(env, app, feeds, Duration::from_secs(2)).await;
    assert_eq!(
        (report.ok + report.not_modified, report.store_errors),
        (FEEDS, 0),
        "{:?}",
        report.reports
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_hold_at_most_eight_polls_of_forty_items() {
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

    // Their 304s carry no items: the bound does not split them (how many
    // reach one batch depends on when they arrive, so only that they were
    // batched is asserted).
    stalled_cycle(&env, &app, feeds).await;
    let (_, all_after) = batches(&app.ingest.metrics.render());
    assert!(
        all_after - all < FEEDS as u64,
        "every 304 had a transaction of its own ({})",
        all_after - all
    );
}
