//! Bytes to a parsed feed: pick the encoding, transcode to UTF-8 when needed,
//! and run feed-rs behind a panic guard.
//!
//! feed-rs reads the XML declaration itself, so it must see either the raw
//! bytes of a feed it can decode, or UTF-8 whose declaration says UTF-8. We
//! decide the encoding in the order HTTP charset, BOM, XML declaration,
//! detection (chardetng); when that is not UTF-8 we transcode and rewrite the
//! declaration. UTF-16 and UTF-32 are always transcoded here, which also keeps
//! them away from the quick-xml path that panics on UTF-16BE.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use encoding_rs::Encoding;

/// Why a body did not yield a feed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("got an HTML page, not a feed (is the URL the page rather than its RSS/Atom link?)")]
    HtmlPage,
    #[error("empty body")]
    Empty,
    #[error("not a feed: {0}")]
    Invalid(String),
    #[error("the feed parser crashed on this input: {0}")]
    Panicked(String),
}

/// The encoding decision and how it was reached, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingSource {
    HttpCharset,
    Bom,
    XmlDeclaration,
    Detected,
    Utf8Default,
}

/// Parses a feed body. `http_charset` is the `charset` parameter of the
/// response's Content-Type, if any; `base_uri` resolves relative links.
pub fn parse_feed(
    body: &[u8],
    http_charset: Option<&str>,
    base_uri: Option<&str>,
) -> Result<feed_rs::model::Feed, ParseError> {
    let (utf8, _) = to_utf8(body, http_charset);
    let trimmed = utf8.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    if looks_like_html(trimmed) {
        return Err(ParseError::HtmlPage);
    }
    let parsed = match guarded_parse(trimmed.as_bytes().to_vec(), base_uri) {
        // feed-rs wants <rss version=…> and JSON Feed versions as URLs; real
        // feeds omit the one and write "1.1" for the other.
        Err(ParseError::Invalid(e)) => {
            match with_rss_version(trimmed).or_else(|| with_json_feed_version(trimmed)) {
                Some(fixed) => guarded_parse(fixed.into_bytes(), base_uri),
                None => Err(ParseError::Invalid(e)),
            }
        }
        other => other,
    };
    parsed.map(|mut feed| {
        fill_entry_sources(trimmed, &mut feed);
        feed
    })
}

/// feed-rs 3 has `Entry::source` but never fills it, so the per-item
/// `<source>` (RSS `<source url=…>Name</source>`, which news aggregators
/// such as Google News put on every item, and Atom `<source><title>`) is
/// read here with the `rss` / `atom_syndication` parsers, in document order,
/// and put in `Entry::source`: the outlet's name, else its URL. Only when
/// the text has a `<source` at all and both parsers agree on the number of
/// entries; otherwise the entries keep no source (credit falls back to the
/// link's site, see `item::credit`).
fn fill_entry_sources(text: &str, feed: &mut feed_rs::model::Feed) {
    if !text.contains("<source") {
        return;
    }
    let found: Vec<Option<String>> = match feed.feed_type {
        feed_rs::model::FeedType::RSS2
        | feed_rs::model::FeedType::RSS1
        | feed_rs::model::FeedType::RSS0 => {
            let Ok(channel) = rss::Channel::read_from(text.as_bytes()) else {
                return;
            };
            channel
                .items()
                .iter()
                .map(|i| {
                    i.source().and_then(|s| {
                        let name = s.title().map(str::trim).unwrap_or("");
                        let pick = if name.is_empty() {
                            s.url().trim()
                        } else {
                            name
                        };
                        Some(pick.to_string()).filter(|p| !p.is_empty())
                    })
                })
                .collect()
        }
        feed_rs::model::FeedType::Atom => {
            let Ok(atom) = atom_syndication::Feed::read_from(text.as_bytes()) else {
                return;
            };
            atom.entries()
                .iter()
                .map(|e| {
                    e.source().and_then(|s| {
                        let name = s.title().value.trim();
                        let url = s
                            .links()
                            .iter()
                            .find(|l| l.rel() == "alternate")
                            .map(|l| l.href().trim())
                            .unwrap_or("");
                        let pick = if name.is_empty() { url } else { name };
                        Some(pick.to_string()).filter(|p| !p.is_empty())
                    })
                })
                .collect()
        }
        feed_rs::model::FeedType::JSON => return,
    };
    if found.len() != feed.entries.len() {
        return;
    }
    for (entry, source) in feed.entries.iter_mut().zip(found) {
        if source.is_some() {
            entry.source = source;
        }
    }
}

/// `<rss>` without a version attribute, given version 2.0.
fn with_rss_version(text: &str) -> Option<String> {
    let at = text.find("<rss")?;
    let tag_end = at + text[at..].find('>')?;
    let tag = &text[at..tag_end];
    let next = text[at + 4..].chars().next()?;
    if tag.contains("version") || !(next.is_whitespace() || next == '>' || next == '/') {
        return None;
    }
    Some(format!(
        "{}<rss version=\"2.0\"{}",
        &text[..at],
        &text[at + 4..]
    ))
}

