//! Composing a Fediverse post (a Mastodon status / an ActivityPub `Note`)
//! for one story.
//!
//! A post is: the title, the summary, "via" the outlets, the link to the
//! original article, and hashtags. Followers mostly read it on Mastodon, so
//! the post keeps Mastodon's rules even though we federate it ourselves:
//! - at most 500 characters as Mastodon counts them ([`mastodon_length`]):
//!   content warning plus text, every recognised http(s) URL as 23;
//! - HTML limited to `p`, `a` and `br` (what Mastodon keeps of remote
//!   content anyway), links with `rel="nofollow noopener noreferrer"`,
//!   hashtags as `<a class="hashtag" rel="tag">` to the caller's tag URL;
//! - the language travels with the post (Mastodon's `language`, AP's
//!   `contentMap`).
//!
//! When the parts do not fit, they give way in this order: summary
//! sentences from the end (never half a sentence), the item's hashtags
//! (topic hashtags come first and stay longest), extra source names (shown
//! as "+N"), then the last sentence is cut at a word boundary, then the
//! remaining hashtags and the summary go, and only then the title is cut.
//!
//! This lives in `publish` rather than `summary` because it is about the
//! target's limits and markup; it uses `summary` only for sentence
//! boundaries and text clean-up.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use thiserror::Error;
use url::Url;

use super::LINK_REL;
use crate::summary::{clean_line, join_sentences, sentences::split_sentences, text::cap_bytes};
use crate::text::{escape_html, normalize_language_tag, safe_http_url, truncate_at_word};

/// Mastodon's default status limit.
pub const MASTODON_MAX_CHARS: usize = 500;
/// Characters Mastodon charges for any URL, whatever its real length.
pub const MASTODON_URL_LENGTH: usize = 23;
/// Hashtags longer than this are noise (and Mastodon truncates tag names).
pub const MAX_HASHTAG_CHARS: usize = 40;
/// Longest source name shown; a feed title can be a whole tagline.
const MAX_SOURCE_NAME_CHARS: usize = 60;
/// Longest article link accepted. The 23-character rule is Mastodon's
/// treatment of ordinary URLs; nobody has checked it for monsters, and no
/// outlet's article URL is this long.
pub const MAX_LINK_CHARS: usize = 2048;
/// A summary cut to fewer characters than this says nothing; drop it.
const MIN_SUMMARY_ROOM: usize = 40;

/// URLs as Mastodon's twitter-text extractor finds them, approximated on the
/// safe side: wherever we could disagree, we count more than Mastodon does
/// (fewer chars in the path set, no IDN hosts, trailing punctuation not part
/// of the URL), except that any alphabetic TLD is accepted where
/// twitter-text knows a fixed list (see the crate notes).
static URL_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:^|[^A-Za-z0-9@＠$#＃\x{202A}-\x{202E}\x{FEFF}\x{FFFE}\x{FFFF}])",
        r"((?i:https?)://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+",
        r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})(?::[0-9]{1,5})?",
        r"(?:[/?#][A-Za-z0-9!*';:=+,.$/%#\[\]\-_~&|@()?]*)?)",
    ))
    .ok()
});

/// Characters a twitter-text URL may end with; anything else at the end
/// (".", ",", ")", "!") is sentence punctuation and counts as text.
fn valid_url_end(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '=' | '_' | '#' | '/' | '+' | '-' | '&')
}

/// Length of a status text as Mastodon counts it: every http(s) URL counts
/// 23, everything else one per character.
///
/// Mastodon counts grapheme clusters; we count Unicode scalar values, which
/// is never fewer, so a post within our count is within Mastodon's (an
/// emoji with modifiers costs us a few characters of room, nothing more).
/// A content warning counts too but without the URL rule: add
/// `spoiler.chars().count()`, as [`compose_post`] does.
pub fn mastodon_length(text: &str) -> usize {
    let total = text.chars().count();
    let Some(re) = URL_RE.as_ref() else {
        return total;
    };
    let mut saved = 0usize;
    let mut urls = 0usize;
    for caps in re.captures_iter(text) {
        let Some(m) = caps.get(1) else { continue };
        let url = m.as_str().trim_end_matches(|c: char| !valid_url_end(c));
        let len = url.chars().count();
        saved += len;
        urls += 1;
    }
    total - saved + urls * MASTODON_URL_LENGTH
}

