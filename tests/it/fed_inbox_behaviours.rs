//! The inbox against odd-but-legal peer behaviour (issue 10): replays,
//! embedded actors, double follows, key rotation, actor updates and deletes.
//! Each test drives the scriptable peer (`fed_script_peer`) against the bot
//! over real HTTP and asserts the status and the stored state.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fed_helpers::*;
use crate::fed_script_peer::{ScriptPeer, Style, sign_rfc9421};

fn follow(peer: &ScriptPeer, n: u32, bot: &url::Url) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.activity_id("follows", n), "type": "Follow",
        "actor": peer.id, "object": bot,
    })
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_follow_replayed_twenty_times_yields_one_accept() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let peer = ScriptPeer::start("localhost").await;
    let inbox = app.base.join("/users/interpolwatch/inbox").unwrap();
    let f = follow(&peer, 1, app.fed.actor_id());
    for _ in 0..20 {
        assert_eq!(
            peer.post(&inbox, &f, Style::Mastodon).await,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(app.store.follower_count().await.unwrap(), 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM fed_activities WHERE kind = 'Accept'"
        )
        .await,
        1
    );
    app.fed.deliver_once(chrono::Utc::now()).await.unwrap();
    let got = peer.received();
    assert_eq!(got.len(), 1, "exactly one Accept reaches the peer: {got:?}");
    assert_eq!(got[0]["type"], "Accept");
    assert_eq!(got[0]["object"]["id"], peer.activity_id("follows", 1));
    // The actor was fetched once for the first request, then read from cache.
    assert_eq!(peer.actor_gets(), 1);
}

#[tokio::test]
async fn embedded_actor_is_fetched_by_id_and_never_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let peer = ScriptPeer::start("localhost").await;
    let shared = app.base.join("/inbox").unwrap();
    let mut f = follow(&peer, 1, app.fed.actor_id());
    f["actor"] = peer.embedded_actor();
    assert_eq!(
        peer.post(&shared, &f, Style::Mastodon).await,
        StatusCode::ACCEPTED
    );
    let followers = app.store.followers(10).await.unwrap();
    assert_eq!(followers.len(), 1);
    assert_eq!(followers[0].actor_id, peer.id.as_str());
    // The inbox comes from the fetched document, not the embedded decoy.
    assert_eq!(followers[0].inbox, peer.inbox_url().as_str());
    assert_eq!(peer.actor_gets(), 1);
}

#[tokio::test]
async fn follow_twice_then_undo_the_first_removes_the_follower() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let peer = ScriptPeer::start("localhost").await;
    let inbox = app.base.join("/users/interpolwatch/inbox").unwrap();
    for n in [1, 2] {
        assert_eq!(
            peer.post(
                &inbox,
                &follow(&peer, n, app.fed.actor_id()),
                Style::GoToSocial
            )
            .await,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(app.store.follower_count().await.unwrap(), 1, "stored once");
    app.fed.deliver_once(chrono::Utc::now()).await.unwrap();
    let mut accepted: Vec<String> = peer
        .received()
        .iter()
        .filter(|a| a["type"] == "Accept")
        .map(|a| a["object"]["id"].as_str().unwrap().to_string())
        .collect();
    accepted.sort();
    assert_eq!(
        accepted,
        vec![
            peer.activity_id("follows", 1),
            peer.activity_id("follows", 2)
        ],
        "each Follow gets an Accept for its own id"
    );

    // An Undo naming a Follow id the peer never sent changes nothing.
    let bogus = json!({
        "id": peer.activity_id("undo", 9), "type": "Undo", "actor": peer.id,
        "object": peer.activity_id("follows", 99),
    });
    assert_eq!(
        peer.post(&inbox, &bogus, Style::GoToSocial).await,
        StatusCode::ACCEPTED
    );
    assert!(app.store.is_follower(peer.id.as_str()).await.unwrap());

    // Undo of the FIRST Follow, by id only.
    let undo = json!({
        "id": peer.activity_id("undo", 1), "type": "Undo", "actor": peer.id,
        "object": peer.activity_id("follows", 1),
    });
    assert_eq!(
        peer.post(&inbox, &undo, Style::GoToSocial).await,
        StatusCode::ACCEPTED
    );
    assert!(!app.store.is_follower(peer.id.as_str()).await.unwrap());
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM fed_follows").await,
        0,
        "the unfollowed actor's Follow ids are forgotten"
    );

    // Follow again, then Undo with the Follow embedded (actor as an object).
    assert_eq!(
        peer.post(
            &inbox,
            &follow(&peer, 3, app.fed.actor_id()),
            Style::Misskey
        )
        .await,
        StatusCode::ACCEPTED
    );
    assert!(app.store.is_follower(peer.id.as_str()).await.unwrap());
    let mut embedded = follow(&peer, 3, app.fed.actor_id());
    embedded["actor"] = peer.embedded_actor();
    let undo = json!({
        "id": peer.activity_id("undo", 2), "type": "Undo", "actor": peer.id,
        "object": embedded,
    });
    assert_eq!(
        peer.post(&inbox, &undo, Style::Misskey).await,
        StatusCode::ACCEPTED
    );
    assert!(!app.store.is_follower(peer.id.as_str()).await.unwrap());
}

