//! What people on the Fediverse say to the bot: mentions and replies
//! (kept, sanitised, for the operator) and Likes and Announces of our
//! Notes (counted per story). Nothing here ever sends anything: the bot
//! does not answer automatically.
//!
//! A `Create` is a mention when its object (embedded, as every server
//! sends it) names our actor in a `Mention` tag, in `to` or `cc` (of the
//! activity or the object), or replies (`inReplyTo`) to one of our Notes.
//! The object must be attributed to the signer of the activity: a server
//! cannot make another server's user appear to have written to us.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

use activitypub_federation::fetch::object_id::ObjectId;
use serde::{Deserialize, Serialize};

use super::actor::RemoteActor;
use crate::store::fed_interactions::{Mention, ReactionKind};

/// Any activity. Unknown types are accepted and ignored, but only after the
/// library has verified who sent them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncomingActivity {
    pub id: Url,
    /// An id, or an embedded actor object of which only the `id` is read:
    /// the embedded copy is never trusted, the actor is fetched from its id.
    #[serde(deserialize_with = "actor_ref")]
    pub actor: ObjectId<RemoteActor>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub object: Value,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

/// Reads `actor` as either `"https://..."` or `{"id": "https://...", ...}`.
fn actor_ref<'de, D>(d: D) -> Result<ObjectId<RemoteActor>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ref {
        Id(Url),
        Object { id: Url },
    }
    Ok(match Ref::deserialize(d)? {
        Ref::Id(u) | Ref::Object { id: u } => ObjectId::from(u),
    })
}

/// Post types a mention can come in.
const POST_TYPES: [&str; 5] = ["Note", "Article", "Question", "Page", "ChatMessage"];

/// Largest stored mention HTML; longer posts are cut (by the sanitiser's
/// output, never mid-tag: the text is cut before sanitising).
const MAX_CONTENT: usize = 20_000;

fn id_of(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(m) => m.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// Every id in an addressing field (`to`, `cc`): a string or a list.
fn addressees(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(id_of).collect(),
        Some(other) => id_of(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The mention's HTML, sanitised: paragraphs, line breaks, links (http(s)
/// only, `nofollow noopener noreferrer`) and the span classes Mastodon
/// uses for mentions; everything else (scripts, styles, images, event
/// handlers) is removed.
pub fn sanitize_mention_html(html: &str) -> String {
    let cut: String = html.chars().take(MAX_CONTENT).collect();
    ammonia::Builder::empty()
        .tags(HashSet::from(["p", "br", "a", "span"]))
        .tag_attributes(HashMap::from([("a", HashSet::from(["href"]))]))
        .url_schemes(HashSet::from(["http", "https"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("nofollow noopener noreferrer"))
        .clean(&cut)
        .to_string()
}

/// Whether `v` (a Note id) is one of ours: `{base}/notes/{story}`.
pub fn our_note_prefix(base: &Url) -> String {
    format!("{}/notes/", base.as_str().trim_end_matches('/'))
}

/// The mention a `Create` carries, if it is one (see the module doc).
pub fn mention_of(
    activity: &IncomingActivity,
    our_actor: &Url,
    base: &Url,
    now: DateTime<Utc>,
) -> Option<Mention> {
    let obj = activity.object.as_object()?;
    let kind = obj.get("type").and_then(Value::as_str)?;
    if !POST_TYPES.contains(&kind) {
        return None;
    }
    let sender = activity.actor.inner().as_str();
    if obj.get("attributedTo").and_then(id_of) != Some(sender) {
        return None;
    }
    let object_id = obj.get("id").and_then(Value::as_str)?;
    let ours = our_actor.as_str();
    let mentioned = obj
        .get("tag")
        .map(|t| match t {
            Value::Array(a) => a.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .unwrap_or_default()
        .into_iter()
        .any(|t| {
            t.get("type").and_then(Value::as_str) == Some("Mention")
                && t.get("href").and_then(Value::as_str) == Some(ours)
        });
    let addressed = [
        addressees(obj.get("to")),
        addressees(obj.get("cc")),
        addressees(activity.rest.get("to")),
        addressees(activity.rest.get("cc")),
    ]
    .iter()
    .flatten()
    .any(|a| *a == ours);
    let prefix = our_note_prefix(base);
    let in_reply_to = obj
        .get("inReplyTo")
        .and_then(id_of)
        .filter(|r| r.starts_with(&prefix))
        .map(str::to_owned);
    if !mentioned && !addressed && in_reply_to.is_none() {
        return None;
    }
    let url = obj
        .get("url")
        .and_then(|u| match u {
            Value::Array(a) => a
                .first()
                .and_then(|x| id_of(x).or_else(|| x.get("href")?.as_str())),
            Value::Object(m) => m.get("href").and_then(Value::as_str),
            other => id_of(other),
        })
        .unwrap_or(object_id);
    let url = crate::text::safe_http_url(url);
    let content = obj
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(Mention {
        activity_id: activity.id.to_string(),
        object_id: object_id.to_owned(),
        actor_id: sender.to_owned(),
        url,
        content_html: sanitize_mention_html(content),
        in_reply_to,
        story_id: None,
        published_at: obj
            .get("published")
            .and_then(Value::as_str)
            .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
            .map(|d| d.with_timezone(&Utc)),
        received_at: now,
    })
}

/// A Like or Announce of one of our Notes: (kind, our Note's id).
pub fn reaction_of(activity: &IncomingActivity, base: &Url) -> Option<(ReactionKind, String)> {
    let kind = ReactionKind::parse(&activity.kind)?;
    let note = id_of(&activity.object)?;
    note.starts_with(&our_note_prefix(base))
        .then(|| (kind, note.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitising_keeps_text_and_links_only() {
        let html = r#"<p>Hi <span class="h-card"><a href="https://bot.example/users/b" class="u-url mention">@<span>b</span></a></span> <script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a></p>"#;
        let clean = sanitize_mention_html(html);
        assert!(
            !clean.contains("script") && !clean.contains("<img") && !clean.contains("javascript"),
            "{clean}"
        );
        assert!(
            clean.contains("href=\"https://bot.example/users/b\""),
            "{clean}"
        );
        assert!(
            clean.contains("rel=\"nofollow noopener noreferrer\""),
            "{clean}"
        );
        assert!(clean.contains("@<span>b</span>"), "{clean}");
    }
}
