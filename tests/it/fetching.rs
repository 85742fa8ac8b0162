//! Fetch behaviour against a real HTTP server on 127.0.0.1:0.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use feedwatch::app::App;
use feedwatch::model::PollOutcome;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, feed, rss, serve};

#[derive(Clone, Default)]
struct Seen {
    ok_requests: Arc<Mutex<Vec<HeaderMap>>>,
}

const ETAG: &str = "\"v1\"";
const LAST_MODIFIED: &str = "Fri, 27 Nov 2026 10:00:00 GMT";

fn feed_server(seen: Seen) -> Router {
    Router::new()
        .route(
            "/ok.xml",
            get(move |headers: HeaderMap| {
                let seen = seen.clone();
                async move {
                    seen.ok_requests.lock().unwrap().push(headers.clone());
                    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(ETAG) {
                        return StatusCode::NOT_MODIFIED.into_response();
                    }
                    (
                        [
                            (header::CONTENT_TYPE, "application/rss+xml; charset=utf-8"),
                            (header::ETAG, ETAG),
                            (header::LAST_MODIFIED, LAST_MODIFIED),
                        ],
                        rss(&[("a1", "Taiwan seeks INTERPOL access"), ("a2", "Scam centre raided"), ("a3", "Police cooperation")]),
                    )
                        .into_response()
                }
            }),
        )
        .route("/other.xml", get(|| async { rss(&[("b1", "Another outlet story")]) }))
        .route("/500.xml", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route(
            "/slow.xml",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                rss(&[("never", "too late")])
            }),
        )
        .route(
            "/huge.xml",
            get(|| async {
                // 3 MiB against a 1 MiB cap, with no Content-Length: the cap
                // must hold while streaming.
                let chunk = "x".repeat(64 * 1024);
                let stream = futures_util::stream::iter(
                    (0..48).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
                );
                Response::builder()
                    .header(header::CONTENT_TYPE, "application/rss+xml")
                    .body(axum::body::Body::from_stream(stream))
                    .unwrap()
            }),
        )
        .route("/loop-a", get(|| async { Redirect::temporary("/loop-b") }))
        .route("/loop-b", get(|| async { Redirect::temporary("/loop-a") }))
        .route(
            "/page.html",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    "<!DOCTYPE html><html><head><title>News</title></head><body><p>Our feed moved.</p></body></html>",
                )
            }),
        )
        .route(
            "/busy.xml",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "7200")], "busy") }),
        )
        .route(
            "/big5.xml",
            get(|| async {
                // Big5 with no declaration and no charset: detection must find it.
                let xml = rss(&[("z1", "臺灣爭取參與國際刑警組織")]).replace(r#" encoding="utf-8""#, "");
                let (bytes, _, _) = encoding_rs::BIG5.encode(&xml);
                ([(header::CONTENT_TYPE, "application/xml")], bytes.into_owned())
            }),
        )
        .route(
            "/ttl.xml",
            get(|| async {
                rss(&[("t1", "Slow feed")]).replace("<description>d</description>", "<description>d</description><ttl>180</ttl>")
            }),
        )
        .route(
            "/maxage.xml",
            get(|| async { ([(header::CACHE_CONTROL, "public, max-age=5400")], rss(&[("m1", "Cached feed")])) }),
        )
}

