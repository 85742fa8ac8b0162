//! Publish only news, at a pace followers accept: the age gate
//! (`[publish] max_age`), the posting cap (`max_per_hour`) with its persistent
//! queue, and what `score` says about held items. Real feeds (the labelled
//! fixture feeds, whose items are years old, and a fresh one served on
//! 127.0.0.1), a real SQLite file, the real binary; the clock is injected
//! (`poll_once`/`release` take `now`) so the tests move it instead of sleeping.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use chrono::{DateTime, Utc};
use feedwatch::app::App;
use feedwatch::store::Store;
use feedwatch::store::fed::Follower;
use feedwatch::store::queue::QueueState;
use tokio_util::sync::CancellationToken;

use crate::helpers::{ALL_FIXTURE_FEEDS, TestEnv, feed, fixture_feeds, serve};

/// The test deployment with the gate settings replaced.
fn env_with(feeds: &[crate::helpers::FeedEntry], max_age: &str, max_per_hour: u32) -> TestEnv {
    let env = TestEnv::with_shipped_topic(feeds);
    let text = std::fs::read_to_string(&env.config_path)
        .expect("read config")
        .replace("max_age = \"off\"", &format!("max_age = \"{max_age}\""))
        .replace(
            "max_per_hour = 0",
            &format!("max_per_hour = {max_per_hour}"),
        );
    std::fs::write(&env.config_path, text).expect("write config");
    env
}

fn follower() -> Follower {
    Follower {
        actor_id: "https://peer.example/users/alice".into(),
        inbox: "https://peer.example/users/alice/inbox".into(),
        shared_inbox: Some("https://peer.example/inbox".into()),
        follow_id: Some("https://peer.example/follows/1".into()),
    }
}

/// One on-topic story dated `date`, served as RSS.
fn fresh_feed(date: DateTime<Utc>) -> String {
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://fresh.example/</link><description>d</description><item><title>Taiwan police seek INTERPOL help against cross-border scam centres</title><link>https://fresh.example/x</link><guid>https://fresh.example/x</guid><pubDate>{}</pubDate><description>Taiwan's Criminal Investigation Bureau asked INTERPOL members for data on scam compounds in Cambodia holding Taiwanese victims.</description></item></channel></rss>"#,
        date.to_rfc2822()
    )
}

/// Story ids in the feed, asserting none appears twice.
async fn published_ids(store: &Store) -> Vec<String> {
    let entries = store.published_entries(1000).await.expect("entries");
    let ids: Vec<String> = entries.iter().map(|e| e.entry.story_id.clone()).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a story is in the feed twice");
    ids
}

#[tokio::test]
async fn years_old_on_topic_items_are_stored_and_scored_but_not_published() {
    let fresh_at = Utc::now() - chrono::Duration::hours(3);
    let router = Router::new().route(
        "/fresh.xml",
        get(move || async move { fresh_feed(fresh_at) }),
    );
    let addr = serve(router).await;
    let mut feeds = fixture_feeds(&ALL_FIXTURE_FEEDS);
    feeds.push(feed(
        format!("http://127.0.0.1:{}/fresh.xml", addr.port()),
        "Fresh",
    ));
    let env = env_with(&feeds, "2d", 0);
    let app = App::build(env.config()).await.expect("app");
    let report = app
        .ingest
        .run_cycle(
            app.load_sources().expect("sources"),
            false,
            CancellationToken::new(),
        )
        .await
        .expect("cycle");
    assert_eq!(report.failed, 0);
    // Only the fresh story is published; the fixtures' on-topic items are years old.
    let published = app.store.published_entries(100).await.expect("entries");
    assert_eq!(
        published
            .iter()
            .map(|e| e.entry.link.as_str())
            .collect::<Vec<_>>(),
        vec!["https://fresh.example/x"]
    );
    // Its feed entry carries the item's own date, not the time it was seen.
    assert_eq!(published[0].entry.published_at, fresh_at.with_nanosecond0());
    // The old ones are stored and scored, held with the reason.
    let rows = app.store.items_with_decisions(1000).await.expect("rows");
    assert!(rows.len() > 40, "{} items stored", rows.len());
    let scored = rows.iter().filter(|(_, d)| d.is_some()).count();
    assert_eq!(scored, rows.len(), "every item is scored");
    let held = held_reasons(&env).await;
    assert!(held.len() >= 20, "{} held", held.len());
    assert!(
        held.iter().all(|h| h == "older than max_age (2d)"),
        "{held:?}"
    );
    // Nothing waits either: held items start no story.
    assert_eq!(app.store.queue_counts().await.expect("counts"), (0, 0));
    // The story page shows the item's own date and when the bot posted it.
    let web = serve(feedwatch::web::router(app.web_state())).await;
    let page = reqwest::get(format!(
        "http://127.0.0.1:{}/stories/{}",
        web.port(),
        published[0].entry.story_id
    ))
    .await
    .expect("story page")
    .text()
    .await
    .expect("body");
    let own = fresh_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert!(page.contains(&format!("datetime=\"{own}\"")), "{page}");
    assert!(page.contains("data-testid=\"story-posted\""), "{page}");

    // A second cycle sees them as known, not new: still nothing more.
    app.ingest
        .run_cycle(
            app.load_sources().expect("sources"),
            false,
            CancellationToken::new(),
        )
        .await
        .expect("cycle");
    assert_eq!(published_ids(&app.store).await.len(), 1);
}

