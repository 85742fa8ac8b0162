//! The daemon as operators run it: the real binary, JSON logs, health
//! endpoint, and a graceful stop on SIGTERM.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use feedwatch::store::Store;

use crate::helpers::{TestEnv, feed, fixtures};

#[tokio::test]
async fn run_polls_serves_health_and_stops_on_sigterm() {
    let fixture = fixtures().join("relevance-dev/feeds/mixed-02-rss2.xml");
    let env = TestEnv::new(&[feed(format!("file://{}", fixture.display()), "fixture")]);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().unwrap(),
            "--log-format",
            "json",
            "run",
        ])
        .env("FEEDWATCH_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The first cycle runs at start-up: wait for its items.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stored = 0;
    while Instant::now() < deadline {
        if env.db_path.exists() {
            if let Ok(store) = Store::open(&env.db_path).await {
                stored = store.item_count().await.unwrap_or(0);
                store.close().await;
                if stored == 14 {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(stored, 14, "the start-up cycle stores the fixture's items");

    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "feedwatch did not stop within 20s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "exit status {exit}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let events: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let polled = events
        .iter()
        .find(|e| e["message"] == "feed polled")
        .unwrap_or_else(|| panic!("no poll event in {logs}"));
    assert!(polled["feed.url"].as_str().unwrap().starts_with("file://"));
    assert!(events.iter().any(|e| e["message"] == "stopped"), "{logs}");
}
