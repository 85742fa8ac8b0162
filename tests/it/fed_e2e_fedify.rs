//! End to end against an independent implementation: a Fedify 2.3.6 actor
//! (tests/peer/fedify-peer.mjs) follows the bot; it must receive our Accept
//! and then our Create{Note}, both passing Fedify's own HTTP signature
//! verification. Fails (does not skip) when node or the npm modules are
//! missing: run `tests/peer/install.sh` first.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::fed_helpers::*;

const INSTALL_HINT: &str = "the Fedify peer is not installed: run `tests/peer/install.sh` \
    (needs node >= 20 and npm; it runs `npm ci` in tests/peer)";

pub(crate) fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("peer")
}

pub(crate) async fn start_peer() -> (tokio::process::Child, u16) {
    let dir = peer_dir();
    assert!(
        dir.join("node_modules/@fedify/fedify/package.json")
            .exists(),
        "{INSTALL_HINT}"
    );
    let mut child = Command::new("node")
        .arg("fedify-peer.mjs")
        .arg("0")
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); {INSTALL_HINT}"));
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(p) = line.strip_prefix("READY ") {
                return p.trim().parse::<u16>().unwrap();
            }
        }
        panic!("peer exited before READY; {INSTALL_HINT}");
    })
    .await
    .expect("peer did not start within 30 s");
    crate::helpers::ran_with("Fedify peer");
    // Keep draining stdout so the peer never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, port)
}

pub(crate) async fn received(peer: u16) -> Vec<Value> {
    reqwest::get(format!("http://127.0.0.1:{peer}/_test/received"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_peer_follows_and_receives_signed_create() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let (_peer, peer_port) = start_peer().await;
    let peer_actor = format!("http://localhost:{peer_port}/users/peer");

    // 1. The peer follows the bot by its actor URL.
    let resp = reqwest::Client::new()
        .post({
            let mut u =
                url::Url::parse(&format!("http://127.0.0.1:{peer_port}/_test/follow")).unwrap();
            u.query_pairs_mut()
                .append_pair("target", app.fed.actor_id().as_str());
            u
        })
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "follow failed: {}",
        resp.text().await.unwrap()
    );
    let store = app.store.clone();
    let pa = peer_actor.clone();
    eventually(30, "the bot to store the Fedify follower", || {
        let store = store.clone();
        let pa = pa.clone();
        async move { store.is_follower(&pa).await.unwrap().then_some(()) }
    })
    .await;

    // 2. The peer receives our Accept, verified by Fedify.
    let fed = app.fed.clone();
    let accept = eventually(30, "the peer to receive a verified Accept", || {
        let fed = fed.clone();
        async move {
            fed.deliver_once(Utc::now()).await.unwrap();
            received(peer_port)
                .await
                .into_iter()
                .find(|a| a["type"] == "Accept")
        }
    })
    .await;
    assert_eq!(
        accept["verified"], true,
        "Fedify rejected our Accept's signature: {accept}"
    );
    assert_eq!(accept["actor"], app.fed.actor_id().as_str());

    // 3. A story is published and delivered.
    let queued = app.fed.enqueue_create(&story("e2e-1")).await.unwrap();
    assert_eq!(queued, 1);
    let create = eventually(30, "the peer to receive the Create{Note}", || {
        let fed = fed.clone();
        async move {
            fed.deliver_once(Utc::now()).await.unwrap();
            received(peer_port)
                .await
                .into_iter()
                .find(|a| a["type"] == "Create")
        }
    })
    .await;

    // 4. Fedify verified its signature and parsed the Note.
    assert_eq!(
        create["verified"], true,
        "Fedify rejected our Create's signature: {create}"
    );
    assert_eq!(create["object"]["type"], "Note");
    assert_eq!(create["object"]["id"], format!("{}notes/e2e-1", app.base));
    assert!(create["object"]["content"].to_string().contains("INTERPOL"));
    let unverified: Vec<_> = received(peer_port)
        .await
        .into_iter()
        .filter(|a| a["verified"] != true)
        .collect();
    assert!(
        unverified.is_empty(),
        "unverified activities at the peer: {unverified:?}"
    );

    // 5. The peer rotates its key, then Undoes its Follow signed with the
    //    new key: the bot's cached key fails, it re-fetches the actor once,
    //    verifies, and removes the follower.
    let client = reqwest::Client::new();
    let rotated = client
        .post(format!("http://127.0.0.1:{peer_port}/_test/rotate"))
        .send()
        .await
        .unwrap();
    assert!(rotated.status().is_success());
    let undo = client
        .post({
            let mut u =
                url::Url::parse(&format!("http://127.0.0.1:{peer_port}/_test/undo")).unwrap();
            u.query_pairs_mut()
                .append_pair("target", app.fed.actor_id().as_str());
            u
        })
        .send()
        .await
        .unwrap();
    assert!(
        undo.status().is_success(),
        "undo failed: {}",
        undo.text().await.unwrap()
    );
    eventually(
        30,
        "the bot to drop the Fedify follower after its key rotation",
        || {
            let store = store.clone();
            let pa = peer_actor.clone();
            async move { (!store.is_follower(&pa).await.unwrap()).then_some(()) }
        },
    )
    .await;
    assert_eq!(store.follower_count().await.unwrap(), 0);
}
