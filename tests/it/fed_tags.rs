//! Hashtag pages over real HTTP (issue 10 §4): `/tags/<tag>` lists our
//! published stories with that hashtag, newest first, paged like `/`, and
//! links a per-tag RSS feed that feedparser and xmllint read. Matching is
//! case-insensitive and works for CJK tags; an unknown tag is the styled 404.
//! Every link the page gives (stories, pager, feed, tags) is followed.

use std::path::Path;

use chrono::{Duration as CDuration, TimeZone, Utc};
use feedwatch::app::App;
use feedwatch::fediverse::note::build_note;
use url::Url;

use crate::fed_helpers::{settings, story};
use crate::helpers::{TestEnv, fixture_feeds};
use crate::publish_feeds::{feedparser, xmllint};

/// `n` published stories, one hour apart, the newest `story-000`. All carry
/// `Taiwan`; the even ones also `台灣`; `story-003` also `INTERPOL`.
async fn seed(db: &Path, n: usize) {
    let store = feedwatch::store::Store::open(db).await.expect("open store");
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("connect");
    let newest = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
    for i in 0..n {
        let mut tags = vec!["Taiwan"];
        if i % 2 == 0 {
            tags.push("台灣");
        }
        if i == 3 {
            tags.push("INTERPOL");
        }
        let at = newest - CDuration::hours(i64::try_from(i).unwrap());
        sqlx::query(
            "INSERT INTO feed_entries (story_id, title, summary, link, lang, hashtags,
               post_html, post_text, spoiler_text, published_at, updated_at, revision)
             VALUES (?, ?, ?, ?, 'en', ?, '<p>x</p>', 'x', NULL, ?, ?, 1)",
        )
        .bind(format!("story-{i:03}"))
        .bind(format!("Tagged story {i:03}"))
        .bind(format!("Summary {i:03}."))
        .bind(format!("https://news.example/{i}"))
        .bind(serde_json::to_string(&tags).unwrap())
        // Stored as Unix milliseconds (store::time).
        .bind(at.timestamp_millis())
        .bind(at.timestamp_millis())
        .execute(&pool)
        .await
        .expect("insert a story");
    }
    pool.close().await;
}

/// The `data-story-id`s of a page, in order.
fn story_ids(html: &str) -> Vec<String> {
    html.split("data-story-id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Every `href="…"` of a page on our own site (a local path, or an
/// absolute URL under `base`), as a path.
fn local_hrefs(html: &str, base: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|h| h.strip_prefix(base).unwrap_or(h))
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String, String) {
    let r = client.get(url).send().await.expect("GET");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ct, r.text().await.expect("body"))
}