#[tokio::test]
async fn conditional_get_errors_backoff_and_floors() {
    let seen = Seen::default();
    let addr = serve(feed_server(seen.clone())).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let env = TestEnv::new(&[
        feed(format!("{base}/ok.xml"), "ok"),
        feed(format!("{base}/other.xml"), "other"),
        feed(format!("{base}/500.xml"), "five hundred"),
        feed(format!("{base}/slow.xml"), "slow"),
        feed(format!("{base}/huge.xml"), "huge"),
        feed(format!("{base}/loop-a"), "loop"),
        feed(format!("{base}/page.html"), "html page"),
        feed(format!("{base}/busy.xml"), "busy"),
        feed(format!("{base}/big5.xml"), "big5"),
        feed(format!("{base}/ttl.xml"), "ttl"),
        feed(format!("{base}/maxage.xml"), "maxage"),
    ]);
    let app = App::build(env.config()).await.unwrap();
    let feeds = app.load_sources().unwrap();
    // To the millisecond, as the store keeps times: a poll that starts
    // within the same millisecond must not seem to have started before.
    let started = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);

    // First cycle: the good feeds store their items; each bad one is an error
    // on its own and does not stop the others.
    let report = app
        .ingest
        .run_cycle(feeds.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.polled, 11);
    assert_eq!(report.failed, 6, "{:#?}", report.reports);
    assert_eq!(app.store.item_count().await.unwrap(), 3 + 1 + 1 + 1 + 1);

    let state = |url: &str| {
        let store = app.store.clone();
        let url = format!("{base}/{url}");
        async move { store.feed_state(&url).await.unwrap().unwrap() }
    };
    let error_of = |s: &feedwatch::store::FeedState| s.last_error.clone().unwrap_or_default();

    let s500 = state("500.xml").await;
    assert_eq!(s500.last_outcome.as_deref(), Some("error"));
    assert_eq!(s500.last_status, Some(500));
    assert_eq!(s500.error_count, 1);
    let slow = state("slow.xml").await;
    assert!(error_of(&slow).contains("timed out"), "{}", error_of(&slow));
    let huge = state("huge.xml").await;
    assert!(error_of(&huge).contains("cap"), "{}", error_of(&huge));
    let lp = state("loop-a").await;
    assert!(error_of(&lp).contains("redirect"), "{}", error_of(&lp));
    let page = state("page.html").await;
    assert!(error_of(&page).contains("HTML page"), "{}", error_of(&page));

    // Backoff: a failed feed waits about backoff_base (1m, ±10%) before its next check.
    for s in [&s500, &slow, &huge, &lp, &page] {
        assert_eq!(s.error_count, 1, "{}", s.url);
        let wait = s.next_check_at.unwrap() - started;
        assert!(
            wait >= chrono::Duration::seconds(53) && wait <= chrono::Duration::seconds(70),
            "{}: {wait}",
            s.url
        );
    }
    // Retry-After (2h) is a floor above the backoff.
    let busy = state("busy.xml").await;
    assert_eq!(busy.last_status, Some(503));
    assert!(busy.next_check_at.unwrap() - started >= chrono::Duration::seconds(7190));
    // RSS <ttl> (3h) and Cache-Control max-age (90m) are floors above the 15m interval.
    let ttl = state("ttl.xml").await;
    assert!(ttl.next_check_at.unwrap() - started >= chrono::Duration::minutes(179));
    let maxage = state("maxage.xml").await;
    assert!(maxage.next_check_at.unwrap() - started >= chrono::Duration::minutes(89));
    let ok = state("ok.xml").await;
    let ok_wait = ok.next_check_at.unwrap() - started;
    assert!(
        ok_wait >= chrono::Duration::minutes(15) && ok_wait < chrono::Duration::minutes(16),
        "{ok_wait}"
    );

    // Big5 without any declaration came out as the right characters.
    let items = app.store.recent_items(50).await.unwrap();
    assert!(
        items
            .iter()
            .any(|i| i.item.title == "臺灣爭取參與國際刑警組織")
    );
    // Links are canonical: the tracking parameter is gone.
    assert!(
        items
            .iter()
            .all(|i| !i.item.link.as_deref().unwrap_or("").contains("utm_"))
    );

    // Second cycle: conditional GET, a 304, no duplicates; failures count up
    // and the backoff doubles.
    let report = app
        .ingest
        .run_cycle(feeds.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.inserted, 0);
    let requests = seen.ok_requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].get(header::IF_NONE_MATCH).unwrap(), ETAG);
    assert_eq!(
        requests[1].get(header::IF_MODIFIED_SINCE).unwrap(),
        LAST_MODIFIED
    );
    assert!(
        requests[0]
            .get(header::USER_AGENT)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("feedwatch/")
    );
    let ok = state("ok.xml").await;
    assert_eq!(ok.last_outcome.as_deref(), Some("not_modified"));
    assert_eq!(ok.total_fetches, 2);
    assert_eq!(app.store.item_count().await.unwrap(), 7);
    let s500 = state("500.xml").await;
    assert_eq!(s500.error_count, 2);
    assert_eq!(s500.total_errors, 2);
    let wait = s500.next_check_at.unwrap() - Utc::now();
    assert!(
        wait >= chrono::Duration::seconds(100),
        "second backoff ~2m, got {wait}"
    );
    assert_eq!(
        report
            .reports
            .iter()
            .find(|r| r.feed_url.ends_with("/ok.xml"))
            .unwrap()
            .outcome,
        PollOutcome::NotModified
    );
}

