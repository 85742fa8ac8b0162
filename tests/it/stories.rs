//! One story, one post (issue 15): story matching on what events are made
//! of, through the real binary on the development pairs, and in the real
//! pipeline: a second outlet joins a published story and followers get one
//! `Update`, not a second `Create`.

use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use chrono::Utc;
use feedwatch::app::App;
use feedwatch::store::fed::Follower;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, feed, fixtures, serve};

fn story_feeds() -> Vec<String> {
    ["en.xml", "zh.xml", "zh-hans.xml", "other.xml"]
        .iter()
        .map(|f| {
            fixtures()
                .join("stories/feeds")
                .join(f)
                .display()
                .to_string()
        })
        .collect()
}

/// `feedwatch eval --json --pairs FILE` over the story fixtures, with the
/// shipped config.
fn eval_pairs(pairs: &std::path::Path) -> serde_json::Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(root.join("config.toml"))
        .args(["eval", "--json", "--pairs"])
        .arg(pairs)
        .args(story_feeds())
        .output()
        .expect("run feedwatch");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("eval --json");
    v["pairs"].clone()
}

#[test]
fn development_pairs_reach_the_target() {
    let r = eval_pairs(&fixtures().join("stories/pairs.tsv"));
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
    assert!(r["unknown"].as_array().unwrap().is_empty(), "{r}");
    assert!(r["same_pairs"].as_u64().unwrap() >= 30);
    assert!(r["different_pairs"].as_u64().unwrap() >= 20);
    assert!(r["pair_recall"].as_f64().unwrap() >= 0.8, "{r}");
    assert!(r["mixed_stories"].as_u64().unwrap() <= 3, "{r}");
    // Every miss carries the matcher's reasons.
    for m in r["misses"].as_array().unwrap() {
        assert!(m["reasons"].as_str().unwrap().contains("evidence"), "{m}");
    }
}

#[test]
fn scripts_and_languages_join_and_nomination_and_election_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = dir.path().join("pairs.tsv");
    std::fs::write(
        &pairs,
        // Traditional / Simplified Chinese of one report; English / Tagalog
        // reports of one repatriation (Taiwan, Myanmar, 55); a nomination and
        // an election of one man, months apart.
        "http://m.ltn.com.tw/news/politics/paper/1240451\turn:feedwatch-dev:ltn-1240451-hans\t1\n\
         https://focustaiwan.tw/society/202505070014\thttps://www.mytaiwanlife.com/news/pages/ph/4prk3hX/inuwi-ng-taiwan-ang-55-mamamayan-mula-sa-mga-fraud-rings-sa-myanmar/?lang=ph\t1\n\
         urn:feedwatch-dev:interpol-x-2024-06-25\turn:feedwatch-dev:ap-urquiza-2024-11-05\t0\n",
    )
    .unwrap();
    let r = eval_pairs(&pairs);
    assert!(r["unknown"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(r["same_pairs"], 2, "{r}");
    assert_eq!(r["same_joined"], 2, "{r}");
    assert_eq!(r["different_pairs"], 1, "{r}");
    assert_eq!(r["false_merges"], 0, "{r}");
}

/// An outlet's own feed: its home page is on the item's site, so the item
/// is credited with the feed's configured name (issue 9 "Credit").
fn one_item_feed(title: &str, link: &str, lead: &str) -> String {
    let date = (Utc::now() - chrono::Duration::hours(2)).to_rfc2822();
    let home = url::Url::parse(link).unwrap().join("/").unwrap();
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>{home}</link><description>d</description><item><title>{title}</title><link>{link}</link><guid>{link}</guid><pubDate>{date}</pubDate><description>{lead}</description></item></channel></rss>"#
    )
}