/// A JSON Feed whose `version` is a bare number, given the URL form.
fn with_json_feed_version(text: &str) -> Option<String> {
    if !text.starts_with('{') {
        return None;
    }
    let mut doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let version = doc.get("version")?.as_str()?;
    let url = match version.trim() {
        "1" | "1.0" => "https://jsonfeed.org/version/1",
        "1.1" => "https://jsonfeed.org/version/1.1",
        _ => return None,
    };
    doc["version"] = serde_json::Value::String(url.to_string());
    serde_json::to_string(&doc).ok()
}

fn guarded_parse(
    bytes: Vec<u8>,
    base_uri: Option<&str>,
) -> Result<feed_rs::model::Feed, ParseError> {
    let base = base_uri.map(str::to_string);
    let result = catch_unwind(AssertUnwindSafe(move || {
        feed_rs::parser::Builder::new()
            .base_uri(base)
            // An empty id tells normalization the entry had none of its own,
            // so identity falls back to the link, then a content hash.
            .id_generator(|_, _, _| String::new())
            .build()
            .parse(bytes.as_slice())
    }));
    match result {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(e)) => Err(ParseError::Invalid(e.to_string())),
        Err(panic) => Err(ParseError::Panicked(panic_message(panic.as_ref()))),
    }
}

/// A caught panic's message (a `&str` or `String` payload).
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    let head = head.trim_start();
    let after_decl = match head.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, r)| r).trim_start(),
        None => head,
    };
    after_decl.starts_with("<!doctype html") || after_decl.starts_with("<html")
}

/// Decodes `body` to UTF-8 text whose XML declaration (if any) says UTF-8.
pub fn to_utf8<'a>(body: &'a [u8], http_charset: Option<&str>) -> (Cow<'a, str>, EncodingSource) {
    // UTF-32 is outside encoding_rs (the Encoding Standard dropped it).
    if let Some((text, source)) = decode_utf32(body) {
        return (Cow::Owned(rewrite_declaration(&text)), source);
    }
    let (encoding, source, bom_len) = choose_encoding(body, http_charset);
    let body = &body[bom_len..];
    if encoding == encoding_rs::UTF_8 {
        return match std::str::from_utf8(body) {
            Ok(s) if declared_label(body).is_none_or(|l| is_utf8_label(&l)) => {
                (Cow::Borrowed(s), source)
            }
            Ok(s) => (Cow::Owned(rewrite_declaration(s)), source),
            Err(_) => {
                let (text, _) = encoding.decode_without_bom_handling(body);
                (Cow::Owned(rewrite_declaration(&text)), source)
            }
        };
    }
    let (text, _) = encoding.decode_without_bom_handling(body);
    (Cow::Owned(rewrite_declaration(&text)), source)
}

fn is_utf8_label(label: &str) -> bool {
    matches!(label.to_ascii_lowercase().as_str(), "utf-8" | "utf8")
}

fn choose_encoding(
    body: &[u8],
    http_charset: Option<&str>,
) -> (&'static Encoding, EncodingSource, usize) {
    let bom = Encoding::for_bom(body);
    if let Some(enc) =
        http_charset.and_then(|c| Encoding::for_label(c.trim().trim_matches('"').as_bytes()))
    {
        // A BOM still wins over a charset that contradicts it: the bytes cannot lie.
        if let Some((bom_enc, len)) = bom {
            if bom_enc != enc {
                return (bom_enc, EncodingSource::Bom, len);
            }
            return (enc, EncodingSource::HttpCharset, len);
        }
        if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
            if let Some(sniffed) = sniff_utf16(body) {
                return (sniffed, EncodingSource::HttpCharset, 0);
            }
        }
        return (enc, EncodingSource::HttpCharset, 0);
    }
    if let Some((enc, len)) = bom {
        return (enc, EncodingSource::Bom, len);
    }
    if let Some(enc) = sniff_utf16(body) {
        return (enc, EncodingSource::Bom, 0);
    }
    if let Some(enc) = declared_label(body).and_then(|l| Encoding::for_label(l.as_bytes())) {
        // A declaration of UTF-16 on bytes that are plainly ASCII-compatible is wrong.
        if enc != encoding_rs::UTF_16LE && enc != encoding_rs::UTF_16BE {
            return (enc, EncodingSource::XmlDeclaration, 0);
        }
    }
    if std::str::from_utf8(body).is_ok() {
        return (encoding_rs::UTF_8, EncodingSource::Utf8Default, 0);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(body, true);
    (
        detector.guess(None, chardetng::Utf8Detection::Allow),
        EncodingSource::Detected,
        0,
    )
}

