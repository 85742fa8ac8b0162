//! The in-memory parts that keep cycles linear and serving cheap: the story
//! fingerprint index (loaded once, appended on commit, rebuilt after a
//! restart), polls without new items skipping the commit lock, conditional
//! GET over several polls, and the served-feed cache with its validators.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use feedwatch::app::App;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, feed, serve};

/// On-topic reports (they publish with the shipped topic): A and B tell one
/// story, C another.
const STORY_A: (&str, &str, &str) = (
    "a1",
    "Taiwan excluded from INTERPOL General Assembly in Marrakech",
    "Taiwan was again shut out of the INTERPOL General Assembly in Marrakech this week, leaving its police without access to the I-24/7 network and real-time data on transnational scam rings, officials in Taipei said.",
);
const STORY_B: (&str, &str, &str) = (
    "b1",
    "Taiwan again shut out of INTERPOL assembly in Marrakech",
    "Taiwan has again been excluded from the INTERPOL General Assembly held in Marrakech, with officials in Taipei warning that its police lack access to the I-24/7 network used against transnational scam rings.",
);
const STORY_C: (&str, &str, &str) = (
    "c1",
    "Taiwan and Philippine police dismantle cross-border scam centre with INTERPOL tip",
    "Police in Taiwan and the Philippines raided a scam compound in Manila holding 300 workers after an INTERPOL notice, arresting 42 Taiwanese suspects accused of telecom fraud.",
);
/// Off topic: stored, not published.
const OFF_TOPIC: (&str, &str, &str) = (
    "x1",
    "Local bakery wins regional bread award",
    "A family bakery won the regional prize for its sourdough loaf on Sunday.",
);

fn rss(outlet: &str, items: &[(&str, &str, &str)]) -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{outlet}</title><link>https://{outlet}.example/</link><description>d</description>"#
    );
    for (guid, title, lead) in items {
        s.push_str(&format!(
            r#"<item><title>{title}</title><link>https://{outlet}.example/{guid}</link><guid>https://{outlet}.example/{guid}</guid><description>{lead}</description><pubDate>Fri, 27 Nov 2026 10:00:00 +0000</pubDate></item>"#
        ));
    }
    s.push_str("</channel></rss>");
    s
}

/// A feed whose items can change, with a version-numbered ETag and
/// Last-Modified (304 when both match), logging the validators it was sent.
#[derive(Clone, Default)]
struct Farm {
    feeds: Arc<Mutex<std::collections::HashMap<String, (u32, String)>>>,
    log: Arc<Mutex<Vec<Request>>>,
}

/// (feed, If-None-Match, If-Modified-Since, status answered)
type Request = (String, Option<String>, Option<String>, u16);

impl Farm {
    fn set(&self, name: &str, body: String) {
        let mut feeds = self.feeds.lock().unwrap();
        let version = feeds.get(name).map_or(1, |(v, _)| v + 1);
        feeds.insert(name.to_string(), (version, body));
    }

    fn log(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    fn requests_for(&self, name: &str) -> usize {
        self.log().iter().filter(|l| l.0 == name).count()
    }
}

fn last_modified(version: u32) -> String {
    httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + Duration::from_secs(1_790_000_000 + u64::from(version) * 60),
    )
}

async fn farm_feed(
    State(farm): State<Farm>,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some((version, body)) = farm.feeds.lock().unwrap().get(&name).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"v{version}\"");
    let lm = last_modified(version);
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .map(|v| v.to_str().unwrap().to_string());
    let ims = headers
        .get(header::IF_MODIFIED_SINCE)
        .map(|v| v.to_str().unwrap().to_string());
    let status = if inm.as_deref() == Some(etag.as_str()) && ims.as_deref() == Some(lm.as_str()) {
        304
    } else {
        200
    };
    farm.log.lock().unwrap().push((name, inm, ims, status));
    let mut response = if status == 304 {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, etag.parse().unwrap());
    h.insert(header::LAST_MODIFIED, lm.parse().unwrap());
    response
}

async fn start_farm(farm: &Farm) -> String {
    let router = Router::new()
        .route("/{name}", get(farm_feed))
        .with_state(farm.clone());
    let addr = serve(router).await;
    format!("http://127.0.0.1:{}", addr.port())
}

