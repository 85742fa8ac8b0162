//! A scriptable ActivityPub peer that behaves as real servers do, for the
//! inbox tests: a real HTTP server on 127.0.0.1:0 publishing an actor whose
//! key (and inbox) can be swapped at any time, counting how often its actor
//! document is fetched, recording what it receives, and signing requests in
//! the header orders that Mastodon, GoToSocial and Misskey use.
//! Signing here is independent of the crate's own signer.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use url::Url;

use crate::fed_helpers::new_key;

/// Which server's signing habits to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `rsa-sha256`, `(request-target) host date digest content-type`.
    Mastodon,
    /// `hs2019`, `(request-target) host date digest`.
    GoToSocial,
    /// `rsa-sha256`, `(request-target) date host digest`.
    Misskey,
    /// RFC 9421: `Signature-Input` over `@method @target-uri content-digest`,
    /// `rsa-v1_5-sha256`, as Fedify and Mastodon 4.4+ send.
    Rfc9421,
}

struct PeerState {
    key: RsaPrivateKey,
    inbox_path: String,
    actor_gets: usize,
    received: Vec<Value>,
    /// (user-agent, signature) of each POST received.
    received_headers: Vec<(String, String)>,
}

pub struct ScriptPeer {
    pub id: Url,
    pub port: u16,
    state: Arc<Mutex<PeerState>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptPeer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn public_pem(key: &RsaPrivateKey) -> String {
    key.to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("encode public key")
}

impl ScriptPeer {
    /// Starts the peer as `http://<host>:<port>/users/alice`; `host` is
    /// `localhost` for an ordinary peer, or another name that resolves to
    /// loopback (such as `blocked.localhost`).
    pub async fn start(host: &str) -> ScriptPeer {
        use axum::extract::State;
        use axum::routing::{get, post};
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind peer");
        let port = listener.local_addr().expect("peer addr").port();
        let id = Url::parse(&format!("http://{host}:{port}/users/alice")).expect("peer id");
        let state = Arc::new(Mutex::new(PeerState {
            key: new_key(),
            inbox_path: "/users/alice/inbox".into(),
            actor_gets: 0,
            received: Vec::new(),
            received_headers: Vec::new(),
        }));
        let origin = format!("http://{host}:{port}");
        let actor_id = id.clone();
        let app = axum::Router::new()
            .route(
                "/users/alice",
                get(move |State(st): State<Arc<Mutex<PeerState>>>| {
                    let (origin, actor_id) = (origin.clone(), actor_id.clone());
                    async move {
                        let mut s = st.lock().expect("peer state");
                        s.actor_gets += 1;
                        let doc = json!({
                            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                            "id": actor_id, "type": "Person", "preferredUsername": "alice",
                            "inbox": format!("{origin}{}", s.inbox_path),
                            "endpoints": {"sharedInbox": format!("{origin}/inbox")},
                            "publicKey": {
                                "id": format!("{actor_id}#main-key"), "owner": actor_id,
                                "publicKeyPem": public_pem(&s.key),
                            },
                        });
                        (
                            [("content-type", "application/activity+json")],
                            doc.to_string(),
                        )
                    }
                }),
            )
            .route(
                "/{*rest}",
                post(
                    |State(st): State<Arc<Mutex<PeerState>>>,
                     headers: axum::http::HeaderMap,
                     body: String| async move {
                        let h = |n: &str| {
                            headers
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string()
                        };
                        let mut s = st.lock().expect("peer state");
                        s.received_headers.push((h("user-agent"), h("signature")));
                        if let Ok(v) = serde_json::from_str(&body) {
                            s.received.push(v);
                        }
                        axum::http::StatusCode::ACCEPTED
                    },
                ),
            )
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("peer server");
        });
        ScriptPeer {
            id,
            port,
            state,
            server,
        }
    }

    pub fn key_id(&self) -> String {
        format!("{}#main-key", self.id)
    }

    /// How many times the actor document was fetched.
    pub fn actor_gets(&self) -> usize {
        self.state.lock().expect("peer state").actor_gets
    }

    /// Activities delivered to this peer's inboxes.
    pub fn received(&self) -> Vec<Value> {
        self.state.lock().expect("peer state").received.clone()
    }

    /// (user-agent, signature) headers of each POST received.
    pub fn received_headers(&self) -> Vec<(String, String)> {
        self.state
            .lock()
            .expect("peer state")
            .received_headers
            .clone()
    }

    pub fn public_key_pem(&self) -> String {
        public_pem(&self.state.lock().expect("peer state").key)
    }

    /// The key the actor publishes now.
    pub fn current_key(&self) -> RsaPrivateKey {
        self.state.lock().expect("peer state").key.clone()
    }

    /// Replaces the key the actor publishes (and signs with); returns the old one.
    pub fn rotate_key(&self) -> RsaPrivateKey {
        let mut s = self.state.lock().expect("peer state");
        std::mem::replace(&mut s.key, new_key())
    }

    /// Moves the actor's personal inbox (published on the next fetch).
    pub fn set_inbox_path(&self, path: &str) {
        self.state.lock().expect("peer state").inbox_path = path.to_string();
    }

    pub fn inbox_url(&self) -> Url {
        let path = self.state.lock().expect("peer state").inbox_path.clone();
        let mut u = self.id.clone();
        u.set_path(&path);
        u
    }

    /// `{actor}/{kind}/{n}`: activity ids on the peer's own domain.
    pub fn activity_id(&self, kind: &str, n: u32) -> String {
        format!("{}/{kind}/{n}", self.id)
    }

    /// The actor as an embedded object (with a decoy inbox: it must not be trusted).
    pub fn embedded_actor(&self) -> Value {
        json!({
            "id": self.id, "type": "Person", "preferredUsername": "alice",
            "inbox": "http://localhost:9/decoy-inbox",
        })
    }

    /// Signs and POSTs `activity` to `url` with the peer's current key.
    pub async fn post(&self, url: &Url, activity: &Value, style: Style) -> reqwest::StatusCode {
        let key = self.state.lock().expect("peer state").key.clone();
        self.post_with(&key, url, activity, style).await
    }

    /// Signs with a given key (an old one, or a forger's).
    pub async fn post_with(
        &self,
        key: &RsaPrivateKey,
        url: &Url,
        activity: &Value,
        style: Style,
    ) -> reqwest::StatusCode {
        let body = activity.to_string().into_bytes();
        let headers = sign(key, &self.key_id(), url, &body, SystemTime::now(), style);
        let mut req = reqwest::Client::new().post(url.as_str()).body(body);
        for (k, v) in headers {
            if k != "host" {
                req = req.header(k, v);
            }
        }
        req.send().await.expect("post to bot").status()
    }
}

