//! Mastodon API publisher against a local axum stand-in. No Mastodon server
//! can run here, so this server checks what Mastodon's
//! `POST /api/v1/statuses` requires: the path, `Authorization: Bearer`, an
//! `Idempotency-Key`, a JSON body with status, language, visibility and
//! spoiler_text. It fails the first request (503) to exercise the retry,
//! which must reuse the same Idempotency-Key.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use chrono::{Duration as CDuration, Utc};
use feedwatch::config::PostVisibility;
use feedwatch::fediverse::MastodonApiSettings;
use tokio::net::TcpListener;

use crate::fed_helpers::*;

#[derive(Default)]
struct Seen {
    keys: Vec<String>,
    bodies: Vec<serde_json::Value>,
}

#[tokio::test]
async fn posts_status_with_token_and_idempotency_key() {
    posts_with(PostVisibility::Public).await;
}

/// `[federation] visibility = "unlisted"` reaches the API channel too.
#[tokio::test]
async fn posts_unlisted_when_configured() {
    posts_with(PostVisibility::Unlisted).await;
}

async fn posts_with(visibility: PostVisibility) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s2 = seen.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = axum::Router::new().route(
        "/api/v1/statuses",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = s2.clone();
            async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok())
                    != Some("Bearer test-token")
                {
                    return (StatusCode::UNAUTHORIZED, "{}".to_string());
                }
                let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
                    return (StatusCode::UNPROCESSABLE_ENTITY, "no key".to_string());
                };
                assert!(
                    headers["content-type"]
                        .to_str()
                        .unwrap()
                        .starts_with("application/json")
                );
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                let mut s = seen.lock().unwrap();
                s.keys.push(key.to_string());
                s.bodies.push(v);
                if s.keys.len() == 1 {
                    (StatusCode::SERVICE_UNAVAILABLE, "{}".to_string())
                } else {
                    (StatusCode::OK, r#"{"id":"1"}"#.to_string())
                }
            }
        }),
    );
    let _srv = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let mastodon = MastodonApiSettings {
        instance: url::Url::parse(&format!("http://localhost:{port}/")).unwrap(),
        token: "test-token".into(),
        visibility: "public".into(),
    }
    .with_visibility(visibility);
    let app = spawn_app(dir.path(), Some(mastodon)).await;
    assert_eq!(app.fed.enqueue_create(&story("m1")).await.unwrap(), 1);

    let t0 = Utc::now();
    let r = app.fed.deliver_once(t0).await.unwrap();
    assert_eq!(r.retried, 1);
    let r = app
        .fed
        .deliver_once(t0 + CDuration::minutes(5))
        .await
        .unwrap();
    assert_eq!(r.delivered, 1);
    let r = app
        .fed
        .deliver_once(t0 + CDuration::hours(5))
        .await
        .unwrap();
    assert_eq!(r, Default::default());

    let s = seen.lock().unwrap();
    assert_eq!(s.keys.len(), 2);
    assert_eq!(s.keys[0], s.keys[1], "a retry reuses the Idempotency-Key");
    assert!(
        s.keys[0].parse::<i64>().is_ok(),
        "the key is the delivery row id"
    );
    let b = &s.bodies[1];
    assert_eq!(b["language"], "en");
    assert_eq!(b["visibility"], visibility.as_str());
    assert_eq!(b["spoiler_text"], "politics");
    let text = b["status"].as_str().unwrap();
    assert!(text.starts_with("INTERPOL again shuts Taiwan out"));
    assert!(
        text.contains("& data."),
        "entities decoded, tags stripped: {text}"
    );
    assert!(!text.contains('<'));
}