/// A hashtag in CamelCase without the "#": non-alphanumerics removed, each
/// word capitalised ("general assembly" → "GeneralAssembly", "#U.S." → "US",
/// "台灣" stays). `None` when nothing alphabetic is left (Mastodon does not
/// link all-digit tags) or the tag is longer than [`MAX_HASHTAG_CHARS`].
pub fn normalize_hashtag(raw: &str) -> Option<String> {
    let mut out = String::new();
    for word in raw.split(|c: char| !c.is_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    let len = out.chars().count();
    (out.chars().any(char::is_alphabetic) && len <= MAX_HASHTAG_CHARS).then_some(out)
}

/// Topic hashtags first, then the item's, normalised, de-duplicated
/// case-insensitively (the first spelling wins), at most `max`.
pub fn hashtags(topic: &[String], item: &[String], max: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    topic
        .iter()
        .chain(item)
        .filter_map(|t| normalize_hashtag(t))
        .filter(|t| seen.insert(t.to_lowercase()))
        .take(max)
        .collect()
}

/// What a post is made from. Text fields are plain text (a title as the
/// feed parser returned it, a summary from [`crate::summary::summarize`]);
/// anything that looks like markup is shown literally, escaped.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostInput<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    /// Outlet names, first the one whose article `link` points to.
    pub sources: &'a [String],
    /// The original article; must be an absolute http(s) URL.
    pub link: &'a str,
    /// BCP 47 tag of the item.
    pub language: &'a str,
    /// Hashtags configured for the topic; they come first and are dropped last.
    pub topic_hashtags: &'a [String],
    /// Hashtags derived from the item (its categories, matched terms).
    pub item_hashtags: &'a [String],
    /// Content warning configured for the topic, if any.
    pub spoiler_text: Option<&'a str>,
}

/// Limits and addresses for composing posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostOptions {
    /// Character limit, content warning included ([`MASTODON_MAX_CHARS`]).
    pub max_chars: usize,
    /// Base of hashtag links, e.g. `https://bot.example/tags/`; the tag is
    /// appended as a path segment.
    pub tag_base_url: String,
    /// Most hashtags on one post.
    pub max_hashtags: usize,
    /// Longest content warning; longer ones are cut at a word.
    pub max_spoiler_chars: usize,
}

impl PostOptions {
    /// Mastodon's defaults with the given tag base URL.
    pub fn new(tag_base_url: impl Into<String>) -> Self {
        Self {
            max_chars: MASTODON_MAX_CHARS,
            tag_base_url: tag_base_url.into(),
            max_hashtags: 5,
            max_spoiler_chars: 100,
        }
    }
}

/// A post ready for the Mastodon API (`text`, `language`, `spoiler_text`) or
/// for an ActivityPub `Note` (`html`, `language`, `hashtags` for `tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposedPost {
    /// `p`/`a`/`br` HTML, everything escaped.
    pub html: String,
    /// Plain text as a Mastodon API `status`.
    pub text: String,
    /// BCP 47 tag ("und" if the item's was unusable).
    pub language: String,
    /// Content warning, counted in `mastodon_length`.
    pub spoiler_text: Option<String>,
    /// The hashtags the post carries (without "#"), in order.
    pub hashtags: Vec<String>,
    /// `mastodon_length(text)` plus the content warning's characters.
    pub mastodon_length: usize,
}

/// Why a post could not be composed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PostError {
    #[error("link is not an absolute http(s) URL: {0:?}")]
    InvalidLink(String),
    #[error("link is longer than {MAX_LINK_CHARS} characters")]
    LinkTooLong,
    #[error("hashtag base is not an absolute http(s) URL: {0:?}")]
    InvalidTagBase(String),
    #[error("post cannot fit {limit} characters even with title cut (needs {length})")]
    DoesNotFit { length: usize, limit: usize },
}

/// The parts of a post as they shrink.
#[derive(Debug, Clone)]
struct Parts {
    title: String,
    sentences: Vec<String>,
    sources: Vec<String>,
    sources_shown: usize,
    link: String,
    tags: Vec<String>,
    via_label: &'static str,
    source_separator: &'static str,
}

impl Parts {
    fn summary(&self) -> String {
        join_sentences(&self.sentences)
    }

    fn via_line(&self) -> Option<String> {
        if self.sources.is_empty() || self.sources_shown == 0 {
            return None;
        }
        let shown = self.sources_shown.min(self.sources.len());
        let mut line = format!(
            "{}{}",
            self.via_label,
            self.sources[..shown].join(self.source_separator)
        );
        let hidden = self.sources.len() - shown;
        if hidden > 0 {
            line.push_str(&format!(" +{hidden}"));
        }
        Some(line)
    }