/// Draft-cavage signature headers over `body` in `style`'s header order.
pub fn sign(
    key: &RsaPrivateKey,
    key_id: &str,
    url: &Url,
    body: &[u8],
    date: SystemTime,
    style: Style,
) -> Vec<(String, String)> {
    let host = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().expect("port")
    );
    if style == Style::Rfc9421 {
        return sign_rfc9421(key, key_id, url, body, date, &[]);
    }
    let date = httpdate::fmt_http_date(date);
    let digest = format!("SHA-256={}", B64.encode(Sha256::digest(body)));
    let ctype = "application/activity+json".to_string();
    let target = format!("post {}", url.path());
    let (algorithm, order): (&str, &[&str]) = match style {
        Style::Mastodon => (
            "rsa-sha256",
            &["(request-target)", "host", "date", "digest", "content-type"],
        ),
        Style::GoToSocial => ("hs2019", &["(request-target)", "host", "date", "digest"]),
        Style::Misskey | Style::Rfc9421 => (
            "rsa-sha256",
            &["(request-target)", "date", "host", "digest"],
        ),
    };
    let value = |h: &str| match h {
        "(request-target)" => target.clone(),
        "host" => host.clone(),
        "date" => date.clone(),
        "digest" => digest.clone(),
        _ => ctype.clone(),
    };
    let signing = order
        .iter()
        .map(|h| format!("{h}: {}", value(h)))
        .collect::<Vec<_>>()
        .join("\n");
    let sig = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing.as_bytes()),
        )
        .expect("sign");
    let header = format!(
        "keyId=\"{key_id}\",algorithm=\"{algorithm}\",headers=\"{}\",signature=\"{}\"",
        order.join(" "),
        B64.encode(sig)
    );
    vec![
        ("host".into(), host),
        ("date".into(), date),
        ("digest".into(), digest),
        ("signature".into(), header),
        ("content-type".into(), ctype),
    ]
}

/// RFC 9421 headers (`Content-Digest`, `Signature-Input`, `Signature`) for a
/// POST of `body` to `url`, written from the RFC's §2.5 signature base; the
/// covered components are `@method @target-uri content-digest` unless
/// `components` names others.
pub fn sign_rfc9421(
    key: &RsaPrivateKey,
    key_id: &str,
    url: &Url,
    body: &[u8],
    created: SystemTime,
    components: &[&str],
) -> Vec<(String, String)> {
    let components: &[&str] = if components.is_empty() {
        &["@method", "@target-uri", "content-digest"]
    } else {
        components
    };
    let digest = format!("sha-256=:{}:", B64.encode(Sha256::digest(body)));
    let created = created
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after epoch")
        .as_secs();
    let list = components
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let params = format!("({list});created={created};keyid=\"{key_id}\";alg=\"rsa-v1_5-sha256\"");
    let mut base = String::new();
    for c in components {
        let v = match *c {
            "@method" => "POST".to_string(),
            "@target-uri" => url.to_string(),
            "@path" => url.path().to_string(),
            "@authority" => format!(
                "{}:{}",
                url.host_str().expect("host"),
                url.port().expect("port")
            ),
            "content-digest" => digest.clone(),
            "content-type" => "application/activity+json".to_string(),
            other => panic!("test signer: unsupported component {other}"),
        };
        base.push_str(&format!("\"{c}\": {v}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    let sig = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(base.as_bytes()),
        )
        .expect("sign");
    vec![
        ("content-digest".into(), digest),
        ("signature-input".into(), format!("sig1={params}")),
        ("signature".into(), format!("sig1=:{}:", B64.encode(sig))),
        ("content-type".into(), "application/activity+json".into()),
    ]
}