fn only(app: &App, name: &str) -> Vec<feedwatch::sources::FeedSource> {
    app.load_sources()
        .unwrap()
        .into_iter()
        .filter(|f| f.name == name)
        .collect()
}

async fn story_of(app: &App, guid: &str) -> Option<String> {
    let rows = app.store.items_with_decisions(100).await.unwrap();
    rows.iter()
        .find(|(i, _)| {
            i.item
                .link
                .as_deref()
                .unwrap_or("")
                .ends_with(&format!("/{guid}"))
        })
        .and_then(|(_, d)| d.as_ref())
        .and_then(|d| d.story_id.clone())
}

/// The index is rebuilt from the store after a restart: a second outlet's
/// report polled by a new process joins the story the first process started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_index_is_rebuilt_after_a_restart() {
    let farm = Farm::default();
    farm.set("a.xml", rss("a", &[STORY_A]));
    farm.set("b.xml", rss("b", &[STORY_B]));
    let base = start_farm(&farm).await;
    let env = TestEnv::with_shipped_topic(&[
        feed(format!("{base}/a.xml"), "A"),
        feed(format!("{base}/b.xml"), "B"),
    ]);
    {
        let app = App::build(env.config()).await.unwrap();
        let r = app
            .ingest
            .run_cycle(only(&app, "A"), false, CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(r.inserted, 1);
        assert_eq!(app.ingest.stories.len(), 1, "the new story is in the index");
        app.store.close().await;
    }
    let app = App::build(env.config()).await.unwrap();
    assert!(app.ingest.stories.is_empty(), "loaded on first use only");
    app.ingest
        .run_cycle(only(&app, "B"), false, CancellationToken::new())
        .await
        .unwrap();
    let a = story_of(&app, "a1").await.expect("A published");
    let b = story_of(&app, "b1").await.expect("B published");
    assert_eq!(a, b, "B joins the story started before the restart");
    assert_eq!(app.store.published_entries(50).await.unwrap().len(), 1);
    assert_eq!(app.ingest.stories.len(), 1);
}

/// A poll with nothing new to publish (a 304, unchanged items, new off-topic
/// items) completes while another task holds the commit lock; a poll with a
/// new on-topic item waits for it and then commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_without_new_stories_do_not_take_the_commit_lock() {
    let farm = Farm::default();
    farm.set("a.xml", rss("a", &[STORY_A]));
    // Served without a matching validator pair after each change: a plain 200.
    farm.set("c.xml", rss("c", &[OFF_TOPIC]));
    let base = start_farm(&farm).await;
    let env = TestEnv::with_shipped_topic(&[
        feed(format!("{base}/a.xml"), "A"),
        feed(format!("{base}/c.xml"), "C"),
    ]);
    let app = App::build(env.config()).await.unwrap();
    let all = app.load_sources().unwrap();
    let first = app
        .ingest
        .run_cycle(all.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((first.ok, first.inserted), (2, 2));

    // C gains another off-topic item; A answers 304.
    farm.set(
        "c.xml",
        rss(
            "c",
            &[
                OFF_TOPIC,
                (
                    "x2",
                    "Weather: a mild week ahead",
                    "Sunny spells and light winds are expected.",
                ),
            ],
        ),
    );
    let guard = app.ingest.commit_lock.lock().await;
    let second = tokio::time::timeout(
        Duration::from_secs(30),
        app.ingest
            .run_cycle(all.clone(), false, CancellationToken::new()),
    )
    .await
    .expect("a cycle without new stories must not wait for the commit lock")
    .unwrap();
    assert_eq!(second.not_modified, 1, "{:?}", second.reports);
    assert_eq!((second.ok, second.inserted), (1, 1));

    // A new on-topic item needs story assignment: it waits for the lock.
    farm.set("c.xml", rss("c", &[OFF_TOPIC, STORY_C]));
    let ingest = app.ingest.clone();
    let c_only = only(&app, "C");
    let seen = farm.requests_for("c.xml");
    let task = tokio::spawn(async move {
        ingest
            .run_cycle(c_only, false, CancellationToken::new())
            .await
    });
    for _ in 0..200 {
        if farm.requests_for("c.xml") > seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(farm.requests_for("c.xml") > seen, "C was fetched");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !task.is_finished(),
        "a new story is assigned under the lock"
    );
    drop(guard);
    let third = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("commits once the lock is free")
        .unwrap()
        .unwrap();
    assert_eq!(third.inserted, 1);
    assert!(story_of(&app, "c1").await.is_some());
    assert_eq!(app.ingest.stories.len(), 2);
}

