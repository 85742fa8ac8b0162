//! The `Item` type: one news item after normalization, and the rules that give
//! it a stable identity, a canonical link and plain text.
//!
//! Everything here is a pure function of the parsed feed entry, the source it
//! came from and the time it was first seen, so re-fetching the same feed
//! yields the same items and the store can deduplicate them by `id`.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use crate::model::{Item, credit};
use crate::sources::FeedSource;
use crate::text::link::canonical_url;
use crate::text::{html_to_line, html_to_text, normalize_language_tag, one_line, truncate_chars};

/// Upper bound on the plain text kept from an entry's body; summaries need the
/// lead, not a whole book someone pasted into a feed.
pub const MAX_CONTENT_CHARS: usize = 20_000;
const MAX_TITLE_CHARS: usize = 500;
const MAX_SUMMARY_CHARS: usize = 4_000;

/// Most categories kept per item; feeds sometimes list dozens of SEO tags.
const MAX_CATEGORIES: usize = 6;

/// Normalizes one parsed entry. `seen_at` stands in for missing or absurd dates.
pub fn normalize(
    feed: &feed_rs::model::Feed,
    entry: &feed_rs::model::Entry,
    source: &FeedSource,
    seen_at: DateTime<Utc>,
) -> Item {
    normalize_in(feed, entry, source, seen_at, &mut LangGuess::default())
}

/// [`normalize`] for one of several entries of the same feed document, in
/// document order: `langs` carries what the entries before it told about
/// the feed's language (see [`LangGuess`]).
pub fn normalize_in(
    feed: &feed_rs::model::Feed,
    entry: &feed_rs::model::Entry,
    source: &FeedSource,
    seen_at: DateTime<Utc>,
    langs: &mut LangGuess,
) -> Item {
    let base = entry_base(feed, entry, &source.url);
    let title = entry
        .title
        .as_ref()
        .map(|t| truncate_chars(&html_to_line(&t.content), MAX_TITLE_CHARS))
        .unwrap_or_default();
    // Content and summary keep their paragraph breaks. The content hash is
    // taken over their one-line form, cut as before, so that an item stored
    // before breaks were kept hashes the same and is not taken for an edit.
    let content_text = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(html_to_text)
        .unwrap_or_default();
    let summary_text = entry
        .summary
        .as_ref()
        .map(|s| html_to_text(&s.content))
        .unwrap_or_default();
    let content = truncate_chars(&content_text, MAX_CONTENT_CHARS);
    let content_line = truncate_chars(&one_line(&content_text), MAX_CONTENT_CHARS);
    let (summary, summary_line) = if summary_text.is_empty() && !content.is_empty() {
        (
            truncate_chars(&content, MAX_SUMMARY_CHARS),
            truncate_chars(&content_line, MAX_SUMMARY_CHARS),
        )
    } else {
        (
            truncate_chars(&summary_text, MAX_SUMMARY_CHARS),
            truncate_chars(&one_line(&summary_text), MAX_SUMMARY_CHARS),
        )
    };
    let link = pick_link(entry, base.as_ref());
    let guid = Some(entry.id.trim().to_string()).filter(|g| !g.is_empty());
    let lang = pick_lang(entry, feed, source, &title, &summary, langs);

    // Dates in the future beyond clock skew are typos or tricks to stay on top.
    let latest_plausible = seen_at + Duration::days(1);
    let plausible = |d: Option<DateTime<Utc>>| d.filter(|d| *d <= latest_plausible);
    let published = plausible(entry.published)
        .or(plausible(entry.updated))
        .unwrap_or(seen_at);
    let updated = plausible(entry.updated).unwrap_or(published).max(published);

    let content_hash = hash_hex(&[&title, &summary_line, &content_line]);
    let key = identity_key(
        source.url.as_str(),
        guid.as_deref(),
        link.as_deref(),
        &content_hash,
    );
    let feed_home = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .and_then(|l| source.url.join(&l.href).ok());
    let outlet = credit(
        entry.source.as_deref(),
        link.as_deref(),
        &source.url,
        feed_home.as_ref(),
        &source.name,
    );
    Item {
        id: hash_hex(&[&key])[..32].to_string(),
        feed_url: source.url.to_string(),
        source: source.name.clone(),
        outlet,
        guid,
        link,
        title,
        summary,
        content,
        lang,
        published,
        updated,
        content_hash,
        categories: categories(entry),
        author: author(entry),
    }
}

/// Longest author text kept, in characters.
const MAX_AUTHOR_CHARS: usize = 200;

