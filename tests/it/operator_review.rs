//! The dashboard's Review list (issue 11 §6): items that scored just below
//! the threshold and items the age gate held, with Publish, Dismiss and
//! Retract. A real feed served on 127.0.0.1, a real SQLite file, the real
//! HTTP routes, and the real binary for `labels export`.

use std::process::Command;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use chrono::{DateTime, Utc};
use feedwatch::app::App;
use feedwatch::store::fed::Follower;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, feed, serve};

const TOKEN: &str = "review-admin-token-0123456789";

/// Rule weights make the scores exact: `interpol` alone is 0.30, just below
/// the threshold 0.35 (within the margin 0.10); with `scam` it is 0.80.
const TOPIC: &str = r#"
[topic]
threshold = 0.35
review_margin = 0.1
similarity_weight = 0.0

[[topic.rule]]
name = "interpol"
query = "interpol"
weight = 0.3

[[topic.rule]]
name = "scam"
query = "scam"
weight = 0.5
"#;

fn item(guid: &str, title: &str, date: DateTime<Utc>) -> String {
    format!(
        "<item><title>{title}</title><link>https://news.example/{guid}</link><guid>https://news.example/{guid}</guid>\
         <description>{title}.</description><pubDate>{}</pubDate></item>",
        date.to_rfc2822()
    )
}

/// Auto: on topic and fresh (published by the cycle, using up the cap).
/// Near, Near2: 0.30, fresh. Held: 0.80 but ten days old. Off: 0.
fn review_feed(now: DateTime<Utc>) -> String {
    let h = chrono::Duration::hours;
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://news.example/</link><description>d</description>{}{}{}{}{}</channel></rss>"#,
        item(
            "auto",
            "Scam centre victims freed in Cambodia with INTERPOL help",
            now - h(1)
        ),
        item(
            "near",
            "INTERPOL annual report lists new cybercrime trends",
            now - h(2)
        ),
        item(
            "near2",
            "General assembly of INTERPOL opens in Lyon",
            now - h(3)
        ),
        item(
            "held",
            "Ringleader of phone scam arrested on an INTERPOL red notice",
            now - h(240)
        ),
        item("off", "Weekend weather: rain in the north", now - h(4)),
    )
}

fn follower() -> Follower {
    Follower {
        actor_id: "https://peer.example/users/alice".into(),
        inbox: "https://peer.example/users/alice/inbox".into(),
        shared_inbox: Some("https://peer.example/inbox".into()),
        follow_id: Some("https://peer.example/follows/1".into()),
    }
}

/// (kind, activity JSON) of every queued delivery, read with plain SQL.
async fn deliveries(env: &TestEnv) -> Vec<(String, String)> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
        .await
        .expect("open db");
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.kind, a.json FROM fed_deliveries d JOIN fed_activities a ON a.id = d.activity_id
         ORDER BY d.id",
    )
    .fetch_all(&pool)
    .await
    .expect("query");
    pool.close().await;
    rows
}

/// The Review list's rows: (item id, why).
fn review_rows(page: &str) -> Vec<(String, String)> {
    page.split("data-testid=\"review-item\" data-item-id=\"")
        .skip(1)
        .map(|row| {
            let id = row[..row.find('"').unwrap()].to_string();
            let why_at = row.find("data-testid=\"review-why\">").unwrap()
                + "data-testid=\"review-why\">".len();
            let why = row[why_at..why_at + row[why_at..].find('<').unwrap()].to_string();
            (id, why)
        })
        .collect()
}

