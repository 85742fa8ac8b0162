//! Edits always federate (issue 10 §10): every edit of a published story's
//! lead item produces exactly one `Update`, across a restart too; a story
//! whose Note is missing gets its Note's `Create` instead of a silent drop;
//! and two revisions stamped the same millisecond get two Update ids.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use chrono::{TimeZone, Utc};
use feedwatch::app::App;
use feedwatch::store::fed::Follower;
use tokio_util::sync::CancellationToken;

use crate::fed_helpers::{spawn_app, story};
use crate::helpers::{TestEnv, feed, serve};

/// One relevant item; its wording changes with `stage` (same guid and link).
fn feed_at(stage: u32) -> String {
    let date = (Utc::now() - chrono::Duration::hours(2)).to_rfc2822();
    let (title, lead) = match stage {
        1 => (
            "Taiwan again shut out of the INTERPOL General Assembly",
            "Taiwan was again refused observer status at the INTERPOL General Assembly, the foreign ministry said.",
        ),
        2 => (
            "Taiwan again shut out of the INTERPOL General Assembly (updated)",
            "Taiwan was again refused observer status at the INTERPOL General Assembly, the foreign ministry said on Tuesday.",
        ),
        3 => (
            "Taiwan again shut out of INTERPOL General Assembly, ministry protests",
            "Taiwan was again refused observer status at the INTERPOL General Assembly; the foreign ministry protested on Tuesday.",
        ),
        _ => (
            "Taiwan again shut out of INTERPOL General Assembly, ministry protests strongly",
            "Taiwan was again refused observer status at the INTERPOL General Assembly; the foreign ministry protested strongly on Tuesday.",
        ),
    };
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://o.example/</link><description>d</description><item><title>{title}</title><link>https://a.example/gen</link><guid>https://a.example/gen</guid><pubDate>{date}</pubDate><description>{lead}</description></item></channel></rss>"#
    )
}

async fn cycle(app: &App) {
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn every_edit_is_one_update_across_a_restart_and_a_missing_note_is_created() {
    let stage = Arc::new(Mutex::new(1u32));
    let s = stage.clone();
    let router = Router::new().route(
        "/a.xml",
        get(move || {
            let n = *s.lock().unwrap();
            async move { feed_at(n) }
        }),
    );
    let addr = serve(router).await;
    let env = TestEnv::with_shipped_topic(&[feed(
        format!("http://127.0.0.1:{}/a.xml", addr.port()),
        "Outlet A",
    )]);
    let pool = || async {
        sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
            .await
            .unwrap()
    };
    // (kind, deliveries, distinct activities) of what followers are sent.
    let sent = |pool: sqlx::SqlitePool| async move {
        sqlx::query_as::<_, (String, i64, i64)>(
            "SELECT a.kind, COUNT(*), COUNT(DISTINCT a.id) FROM fed_deliveries d
             JOIN fed_activities a ON a.id = d.activity_id GROUP BY a.kind ORDER BY a.kind",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let row = |k: &str, n: i64| (k.to_string(), n, n);

    let app = App::build(env.config()).await.unwrap();
    app.store
        .fed()
        .upsert_follower(
            &Follower {
                actor_id: "https://peer.example/users/alice".into(),
                inbox: "https://peer.example/users/alice/inbox".into(),
                shared_inbox: None,
                follow_id: Some("https://peer.example/follows/1".into()),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    cycle(&app).await;
    assert_eq!(app.store.published_entries(10).await.unwrap().len(), 1);
    assert_eq!(sent(pool().await).await, vec![row("Create", 1)]);

    *stage.lock().unwrap() = 2;
    cycle(&app).await;
    assert_eq!(
        sent(pool().await).await,
        vec![row("Create", 1), row("Update", 1)]
    );
    cycle(&app).await;
    assert_eq!(
        sent(pool().await).await,
        vec![row("Create", 1), row("Update", 1)],
        "an unchanged item sends nothing"
    );

    // Restart: a new App on the same files, then the second edit.
    drop(app);
    let app = App::build(env.config()).await.unwrap();
    *stage.lock().unwrap() = 3;
    cycle(&app).await;
    assert_eq!(
        sent(pool().await).await,
        vec![row("Create", 1), row("Update", 2)],
        "one Update per edit, across the restart"
    );
    let entry = &app.store.published_entries(10).await.unwrap()[0];
    let note: String = sqlx::query_scalar("SELECT json FROM fed_notes WHERE story_id = ?")
        .bind(&entry.entry.story_id)
        .fetch_one(&pool().await)
        .await
        .unwrap();
    assert!(note.contains("ministry protests"), "{note}");

    // A story with a feed entry but no Note, as if published while
    // federation was off (no Note, no Create, nothing delivered): its next
    // edit sends the Note's Create rather than nothing.
    for sql in [
        "DELETE FROM fed_deliveries",
        "DELETE FROM fed_activities",
        "DELETE FROM fed_notes",
    ] {
        sqlx::query(sql).execute(&pool().await).await.unwrap();
    }
    *stage.lock().unwrap() = 4;
    cycle(&app).await;
    assert_eq!(
        sent(pool().await).await,
        vec![row("Create", 1)],
        "the edit went out as the Note's Create"
    );
    let note: String = sqlx::query_scalar("SELECT json FROM fed_notes WHERE story_id = ?")
        .bind(&entry.entry.story_id)
        .fetch_one(&pool().await)
        .await
        .unwrap();
    assert!(note.contains("protests strongly"), "{note}");
}

#[tokio::test]
async fn two_revisions_in_one_millisecond_have_two_update_ids() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), None).await;
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let mut first = story("s1");
    first.updated = Some(at);
    let mut second = first.clone();
    second.html = "<p>INTERPOL again shuts Taiwan out, the ministry says.</p>".into();
    let a = app.fed.prepare_update(&first).unwrap();
    let b = app.fed.prepare_update(&second).unwrap();
    assert_ne!(a.activity_id, b.activity_id, "two edits, two Updates");
    let again = app.fed.prepare_update(&first).unwrap();
    assert_eq!(a.activity_id, again.activity_id, "the same edit stays one");
}