/// The stored `held` reasons, read with plain SQL (an independent reader).
async fn held_reasons(env: &TestEnv) -> Vec<String> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
        .await
        .expect("open db");
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT held FROM items WHERE decision = 'held' AND held IS NOT NULL")
            .fetch_all(&pool)
            .await
            .expect("query");
    pool.close().await;
    rows.into_iter().map(|(h,)| h).collect()
}

trait Second {
    fn with_nanosecond0(self) -> Self;
}

impl Second for DateTime<Utc> {
    /// RFC 2822 dates carry whole seconds.
    fn with_nanosecond0(self) -> Self {
        chrono::Timelike::with_nanosecond(&self, 0).expect("valid")
    }
}

#[tokio::test]
async fn the_cap_holds_stories_and_releases_them_hour_by_hour_oldest_first() {
    let env = env_with(&fixture_feeds(&ALL_FIXTURE_FEEDS), "off", 6);
    let app = App::build(env.config()).await.expect("app");
    let t0 = Utc::now();
    app.store
        .fed()
        .upsert_follower(&follower(), t0)
        .await
        .expect("follower");
    for f in app.load_sources().expect("sources") {
        app.ingest.poll_once(&f, t0).await.expect("poll");
    }
    let first = published_ids(&app.store).await;
    assert_eq!(first.len(), 6, "at most max_per_hour at once");
    let (waiting, stale) = app.store.queue_counts().await.expect("counts");
    assert!(waiting >= 14, "{waiting} waiting");
    assert_eq!(stale, 0);
    let total = first.len() as u64 + waiting;

    // Within the same hour: nothing more, however often it is asked.
    for minutes in [1, 30, 59] {
        let r = app
            .ingest
            .release(t0 + chrono::Duration::minutes(minutes))
            .await
            .expect("release");
        assert_eq!(r.released, 0, "at +{minutes} min");
    }
    // Each later hour lets at most six more out, until none wait.
    let mut hour = 1;
    let mut released_per_hour = Vec::new();
    loop {
        let now = t0 + chrono::Duration::minutes(60 * hour + 1);
        let before = app
            .store
            .queued(QueueState::Waiting, 1000)
            .await
            .expect("queued");
        let r = app.ingest.release(now).await.expect("release");
        assert!(r.released <= 6, "{r:?}");
        // Oldest first: every story released now is dated no later than
        // every story still waiting.
        let after: HashSet<String> = app
            .store
            .queued(QueueState::Waiting, 1000)
            .await
            .expect("queued")
            .into_iter()
            .map(|q| q.story_id)
            .collect();
        let (still, gone): (Vec<_>, Vec<_>) =
            before.iter().partition(|q| after.contains(&q.story_id));
        assert_eq!(gone.len() as u32, r.released);
        if let (Some(newest_gone), Some(oldest_left)) = (
            gone.iter().map(|q| q.lead_date).max(),
            still.iter().map(|q| q.lead_date).min(),
        ) {
            assert!(newest_gone <= oldest_left, "a newer story went out first");
        }
        released_per_hour.push(r.released);
        if r.waiting == 0 {
            break;
        }
        hour += 1;
        assert!(hour < 20, "the queue never drained: {released_per_hour:?}");
    }
    let all = published_ids(&app.store).await;
    assert_eq!(all.len() as u64, total, "a waiting story was lost");
    // One stream: one Create and one delivery per follower for each story.
    let deliveries: i64 = app
        .store
        .fed()
        .delivery_counts()
        .await
        .expect("deliveries")
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(deliveries as u64, total);
    // A rolling hour: over any 60 minutes, never more than six went out.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
        .await
        .expect("open db");
    // Stored as Unix milliseconds (store::time).
    let posted: Vec<(DateTime<Utc>,)> = sqlx::query_scalar::<_, i64>(
        "SELECT posted_at FROM stories WHERE posted_at IS NOT NULL ORDER BY posted_at",
    )
    .fetch_all(&pool)
    .await
    .expect("query")
    .into_iter()
    .map(|ms| (DateTime::from_timestamp_millis(ms).expect("stored time"),))
    .collect();
    pool.close().await;
    for (i, (a,)) in posted.iter().enumerate() {
        let in_hour = posted[i..]
            .iter()
            .take_while(|(b,)| *b - *a < chrono::Duration::hours(1))
            .count();
        assert!(in_hour <= 6, "{in_hour} stories within an hour of {a}");
    }
}

