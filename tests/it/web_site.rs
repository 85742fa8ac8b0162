//! The public site over real HTTP: the paged front page, the styled 404,
//! the feed stylesheet, compression, Cache-Control and conditional
//! requests, and how Notes are addressed for each `[federation] visibility`.

use std::path::Path;

use axum::http::{StatusCode, header};
use chrono::{Duration as CDuration, TimeZone, Utc};
use feedwatch::app::App;
use feedwatch::config::PostVisibility;
use feedwatch::fediverse::note::build_note;
use tokio_util::sync::CancellationToken;

use crate::fed_helpers::{settings, story};
use crate::helpers::{TestEnv, fixture_feeds, serve};

/// Writes `n` published stories straight into the store's SQLite file
/// (after the store has created its tables), one hour apart, the newest
/// `story-000`. Every third is Traditional Chinese (`zh-Hant`).
pub async fn seed_stories(db: &Path, n: usize) {
    let store = feedwatch::store::Store::open(db).await.expect("open store");
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("connect");
    let newest = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
    for i in 0..n {
        let (title, summary, lang) = if i % 3 == 2 {
            (
                format!("台灣再被拒於國際刑警組織大會之外 第{i}則"),
                "外交部表示遺憾，將持續爭取參與。".to_owned(),
                "zh-Hant",
            )
        } else {
            (
                format!("Seeded story {i:03} about Taiwan and INTERPOL"),
                format!("Summary of seeded story {i:03}."),
                "en",
            )
        };
        let at = newest - CDuration::hours(i64::try_from(i).unwrap());
        sqlx::query(
            "INSERT INTO feed_entries (story_id, title, summary, link, lang, hashtags,
               post_html, post_text, spoiler_text, published_at, updated_at, revision)
             VALUES (?, ?, ?, ?, ?, '[\"Taiwan\"]', '<p>x</p>', 'x', NULL, ?, ?, 1)",
        )
        .bind(format!("story-{i:03}"))
        .bind(&title)
        .bind(&summary)
        .bind(format!("https://news.example/{i}"))
        .bind(lang)
        // Stored as Unix milliseconds (store::time).
        .bind(at.timestamp_millis())
        .bind(at.timestamp_millis())
        .execute(&pool)
        .await
        .expect("insert a story");
    }
    pool.close().await;
}

async fn site_with_stories(n: usize) -> (TestEnv, String) {
    let env = TestEnv::with_shipped_topic(&fixture_feeds(&["mixed-04-rdf.xml"]));
    let config = env.config();
    seed_stories(&config.storage.sqlite_path, n).await;
    let app = App::build(config).await.unwrap();
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    (env, format!("http://127.0.0.1:{}", addr.port()))
}

fn plain_client() -> reqwest::Client {
    // No automatic decompression: the test sees the bytes on the wire.
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
        .unwrap()
}

#[tokio::test]
async fn front_page_is_paged_twenty_a_page() {
    let (_env, base) = site_with_stories(45).await;
    let page = |q: &'static str| {
        let base = base.clone();
        async move {
            let r = reqwest::get(format!("{base}/{q}")).await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (status, first) = page("").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first.matches("data-testid=\"story\"").count(), 20);
    assert!(first.contains("data-story-id=\"story-000\""));
    assert!(first.contains("data-story-id=\"story-019\""));
    assert!(first.contains("Page 1 of 3"));
    assert!(first.contains("href=\"/?page=2\" data-testid=\"older\""));
    assert!(!first.contains("data-testid=\"newer\""));
    // Per-item language: the Chinese titles carry the full tag.
    assert!(first.contains("<h3 class=\"story-title\" lang=\"zh-Hant\">"));

    let (_, second) = page("?page=2").await;
    assert_eq!(second.matches("data-testid=\"story\"").count(), 20);
    assert!(second.contains("data-story-id=\"story-020\""));
    assert!(second.contains("rel=\"prev\" href=\"/\""));
    assert!(second.contains("href=\"/?page=3\""));

    let (_, third) = page("?page=3").await;
    assert_eq!(third.matches("data-testid=\"story\"").count(), 5);
    assert!(third.contains("data-story-id=\"story-044\""));
    assert!(!third.contains("data-testid=\"older\""));

    for bad in ["?page=4", "?page=0", "?page=x"] {
        let (status, html) = page(bad).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert!(html.contains("data-testid=\"message-title\""), "{bad}");
    }
}

#[tokio::test]
async fn unknown_paths_get_a_styled_404() {
    let (_env, base) = site_with_stories(1).await;
    let r = reqwest::get(format!("{base}/no/such/page")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("data-status=\"404\""));
    assert!(html.contains("Page not found"));
    assert!(html.contains("<a class=\"skip-link\""));
}