/// ETag and Last-Modified survive 304s: five polls, two 304s in a row,
/// a change, and the new validators used from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_get_over_five_polls() {
    let farm = Farm::default();
    farm.set("d.xml", rss("d", &[STORY_A]));
    let base = start_farm(&farm).await;
    let env = TestEnv::with_shipped_topic(&[feed(format!("{base}/d.xml"), "D")]);
    let app = App::build(env.config()).await.unwrap();
    let d = only(&app, "D").remove(0);
    let url = d.url.to_string();
    let mut outcomes = Vec::new();
    for poll in 1..=5 {
        if poll == 4 {
            farm.set("d.xml", rss("d", &[STORY_A, STORY_C]));
        }
        let r = app.ingest.poll_once(&d, Utc::now()).await.unwrap();
        let state = app.store.feed_state(&url).await.unwrap().unwrap();
        outcomes.push((r.status, r.counts.inserted, state.etag, state.last_modified));
    }
    let v = |n: u32| Some(format!("\"v{n}\""));
    let lm = |n: u32| Some(last_modified(n));
    assert_eq!(
        outcomes,
        vec![
            (Some(200), 1, v(1), lm(1)),
            (Some(304), 0, v(1), lm(1)),
            (Some(304), 0, v(1), lm(1)),
            (Some(200), 1, v(2), lm(2)),
            (Some(304), 0, v(2), lm(2)),
        ]
    );
    let sent: Vec<(Option<String>, Option<String>)> =
        farm.log().into_iter().map(|l| (l.1, l.2)).collect();
    assert_eq!(
        sent,
        vec![
            (None, None),
            (v(1), lm(1)),
            (v(1), lm(1)),
            (v(1), lm(1)),
            (v(2), lm(2)),
        ]
    );
}

