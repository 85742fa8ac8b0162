//! HTML fragments to plain text, and plain text to HTML.
//!
//! Feed fields are fragments: full HTML, HTML escaped twice, plain text with
//! blank lines, mojibake from a wrong decoder upstream, stray control bytes.
//! [`html_to_text`] is the one reduction every stage uses; it keeps the
//! paragraph breaks (the summarizer splits sentences on them, posts and
//! pages show them). [`html_to_line`] is the same reduction for one-line
//! fields (titles, names, labels).

use std::borrow::Cow;

/// Paragraph break found in markup (a block element), carried through the
/// entity-decoding passes until [`fold`] turns it into a blank line.
const PARA: char = '\u{2029}';
/// Line break found in markup (`<br>`).
const LINE: char = '\u{2028}';

/// Plain text from a fragment that may hold HTML: tags dropped, every entity
/// decoded, scripts and styles dropped with their content, mojibake repaired,
/// control characters dropped and whitespace (including NBSP) folded.
///
/// Breaks are kept: block elements (`<p>`, `<div>`, `<li>`, ...) and blank
/// lines in plain text become a blank line (`"\n\n"`), `<br>` a newline;
/// any other run of whitespace becomes one space, as a browser shows it.
/// Feeds double-escape often enough (`&amp;nbsp;`) that a second pass runs
/// when the first one still shows entity or tag syntax.
///
/// This is the form items are stored in. Image captions, navigation and
/// forms stay, as they always have in stored items (see [`article_text`]).
pub fn html_to_text(input: &str) -> String {
    fold(&decoded(input, NEVER_TEXT), true)
}

/// [`html_to_text`] for the summarizer: also drops, with their content, the
/// elements that are never the story's own sentences (navigation, asides,
/// footers, forms and buttons, embedded objects, image captions such as
/// "Photo: CNA").
///
/// Kept apart from [`html_to_text`] on purpose: stored items keep what they
/// always kept, so an item stored before keeps its content hash and is not
/// taken for an edit.
pub fn article_text(input: &str) -> String {
    fold(&decoded(input, NOT_STORY_TEXT), true)
}

/// Elements whose content is never text: dropped with it everywhere.
const NEVER_TEXT: &[&str] = &["script", "style", "noscript", "template"];

/// [`NEVER_TEXT`] and the elements whose content is not story text. Void
/// elements (`input`, `embed`) need no entry: their tag goes anyway.
const NOT_STORY_TEXT: &[&str] = &[
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "svg",
    "math",
    "head",
    "title",
    "button",
    "form",
    "select",
    "textarea",
    "nav",
    "aside",
    "footer",
    "figcaption",
];

/// [`html_to_text`] for one-line fields: every break becomes one space.
pub fn html_to_line(input: &str) -> String {
    fold(&decoded(input, NEVER_TEXT), false)
}

/// Text from [`html_to_text`] on one line: each break becomes one space,
/// exactly as [`html_to_line`] would have made it from the same input.
pub fn one_line(text: &str) -> String {
    fold(text, false)
}

fn decoded(input: &str, skipped: &[&str]) -> String {
    let once = html_fragment_text(input, skipped);
    let looks_escaped = once.contains('<') && once.contains('>')
        || ["&amp;", "&nbsp;", "&lt;", "&gt;", "&quot;", "&#"]
            .iter()
            .any(|e| once.contains(e));
    let text = if looks_escaped {
        html_fragment_text(&once, skipped)
    } else {
        once
    };
    repair_mojibake(&text).into_owned()
}