#[tokio::test]
async fn tag_pages_list_tagged_stories_and_every_link_resolves() {
    let env = TestEnv::with_shipped_topic(&fixture_feeds(&["mixed-04-rdf.xml"]));
    // The public URL is this server, so the absolute story links resolve here.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let text = std::fs::read_to_string(&env.config_path).unwrap().replace(
        "base_url = \"http://localhost:8080\"",
        &format!("base_url = \"{base}\""),
    );
    std::fs::write(&env.config_path, text).unwrap();
    let config = env.config();
    seed(&config.storage.sqlite_path, 25).await;
    let app = App::build(config).await.unwrap();
    let router = feedwatch::web::router(app.web_state());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();

    // Case-insensitive: all 25 stories, 20 on the first page, newest first.
    let (status, ct, page1) = get(&client, &format!("{base}/tags/taiwan")).await;
    assert_eq!(status, 200, "{page1}");
    assert!(ct.starts_with("text/html"), "{ct}");
    let want: Vec<String> = (0..20).map(|i| format!("story-{i:03}")).collect();
    assert_eq!(story_ids(&page1), want);
    assert!(page1.contains("25 stories with this hashtag"), "{page1}");
    assert!(page1.contains("href=\"/tags/taiwan?page=2\""), "{page1}");
    let (status, _, page2) = get(&client, &format!("{base}/tags/taiwan?page=2")).await;
    assert_eq!(status, 200);
    let want: Vec<String> = (20..25).map(|i| format!("story-{i:03}")).collect();
    assert_eq!(story_ids(&page2), want);
    let (status, _, _) = get(&client, &format!("{base}/tags/taiwan?page=3")).await;
    assert_eq!(status, 404, "past the last page");

    // The same tag in another case is the same list.
    let (_, _, upper) = get(&client, &format!("{base}/tags/TAIWAN")).await;
    assert_eq!(story_ids(&upper), story_ids(&page1));
    let (_, _, one) = get(&client, &format!("{base}/tags/interpol")).await;
    assert_eq!(story_ids(&one), vec!["story-003".to_string()]);
    assert!(one.contains("1 story with this hashtag"), "{one}");

    // A CJK tag, percent-encoded as our links write it: the 13 even stories.
    let (status, _, cjk) = get(&client, &format!("{base}/tags/%E5%8F%B0%E7%81%A3")).await;
    assert_eq!(status, 200, "{cjk}");
    let want: Vec<String> = (0..25)
        .step_by(2)
        .map(|i| format!("story-{i:03}"))
        .collect();
    assert_eq!(story_ids(&cjk), want);
    assert!(cjk.contains("<h1 id=\"tag-heading\" data-testid=\"page-heading\">#台灣</h1>"));

    // An unknown tag: the styled 404.
    let (status, ct, missing) = get(&client, &format!("{base}/tags/NoSuchTag")).await;
    assert_eq!(status, 404);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(missing.contains("No such hashtag") && missing.contains("<!DOCTYPE html>"));

    // Every local link of the CJK page resolves: story pages, tag links on
    // the cards (both tags), the feed, the site feeds.
    let hrefs = local_hrefs(&cjk, &base);
    assert!(hrefs.iter().any(|h| h == "/stories/story-000"), "{hrefs:?}");
    assert!(hrefs.iter().any(|h| h == "/tags/Taiwan"), "{hrefs:?}");
    let feed_href = "/tags/%E5%8F%B0%E7%81%A3/feed.xml";
    assert!(hrefs.iter().any(|h| h == feed_href), "{hrefs:?}");
    for h in &hrefs {
        let (status, _, body) = get(&client, &format!("{base}{h}")).await;
        assert_eq!(status, 200, "{h}: {body}");
    }

    // The tag's feed: RSS with only the tagged stories, its self link, its
    // stylesheet next to it; feedparser and xmllint read it.
    let (status, ct, rss) = get(&client, &format!("{base}{feed_href}")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/rss+xml"), "{ct}");
    assert!(
        rss.contains(&format!("{base}{feed_href}")),
        "self link: {rss}"
    );
    let (status, _, _) = get(&client, &format!("{base}/tags/%E5%8F%B0%E7%81%A3/feed.xsl")).await;
    assert_eq!(status, 200, "the stylesheet the feed points at");
    let file = env.path().join("tag-feed.xml");
    std::fs::write(&file, &rss).unwrap();
    xmllint(&file);
    let reports = feedparser(&[&file]);
    assert_eq!(reports[0]["bozo"], 0, "{:?}", reports[0]);
    assert_eq!(
        reports[0]["feed_title"],
        format!("#台灣 – {}", app_title(&env))
    );
    let entries = reports[0]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 13);
    for e in entries {
        let tags: Vec<&str> = e["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t.as_str())
            .collect();
        assert!(tags.contains(&"台灣"), "{e:?}");
    }
    // A conditional request with the feed's ETag is a 304.
    let r = client
        .get(format!("{base}{feed_href}"))
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].clone();
    let r = client
        .get(format!("{base}{feed_href}"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);
    let (status, _, _) = get(&client, &format!("{base}/tags/NoSuchTag/feed.xml")).await;
    assert_eq!(status, 404);

    // The Notes' Hashtag.href lands on these pages, CJK included.
    let base_url = Url::parse(&format!("{base}/")).unwrap();
    let s = settings(&base_url, env.path());
    let actor = base_url.join("users/bot").unwrap();
    let mut post = story("story-000");
    post.hashtags = vec!["Taiwan".into(), "台灣".into()];
    let note = build_note(&s, &actor, &post);
    let hrefs: Vec<&str> = note["tag"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["href"].as_str())
        .collect();
    assert_eq!(hrefs.len(), 2);
    for h in hrefs {
        let (status, _, body) = get(&client, h).await;
        assert_eq!(status, 200, "{h}");
        assert!(story_ids(&body).contains(&"story-000".to_string()), "{h}");
    }
}

fn app_title(env: &TestEnv) -> String {
    env.config().bot.display_name
}