#[tokio::test]
async fn review_list_publish_dismiss_and_retract() {
    let now = Utc::now();
    let body = review_feed(now);
    let feeds_addr = serve(Router::new().route(
        "/review.xml",
        get(move || {
            let body = body.clone();
            async move { body }
        }),
    ))
    .await;
    let env = TestEnv::new(&[feed(
        format!("http://127.0.0.1:{}/review.xml", feeds_addr.port()),
        "Review Desk",
    )]);
    let text = std::fs::read_to_string(&env.config_path)
        .unwrap()
        .replace("max_age = \"off\"", "max_age = \"2d\"")
        .replace("max_per_hour = 0", "max_per_hour = 1");
    std::fs::write(
        &env.config_path,
        format!("[admin]\ntoken = \"{TOKEN}\"\n{text}{TOPIC}"),
    )
    .unwrap();

    let app = App::build(env.config()).await.unwrap();
    app.store
        .fed()
        .upsert_follower(&follower(), now)
        .await
        .unwrap();
    let report = app
        .ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.failed, 0);
    let published = app.store.published_entries(10).await.unwrap();
    assert_eq!(published.len(), 1, "the cycle published the fresh story");
    assert_eq!(published[0].entry.link, "https://news.example/auto");
    assert_eq!(deliveries(&env).await.len(), 1, "its Create");

    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = crate::helpers::admin_sign_in(&client, &base, TOKEN).await;
    let dashboard = || async {
        client
            .get(format!("{base}/admin"))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let post = |path: &str, form: Vec<(&str, String)>, with_cookie: bool| {
        let mut r = client.post(format!("{base}{path}")).form(&form);
        if with_cookie {
            r = r.header(header::COOKIE, &cookie);
        }
        r.send()
    };
    let site = base.as_str();
    let public = move |path: &'static str| async move {
        let r = reqwest::get(format!("{site}{path}")).await.unwrap();
        (r.status(), r.text().await.unwrap())
    };

    let page = dashboard().await;
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = page[at..at + 32].to_string();
    let ids: std::collections::HashMap<String, String> = app
        .store
        .recent_items(10)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.item.link.clone().unwrap(), i.item.id))
        .collect();
    let id = |guid: &str| ids[&format!("https://news.example/{guid}")].clone();

    // Newest first: the two near-threshold items, then the held one; not
    // the published one, not the off-topic one.
    let rows = review_rows(&page);
    assert_eq!(
        rows,
        vec![
            (id("near"), "near threshold".to_string()),
            (id("near2"), "near threshold".to_string()),
            (id("held"), "held: older than max_age (2d)".to_string()),
        ],
        "{page}"
    );
    assert!(
        page.contains("data-testid=\"review-score\">0.30<"),
        "{page}"
    );

    // Refused: no CSRF value (403), a wrong one (403), no session (401).
    for (form, with_cookie, status) in [
        (vec![("item", id("near"))], true, StatusCode::FORBIDDEN),
        (
            vec![("item", id("near")), ("csrf", "0".repeat(32))],
            true,
            StatusCode::FORBIDDEN,
        ),
        (
            vec![("item", id("near")), ("csrf", csrf.clone())],
            false,
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        for path in ["/admin/review/publish", "/admin/review/dismiss"] {
            let r = post(path, form.clone(), with_cookie).await.unwrap();
            assert_eq!(r.status(), status, "{path} {form:?}");
        }
    }
    assert_eq!(app.store.published_entries(10).await.unwrap().len(), 1);
    assert!(app.store.labelled_items().await.unwrap().is_empty());

    // Publish the near-threshold item: at once (the cap of 1 is used up),
    // on `/` and in /feed.json, a Create for the follower, labelled 2.
    let form = |item: String| vec![("item", item), ("csrf", csrf.clone())];
    for _ in 0..2 {
        let r = post("/admin/review/publish", form(id("near")), true)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let (_, index) = public("/").await;
    assert!(
        index.contains("INTERPOL annual report lists new cybercrime trends"),
        "{index}"
    );
    let (_, json) = public("/feed.json").await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let urls: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["external_url"].as_str().unwrap_or(""))
        .collect();
    assert!(urls.contains(&"https://news.example/near"), "{json:#}");
    let sent = deliveries(&env).await;
    let near = id("near");
    let creates: Vec<_> = sent
        .iter()
        .filter(|(k, j)| k == "Create" && j.contains(&near))
        .collect();
    assert_eq!(
        creates.len(),
        1,
        "one Create for the follower, even after a second Publish: {sent:?}"
    );
    assert_eq!(app.store.published_entries(10).await.unwrap().len(), 2);

    // The held item: the operator's Publish bypasses the age gate too.
    let r = post("/admin/review/publish", form(id("held")), true)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store.published_entries(10).await.unwrap().len(), 3);

    // Dismiss: label 0, and off the list.
    let r = post("/admin/review/dismiss", form(id("near2")), true)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(review_rows(&dashboard().await).is_empty());
    let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&env.config_path)
        .args(["labels", "export"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut exported: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    exported.sort();
    assert_eq!(
        exported,
        [
            "https://news.example/held\t2",
            "https://news.example/near\t2",
            "https://news.example/near2\t0",
        ]
    );
    let labelled = app.store.labelled_items().await.unwrap();
    assert!(
        labelled
            .iter()
            .all(|(_, l)| l.by.starts_with("admin (session)")),
        "{labelled:?}"
    );

    // Retract the published near-threshold story: CSRF and session first.
    let story = id("near");
    let retract = |csrf: Option<String>| {
        let mut f = vec![("story", story.clone())];
        if let Some(c) = csrf {
            f.push(("csrf", c));
        }
        f
    };
    assert_eq!(
        post("/admin/stories/retract", retract(None), true)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post("/admin/stories/retract", retract(Some(csrf.clone())), false)
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = public_story(&base, &story).await;
    assert_eq!(status, StatusCode::OK, "still published after the refusals");
    let page = dashboard().await;
    assert!(
        page.contains(&format!(
            "data-testid=\"recent-story\" data-story-id=\"{story}\""
        )),
        "{page}"
    );
    let r = post("/admin/stories/retract", retract(Some(csrf.clone())), true)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, _) = public_story(&base, &story).await;
    assert_eq!(status, StatusCode::GONE);
    let (_, json) = public("/feed.json").await;
    assert!(!json.contains("https://news.example/near\""), "{json}");
    assert!(json.contains("https://news.example/auto"), "{json}");
    let deletes = deliveries(&env)
        .await
        .into_iter()
        .filter(|(k, j)| k == "Delete" && j.contains(&story))
        .count();
    assert_eq!(deletes, 1, "a Delete for the follower");
    // A second Retract sends nothing again.
    let r = post("/admin/stories/retract", retract(Some(csrf)), true)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        deliveries(&env)
            .await
            .iter()
            .filter(|(k, _)| k == "Delete")
            .count(),
        1
    );
}

