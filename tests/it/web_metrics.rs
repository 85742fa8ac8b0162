//! `/metrics` after one cycle over fixture feeds: the numbers move as the
//! pipeline did.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::Utc;
use feedwatch::app::App;
use feedwatch::store::fed::Follower;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, feed, fixtures, serve};

fn value(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in:\n{text}"))
}

#[tokio::test]
async fn metrics_move_after_a_cycle() {
    let failing = serve(Router::new().route(
        "/broken.xml",
        get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
    ))
    .await;
    let good = fixtures().join("relevance-dev/feeds/mixed-03-atom.xml");
    let env = TestEnv::with_shipped_topic(&[
        feed(format!("file://{}", good.display()), "atom"),
        feed(
            format!("http://127.0.0.1:{}/broken.xml", failing.port()),
            "broken",
        ),
    ]);
    let app = App::build(env.config()).await.unwrap();
    app.store
        .fed()
        .upsert_follower(
            &Follower {
                actor_id: "https://peer.invalid/users/a".into(),
                inbox: "https://peer.invalid/inbox".into(),
                shared_inbox: None,
                follow_id: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let url = format!("http://127.0.0.1:{}/metrics", addr.port());
    let before = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert_eq!(value(&before, "feedwatch_items_seen_total"), 0.0);
    assert_eq!(value(&before, "feedwatch_followers"), 1.0);

    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    let r = reqwest::get(&url).await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let after = r.text().await.unwrap();
    let published = app.store.published_entries(100).await.unwrap().len() as f64;
    assert_eq!(
        value(&after, "feedwatch_fetches_total{outcome=\"ok\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        value(&after, "feedwatch_fetches_total{outcome=\"http_status\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(value(&after, "feedwatch_items_seen_total"), 17.0);
    assert!(value(&after, "feedwatch_items_matched_total") >= published);
    assert_eq!(value(&after, "feedwatch_items_published_total"), published);
    assert_eq!(value(&after, "feedwatch_fetch_duration_seconds_count"), 2.0);
    assert_eq!(
        value(&after, "feedwatch_deliveries{status=\"pending\"}"),
        published
    );
    assert_eq!(
        value(&after, "feedwatch_deliveries{status=\"delivered\"}"),
        0.0
    );
}