#[tokio::test]
async fn waiting_stories_past_max_age_are_dropped_as_stale_and_listed() {
    let env = env_with(&fixture_feeds(&ALL_FIXTURE_FEEDS), "off", 3);
    let app = App::build(env.config()).await.expect("app");
    let t0 = Utc::now();
    for f in app.load_sources().expect("sources") {
        app.ingest.poll_once(&f, t0).await.expect("poll");
    }
    assert_eq!(published_ids(&app.store).await.len(), 3);
    let (waiting, _) = app.store.queue_counts().await.expect("counts");
    assert!(waiting > 0);
    // The operator turns the age gate on (a reload): every waiting story's
    // lead item is years old, so none goes out; all are stale.
    let text = std::fs::read_to_string(&env.config_path)
        .expect("config")
        .replace("max_age = \"off\"", "max_age = \"2d\"");
    std::fs::write(&env.config_path, text).expect("write");
    app.settings.reload().await.expect("reload");
    let r = app
        .ingest
        .release(t0 + chrono::Duration::hours(2))
        .await
        .expect("release");
    assert_eq!((r.released, r.stale, r.waiting), (0, waiting, 0));
    assert_eq!(published_ids(&app.store).await.len(), 3);
    let stale = app
        .store
        .queued(QueueState::Stale, 100)
        .await
        .expect("stale");
    assert_eq!(stale.len() as u64, waiting);
    assert!(stale.iter().all(|s| !s.title.is_empty()));

    // The dashboard lists them.
    let token = "0123456789abcdef-dashboard";
    let text = std::fs::read_to_string(&env.config_path)
        .expect("config")
        .replace(
            "[publish]",
            &format!("[admin]\ntoken = \"{token}\"\n\n[publish]"),
        );
    std::fs::write(&env.config_path, text).expect("write");
    let app = App::build(env.config()).await.expect("app");
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let page = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/admin", addr.port()))
        .bearer_auth(token)
        .send()
        .await
        .expect("admin");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    assert!(
        html.contains(&format!("Stale stories ({waiting})")),
        "{html}"
    );
    for s in &stale {
        let title = feedwatch::text::escape_html(&s.title);
        assert!(html.contains(&title), "{title} not listed");
    }
}

#[tokio::test]
async fn sigkill_while_stories_wait_loses_nothing_and_doubles_nothing() {
    let env = env_with(&fixture_feeds(&ALL_FIXTURE_FEEDS), "off", 2);
    {
        let store = Store::open(&env.db_path).await.expect("store");
        store
            .fed()
            .upsert_follower(&follower(), Utc::now())
            .await
            .expect("follower");
        store.close().await;
    }
    let run_once = || {
        let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
            .args([
                "--config",
                env.config_path.to_str().expect("utf-8"),
                "run",
                "--once",
            ])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run_once();
    let store = Store::open(&env.db_path).await.expect("store");
    let first = published_ids(&store).await;
    assert_eq!(first.len(), 2);
    let (waiting, _) = store.queue_counts().await.expect("counts");
    assert!(waiting >= 18, "{waiting} waiting");
    store.close().await;

    // The daemon starts, ticks with stories waiting, and is killed.
    let log = env.path().join("daemon.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args(["--config", env.config_path.to_str().expect("utf-8"), "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).expect("log")))
        .spawn()
        .expect("daemon");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("scheduler started")
    {
        assert!(Instant::now() < deadline, "daemon did not start");
        assert!(child.try_wait().expect("wait").is_none(), "daemon exited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(!child.wait().expect("wait").success());

    run_once();
    let store = Store::open(&env.db_path).await.expect("store");
    assert_eq!(
        published_ids(&store).await,
        first,
        "the cap still holds within the hour"
    );
    assert_eq!(
        store.queue_counts().await.expect("counts").0,
        waiting,
        "a waiting story was lost"
    );
    store.close().await;

    // Later hours (injected clock) let every waiting story out, once.
    let app = App::build(env.config()).await.expect("app");
    let t0 = Utc::now();
    for hour in 1..=30 {
        let r = app
            .ingest
            .release(t0 + chrono::Duration::hours(hour))
            .await
            .expect("release");
        assert!(r.released <= 2);
        if r.waiting == 0 {
            break;
        }
    }
    let all = published_ids(&app.store).await;
    assert_eq!(all.len() as u64, 2 + waiting);
    let deliveries: i64 = app
        .store
        .fed()
        .delivery_counts()
        .await
        .expect("deliveries")
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        deliveries as u64,
        2 + waiting,
        "one delivery per story for the follower"
    );
}

#[test]
fn score_says_why_a_relevant_old_item_is_held() {
    let env = env_with(&[], "2d", 6);
    let feeds = fixture_feeds(&["mixed-02-rss2.xml"]);
    let path = feeds[0].url.trim_start_matches("file://").to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().expect("utf-8"),
            "score",
            "--json",
            &path,
        ])
        .output()
        .expect("score");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let matched: Vec<&serde_json::Value> = lines.iter().filter(|l| l["matched"] == true).collect();
    assert!(!matched.is_empty());
    for l in &matched {
        assert_eq!(l["held"], "older than max_age (2d)", "{l}");
    }
    for l in lines.iter().filter(|l| l["matched"] == false) {
        assert!(l.get("held").is_none(), "{l}");
    }
    // The text output says it too.
    let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().expect("utf-8"),
            "score",
            &path,
        ])
        .output()
        .expect("score");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("held: older than max_age (2d)"), "{text}");
    assert!(text.contains(", 0 would be published"), "{text}");
}