async fn public_story(base: &str, id: &str) -> (StatusCode, String) {
    let r = reqwest::get(format!("{base}/stories/{id}")).await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// `[topic] review_margin` out of range is refused at its line and key;
/// 0 (the list's near-threshold part off) is accepted.
#[test]
fn review_margin_is_validated_and_located() {
    use feedwatch::config::{self, Origin};
    let text = |margin: &str| {
        format!(
            "{}\n[topic]\nthreshold = 0.35\nreview_margin = {margin}\n",
            crate::helpers::test_config_text()
        )
    };
    for bad in ["0.35", "0.5", "-0.1"] {
        let t = text(bad);
        let problems =
            config::parse_with_env(std::path::Path::new("config.toml"), t.clone(), Vec::new())
                .expect_err("must be rejected");
        let p = problems
            .0
            .iter()
            .find(|p| p.key == "topic.review_margin")
            .unwrap_or_else(|| panic!("{bad}: {problems}"));
        let line = t
            .lines()
            .position(|l| l.starts_with("review_margin"))
            .unwrap()
            + 1;
        assert!(
            matches!(p.origin, Origin::File { line: l, .. } if l == line),
            "{p}"
        );
        assert!(p.to_string().contains("below the threshold"), "{p}");
    }
    for good in ["0", "0.1", "0.34"] {
        let cfg =
            config::parse_with_env(std::path::Path::new("config.toml"), text(good), Vec::new())
                .unwrap_or_else(|p| panic!("{good}: {p}"));
        assert_eq!(cfg.topic.review_margin(), good.parse::<f64>().unwrap());
    }
}
