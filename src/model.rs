//! The domain's plain values: the normalized item, what a poll records, its verdict and
//! decision, a story's feed entry and its Fediverse post, the activities a
//! publication writes. No SQL and no I/O: the stages build and pass these,
//! `store` writes them and decodes its rows into them, and no stage imports
//! `store` for a type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::text::link::{same_site, site_name};
use crate::text::{html_to_line, truncate_chars};

// ---- polls, verdicts, decisions (stored by `store`) ----

/// The outcome of one poll, to be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    Ok,
    NotModified,
    Error,
}

impl PollOutcome {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            PollOutcome::Ok => "ok",
            PollOutcome::NotModified => "not_modified",
            PollOutcome::Error => "error",
        }
    }
}

/// The new fetch state of a feed after a poll.
#[derive(Debug, Clone)]
pub struct PollRecord {
    pub at: DateTime<Utc>,
    pub outcome: PollOutcome,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// New validators; `None` keeps the stored ones (a 304 or an error).
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Consecutive failures after this poll.
    pub error_count: u32,
    pub next_check_at: DateTime<Utc>,
    pub item_count: Option<u32>,
}

/// The relevance verdict stored with an item (decided by `matching`; the
/// store keeps it as plain values).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub publish: bool,
    pub score: f64,
    /// JSON of the full explanation; empty (stored as NULL) for a compact
    /// decision, which keeps only the score and the reasons.
    pub explanation: String,
    /// The explanation on one line, for listings.
    pub reasons: String,
    /// JSON story fingerprint; set for published items.
    pub fingerprint: Option<String>,
    pub story: StoryAssignment,
    /// Why the item joined its story (the matcher's reasons), when it did.
    pub story_reasons: Option<String>,
    /// Relevant but not published, and why (the age gate): stored as the
    /// decision `held`.
    pub held: Option<String>,
}

impl Verdict {
    /// The decision this verdict stores.
    pub fn decision(&self) -> Decision {
        match (&self.held, self.publish) {
            (Some(_), _) => Decision::Held,
            (None, true) => Decision::Publish,
            (None, false) => Decision::Skip,
        }
    }

    /// The stored decision word: `publish`, `held` or `skip`.
    pub fn decision_label(&self) -> &'static str {
        self.decision().as_str()
    }
}

/// An item's stored decision (`items.decision`; NULL: not evaluated). The
/// words are stored; this is the one place that spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Relevant and published (or joined a published story).
    Publish,
    /// Relevant, but held back (the age gate); see `items.held`.
    Held,
    /// Not relevant.
    Skip,
}

impl Decision {
    /// Every decision.
    pub const ALL: [Decision; 3] = [Self::Publish, Self::Held, Self::Skip];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Held => "held",
            Self::Skip => "skip",
        }
    }

    /// The decision a stored word names, if any.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == word)
    }
}

/// Where a published item goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoryAssignment {
    /// Not published: no story.
    None,
    /// The first item of a new story (the story id is the item id).
    New,
    /// Another outlet's report of an existing story.
    Join(String),
}

/// An item with its verdict, ready to be committed.
#[derive(Debug, Clone)]
pub struct ItemRecord {
    pub item: Item,
    pub verdict: Option<Verdict>,
}

/// One entry of the published feed (one per story).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntryRow {
    pub story_id: String,
    pub title: String,
    pub summary: String,
    pub link: String,
    pub lang: String,
    pub hashtags: Vec<String>,
    pub post_html: String,
    pub post_text: String,
    pub spoiler_text: Option<String>,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub revision: u32,
}

/// A change to the published outputs, committed with the poll that caused it.
#[derive(Debug, Clone)]
pub enum Publication {
    /// A new story: its feed entry, and its Fediverse `Create` when federating.
    New {
        entry: FeedEntryRow,
        activity: Option<PreparedActivity>,
    },
    /// The lead item of a published story was edited: its entry is replaced
    /// (revision + 1) and followers get an `Update`.
    Edit {
        entry: FeedEntryRow,
        activity: Option<PreparedActivity>,
    },
    /// Other outlets joined a published story: its Note lists them. Applied
    /// (entry re-composed, `Update` queued) only when the story's outlets
    /// were not updated after `not_since`: one such Update per story per hour.
    /// Otherwise the story is marked as having outlets pending, and
    /// `Ingest::release` (in `schedule`) sends them once the hour
    /// has passed.
    Outlets {
        entry: FeedEntryRow,
        activity: Option<PreparedActivity>,
        not_since: DateTime<Utc>,
    },
    /// Other outlets joined a published story that already has outlets
    /// pending: it stays marked (or is marked again, had the release tick
    /// just sent its Update), and the tick's deferred `Update` lists every
    /// outlet then. Nothing is read or composed for it, so the cost of a
    /// join does not grow with the story's outlets.
    OutletsPending { story_id: String },
}