/// The peer rotates its key; its next activity, signed with the new key, is
/// verified after one re-fetch. A forger cannot make us fetch in a loop.
#[tokio::test]
async fn rotated_key_is_refetched_once_and_forgers_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let peer = ScriptPeer::start("localhost").await;
    let inbox = app.base.join("/users/interpolwatch/inbox").unwrap();
    assert_eq!(
        peer.post(
            &inbox,
            &follow(&peer, 1, app.fed.actor_id()),
            Style::Misskey
        )
        .await,
        StatusCode::ACCEPTED
    );
    assert_eq!(peer.actor_gets(), 1);

    peer.rotate_key();
    let undo = json!({
        "id": peer.activity_id("undo", 1), "type": "Undo", "actor": peer.id,
        "object": peer.activity_id("follows", 1),
    });
    assert_eq!(
        peer.post(&inbox, &undo, Style::Misskey).await,
        StatusCode::ACCEPTED
    );
    assert!(!app.store.is_follower(peer.id.as_str()).await.unwrap());
    assert_eq!(peer.actor_gets(), 2, "one re-fetch for the rotated key");
    let cached = app
        .store
        .get_remote_actor(peer.id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cached.public_key_pem, peer.public_key_pem());

    // A forger signing as the peer: 401, and repeated forgeries within the
    // rate-limit interval cause no further fetches.
    let forged_key = new_key();
    for n in 0..5 {
        let f = follow(&peer, 10 + n, app.fed.actor_id());
        assert_eq!(
            peer.post_with(&forged_key, &inbox, &f, Style::Mastodon)
                .await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        peer.actor_gets(),
        2,
        "the key was re-fetched for the rotation just now; forgeries fetch nothing"
    );
    assert!(!app.store.is_follower(peer.id.as_str()).await.unwrap());
}

