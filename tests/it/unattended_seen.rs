//! Issue 9 §4: retention deletes the row of an old unpublished item and
//! keeps only its identity (`seen_items`); when the item reappears in its
//! feed, even re-dated and on topic, it is not new and is not published,
//! and a feed that keeps carrying it keeps its seen id alive.
//!
//! In-process, with an injected clock through the calls the daemon's tick
//! makes (`Ingest::poll_once`, `Ingest::release`, `app::maintain`): 40 days
//! cannot pass otherwise. The feed is real (HTTP on 127.0.0.1), and so is
//! the SQLite file.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use chrono::{DateTime, TimeDelta, Utc};
use feedwatch::app::App;

use crate::helpers::{TestEnv, feed, serve};

const HELD: &str =
    "Taiwan police seek INTERPOL red notice for fugitive fraud boss hiding in Cambodia";
const FRESH: &str =
    "Lawmakers in Washington urge INTERPOL to invite Taiwan to the General Assembly as observer";

fn rss(items: &[(&str, &str, DateTime<Utc>)]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Farm</title><link>https://farm.example/</link><description>d</description>"#,
    );
    for (guid, title, date) in items {
        s.push_str(&format!(
            "<item><title>{title}</title><link>https://farm.example/{guid}</link><guid isPermaLink=\"false\">{guid}</guid><pubDate>{}</pubDate><description>Taiwan's Criminal Investigation Bureau said that {title}; INTERPOL has again kept Taiwan out of its I-24/7 network.</description></item>",
            date.to_rfc2822()
        ));
    }
    s.push_str("</channel></rss>");
    s
}

async fn count(pool: &sqlx::SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn an_item_retention_deleted_reappears_and_is_not_published() {
    let body = Arc::new(Mutex::new(String::new()));
    let b = body.clone();
    let router = Router::new().route(
        "/f",
        get(move || {
            let text = b.lock().unwrap().clone();
            async move { text }
        }),
    );
    let addr = serve(router).await;
    let env =
        TestEnv::with_shipped_topic(&[feed(format!("http://127.0.0.1:{}/f", addr.port()), "Farm")]);
    let text = std::fs::read_to_string(&env.config_path)
        .unwrap()
        .replace("max_age = \"off\"", "max_age = \"2d\"");
    std::fs::write(&env.config_path, text).unwrap();
    let config = env.config();
    let retain = config.storage.retain;
    let app = App::build(config).await.unwrap();
    let sources = app.load_sources().unwrap();
    let source = &sources[0];
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
        .await
        .unwrap();

    // Day 0: an on-topic item dated ten days back is stored, held by the
    // age gate and not published.
    let t0 = Utc::now() - TimeDelta::days(45);
    *body.lock().unwrap() = rss(&[("held-1", HELD, t0 - TimeDelta::days(10))]);
    let r = app.ingest.poll_once(source, t0).await.unwrap();
    assert_eq!((r.error.as_deref(), r.counts.inserted), (None, 1));
    app.ingest.release(t0).await.unwrap();
    assert_eq!(app.store.published_entry_count().await.unwrap(), 0);
    assert_eq!(app.store.item_count().await.unwrap(), 1);

    // The feed drops it; 40 days later retention (30 d) deletes its row.
    *body.lock().unwrap() = rss(&[]);
    let day40 = t0 + TimeDelta::days(40);
    app.ingest.poll_once(source, day40).await.unwrap();
    feedwatch::app::maintain(&app.store, day40, retain, false).await;
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM items").await, 0);
    assert_eq!(app.store.item_count().await.unwrap(), 0, "the counter too");
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM seen_items").await, 1);

    // Day 41: it reappears re-dated today (it would pass the age gate now),
    // next to a fresh on-topic item, which is published: the path would
    // publish the old one too if it counted as new.
    let day41 = t0 + TimeDelta::days(41);
    *body.lock().unwrap() = rss(&[("held-1", HELD, day41), ("fresh-1", FRESH, day41)]);
    let r = app.ingest.poll_once(source, day41).await.unwrap();
    assert_eq!(r.error, None);
    assert_eq!(
        (r.counts.inserted, r.counts.updated, r.counts.unchanged),
        (1, 0, 1),
        "only the fresh item is new"
    );
    app.ingest.release(day41).await.unwrap();
    let published: Vec<String> = sqlx::query_scalar("SELECT story_id FROM feed_entries")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(published.len(), 1, "{published:?}");
    let link: String = sqlx::query_scalar("SELECT link FROM feed_entries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(link, "https://farm.example/fresh-1");
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM items WHERE guid = 'held-1'").await,
        0,
        "the old item is not stored again"
    );
    // And again on later polls, after later maintenance passes.
    let day42 = t0 + TimeDelta::days(42);
    feedwatch::app::maintain(&app.store, day42, retain, false).await;
    let r = app.ingest.poll_once(source, day42).await.unwrap();
    assert_eq!((r.counts.inserted, r.counts.unchanged), (0, 2));
    app.ingest.release(day42).await.unwrap();
    assert_eq!(app.store.published_entry_count().await.unwrap(), 1);
    assert_eq!(app.store.item_count().await.unwrap(), 1);

    // The feed keeps carrying it for months, as an evergreen item: each poll
    // that meets it moves its seen id's time on, so it outlives the horizon
    // counted from the first sighting (max(4 x 30 d, 90 d) = 120 d, day 120).
    let day100 = t0 + TimeDelta::days(100);
    let r = app.ingest.poll_once(source, day100).await.unwrap();
    assert_eq!((r.counts.inserted, r.counts.unchanged), (0, 2));
    let day130 = t0 + TimeDelta::days(130);
    feedwatch::app::maintain(&app.store, day130, retain, false).await;
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM seen_items").await,
        1,
        "a seen id its feed still carries is kept past the first sighting's horizon"
    );
    let r = app.ingest.poll_once(source, day130).await.unwrap();
    assert_eq!((r.counts.inserted, r.counts.unchanged), (0, 2));
    app.ingest.release(day130).await.unwrap();
    assert_eq!(app.store.published_entry_count().await.unwrap(), 1);
}
