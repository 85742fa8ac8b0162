//! Note and activity documents, shaped the way Mastodon renders them well:
//! `to: [as:Public]`, `cc: [followers]` (swapped for `[federation] visibility
//! = "unlisted"`), HTML `content` plus `contentMap`,
//! `Hashtag` tags linking to our tag pages, `url` to the story's HTML page.

use activitypub_federation::kinds::public;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use url::Url;

use super::FediverseSettings;
use super::vocab::{context, endpoint, note_id, rfc3339};
use crate::config::PostVisibility;
use crate::model::StoryPost;

use crate::text::escape_html;

/// The Note for a story (no `@context`: it is embedded in activities).
pub fn build_note(settings: &FediverseSettings, actor_id: &Url, post: &StoryPost) -> Value {
    let id = note_id(&settings.base_url, &post.story_id);
    let followers = endpoint(actor_id, &["followers"]);
    let tags: Vec<Value> = post
        .hashtags
        .iter()
        .map(|t| t.trim_start_matches('#'))
        .filter(|t| !t.is_empty())
        .map(|t| {
            json!({
                "type": "Hashtag",
                "href": endpoint(&settings.base_url, &["tags", t]),
                "name": format!("#{t}"),
            })
        })
        .collect();
    // Public: on every timeline. Unlisted: addressed to the followers with
    // Public in cc, which Mastodon shows as "unlisted" (quiet public).
    let (to, cc) = match settings.visibility {
        PostVisibility::Public => (json!([public()]), json!([followers])),
        PostVisibility::Unlisted => (json!([followers]), json!([public()])),
    };
    let mut note = json!({
        "id": id,
        "type": "Note",
        "attributedTo": actor_id,
        "to": to,
        "cc": cc,
        "content": post.html,
        "contentMap": { post.language.clone(): post.html },
        "tag": tags,
        "url": post.page_url,
        "published": rfc3339(post.published),
        "sensitive": post.sensitive_cw.is_some(),
    });
    if let Some(obj) = note.as_object_mut() {
        if let Some(cw) = &post.sensitive_cw {
            obj.insert("summary".into(), json!(cw));
        }
        if let Some(updated) = post.updated {
            obj.insert("updated".into(), json!(rfc3339(updated)));
        }
    }
    note
}

/// `Create{Note}`; `with_context` for delivery, without when embedded in a collection.
pub fn create_activity(id: &str, actor_id: &Url, note: Value, with_context: bool) -> Value {
    wrap("Create", id, actor_id, note, with_context)
}

/// `Update{Note}` for an edited story (the Note carries `updated`).
pub fn update_activity(id: &str, actor_id: &Url, note: Value) -> Value {
    wrap("Update", id, actor_id, note, true)
}

fn wrap(kind: &str, id: &str, actor_id: &Url, note: Value, with_context: bool) -> Value {
    let mut v = json!({
        "id": id,
        "type": kind,
        "actor": actor_id,
        "published": note.get("updated").or_else(|| note.get("published")).cloned(),
        "to": note.get("to").cloned(),
        "cc": note.get("cc").cloned(),
        "object": note,
    });
    if let (true, Some(obj)) = (with_context, v.as_object_mut()) {
        obj.insert("@context".into(), context());
    }
    v
}

/// The Tombstone served (with 410) at a deleted Note's URL.
pub fn tombstone(note_id: &str, deleted: DateTime<Utc>) -> Value {
    json!({
        "@context": context(),
        "id": note_id,
        "type": "Tombstone",
        "formerType": "Note",
        "deleted": rfc3339(deleted),
    })
}

/// `Delete{Tombstone}` for a removed story.
pub fn delete_activity(id: &str, actor_id: &Url, note_id: &str, deleted: DateTime<Utc>) -> Value {
    let followers = endpoint(actor_id, &["followers"]);
    json!({
        "@context": context(),
        "id": id,
        "type": "Delete",
        "actor": actor_id,
        "to": [public()],
        "cc": [followers],
        "object": { "id": note_id, "type": "Tombstone", "formerType": "Note", "deleted": rfc3339(deleted) },
    })
}

/// `Accept{Follow}`: `object` is the whole Follow as received, which is what
/// Mastodon and others match against their pending follow request.
pub fn accept_activity(id: &str, actor_id: &Url, follower: &Url, follow: Value) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": "Accept",
        "actor": actor_id,
        "to": [follower],
        "object": follow,
    })
}

/// The pinned "about this bot" Note in the `featured` collection, so a new
/// visitor sees what the account posts and where the feed is.
pub fn pinned_note(settings: &FediverseSettings, actor_id: &Url) -> Value {
    let feed = escape_html(settings.feed_url.as_str());
    let html = format!(
        "<p>{}</p><p>This is an automated account: it posts one summary per news story \
         about INTERPOL and Taiwan&#39;s exclusion from it, with a link to the source.</p>\
         <p>RSS feed: <a href=\"{feed}\">{feed}</a></p>",
        escape_html(&settings.summary)
    );
    json!({
        "id": endpoint(&settings.base_url, &["pinned", "about"]),
        "type": "Note",
        "attributedTo": actor_id,
        "to": [public()],
        "cc": [endpoint(actor_id, &["followers"])],
        "content": html,
        "contentMap": { "en": html },
        "url": settings.feed_url,
        "published": "2025-01-01T00:00:00Z",
        "sensitive": false,
    })
}
