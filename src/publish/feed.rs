//! The bot's own feed in three formats, rendered from plain data.
//!
//! RSS 2.0 and Atom go through the `rss` and `atom_syndication` writers
//! (quick-xml underneath), so escaping and CDATA splitting (`]]>`) are the
//! writers' job, done by code the ecosystem already trusts; JSON Feed 1.1 is
//! a serde struct. What the writers cannot know is done here first: XML 1.0
//! forbids most control characters even when escaped, so every string is
//! stripped of them, and links that are not absolute http(s) URLs are left
//! out rather than rendered.
//!
//! Identity: an entry's `id` is the stable URL of our story page. RSS puts
//! it in `guid` (`isPermaLink="true"` when it is an http(s) URL), Atom in
//! `id`, JSON Feed in `id` and `url`. The entry's `link` is the original
//! article (RSS `link`, Atom `link rel="alternate"`, JSON `external_url`);
//! when it is unusable, RSS and Atom point to the story page instead.
//! The `rss` writer leaves `isPermaLink` out when it is true, which is the
//! RSS 2.0 default, and writes `isPermaLink="false"` for non-URL ids.
//!
//! Entries are rendered newest first whatever order the caller passes.

use std::collections::BTreeMap;

use atom_syndication as atom;
use chrono::{DateTime, Utc};
use rss::extension::atom::{AtomExtension, Link as AtomLink};
use rss::extension::dublincore::DublinCoreExtension;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::sanitize_html;
use crate::model::FeedEntry;
use crate::summary::strip_control_chars;
use crate::text::{escape_html, safe_http_url};

/// `Content-Type` for `/feed.xml`.
pub const CONTENT_TYPE_RSS: &str = "application/rss+xml; charset=utf-8";
/// `Content-Type` for `/feed.atom`.
pub const CONTENT_TYPE_ATOM: &str = "application/atom+xml; charset=utf-8";
/// `Content-Type` for `/feed.json` (the type JSON Feed 1.1 registers).
pub const CONTENT_TYPE_JSON: &str = "application/feed+json; charset=utf-8";

/// File names under [`FeedMeta::feed_base_url`].
pub const RSS_FILE: &str = "feed.xml";
/// See [`RSS_FILE`].
pub const ATOM_FILE: &str = "feed.atom";
/// See [`RSS_FILE`].
pub const JSON_FILE: &str = "feed.json";

/// What the generator element says.
const GENERATOR: &str = "feedwatch";

/// The feed as a whole (from configuration, hence trusted, but treated like
/// the rest anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMeta {
    pub title: String,
    pub description: String,
    /// The bot's public home page (`[bot] base_url`).
    pub home_url: String,
    /// Where `/feed.xml`, `/feed.atom` and `/feed.json` live.
    pub feed_base_url: String,
    /// BCP 47 tag of the feed as a whole.
    pub language: String,
    /// Time of the newest change; `lastBuildDate` / `updated`.
    pub updated: DateTime<Utc>,
    pub author: String,
}

/// Absolute URL of one of our feed files.
pub fn feed_url(meta: &FeedMeta, file: &str) -> String {
    format!("{}/{file}", meta.feed_base_url.trim_end_matches('/'))
}

fn clean(s: &str) -> String {
    strip_control_chars(s).trim().to_string()
}

fn tag_term(tag: &str) -> String {
    clean(tag.trim_start_matches('#'))
}

/// Where a reader should go for the entry: the original article, or our
/// story page when the article link is unusable (`javascript:`, relative),
/// so that every entry stays clickable.
fn entry_link(e: &FeedEntry) -> Option<String> {
    safe_http_url(&e.link).or_else(|| safe_http_url(&e.id))
}

/// Entries newest first (stable for equal dates).
fn newest_first(entries: &[FeedEntry]) -> Vec<&FeedEntry> {
    let mut sorted: Vec<&FeedEntry> = entries.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.published));
    sorted
}

/// Labels of the entry body, in the entry's language.
struct Labels {
    original: &'static str,
    reported_by: &'static str,
}

fn labels(language: &str) -> Labels {
    if language.to_ascii_lowercase().starts_with("zh") {
        Labels {
            original: "閱讀原文",
            reported_by: "報導來源：",
        }
    } else {
        Labels {
            original: "Read the original article",
            reported_by: "Reported by: ",
        }
    }
}

