//! Never stall, never die, never double; logs and exits an operator can
//! read. The real binary against real HTTP servers on 127.0.0.1:0, real
//! SQLite files, real FIFOs and sockets.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use feedwatch::store::Store;

use crate::helpers::{Daemon, TestEnv, feed, fixtures, serve};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// What the resilience tests wait for in a daemon's log (the shared
/// `Daemon` is in `helpers`).
impl Daemon {
    fn wait_for(&mut self, needle: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(needle) {
            assert!(
                self.child.try_wait().expect("try_wait").is_none(),
                "the daemon exited before {needle:?}:\n{}",
                self.log()
            );
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {within:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn feedwatch(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--config", env.config_path.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args(&all)
        .env_remove("RUST_LOG")
        .output()
        .expect("run feedwatch")
}

fn fixture_feed() -> crate::helpers::FeedEntry {
    let path = fixtures().join("relevance-dev/feeds/mixed-02-rss2.xml");
    feed(format!("file://{}", path.display()), "fixture")
}

/// Request times per path, as the test server saw them.
#[derive(Clone, Default)]
struct Hits(Arc<Mutex<HashMap<String, Vec<Instant>>>>);

impl Hits {
    fn hit(&self, path: &str) {
        self.0
            .lock()
            .expect("lock")
            .entry(path.to_string())
            .or_default()
            .push(Instant::now());
    }
    fn times(&self, path: &str) -> Vec<Instant> {
        self.0
            .lock()
            .expect("lock")
            .get(path)
            .cloned()
            .unwrap_or_default()
    }
}

/// An RSS document with items dated now, so any age gate lets them through.
fn fresh_rss(items: &[(&str, &str, &str)]) -> String {
    let date = chrono::Utc::now().to_rfc2822();
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><link>https://news.example/</link><description>d</description>"#,
    );
    for (guid, title, link) in items {
        s.push_str(&format!(
            "<item><title>{title}</title><link>{link}</link><guid isPermaLink=\"false\">{guid}</guid><description>{title}.</description><pubDate>{date}</pubDate></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_is_refused_while_read_only_commands_work() {
    let env = TestEnv::new(&[fixture_feed()]);
    let mut daemon = Daemon::start(&env, &[]);
    daemon.wait_for("cycle done", Duration::from_secs(60));
    let pid = daemon.child.id().to_string();
    for args in [&["run", "--once"][..], &["run"][..]] {
        let second = feedwatch(&env, args);
        let err = String::from_utf8_lossy(&second.stderr);
        assert_eq!(second.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("feedwatch.db.lock"), "{args:?}: {err}");
        assert!(err.contains(&format!("PID {pid}")), "{args:?}: {err}");
        assert_eq!(
            err.matches("already running").count(),
            1,
            "the error is printed once: {err}"
        );
    }
    let feeds = feedwatch(&env, &["feeds"]);
    assert!(
        feeds.status.success(),
        "{}",
        String::from_utf8_lossy(&feeds.stderr)
    );
    assert!(String::from_utf8_lossy(&feeds.stdout).contains("fixture"));
    let export = feedwatch(&env, &["sources", "export"]);
    assert!(export.status.success());
    assert!(daemon.stop().success(), "{}", daemon.log());
    // The lock dies with its holder: the next run starts.
    let after = feedwatch(&env, &["run", "--once"]);
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
}

#[test]
fn a_port_in_use_names_the_key_to_change() {
    let env = TestEnv::new(&[fixture_feed()]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args(["--config", env.config_path.to_str().expect("path"), "run"])
        .env("FEEDWATCH_SERVER__LISTEN", addr.to_string())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("[server] listen"), "{err}");
    assert!(err.contains("FEEDWATCH_SERVER__LISTEN"), "{err}");
    assert_eq!(err.matches("already in use").count(), 1, "once: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_and_proc_feeds_are_refused_and_run_once_exits_3_without_hanging() {
    let dir = tempfile::tempdir().expect("dir");
    let fifo = dir.path().join("feed.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    // A port nobody listens on: connection refused.
    let refused = free_port();
    let app = Router::new().route(
        "/503.xml",
        get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
    );
    let addr = serve(app).await;
    let env = TestEnv::new(&[
        fixture_feed(),
        feed(format!("file://{}", fifo.display()), "fifo"),
        feed("file:///proc/self/status", "proc"),
        feed(format!("http://127.0.0.1:{refused}/feed.xml"), "refused"),
        feed(format!("http://{addr}/503.xml"), "unavailable"),
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().expect("path"),
            "run",
            "--once",
        ])
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(env.path().join("once.log")).expect("log"),
        ))
        .spawn()
        .expect("run");
    // A FIFO read would block forever; 90 s only allows for a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "run --once hangs:\n{}",
            std::fs::read_to_string(env.path().join("once.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let err = std::fs::read_to_string(env.path().join("once.log")).expect("log");
    assert_eq!(status.code(), Some(3), "some feeds failed: {err}");
    assert!(!err.contains('\u{1b}'), "no colour in a pipe: {err}");
    assert!(err.contains("a FIFO, not a regular file"), "{err}");
    assert!(err.contains("a kernel or device file"), "{err}");
    assert!(
        err.contains("feed poll failed: connection refused"),
        "{err}"
    );
    assert!(err.contains("feed poll failed: HTTP 503"), "{err}");
    assert!(err.contains("cycle done"), "{err}");
    // The healthy feed was committed.
    let store = Store::open(&env.db_path).await.expect("store");
    assert_eq!(store.item_count().await.expect("count"), 14);
    let states = store.feed_states().await.expect("states");
    let fifo_state = states
        .iter()
        .find(|s| s.url.ends_with("feed.fifo"))
        .expect("fifo recorded");
    assert_eq!(fifo_state.error_count, 1);
    store.close().await;
    // Everything polled fine: 0.
    let ok_env = TestEnv::new(&[fixture_feed()]);
    let ok = feedwatch(&ok_env, &["run", "--once"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn a_broken_pipe_ends_quietly_with_status_0() {
    let env = TestEnv::new(&[fixture_feed()]);
    for args in [&["feeds"][..], &["sources", "export"][..]] {
        let mut all = vec!["--config", env.config_path.to_str().expect("path")];
        all.extend_from_slice(args);
        let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
            .args(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // The reader leaves before the first line is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

/// Issue 9's slow neighbour: one feed answers after 20 s and another's
/// article page after 20 s; a healthy feed is still polled on every tick,
/// and the slow feed is never polled twice at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_feeds_and_slow_article_hosts_never_delay_a_healthy_feed() {
    let hits = Hits::default();
    let h = hits.clone();
    let port = Arc::new(Mutex::new(0u16));
    let p = port.clone();
    let app = Router::new().route(
        "/{name}",
        get(move |Path(name): Path<String>| {
            let hits = h.clone();
            let port = *p.lock().expect("lock");
            async move {
                hits.hit(&name);
                match name.as_str() {
                    "slow.xml" | "slow-article" => {
                        tokio::time::sleep(Duration::from_secs(20)).await;
                        "late".to_string().into_response()
                    }
                    "articles.xml" => (
                        [(header::CONTENT_TYPE, "application/rss+xml")],
                        fresh_rss(&[(
                            "slow-1",
                            "Taiwan excluded from INTERPOL General Assembly again",
                            &format!("http://127.0.0.1:{port}/slow-article"),
                        )]),
                    )
                        .into_response(),
                    _ => (
                        [(header::CONTENT_TYPE, "application/rss+xml")],
                        fresh_rss(&[("h-1", "Weather report", "https://news.example/w")]),
                    )
                        .into_response(),
                }
            }
        }),
    );
    let addr = serve(app).await;
    *port.lock().expect("lock") = addr.port();
    let mut entries = vec![
        feed(format!("http://{addr}/healthy.xml"), "healthy"),
        feed(format!("http://{addr}/slow.xml"), "slow"),
        feed(format!("http://{addr}/articles.xml"), "articles"),
    ];
    // Due on every 1 s tick.
    for e in &mut entries {
        e.extra = "interval = \"500ms\"".to_string();
    }
    let env = TestEnv::with_shipped_topic(&entries);
    let mut daemon = Daemon::start(
        &env,
        &[
            ("FEEDWATCH_SCHEDULE__CRON", "*/1 * * * * *"),
            ("FEEDWATCH_FETCH__TIMEOUT", "60s"),
            ("FEEDWATCH_FETCH__READ_TIMEOUT", "60s"),
            ("FEEDWATCH_PUBLISH__FETCH_ARTICLE", "true"),
            ("FEEDWATCH_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true"),
        ],
    );
    daemon.wait_for("scheduler started", Duration::from_secs(60));
    // Wait until both slow requests are in flight, then watch 8 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    while hits.times("slow.xml").is_empty() || hits.times("slow-article").is_empty() {
        assert!(
            Instant::now() < deadline,
            "slow requests never started:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let healthy = hits
        .times("healthy.xml")
        .into_iter()
        .filter(|t| *t >= from)
        .count();
    assert!(
        healthy >= 6,
        "the healthy feed was polled {healthy} times in 8 s of 1 s ticks:\n{}",
        daemon.log()
    );
    assert_eq!(
        hits.times("slow.xml").len(),
        1,
        "the slow feed polled twice"
    );
    assert_eq!(
        hits.times("articles.xml").len(),
        1,
        "the feed waiting on its article page was polled twice"
    );
    // The operator sees the skips in the cycle's summary line: both slow
    // feeds are still in flight on the later ticks.
    let log = daemon.log();
    assert!(
        log.lines()
            .any(|l| l.contains("\"cycle done\"") && l.contains("\"skipped\":2")),
        "no cycle line counts the two feeds still in flight:\n{log}"
    );
    assert!(daemon.stop().success());
}

/// Issue 16: the scheduler obeys its own timestamps through several ticks
/// of a fast cron: backoff, Retry-After, max-age and <ttl> floors (capped
/// by floor_max), and disabled feeds are never polled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_obeys_backoff_and_floors_through_many_ticks() {
    let hits = Hits::default();
    let h = hits.clone();
    let app = Router::new().route(
        "/{name}",
        get(move |Path(name): Path<String>| {
            let hits = h.clone();
            async move {
                hits.hit(&name);
                let rss = |ttl: &str| {
                    fresh_rss(&[("x", "Weather", "https://news.example/x")])
                        .replace("<item>", &format!("{ttl}<item>"))
                };
                let ok = |extra: Option<(header::HeaderName, &'static str)>, body: String| {
                    let mut r =
                        ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response();
                    if let Some((k, v)) = extra {
                        r.headers_mut().insert(k, v.parse().expect("value"));
                    }
                    r
                };
                match name.as_str() {
                    "max-age.xml" => ok(Some((header::CACHE_CONTROL, "max-age=2")), rss("")),
                    "max-age-capped.xml" => {
                        ok(Some((header::CACHE_CONTROL, "max-age=86400")), rss(""))
                    }
                    "ttl.xml" => ok(None, rss("<ttl>1</ttl>")),
                    "retry-after.xml" => (
                        StatusCode::TOO_MANY_REQUESTS,
                        [(header::RETRY_AFTER, "30")],
                        "slow down",
                    )
                        .into_response(),
                    "failing.xml" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    _ => ok(None, rss("")),
                }
            }
        }),
    );
    let addr = serve(app).await;
    let mut entries: Vec<_> = [
        "every-tick.xml",
        "max-age.xml",
        "max-age-capped.xml",
        "ttl.xml",
        "retry-after.xml",
        "failing.xml",
        "disabled.xml",
    ]
    .iter()
    .map(|n| {
        let mut f = feed(format!("http://{addr}/{n}"), n);
        // Below the 1 s tick: due on every tick unless a floor says otherwise.
        f.extra = "interval = \"500ms\"".to_string();
        if *n == "disabled.xml" {
            f.extra.push_str("\nenabled = false");
        }
        f
    })
    .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let env = TestEnv::new(&entries);
    let mut daemon = Daemon::start(
        &env,
        &[
            ("FEEDWATCH_SCHEDULE__CRON", "*/1 * * * * *"),
            ("FEEDWATCH_SCHEDULE__BACKOFF_BASE", "1s"),
            ("FEEDWATCH_SCHEDULE__BACKOFF_MAX", "1h"),
            // Caps the day-long max-age, the ttl's minute and the 30 s
            // Retry-After at 3 s.
            ("FEEDWATCH_SCHEDULE__FLOOR_MAX", "3s"),
        ],
    );
    daemon.wait_for("scheduler started", Duration::from_secs(60));
    tokio::time::sleep(Duration::from_secs(13)).await;
    assert!(daemon.stop().success(), "{}", daemon.log());
    let gaps = |name: &str| -> Vec<f64> {
        hits.times(name)
            .windows(2)
            .map(|w| (w[1] - w[0]).as_secs_f64())
            .collect()
    };
    let log = daemon.log();
    // A poll at tick T sets the next check to T + floor; the first tick at
    // or after it polls again, so a gap is the floor plus up to one tick.
    let within = |name: &str, gap: f64, floor: f64, g: &[f64]| {
        assert!(
            gap >= floor - 0.3 && gap <= floor + 2.0,
            "{name}: gap {gap:.2} s against a {floor} s floor: {g:?}\n{log}"
        );
    };
    let every = hits.times("every-tick.xml").len();
    assert!(
        every >= 9,
        "every-tick polled {every} times in 13 s:\n{log}"
    );
    let g = gaps("max-age.xml");
    assert!(g.len() >= 3, "max-age.xml: {g:?}");
    g.iter().for_each(|x| within("max-age.xml", *x, 2.0, &g));
    // max-age of a day and a one-minute <ttl>, capped by floor_max = 3 s.
    for name in ["max-age-capped.xml", "ttl.xml"] {
        let g = gaps(name);
        assert!(g.len() >= 2, "{name}: {g:?}\n{log}");
        g.iter().for_each(|x| within(name, *x, 3.0, &g));
    }
    // Backoff from 1 s: 1, 2, 4 s (each ±10%).
    let g = gaps("failing.xml");
    assert!(g.len() >= 3, "failing.xml: {g:?}\n{log}");
    within("failing.xml", g[0], 1.0 * 0.9, &g);
    within("failing.xml", g[1], 2.0 * 0.9, &g);
    within("failing.xml", g[2], 4.0 * 0.9, &g);
    // Retry-After: 30, capped at 3 s, over a backoff of 1, 2, 4 s.
    let g = gaps("retry-after.xml");
    assert!(g.len() >= 2, "retry-after.xml: {g:?}\n{log}");
    within("retry-after.xml", g[0], 3.0, &g);
    within("retry-after.xml", g[1], 3.0, &g);
    assert!(
        hits.times("disabled.xml").is_empty(),
        "a disabled feed was polled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_are_dropped_while_healthz_answers() {
    let env = TestEnv::new(&[fixture_feed()]);
    let mut daemon = Daemon::start(&env, &[]);
    daemon.wait_for("scheduler started", Duration::from_secs(60));
    let addr = format!("127.0.0.1:{}", daemon.port);
    // 1,000 clients: half send nothing, half stop inside their headers.
    let mut stalled = Vec::with_capacity(1000);
    for i in 0..1000 {
        let mut s = TcpStream::connect(&addr).expect("connect");
        if i % 2 == 1 {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .expect("write");
        }
        stalled.push(s);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("client");
    for _ in 0..5 {
        let r = client
            .get(daemon.url("/healthz"))
            .send()
            .await
            .expect("/healthz answers beside 1,000 stalled clients");
        assert_eq!(r.status(), 200);
    }
    // Every stalled connection is closed by the server within the header
    // timeout (10 s) and a margin.
    let deadline = Instant::now() + Duration::from_secs(20);
    for (i, s) in stalled.iter_mut().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "connection {i} still open after 20 s");
        s.set_read_timeout(Some(left)).expect("timeout");
        let mut buf = [0u8; 512];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue, // a 408 first is fine
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("connection {i} not closed: {e}"),
            }
        }
    }
    let r = client
        .get(daemon.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    assert!(daemon.stop().success());
}

/// A store that fails for a while (another connection holds SQLite's write
/// lock): the daemon keeps running, /readyz answers 503, and once the lock
/// is gone it catches up and /readyz is 200 again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_store_is_survived_and_caught_up() {
    use sqlx::Connection;
    let items = Arc::new(Mutex::new(vec![("a", "First story")]));
    let it = items.clone();
    let app = Router::new().route(
        "/feed.xml",
        get(move || {
            let items = it.lock().expect("lock").clone();
            async move {
                let items: Vec<(&str, &str, &str)> = items
                    .iter()
                    .map(|(g, t)| (*g, *t, "https://news.example/x"))
                    .collect();
                fresh_rss(&items)
            }
        }),
    );
    let addr = serve(app).await;
    let mut f = feed(format!("http://{addr}/feed.xml"), "feed");
    f.extra = "interval = \"500ms\"".to_string();
    let env = TestEnv::new(&[f]);
    let mut daemon = Daemon::start(&env, &[("FEEDWATCH_SCHEDULE__CRON", "*/1 * * * * *")]);
    daemon.wait_for("cycle done", Duration::from_secs(60));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let ready = |client: reqwest::Client, url: String| async move {
        client
            .get(url)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(ready(client.clone(), daemon.url("/readyz")).await, 200);

    // Hold the write lock: every commit now fails after the busy timeout.
    let mut blocker =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", env.db_path.display()))
            .await
            .expect("second connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .expect("take the write lock");
    items.lock().expect("lock").push(("b", "Second story"));
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if ready(client.clone(), daemon.url("/readyz")).await == 503 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never reported the failing store:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        daemon.child.try_wait().expect("try_wait").is_none(),
        "the daemon died"
    );
    let health = client
        .get(daemon.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    sqlx::query("ROLLBACK")
        .execute(&mut blocker)
        .await
        .expect("release");
    blocker.close().await.expect("close");

    // Caught up: the second item is stored and /readyz is 200 again.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let store = Store::open(&env.db_path).await.expect("store");
        let n = store.item_count().await.unwrap_or(0);
        store.close().await;
        if n == 2 && ready(client.clone(), daemon.url("/readyz")).await == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no catch-up ({n} items):\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let log = daemon.log();
    assert!(log.contains("the store answers again"), "{log}");
    assert!(daemon.stop().success(), "{log}");
}

/// Issue 16, SSRF in the default state: article fetches resolve through
/// the guarded resolver; a public-looking name that resolves to 127.0.0.1
/// is refused, and so is every redirect to loopback, private or link-local
/// addresses. The fixed answers stand in for DNS (no network here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn article_fetches_refuse_private_targets_and_redirects_by_default() {
    let hits = Hits::default();
    let h = hits.clone();
    let port = Arc::new(Mutex::new(0u16));
    let p = port.clone();
    let app = Router::new().route(
        "/{name}",
        get(move |Path(name): Path<String>| {
            let hits = h.clone();
            let port = *p.lock().expect("lock");
            async move {
                hits.hit(&name);
                let to = match name.as_str() {
                    "to-name" => format!("http://news.example.com:{port}/secret"),
                    "to-loopback" => format!("http://127.0.0.1:{port}/secret"),
                    "to-v6-loopback" => format!("http://[::1]:{port}/secret"),
                    "to-private" => "http://10.0.0.1/secret".to_string(),
                    "to-link-local" => "http://169.254.169.254/latest/meta-data".to_string(),
                    "to-v6-link-local" => "http://[fe80::1]/secret".to_string(),
                    "to-nat64" => "http://[64:ff9b::7f00:1]/secret".to_string(),
                    _ => return "<html><body><p>page</p></body></html>".into_response(),
                };
                Redirect::temporary(&to).into_response()
            }
        }),
    );
    let addr = serve(app).await;
    *port.lock().expect("lock") = addr.port();
    let cfg = TestEnv::new(&[]).config();
    let loopback: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
    let resolver = feedwatch::infra::netguard::GuardedResolver::new(true)
        .with_fixed("news.example.com", vec![loopback])
        // Stands in for a public host: the first hop of the redirect tests.
        .with_trusted("public.example.org", vec![loopback]);
    let fetcher =
        feedwatch::pipeline::fetch::Fetcher::with_resolver(&cfg.fetch, resolver).expect("fetcher");
    let url = |s: String| url::Url::parse(&s).expect("url");
    let port = addr.port();

    // Direct: a public-looking name resolving to loopback.
    let err = fetcher
        .fetch_untrusted(&url(format!("http://news.example.com:{port}/page")), false)
        .await
        .expect_err("refused");
    assert!(
        err.to_string().contains("non-public address 127.0.0.1"),
        "{err}"
    );
    // The same page through the trusted name is fetched: the server works.
    let ok = fetcher
        .fetch_untrusted(
            &url(format!("http://public.example.org:{port}/page")),
            false,
        )
        .await
        .expect("the first hop itself is allowed");
    assert_eq!(ok.status, 200);
    for hop in [
        "to-name",
        "to-loopback",
        "to-v6-loopback",
        "to-private",
        "to-link-local",
        "to-v6-link-local",
        "to-nat64",
    ] {
        let err = fetcher
            .fetch_untrusted(
                &url(format!("http://public.example.org:{port}/{hop}")),
                false,
            )
            .await
            .expect_err(hop);
        let msg = err.to_string();
        assert!(
            msg.contains("non-public") || msg.contains("not a public address"),
            "{hop}: {msg}"
        );
    }
    assert!(
        hits.times("secret").is_empty(),
        "a redirect reached a private target"
    );
    // With allow_private (test setups), the same redirect is followed.
    let followed = fetcher
        .fetch_untrusted(&url(format!("http://127.0.0.1:{port}/to-loopback")), true)
        .await
        .expect("allowed in local mode");
    assert_eq!(followed.status, 200);
    assert_eq!(hits.times("secret").len(), 1);
}

/// Issue 9, admin sessions: the cookie holds a random server-side id (never
/// the token) that sign-out ends; it is `Secure` under an https base_url;
/// failed sign-ins are rate-limited; playground profile paths stay inside
/// the config's folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sessions_are_server_side_and_sign_ins_are_limited() {
    use feedwatch::app::App;
    const TOKEN: &str = "resilience-admin-token-0123456789";
    let env = TestEnv::new(&[fixture_feed()]);
    let text = std::fs::read_to_string(&env.config_path).expect("config");
    std::fs::write(
        &env.config_path,
        format!("[admin]\ntoken = \"{TOKEN}\"\n\n{text}")
            .replace("http://localhost:8080", "https://bot.example"),
    )
    .expect("write config");
    std::fs::write(env.path().join("inside.md"), "Taiwan and INTERPOL.").expect("profile");
    let app = App::build(env.config()).await.expect("app");
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let login = |token: &'static str| {
        client
            .post(format!("{base}/admin/login"))
            .form(&[("token", token)])
            .send()
    };
    let signed_in = login(TOKEN).await.expect("login");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let set_cookie = signed_in.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(!set_cookie.contains(TOKEN), "the cookie holds the token");
    let cookie = set_cookie.split(';').next().expect("pair").to_string();
    let id = cookie.split_once('=').expect("name=value").1.to_string();
    assert_eq!(id.len(), 64, "{id}");
    let get = |cookie: String| {
        client
            .get(format!("{base}/admin"))
            .header(header::COOKIE, cookie)
            .send()
    };
    let dash = get(cookie.clone()).await.expect("dashboard");
    assert_eq!(dash.status(), StatusCode::OK);
    let html = dash.text().await.expect("html");
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    let csrf = html[at..at + 32].to_string();
    // The token itself in the cookie is not a session.
    let forged = get(format!("feedwatch_admin={TOKEN}")).await.expect("get");
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    // A profile path outside the config's folder is refused; inside works.
    let preview = |profile: &str| {
        client
            .post(format!("{base}/admin/playground/preview"))
            .header(header::COOKIE, &cookie)
            .form(&[
                (
                    "topic",
                    format!("[topic]\nname = \"t\"\nprofile = [\"{profile}\"]\n"),
                ),
                ("threshold", "0.35".to_string()),
                ("n", "10".to_string()),
                ("csrf", csrf.clone()),
            ])
            .send()
    };
    for outside in ["/etc/passwd", "../../../../etc/passwd"] {
        let page = preview(outside)
            .await
            .expect("preview")
            .text()
            .await
            .expect("text");
        assert!(
            page.contains("must be a file inside the config"),
            "{outside}: {page}"
        );
        assert!(!page.contains("root:"), "{outside} was read");
    }
    let inside = preview("inside.md")
        .await
        .expect("preview")
        .text()
        .await
        .expect("text");
    assert!(
        !inside.contains("must be a file inside the config"),
        "{inside}"
    );

    // Signing out ends the session on the server.
    let out = client
        .post(format!("{base}/admin/logout"))
        .header(header::COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        get(cookie.clone()).await.expect("get").status(),
        StatusCode::UNAUTHORIZED,
        "a closed session still works"
    );

    // Five wrong tokens, then even the right one waits.
    for _ in 0..5 {
        assert_eq!(
            login("wrong").await.expect("login").status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = login(TOKEN).await.expect("login");
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key(header::RETRY_AFTER));
}