/// A published entry with the outlets that carried its story.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEntry {
    pub entry: FeedEntryRow,
    /// (outlet name, article link), the lead item first.
    pub sources: Vec<(String, String)>,
}

/// What the store already holds for an item id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub content_hash: String,
    pub story_id: Option<String>,
    /// When the item leads a published story: that entry's publication time.
    pub published_entry_at: Option<DateTime<Utc>>,
    /// Only its identity is left (`seen_items`: retention deleted the row of
    /// an old unpublished item); `content_hash` is empty then. Such an item
    /// is unchanged whatever its text now: it is never new or edited again.
    pub forgotten: bool,
}

impl Existing {
    /// Whether an item with `content_hash` is unchanged against this record
    /// (the same hash, or an item whose row retention deleted).
    pub fn unchanged(&self, content_hash: &str) -> bool {
        self.forgotten || self.content_hash == content_hash
    }
}

/// An item as stored, with bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredItem {
    pub item: Item,
    pub first_seen_at: DateTime<Utc>,
    pub revision: u32,
}

/// A decision as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDecision {
    pub publish: bool,
    pub score: f64,
    pub reasons: String,
    pub story_id: Option<String>,
    /// Why the item joined its story (the matcher's reasons), when it did.
    pub story_reasons: Option<String>,
}

// ---- the Fediverse activity a publication writes (`store::fed` applies it) ----

/// A published Note's current state.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteRow {
    pub story_id: String,
    pub note_id: String,
    pub create_id: String,
    pub json: String,
    pub published_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Which activity a [`PreparedActivity`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    Create,
    Update,
    /// Removes the Note: it becomes a Tombstone (410).
    Delete,
}

/// Everything publishing one activity writes, built by `fediverse` without
/// touching the database and applied by `store::fed` inside the caller's
/// transaction.
#[derive(Debug, Clone)]
pub struct PreparedActivity {
    pub kind: ActivityKind,
    pub activity_id: String,
    pub object_id: String,
    pub activity_json: String,
    pub note: NoteRow,
    /// (instance URL, status JSON) for the Mastodon API channel.
    pub mastodon: Option<(String, String)>,
    /// For an `Update`: the `Create` (id, JSON) of the edited Note, sent
    /// instead when the story has no Note at all (it was never federated,
    /// e.g. published while federation was off), so an edit always
    /// reaches followers. A deleted (tombstoned) Note stays deleted.
    pub create_fallback: Option<(String, String)>,
}

// ---- outputs: the feed entry as rendered, the post as federated ----

/// An outlet that reported the story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRef {
    pub name: String,
    pub url: String,
}

/// One published story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// Stable identity: the story page URL.
    pub id: String,
    pub title: String,
    /// Plain-text summary.
    pub summary: String,
    /// The original article.
    pub link: String,
    /// Every outlet that reported it ("also reported by").
    pub sources: Vec<SourceRef>,
    /// Without "#".
    pub hashtags: Vec<String>,
    pub language: String,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// One story, composed and sanitised by the summary stage.
#[derive(Debug, Clone)]
pub struct StoryPost {
    pub story_id: String,
    /// HTML page of the story; the Note's `url`.
    pub page_url: Url,
    /// `p`, `a`, `br` only; already composed and sanitised.
    pub html: String,
    /// The same post as plain text (paragraphs as blank lines), composed
    /// alongside `html`: the Mastodon API's `status`.
    pub text: String,
    pub language: String,
    pub hashtags: Vec<String>,
    pub sensitive_cw: Option<String>,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod decision_tests {
    use super::Decision;

    #[test]
    fn decisions_round_trip_their_stored_words() {
        for d in Decision::ALL {
            assert_eq!(Decision::parse(d.as_str()), Some(d));
        }
        assert_eq!(Decision::Publish.as_str(), "publish");
        assert_eq!(Decision::Held.as_str(), "held");
        assert_eq!(Decision::Skip.as_str(), "skip");
        assert_eq!(Decision::parse("pending"), None);
    }
}

/// One normalized news item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Stable identity: hex of a hash over the identity key (see `pipeline::item::identity_key`).
    pub id: String,
    /// The feed it came from.
    pub feed_url: String,
    /// The source's display name.
    pub source: String,
    /// The outlet credited in posts, pages and feeds (see [`credit`]): the
    /// entry's own `<source>`, else the link's site, else `source` when the
    /// link is on the feed's own site.
    #[serde(default)]
    pub outlet: String,
    /// The entry's own id (guid / atom:id) when it had one.
    pub guid: Option<String>,
    /// Canonical absolute link to the article.
    pub link: Option<String>,
    pub title: String,
    pub summary: String,
    /// Plain text of the full content, when the feed carries it.
    pub content: String,
    /// BCP 47 tag as the feed declared it ("en", "zh-Hant", "zh-TW"), else
    /// the detected ISO 639-1 code, else "und".
    pub lang: String,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Hash of title + summary + content: an edit changes it, identity stays.
    pub content_hash: String,
    /// The feed's categories for the item (plain text, at most a few): the
    /// item's own hashtags when it is posted.
    #[serde(default)]
    pub categories: Vec<String>,
    /// The entry's author(s) as the feed names them, joined by ", "; empty
    /// when the feed names none. Rules see it as `author:`.
    #[serde(default)]
    pub author: String,
}