/// The entry body as sanitized HTML: the summary, a link to the original
/// article and the outlets that reported the story. Built from escaped
/// parts, then run through ammonia all the same.
pub fn entry_html(entry: &FeedEntry) -> String {
    let labels = labels(&entry.language);
    let mut html = format!("<p>{}</p>", escape_html(&clean(&entry.summary)));
    if let Some(link) = safe_http_url(&entry.link) {
        html.push_str(&format!(
            r#"<p><a href="{}">{}</a></p>"#,
            escape_html(&link),
            labels.original
        ));
    }
    let sources: Vec<String> = entry
        .sources
        .iter()
        .filter(|s| !clean(&s.name).is_empty())
        .map(|s| {
            let name = escape_html(&clean(&s.name));
            match safe_http_url(&s.url) {
                Some(url) => format!(r#"<a href="{}">{name}</a>"#, escape_html(&url)),
                None => name,
            }
        })
        .collect();
    if !sources.is_empty() {
        html.push_str(&format!(
            "<p>{}{}</p>",
            labels.reported_by,
            sources.join(", ")
        ));
    }
    sanitize_html(&html)
}

/// The entry body as plain text (JSON Feed `content_text`).
pub fn entry_text(entry: &FeedEntry) -> String {
    let labels = labels(&entry.language);
    let mut text = clean(&entry.summary);
    if let Some(link) = safe_http_url(&entry.link) {
        text.push_str(&format!("\n\n{}: {link}", labels.original));
    }
    let sources: Vec<String> = entry
        .sources
        .iter()
        .filter(|s| !clean(&s.name).is_empty())
        .map(|s| match safe_http_url(&s.url) {
            Some(url) => format!("{} ({url})", clean(&s.name)),
            None => clean(&s.name),
        })
        .collect();
    if !sources.is_empty() {
        text.push_str(&format!("\n\n{}{}", labels.reported_by, sources.join(", ")));
    }
    text
}

/// Renders RSS 2.0 with `atom:link rel="self"`, `guid`, RFC 2822 dates,
/// `content:encoded`, categories and `dc:language`.
pub fn render_rss(meta: &FeedMeta, entries: &[FeedEntry]) -> String {
    let self_url = feed_url(meta, RSS_FILE);
    let items: Vec<rss::Item> = newest_first(entries)
        .into_iter()
        .map(|e| {
            let id = clean(&e.id);
            let guid = rss::Guid {
                permalink: safe_http_url(&id).is_some(),
                value: id,
            };
            // dc:language only where the item's language is not the
            // channel's: the channel's <language> already says it.
            let lang = clean(&e.language);
            let dc = DublinCoreExtension {
                languages: if lang == clean(&meta.language) {
                    Vec::new()
                } else {
                    vec![lang]
                },
                creators: vec![clean(&meta.author)],
                ..Default::default()
            };
            rss::Item {
                title: Some(clean(&e.title)),
                link: entry_link(e),
                // RSS descriptions are HTML by convention: escape the text
                // so that readers show a literal "<b>" rather than bold.
                description: Some(escape_html(&clean(&e.summary))),
                guid: Some(guid),
                pub_date: Some(e.published.to_rfc2822()),
                content: Some(entry_html(e)),
                categories: e
                    .hashtags
                    .iter()
                    .map(|t| tag_term(t))
                    .filter(|t| !t.is_empty())
                    .map(|name| rss::Category { name, domain: None })
                    .collect(),
                dublin_core_ext: Some(dc),
                ..Default::default()
            }
        })
        .collect();
    let atom_ext = AtomExtension {
        links: vec![AtomLink {
            href: self_url,
            rel: "self".into(),
            mime_type: Some("application/rss+xml".into()),
            ..Default::default()
        }],
    };
    let channel = rss::Channel {
        title: clean(&meta.title),
        link: safe_http_url(&meta.home_url).unwrap_or_else(|| clean(&meta.home_url)),
        description: clean(&meta.description),
        language: Some(clean(&meta.language)),
        last_build_date: Some(meta.updated.to_rfc2822()),
        generator: Some(GENERATOR.into()),
        items,
        atom_ext: Some(atom_ext),
        namespaces: BTreeMap::new(),
        ..Default::default()
    };
    // Writing to memory cannot fail: the writer's only errors are I/O.
    let xml = channel
        .write_to(Vec::new())
        .ok()
        .and_then(|buf| String::from_utf8(buf).ok())
        .unwrap_or_default();
    with_stylesheet(&xml)
}

fn atom_date(d: &DateTime<Utc>) -> atom::FixedDateTime {
    d.fixed_offset()
}

/// An Atom `id` must be an IRI; a caller id that is not one becomes a
/// stable `urn:sha256:` name instead of an invalid document.
fn atom_id(id: &str) -> String {
    let id = clean(id);
    match url::Url::parse(&id) {
        Ok(_) => id,
        Err(_) => format!("urn:sha256:{}", hex(&Sha256::digest(id.as_bytes()))),
    }
}

/// Renders Atom 1.0: feed `id`, `updated`, `link rel="self"` and
/// `rel="alternate"`, author; per entry `content type="html"`, categories.
pub fn render_atom(meta: &FeedMeta, entries: &[FeedEntry]) -> String {
    let home = safe_http_url(&meta.home_url).unwrap_or_else(|| clean(&meta.home_url));
    let author = atom::Person {
        name: clean(&meta.author),
        uri: safe_http_url(&meta.home_url),
        ..Default::default()
    };
    let entry_langs_in_order: Vec<String> = newest_first(entries)
        .into_iter()
        .map(|e| clean(&e.language))
        .collect();
    let atom_entries: Vec<atom::Entry> = newest_first(entries)
        .into_iter()
        .map(|e| {
            let lang = clean(&e.language);
            let mut links = Vec::new();
            if let Some(link) = entry_link(e) {
                links.push(atom::Link {
                    href: link,
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Default::default()
                });
            }
            for source in &e.sources {
                if let Some(url) = safe_http_url(&source.url) {
                    links.push(atom::Link {
                        href: url,
                        rel: "related".into(),
                        title: Some(clean(&source.name)),
                        ..Default::default()
                    });
                }
            }
            let mut summary = atom::Text::plain(clean(&e.summary));
            summary.lang = Some(lang.clone());
            let mut title = atom::Text::plain(clean(&e.title));
            title.lang = Some(lang.clone());
            atom::Entry {
                title,
                id: atom_id(&e.id),
                updated: atom_date(&e.updated),
                published: Some(atom_date(&e.published)),
                authors: vec![author.clone()],
                links,
                categories: e
                    .hashtags
                    .iter()
                    .map(|t| tag_term(t))
                    .filter(|t| !t.is_empty())
                    .map(|term| atom::Category {
                        term,
                        ..Default::default()
                    })
                    .collect(),
                summary: Some(summary),
                content: Some(atom::Content {
                    value: Some(entry_html(e)),
                    content_type: Some("html".into()),
                    lang: Some(lang),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let feed = atom::Feed {
        title: atom::Text::plain(clean(&meta.title)),
        subtitle: Some(atom::Text::plain(clean(&meta.description))),
        id: atom_id(&feed_url(meta, ATOM_FILE)),
        updated: atom_date(&meta.updated),
        authors: vec![author],
        links: vec![
            atom::Link {
                href: feed_url(meta, ATOM_FILE),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            atom::Link {
                href: home,
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ],
        generator: Some(atom::Generator {
            value: GENERATOR.into(),
            ..Default::default()
        }),
        lang: Some(clean(&meta.language)),
        entries: atom_entries,
        ..Default::default()
    };
    // See render_rss: writing to memory cannot fail.
    let xml = feed
        .write_to(Vec::new())
        .ok()
        .and_then(|buf| String::from_utf8(buf).ok())
        .unwrap_or_default();
    with_stylesheet(&entry_langs(&xml, &entry_langs_in_order))
}

/// Puts `xml:lang` on each `<entry>` start tag, in document order.
/// atom_syndication has no entry-level `lang`; its writer emits a bare
/// `<entry>` (feed text is escaped, so the literal never occurs inside
/// one), which makes the substitution exact.
fn entry_langs(xml: &str, langs: &[String]) -> String {
    let mut out = String::with_capacity(xml.len() + langs.len() * 20);
    let mut rest = xml;
    for lang in langs {
        let Some(at) = rest.find("<entry>") else {
            break;
        };
        out.push_str(&rest[..at]);
        out.push_str("<entry xml:lang=\"");
        out.push_str(&escape_html(lang));
        out.push_str("\">");
        rest = &rest[at + "<entry>".len()..];
    }
    out.push_str(rest);
    out
}

/// Where the feed stylesheet is, relative to the feed (served by `web` next
/// to the feeds, and written next to them by `outputs::write_files`).
pub const STYLESHEET_FILE: &str = "feed.xsl";

/// The XSLT 1.0 stylesheet itself: the feed as a readable page with a
/// "how to subscribe" note.
pub const STYLESHEET: &str = include_str!("feed.xsl");

/// The stylesheet's MIME type (Chromium and Firefox apply `text/xsl`).
pub const CONTENT_TYPE_XSL: &str = "text/xsl; charset=utf-8";

/// Adds the `xml-stylesheet` processing instruction after the declaration,
/// so a browser shows a readable page while feed readers, which ignore
/// processing instructions, see the same feed.
fn with_stylesheet(xml: &str) -> String {
    let pi = format!("<?xml-stylesheet type=\"text/xsl\" href=\"{STYLESHEET_FILE}\"?>");
    match xml
        .strip_prefix("<?xml")
        .and_then(|r| r.find("?>").map(|i| i + 2 + 5))
    {
        Some(end) => format!("{}\n{pi}\n{}", &xml[..end], xml[end..].trim_start()),
        None => format!("{pi}\n{xml}"),
    }
}

/// JSON Feed 1.1 top level (only the fields we fill).
#[derive(Serialize)]
struct JsonFeed {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: String,
    description: String,
    language: String,
    authors: Vec<JsonAuthor>,
    items: Vec<JsonItem>,
}

#[derive(Serialize, Clone)]
struct JsonAuthor {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct JsonItem {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_url: Option<String>,
    title: String,
    content_html: String,
    content_text: String,
    summary: String,
    date_published: String,
    date_modified: String,
    tags: Vec<String>,
    language: String,
    authors: Vec<JsonAuthor>,
}

/// The JSON Feed version URL we write.
pub const JSON_FEED_VERSION: &str = "https://jsonfeed.org/version/1.1";

/// Renders JSON Feed 1.1.
///
/// `<`, `>`, `&`, U+2028 and U+2029 are written as `\u` escapes: still the
/// same JSON, but the body stays inert if someone embeds it in an HTML
/// `<script>` or a JavaScript string.
pub fn render_json(meta: &FeedMeta, entries: &[FeedEntry]) -> String {
    let author = JsonAuthor {
        name: clean(&meta.author),
        url: safe_http_url(&meta.home_url),
    };
    let items = newest_first(entries)
        .into_iter()
        .map(|e| JsonItem {
            id: clean(&e.id),
            url: safe_http_url(&e.id),
            external_url: safe_http_url(&e.link),
            title: clean(&e.title),
            content_html: entry_html(e),
            content_text: entry_text(e),
            summary: clean(&e.summary),
            date_published: e.published.to_rfc3339(),
            date_modified: e.updated.to_rfc3339(),
            tags: e
                .hashtags
                .iter()
                .map(|t| tag_term(t))
                .filter(|t| !t.is_empty())
                .collect(),
            language: clean(&e.language),
            authors: vec![author.clone()],
        })
        .collect();
    let feed = JsonFeed {
        version: JSON_FEED_VERSION,
        title: clean(&meta.title),
        home_page_url: safe_http_url(&meta.home_url).unwrap_or_else(|| clean(&meta.home_url)),
        feed_url: feed_url(meta, JSON_FILE),
        description: clean(&meta.description),
        language: clean(&meta.language),
        authors: vec![author],
        items,
    };
    // Serialising plain strings and vectors cannot fail.
    let json = serde_json::to_string_pretty(&feed).unwrap_or_default();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A strong ETag for a rendered body: the first 128 bits of its SHA-256,
/// quoted. Same bytes, same tag, across restarts and replicas, so
/// conditional GETs keep working after a redeploy.
pub fn etag_for(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_strong_and_stable() {
        let a = etag_for(b"abc");
        assert_eq!(a, etag_for(b"abc"));
        assert_ne!(a, etag_for(b"abd"));
        assert!(a.starts_with('"') && a.ends_with('"') && !a.starts_with("W/"));
        assert_eq!(a.len(), 34);
    }

    #[test]
    fn non_url_guid_is_not_a_permalink() {
        let meta = FeedMeta {
            title: "t".into(),
            description: "d".into(),
            home_url: "https://bot.example/".into(),
            feed_base_url: "https://bot.example".into(),
            language: "en".into(),
            updated: DateTime::UNIX_EPOCH,
            author: "a".into(),
        };
        let entry = FeedEntry {
            id: "story-42".into(),
            title: "t".into(),
            summary: "s".into(),
            link: "https://news.example/1".into(),
            sources: vec![],
            hashtags: vec![],
            language: "en".into(),
            published: DateTime::UNIX_EPOCH,
            updated: DateTime::UNIX_EPOCH,
        };
        let rss = render_rss(&meta, std::slice::from_ref(&entry));
        assert!(
            rss.contains(r#"<guid isPermaLink="false">story-42</guid>"#),
            "{rss}"
        );
        let atom = render_atom(&meta, &[entry]);
        assert!(atom.contains("<id>urn:sha256:"), "{atom}");
        assert!(atom.contains("<id>https://bot.example/feed.atom</id>"));
    }

    #[test]
    fn atom_ids_are_iris() {
        assert_eq!(atom_id("https://x.example/s/1"), "https://x.example/s/1");
        assert!(atom_id("not an iri").starts_with("urn:sha256:"));
    }
}
