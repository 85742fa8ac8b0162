//! One story, one post (issue 15), over time: outlets that join a published
//! story within the hour after its last outlets `Update` are remembered (in
//! the store, across a restart) and sent in one deferred `Update` by the
//! release tick once the hour has passed; a story that gathers outlets while
//! it waits in the publish queue goes out naming all of them, and those
//! joins take no slot of the posting cap. Real feeds served on 127.0.0.1, a
//! real SQLite file; the clock is injected (`poll_once`/`release` take
//! `now`), as in the publish-gate tests.

use axum::Router;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use feedwatch::app::App;
use feedwatch::sources::FeedSource;
use feedwatch::store::fed::Follower;

use crate::helpers::{TestEnv, feed, serve};

fn one_item_feed(title: &str, link: &str, lead: &str) -> String {
    let date = (Utc::now() - Duration::hours(2)).to_rfc2822();
    // Each outlet's own feed, so the outlet is credited by its configured
    // name (an item linking elsewhere would be credited by its link's site).
    let home = url::Url::parse(link).unwrap().join("/").unwrap();
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>{home}</link><description>d</description><item><title>{title}</title><link>{link}</link><guid>{link}</guid><pubDate>{date}</pubDate><description>{lead}</description></item></channel></rss>"#
    )
}

/// Three outlets' reports of one event (a US congressional letter), and one
/// report of another event.
fn router() -> Router {
    Router::new()
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
            get(|| async {
                one_item_feed(
                    "71 congressmen back Taiwan's participation in Interpol",
                    "https://b.example/71",
                    "Congressman John Curtis led 70 colleagues in a letter calling for Taiwan to join the Interpol General Assembly in Istanbul as an observer.",
                )
            }),
        )
        .route(
            "/c.xml",
            get(|| async {
                one_item_feed(
                    "U.S. congresspersons sign letter supporting Taiwan's Interpol bid",
                    "https://c.example/letter",
                    "Seventy-one US representatives signed a joint letter asking the administration to help Taiwan take part in the Interpol General Assembly as an observer.",
                )
            }),
        )
        .route(
            "/d.xml",
            get(|| async {
                one_item_feed(
                    "Seventy-one House members back Taiwan's Interpol bid in letter",
                    "https://d.example/house71",
                    "Seventy-one members of the US House of Representatives wrote to the administration urging support for Taiwan's participation in the Interpol General Assembly as an observer.",
                )
            }),
        )
        .route(
            "/x.xml",
            get(|| async {
                one_item_feed(
                    "Taiwan police seek INTERPOL help against cross-border scam centres",
                    "https://x.example/scam",
                    "Taiwan's Criminal Investigation Bureau asked INTERPOL members for data on scam compounds in Cambodia holding Taiwanese victims.",
                )
            }),
        )
}

/// The test deployment with `[publish] max_per_hour` set.
async fn env_with_cap(max_per_hour: u32) -> TestEnv {
    let addr = serve(router()).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let env = TestEnv::with_shipped_topic(&[
        feed(format!("{base}/a.xml"), "Outlet A"),
        feed(format!("{base}/b.xml"), "Outlet B"),
        feed(format!("{base}/c.xml"), "Outlet C"),
        feed(format!("{base}/d.xml"), "Outlet D"),
        feed(format!("{base}/x.xml"), "Outlet X"),
    ]);
    let text = std::fs::read_to_string(&env.config_path).unwrap().replace(
        "max_per_hour = 0",
        &format!("max_per_hour = {max_per_hour}"),
    );
    std::fs::write(&env.config_path, text).unwrap();
    env
}

async fn app_with_follower(env: &TestEnv, now: DateTime<Utc>) -> App {
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
            now,
        )
        .await
        .unwrap();
    app
}

fn source(app: &App, path: &str) -> FeedSource {
    app.load_sources()
        .unwrap()
        .into_iter()
        .find(|f| f.url.path() == path)
        .unwrap()
}

