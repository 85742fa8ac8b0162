//! Issue 16, "reload and stop" and "a crash inside the commit": the real
//! binary stopped by SIGTERM while a poll is in flight, and killed by
//! SIGKILL at fault points inside `Store::commit_poll`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use feedwatch::store::Store;

use crate::helpers::{TestEnv, feed, rss, serve};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `feedwatch run` from the real binary, stderr in a file in the env's dir.
fn start_daemon(env: &TestEnv, vars: &[(&str, &str)]) -> (std::process::Child, std::path::PathBuf) {
    let log = env.path().join(format!("daemon-{}.log", free_port()));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_feedwatch"));
    cmd.args([
        "--config",
        env.config_path.to_str().unwrap(),
        "--log-format",
        "json",
        "run",
    ])
    .env(
        "FEEDWATCH_SERVER__LISTEN",
        format!("127.0.0.1:{}", free_port()),
    )
    .env_remove("RUST_LOG")
    .stdout(std::process::Stdio::null())
    .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    (cmd.spawn().unwrap(), log)
}

/// The daemon, killed if the test fails before it exits.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl KillOnDrop {
    /// The exit status, if the daemon exits within `within`.
    async fn exit_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.0.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// SIGTERM while the only feed's response is still on its way: the poll
/// finishes, its items and validators are committed, and the daemon exits 0
/// within a bound. (Wrong implementation it catches: aborting the cycle's
/// tasks on shutdown instead of joining them.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_poll_lets_that_poll_commit() {
    const SLOW: Duration = Duration::from_millis(2500);
    // (requested at, answered at)
    let times: Arc<Mutex<(Option<Instant>, Option<Instant>)>> = Arc::default();
    let t = times.clone();
    let body = rss(&[
        ("slow-1", "INTERPOL and Taiwan one"),
        ("slow-2", "INTERPOL and Taiwan two"),
        ("slow-3", "INTERPOL and Taiwan three"),
    ]);
    let app = Router::new().route(
        "/slow.xml",
        get(move || {
            let t = t.clone();
            let body = body.clone();
            async move {
                t.lock().unwrap().0 = Some(Instant::now());
                tokio::time::sleep(SLOW).await;
                t.lock().unwrap().1 = Some(Instant::now());
                (
                    [
                        (header::CONTENT_TYPE, "application/rss+xml"),
                        (header::ETAG, "\"slow-v1\""),
                        (header::LAST_MODIFIED, "Fri, 27 Nov 2026 10:00:00 GMT"),
                    ],
                    body,
                )
                    .into_response()
            }
        }),
    );
    let addr = serve(app).await;
    let url = format!("http://127.0.0.1:{}/slow.xml", addr.port());
    let env = TestEnv::new(&[feed(url.clone(), "slow")]);
    let (child, log) = start_daemon(
        &env,
        &[
            ("FEEDWATCH_FETCH__READ_TIMEOUT", "10s"),
            ("FEEDWATCH_FETCH__TIMEOUT", "15s"),
        ],
    );
    let mut child = KillOnDrop(child);
    // The start-up cycle requests the feed; SIGTERM as soon as it is asked.
    let deadline = Instant::now() + Duration::from_secs(30);
    while times.lock().unwrap().0.is_none() {
        assert!(
            Instant::now() < deadline,
            "the feed was never requested:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let termed = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let exit = child.exit_within(Duration::from_secs(20)).await;
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    let exit = exit.unwrap_or_else(|| panic!("no exit within 20 s of SIGTERM:\n{logs}"));
    assert!(exit.success(), "exit status {exit}:\n{logs}");
    let (_, answered) = *times.lock().unwrap();
    let answered =
        answered.expect("the poll in flight was dropped: its request was never answered");
    assert!(
        termed < answered,
        "SIGTERM must land while the poll is in flight"
    );
    assert!(
        termed.elapsed() >= SLOW / 2,
        "the daemon cannot have waited for the poll"
    );

    let store = Store::open(&env.db_path).await.unwrap();
    assert_eq!(store.item_count().await.unwrap(), 3, "{logs}");
    let state = store
        .feed_state(&url)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no feed state for {url}:\n{logs}"));
    assert_eq!(state.etag.as_deref(), Some("\"slow-v1\""));
    assert_eq!(
        state.last_modified.as_deref(),
        Some("Fri, 27 Nov 2026 10:00:00 GMT")
    );
    assert_eq!(state.last_status, Some(200));
    store.close().await;
}

/// What the store holds after a cycle, read with plain SQL.
#[derive(Debug, PartialEq)]
struct Snapshot {
    items: i64,
    /// Published story ids, sorted.
    stories: Vec<String>,
    /// Create activities.
    creates: i64,
    /// (feed url, its items) for every feed with a saved validator.
    validated_feeds: Vec<(String, i64)>,
}

async fn snapshot(db: &std::path::Path, followers: &[String]) -> Snapshot {
    let store = Store::open(db).await.unwrap();
    let pool = store.fed().pool().clone();
    let items: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    let stories: Vec<String> =
        sqlx::query_scalar("SELECT story_id FROM feed_entries ORDER BY story_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let creates: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM fed_activities WHERE kind = 'Create'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let validated_feeds: Vec<(String, i64)> = sqlx::query_as(
        "SELECT f.url, (SELECT COUNT(*) FROM items i WHERE i.feed_url = f.url)
         FROM feeds f WHERE f.etag IS NOT NULL OR f.last_modified IS NOT NULL ORDER BY f.url",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    // Every follower has exactly one delivery row per activity.
    let off: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT a.id, t.inbox, (SELECT COUNT(*) FROM fed_deliveries d
                                WHERE d.activity_id = a.id AND d.target = t.inbox) AS n
         FROM fed_activities a, (SELECT inbox FROM fed_followers) t
         WHERE a.kind IN ('Create', 'Update', 'Delete') AND n != 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        off.is_empty(),
        "deliveries not exactly one per follower and activity: {off:?}"
    );
    let inboxes: Vec<String> = sqlx::query_scalar("SELECT inbox FROM fed_followers ORDER BY inbox")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(inboxes, followers, "the followers are kept");
    store.close().await;
    Snapshot {
        items,
        stories,
        creates,
        validated_feeds,
    }
}

/// A deployment with the shipped topic, one feed served over HTTP with
/// validators, and two followers whose inboxes are `sink`.
async fn crash_env(feed_url: &str, followers: &[String]) -> TestEnv {
    let env = TestEnv::with_shipped_topic(&[feed(feed_url, "Outlet")]);
    let store = Store::open(&env.db_path).await.unwrap();
    for (i, inbox) in followers.iter().enumerate() {
        store
            .fed()
            .upsert_follower(
                &feedwatch::store::fed::Follower {
                    actor_id: format!("{inbox}#actor{i}"),
                    inbox: inbox.clone(),
                    shared_inbox: None,
                    follow_id: None,
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
    }
    store.close().await;
    env
}

/// The environment of every feedwatch process in the crash test: the
/// followers live on 127.0.0.1, and one poll at a time keeps the order of
/// the fault points the same from run to run.
const CRASH_VARS: [(&str, &str); 2] = [
    ("FEEDWATCH_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true"),
    ("FEEDWATCH_FETCH__CONCURRENCY", "1"),
];

/// `feedwatch run --once` (on a blocking thread: the feed server keeps
/// serving meanwhile).
async fn run_once(env: &TestEnv, fault: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_feedwatch"));
    cmd.args([
        "--config",
        env.config_path.to_str().unwrap(),
        "run",
        "--once",
    ])
    .env_remove("RUST_LOG")
    .env_remove("FEEDWATCH_FAULT_POINT");
    for (k, v) in CRASH_VARS {
        cmd.env(k, v);
    }
    if let Some(f) = fault {
        cmd.env("FEEDWATCH_FAULT_POINT", f);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// A fresh deployment whose daemon is SIGKILLed at fault point `n` of its
/// first cycle, then one `run --once`: where it was killed, and the store.
async fn kill_and_recover(n: u64, feed_url: &str, followers: &[String]) -> (String, Snapshot) {
    let env = crash_env(feed_url, followers).await;
    let mut vars: Vec<(&str, &str)> = CRASH_VARS.to_vec();
    let n_text = n.to_string();
    vars.push(("FEEDWATCH_FAULT_POINT", &n_text));
    let (child, log) = start_daemon(&env, &vars);
    let mut child = KillOnDrop(child);
    let marker = format!("fault point {n}: ");
    let deadline = Instant::now() + Duration::from_secs(60);
    let at = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.starts_with(&marker)) {
            break line.to_string();
        }
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the daemon exited before fault point {n}:\n{text}"
        );
        assert!(
            Instant::now() < deadline,
            "fault point {n} not reached:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // SIGKILL, inside the open transaction.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let out = run_once(&env, None).await;
    assert!(
        out.status.success(),
        "restart after {at}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (at, snapshot(&env.db_path, followers).await)
}

/// Issue 16, a crash inside the commit: the daemon is stopped at a fault
/// point between two statements of `Store::commit_poll` (or of the release
/// of a story with its `Create` and deliveries) and SIGKILLed there, over
/// every kind of point and at least 20 points in all. After a restart and
/// another cycle the store equals a run that never crashed: every story
/// once, one delivery row per follower and activity, and no validators
/// saved without their items. (Wrong implementations it catches: the
/// validators committed in a transaction of their own; the Fediverse rows
/// written after `tx.commit()`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_inside_the_commit_loses_nothing_and_doubles_nothing() {
    let started = Instant::now();
    let fixture = std::fs::read_to_string(
        crate::helpers::fixtures().join("relevance-dev/feeds/mixed-02-rss2.xml"),
    )
    .unwrap();
    const ETAG: &str = "\"fixture-v1\"";
    let app = Router::new()
        .route(
            "/feed.xml",
            get(move |headers: axum::http::HeaderMap| {
                let body = fixture.clone();
                async move {
                    if headers
                        .get(header::IF_NONE_MATCH)
                        .is_some_and(|v| v == ETAG)
                    {
                        return axum::http::StatusCode::NOT_MODIFIED.into_response();
                    }
                    (
                        [
                            (header::CONTENT_TYPE, "application/rss+xml"),
                            (header::ETAG, ETAG),
                            (header::LAST_MODIFIED, "Fri, 27 Nov 2026 10:00:00 GMT"),
                        ],
                        body,
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/{who}/inbox",
            axum::routing::post(|| async { axum::http::StatusCode::ACCEPTED }),
        );
    let addr = serve(app).await;
    let feed_url = format!("http://127.0.0.1:{}/feed.xml", addr.port());
    let mut followers: Vec<String> = ["a", "b"]
        .iter()
        .map(|w| format!("http://127.0.0.1:{}/{w}/inbox", addr.port()))
        .collect();
    followers.sort();

    // The reference: a cycle that never crashed, tracing its fault points.
    let env = crash_env(&feed_url, &followers).await;
    let out = run_once(&env, Some("trace")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace: Vec<(u64, String)> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("fault point ")?;
            let (n, name) = rest.split_once(": ")?;
            Some((n.parse().ok()?, name.to_string()))
        })
        .collect();
    let reference = snapshot(&env.db_path, &followers).await;
    eprintln!(
        "reference in {:?}: {} fault points",
        started.elapsed(),
        trace.len()
    );
    assert!(reference.stories.len() >= 3, "{reference:?}");
    assert_eq!(reference.creates, reference.stories.len() as i64);
    assert_eq!(
        reference.validated_feeds,
        vec![(feed_url.clone(), reference.items)]
    );
    let kinds: std::collections::BTreeSet<&str> = trace.iter().map(|(_, k)| k.as_str()).collect();
    for must in [
        "poll: begun",
        "poll: feed state written",
        "poll: item inserted",
        "poll: story queued",
        "poll: before commit",
        "release: entry, Create and deliveries written",
        "activity: deliveries queued",
    ] {
        assert!(kinds.contains(must), "no {must:?} in {kinds:?}");
    }

    // Kill points: the first of each kind, then evenly spread, 20 or more
    // (spread wider while the spread points fall on first ones).
    let firsts: Vec<u64> = kinds
        .iter()
        .filter_map(|k| trace.iter().find(|(_, n)| n == k).map(|(i, _)| *i))
        .collect();
    let total = trace.len() as u64;
    let mut spread = 20u64.saturating_sub(firsts.len() as u64).max(4);
    let points = loop {
        let mut points = firsts.clone();
        points.extend((1..=spread).map(|i| i * total / (spread + 1)));
        points.sort_unstable();
        points.dedup();
        if points.len() >= 20 || spread >= total {
            break points;
        }
        spread += 1;
    };
    assert!(
        points.len() >= 20,
        "{} kill points of {total}",
        points.len()
    );

    // Two deployments at a time, each killed at its own point.
    for pair in points.chunks(2) {
        let runs = pair
            .iter()
            .map(|n| kill_and_recover(*n, &feed_url, &followers));
        for (at, after) in futures_util::future::join_all(runs).await {
            assert_eq!(after, reference, "after a SIGKILL at {at}");
            eprintln!("{at}: recovered ({:?})", started.elapsed());
        }
    }
    eprintln!(
        "{} kill points of {total} in {:?}",
        points.len(),
        started.elapsed()
    );
}
