//! Issue 16, "Update and Delete": the real daemon, its own delivery worker
//! and a real follower (the Fedify peer, tests/peer). The peer follows; an
//! edit of the published lead item reaches it as an `Update` and
//! `feedwatch remove` as a `Delete`, both verified by Fedify's own
//! signature check. Fails (does not skip) when node or the peer's modules
//! are missing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use feedwatch::store::Store;
use serde_json::Value;

use crate::fed_e2e_fedify::{received, start_peer};
use crate::helpers::{TestEnv, feed, serve};

const V1: &str = "Taiwan excluded from INTERPOL General Assembly again";
const V2: &str = "Taiwan excluded from INTERPOL General Assembly again, ministry protests";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` every 200 ms until Some, or panics after `secs` with `what`
/// and the daemon's log.
async fn until<T, F, Fut>(secs: u64, what: &str, log: &std::path::Path, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; daemon log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn find(peer: u16, kind: &str, needle: &str) -> Option<Value> {
    received(peer)
        .await
        .into_iter()
        .find(|a| a["type"] == kind && a.to_string().contains(needle))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_and_delete_reach_the_fedify_peer_through_the_daemon() {
    let version = Arc::new(AtomicU32::new(1));
    let v = version.clone();
    let router = Router::new().route(
        "/feed.xml",
        get(move || {
            let v = v.clone();
            async move {
                let title = if v.load(Ordering::SeqCst) == 1 { V1 } else { V2 };
                format!(
                    r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://o.example/</link><description>d</description><item><title>{title}</title><link>https://o.example/a</link><guid>https://o.example/a</guid><description>Taiwan was again left out of the INTERPOL General Assembly, cutting its police off from I-24/7 data on transnational scam networks.</description></item></channel></rss>"#
                )
            }
        }),
    );
    let addr = serve(router).await;
    let mut outlet = feed(
        format!("http://127.0.0.1:{}/feed.xml", addr.port()),
        "Outlet",
    );
    // Below the 1 s tick: polled on every tick.
    outlet.extra = "interval = \"500ms\"".into();
    let env = TestEnv::with_shipped_topic(&[outlet]);
    let port = free_port();
    let base = format!("http://localhost:{port}");
    let text = std::fs::read_to_string(&env.config_path)
        .unwrap()
        .replace("http://localhost:8080", &base);
    std::fs::write(&env.config_path, text).unwrap();

    let (_peer, peer_port) = start_peer().await;
    let log = env.path().join("daemon.log");
    let daemon = std::process::Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().unwrap(),
            "--log-format",
            "json",
            "run",
        ])
        .env("FEEDWATCH_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("FEEDWATCH_SCHEDULE__CRON", "*/1 * * * * *")
        // The peer lives on 127.0.0.1 (a local test setup).
        .env("FEEDWATCH_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(daemon);

    // The start-up cycle publishes the story (before anyone follows).
    let db = env.db_path.clone();
    let story_id = until(40, "the story to be published", &log, || {
        let db = db.clone();
        async move {
            let store = Store::open(&db).await.ok()?;
            let e = store.published_entries(5).await.ok()?;
            store.close().await;
            e.first().map(|e| e.entry.story_id.clone())
        }
    })
    .await;

    // The peer follows the bot; the daemon's worker sends the Accept.
    let actor = format!("{base}/users/interpolwatch");
    let mut follow =
        url::Url::parse(&format!("http://127.0.0.1:{peer_port}/_test/follow")).unwrap();
    follow.query_pairs_mut().append_pair("target", &actor);
    let resp = reqwest::Client::new().post(follow).send().await.unwrap();
    assert!(
        resp.status().is_success(),
        "follow failed: {}",
        resp.text().await.unwrap()
    );
    let accept = until(30, "a verified Accept at the peer", &log, || async {
        find(peer_port, "Accept", "").await
    })
    .await;
    assert_eq!(accept["verified"], true, "{accept}");

    // The lead item is edited at its outlet: the next poll sends an Update.
    version.store(2, Ordering::SeqCst);
    let update = until(30, "the Update at the peer", &log, || async {
        find(peer_port, "Update", "ministry protests").await
    })
    .await;
    assert_eq!(
        update["verified"], true,
        "Fedify rejected the Update: {update}"
    );
    assert_eq!(update["actor"], actor.as_str());
    assert_eq!(update["object"]["type"], "Note");
    let note_id = update["object"]["id"].as_str().unwrap().to_string();
    assert!(note_id.ends_with(&story_id), "{note_id} vs {story_id}");

    // `feedwatch remove` while the daemon runs: the peer gets a Delete.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().unwrap(),
            "remove",
            &story_id,
        ])
        .env("FEEDWATCH_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let delete = until(70, "the Delete at the peer", &log, || async {
        find(peer_port, "Delete", &note_id).await
    })
    .await;
    assert_eq!(
        delete["verified"], true,
        "Fedify rejected the Delete: {delete}"
    );
    assert_eq!(delete["actor"], actor.as_str());

    // Each activity arrived once.
    let all = received(peer_port).await;
    for kind in ["Update", "Delete"] {
        let n = all.iter().filter(|a| a["type"] == kind).count();
        assert_eq!(n, 1, "{kind} received {n} times: {all:?}");
    }
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = child.0.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "no stop within 20 s of SIGTERM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert!(status.success(), "{status}");
}

/// The daemon, killed if the test fails before stopping it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