/// (activity kind, deliveries) queued for followers.
async fn kinds(env: &TestEnv) -> Vec<(String, i64)> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
        .await
        .unwrap();
    let rows = sqlx::query_as::<_, (String, i64)>(
        "SELECT a.kind, COUNT(*) FROM fed_deliveries d JOIN fed_activities a ON a.id = d.activity_id
         GROUP BY a.kind ORDER BY a.kind",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}

fn counts(create: i64, update: i64) -> Vec<(String, i64)> {
    let mut v = vec![("Create".to_string(), create)];
    if update > 0 {
        v.push(("Update".to_string(), update));
    }
    v
}

async fn note_json(app: &App, story_id: &str) -> String {
    app.store
        .fed()
        .get_note(story_id)
        .await
        .unwrap()
        .unwrap()
        .json
}

#[tokio::test]
async fn an_outlet_joining_within_the_hour_is_sent_in_one_deferred_update_even_after_a_restart() {
    let env = env_with_cap(0).await;
    let t0 = Utc::now();
    let app = app_with_follower(&env, t0).await;

    app.ingest
        .poll_once(&source(&app, "/a.xml"), t0)
        .await
        .unwrap();
    let entries = app.store.published_entries(10).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let story = entries[0].entry.story_id.clone();
    assert_eq!(kinds(&env).await, counts(1, 0));

    // Outlet B joins at +10 min: the first outlets Update goes out at once.
    app.ingest
        .poll_once(&source(&app, "/b.xml"), t0 + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(kinds(&env).await, counts(1, 1));
    assert!(note_json(&app, &story).await.contains("Outlet B"));

    // Outlet C joins at +20 min, within that hour: listed in the feed, no
    // Update yet, and not forgotten either.
    app.ingest
        .poll_once(&source(&app, "/c.xml"), t0 + Duration::minutes(20))
        .await
        .unwrap();
    let entries = app.store.published_entries(10).await.unwrap();
    assert_eq!(entries.len(), 1, "C joins the story: {entries:?}");
    assert_eq!(entries[0].sources.len(), 3);
    assert_eq!(kinds(&env).await, counts(1, 1));
    assert!(!note_json(&app, &story).await.contains("Outlet C"));
    // Outlet D joins at +25 min, its outlets pending already: it joins the
    // story, nothing is sent, and the deferred Update will list it too.
    app.ingest
        .poll_once(&source(&app, "/d.xml"), t0 + Duration::minutes(25))
        .await
        .unwrap();
    let entries = app.store.published_entries(10).await.unwrap();
    assert_eq!(
        entries[0].sources.len(),
        4,
        "D joins the story: {entries:?}"
    );
    assert_eq!(kinds(&env).await, counts(1, 1));
    for minutes in [30, 50, 69] {
        let r = app
            .ingest
            .release(t0 + Duration::minutes(minutes))
            .await
            .unwrap();
        assert_eq!(r.updated, 0, "at +{minutes} min the hour has not passed");
    }
    assert_eq!(kinds(&env).await, counts(1, 1));

    // A restart in between loses nothing: the pending outlets are stored.
    drop(app);
    let app = App::build(env.config()).await.unwrap();
    let r = app
        .ingest
        .release(t0 + Duration::minutes(71))
        .await
        .unwrap();
    assert_eq!(r.updated, 1, "{r:?}");
    assert_eq!(kinds(&env).await, counts(1, 2));
    let note = note_json(&app, &story).await;
    for outlet in ["Outlet A", "Outlet B", "Outlet C", "Outlet D"] {
        assert!(note.contains(outlet), "{outlet} in {note}");
    }
    let entry = app.store.published_entries(10).await.unwrap().remove(0);
    assert!(entry.entry.post_text.contains("Outlet C"), "{entry:?}");
    assert!(entry.entry.post_text.contains("Outlet D"), "{entry:?}");

    // Exactly one: later ticks have nothing left to send.
    for minutes in [72, 200, 600] {
        let r = app
            .ingest
            .release(t0 + Duration::minutes(minutes))
            .await
            .unwrap();
        assert_eq!(r.updated, 0, "at +{minutes} min");
    }
    assert_eq!(kinds(&env).await, counts(1, 2));
}

#[tokio::test]
async fn a_story_that_waits_goes_out_naming_every_outlet_and_its_joins_take_no_slot() {
    let env = env_with_cap(1).await;
    let t0 = Utc::now();
    let app = app_with_follower(&env, t0).await;

    // Another event takes this hour's only slot.
    app.ingest
        .poll_once(&source(&app, "/x.xml"), t0)
        .await
        .unwrap();
    assert_eq!(app.store.published_entries(10).await.unwrap().len(), 1);

    // The letter story starts and waits; a second outlet joins it while it
    // waits (the same cycle's polls, one after the other).
    app.ingest
        .poll_once(&source(&app, "/a.xml"), t0 + Duration::minutes(1))
        .await
        .unwrap();
    app.ingest
        .poll_once(&source(&app, "/b.xml"), t0 + Duration::minutes(1))
        .await
        .unwrap();
    let (waiting, _) = app.store.queue_counts().await.unwrap();
    assert_eq!(waiting, 1, "B joins the waiting story: no second story");
    let r = app
        .ingest
        .release(t0 + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!((r.released, r.waiting), (0, 1));

    // The next hour's one slot releases the story, naming both outlets in
    // its first post: a Create, no Update.
    let r = app
        .ingest
        .release(t0 + Duration::minutes(61))
        .await
        .unwrap();
    assert_eq!((r.released, r.waiting), (1, 0), "{r:?}");
    let entries = app.store.published_entries(10).await.unwrap();
    assert_eq!(entries.len(), 2);
    let letter = entries
        .iter()
        .find(|e| e.entry.link == "https://a.example/us71")
        .unwrap();
    let note = note_json(&app, &letter.entry.story_id).await;
    for outlet in ["Outlet A", "Outlet B"] {
        assert!(note.contains(outlet), "{outlet} in {note}");
        assert!(letter.entry.post_text.contains(outlet), "{letter:?}");
    }
    assert_eq!(kinds(&env).await, counts(2, 0));
    let names: Vec<&str> = letter.sources.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["Outlet A", "Outlet B"]);
}
