//! Issue 16, feed readback by content: `/feed.xml`, `/feed.atom` and
//! `/feed.json` as served, read back by feedparser (RSS, Atom) and serde
//! (JSON Feed), compared field by field with values written here from the
//! fixture feed and the shipped topic, never from our own renderer.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use feedwatch::app::App;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, feed, serve};
use crate::publish_feeds::feedparser;

/// The outlet's feed: one item, two categories (one of them a URL, which
/// is not a tag), a two-sentence description short enough to be the whole
/// summary.
const FIXTURE: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet</title><link>https://o.example/</link><description>d</description><item><title>Taiwan excluded from INTERPOL General Assembly again</title><link>https://o.example/a</link><guid>https://o.example/a</guid><category>Scam centres</category><category>https://o.example/tag/x</category><description>Taiwan was again left out of the INTERPOL General Assembly. Its police stay cut off from I-24/7 data on transnational scam networks.</description></item></channel></rss>"#;

/// What a reader must see, written from the fixture above.
const SUMMARY: &str = "Taiwan was again left out of the INTERPOL General Assembly. Its police stay cut off from I-24/7 data on transnational scam networks.";
const ARTICLE: &str = "https://o.example/a";
/// The topic's hashtags (config.toml `[topic]`), then the item's own
/// category in CamelCase; the URL category is dropped.
const TAGS: [&str; 4] = ["Taiwan", "INTERPOL", "TransnationalCrime", "ScamCentres"];

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The content's checks shared by every format: the summary, the link to
/// the article and the outlet that reported it.
fn assert_content(format: &str, content: &str) {
    assert!(
        content.contains(&format!("<p>{SUMMARY}</p>")),
        "{format}: the summary is not the content's first paragraph: {content}"
    );
    assert!(
        content.contains(&format!("href=\"{ARTICLE}\"")),
        "{format}: no link to the article: {content}"
    );
    assert!(
        content.contains("Outlet"),
        "{format}: the outlet is not named: {content}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_feeds_read_back_with_the_fixture_summary_content_and_tags() {
    let router = Router::new().route("/feed.xml", get(|| async { FIXTURE }));
    let addr = serve(router).await;
    let env = TestEnv::with_shipped_topic(&[feed(
        format!("http://127.0.0.1:{}/feed.xml", addr.port()),
        "Outlet",
    )]);
    let app = App::build(env.config()).await.unwrap();
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    let web = serve(feedwatch::web::router(app.web_state())).await;
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    for path in ["feed.xml", "feed.atom", "feed.json"] {
        let r = client
            .get(format!("http://{web}/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.headers().contains_key(header::ETAG));
        std::fs::write(dir.path().join(path), r.bytes().await.unwrap()).unwrap();
    }

    // RSS and Atom through feedparser.
    let reports = feedparser(&[&dir.path().join("feed.xml"), &dir.path().join("feed.atom")]);
    assert_eq!(reports.len(), 2);
    for report in &reports {
        let format = report["file"].as_str().unwrap_or_default();
        assert_eq!(report["bozo"], 0, "{report}");
        let entries = report["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{format}: {report}");
        let e = &entries[0];
        assert_eq!(
            e["title"], "Taiwan excluded from INTERPOL General Assembly again",
            "{format}"
        );
        assert_eq!(e["link"], ARTICLE, "{format}");
        assert_eq!(e["summary"], SUMMARY, "{format}: summary");
        assert_content(format, e["content"].as_str().unwrap_or_default());
        assert_eq!(strings(&e["tags"]), TAGS, "{format}: categories");
    }

    // JSON Feed through serde.
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("feed.json")).unwrap()).unwrap();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{json}");
    let item = &items[0];
    assert_eq!(item["external_url"], ARTICLE);
    assert_eq!(item["summary"], SUMMARY);
    assert_content(
        "feed.json",
        item["content_html"].as_str().unwrap_or_default(),
    );
    let text = item["content_text"].as_str().unwrap_or_default();
    assert!(text.starts_with(SUMMARY), "content_text: {text}");
    assert!(text.contains(ARTICLE), "content_text: {text}");
    assert_eq!(strings(&item["tags"]), TAGS, "feed.json: tags");
}