    fn text(&self) -> String {
        let mut blocks: Vec<String> = Vec::new();
        if !self.title.is_empty() {
            blocks.push(self.title.clone());
        }
        let summary = self.summary();
        if !summary.is_empty() {
            blocks.push(summary);
        }
        match self.via_line() {
            Some(via) => blocks.push(format!("{via}\n{}", self.link)),
            None => blocks.push(self.link.clone()),
        }
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|t| format!("#{t}")).collect();
            blocks.push(tags.join(" "));
        }
        blocks.join("\n\n")
    }

    fn html(&self, tag_base: &Url) -> String {
        let mut html = String::new();
        if !self.title.is_empty() {
            html.push_str(&format!("<p>{}</p>", escape_html(&self.title)));
        }
        let summary = self.summary();
        if !summary.is_empty() {
            html.push_str(&format!("<p>{}</p>", escape_html(&summary)));
        }
        html.push_str("<p>");
        if let Some(via) = self.via_line() {
            html.push_str(&escape_html(&via));
            html.push_str("<br>");
        }
        let link = escape_html(&self.link);
        html.push_str(&format!(
            r#"<a href="{link}" rel="{LINK_REL}">{link}</a></p>"#
        ));
        if !self.tags.is_empty() {
            let anchors: Vec<String> = self
                .tags
                .iter()
                .map(|t| {
                    format!(
                        r#"<a href="{}" class="hashtag" rel="tag">#{}</a>"#,
                        escape_html(&tag_url(tag_base, t)),
                        escape_html(t)
                    )
                })
                .collect();
            html.push_str(&format!("<p>{}</p>", anchors.join(" ")));
        }
        sanitize_post_html(&html)
    }
}

/// `base` with `tag` appended as one percent-encoded path segment.
fn tag_url(base: &Url, tag: &str) -> String {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push(tag);
    }
    url.into()
}