/// Repairs UTF-8 that was decoded as Windows-1252/Latin-1 somewhere upstream
/// ("â€¦" for "…", "Ã©" for "é"): a lead-byte character followed by the right
/// number of continuation-byte characters, which together are valid UTF-8,
/// is replaced by what they encode. Text that does not form valid UTF-8 this
/// way is left alone, so ordinary accented text is not touched.
pub fn repair_mojibake(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| ('\u{c2}'..='\u{f4}').contains(&c)) {
        return Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if let Some(lead) = cp1252_byte(chars[i]).filter(|b| (0xC2..=0xF4).contains(b)) {
            let need = match lead {
                0xF0.. => 4,
                0xE0.. => 3,
                _ => 2,
            };
            if let Some(run) = chars.get(i..i + need) {
                let bytes: Option<Vec<u8>> = run.iter().map(|c| cp1252_byte(*c)).collect();
                if let Some(decoded) = bytes.as_deref().and_then(|b| std::str::from_utf8(b).ok()) {
                    out.push_str(decoded);
                    i += need;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// The single Windows-1252 (or Latin-1 C1) byte a non-ASCII char came from.
fn cp1252_byte(c: char) -> Option<u8> {
    let u = u32::from(c);
    if u < 0x80 {
        return None;
    }
    if u <= 0xFF {
        return u8::try_from(u).ok();
    }
    let mut buf = [0u8; 4];
    let (bytes, _, had_errors) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
    match (had_errors, bytes.as_ref()) {
        (false, [b]) => Some(*b),
        _ => None,
    }
}

/// One pass of tag stripping and entity decoding. A small scanner rather than
/// a full HTML parser: feed fields are fragments, and this runs for every
/// field of every item (the corpus benchmark showed html5ever tree building
/// costing more than parsing the feed itself).
fn html_fragment_text(input: &str, skipped: &[&str]) -> String {
    if !input.contains(['<', '&']) {
        return input.to_string();
    }
    let mut out = String::with_capacity(input.len());
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(lt) = input[i..].find('<') else {
            out.push_str(&input[i..]);
            break;
        };
        out.push_str(&input[i..i + lt]);
        i += lt;
        let rest = &input[i..];
        if let Some(body) = rest.strip_prefix("<!--") {
            i += 4 + body.find("-->").map_or(body.len(), |e| e + 3);
            continue;
        }
        if let Some(body) = rest.strip_prefix("<![CDATA[") {
            let end = body.find("]]>").unwrap_or(body.len());
            out.push_str(&body[..end]);
            i += 9 + (end + 3).min(body.len());
            continue;
        }
        let starts_tag = bytes
            .get(i + 1)
            .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?'));
        if !starts_tag {
            out.push('<');
            i += 1;
            continue;
        }
        // The end of the tag, skipping '>' inside quoted attribute values.
        let mut j = i + 1;
        let mut quote = None;
        while j < bytes.len() {
            match (quote, bytes[j]) {
                (Some(q), b) if b == q => quote = None,
                (None, b @ (b'"' | b'\'')) => quote = Some(b),
                (None, b'>') => break,
                _ => {}
            }
            j += 1;
        }
        let tag = &input[i + 1..j.min(input.len())];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        i = (j + 1).min(input.len());
        if !closing && !tag.ends_with('/') && skipped.contains(&name.as_str()) {
            // Skip the element's content up to its end tag.
            let lower = input[i..].to_ascii_lowercase();
            let end_tag = format!("</{name}");
            i = match lower.find(&end_tag) {
                Some(at) => {
                    let after = i + at;
                    after
                        + input[after..]
                            .find('>')
                            .map_or(input.len() - after, |e| e + 1)
                }
                None => input.len(),
            };
            continue;
        }
        if name == "br" {
            out.push(LINE);
        } else if is_block(&name) {
            out.push(PARA);
        }
    }
    html_escape::decode_html_entities(&out).into_owned()
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "li"
            | "ul"
            | "ol"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "blockquote"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "section"
            | "article"
            | "figure"
            | "figcaption"
            | "hr"
            | "pre"
            | "dd"
            | "dt"
    )
}

/// Collapses every run of whitespace (Unicode, NBSP, ideographic space) to
/// one space and drops control characters. With `keep_breaks`, a run that
/// holds a paragraph break (a block element, or a blank line in the text)
/// becomes `"\n\n"` and one that holds a `<br>` becomes `"\n"`; without,
/// they are spaces like any other. Leading and trailing whitespace goes.
fn fold(s: &str, keep_breaks: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    // 1: a line break is owed, 2: a paragraph break.
    let mut pending_breaks = 0u8;
    // Newlines seen in the current run of whitespace (two make a paragraph).
    let mut newlines = 0u8;
    let flush = |out: &mut String, space: &mut bool, breaks: &mut u8, newlines: &mut u8| {
        if !out.is_empty() {
            match (*breaks, keep_breaks) {
                (2, true) => out.push_str("\n\n"),
                (1, true) => out.push('\n'),
                (0, _) if !*space => {}
                _ => out.push(' '),
            }
        }
        *space = false;
        *breaks = 0;
        *newlines = 0;
    };
    for c in s.chars() {
        if c == PARA {
            pending_breaks = 2;
        } else if c == LINE {
            pending_breaks = pending_breaks.max(1);
        } else if c == '\n' {
            pending_space = true;
            newlines = newlines.saturating_add(1);
            if newlines >= 2 {
                pending_breaks = 2;
            }
        } else if c.is_whitespace() || c == '\u{a0}' || c == '\u{200b}' {
            pending_space = true;
        } else if ('\u{80}'..='\u{9f}').contains(&c) {
            // C1 controls in feeds are almost always Windows-1252 bytes that
            // went through a Latin-1 decoder (or &#146; references): map them
            // back to the punctuation that was meant, as browsers do.
            let byte = [u8::try_from(u32::from(c)).unwrap_or(b'?')];
            let (mapped, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
            flush(
                &mut out,
                &mut pending_space,
                &mut pending_breaks,
                &mut newlines,
            );
            out.extend(mapped.chars().filter(|m| !m.is_control()));
        } else if c.is_control() {
            continue;
        } else {
            flush(
                &mut out,
                &mut pending_space,
                &mut pending_breaks,
                &mut newlines,
            );
            out.push(c);
        }
    }
    out
}

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

/// Escapes text for HTML element content and double-quoted attribute
/// values, dropping the characters XML cannot carry.
///
/// ammonia's `clean_text` would do, but it also escapes spaces and slashes,
/// which makes every post's source unreadable for no gain.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_forbidden_char(c) => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_folded_plain_text() {
        assert_eq!(
            html_to_line(
                "<p>Taiwan&nbsp;&amp; INTERPOL</p><script>alert(1)</script><p>next&#8230;</p>"
            ),
            "Taiwan & INTERPOL next…"
        );
        assert_eq!(html_to_line("Fish &amp;amp; chips"), "Fish & chips");
        assert_eq!(html_to_line("a < b and c > d"), "a < b and c > d");
        assert_eq!(
            html_to_line("  many \n\t spaces\u{3000}here "),
            "many spaces here"
        );
    }

    #[test]
    fn mojibake_is_repaired_and_plain_accents_are_not() {
        assert_eq!(html_to_line("&#226;&#128;&#166;"), "…");
        assert_eq!(html_to_line("Taiwanâ€™s bid"), "Taiwan’s bid");
        assert_eq!(html_to_line("CafÃ© crime"), "Café crime");
        assert_eq!(html_to_line("Café déjà vu — naïve"), "Café déjà vu — naïve");
        assert_eq!(html_to_line("don&#146;t"), "don’t");
    }

    #[test]
    fn paragraphs_are_kept() {
        let html = "<p>Taipei &amp; Lyon</p>\n<p>Second&nbsp;para<br>line</p><div>third</div>";
        assert_eq!(
            html_to_text(html),
            "Taipei & Lyon\n\nSecond para\nline\n\nthird"
        );
        assert_eq!(html_to_line(html), "Taipei & Lyon Second para line third");
        assert_eq!(one_line(&html_to_text(html)), html_to_line(html));
        // Plain text: a blank line is a paragraph, a single newline a space.
        assert_eq!(
            html_to_text("one\ntwo\r\n\r\nthree\n \n\nfour"),
            "one two\n\nthree\n\nfour"
        );
        // Escaped twice: the breaks of the first pass survive the second.
        assert_eq!(
            html_to_text("&lt;p&gt;Hello &amp;amp; bye&lt;/p&gt;&lt;p&gt;next&lt;/p&gt;"),
            "Hello & bye\n\nnext"
        );
        // Breaks at the ends and runs of breaks fold away.
        assert_eq!(
            html_to_text("<div><p><br></p></div> a <p></p><p></p> b <br><br>"),
            "a\n\nb"
        );
        assert_eq!(
            html_to_text("<ul><li>one</li><li>two</li></ul>"),
            "one\n\ntwo"
        );
    }

    #[test]
    fn scripts_comments_and_controls_go() {
        assert_eq!(html_to_text("a<script>x<p>y</p></script>b"), "ab");
        assert_eq!(html_to_text("a<!-- <p>c</p> -->b"), "ab");
        assert_eq!(html_to_text("<![CDATA[x & y]]>"), "x & y");
        assert_eq!(html_to_text("a\u{0}b\u{7}c"), "abc");
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn article_text_drops_what_is_not_story_text() {
        let html = "<p>Text<script>alert(1)</script></p><figure><img src=x onerror=alert(1)><figcaption>Photo: CNA</figcaption></figure><nav>Home</nav><svg/><p>More</p>";
        assert_eq!(article_text(html), "Text\n\nMore");
        assert_eq!(html_to_text(html), "Text\n\nPhoto: CNA\n\nHome\n\nMore");
        let deep = format!("{}deep{}", "<div>".repeat(5000), "</div>".repeat(5000));
        assert_eq!(article_text(&deep), "deep");
    }

    #[test]
    fn escaping_html() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(strip_control_chars("a\u{1}b\u{9f}c\td"), "abc\td");
        assert!(is_forbidden_char('\u{fffe}') && !is_forbidden_char('\n'));
    }
}
