//! Issue 9 §1 "Credit": the outlet credited in Notes, story pages and the
//! three feeds is the item's own source. `feedwatch run --once` (the real
//! binary) ingests a Google-News-style feed, whose every item carries
//! `<source url=…>Outlet</source>` and links to news.google.com, and a feed
//! whose items link to its own site; the stored Notes and the real web router
//! are then read back over HTTP.

use std::process::Command;

use feedwatch::app::App;

use crate::helpers::{TestEnv, feed, serve};

const GOOGLE_NEWS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>"taiwan interpol" - Google News</title><link>https://news.google.com/search?q=taiwan+interpol</link>
<description>Google News</description>
<item><title>Taiwan again shut out of INTERPOL General Assembly in Glasgow - Reuters</title>
<link>https://news.google.com/rss/articles/CBMiWkFVX3lxTE1reuters01?oc=5</link>
<guid isPermaLink="false">CBMiWkFVX3lxTE1reuters01</guid>
<pubDate>Fri, 27 Nov 2026 08:00:00 GMT</pubDate>
<description>Taiwan's National Police Agency said INTERPOL again refused to invite Taiwan to its General Assembly in Glasgow this week.</description>
<source url="https://www.reuters.com">Reuters</source></item>
</channel></rss>"#;

const OWN_SITE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Island Wire</title><link>https://www.islandwire.example/</link><description>d</description>
<item><title>Taiwan police seek INTERPOL red notice for fugitive fraud ring boss in Cambodia</title>
<link>https://www.islandwire.example/news/2026/11/27/red-notice</link>
<guid isPermaLink="false">iw-1</guid>
<pubDate>Fri, 27 Nov 2026 09:00:00 GMT</pubDate>
<description>Taiwan's Criminal Investigation Bureau asked INTERPOL through allies to issue a red notice for the leader of a telecom fraud ring hiding in Cambodia.</description></item>
</channel></rss>"#;

#[tokio::test]
async fn posts_pages_and_feeds_credit_the_outlet_not_the_aggregator() {
    let dir = tempfile::tempdir().unwrap();
    let gn = dir.path().join("google-news.xml");
    let own = dir.path().join("island-wire.xml");
    std::fs::write(&gn, GOOGLE_NEWS).unwrap();
    std::fs::write(&own, OWN_SITE).unwrap();
    let env = TestEnv::with_shipped_topic(&[
        feed(format!("file://{}", gn.display()), "Google News"),
        feed(format!("file://{}", own.display()), "Island Wire Feed"),
    ]);
    let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&env.config_path)
        .args(["run", "--once"])
        .env_remove("FEEDWATCH_ADMIN__TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let app = App::build(env.config()).await.unwrap();
    let entries = app.store.published_entries(10).await.unwrap();
    let by_title = |needle: &str| {
        entries
            .iter()
            .find(|e| e.entry.title.contains(needle))
            .unwrap_or_else(|| panic!("no story with {needle}: {entries:?}"))
    };
    let reuters = by_title("Glasgow");
    let island = by_title("red notice");
    assert_eq!(reuters.sources[0].0, "Reuters");
    // The link is on the feed's own site (its <link>): the configured name.
    assert_eq!(island.sources[0].0, "Island Wire Feed");

    // The Note followers get.
    for (e, want) in [(reuters, "via Reuters"), (island, "via Island Wire Feed")] {
        let note = app
            .store
            .fed()
            .get_note(&e.entry.story_id)
            .await
            .unwrap()
            .expect("a Note per story");
        assert!(note.json.contains(want), "{want} in {}", note.json);
        assert!(!note.json.contains("Google News"), "{}", note.json);
        assert!(e.entry.post_text.contains(want), "{}", e.entry.post_text);
    }

    // The story page and the feeds, over HTTP from the real router.
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let get = |path: String| {
        let url = format!("{base}{path}");
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let page = get(format!("/stories/{}", reuters.entry.story_id)).await;
    assert!(page.contains(">Reuters<"), "{page}");
    assert!(!page.contains("Google News"), "{page}");
    let page = get(format!("/stories/{}", island.entry.story_id)).await;
    assert!(page.contains(">Island Wire Feed<"), "{page}");
    for path in ["/feed.xml", "/feed.json", "/feed.atom"] {
        let body = get(path.to_string()).await;
        assert!(body.contains("Reuters"), "{path}: {body}");
        assert!(body.contains("Island Wire Feed"), "{path}: {body}");
        assert!(!body.contains("Google News"), "{path}: {body}");
    }
}
