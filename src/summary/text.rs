//! Reducing untrusted feed text (HTML fragments, entities, control
//! characters) to clean plain text.
//!
//! Feeds put anything in their `description` and `content`: full HTML,
//! entity-escaped HTML (escaped twice), stray control bytes from broken CMS
//! exports. Every later stage (sentence splitting, ranking, the published
//! feed, the Fediverse post) wants plain text. The reduction itself is the
//! text toolkit's ([`crate::text::html`]); this adds what the summarizer
//! needs on top: boilerplate removal and normalised paragraphs.

use super::boilerplate;

/// Largest input, in bytes, that [`html_to_text`] and [`plain_text`] look at.
///
/// Feeds are capped upstream too, but the summariser must stay cheap on a
/// hostile multi-megabyte `content:encoded`; a summary never needs more.
pub const MAX_INPUT_BYTES: usize = 512 * 1024;

pub(crate) use crate::text::truncate_bytes as cap_bytes;
pub use crate::text::{article_text as html_to_text, is_forbidden_char, strip_control_chars};
use crate::text::{is_cjk, is_hangul};

/// Zero-width and BOM characters that only get in the way of matching.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

/// Full clean-up of one untrusted text field: HTML to text, boilerplate
/// removed (see [`super::boilerplate`]), control characters stripped,
/// whitespace normalised. Paragraphs stay separated by `\n\n`.
pub fn plain_text(input: &str) -> String {
    let text = html_to_text(cap_bytes(input, MAX_INPUT_BYTES));
    let text = boilerplate::remove(&text);
    normalize_paragraphs(&text)
}

/// Trims every line, drops empty ones and separates paragraphs by exactly
/// one blank line, so output is stable whatever the input's layout was.
pub(crate) fn normalize_paragraphs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = collapse_spaces(line);
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&line);
    }
    out
}

/// Collapses runs of whitespace (including NBSP and ideographic space) to
/// one ASCII space and trims the ends.
pub fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if is_forbidden_char(c) || is_invisible(c) {
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// Reduces a one-line field (a title, a source name) to clean single-line
/// plain text without parsing it as HTML.
///
/// Titles reach us already entity-decoded by the feed parser, and a title
/// that mentions `<script>` literally must stay readable, so nothing is
/// interpreted: control characters go and whitespace collapses. Escaping
/// happens at output time.
pub fn clean_line(s: &str) -> String {
    collapse_spaces(cap_bytes(s, MAX_INPUT_BYTES))
}

/// Share of CJK (and Hangul) characters among the alphabetic ones (0.0 for
/// no letters): the dense scripts, whose summaries are measured in characters.
pub(crate) fn cjk_ratio(s: &str) -> f64 {
    let mut letters = 0usize;
    let mut cjk = 0usize;
    for c in s.chars() {
        if (is_cjk(c) || is_hangul(c)) && c.is_alphanumeric() {
            cjk += 1;
            letters += 1;
        } else if c.is_alphabetic() {
            letters += 1;
        }
    }
    if letters == 0 {
        0.0
    } else {
        cjk as f64 / letters as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_paragraphs_and_entities_decode() {
        let t = html_to_text("<p>Taipei &amp; Lyon</p><p>Second&nbsp;para<br>line</p>");
        assert_eq!(t, "Taipei & Lyon\n\nSecond para\nline");
    }

    #[test]
    fn scripts_and_captions_are_dropped() {
        let t = html_to_text(
            "<p>Text<script>alert(1)</script></p><figure><img src=x onerror=alert(1)><figcaption>Photo: CNA</figcaption></figure>",
        );
        assert_eq!(t, "Text");
    }

    #[test]
    fn double_escaped_html_is_decoded() {
        let t = html_to_text("&lt;p&gt;Hello &amp;amp; bye&lt;/p&gt;");
        assert_eq!(t, "Hello & bye");
    }

    #[test]
    fn control_chars_are_stripped() {
        assert_eq!(strip_control_chars("a\u{1}b\u{7f}c\td\u{FFFF}"), "abc\td");
        assert_eq!(html_to_text("a\u{0}b"), "ab");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let html = format!("{}deep{}", "<div>".repeat(5000), "</div>".repeat(5000));
        assert_eq!(html_to_text(&html), "deep");
    }
}