#[tokio::test]
async fn update_person_replaces_cached_key_and_inbox_and_delete_removes() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let peer = ScriptPeer::start("localhost").await;
    let shared = app.base.join("/inbox").unwrap();
    assert_eq!(
        peer.post(
            &shared,
            &follow(&peer, 1, app.fed.actor_id()),
            Style::Mastodon
        )
        .await,
        StatusCode::ACCEPTED
    );

    // Rotate and move the inbox; announce it with an Update{Person} signed
    // with the OLD key (still the cached one): the bot re-fetches the actor.
    let old = peer.rotate_key();
    peer.set_inbox_path("/users/alice/inbox2");
    let update = json!({
        "id": peer.activity_id("updates", 1), "type": "Update", "actor": peer.id,
        "object": {
            "id": peer.id, "type": "Person",
            "inbox": "http://localhost:9/decoy",
            "publicKey": {"id": peer.key_id(), "owner": peer.id, "publicKeyPem": "not a key"},
        },
    });
    assert_eq!(
        peer.post_with(&old, &shared, &update, Style::Mastodon)
            .await,
        StatusCode::ACCEPTED
    );
    let cached = app
        .store
        .get_remote_actor(peer.id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cached.public_key_pem, peer.public_key_pem());
    assert_eq!(cached.inbox, peer.inbox_url().as_str());
    let followers = app.store.followers(10).await.unwrap();
    assert_eq!(followers[0].inbox, peer.inbox_url().as_str());

    // Signed with the new key, the next activity verifies from the cache.
    let gets = peer.actor_gets();
    let like = json!({"id": peer.activity_id("likes", 1), "type": "Like", "actor": peer.id, "object": "http://localhost:9/x"});
    assert_eq!(
        peer.post(&shared, &like, Style::GoToSocial).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(peer.actor_gets(), gets);

    // Delete of the actor removes it as a follower.
    let del = json!({"id": peer.activity_id("deletes", 1), "type": "Delete", "actor": peer.id, "object": peer.id});
    assert_eq!(
        peer.post(&shared, &del, Style::Mastodon).await,
        StatusCode::ACCEPTED
    );
    assert!(!app.store.is_follower(peer.id.as_str()).await.unwrap());
    assert!(
        app.store
            .get_remote_actor(peer.id.as_str())
            .await
            .unwrap()
            .is_none()
    );
}

async fn post_raw(url: &url::Url, headers: Vec<(String, String)>, body: Vec<u8>) -> StatusCode {
    let mut req = reqwest::Client::new().post(url.as_str()).body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.send().await.unwrap().status()
}