#[tokio::test]
async fn feeds_point_browsers_at_the_stylesheet() {
    let (_env, base) = site_with_stories(3).await;
    for path in ["/feed.xml", "/feed.atom"] {
        let body = reqwest::get(format!("{base}{path}"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            body.contains(r#"<?xml-stylesheet type="text/xsl" href="feed.xsl"?>"#),
            "{path}"
        );
    }
    let r = reqwest::get(format!("{base}/feed.xsl")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "text/xsl; charset=utf-8");
    let xsl = r.text().await.unwrap();
    assert!(xsl.contains("<xsl:stylesheet"));
    assert!(xsl.contains("How to subscribe"));
}

#[tokio::test]
async fn responses_are_compressed_cacheable_and_revalidate() {
    let (_env, base) = site_with_stories(30).await;
    let client = plain_client();
    for (path, cache) in [
        ("/", "public, max-age=60"),
        ("/stories/story-001", "public, max-age=300"),
        ("/feed.xml", "public, max-age=300"),
        ("/feed.atom", "public, max-age=300"),
        ("/feed.json", "public, max-age=300"),
    ] {
        let plain = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(plain.status(), StatusCode::OK, "{path}");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(plain.headers()[header::CACHE_CONTROL], cache, "{path}");
        let plain_len = plain.bytes().await.unwrap().len();
        for enc in ["gzip", "br"] {
            let r = client
                .get(format!("{base}{path}"))
                .header(header::ACCEPT_ENCODING, enc)
                .send()
                .await
                .unwrap();
            assert_eq!(r.headers()[header::CONTENT_ENCODING], enc, "{path}");
            // Several Vary fields mean the same as one joined by commas
            // (RFC 9110 §5.3); the feeds also vary on Accept.
            assert!(
                r.headers().get_all(header::VARY).iter().any(|v| v
                    .to_str()
                    .unwrap()
                    .to_ascii_lowercase()
                    .contains("accept-encoding")),
                "{path}"
            );
            let packed = r.bytes().await.unwrap().len();
            assert!(
                packed * 2 < plain_len,
                "{path} {enc}: {packed} bytes from {plain_len}"
            );
        }
    }

    // Conditional requests still answer 304, with compression accepted.
    let first = client
        .get(format!("{base}/feed.xml"))
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    let etag = first.headers()[header::ETAG].clone();
    let again = client
        .get(format!("{base}/feed.xml"))
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());

    // The operator's pages are never stored by a shared cache.
    let admin = client
        .get(format!("{base}/admin/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn stored_language_keeps_the_full_tag() {
    // A real ingest cycle over a feed that declares zh-TW: the stored item
    // keeps "zh-TW", not "zh".
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("zh.xml");
    std::fs::write(
        &feed,
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>中央社</title><link>https://zh.example.tw/</link><description>d</description><language>zh-TW</language>
<item><title>台灣爭取參與國際刑警組織大會</title><link>https://zh.example.tw/1</link><guid>zh-1</guid><description>外交部表示將持續努力。</description><pubDate>Fri, 27 Nov 2026 10:00:00 +0000</pubDate></item>
</channel></rss>"#,
    )
    .unwrap();
    let env = TestEnv::with_shipped_topic(&[crate::helpers::feed(
        format!("file://{}", feed.display()),
        "zh",
    )]);
    let app = App::build(env.config()).await.unwrap();
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    let items = app.web_state().store.recent_items(10).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].item.lang, "zh-TW");
}

#[test]
fn notes_are_addressed_by_visibility() {
    let base = url::Url::parse("https://bot.example/").unwrap();
    let actor = base.join("/users/interpolwatch").unwrap();
    let followers = "https://bot.example/users/interpolwatch/followers";
    let public = "https://www.w3.org/ns/activitystreams#Public";
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&base, dir.path());

    s.visibility = PostVisibility::Public;
    let note = build_note(&s, &actor, &story("v1"));
    assert_eq!(note["to"], serde_json::json!([public]));
    assert_eq!(note["cc"], serde_json::json!([followers]));

    s.visibility = PostVisibility::Unlisted;
    let note = build_note(&s, &actor, &story("v1"));
    assert_eq!(note["to"], serde_json::json!([followers]));
    assert_eq!(note["cc"], serde_json::json!([public]));
    // The Create carries the same addressing.
    let create = feedwatch::fediverse::note::create_activity("c1", &actor, note, true);
    assert_eq!(create["to"], serde_json::json!([followers]));
    assert_eq!(create["cc"], serde_json::json!([public]));
}

#[test]
fn visibility_is_validated_with_a_location() {
    let env = TestEnv::new(&[]);
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(
        &env.config_path,
        format!("{text}\n[federation]\nvisibility = \"followers\"\n"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args(["--config", env.config_path.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(err.contains("visibility"), "{err}");
    assert!(err.contains("\"public\" or \"unlisted\""), "{err}");

    std::fs::write(
        &env.config_path,
        format!("{text}\n[federation]\nvisibility = \"unlisted\"\n"),
    )
    .unwrap();
    assert_eq!(
        feedwatch::config::load(&env.config_path)
            .unwrap()
            .federation
            .visibility,
        PostVisibility::Unlisted
    );
}