/// ammonia with the post allow-list; `rel` is allowed as an attribute
/// (rather than forced with `link_rel`) because hashtag links carry
/// `rel="tag"`. All markup reaching this was built by us from escaped text.
fn sanitize_post_html(html: &str) -> String {
    ammonia::Builder::empty()
        .tags(HashSet::from(["p", "a", "br"]))
        .tag_attributes(HashMap::from([("a", HashSet::from(["href", "rel"]))]))
        .allowed_classes(HashMap::from([("a", HashSet::from(["hashtag"]))]))
        .url_schemes(HashSet::from(["http", "https"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(None)
        .clean(html)
        .to_string()
}

/// "via " and the separator between outlet names, in the post's language.
fn via_words(language: &str) -> (&'static str, &'static str) {
    let lower = language.to_ascii_lowercase();
    if lower.starts_with("zh") {
        let simplified = ["zh-cn", "zh-sg", "zh-hans", "zh-my"]
            .iter()
            .any(|p| lower.starts_with(p));
        (if simplified { "来源：" } else { "來源：" }, "、")
    } else {
        ("via ", ", ")
    }
}

/// Composes the post for one story within `options.max_chars`.
pub fn compose_post(
    input: &PostInput<'_>,
    options: &PostOptions,
) -> Result<ComposedPost, PostError> {
    let link =
        safe_http_url(input.link).ok_or_else(|| PostError::InvalidLink(clean_line(input.link)))?;
    if link.chars().count() > MAX_LINK_CHARS {
        return Err(PostError::LinkTooLong);
    }
    let tag_base = safe_http_url(&options.tag_base_url)
        .and_then(|u| Url::parse(&u).ok())
        .ok_or_else(|| PostError::InvalidTagBase(options.tag_base_url.clone()))?;
    let language = normalize_language_tag(input.language);
    let (via_label, source_separator) = via_words(&language);

    let mut seen_sources = HashSet::new();
    let sources: Vec<String> = input
        .sources
        .iter()
        .map(|s| truncate_at_word(&clean_line(s), MAX_SOURCE_NAME_CHARS))
        .filter(|s| !s.is_empty() && seen_sources.insert(s.to_lowercase()))
        .collect();
    let spoiler_text = input
        .spoiler_text
        .map(|s| truncate_at_word(&clean_line(s), options.max_spoiler_chars))
        .filter(|s| !s.is_empty());
    let spoiler_len = spoiler_text.as_ref().map_or(0, |s| s.chars().count());
    let topic_tags = hashtags(input.topic_hashtags, &[], options.max_hashtags).len();

    let mut parts = Parts {
        title: clean_line(input.title),
        sentences: split_sentences(&clean_line(cap_bytes(input.summary, 64 * 1024))),
        sources_shown: sources.len(),
        sources,
        link,
        tags: hashtags(
            input.topic_hashtags,
            input.item_hashtags,
            options.max_hashtags,
        ),
        via_label,
        source_separator,
    };
    let limit = options.max_chars;
    let measure = |p: &Parts| mastodon_length(&p.text()) + spoiler_len;
    let fits = |p: &Parts| measure(p) <= limit;

    while !fits(&parts) && parts.sentences.len() > 1 {
        parts.sentences.pop();
    }
    while !fits(&parts) && parts.tags.len() > topic_tags {
        parts.tags.pop();
    }
    while !fits(&parts) && parts.sources_shown > 1 {
        parts.sources_shown -= 1;
    }
    if !fits(&parts) && !parts.sentences.is_empty() {
        let full = parts.summary();
        parts.sentences.clear();
        let mut room = limit.saturating_sub(measure(&parts) + 2);
        while room >= MIN_SUMMARY_ROOM {
            parts.sentences = vec![truncate_at_word(&full, room)];
            let over = measure(&parts).saturating_sub(limit);
            if over == 0 {
                break;
            }
            parts.sentences.clear();
            room = room.saturating_sub(over.max(1));
        }
    }
    while !fits(&parts) && !parts.tags.is_empty() {
        parts.tags.pop();
    }
    if !fits(&parts) {
        parts.sentences.clear();
    }
    if !fits(&parts) && !parts.title.is_empty() {
        let full = parts.title.clone();
        parts.title.clear();
        let mut room = limit.saturating_sub(measure(&parts) + 2);
        while room > 0 {
            parts.title = truncate_at_word(&full, room);
            let over = measure(&parts).saturating_sub(limit);
            if over == 0 {
                break;
            }
            parts.title.clear();
            room = room.saturating_sub(over.max(1));
        }
    }
    if !fits(&parts) {
        parts.sources_shown = 0;
    }
    let length = measure(&parts);
    if length > limit {
        return Err(PostError::DoesNotFit { length, limit });
    }
    Ok(ComposedPost {
        html: parts.html(&tag_base),
        text: parts.text(),
        language,
        spoiler_text,
        hashtags: parts.tags,
        mastodon_length: length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_regex_compiles() {
        assert!(URL_RE.is_some());
    }

    #[test]
    fn urls_count_23() {
        assert_eq!(mastodon_length("abc"), 3);
        let long = "https://focustaiwan.tw/politics/202511240001?utm_source=rss&x=1";
        assert_eq!(mastodon_length(long), 23);
        assert_eq!(mastodon_length(&format!("see {long}.")), 4 + 23 + 1);
        assert_eq!(mastodon_length("http://a.co"), 23);
        // not URLs for Mastodon: glued to a word, or no TLD
        assert_eq!(mastodon_length("xhttps://example.com/abc"), 24);
        assert_eq!(mastodon_length("http://localhost/x"), 18);
        assert_eq!(mastodon_length("台灣"), 2);
    }

    #[test]
    fn hashtag_normalisation() {
        assert_eq!(
            normalize_hashtag("general assembly"),
            Some("GeneralAssembly".into())
        );
        assert_eq!(normalize_hashtag("#U.S."), Some("US".into()));
        assert_eq!(normalize_hashtag("台灣"), Some("台灣".into()));
        assert_eq!(normalize_hashtag("2025"), None);
        assert_eq!(normalize_hashtag("<script>"), Some("Script".into()));
        let tags = hashtags(
            &["interpol".into(), "Taiwan".into()],
            &["INTERPOL".into(), "taiwan".into(), "cyber crime".into()],
            10,
        );
        assert_eq!(tags, vec!["Interpol", "Taiwan", "CyberCrime"]);
    }

    /// The post's plain text travels with it (the Mastodon API's `status`);
    /// it must say what the HTML says, so nothing downstream re-derives it.
    #[test]
    fn text_is_the_html_as_plain_text() -> Result<(), PostError> {
        let sources = ["CNA".to_string(), "Focus Taiwan".to_string()];
        let topic = ["INTERPOL".to_string()];
        let input = PostInput {
            title: "Taiwan shut out & \"angry\"",
            summary: "INTERPOL's assembly opened in Lyon. Taiwan's bid was not tabled.",
            sources: &sources,
            link: "https://news.example/a?b=1&c=2",
            language: "en",
            topic_hashtags: &topic,
            item_hashtags: &["Taiwan".to_string()],
            spoiler_text: None,
        };
        let post = compose_post(&input, &PostOptions::new("https://bot.example/tags/"))?;
        assert_eq!(crate::text::html_to_text(&post.html), post.text);
        assert!(post.text.contains("via CNA"), "{}", post.text);
        assert!(post.text.ends_with("#INTERPOL #Taiwan"), "{}", post.text);
        Ok(())
    }

    #[test]
    fn language_tags() {
        assert_eq!(normalize_language_tag("zh_TW"), "zh-TW");
        assert_eq!(normalize_language_tag("EN"), "en");
        assert_eq!(normalize_language_tag("<script>"), "und");
    }
}
