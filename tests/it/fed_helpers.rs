//! `spawn_app()` and small HTTP utilities shared by the tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use feedwatch::fediverse::{Fediverse, FediverseSettings, MastodonApiSettings};
use feedwatch::model::StoryPost;
use feedwatch::store::fed::FedStore;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use url::Url;

pub struct TestApp {
    pub fed: Fediverse,
    pub store: FedStore,
    pub base: Url,
    pub port: u16,
    pub data_dir: PathBuf,
    pub server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn settings(base: &Url, data_dir: &Path) -> FediverseSettings {
    FediverseSettings {
        base_url: base.clone(),
        username: "interpolwatch".into(),
        display_name: "INTERPOL & Taiwan watch".into(),
        summary: "Summaries of news about INTERPOL and Taiwan.".into(),
        icon_url: Some(base.join("/static/icon.png").unwrap()),
        icon_media_type: Some("image/png".into()),
        image_url: None,
        image_media_type: None,
        profile_links: vec![("Feed".into(), base.join("/feed.xml").unwrap())],
        data_dir: data_dir.to_path_buf(),
        allow_private_addresses: true,
        delivery_concurrency: 8,
        dead_after: Duration::from_secs(3600),
        feed_url: base.join("/feed.xml").unwrap(),
        visibility: feedwatch::config::PostVisibility::Public,
    }
}

/// Starts the bot on 127.0.0.1:0 as `http://localhost:<port>` with its
/// SQLite file and key in `dir`.
pub async fn spawn_app(dir: &Path, mastodon: Option<MastodonApiSettings>) -> TestApp {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = Url::parse(&format!("http://localhost:{port}")).unwrap();
    start(dir, listener, base, mastodon).await
}

/// Same as `spawn_app` on a given port (a "restart" keeps the URL).
pub async fn respawn_app(dir: &Path, port: u16) -> TestApp {
    // The old server task is aborting; its socket may take a moment to close.
    let mut tries = 0;
    let listener = loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => break l,
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("rebind {port}: {e}"),
        }
    };
    let base = Url::parse(&format!("http://localhost:{port}")).unwrap();
    start(dir, listener, base, None).await
}

async fn start(
    dir: &Path,
    listener: TcpListener,
    base: Url,
    mastodon: Option<MastodonApiSettings>,
) -> TestApp {
    let port = listener.local_addr().unwrap().port();
    let store = FedStore::open(&dir.join("feedwatch.db")).await.unwrap();
    let fed = Fediverse::new(settings(&base, dir), store.clone(), mastodon)
        .await
        .unwrap()
        .with_delivery_timeout(Duration::from_millis(700));
    let app = feedwatch::web::fediverse::router(fed.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    TestApp {
        fed,
        store,
        base,
        port,
        data_dir: dir.to_path_buf(),
        server,
    }
}

pub fn story(id: &str) -> StoryPost {
    StoryPost {
        story_id: id.into(),
        page_url: Url::parse(&format!("https://news.example/stories/{id}")).unwrap(),
        html: "<p>INTERPOL again shuts Taiwan out of its General Assembly &amp; data.</p><p><a href=\"https://news.example/a\">https://news.example/a</a></p>".into(),
        text: "INTERPOL again shuts Taiwan out of its General Assembly & data.\n\nhttps://news.example/a".into(),
        language: "en".into(),
        hashtags: vec!["Taiwan".into(), "INTERPOL".into()],
        sensitive_cw: Some("politics".into()),
        published: Utc::now(),
        updated: None,
    }
}

/// A remote actor we control: its key and a tiny server publishing it.
pub struct FakeActor {
    pub id: Url,
    pub key: RsaPrivateKey,
    pub port: u16,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    pub server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeActor {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn new_key() -> RsaPrivateKey {
    use rsa::pkcs8::DecodePrivateKey;
    let kp = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
    RsaPrivateKey::from_pkcs8_pem(&kp.private_key).unwrap()
}

pub async fn fake_actor() -> FakeActor {
    use axum::routing::{get, post};
    let key = new_key();
    let pem = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let id = Url::parse(&format!("http://localhost:{port}/actor")).unwrap();
    let doc = serde_json::json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id, "type": "Person", "preferredUsername": "fake",
        "inbox": format!("http://localhost:{port}/inbox"),
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem },
    });
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rec = received.clone();
    let app = axum::Router::new()
        .route(
            "/actor",
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [("content-type", "application/activity+json")],
                        doc.to_string(),
                    )
                }
            }),
        )
        .route(
            "/inbox",
            post(move |body: String| {
                let rec = rec.clone();
                async move {
                    if let Ok(v) = serde_json::from_str(&body) {
                        rec.lock().unwrap().push(v);
                    }
                    axum::http::StatusCode::ACCEPTED
                }
            }),
        );
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    FakeActor {
        id,
        key,
        port,
        received,
        server,
    }
}

/// Signs a POST draft-cavage style (rsa-sha256 over `(request-target) host
/// date digest`), as Mastodon does. Independent of the crate's own signer.
pub fn sign_post(
    key: &RsaPrivateKey,
    key_id: &str,
    url: &Url,
    body: &[u8],
    date: SystemTime,
) -> Vec<(String, String)> {
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let date = httpdate::fmt_http_date(date);
    let digest = format!("SHA-256={}", B64.encode(Sha256::digest(body)));
    let signing = format!(
        "(request-target): post {}\nhost: {host}\ndate: {date}\ndigest: {digest}",
        url.path()
    );
    let sig = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing.as_bytes()),
        )
        .unwrap();
    let header = format!(
        "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{}\"",
        B64.encode(sig)
    );
    vec![
        ("host".into(), host),
        ("date".into(), date),
        ("digest".into(), digest),
        ("signature".into(), header),
        ("content-type".into(), "application/activity+json".into()),
    ]
}

/// Polls `f` every 100 ms until it returns Some, or panics after `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
