//! HTML pages of feedwatch: the public story list and story pages, the admin
//! dashboard, the filter playground, the login form and error pages.
//!
//! Every function here is pure: it takes plain view structs and returns a
//! complete HTML document. The routes read the store, build the views and
//! send the string, so the pages can be tested (and looked at) without a
//! server or a database.
//!
//! Everything that came from a feed or the operator is untrusted: text is
//! escaped by [`crate::text::escape_html`] and every `href` built from data goes
//! through [`crate::text::safe_http_url`], which only lets absolute `http(s)` URLs
//! through. The pages load nothing from elsewhere (inline CSS, no scripts,
//! no fonts, no images), and a Content-Security-Policy `<meta>` enforces it
//! in the browser should a later edit forget.

pub mod admin;
pub mod fedi_admin;
pub mod html;
pub mod playground;
pub mod public;
pub mod review;
mod style;
pub mod tags;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use admin::{admin_page, login_page, message_page, source_key};
pub use fedi_admin::{FediverseActivityView, MentionView, ReactedStoryView};
pub use playground::playground_page;
pub use public::{Paging, STORIES_PER_PAGE, index_page, index_page_paged, story_page};
pub use review::{ReviewItemView, ReviewView};
pub use tags::tag_page;

/// What the whole site says about itself; the same on every page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub title: String,
    /// What the bot watches and why, from the config.
    pub description: String,
    /// The Fediverse handle, e.g. `@interpolwatch@example.org`.
    pub handle: String,
    pub base_url: String,
    pub actor_url: String,
    pub hashtags: Vec<String>,
}

/// One published story as the public pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryView {
    pub id: String,
    /// The story's own page (the Note's `url`).
    pub page_url: String,
    pub title: String,
    pub summary: String,
    /// The lead article.
    pub link: String,
    /// `(outlet, article url)`, the lead outlet first.
    pub sources: Vec<(String, String)>,
    pub hashtags: Vec<String>,
    pub language: String,
    /// The lead item's own publication date.
    pub published: DateTime<Utc>,
    /// When the bot published the story (story pages say so).
    #[serde(default)]
    pub posted: Option<DateTime<Utc>>,
}

/// Health of one source, for the admin page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedHealthView {
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub status: String,
    pub last_fetch: Option<DateTime<Utc>>,
    /// Consecutive failures (drives the backoff).
    pub errors: u32,
    pub total_errors: u64,
    pub next_check: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// One fetched item with its relevance decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemView {
    pub id: String,
    pub title: String,
    pub link: Option<String>,
    pub source: String,
    pub published: DateTime<Utc>,
    /// BCP 47 tag of the item's title (its `lang` on the page).
    #[serde(default)]
    pub lang: String,
    /// Publish? `None` = not evaluated yet.
    pub decision: Option<bool>,
    pub score: Option<f64>,
    pub reasons: String,
    /// For an item that joined another outlet's story: which, and why
    /// (shared entities and numbers, similarity).
    pub story: Option<(String, String)>,
}

/// Counts of the Fediverse delivery queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QueueView {
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
    pub dead: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerView {
    pub actor: String,
    pub inbox: String,
}

/// Everything the admin dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminView {
    pub feeds: Vec<FeedHealthView>,
    /// Recent items, already filtered by the route.
    pub items: Vec<ItemView>,
    /// `Some(true)` = publish only, `Some(false)` = skip only.
    pub decision_filter: Option<bool>,
    pub source_filter: Option<String>,
    /// Source names offered in the filter.
    pub sources: Vec<String>,
    pub followers: Vec<FollowerView>,
    pub queue: QueueView,
    /// Stories waiting for the posting cap, and those dropped as stale.
    #[serde(default)]
    pub publish_queue: PublishQueueView,
    pub csrf: String,
    /// Items page, from 0 (newest); `more` = an older page exists.
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub more: bool,
    /// Mentions, and Likes and Boosts per story.
    #[serde(default)]
    pub fediverse: FediverseActivityView,
    /// The operator's latest label of listed items (item id → 0, 1 or 2).
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, u8>,
    /// The Review list: near-threshold and held items to decide on.
    #[serde(default)]
    pub review: ReviewView,
}

/// One story in the publication queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedStoryView {
    pub title: String,
    pub link: Option<String>,
    pub source: String,
    /// The lead item's own date.
    pub lead_date: DateTime<Utc>,
    pub queued_at: DateTime<Utc>,
    pub stale_at: Option<DateTime<Utc>>,
}

/// The publication queue (`[publish] max_per_hour`, `max_age`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PublishQueueView {
    pub waiting_count: u64,
    pub stale_count: u64,
    /// Oldest first: the order they go out in.
    pub waiting: Vec<QueuedStoryView>,
    /// Most recently dropped first.
    pub stale: Vec<QueuedStoryView>,
}

/// One item whose decision a topic edit would change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewRow {
    pub item: ItemView,
    /// The stored decision (`None` = never evaluated).
    pub before: Option<bool>,
    pub after: bool,
    pub after_score: f64,
    pub after_reasons: String,
}

/// The filter playground: the operator's edit and, after a preview, its effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaygroundView {
    /// The `[topic]` section as the operator edits it.
    pub topic_toml: String,
    pub threshold: f64,
    pub last_n: u32,
    /// Only the items whose decision changes.
    pub preview: Option<Vec<PreviewRow>>,
    pub unchanged: usize,
    /// Parse/compile error, shown above the form with the text kept.
    pub error: Option<String>,
    /// The last edit was applied.
    pub applied: bool,
    pub csrf: String,
    /// Queries that compile but probably mislead (lower-case `or`), as
    /// `feedwatch check` words them.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Precision and recall on the stored labelled items under the rules in
    /// force (before) and the edited rules (after); `None` before a preview.
    #[serde(default)]
    pub labelled: Option<(crate::matching::EvalReport, crate::matching::EvalReport)>,
}
