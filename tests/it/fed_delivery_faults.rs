//! Delivery faults against a local inbox sink: 500, then a timeout, then
//! success (with a restart in between), a 410 that removes its followers, and
//! an inbox that never recovers and goes `dead`. Nothing is delivered twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{Duration as CDuration, Utc};
use feedwatch::store::fed::Follower;
use tokio::net::TcpListener;

use crate::fed_helpers::*;

#[derive(Default)]
struct Sink {
    /// Requests seen per path.
    hits: HashMap<String, usize>,
    /// Successful (2xx) deliveries per (path, activity id).
    delivered: HashMap<(String, String), usize>,
}

async fn sink_inbox(
    State(sink): State<Arc<Mutex<Sink>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    assert!(
        headers.contains_key("signature"),
        "deliveries must be signed"
    );
    let n = {
        let mut s = sink.lock().unwrap();
        let n = s.hits.entry(name.clone()).or_default();
        *n += 1;
        *n
    };
    let status = match (name.as_str(), n) {
        ("flaky", 1) => StatusCode::INTERNAL_SERVER_ERROR,
        ("flaky", 2) => {
            // Longer than the app's delivery timeout (700 ms in tests).
            tokio::time::sleep(Duration::from_secs(2)).await;
            StatusCode::ACCEPTED
        }
        ("flaky", _) => StatusCode::ACCEPTED,
        ("gone", _) => StatusCode::GONE,
        ("broken", _) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::ACCEPTED,
    };
    if status.is_success() && !(name == "flaky" && n == 2) {
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        *sink
            .lock()
            .unwrap()
            .delivered
            .entry((name, id))
            .or_default() += 1;
    }
    status
}

#[tokio::test]
async fn retries_back_off_survive_restart_and_deliver_once() {
    let sink = Arc::new(Mutex::new(Sink::default()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sport = listener.local_addr().unwrap().port();
    let app_router = axum::Router::new()
        .route("/{name}/inbox", axum::routing::post(sink_inbox))
        .with_state(sink.clone());
    let _sink_srv = tokio::spawn(async move { axum::serve(listener, app_router).await.unwrap() });
    let inbox = |name: &str| format!("http://localhost:{sport}/{name}/inbox");

    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let f = |actor: &str, inbox: String, shared: Option<String>| Follower {
        actor_id: format!("http://localhost:{sport}/users/{actor}"),
        inbox,
        shared_inbox: shared,
        follow_id: None,
    };
    app.store
        .insert_followers(
            &[
                // Two followers behind one shared inbox: one delivery.
                f("a1", inbox("a1"), Some(inbox("flaky"))),
                f("a2", inbox("a2"), Some(inbox("flaky"))),
                f("g1", inbox("gone"), None),
                f("b1", inbox("broken"), None),
            ],
            Utc::now(),
        )
        .await
        .unwrap();

    let queued = app.fed.enqueue_create(&story("fault-1")).await.unwrap();
    assert_eq!(queued, 3, "one row per distinct (shared) inbox");
    let create_id = format!("{}activities/create/fault-1", app.base);
    let now0 = Utc::now();

    // Pass 1: flaky 500 -> retry; gone 410 -> failed + follower removed; broken 503 -> retry.
    let r = app.fed.deliver_once(now0).await.unwrap();
    assert_eq!((r.delivered, r.retried, r.failed, r.dead), (0, 2, 1, 0));
    assert!(
        !app.store
            .is_follower(&format!("http://localhost:{sport}/users/g1"))
            .await
            .unwrap()
    );
    let rows = app.store.deliveries_for(&create_id).await.unwrap();
    let flaky = rows.iter().find(|r| r.target == inbox("flaky")).unwrap();
    assert_eq!((flaky.status.as_str(), flaky.attempts), ("pending", 1));
    let wait1 = flaky.next_attempt_at - now0;
    assert!(
        wait1 >= CDuration::seconds(30) && wait1 <= CDuration::seconds(34),
        "first backoff {wait1}"
    );

    // Not due yet: nothing is sent.
    let r = app
        .fed
        .deliver_once(now0 + CDuration::seconds(5))
        .await
        .unwrap();
    assert_eq!(r, Default::default());
    assert_eq!(sink.lock().unwrap().hits["flaky"], 1);

    // Pass 2 at +40 s: flaky times out -> retry with a doubled delay.
    let t2 = now0 + CDuration::seconds(40);
    let r = app.fed.deliver_once(t2).await.unwrap();
    assert_eq!(r.retried, 2);
    let rows = app.store.deliveries_for(&create_id).await.unwrap();
    let flaky = rows.iter().find(|r| r.target == inbox("flaky")).unwrap();
    assert_eq!(flaky.attempts, 2);
    let wait2 = flaky.next_attempt_at - t2;
    assert!(
        wait2 >= CDuration::seconds(60) && wait2 <= CDuration::seconds(67),
        "second backoff {wait2}"
    );
    assert!(
        flaky
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("timed out")
    );

    // Restart: drop the service and the pool, reopen the same SQLite file.
    let port = app.port;
    app.store.close().await;
    drop(app);
    let app = respawn_app(dir.path(), port).await;
    let rows = app.store.deliveries_for(&create_id).await.unwrap();
    let flaky = rows.iter().find(|r| r.target == inbox("flaky")).unwrap();
    assert_eq!(
        (flaky.status.as_str(), flaky.attempts),
        ("pending", 2),
        "retry state survives restart"
    );

    // Pass 3 at +2 min: flaky recovers -> delivered; broken still failing.
    let t3 = now0 + CDuration::seconds(120);
    let r = app.fed.deliver_once(t3).await.unwrap();
    assert_eq!(r.delivered, 1);

    // Much later: broken passes dead_after (1 h) -> dead; flaky not resent.
    let r = app
        .fed
        .deliver_once(now0 + CDuration::hours(2))
        .await
        .unwrap();
    assert_eq!((r.delivered, r.dead), (0, 1));
    let r = app
        .fed
        .deliver_once(now0 + CDuration::days(3))
        .await
        .unwrap();
    assert_eq!(r, Default::default());

    let (delivered, hits) = {
        let s = sink.lock().unwrap();
        (s.delivered.clone(), s.hits.clone())
    };
    assert_eq!(
        delivered.get(&("flaky".to_string(), create_id.clone())),
        Some(&1),
        "delivered exactly once"
    );
    assert_eq!(hits["flaky"], 3);
    assert_eq!(hits["gone"], 1, "a 410 is not retried");
    let statuses: HashMap<String, String> = app_rows(&app, &create_id).await;
    assert_eq!(statuses[&inbox("flaky")], "delivered");
    assert_eq!(statuses[&inbox("gone")], "failed");
    assert_eq!(statuses[&inbox("broken")], "dead");
}

async fn app_rows(app: &TestApp, id: &str) -> HashMap<String, String> {
    app.store
        .deliveries_for(id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.target, r.status.to_string()))
        .collect()
}
