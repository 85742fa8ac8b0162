//! Restarting: `run --once` twice over the same feeds stores each item once.

use std::process::Command;

use feedwatch::store::Store;

use crate::helpers::{TestEnv, feed, fixtures};

fn run_once(env: &TestEnv) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().unwrap(),
            "run",
            "--once",
        ])
        .output()
        .expect("run feedwatch")
}

#[tokio::test]
async fn run_once_twice_stores_each_item_once() {
    let feeds_dir = fixtures().join("relevance-dev/feeds");
    let entries: Vec<_> = [
        "mixed-01-rdf.xml",
        "mixed-02-rss2.xml",
        "mixed-03-atom.xml",
        "mixed-04-rdf.xml",
    ]
    .iter()
    .map(|f| feed(format!("file://{}", feeds_dir.join(f).display()), f))
    .collect();
    let env = TestEnv::new(&entries);
    let first = run_once(&env);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let store = Store::open(&env.db_path).await.unwrap();
    let after_first = store.item_count().await.unwrap();
    // 57 labelled items across the four feeds.
    assert_eq!(after_first, 57);
    store.close().await;

    let second = run_once(&env);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let store = Store::open(&env.db_path).await.unwrap();
    assert_eq!(store.item_count().await.unwrap(), 57);
    let states = store.feed_states().await.unwrap();
    assert_eq!(states.len(), 4);
    assert!(
        states
            .iter()
            .all(|s| s.total_fetches == 2 && s.error_count == 0)
    );
}
