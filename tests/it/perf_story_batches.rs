//! The ingest writer commits polls that start stories in batches too
//! (issue 13 §2): their stories are assigned in arrival order under the
//! commit lock, and a poll whose item joins a story started earlier in the
//! same batch waits for that story's commit. Thirty outlets report one
//! story in one cycle while the writer is stalled (so the polls queue up
//! and reach it together): one story, every report joined to it, one queue
//! post, and no item pointing at a story that was never stored.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use feedwatch::app::App;

use crate::helpers::{TestEnv, cycle_with_writer_stalled, feed, metric, serve};

const FEEDS: usize = 30;

/// Three outlets' wordings of one report (they join in `stories.rs`).
const REPORTS: [(&str, &str); 3] = [
    (
        "US representatives sign letter supporting Taiwan's bid to join Interpol",
        "71 US representatives urged the Biden administration in a joint letter to back Taiwan's bid to join Interpol and attend the General Assembly as an observer.",
    ),
    (
        "71 congressmen back Taiwan's participation in Interpol",
        "Congressman John Curtis led 70 colleagues in a letter calling for Taiwan to join the Interpol General Assembly in Istanbul as an observer.",
    ),
    (
        "U.S. congresspersons sign letter supporting Taiwan's Interpol bid",
        "Seventy-one US representatives signed a joint letter asking the administration to help Taiwan take part in the Interpol General Assembly as an observer.",
    ),
];

async fn outlet_feed(Path(name): Path<String>) -> String {
    let n: usize = name
        .trim_start_matches('f')
        .trim_end_matches(".xml")
        .parse()
        .unwrap();
    let (title, lead) = REPORTS[n % REPORTS.len()];
    let date = chrono::Utc::now().to_rfc2822();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {n}</title><link>https://outlet{n}.example/</link><description>News</description><item><title>{title}</title><link>https://outlet{n}.example/letter</link><guid>https://outlet{n}.example/letter</guid><description>{lead}</description><pubDate>{date}</pubDate></item><item><title>Local bakery wins regional bread award</title><link>https://outlet{n}.example/bread</link><guid>https://outlet{n}.example/bread</guid><description>A family bakery won the regional prize for its sourdough loaf.</description></item></channel></rss>"#
    )
}

/// How many of the writer's transactions held one poll, and how many in all
/// (`feedwatch_commit_polls` in the metrics' text format).
fn commit_histogram(metrics: &str) -> (u64, u64) {
    (
        metric(metrics, "feedwatch_commit_polls_bucket{le=\"1.0\"}"),
        metric(metrics, "feedwatch_commit_polls_count"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outlets_reporting_one_story_in_one_batch_make_one_story() {
    let addr = serve(Router::new().route("/{name}", get(outlet_feed))).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let env = TestEnv::with_shipped_topic(
        &(0..FEEDS)
            .map(|i| feed(format!("{base}/f{i}.xml"), &format!("Outlet {i}")))
            .collect::<Vec<_>>(),
    );
    let app = App::build(env.config()).await.unwrap();
    let feeds = app.load_sources().unwrap();

    // Another connection holds the write lock: the writer's first commit
    // waits, and the other polls queue up behind it. Every feed is fetched
    // (30 < the pipeline's slots) well inside the 10 s busy timeout; then
    // the writer may go on.
    let report = cycle_with_writer_stalled(&env, &app, feeds, Duration::from_secs(3)).await;
    assert_eq!(
        (report.ok, report.store_errors),
        (FEEDS, 0),
        "{:?}",
        report.reports
    );

    let (alone, commits) = commit_histogram(&app.ingest.metrics.render());
    assert!(
        commits > alone,
        "no transaction held more than one poll ({commits} commits, {alone} of one poll)"
    );

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
        .await
        .unwrap();
    let stories: Vec<(String,)> = sqlx::query_as("SELECT id FROM stories")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        stories.len(),
        1,
        "one story for thirty reports: {stories:?}"
    );
    let joined: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items WHERE story_id = ? AND title NOT LIKE 'Local bakery%'",
    )
    .bind(&stories[0].0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(joined, FEEDS as i64, "every report is in the story");
    let dangling: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items WHERE story_id IS NOT NULL
           AND story_id NOT IN (SELECT id FROM stories)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(dangling, 0, "items joined to a story never stored");
    // Released by the writer after the batch (the test config has no
    // posting cap): one entry, nothing left waiting.
    let entries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM feed_entries")
        .fetch_one(&pool)
        .await
        .unwrap();
    let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM publish_queue")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((entries, waiting), (1, 0), "one post for the story");
}