/// The outlet to credit for an item:
/// 1. the entry's own `<source>` (its name, or the site of its URL);
/// 2. else, when the link is on the feed's own site (the feed URL's host or
///    the feed's home page), the feed's configured name;
/// 3. else the link's site name ([`site_name`]: `www.reuters.com` →
///    `reuters.com`);
/// 4. else (no usable link) the feed's configured name.
///
/// So an aggregator's name ("Google News") is never credited for another
/// outlet's article.
pub fn credit(
    entry_source: Option<&str>,
    link: Option<&str>,
    feed_url: &Url,
    feed_home: Option<&Url>,
    feed_name: &str,
) -> String {
    if let Some(s) = entry_source.map(|s| html_to_line(s).trim().to_string()) {
        if !s.is_empty() {
            match Url::parse(&s) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {
                    if let Some(host) = u.host_str() {
                        return site_name(host);
                    }
                }
                _ => return truncate_chars(&s, 100),
            }
        }
    }
    let Some(host) = link
        .and_then(|l| Url::parse(l).ok())
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    else {
        return feed_name.to_string();
    };
    let own = std::iter::once(feed_url)
        .chain(feed_home)
        .filter_map(|u| u.host_str())
        .any(|h| same_site(h, &host));
    if own {
        feed_name.to_string()
    } else {
        site_name(&host)
    }
}

/// Dates up to this far ahead are clock skew; beyond it, they count as now.
pub const FUTURE_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// An item's own date (published, else updated; normalize already falls back
/// to the first-seen time for undated items), with dates more than a few
/// minutes in the future counted as `now`.
pub fn own_date(item: &Item, now: DateTime<Utc>) -> DateTime<Utc> {
    clamp_future(item.published, now)
}

/// `date`, or `now` when `date` is more than [`FUTURE_SKEW`] ahead of it.
pub fn clamp_future(date: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    if date > now + FUTURE_SKEW { now } else { date }
}

#[cfg(test)]
mod credit_tests {
    use super::{Url, credit, site_name};

    #[test]
    fn credit_prefers_the_entry_source_then_the_link_site_then_the_feed_name() {
        let gn = Url::parse("https://news.google.com/rss/search?q=x").unwrap();
        let link = Some("https://news.google.com/rss/articles/abc");
        // The item's own <source> wins, even for the aggregator's own links.
        assert_eq!(
            credit(Some("Reuters"), link, &gn, None, "Google News"),
            "Reuters"
        );
        // A source given only as a URL: its site.
        assert_eq!(
            credit(
                Some("https://www.reuters.com"),
                link,
                &gn,
                None,
                "Google News"
            ),
            "reuters.com"
        );
        // No <source>: the link's site, not the feed's name.
        assert_eq!(
            credit(
                None,
                Some("https://www.reuters.com/world/x"),
                &gn,
                None,
                "Google News"
            ),
            "reuters.com"
        );
        // The feed's own site: its configured name.
        let own = Url::parse("https://feeds.example.org/rss").unwrap();
        let home = Url::parse("https://www.example.org/").unwrap();
        assert_eq!(
            credit(
                None,
                Some("https://www.example.org/a"),
                &own,
                Some(&home),
                "Example News"
            ),
            "Example News"
        );
        assert_eq!(
            credit(
                None,
                Some("https://example.org/a"),
                &own,
                None,
                "Example News"
            ),
            "Example News"
        );
        // No link at all: the feed's name.
        assert_eq!(
            credit(None, None, &own, None, "Example News"),
            "Example News"
        );
        assert_eq!(site_name("M.BBC.co.uk"), "bbc.co.uk");
        assert_eq!(site_name("www.com"), "www.com");
    }
}
