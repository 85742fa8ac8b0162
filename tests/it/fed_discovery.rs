//! Discovery details (issue 10 §8): WebFinger without nulls, host-meta,
//! NodeInfo 2.0 and 2.1, the full language tag in contentMap, and what our
//! deliveries carry (User-Agent naming the bot, `rsa-sha256` label).

use serde_json::Value;

use crate::fed_helpers::*;
use crate::fed_script_peer::{ScriptPeer, Style};

fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(m) => m.values().any(has_null),
        _ => false,
    }
}

#[tokio::test]
async fn webfinger_host_meta_and_nodeinfo() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let c = reqwest::Client::new();
    let domain = format!("localhost:{}", app.port);
    let acct = format!("acct:interpolwatch@{domain}");

    let wf_url = app
        .base
        .join(&format!("/.well-known/webfinger?resource={acct}"))
        .unwrap();
    let wf: Value = c.get(wf_url).send().await.unwrap().json().await.unwrap();
    assert!(!has_null(&wf), "no null members: {wf}");
    assert_eq!(wf["subject"], acct);
    let own = wf["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .expect("rel=self link");
    assert_eq!(own["href"], app.fed.actor_id().as_str());
    assert_eq!(own["type"], "application/activity+json");

    let hm = c
        .get(app.base.join("/.well-known/host-meta").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(hm.status(), 200);
    assert!(
        hm.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xrd+xml")
    );
    let xrd = hm.text().await.unwrap();
    assert!(xrd.contains(r#"<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">"#));
    // The lrdd template, filled in, is a working WebFinger query.
    let template = xrd
        .split(r#"rel="lrdd""#)
        .nth(1)
        .and_then(|rest| rest.split(r#"template=""#).nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("lrdd template")
        .replace("&amp;", "&");
    assert!(template.ends_with("/.well-known/webfinger?resource={uri}"));
    let filled = template.replace("{uri}", &acct);
    let wf2: Value = c.get(filled).send().await.unwrap().json().await.unwrap();
    assert_eq!(wf2["subject"], acct);

    let links: Value = c
        .get(app.base.join("/.well-known/nodeinfo").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut versions = Vec::new();
    for l in links["links"].as_array().unwrap() {
        let href = l["href"].as_str().unwrap();
        let doc: Value = c.get(href).send().await.unwrap().json().await.unwrap();
        let v = doc["version"].as_str().unwrap().to_string();
        assert_eq!(
            l["rel"],
            format!("http://nodeinfo.diaspora.software/ns/schema/{v}")
        );
        assert_eq!(doc["software"]["name"], "feedwatch");
        versions.push(v);
    }
    versions.sort();
    assert_eq!(versions, ["2.0", "2.1"]);
    let missing = c
        .get(app.base.join("/nodeinfo/1.0").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn content_map_keeps_region_and_deliveries_name_the_bot() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let peer = ScriptPeer::start("localhost").await;
    let inbox = app.base.join("/users/interpolwatch/inbox").unwrap();
    let follow = serde_json::json!({
        "id": peer.activity_id("follows", 1), "type": "Follow",
        "actor": peer.id, "object": app.fed.actor_id(),
    });
    assert_eq!(peer.post(&inbox, &follow, Style::Mastodon).await, 202);

    let mut post = story("tw1");
    post.language = "zh-TW".into();
    app.fed.enqueue_create(&post).await.unwrap();
    app.fed.deliver_once(chrono::Utc::now()).await.unwrap();

    let got = peer.received();
    let create = got
        .iter()
        .find(|a| a["type"] == "Create")
        .expect("Create delivered");
    let map = create["object"]["contentMap"].as_object().unwrap();
    assert_eq!(map.keys().collect::<Vec<_>>(), ["zh-TW"]);

    let headers = peer.received_headers();
    assert_eq!(headers.len(), got.len());
    for (ua, sig) in headers {
        assert!(ua.starts_with("feedwatch/"), "{ua}");
        assert!(
            ua.contains(app.base.as_str()),
            "UA names the bot's URL: {ua}"
        );
        assert!(ua.contains(app.fed.actor_id().as_str()), "{ua}");
        assert!(sig.contains(r#"algorithm="rsa-sha256""#), "{sig}");
    }
}