async fn fetch(url: &str, headers: &[(header::HeaderName, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(k.clone(), *v);
    }
    req.send().await.unwrap()
}

fn etag(r: &reqwest::Response) -> String {
    r.headers()[header::ETAG].to_str().unwrap().to_string()
}

/// The feeds and `/` come from memory with their validators: 304 for a
/// matching ETag or date (even with the store closed: no database access),
/// and after a commit a stale ETag gets a 200 with the new entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_feeds_are_cached_and_replaced_on_commit() {
    let farm = Farm::default();
    farm.set("a.xml", rss("a", &[STORY_A]));
    let base = start_farm(&farm).await;
    let env = TestEnv::with_shipped_topic(&[feed(format!("{base}/a.xml"), "A")]);
    let app = App::build(env.config()).await.unwrap();
    let all = app.load_sources().unwrap();
    app.ingest
        .run_cycle(all.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    let web = serve(feedwatch::web::router(app.web_state())).await;
    let site = format!("http://127.0.0.1:{}", web.port());
    let routes = ["/feed.xml", "/feed.atom", "/feed.json", "/"];

    let mut first = Vec::new();
    for route in routes {
        let r = fetch(&format!("{site}{route}"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{route}");
        let tag = etag(&r);
        let lm = r.headers()[header::LAST_MODIFIED]
            .to_str()
            .unwrap()
            .to_string();
        let body = r.text().await.unwrap();
        assert!(body.contains("Marrakech"), "{route}");
        assert!(!body.contains("Manila"), "{route}");
        first.push((route, tag, lm));
    }

    // A new story: every cached rendering is replaced.
    farm.set("a.xml", rss("a", &[STORY_A, STORY_C]));
    app.ingest
        .run_cycle(all.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    let mut second = Vec::new();
    for (route, old_tag, _) in &first {
        let r = fetch(
            &format!("{site}{route}"),
            &[(header::IF_NONE_MATCH, old_tag)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK, "stale ETag on {route}");
        let tag = etag(&r);
        assert_ne!(&tag, old_tag, "{route}");
        let body = r.text().await.unwrap();
        assert!(body.contains("Manila"), "{route} shows the new story");
        second.push((*route, tag));
    }

    // Nothing changed since: 304s from memory, with the store closed.
    app.store.close().await;
    for (route, tag) in &second {
        let r = fetch(&format!("{site}{route}"), &[(header::IF_NONE_MATCH, tag)]).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{route}");
        assert_eq!(&etag(&r), tag);
        let r = fetch(&format!("{site}{route}"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{route} served from memory");
        assert!(r.text().await.unwrap().contains("Manila"));
    }
    let r = fetch(&format!("{site}/feed.xml"), &[]).await;
    let lm = r.headers()[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_string();
    let r = fetch(
        &format!("{site}/feed.xml"),
        &[(header::IF_MODIFIED_SINCE, &lm)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "If-Modified-Since");
}

/// Off-topic items keep a compact decision (score and reasons, no
/// explanation JSON); published items keep the full explanation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_topic_items_store_a_compact_decision() {
    let farm = Farm::default();
    farm.set("a.xml", rss("a", &[STORY_A, OFF_TOPIC]));
    let base = start_farm(&farm).await;
    let env = TestEnv::with_shipped_topic(&[feed(format!("{base}/a.xml"), "A")]);
    let app = App::build(env.config()).await.unwrap();
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    app.store.close().await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
        .await
        .unwrap();
    type Row = (String, String, Option<f64>, Option<String>, Option<String>);
    let mut rows: Vec<Row> = sqlx::query_as(
        "SELECT link, decision, score, reasons, explanation FROM items ORDER BY link",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    let (link, decision, score, reasons, explanation) = rows.remove(0);
    assert!(link.ends_with("/a1"));
    assert_eq!(decision, "publish");
    assert!(score.is_some() && reasons.is_some());
    let json: serde_json::Value = serde_json::from_str(&explanation.unwrap()).unwrap();
    assert!(json.is_object(), "the full explanation of a published item");
    let (link, decision, score, reasons, explanation) = rows.remove(0);
    assert!(link.ends_with("/x1"));
    assert_eq!(decision, "skip");
    assert!(score.is_some(), "the score stays");
    assert!(!reasons.unwrap().is_empty(), "the reasons stay");
    assert_eq!(
        explanation, None,
        "no explanation JSON for an off-topic item"
    );
    pool.close().await;
}

/// The `feedwatch_items_seen_total` counter.
fn items_seen(app: &App) -> u64 {
    let metrics = app.ingest.metrics.render();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("feedwatch_items_seen_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no items_seen in\n{metrics}"))
}

/// A changed feed's items that are stored unchanged are left out before
/// scoring (issue 13 §4): the poll still counts them unchanged, the feed's
/// item count and `items_seen` are the whole feed's, and its new and
/// edited items are scored and stored as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_feed_passes_on_only_its_new_and_edited_items() {
    let farm = Farm::default();
    farm.set("a.xml", rss("a", &[STORY_A, OFF_TOPIC]));
    let base = start_farm(&farm).await;
    let env = TestEnv::with_shipped_topic(&[feed(format!("{base}/a.xml"), "A")]);
    let app = App::build(env.config()).await.unwrap();
    let feeds = app.load_sources().unwrap();
    let first = app
        .ingest
        .run_cycle(feeds.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(first.inserted, 2, "{:?}", first.reports);
    assert_eq!(items_seen(&app), 2);

    // The bakery story is edited, A's report stays as it was, C is new.
    let edited = (
        OFF_TOPIC.0,
        OFF_TOPIC.1,
        "A family bakery won the regional prize for its rye loaf on Sunday.",
    );
    farm.set("a.xml", rss("a", &[STORY_A, edited, STORY_C]));
    let second = app
        .ingest
        .run_cycle(feeds, false, CancellationToken::new())
        .await
        .unwrap();
    let r = &second.reports[0];
    assert_eq!(
        (r.counts.inserted, r.counts.updated, r.counts.unchanged),
        (1, 1, 1),
        "{r:?}"
    );
    assert_eq!(r.items_in_feed, 3);
    assert_eq!(items_seen(&app), 5);

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
        .await
        .unwrap();
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT guid, decision, revision FROM items ORDER BY guid")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            ("https://a.example/a1".to_string(), "publish".to_string(), 1),
            ("https://a.example/c1".to_string(), "publish".to_string(), 1),
            ("https://a.example/x1".to_string(), "skip".to_string(), 2),
        ]
    );
}