/// RFC 9421 signatures get the same checks as draft-cavage: digest, date
/// window, key; and a rotated key is re-fetched for them too.
#[tokio::test]
async fn rfc9421_signatures_are_verified_like_cavage() {
    use std::time::{Duration, SystemTime};
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let peer = ScriptPeer::start("localhost").await;
    let inbox = app.base.join("/users/interpolwatch/inbox").unwrap();
    // Refused shapes first (no follower may result).
    let f = follow(&peer, 1, app.fed.actor_id());
    let body = f.to_string().into_bytes();
    let k = peer.current_key();
    let kid = peer.key_id();
    // Body altered after signing: Content-Digest mismatch.
    let h = sign_rfc9421(&k, &kid, &inbox, &body, SystemTime::now(), &[]);
    let mut tampered = body.clone();
    tampered.push(b' ');
    assert_eq!(
        post_raw(&inbox, h, tampered).await,
        StatusCode::UNAUTHORIZED
    );
    // created outside the window.
    let old = SystemTime::now() - Duration::from_secs(3 * 3600);
    let h = sign_rfc9421(&k, &kid, &inbox, &body, old, &[]);
    assert_eq!(
        post_raw(&inbox, h, body.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    // content-digest not covered.
    let h = sign_rfc9421(
        &k,
        &kid,
        &inbox,
        &body,
        SystemTime::now(),
        &["@method", "@target-uri"],
    );
    assert_eq!(
        post_raw(&inbox, h, body.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.store.follower_count().await.unwrap(), 0);

    // Control: correctly signed -> 202 and stored; the Accept is queued.
    assert_eq!(
        peer.post(&inbox, &f, Style::Rfc9421).await,
        StatusCode::ACCEPTED
    );
    assert!(app.store.is_follower(peer.id.as_str()).await.unwrap());
    // @path + @authority instead of @target-uri is accepted too.
    let like = json!({"id": peer.activity_id("likes", 1), "type": "Like", "actor": peer.id, "object": "http://localhost:9/x"});
    let lb = like.to_string().into_bytes();
    let h = sign_rfc9421(
        &k,
        &kid,
        &inbox,
        &lb,
        SystemTime::now(),
        &["@method", "@authority", "@path", "content-digest"],
    );
    assert_eq!(post_raw(&inbox, h, lb).await, StatusCode::ACCEPTED);

    // Rotation: the next RFC 9421 request with a new key is verified after one re-fetch.
    let gets = peer.actor_gets();
    peer.rotate_key();
    let undo =
        json!({"id": peer.activity_id("undo", 1), "type": "Undo", "actor": peer.id, "object": f});
    assert_eq!(
        peer.post(&inbox, &undo, Style::Rfc9421).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(peer.actor_gets(), gets + 1);
    assert!(!app.store.is_follower(peer.id.as_str()).await.unwrap());

    // Forged shapes, last (a failed signature spends the actor's re-fetch
    // budget for a minute, which would hold up the rotation above).
    let k = peer.current_key();
    // A key that is not the actor's.
    let h = sign_rfc9421(&new_key(), &kid, &inbox, &body, SystemTime::now(), &[]);
    assert_eq!(
        post_raw(&inbox, h, body.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    // Signed for another path.
    let other = app.base.join("/inbox").unwrap();
    let h = sign_rfc9421(&k, &kid, &other, &body, SystemTime::now(), &[]);
    assert_eq!(
        post_raw(&inbox, h, body.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(!app.store.is_follower(peer.id.as_str()).await.unwrap());
}

/// `[federation] blocked_domains`: applying the list removes the domain's
/// followers and drops its queued deliveries; its inbox POSTs are refused
/// with 403 before any key fetch; subdomains are blocked too.
#[tokio::test]
async fn blocked_domains_are_refused_removed_and_never_delivered_to() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let peer = ScriptPeer::start("localhost").await;
    let inbox = app.base.join("/users/interpolwatch/inbox").unwrap();
    assert_eq!(
        peer.post(
            &inbox,
            &follow(&peer, 1, app.fed.actor_id()),
            Style::Mastodon
        )
        .await,
        StatusCode::ACCEPTED
    );
    // The Accept and a Create are queued for the peer, not yet delivered.
    app.fed.enqueue_create(&story("b1")).await.unwrap();
    assert!(
        count(
            &app,
            "SELECT COUNT(*) FROM fed_deliveries WHERE status = 'pending'"
        )
        .await
            >= 2
    );

    // The peer's domain ("localhost") is blocked, here as the config would.
    let (removed, dropped) = app
        .fed
        .set_blocked_domains(vec!["localhost".into()])
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(dropped >= 2, "queued deliveries dropped: {dropped}");
    assert_eq!(app.store.follower_count().await.unwrap(), 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM fed_deliveries WHERE status = 'pending'"
        )
        .await,
        0
    );
    app.fed.deliver_once(chrono::Utc::now()).await.unwrap();
    assert!(
        peer.received().is_empty(),
        "nothing delivered to a blocked domain"
    );

    // Inbox POSTs from it: 403, without fetching its actor.
    let gets = peer.actor_gets();
    assert_eq!(
        peer.post(
            &inbox,
            &follow(&peer, 2, app.fed.actor_id()),
            Style::Mastodon
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(peer.actor_gets(), gets);
    assert_eq!(app.store.follower_count().await.unwrap(), 0);

    // Subdomains are blocked; look-alikes are not.
    app.fed
        .set_blocked_domains(vec!["spam.example".into()])
        .await
        .unwrap();
    assert!(app.fed.is_blocked_host("spam.example"));
    assert!(app.fed.is_blocked_host("social.SPAM.example."));
    assert!(!app.fed.is_blocked_host("notspam.example"));
    assert!(!app.fed.is_blocked_host("spam.example.org"));
    // Unblocked again, the peer may follow.
    assert_eq!(
        peer.post(
            &inbox,
            &follow(&peer, 3, app.fed.actor_id()),
            Style::Mastodon
        )
        .await,
        StatusCode::ACCEPTED
    );
}
