//! What reaches the operator (issue 10 §7), with the scriptable peer against
//! the whole app (real `App`, SQLite file, HTTP on 127.0.0.1): a mention and
//! a reply are stored sanitised and listed on the dashboard under Mentions;
//! Likes and Announces of our Notes are counted per story and shown next to
//! it; Undo decrements; `/metrics` counts all three; nothing is sent back.

use feedwatch::app::App;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fed_helpers::story;
use crate::fed_script_peer::{ScriptPeer, Style};
use crate::helpers::TestEnv;

const TOKEN: &str = "operator-token-0123456789";

async fn start(env: &TestEnv) -> (App, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut text = std::fs::read_to_string(&env.config_path).unwrap().replace(
        "base_url = \"http://localhost:8080\"",
        &format!("base_url = \"{base}\""),
    );
    text.push_str(&format!(
        "\n[federation]\nallow_private_addresses = true\n\n[admin]\ntoken = \"{TOKEN}\"\n"
    ));
    std::fs::write(&env.config_path, text).unwrap();
    let app = App::build(env.config()).await.unwrap();
    let router = feedwatch::web::router(app.web_state());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (app, base)
}

/// A published story: its feed entry and its Note (with the Create).
async fn publish(app: &App, id: &str, title: &str) {
    let pool = app.store.fed().pool().clone();
    let now = chrono::Utc::now();
    sqlx::query(
        "INSERT INTO feed_entries (story_id, title, summary, link, lang, hashtags,
           post_html, post_text, spoiler_text, published_at, updated_at, revision)
         VALUES (?, ?, 's', 'https://news.example/a', 'en', '[]', '<p>x</p>', 'x', NULL, ?, ?, 1)",
    )
    .bind(id)
    .bind(title)
    // Stored as Unix milliseconds (store::time).
    .bind(now.timestamp_millis())
    .bind(now.timestamp_millis())
    .execute(&pool)
    .await
    .unwrap();
    let fed = app.fediverse.as_ref().expect("federation on");
    fed.enqueue_create(&story(id)).await.unwrap();
}

