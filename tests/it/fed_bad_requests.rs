//! Inbox refusals: unsigned, forged and malformed requests; plus a correctly
//! signed Follow as a control (so the 401s are not an artefact of the signer),
//! Undo, Delete of an unknown actor, the size cap and the documents.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use serde_json::json;

use crate::fed_helpers::*;

async fn post(url: &url::Url, headers: Vec<(String, String)>, body: Vec<u8>) -> StatusCode {
    let mut req = reqwest::Client::new().post(url.as_str()).body(body);
    for (k, v) in headers {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    req.send().await.unwrap().status()
}

#[tokio::test]
async fn inbox_rejects_unsigned_forged_and_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let fake = fake_actor().await;
    let inbox = app.base.join("/users/interpolwatch/inbox").unwrap();
    let key_id = format!("{}#main-key", fake.id);
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/1", fake.id), "type": "Follow",
        "actor": fake.id, "object": app.fed.actor_id(),
    })
    .to_string()
    .into_bytes();

    // Unsigned.
    let unsigned = vec![(
        "content-type".to_string(),
        "application/activity+json".to_string(),
    )];
    assert_eq!(
        post(&inbox, unsigned, follow.clone()).await,
        StatusCode::UNAUTHORIZED
    );

    // Forged: signed with a key that is not the one the actor publishes.
    let other = new_key();
    let h = sign_post(&other, &key_id, &inbox, &follow, SystemTime::now());
    assert_eq!(
        post(&inbox, h, follow.clone()).await,
        StatusCode::UNAUTHORIZED
    );

    // Body altered after signing: Digest mismatch.
    let h = sign_post(&fake.key, &key_id, &inbox, &follow, SystemTime::now());
    let mut tampered = follow.clone();
    tampered.push(b' ');
    assert_eq!(post(&inbox, h, tampered).await, StatusCode::UNAUTHORIZED);

    // Date outside the window.
    let old = SystemTime::now() - Duration::from_secs(3 * 3600);
    let h = sign_post(&fake.key, &key_id, &inbox, &follow, old);
    assert_eq!(
        post(&inbox, h, follow.clone()).await,
        StatusCode::UNAUTHORIZED
    );

    // Garbage body (signed, so only the JSON is wrong) -> 400.
    let garbage = b"{not json".to_vec();
    let h = sign_post(&fake.key, &key_id, &inbox, &garbage, SystemTime::now());
    assert_eq!(post(&inbox, h, garbage).await, StatusCode::BAD_REQUEST);

    // Over the size cap -> 413.
    let big = vec![b' '; 300 * 1024];
    assert_eq!(
        post(&inbox, vec![], big).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    assert_eq!(
        app.store.follower_count().await.unwrap(),
        0,
        "no refused request may add a follower"
    );

    // Control: the same Follow correctly signed is accepted, and an Accept
    // whose object is the whole Follow is queued and delivered.
    let h = sign_post(&fake.key, &key_id, &inbox, &follow, SystemTime::now());
    assert_eq!(post(&inbox, h, follow.clone()).await, StatusCode::ACCEPTED);
    assert!(app.store.is_follower(fake.id.as_str()).await.unwrap());
    app.fed.deliver_once(chrono::Utc::now()).await.unwrap();
    let got = fake.received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["type"], "Accept");
    assert_eq!(got[0]["object"]["type"], "Follow");
    assert_eq!(got[0]["object"]["id"], format!("{}/follows/1", fake.id));

    // Unknown activity type: 202 and ignored.
    let like = json!({"id": format!("{}/likes/1", fake.id), "type": "Like", "actor": fake.id, "object": "https://x.example/1"}).to_string().into_bytes();
    let shared = app.base.join("/inbox").unwrap();
    let h = sign_post(&fake.key, &key_id, &shared, &like, SystemTime::now());
    assert_eq!(post(&shared, h, like).await, StatusCode::ACCEPTED);

    // Undo{Follow} removes the follower (shared inbox).
    let undo = json!({
        "id": format!("{}/undo/1", fake.id), "type": "Undo", "actor": fake.id,
        "object": {"id": format!("{}/follows/1", fake.id), "type": "Follow", "actor": fake.id, "object": app.fed.actor_id()},
    }).to_string().into_bytes();
    let h = sign_post(&fake.key, &key_id, &shared, &undo, SystemTime::now());
    assert_eq!(post(&shared, h, undo).await, StatusCode::ACCEPTED);
    assert!(!app.store.is_follower(fake.id.as_str()).await.unwrap());

    // Delete of an actor we never saw: 2xx without fetching it (its key URL
    // points at a port nobody listens on, so a fetch would fail with 401).
    let ghost = "http://localhost:9/ghost";
    let del =
        json!({"id": format!("{ghost}#delete"), "type": "Delete", "actor": ghost, "object": ghost})
            .to_string()
            .into_bytes();
    let h = sign_post(
        &other,
        &format!("{ghost}#main-key"),
        &shared,
        &del,
        SystemTime::now(),
    );
    assert_eq!(post(&shared, h, del).await, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn documents_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let c = reqwest::Client::new();
    let domain = format!("localhost:{}", app.port);

    let wf = c
        .get(
            app.base
                .join(&format!(
                    "/.well-known/webfinger?resource=acct:interpolwatch@{domain}"
                ))
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wf.headers()["content-type"], "application/jrd+json");
    let wf: serde_json::Value = wf.json().await.unwrap();
    assert_eq!(wf["links"][0]["href"], app.fed.actor_id().as_str());

    let actor: serde_json::Value = c
        .get(app.fed.actor_id().as_str())
        .header(
            "accept",
            r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(actor["type"], "Service");
    assert_eq!(actor["manuallyApprovesFollowers"], false);
    assert!(
        actor["@context"]
            .to_string()
            .contains("https://w3id.org/security/v1")
    );
    assert!(
        actor["publicKey"]["publicKeyPem"]
            .as_str()
            .unwrap()
            .contains("PUBLIC KEY")
    );
    assert_eq!(actor["attachment"][0]["type"], "PropertyValue");
    assert!(actor["endpoints"]["sharedInbox"].is_string());

    // Key file is 0600 and reused after a restart.
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(dir.path().join("actor-key.pem")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    // Note: JSON for ActivityPub clients, redirect for browsers, 410 Tombstone after delete.
    app.fed.enqueue_create(&story("s1")).await.unwrap();
    let note_url = app.base.join("/notes/s1").unwrap();
    let note: serde_json::Value = c
        .get(note_url.as_str())
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(note["type"], "Note");
    assert_eq!(note["contentMap"]["en"], note["content"]);
    assert_eq!(note["tag"][0]["type"], "Hashtag");
    assert_eq!(note["summary"], "politics");
    let nc = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = nc
        .get(note_url.as_str())
        .header("accept", "text/html,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert!(html.status().is_redirection());

    let outbox: serde_json::Value = c
        .get(format!("{}/outbox?page=1", app.fed.actor_id()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(outbox["type"], "OrderedCollectionPage");
    assert_eq!(outbox["orderedItems"][0]["type"], "Create");

    let featured: serde_json::Value = c
        .get(format!("{}/collections/featured", app.fed.actor_id()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        featured["orderedItems"][0]["content"]
            .as_str()
            .unwrap()
            .contains("/feed.xml")
    );

    app.fed.enqueue_delete("s1").await.unwrap();
    let gone = c
        .get(note_url.as_str())
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    let t: serde_json::Value = gone.json().await.unwrap();
    assert_eq!(t["type"], "Tombstone");

    let ni: serde_json::Value = c
        .get(app.base.join("/.well-known/nodeinfo").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let href = ni["links"][0]["href"].as_str().unwrap().to_string();
    let ni: serde_json::Value = c.get(href).send().await.unwrap().json().await.unwrap();
    assert_eq!(ni["version"], "2.1");

    let pem_before = actor["publicKey"]["publicKeyPem"].clone();
    let port = app.port;
    drop(app);
    let app2 = respawn_app(dir.path(), port).await;
    assert_eq!(
        app2.fed.actor_json()["publicKey"]["publicKeyPem"],
        pem_before
    );
}
