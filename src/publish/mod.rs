//! Outputs: the bot's own feeds ([`feed`]: RSS 2.0, Atom 1.0, JSON Feed
//! 1.1) and its Fediverse posts ([`post`]).
//!
//! Everything rendered here comes from feeds we do not control, so the
//! same three rules apply to every output:
//! - text fields are plain text, stripped of XML-illegal control characters
//!   ([`crate::summary::strip_control_chars`]) and escaped by the writer that
//!   knows the target syntax (quick-xml for XML, serde_json for JSON,
//!   [`crate::text::escape_html`] for HTML);
//! - HTML we build is passed through ammonia with a small allow-list as a
//!   second line of defence, so a bug in our own escaping cannot let markup
//!   through;
//! - links are kept only when they parse as absolute `http`/`https` URLs
//!   ([`crate::text::safe_http_url`]); `javascript:`, `data:` and relative links are
//!   dropped.
//!
//! Nothing here does I/O: callers pass plain data and get strings back.

pub mod feed;
pub mod gate;
pub mod outputs;
pub mod post;
pub mod story;

use std::collections::{HashMap, HashSet};

/// Value of `rel` on every outbound link: no endorsement, no window access,
/// no referrer leak to the outlets.
pub const LINK_REL: &str = "nofollow noopener noreferrer";

/// Sanitises HTML we generated from escaped parts: only `p`, `a` (with an
/// http(s) `href`) and `br` survive, and every link gets [`LINK_REL`].
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::empty()
        .tags(HashSet::from(["p", "a", "br"]))
        .tag_attributes(HashMap::from([("a", HashSet::from(["href"]))]))
        .url_schemes(HashSet::from(["http", "https"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some(LINK_REL))
        .clean(html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{escape_html, safe_http_url};

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn only_http_urls() {
        assert_eq!(
            safe_http_url(" https://Example.com/a b "),
            Some("https://example.com/a%20b".into())
        );
        assert_eq!(safe_http_url("javascript:alert(1)"), None);
        assert_eq!(safe_http_url("/relative"), None);
        assert_eq!(safe_http_url("data:text/html,hi"), None);
    }

    #[test]
    fn sanitizer_strips_scripts_and_handlers() {
        let out = sanitize_html(
            "<p onclick=x>hi<script>alert(1)</script><img src=x onerror=alert(1)><a href=\"javascript:alert(1)\">j</a><a href=\"https://e.com/\">ok</a></p>",
        );
        assert_eq!(
            out,
            "<p>hi<a rel=\"nofollow noopener noreferrer\">j</a><a href=\"https://e.com/\" rel=\"nofollow noopener noreferrer\">ok</a></p>"
        );
    }
}