/// The names of the entry's authors (the address when a feed gives only
/// that), distinct, joined by ", ".
fn author(entry: &feed_rs::model::Entry) -> String {
    let mut names: Vec<String> = Vec::new();
    for p in &entry.authors {
        let raw = p.name.as_deref().or(p.email.as_deref()).unwrap_or("");
        let text = html_to_line(raw);
        let text = text.trim();
        if !text.is_empty() && !names.iter().any(|n| n == text) {
            names.push(text.to_string());
        }
    }
    names.join(", ").chars().take(MAX_AUTHOR_CHARS).collect()
}

fn categories(entry: &feed_rs::model::Entry) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &entry.categories {
        let text = html_to_line(c.label.as_deref().unwrap_or(&c.term));
        let text = text.trim();
        // Paths and URLs ("News/Asia", "https://…/tag/x") are taxonomies, not tags.
        if text.is_empty() || text.chars().count() > 40 || text.contains("://") {
            continue;
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(text)) {
            out.push(text.to_string());
        }
        if out.len() == MAX_CATEGORIES {
            break;
        }
    }
    out
}

/// The identity of an item: its guid, else its canonical link, else a hash of
/// its content. A guid that is an absolute URL is global (two feeds of one
/// outlet carrying the same article are one item); any other guid is only
/// unique within its feed, so it is scoped by the feed URL.
pub fn identity_key(
    feed_url: &str,
    guid: Option<&str>,
    link: Option<&str>,
    content_hash: &str,
) -> String {
    if let Some(guid) = guid {
        if let Some(url) = Url::parse(guid)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        {
            return format!("guid:{}", canonical_url(&url));
        }
        return format!("guid:{feed_url}#{guid}");
    }
    if let Some(link) = link {
        return format!("link:{link}");
    }
    format!("hash:{feed_url}#{content_hash}")
}

fn hash_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// xml:base of the entry, else the feed's own page, else the feed URL, for
/// resolving relative links.
fn entry_base(
    feed: &feed_rs::model::Feed,
    entry: &feed_rs::model::Entry,
    feed_url: &Url,
) -> Option<Url> {
    let feed_page = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .and_then(|l| feed_url.join(&l.href).ok());
    let base = feed_page.unwrap_or_else(|| feed_url.clone());
    match &entry.base {
        Some(b) => base.join(b).ok().or(Some(base)),
        None => Some(base),
    }
}

fn pick_link(entry: &feed_rs::model::Entry, base: Option<&Url>) -> Option<String> {
    let candidates = entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .chain(entry.links.iter());
    for l in candidates {
        let href = l.href.trim();
        if href.is_empty() {
            continue;
        }
        let resolved = match base {
            Some(b) => b.join(href).ok(),
            None => Url::parse(href).ok(),
        };
        if let Some(u) = resolved.filter(|u| matches!(u.scheme(), "http" | "https")) {
            return Some(canonical_url(&u));
        }
    }
    // RSS items whose guid is a permalink but that carry no <link>.
    Url::parse(entry.id.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| canonical_url(&u))
}

/// Language: the entry's, then the feed's, then the operator's hint for the
/// source, then detection from the text. The full BCP 47 tag is kept
/// ("zh-Hant", "zh-TW"): pages and feeds mark text with it, and a reader's
/// voice and font depend on the script and region. Matching looks at the
/// primary subtag only ([`crate::text::primary_subtag`]), so `lang:zh` rules keep working.
fn pick_lang(
    entry: &feed_rs::model::Entry,
    feed: &feed_rs::model::Feed,
    source: &FeedSource,
    title: &str,
    summary: &str,
    langs: &mut LangGuess,
) -> String {
    let declared = entry
        .language
        .as_deref()
        .or(feed.language.as_deref())
        .or(source.lang.as_deref())
        .map(normalize_language_tag)
        .filter(|l| l != "und");
    if let Some(l) = declared {
        return l;
    }
    // Detection cost grows with the text; a few sentences decide a language.
    let sample: String = format!("{title}. {summary}").chars().take(400).collect();
    langs.detect(&sample).unwrap_or_else(|| "und".to_string())
}

/// How many items of one feed document must agree on their language before
/// the later ones in the same script take it without trigram detection.
const LANG_AGREE: u8 = 3;

/// Language detection across the items of one feed document that declares
/// no language. Trigram detection (`whatlang`) is most of the cost of
/// normalizing an item, and a feed is nearly always written in one
/// language: once its first `LANG_AGREE` detected items agree, reliably,
/// on one language in one script, a later item whose main script is the
/// same takes that language after only the (cheap) script count. Until
/// then, or once two of those first items disagree or one is unsure, every
/// item is detected on its own, as is any item in another script (a
/// Chinese item in an English feed is still detected as Chinese).
#[derive(Debug, Default)]
pub struct LangGuess {
    /// The script and language the first detected items agreed on, and how
    /// many agreed.
    agreed: Option<(whatlang::Script, String, u8)>,
    /// Two of the first items disagreed, or one was not reliable.
    mixed: bool,
}