#[tokio::test]
async fn edited_item_keeps_its_identity() {
    let version = Arc::new(Mutex::new(1));
    let v = version.clone();
    let router = Router::new().route(
        "/feed.xml",
        get(move || {
            let v = v.clone();
            async move {
                let title = if *v.lock().unwrap() == 1 {
                    "Taiwan INTERPOL bid"
                } else {
                    "Taiwan INTERPOL bid (updated)"
                };
                rss(&[("same-guid", title)])
            }
        }),
    );
    let addr = serve(router).await;
    let env = TestEnv::new(&[feed(
        format!("http://127.0.0.1:{}/feed.xml", addr.port()),
        "edits",
    )]);
    let app = App::build(env.config()).await.unwrap();
    let feeds = app.load_sources().unwrap();
    app.ingest
        .run_cycle(feeds.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    *version.lock().unwrap() = 2;
    let report = app
        .ingest
        .run_cycle(feeds, false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((report.inserted, report.updated), (0, 1));
    let items = app.store.recent_items(10).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].item.title, "Taiwan INTERPOL bid (updated)");
    assert_eq!(items[0].revision, 2);
}

#[tokio::test]
async fn unreachable_feed_is_an_error_not_a_crash() {
    // Bind then drop a listener: the port is closed, connections are refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fixture = crate::helpers::fixtures().join("relevance-dev/feeds/mixed-02-rss2.xml");
    let env = TestEnv::new(&[
        feed(format!("http://127.0.0.1:{port}/feed.xml"), "closed port"),
        feed(format!("file://{}", fixture.display()), "local file"),
    ]);
    let app = App::build(env.config()).await.unwrap();
    let report = app
        .ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((report.ok, report.failed), (1, 1));
    assert_eq!(report.inserted, 14);
    let s = app
        .store
        .feed_state(&format!("http://127.0.0.1:{port}/feed.xml"))
        .await
        .unwrap()
        .unwrap();
    assert!(s.last_error.unwrap().contains("connect"));
}

/// A timeout says how long the fetch ran, whichever of reqwest's timeouts
/// fired: a host that never answers trips the 1 s read timeout long before
/// the 8 s total, and the cause must not claim the total.
#[tokio::test]
async fn a_timeout_says_how_long_the_fetch_ran() {
    use feedwatch::pipeline::fetch::{FetchError, Fetcher, Validators};
    let router = Router::new().route(
        "/hung.xml",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            rss(&[("never", "too late")])
        }),
    );
    let addr = serve(router).await;
    let cfg = feedwatch::config::FetchConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(8),
        max_body_bytes: 1 << 20,
        max_redirects: 5,
        concurrency: 4,
        per_host_concurrency: 2,
        user_agent: "feedwatch-test".into(),
    };
    let fetcher = Fetcher::new(&cfg).unwrap();
    let url = url::Url::parse(&format!("http://127.0.0.1:{}/hung.xml", addr.port())).unwrap();
    let err = fetcher
        .fetch(&url, &Validators::default())
        .await
        .expect_err("the host never answers");
    let FetchError::Timeout { after_secs } = err else {
        panic!("not a timeout: {err:?}");
    };
    // 1 s, or a little more on a loaded machine; never the 8 s total.
    assert!(
        (1..=4).contains(&after_secs),
        "timed out after {after_secs} s"
    );
    assert_eq!(err.plain_cause(), format!("timed out after {after_secs} s"));
    assert_eq!(err.to_string(), format!("timed out after {after_secs} s"));
}
