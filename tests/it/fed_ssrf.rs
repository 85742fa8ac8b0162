//! Issue 16 / issue 9 §6, SSRF in the default state for federation: with
//! `allow_private_addresses = false`, deliveries and actor fetches to a
//! public-looking name that resolves to 127.0.0.1 (a fixed resolver answer
//! stands in for DNS: no network here), and to private, loopback and
//! link-local literals, are refused visibly, and nothing connects to the
//! loopback listener behind that name.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use chrono::Utc;
use feedwatch::fediverse::Fediverse;
use feedwatch::infra::netguard::GuardedResolver;
use feedwatch::store::fed::{FedStore, Follower};
use tokio::net::TcpListener;
use url::Url;

use crate::fed_helpers::*;

/// A TCP listener that counts the connections made to it (and drops them:
/// no TLS, no HTTP; a connection at all is the failure).
async fn counting_listener() -> (u16, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    (port, count, task)
}

/// The bot in its default (production) mode, its names resolved by
/// `resolver`; served on 127.0.0.1 so tests can POST to its inbox.
async fn default_mode_app(
    dir: &std::path::Path,
    resolver: GuardedResolver,
) -> (Fediverse, FedStore, Url, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = Url::parse(&format!("http://localhost:{port}")).unwrap();
    let store = FedStore::open(&dir.join("feedwatch.db")).await.unwrap();
    let mut s = settings(&base, dir);
    s.allow_private_addresses = false; // the default of the shipped config
    let fed = Fediverse::with_resolver(s, store.clone(), None, resolver)
        .await
        .unwrap()
        .with_delivery_timeout(Duration::from_millis(700));
    let app = feedwatch::web::fediverse::router(fed.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (fed, store, base, server)
}

fn loopback() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_to_private_targets_are_refused_by_default() {
    let (port, connections, _l) = counting_listener().await;
    let dir = tempfile::tempdir().unwrap();
    let resolver = GuardedResolver::new(true)
        .with_fixed("news.example.com", vec![loopback()])
        // The control: a name the operator trusts, on the same listener.
        .with_trusted("public.example.org", vec![loopback()]);
    let (fed, store, _base, _srv) = default_mode_app(dir.path(), resolver).await;
    let refused = [
        format!("https://news.example.com:{port}/inbox"),
        format!("https://127.0.0.1:{port}/inbox"),
        format!("https://[::1]:{port}/inbox"),
        "https://10.0.0.1/inbox".to_string(),
        "https://192.168.1.10/inbox".to_string(),
        "https://169.254.169.254/inbox".to_string(),
        "https://[fe80::1]/inbox".to_string(),
        // Plain http is refused outside local mode, whatever the address.
        format!("http://public.example.org:{port}/plain-http"),
    ];
    let control = format!("https://public.example.org:{port}/inbox");
    let mut followers: Vec<Follower> = refused
        .iter()
        .enumerate()
        .map(|(i, inbox)| Follower {
            actor_id: format!("https://remote{i}.example/users/x"),
            inbox: inbox.clone(),
            shared_inbox: None,
            follow_id: None,
        })
        .collect();
    followers.push(Follower {
        actor_id: "https://control.example/users/x".into(),
        inbox: control.clone(),
        shared_inbox: None,
        follow_id: None,
    });
    store
        .insert_followers(&followers, Utc::now())
        .await
        .unwrap();
    let queued = fed.enqueue_create(&story("ssrf-1")).await.unwrap();
    assert_eq!(queued as usize, refused.len() + 1);

    let report = fed.deliver_once(Utc::now()).await.unwrap();
    assert_eq!(report.delivered, 0, "{report:?}");
    assert_eq!(report.failed, refused.len(), "{report:?}");
    // The trusted control connects (TLS to a plain TCP socket fails, so it
    // is retried): the listener and the pipeline do reach 127.0.0.1.
    assert_eq!(report.retried, 1, "{report:?}");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "only the trusted control may connect to the loopback listener"
    );

    let rows = delivery_rows(&store).await;
    for inbox in &refused {
        let row = rows
            .iter()
            .find(|r| &r.target == inbox)
            .unwrap_or_else(|| panic!("no delivery row for {inbox}: {rows:?}"));
        assert_eq!(row.status, "failed", "{inbox}: {row:?}");
        let err = row.last_error.clone().unwrap_or_default();
        assert!(
            err.contains("non-public address")
                || err.contains("IP literal")
                || err.contains("scheme http"),
            "{inbox}: {err}"
        );
    }
    let named = rows
        .iter()
        .find(|r| r.target == refused[0])
        .and_then(|r| r.last_error.clone())
        .unwrap_or_default();
    assert!(named.contains("non-public address 127.0.0.1"), "{named}");
    // A second pass does not retry the refused ones.
    let again = fed
        .deliver_once(Utc::now() + chrono::Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(again.failed + again.delivered, 0, "{again:?}");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        2,
        "only the control retried"
    );
}

/// Every delivery row of the store, whatever its activity.
async fn delivery_rows(store: &FedStore) -> Vec<feedwatch::store::fed::DeliveryStatus> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM fed_activities")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let mut rows = Vec::new();
    for id in ids {
        rows.extend(store.deliveries_for(&id).await.unwrap());
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_fetches_from_private_targets_are_refused_by_default() {
    let (port, connections, _l) = counting_listener().await;
    let dir = tempfile::tempdir().unwrap();
    let resolver = GuardedResolver::new(true).with_fixed("news.example.com", vec![loopback()]);
    let (_fed, store, base, _srv) = default_mode_app(dir.path(), resolver).await;
    let inbox = base.join("/users/interpolwatch/inbox").unwrap();
    let key = new_key();
    let client = reqwest::Client::new();
    for actor in [
        format!("https://news.example.com:{port}/actor"),
        format!("https://127.0.0.1:{port}/actor"),
        format!("https://[::1]:{port}/actor"),
        "https://10.0.0.1/actor".to_string(),
        "https://169.254.169.254/actor".to_string(),
        "https://[fe80::1]/actor".to_string(),
    ] {
        let follow = serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}#follows/1"),
            "type": "Follow",
            "actor": actor,
            "object": format!("{base}users/interpolwatch"),
        });
        let body = serde_json::to_vec(&follow).unwrap();
        let headers = sign_post(
            &key,
            &format!("{actor}#main-key"),
            &inbox,
            &body,
            SystemTime::now(),
        );
        let mut req = client.post(inbox.as_str()).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        assert!(
            resp.status().is_client_error(),
            "{actor}: the inbox must answer an error, got {}",
            resp.status()
        );
        assert!(
            !store.is_follower(&actor).await.unwrap(),
            "{actor} became a follower"
        );
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "an actor fetch reached the loopback listener"
    );
}
