//! The dashboard's Fediverse section: mentions of the bot (who, when, a
//! link to the original, our story it replies to, the sanitised text) and
//! the Likes and Boosts of each recently published story. Read-only: the
//! bot never answers, the operator does from their own account.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::html::{encode_component, time_tag};
use crate::text::{escape_html, safe_http_url};

/// One stored mention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MentionView {
    pub actor: String,
    pub received: DateTime<Utc>,
    /// The original post.
    pub url: Option<String>,
    /// Sanitised when stored, and again here.
    pub content_html: String,
    /// Our story it replies to: (id, title).
    pub story: Option<(String, String)>,
}

/// A published story with its reactions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactedStoryView {
    pub id: String,
    pub title: String,
    pub likes: u64,
    pub announces: u64,
}

/// What the Fediverse said to the bot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FediverseActivityView {
    pub mentions: Vec<MentionView>,
    /// The newest published stories, newest first.
    pub stories: Vec<ReactedStoryView>,
}

fn actor_link(actor: &str) -> String {
    match safe_http_url(actor) {
        Some(u) => format!(
            "<a href=\"{}\" rel=\"nofollow noopener noreferrer\">{}</a>",
            escape_html(&u),
            escape_html(actor)
        ),
        None => escape_html(actor),
    }
}

/// A mention's words for the dashboard: the (already sanitised) HTML
/// reduced to text, paragraphs and line breaks kept as spaces. No markup
/// from elsewhere reaches the operator's page, links included (the
/// "Original" link leads to the post).
fn mention_text(html: &str) -> String {
    let spaced = html
        .replace("</p>", "</p> ")
        .replace("<br>", " ")
        .replace("<br/>", " ")
        .replace("<br />", " ");
    // ammonia with no tags allowed: text only, `<`, `>` and `&` escaped;
    // quotes are escaped here so the text is safe anywhere.
    ammonia::Builder::empty()
        .clean(&spaced)
        .to_string()
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .trim()
        .to_owned()
}

/// The "Mentions" and "Reactions" sections.
pub fn fediverse_section(view: &FediverseActivityView) -> String {
    let mut out = format!(
        "<section aria-labelledby=\"mentions\"><h2 id=\"mentions\">Mentions ({})</h2>\n\
         <p class=\"muted\">Posts that mention the bot or reply to its Notes. The bot never answers; reply from your own account.</p>\n",
        view.mentions.len()
    );
    if view.mentions.is_empty() {
        out.push_str("<p class=\"muted\" data-testid=\"no-mentions\">No mentions yet.</p>\n");
    } else {
        out.push_str("<table class=\"stack\" data-testid=\"mentions\"><thead><tr><th>From</th><th>When</th><th>Post</th><th>Replying to</th></tr></thead><tbody>\n");
        for m in &view.mentions {
            let original = match m.url.as_deref().and_then(safe_http_url) {
                Some(u) => format!(
                    " <a href=\"{}\" rel=\"nofollow noopener noreferrer\" data-testid=\"mention-original\">Original</a>",
                    escape_html(&u)
                ),
                None => String::new(),
            };
            let story = match &m.story {
                Some((id, title)) => format!(
                    "<a href=\"/stories/{}\" data-testid=\"mention-story\">{}</a>",
                    encode_component(id),
                    escape_html(title)
                ),
                None => "<span class=\"muted\">–</span>".to_owned(),
            };
            let _ = writeln!(
                out,
                "<tr data-testid=\"mention\"><td data-label=\"From\">{}</td><td data-label=\"When\">{}</td>\
                 <td data-label=\"Post\"><div class=\"mention\">{}</div>{original}</td><td data-label=\"Replying to\">{story}</td></tr>",
                actor_link(&m.actor),
                time_tag(&m.received),
                mention_text(&m.content_html),
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
    let _ = writeln!(
        out,
        "<section aria-labelledby=\"reactions\"><h2 id=\"reactions\">Likes and boosts</h2>"
    );
    if view.stories.is_empty() {
        out.push_str("<p class=\"muted\">No published stories yet.</p>\n");
    } else {
        out.push_str("<table class=\"stack\" data-testid=\"reactions\"><thead><tr><th>Story</th><th>Likes</th><th>Boosts</th></tr></thead><tbody>\n");
        for s in &view.stories {
            let _ = writeln!(
                out,
                "<tr data-testid=\"reacted-story\" data-story-id=\"{id}\"><td data-label=\"Story\"><a href=\"/stories/{path}\">{title}</a></td>\
                 <td data-label=\"Likes\" data-testid=\"likes\">{likes}</td><td data-label=\"Boosts\" data-testid=\"announces\">{announces}</td></tr>",
                id = escape_html(&s.id),
                path = encode_component(&s.id),
                title = escape_html(&s.title),
                likes = s.likes,
                announces = s.announces,
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
    out
}