async fn dashboard(base: &str) -> String {
    let r = reqwest::Client::new()
        .get(format!("{base}/admin"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

async fn count(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.store.fed().pool())
        .await
        .unwrap()
}

/// The `<tr>` of a story in the dashboard's reactions table.
fn reactions_row<'a>(html: &'a str, story: &str) -> &'a str {
    let start = html
        .find(&format!(
            "data-testid=\"reacted-story\" data-story-id=\"{story}\""
        ))
        .unwrap_or_else(|| panic!("{story} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

#[tokio::test]
async fn mentions_likes_and_announces_reach_the_operator() {
    let env = TestEnv::new(&[]);
    let (app, base) = start(&env).await;
    publish(&app, "story-1", "Taiwan shut out again").await;
    publish(&app, "story-2", "Second story").await;
    let fed = app.fediverse.clone().unwrap();
    let bot = fed.actor_id().clone();
    let note1 = format!("{base}/notes/story-1");
    let shared = url::Url::parse(&format!("{base}/inbox")).unwrap();
    let personal = url::Url::parse(&format!("{base}/users/interpolwatch/inbox")).unwrap();
    let alice = ScriptPeer::start("localhost").await;
    let bob = ScriptPeer::start("localhost").await;
    let sent_before = count(&app, "SELECT COUNT(*) FROM fed_deliveries").await;

    // A reply to our Note that mentions the bot, with hostile HTML.
    let reply = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": alice.activity_id("creates", 1), "type": "Create", "actor": alice.id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [bot],
        "object": {
            "id": alice.activity_id("notes", 1), "type": "Note",
            "attributedTo": alice.id, "inReplyTo": note1,
            "url": format!("{}/@alice/1", alice.id),
            "published": "2026-11-29T10:00:00Z",
            "content": "<p>Thanks <span class=\"h-card\"><a href=\"https://bot.example\" class=\"u-url mention\">@bot</a></span> <script>alert(1)</script><img src=x onerror=alert(2)>good work</p>",
            "tag": [{"type": "Mention", "href": bot, "name": "@interpolwatch"}],
        },
    });
    assert_eq!(
        alice.post(&shared, &reply, Style::Mastodon).await,
        StatusCode::ACCEPTED
    );
    // A plain mention (no reply), signed GoToSocial-style to the personal inbox.
    let mention = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": bob.activity_id("creates", 1), "type": "Create", "actor": bob.id,
        "object": {
            "id": bob.activity_id("notes", 1), "type": "Note", "attributedTo": bob.id,
            "content": "<p>@interpolwatch what about Interpol's Red Notices?</p>",
            "tag": [{"type": "Mention", "href": bot}],
        },
    });
    assert_eq!(
        bob.post(&personal, &mention, Style::GoToSocial).await,
        StatusCode::ACCEPTED
    );
    // Neither a mention nor a reply: ignored, not stored.
    let chatter = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": bob.activity_id("creates", 2), "type": "Create", "actor": bob.id,
        "object": {"id": bob.activity_id("notes", 2), "type": "Note",
                   "attributedTo": bob.id, "content": "<p>lunch</p>"},
    });
    assert_eq!(
        bob.post(&shared, &chatter, Style::Misskey).await,
        StatusCode::ACCEPTED
    );
    // A forged attribution (bob's server claims alice wrote it): not stored.
    let forged = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": bob.activity_id("creates", 3), "type": "Create", "actor": bob.id,
        "object": {"id": bob.activity_id("notes", 3), "type": "Note",
                   "attributedTo": alice.id, "content": "<p>hi</p>",
                   "tag": [{"type": "Mention", "href": bot}]},
    });
    assert_eq!(
        bob.post(&shared, &forged, Style::Mastodon).await,
        StatusCode::ACCEPTED
    );

    let mentions = fed.store().recent_mentions(10).await.unwrap();
    assert_eq!(mentions.len(), 2, "{mentions:?}");
    let m = mentions
        .iter()
        .find(|m| m.actor_id == alice.id.as_str())
        .unwrap();
    assert_eq!(m.story_id.as_deref(), Some("story-1"));
    assert_eq!(m.in_reply_to.as_deref(), Some(note1.as_str()));
    assert_eq!(
        m.url.as_deref(),
        Some(format!("{}/@alice/1", alice.id).as_str())
    );
    assert!(!m.content_html.contains("script") && !m.content_html.contains("<img"));
    assert!(m.content_html.contains("good work"), "{}", m.content_html);

    // Likes and Announces: alice likes and boosts story-1, bob likes it
    // (twice: counted once) and likes story-2; a Like of something not ours
    // is ignored.
    let like = |peer: &ScriptPeer, n: u32, kind: &str, object: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": peer.activity_id(&kind.to_lowercase(), n), "type": kind,
            "actor": peer.id, "object": object,
        })
    };
    let note2 = format!("{base}/notes/story-2");
    for (peer, n, kind, obj, style) in [
        (&alice, 1, "Like", note1.as_str(), Style::Mastodon),
        (&alice, 1, "Announce", note1.as_str(), Style::Rfc9421),
        (&bob, 1, "Like", note1.as_str(), Style::Misskey),
        (&bob, 2, "Like", note1.as_str(), Style::Misskey),
        (&bob, 3, "Like", note2.as_str(), Style::GoToSocial),
        (
            &bob,
            4,
            "Like",
            "https://elsewhere.example/notes/1",
            Style::GoToSocial,
        ),
    ] {
        assert_eq!(
            peer.post(&shared, &like(peer, n, kind, obj), style).await,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM fed_reactions").await, 5);

    let html = dashboard(&base).await;
    assert!(
        html.contains("<h2 id=\"mentions\">Mentions (2)</h2>"),
        "{html}"
    );
    assert!(html.contains(alice.id.as_str()) && html.contains(bob.id.as_str()));
    assert!(html.contains("good work") && html.contains("Red Notices"));
    assert!(!html.contains("alert(2)") && !html.contains("<script>alert"));
    assert!(
        html.contains(&format!("href=\"{}/@alice/1\"", alice.id)),
        "link to the original"
    );
    assert!(
        html.contains(
            "<a href=\"/stories/story-1\" data-testid=\"mention-story\">Taiwan shut out again</a>"
        ),
        "our story it replies to"
    );
    let row = reactions_row(&html, "story-1");
    assert!(row.contains("data-testid=\"likes\">2<"), "{row}");
    assert!(row.contains("data-testid=\"announces\">1<"), "{row}");
    let row = reactions_row(&html, "story-2");
    assert!(
        row.contains("data-testid=\"likes\">1<") && row.contains("data-testid=\"announces\">0<"),
        "{row}"
    );

    // Undo: alice's Announce (embedded) and bob's Like of story-2 (by id).
    let undo_boost = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": alice.activity_id("undos", 1), "type": "Undo", "actor": alice.id,
        "object": like(&alice, 1, "Announce", &note1),
    });
    assert_eq!(
        alice.post(&shared, &undo_boost, Style::Mastodon).await,
        StatusCode::ACCEPTED
    );
    let undo_like = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": bob.activity_id("undos", 1), "type": "Undo", "actor": bob.id,
        "object": bob.activity_id("like", 3),
    });
    assert_eq!(
        bob.post(&shared, &undo_like, Style::Mastodon).await,
        StatusCode::ACCEPTED
    );
    // Bob cannot undo alice's Like.
    let undo_other = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": bob.activity_id("undos", 2), "type": "Undo", "actor": bob.id,
        "object": alice.activity_id("like", 1),
    });
    assert_eq!(
        bob.post(&shared, &undo_other, Style::Mastodon).await,
        StatusCode::ACCEPTED
    );
    let html = dashboard(&base).await;
    let row = reactions_row(&html, "story-1");
    assert!(
        row.contains("data-testid=\"likes\">2<") && row.contains("data-testid=\"announces\">0<"),
        "{row}"
    );
    let row = reactions_row(&html, "story-2");
    assert!(row.contains("data-testid=\"likes\">0<"), "{row}");

    // /metrics counts all three.
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "feedwatch_fediverse_interactions{kind=\"mention\"} 2",
        "feedwatch_fediverse_interactions{kind=\"like\"} 2",
        "feedwatch_fediverse_interactions{kind=\"announce\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }

    // Nothing was answered: no delivery was queued by any of this.
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM fed_deliveries").await,
        sent_before
    );
    let _: Vec<Value> = alice.received();
    assert!(alice.received().is_empty() && bob.received().is_empty());
}
