//! The published feed end to end: stories from real feeds through the
//! pipeline, served over HTTP, read back by feedparser and xmllint; edits;
//! the transactional outbox; and a SIGKILL in the middle of a cycle.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use chrono::Utc;
use feedwatch::app::App;
use feedwatch::store::Store;
use feedwatch::store::fed::Follower;
use tokio_util::sync::CancellationToken;

use crate::helpers::{ALL_FIXTURE_FEEDS, TestEnv, feed, fixture_feeds, serve};
use crate::publish_feeds::{feedparser, xmllint};

fn fixture_feed_entries() -> Vec<crate::helpers::FeedEntry> {
    fixture_feeds(&ALL_FIXTURE_FEEDS)
}

#[tokio::test]
async fn published_feeds_are_served_and_read_back_by_feed_readers() {
    let env = TestEnv::with_shipped_topic(&fixture_feed_entries());
    let app = App::build(env.config()).await.unwrap();
    // A follower, so the outbox has somewhere to deliver.
    app.store
        .fed()
        .upsert_follower(
            &Follower {
                actor_id: "https://peer.example/users/alice".into(),
                inbox: "https://peer.example/users/alice/inbox".into(),
                shared_inbox: Some("https://peer.example/inbox".into()),
                follow_id: Some("https://peer.example/follows/1".into()),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    let entries = app.store.published_entries(100).await.unwrap();
    assert!(entries.len() >= 20, "{} stories", entries.len());
    // One Create queued per story for the follower's shared inbox, in the same
    // commit, and at most one Update for each story another outlet's feed
    // joined (issue 15: at most one per story per hour; none when the joining
    // report came in the same poll as the story).
    let deliveries = app.store.fed().delivery_counts().await.unwrap();
    let joined = entries.iter().filter(|e| e.sources.len() > 1).count() as i64;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].0, "pending");
    let pending = deliveries[0].1;
    assert!(
        (entries.len() as i64..=entries.len() as i64 + joined).contains(&pending),
        "{pending} deliveries for {} stories, {joined} joined",
        entries.len()
    );

    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    for (path, content_type) in [
        ("feed.xml", "application/rss+xml; charset=utf-8"),
        ("feed.atom", "application/atom+xml; charset=utf-8"),
        ("feed.json", "application/feed+json; charset=utf-8"),
    ] {
        let r = client.get(format!("{base}/{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], content_type);
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
        let last_modified = r.headers()[header::LAST_MODIFIED]
            .to_str()
            .unwrap()
            .to_string();
        let body = r.text().await.unwrap();
        std::fs::write(dir.path().join(path), &body).unwrap();
        // Conditional requests: by ETag and by date.
        let again = client
            .get(format!("{base}/{path}"))
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let again = client
            .get(format!("{base}/{path}"))
            .header(header::IF_MODIFIED_SINCE, &last_modified)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
    xmllint(&dir.path().join("feed.xml"));
    xmllint(&dir.path().join("feed.atom"));
    let reports = feedparser(&[
        &dir.path().join("feed.xml"),
        &dir.path().join("feed.atom"),
        &dir.path().join("feed.json"),
    ]);
    let state = app.web_state();
    for report in &reports {
        assert_eq!(report["bozo"], 0, "{report}");
        let got: Vec<(String, String, String)> = report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["id"].as_str().unwrap_or_default().to_string(),
                    e["title"].as_str().unwrap_or_default().to_string(),
                    e["link"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        // JSON Feed's `url` is the item's own page (the article is
        // `external_url`); RSS and Atom link to the article.
        let is_json = report["file"]
            .as_str()
            .unwrap_or_default()
            .ends_with(".json");
        let want: Vec<(String, String, String)> = entries
            .iter()
            .take(50)
            .map(|e| {
                let id = state.story_url(&e.entry.story_id);
                let link = if is_json {
                    id.clone()
                } else {
                    e.entry.link.clone()
                };
                (id, e.entry.title.clone(), link)
            })
            .collect();
        assert_eq!(got, want, "{}", report["file"]);
    }
    // The story page behind each id exists.
    let page = client
        .get(
            state
                .story_url(&entries[0].entry.story_id)
                .replace("http://localhost:8080", &base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Reported by"));
}

#[tokio::test]
async fn an_edited_story_updates_its_entry_instead_of_adding_one() {
    let version = Arc::new(Mutex::new(1));
    let v = version.clone();
    let router = Router::new().route(
        "/feed.xml",
        get(move || {
            let v = v.clone();
            async move {
                let title = if *v.lock().unwrap() == 1 {
                    "Taiwan excluded from INTERPOL General Assembly again"
                } else {
                    "Taiwan excluded from INTERPOL General Assembly again, ministry protests"
                };
                format!(
                    r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://o.example/</link><description>d</description><item><title>{title}</title><link>https://o.example/a</link><guid>https://o.example/a</guid><category>Scam centres</category><category>https://o.example/tag/x</category><description>Taiwan was again left out of the INTERPOL General Assembly, cutting its police off from I-24/7 data on transnational scam networks.</description></item></channel></rss>"#
                )
            }
        }),
    );
    let addr = serve(router).await;
    let env = TestEnv::with_shipped_topic(&[feed(
        format!("http://127.0.0.1:{}/feed.xml", addr.port()),
        "Outlet",
    )]);
    let app = App::build(env.config()).await.unwrap();
    let feeds = app.load_sources().unwrap();
    app.ingest
        .run_cycle(feeds.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    let before = app.store.published_entries(10).await.unwrap();
    assert_eq!(before.len(), 1);
    // Topic hashtags first, then the item's own category; URL "categories" are not tags.
    assert_eq!(
        before[0].entry.hashtags,
        vec!["Taiwan", "INTERPOL", "TransnationalCrime", "ScamCentres"]
    );
    assert!(
        before[0]
            .entry
            .post_html
            .contains("#<span>ScamCentres</span>")
            || before[0].entry.post_html.contains("ScamCentres")
    );
    *version.lock().unwrap() = 2;
    app.ingest
        .run_cycle(feeds, false, CancellationToken::new())
        .await
        .unwrap();
    let after = app.store.published_entries(10).await.unwrap();
    assert_eq!(after.len(), 1, "an edit must not add an entry");
    assert_eq!(after[0].entry.story_id, before[0].entry.story_id);
    assert!(after[0].entry.title.ends_with("ministry protests"));
    assert_eq!(after[0].entry.revision, 2);
    assert_eq!(after[0].entry.published_at, before[0].entry.published_at);
    assert!(after[0].entry.updated_at > before[0].entry.updated_at);
    // The Note followers see is replaced too (an Update goes out).
    let note = app
        .store
        .fed()
        .get_note(&after[0].entry.story_id)
        .await
        .unwrap()
        .unwrap();
    assert!(note.json.contains("ministry protests"));
    assert!(note.updated_at.is_some());
}

/// SIGKILL during a cycle, restart, run again: every story once in the feed.
/// Multi-threaded: the feed server must keep serving while this thread
/// waits on the child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_cycle_loses_nothing_and_posts_nothing_twice() {
    let slow = Arc::new(Mutex::new(true));
    let s = slow.clone();
    let router = Router::new().route(
        "/slow.xml",
        get(move || {
            let s = s.clone();
            async move {
                if *s.lock().unwrap() {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://slow.example/</link><description>d</description><item><title>Taiwan police seek INTERPOL help against cross-border scam centres</title><link>https://slow.example/x</link><guid>https://slow.example/x</guid><description>Taiwan's Criminal Investigation Bureau asked INTERPOL members for data on scam compounds in Cambodia holding Taiwanese victims.</description></item></channel></rss>"#
            }
        }),
    );
    let addr = serve(router).await;
    let mut entries = fixture_feed_entries();
    entries.push(feed(
        format!("http://127.0.0.1:{}/slow.xml", addr.port()),
        "slow outlet",
    ));
    let env = TestEnv::with_shipped_topic(&entries);
    // Long enough for the slow feed to still be in flight when the kill lands.
    let text = std::fs::read_to_string(&env.config_path)
        .unwrap()
        .replace("timeout = \"2s\"", "timeout = \"60s\"")
        .replace("read_timeout = \"1s\"", "read_timeout = \"60s\"");
    std::fs::write(&env.config_path, text).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().unwrap(),
            "run",
            "--once",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(env.path().join("first-run.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    // Wait until the fast feeds have committed, then kill while the slow one hangs.
    let deadline = Instant::now() + Duration::from_secs(120);
    let first_log =
        || std::fs::read_to_string(env.path().join("first-run.log")).unwrap_or_default();
    loop {
        assert!(
            Instant::now() < deadline,
            "the fast feeds never committed:\n{}",
            first_log()
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the first run ended before it could be killed ({status}):\n{}",
                first_log()
            );
        }
        // Read-only and without migrating: `Store::open` would run the
        // migrations alongside the child's own, and they take no lock.
        if env.db_path.exists() {
            use sqlx::Connection;
            let url = format!("sqlite://{}?mode=ro", env.db_path.display());
            if let Ok(mut conn) = sqlx::SqliteConnection::connect(&url).await {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM feed_entries")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap_or(0);
                let _ = conn.close().await;
                if n > 0 {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the process was killed");

    *slow.lock().unwrap() = false;
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
            .args([
                "--config",
                env.config_path.to_str().unwrap(),
                "run",
                "--once",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = Store::open(&env.db_path).await.unwrap();
    let published = store.published_entries(500).await.unwrap();
    let mut ids: Vec<&str> = published
        .iter()
        .map(|e| e.entry.story_id.as_str())
        .collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "a story appears twice in the feed");
    let mut titles: Vec<&str> = published.iter().map(|e| e.entry.title.as_str()).collect();
    titles.sort_unstable();
    titles.dedup();
    assert_eq!(titles.len(), total, "the same story was published twice");
    // Nothing lost: the slow feed's story is there after the restart.
    assert!(
        published
            .iter()
            .any(|e| e.entry.link == "https://slow.example/x")
    );
    // Every published item is in exactly one story, and every story has an entry.
    let rows = store.items_with_decisions(1000).await.unwrap();
    let stories: std::collections::HashSet<String> = rows
        .iter()
        .filter_map(|(_, d)| d.as_ref().and_then(|d| d.story_id.clone()))
        .collect();
    assert_eq!(stories.len(), total);
}

fn article_feed(base: &str, guid: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>{base}/</link><description>d</description><item><title>Taiwan shut out of INTERPOL assembly in Marrakech</title><link>{base}/article/1</link><guid>{base}/{guid}</guid><description>Taiwan was again excluded from the INTERPOL General Assembly in Marrakech, officials said.</description></item></channel></rss>"#
    )
}

const ARTICLE: &str = r#"<!DOCTYPE html><html><head><title>Taiwan shut out</title></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<div class="cookie">We use cookies to improve your experience. Accept all cookies.</div>
<article><h1>Taiwan shut out of INTERPOL assembly in Marrakech</h1>
<p>Taiwan was again excluded from the INTERPOL General Assembly in Marrakech this week, officials in Taipei said on Monday.</p>
<p>Without access to the I-24/7 network, Taiwanese investigators cannot check stolen passport records or share real-time alerts on transnational scam rings, the Criminal Investigation Bureau said.</p>
<p>More than 40 countries' lawmakers have backed Taiwan's bid to attend as an observer, but the organisation has not changed its position.</p>
</article><footer>© 2026 Example News. All rights reserved.</footer></body></html>"#;

/// The article page is fetched once per story (cached), used for the
/// summary, and refused on a private address unless the operator allows it.
#[tokio::test]
async fn article_pages_are_fetched_once_per_story_and_refused_on_private_addresses() {
    let hits = Arc::new(Mutex::new(0u32));
    let h = hits.clone();
    let router = Router::new()
        .route(
            "/a.xml",
            get(|headers: axum::http::HeaderMap| async move {
                let host = headers[header::HOST]
                    .to_str()
                    .unwrap_or_default()
                    .to_string();
                article_feed(&format!("http://{host}"), "a")
            }),
        )
        .route(
            "/article/1",
            get(move || {
                let h = h.clone();
                async move {
                    *h.lock().unwrap() += 1;
                    (
                        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                        ARTICLE,
                    )
                }
            }),
        );
    let addr = serve(router).await;
    let url = format!("http://127.0.0.1:{}/a.xml", addr.port());

    // Default: article links come from feeds, so loopback is refused.
    let env = TestEnv::with_shipped_topic(&[feed(url.clone(), "Outlet")]);
    let text = std::fs::read_to_string(&env.config_path)
        .unwrap()
        .replace("fetch_article = false", "fetch_article = true");
    std::fs::write(&env.config_path, &text).unwrap();
    let app = App::build(env.config()).await.unwrap();
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        *hits.lock().unwrap(),
        0,
        "a loopback article must not be fetched"
    );
    assert_eq!(
        app.store.published_entries(10).await.unwrap().len(),
        1,
        "the story is still published"
    );

    // A test setup that allows private addresses: fetched once, cached.
    let env = TestEnv::with_shipped_topic(&[feed(url, "Outlet")]);
    std::fs::write(
        &env.config_path,
        format!("{text}\n").replace("[federation]\n", "")
            + "\n[federation]\nallow_private_addresses = true\n",
    )
    .unwrap();
    let app = App::build(env.config()).await.unwrap();
    let feeds = app.load_sources().unwrap();
    app.ingest
        .run_cycle(feeds.clone(), false, CancellationToken::new())
        .await
        .unwrap();
    app.ingest
        .run_cycle(feeds, false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(*hits.lock().unwrap(), 1, "one request per story");
    let entries = app.store.published_entries(10).await.unwrap();
    assert_eq!(entries.len(), 1);
    let summary = &entries[0].entry.summary;
    assert!(
        !summary.to_lowercase().contains("cookie") && !summary.contains('©'),
        "{summary}"
    );
    assert!(
        summary.contains("I-24/7") || summary.contains("observer"),
        "the article's text is used: {summary}"
    );
}

/// `feedwatch remove`: the entry leaves the feed, the page answers 410, the
/// Note becomes a Tombstone and followers are queued a Delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_story_retracts_it_everywhere() {
    let env = TestEnv::with_shipped_topic(&fixture_feed_entries());
    let story_id = {
        let app = App::build(env.config()).await.unwrap();
        app.store
            .fed()
            .upsert_follower(
                &Follower {
                    actor_id: "https://peer.invalid/users/bob".into(),
                    inbox: "https://peer.invalid/users/bob/inbox".into(),
                    shared_inbox: None,
                    follow_id: None,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        app.ingest
            .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
            .await
            .unwrap();
        let id = app.store.published_entries(1).await.unwrap()[0]
            .entry
            .story_id
            .clone();
        app.store.close().await;
        id
    };
    let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().unwrap(),
            "remove",
            &story_id,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().unwrap(),
            "remove",
            &story_id,
        ])
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(1),
        "removing twice is an error, not a second Delete"
    );

    let app = App::build(env.config()).await.unwrap();
    assert!(
        app.store
            .published_entries(500)
            .await
            .unwrap()
            .iter()
            .all(|e| e.entry.story_id != story_id)
    );
    let note = app.store.fed().get_note(&story_id).await.unwrap().unwrap();
    assert!(note.deleted_at.is_some());
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let page = reqwest::get(format!(
        "http://127.0.0.1:{}/stories/{story_id}",
        addr.port()
    ))
    .await
    .unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    let note = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/notes/{story_id}", addr.port()))
        .header(header::ACCEPT, "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), StatusCode::GONE);
    let body: serde_json::Value = note.json().await.unwrap();
    assert_eq!(body["type"], "Tombstone");
}