#[tokio::test]
async fn a_second_outlet_joins_a_published_story_with_one_update() {
    // Outlet B and C publish their reports only from the second cycle on.
    let stage = Arc::new(Mutex::new(1));
    let (s1, s2) = (stage.clone(), stage.clone());
    let router = Router::new()
        .route(
            "/a.xml",
            get(|| async {
                one_item_feed(
                    "US representatives sign letter supporting Taiwan's bid to join Interpol",
                    "https://a.example/us71",
                    "71 US representatives urged the Biden administration in a joint letter to back Taiwan's bid to join Interpol and attend the General Assembly as an observer.",
                )
            }),
        )
        .route(
            "/b.xml",
            get(move || {
                let on = *s1.lock().unwrap() >= 2;
                async move {
                    if on {
                        one_item_feed(
                            "71 congressmen back Taiwan's participation in Interpol",
                            "https://b.example/71",
                            "Congressman John Curtis led 70 colleagues in a letter calling for Taiwan to join the Interpol General Assembly in Istanbul as an observer.",
                        )
                    } else {
                        one_item_feed("Weather", "https://b.example/w", "Sunny.")
                    }
                }
            }),
        )
        .route(
            "/c.xml",
            get(move || {
                let on = *s2.lock().unwrap() >= 3;
                async move {
                    if on {
                        one_item_feed(
                            "U.S. congresspersons sign letter supporting Taiwan's Interpol bid",
                            "https://c.example/letter",
                            "Seventy-one US representatives signed a joint letter asking the administration to help Taiwan take part in the Interpol General Assembly as an observer.",
                        )
                    } else {
                        one_item_feed("Weather", "https://c.example/w", "Rain.")
                    }
                }
            }),
        );
    let addr = serve(router).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let env = TestEnv::with_shipped_topic(&[
        feed(format!("{base}/a.xml"), "Outlet A"),
        feed(format!("{base}/b.xml"), "Outlet B"),
        feed(format!("{base}/c.xml"), "Outlet C"),
    ]);
    let app = App::build(env.config()).await.unwrap();
    app.store
        .fed()
        .upsert_follower(
            &Follower {
                actor_id: "https://peer.example/users/alice".into(),
                inbox: "https://peer.example/users/alice/inbox".into(),
                shared_inbox: Some("https://peer.example/inbox".into()),
                follow_id: Some("https://peer.example/follows/1".into()),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
        .await
        .unwrap();
    let kinds = || async {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT a.kind, COUNT(*) FROM fed_deliveries d JOIN fed_activities a ON a.id = d.activity_id
             GROUP BY a.kind ORDER BY a.kind",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let cycle = || async {
        app.ingest
            .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
            .await
            .unwrap();
    };

    cycle().await;
    let entries = app.store.published_entries(10).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(kinds().await, vec![("Create".to_string(), 1)]);

    *stage.lock().unwrap() = 2;
    cycle().await;
    let entries = app.store.published_entries(10).await.unwrap();
    assert_eq!(entries.len(), 1, "the second outlet joins: no new story");
    let names: Vec<&str> = entries[0].sources.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["Outlet A", "Outlet B"]);
    assert_eq!(
        kinds().await,
        vec![("Create".to_string(), 1), ("Update".to_string(), 1)],
        "followers get one Update, not a Create"
    );
    let note = app
        .store
        .fed()
        .get_note(&entries[0].entry.story_id)
        .await
        .unwrap()
        .unwrap();
    assert!(note.json.contains("Outlet B"), "{}", note.json);
    // The feed entry lists both outlets, each linked.
    let web = serve(feedwatch::web::router(app.web_state())).await;
    let feed_xml = reqwest::get(format!("http://127.0.0.1:{}/feed.xml", web.port()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for link in ["https://a.example/us71", "https://b.example/71"] {
        assert!(feed_xml.contains(link), "{link} in {feed_xml}");
    }
    // Why it joined is stored with the assignment, for the dashboard.
    let (why,): (Option<String>,) =
        sqlx::query_as("SELECT story_reasons FROM items WHERE link = 'https://b.example/71'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let why = why.expect("reasons stored");
    assert!(why.contains("71"), "{why}");

    // A third outlet within the hour: listed in the feed, but no second Update.
    *stage.lock().unwrap() = 3;
    cycle().await;
    let entries = app.store.published_entries(10).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].sources.len(), 3);
    assert_eq!(
        kinds().await,
        vec![("Create".to_string(), 1), ("Update".to_string(), 1)],
        "at most one Update per story per hour"
    );
}
