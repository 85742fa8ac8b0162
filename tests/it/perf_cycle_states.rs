//! A large cycle reads its feeds' states a chunk of polls at a time, in one
//! query each (after taking their claims), rather than one per poll: the
//! validators, error counts and first-poll defaults it hands each poll must
//! be that feed's own, in every chunk.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use feedwatch::app::App;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, feed, serve};

/// More than the schedule's bulk threshold (16), so the cycle reads in
/// bulk, and over two of its chunks (64 feeds), the last one partly full.
const N: usize = 150;

/// (feed, If-None-Match sent)
type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

async fn farm_feed(
    State(log): State<Log>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    log.lock().unwrap().push((name.clone(), inm.clone()));
    // Each feed its own ETag, so a poll handed another feed's state sends
    // a validator that does not match.
    let etag = format!("\"{name}-v1\"");
    let mut r = if inm.as_deref() == Some(etag.as_str()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title><link>https://{name}.example/</link><description>d</description><item><title>Bakery {name} wins a bread award</title><link>https://{name}.example/1</link><guid>https://{name}.example/1</guid><description>A family bakery won the regional prize for its sourdough loaf.</description></item></channel></rss>"#
        )
        .into_response()
    };
    r.headers_mut().insert(header::ETAG, etag.parse().unwrap());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_cycle_hands_each_poll_its_own_feeds_state() {
    let log: Log = Arc::default();
    let router = Router::new()
        .route("/{name}", get(farm_feed))
        .with_state(log.clone());
    let base = format!("http://127.0.0.1:{}", serve(router).await.port());
    let env = TestEnv::new(
        &(0..N)
            .map(|i| feed(format!("{base}/f{i}.xml"), &format!("F{i}")))
            .collect::<Vec<_>>(),
    );
    let app = App::build(env.config()).await.unwrap();
    let feeds = app.load_sources().unwrap();
    assert_eq!(feeds.len(), N);

    // First cycle: no rows yet, every poll starts from the default state.
    let first = app
        .ingest
        .run_cycle(feeds.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        (first.ok, first.not_modified),
        (N, 0),
        "{:?}",
        first.reports
    );
    assert!(
        log.lock().unwrap().iter().all(|(_, inm)| inm.is_none()),
        "a first poll sent a validator"
    );
    log.lock().unwrap().clear();

    // Second cycle: every poll sends its own feed's ETag and gets a 304.
    let second = app
        .ingest
        .run_cycle(feeds.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(second.not_modified, N, "{:?}", second.reports);
    let mut sent = log.lock().unwrap().clone();
    sent.sort();
    assert_eq!(sent.len(), N);
    for (name, inm) in &sent {
        assert_eq!(inm.as_deref(), Some(format!("\"{name}-v1\"").as_str()));
    }
    // The 304s were recorded on each feed's own row.
    for s in app.store.feed_states().await.unwrap() {
        assert_eq!(s.last_status, Some(304), "{}", s.url);
        assert_eq!(s.error_count, 0, "{}", s.url);
    }
}
