//! Reducing untrusted feed text (HTML fragments, entities, control
//! characters) to clean plain text.
//!
//! Feeds put anything in their `description` and `content`: full HTML,
//! entity-escaped HTML (escaped twice), stray control bytes from broken CMS
//! exports. Every later stage (sentence splitting, ranking, the published
//! feed, the Fediverse post) wants plain text, so the reduction happens once,
//! here, with a real HTML parser (`scraper`/html5ever) rather than regexes,
//! because only a parser decodes all HTML5 entities and knows which elements
//! are blocks.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html, Node};

use super::boilerplate;

/// Largest input, in bytes, that [`html_to_text`] and [`plain_text`] look at.
///
/// Feeds are capped upstream too, but the summariser must stay cheap on a
/// hostile multi-megabyte `content:encoded`; a summary never needs more.
pub const MAX_INPUT_BYTES: usize = 512 * 1024;

/// Deepest element nesting walked recursively; deeper subtrees are flattened
/// to their text so that a hostile `<div><div>…` tower cannot overflow the
/// stack.
const MAX_DEPTH: usize = 128;

/// Elements whose content is never reader-visible article text.
const SKIPPED: &[&str] = &[
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "head",
    "title",
    "button",
    "form",
    "select",
    "textarea",
    "input",
    "nav",
    "aside",
    "footer",
    // Image captions ("Photo: CNA") are credits, not story text.
    "figcaption",
];

/// Elements that start a new paragraph in the text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "figure",
    "hr",
    "address",
    "details",
    "summary",
];

/// True for characters that XML 1.0 forbids or that are invisible control
/// codes (C0 except tab/newline/CR, DEL, C1, U+FFFE/U+FFFF).
///
/// C1 and DEL are legal XML 1.0 but never meaningful in news text; they are
/// usually mis-decoded Windows-1252 bytes and only confuse readers.
pub fn is_forbidden_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{7F}'..='\u{9F}'
        | '\u{FFFE}' | '\u{FFFF}')
}

/// Removes characters XML 1.0 cannot carry (see [`is_forbidden_char`]).
///
/// Every string that reaches an XML, JSON or HTML output goes through this,
/// because one stray `\u{1}` makes the whole feed unparseable for strict
/// readers.
pub fn strip_control_chars(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_forbidden_char) {
        Cow::Owned(s.chars().filter(|c| !is_forbidden_char(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Cuts `s` to at most `max` bytes at a char boundary.
pub(crate) fn cap_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Collects text while walking the DOM, collapsing whitespace the way a
/// browser renders it and turning block boundaries into blank lines.
#[derive(Default)]
struct TextBuilder {
    out: String,
    /// A space is owed before the next visible character.
    pending_space: bool,
    /// Newlines owed before the next visible character (1 = line, 2 = paragraph).
    pending_breaks: u8,
}

impl TextBuilder {
    fn push_text(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            if is_forbidden_char(c) || is_invisible(c) {
                continue;
            }
            if !self.out.is_empty() {
                if self.pending_breaks > 0 {
                    for _ in 0..self.pending_breaks {
                        self.out.push('\n');
                    }
                } else if self.pending_space {
                    self.out.push(' ');
                }
            }
            self.pending_breaks = 0;
            self.pending_space = false;
            self.out.push(c);
        }
    }

    fn line_break(&mut self) {
        self.pending_breaks = self.pending_breaks.max(1);
    }

    fn paragraph_break(&mut self) {
        self.pending_breaks = 2;
    }
}

/// Zero-width and BOM characters that only get in the way of matching.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

fn walk(el: ElementRef<'_>, out: &mut TextBuilder, depth: usize) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => out.push_text(t),
            Node::Element(e) => {
                let name = e.name();
                if SKIPPED.contains(&name) {
                    continue;
                }
                let Some(child_el) = ElementRef::wrap(child) else {
                    continue;
                };
                if name == "br" {
                    out.line_break();
                    continue;
                }
                let block = BLOCKS.contains(&name);
                if block {
                    out.paragraph_break();
                }
                if depth >= MAX_DEPTH {
                    for t in child_el.text() {
                        out.push_text(t);
                    }
                } else {
                    walk(child_el, out, depth + 1);
                }
                if block {
                    out.paragraph_break();
                }
            }
            _ => {}
        }
    }
}

/// Markup that survived one round of parsing: the feed escaped its HTML twice.
static LOOKS_LIKE_MARKUP: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>|&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});").ok()
});

fn html_pass(html: &str) -> String {
    let fragment = Html::parse_fragment(html);
    let mut builder = TextBuilder::default();
    walk(fragment.root_element(), &mut builder, 0);
    builder.out
}

/// Converts an HTML fragment (or plain text with entities) to plain text.
///
/// Paragraph-level elements become blank lines and `<br>` a newline, so that
/// the sentence splitter sees where the page had breaks; scripts, styles,
/// forms, navigation and image captions are dropped with their content.
/// Whitespace is collapsed. If the result still looks like markup, the feed
/// escaped its HTML twice (`&lt;p&gt;`), so it is parsed once more.
pub fn html_to_text(html: &str) -> String {
    let html = cap_bytes(html, MAX_INPUT_BYTES);
    let once = html_pass(html);
    match LOOKS_LIKE_MARKUP.as_ref() {
        Some(re) if re.is_match(&once) => html_pass(&once),
        _ => once,
    }
}

/// Full clean-up of one untrusted text field: HTML to text, boilerplate
/// removed (see [`super::boilerplate`]), control characters stripped,
/// whitespace normalised. Paragraphs stay separated by `\n\n`.
pub fn plain_text(input: &str) -> String {
    let text = html_to_text(input);
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

/// True for Han, Hiragana, Katakana, Hangul and CJK punctuation: the scripts
/// that are written without spaces between words, so that truncation and
/// sentence joining may happen between any two characters.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F   // CJK symbols and punctuation
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3400..=0x4DBF // Ext A
        | 0x4E00..=0x9FFF // Unified
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0xF900..=0xFAFF // Compatibility
        | 0xFF00..=0xFFEF // Half/full-width forms
        | 0x20000..=0x2FA1F)
}

/// Share of CJK characters among the alphabetic ones (0.0 for no letters).
pub(crate) fn cjk_ratio(s: &str) -> f64 {
    let mut letters = 0usize;
    let mut cjk = 0usize;
    for c in s.chars() {
        if is_cjk(c) && c.is_alphanumeric() {
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
    fn markup_regex_compiles() {
        assert!(LOOKS_LIKE_MARKUP.is_some());
    }

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
