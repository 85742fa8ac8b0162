//! Small HTML building blocks: escaping, URL vetting and the page shell.
//!
//! There is no template engine, so these few functions are the whole safety
//! story: every interpolated value goes through [`escape_html`] (the text
//! toolkit's, shared with the feed renderer, so a title reads the same in
//! both), every data-derived `href` through [`safe_http_url`] (or
//! [`local_or_http_url`]).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::SiteInfo;
use super::style::CSS;

use crate::text::{escape_html, normalize_language_tag, safe_http_url};

/// Like [`safe_http_url`], but also accepts a site-local absolute path
/// (`/stories/x`), because our own page URLs may be given relative.
/// `//host` (scheme-relative) and `/\host` are refused: browsers treat both
/// as another host.
pub fn local_or_http_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.starts_with('/') && !raw.starts_with("//") && !raw.starts_with("/\\") {
        let base = url::Url::parse("http://localhost/").ok()?;
        let joined = base.join(raw).ok()?;
        let mut path = joined.path().to_owned();
        if let Some(q) = joined.query() {
            path.push('?');
            path.push_str(q);
        }
        return Some(path);
    }
    safe_http_url(raw)
}

/// Percent-encodes one path segment or query value (everything but
/// unreserved characters), for URLs we build from ids and source names.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The site-local path of a tag's page, the tag percent-encoded. Here, with
/// the other URL builders, so the story cards (`public`) and the tag page
/// (`tags`) both import it without importing each other.
pub fn tag_path(tag: &str) -> String {
    format!(
        "/tags/{}",
        encode_component(tag.trim().trim_start_matches('#'))
    )
}

/// `<time>` with a machine-readable value and a date every reader parses
/// the same way (UTC, ISO-like; the pages have no client-side code to
/// localise it).
pub fn time_tag(t: &DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        t.format("%Y-%m-%d %H:%M UTC")
    )
}

/// `time_tag` or an em dash for "never".
pub fn opt_time_tag(t: Option<&DateTime<Utc>>) -> String {
    t.map_or_else(|| "<span class=\"muted\">—</span>".to_owned(), time_tag)
}

/// Which extra `<head>` entries a page gets.
pub struct Head<'a> {
    /// `<html lang>`.
    pub lang: &'a str,
    /// The `<title>` text (escaped here).
    pub title: &'a str,
    /// Public pages advertise the feeds; admin pages don't (and say noindex).
    pub public: bool,
    /// A wider layout for tables.
    pub wide: bool,
}

/// The feeds, in the order readers prefer them: (path, MIME type, label).
pub const FEEDS: [(&str, &str, &str); 3] = [
    ("/feed.xml", "application/rss+xml", "RSS"),
    ("/feed.atom", "application/atom+xml", "Atom"),
    ("/feed.json", "application/feed+json", "JSON Feed"),
];

/// Wraps `body` (already-safe HTML) into a complete document.
///
/// The CSP `<meta>` forbids every external load and every script, so even
/// a mistake elsewhere cannot make the page fetch from a CDN or run code.
pub fn document(site: &SiteInfo, head: &Head<'_>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + CSS.len() + 1024);
    let site_title = escape_html(&site.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'\">\n\
         <meta name=\"referrer\" content=\"strict-origin-when-cross-origin\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{title}</title>\n",
        lang = escape_html(&normalize_language_tag(head.lang)),
        title = escape_html(head.title),
    );
    if head.public {
        let _ = writeln!(
            out,
            "<meta name=\"description\" content=\"{}\">",
            escape_html(&site.description)
        );
        for (path, mime, label) in FEEDS {
            let _ = writeln!(
                out,
                "<link rel=\"alternate\" type=\"{mime}\" title=\"{site_title} ({label})\" href=\"{path}\">"
            );
        }
    } else {
        out.push_str("<meta name=\"robots\" content=\"noindex, nofollow\">\n");
    }
    // The site's own words (skip link, header, footer) are English; on a
    // page whose <html lang> is a story's language they say so.
    let ui_lang = if crate::text::primary_subtag(head.lang) == "en" {
        ""
    } else {
        " lang=\"en\""
    };
    // The site name appears once: the front page's <h1> is the site name,
    // so its header leaves the brand out.
    let class = if head.wide { "wide" } else { "narrow" };
    let header = if head.title == site.title {
        String::new()
    } else {
        format!(
            "<header class=\"site {class}\"{ui_lang}><a class=\"brand\" href=\"/\" data-testid=\"site-title\">{site_title}</a></header>\n"
        )
    };
    let _ = write!(
        out,
        "<style>{CSS}</style>\n</head>\n<body>\n\
         <a class=\"skip-link\" href=\"#main\" data-testid=\"skip-link\"{ui_lang}>Skip to main content</a>\n\
         {header}\
         <main id=\"main\" tabindex=\"-1\" class=\"{class}\">\n{body}\n</main>\n\
         <footer class=\"site {class}\"{ui_lang}><p><a href=\"/\">Home</a> · <a href=\"/feed.xml\">RSS</a> · <a href=\"/feed.atom\">Atom</a> · <a href=\"/feed.json\">JSON</a></p></footer>\n\
         </body>\n</html>\n",
    );
    out
}

/// `lang` attribute text for an item's title or summary (vetted, escaped),
/// e.g. ` lang="zh-Hant"`.
pub fn lang_attr(raw: &str) -> String {
    format!(" lang=\"{}\"", escape_html(&normalize_language_tag(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html("<a href=\"x\" onmouseover='y'>&\u{1}"),
            "&lt;a href=&quot;x&quot; onmouseover=&#39;y&#39;&gt;&amp;"
        );
    }

    #[test]
    fn only_http_urls_pass() {
        assert_eq!(
            safe_http_url(" https://example.org/a b").as_deref(),
            Some("https://example.org/a%20b")
        );
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>",
            "vbscript:x",
            "/relative",
            "//evil.example/x",
            "http://",
            "",
        ] {
            assert_eq!(safe_http_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn local_paths_stay_local() {
        assert_eq!(
            local_or_http_url("/stories/a\"b").as_deref(),
            Some("/stories/a%22b")
        );
        assert_eq!(local_or_http_url("//evil.example/"), None);
        assert_eq!(local_or_http_url("/\\evil.example/"), None);
        assert_eq!(local_or_http_url("javascript:alert(1)"), None);
    }

    #[test]
    fn lang_tags_are_vetted() {
        assert_eq!(normalize_language_tag("zh-TW"), "zh-TW");
        assert_eq!(normalize_language_tag("zh_Hant_TW"), "zh-Hant-TW");
        assert_eq!(normalize_language_tag("en\" onload=\"x"), "und");
        assert_eq!(normalize_language_tag(""), "und");
    }

    #[test]
    fn components_are_encoded() {
        assert_eq!(encode_component("a b&c/台"), "a%20b%26c%2F%E5%8F%B0");
    }
}