impl LangGuess {
    fn detect(&mut self, sample: &str) -> Option<String> {
        if let (false, Some((script, lang, n))) = (self.mixed, &self.agreed) {
            if *n >= LANG_AGREE {
                if whatlang::detect_script(sample) == Some(*script) {
                    return Some(lang.clone());
                }
                // Another script: detected alone, the agreement stands.
                return detect_lang(sample);
            }
        }
        let info = whatlang::detect(sample);
        let code = info.as_ref().and_then(lang_code);
        if !self.mixed {
            match (info, &code, &mut self.agreed) {
                (Some(i), Some(c), None) if i.is_reliable() => {
                    self.agreed = Some((i.script(), c.clone(), 1));
                }
                (Some(i), Some(c), Some((script, lang, n)))
                    if i.is_reliable() && i.script() == *script && c == lang =>
                {
                    *n += 1;
                }
                _ => self.mixed = true,
            }
        }
        code
    }
}

/// ISO 639-1 code of the text's language, when detection is confident enough.
pub fn detect_lang(text: &str) -> Option<String> {
    lang_code(&whatlang::detect(text)?)
}

/// [`detect_lang`]'s answer for what `whatlang` detected.
fn lang_code(info: &whatlang::Info) -> Option<String> {
    if !info.is_reliable() && info.confidence() < 0.5 {
        return None;
    }
    use whatlang::Lang::*;
    let code = match info.lang() {
        Eng => "en",
        Cmn => "zh",
        Jpn => "ja",
        Kor => "ko",
        Fra => "fr",
        Deu => "de",
        Spa => "es",
        Por => "pt",
        Ita => "it",
        Rus => "ru",
        Ukr => "uk",
        Vie => "vi",
        Tha => "th",
        Ind => "id",
        Ara => "ar",
        Tur => "tr",
        Nld => "nl",
        Pol => "pl",
        Swe => "sv",
        Hin => "hi",
        Tgl => "tl",
        other => return Some(other.code().to_string()),
    };
    Some(code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_prefers_guid_then_link_then_hash() {
        let a = identity_key("https://f/feed", Some("123"), Some("https://x/a"), "h");
        assert_eq!(a, "guid:https://f/feed#123");
        let b = identity_key(
            "https://f/feed",
            Some("https://x/a?utm_source=rss"),
            None,
            "h",
        );
        assert_eq!(b, "guid:https://x/a");
        assert_eq!(
            identity_key("https://f/feed", None, Some("https://x/a"), "h"),
            "link:https://x/a"
        );
        assert_eq!(
            identity_key("https://f/feed", None, None, "h"),
            "hash:https://f/feed#h"
        );
    }

    #[test]
    fn detects_common_languages() {
        assert_eq!(
            detect_lang(
                "Taiwan seeks to join INTERPOL as an observer at the general assembly this week"
            )
            .as_deref(),
            Some("en")
        );
        assert_eq!(
            detect_lang("台灣爭取參與國際刑警組織大會，外交部表示將持續努力").as_deref(),
            Some("zh")
        );
    }

    #[test]
    fn a_feed_that_agrees_on_its_language_skips_detection_in_that_script() {
        let en = [
            "Taiwan seeks to join INTERPOL as an observer at the general assembly this week",
            "The city council approved a budget for renovating the riverside park in spring",
            "Police in several countries arrested members of a scam ring that targeted the elderly",
        ];
        let fr =
            "Le conseil municipal a approuvé le budget de rénovation du parc au bord de la rivière";
        let zh = "台灣爭取參與國際刑警組織大會，外交部表示將持續努力";
        assert_eq!(detect_lang(fr).as_deref(), Some("fr"));
        // Three English items agree: a later Latin-script item takes
        // English without trigram detection (the trade-off), while an item
        // in another script is still detected on its own.
        let mut g = LangGuess::default();
        for t in en {
            assert_eq!(g.detect(t).as_deref(), Some("en"));
        }
        assert_eq!(g.detect(fr).as_deref(), Some("en"));
        assert_eq!(g.detect(zh).as_deref(), Some("zh"));
        assert_eq!(g.detect(en[0]).as_deref(), Some("en"));
        // Two agreeing items are not enough.
        let mut g = LangGuess::default();
        for t in &en[..2] {
            assert_eq!(g.detect(t).as_deref(), Some("en"));
        }
        assert_eq!(g.detect(fr).as_deref(), Some("fr"));
        // A feed whose first items disagree is detected item by item.
        let mut g = LangGuess::default();
        for (t, want) in [(en[0], "en"), (fr, "fr"), (en[1], "en"), (en[2], "en")] {
            assert_eq!(g.detect(t).as_deref(), Some(want));
        }
        assert_eq!(g.detect(fr).as_deref(), Some("fr"));
    }
}