/// UTF-16 without a BOM: `<` or `<?` with zero bytes between.
fn sniff_utf16(body: &[u8]) -> Option<&'static Encoding> {
    match body {
        [0, b'<', 0, b'?', ..] | [0, b'<', 0, _, ..] => Some(encoding_rs::UTF_16BE),
        [b'<', 0, b'?', 0, ..] | [b'<', 0, _, 0, ..] => Some(encoding_rs::UTF_16LE),
        _ => None,
    }
}

fn decode_utf32(body: &[u8]) -> Option<(String, EncodingSource)> {
    let (big_endian, skip) = match body {
        [0, 0, 0xFE, 0xFF, ..] => (true, 4),
        [0xFF, 0xFE, 0, 0, ..] => (false, 4),
        [0, 0, 0, b'<', ..] => (true, 0),
        [b'<', 0, 0, 0, ..] => (false, 0),
        _ => return None,
    };
    let text = body[skip..]
        .chunks_exact(4)
        .map(|c| {
            let arr = [c[0], c[1], c[2], c[3]];
            let v = if big_endian {
                u32::from_be_bytes(arr)
            } else {
                u32::from_le_bytes(arr)
            };
            char::from_u32(v).unwrap_or('\u{fffd}')
        })
        .collect();
    Some((
        text,
        if skip > 0 {
            EncodingSource::Bom
        } else {
            EncodingSource::Detected
        },
    ))
}

/// The `encoding="..."` of an ASCII-compatible XML declaration.
fn declared_label(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(512)];
    let head = String::from_utf8_lossy(head);
    let decl_end = head.find("?>")?;
    let decl = head.trim_start().strip_prefix("<?xml")?;
    let decl = &decl[..decl_end.min(decl.len())];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = &rest[1..];
    let end = value.find(quote)?;
    Some(value[..end].trim().to_string())
}

/// Rewrites the declaration's encoding to UTF-8 after transcoding, so feed-rs
/// does not decode the text a second time.
fn rewrite_declaration(text: &str) -> String {
    let body = text.trim_start_matches('\u{feff}');
    let lead = body.len() - body.trim_start().len();
    let rest = &body[lead..];
    if let Some(after) = rest.strip_prefix("<?xml") {
        if let Some(end) = after.find("?>") {
            return format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>{}",
                &after[end + 2..]
            );
        }
    }
    body.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS_UTF8: &str = r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title><item><title>台灣 INTERPOL</title><link>https://e.org/a</link></item></channel></rss>"#;

    #[test]
    fn big5_without_declaration_is_detected() {
        let xml = RSS_UTF8.replace(r#" encoding="utf-8""#, "");
        let (bytes, _, _) = encoding_rs::BIG5.encode(&xml);
        let feed = parse_feed(&bytes, None, None).expect("test input");
        assert_eq!(
            feed.entries[0].title.as_ref().expect("test input").content,
            "台灣 INTERPOL"
        );
    }

    #[test]
    fn gb2312_declared_is_transcoded() {
        let xml = RSS_UTF8.replace("utf-8", "gb2312").replace("台灣", "台湾");
        let (bytes, _, _) = encoding_rs::GBK.encode(&xml);
        let feed = parse_feed(&bytes, None, None).expect("test input");
        assert_eq!(
            feed.entries[0].title.as_ref().expect("test input").content,
            "台湾 INTERPOL"
        );
    }

    #[test]
    fn utf16be_does_not_panic_and_parses() {
        let mut bytes = vec![0xFE, 0xFF];
        for u in RSS_UTF8.replace("utf-8", "utf-16").encode_utf16() {
            bytes.extend_from_slice(&u.to_be_bytes());
        }
        let feed = parse_feed(&bytes, None, None).expect("test input");
        assert_eq!(feed.entries.len(), 1);
        // And without a BOM.
        let feed = parse_feed(&bytes[2..], None, None).expect("test input");
        assert_eq!(feed.entries.len(), 1);
    }

    #[test]
    fn http_charset_wins_over_declaration() {
        let xml = RSS_UTF8
            .replace("utf-8", "iso-8859-1")
            .replace("台灣", "Café");
        let (bytes, _, _) = encoding_rs::UTF_8.encode(&xml);
        let feed = parse_feed(&bytes, Some("utf-8"), None).expect("test input");
        assert_eq!(
            feed.entries[0].title.as_ref().expect("test input").content,
            "Café INTERPOL"
        );
    }

    #[test]
    fn html_pages_are_named_as_such() {
        let page = "<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>";
        assert_eq!(
            parse_feed(page.as_bytes(), None, None).unwrap_err(),
            ParseError::HtmlPage
        );
        assert_eq!(
            parse_feed(b"  ", None, None).unwrap_err(),
            ParseError::Empty
        );
        assert!(matches!(
            parse_feed(b"garbage", None, None),
            Err(ParseError::Invalid(_))
        ));
    }
}
