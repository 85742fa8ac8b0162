//! The one language-tag normaliser.
//!
//! Feeds declare languages as "zh_TW", "EN", "zh-hant-tw" (feed-rs lower-cases
//! them) or junk. Items store the tag, pages put it in `lang` attributes,
//! posts put it in JSON-LD and HTTP APIs, so it is vetted and cased once.

/// Longest tag accepted (BCP 47 recommends supporting at least 35 characters).
const MAX_TAG_LEN: usize = 35;

/// A BCP 47-shaped language tag in its conventional case ("zh_hant_tw" →
/// "zh-Hant-TW", "EN" → "en"), or "und" when the input is not one: a 2–3
/// letter primary subtag, then subtags of 1–8 letters or digits.
pub fn normalize_language_tag(tag: &str) -> String {
    let t = tag.trim().replace('_', "-");
    let mut parts = t.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !(primary_ok && rest_ok) || t.len() > MAX_TAG_LEN {
        return "und".to_string();
    }
    canonical_case(&t)
}

/// BCP 47's conventional casing: language lower case, script subtags in
/// title case, regions in upper case ("zh-hant-tw" → "zh-Hant-TW").
fn canonical_case(tag: &str) -> String {
    tag.split('-')
        .enumerate()
        .map(|(i, p)| match (i, p.len()) {
            (0, _) => p.to_ascii_lowercase(),
            (_, 4) if p.bytes().all(|b| b.is_ascii_alphabetic()) => {
                let mut c = p.to_ascii_lowercase();
                c[..1].make_ascii_uppercase();
                c
            }
            (_, 2) if p.bytes().all(|b| b.is_ascii_alphabetic()) => p.to_ascii_uppercase(),
            _ => p.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The primary language subtag, lower-cased: "zh-Hant-TW" -> "zh".
pub fn primary_subtag(tag: &str) -> String {
    tag.trim()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_vetted_and_cased() {
        assert_eq!(normalize_language_tag("zh_TW"), "zh-TW");
        assert_eq!(normalize_language_tag("zh-hant-tw"), "zh-Hant-TW");
        assert_eq!(normalize_language_tag("zh_Hant_TW"), "zh-Hant-TW");
        assert_eq!(normalize_language_tag(" EN "), "en");
        assert_eq!(normalize_language_tag("en-us"), "en-US");
        assert_eq!(normalize_language_tag("es-419"), "es-419");
        assert_eq!(normalize_language_tag("yue"), "yue");
        for junk in [
            "",
            "<script>",
            "en\" onload=\"x",
            "english",
            "e",
            "en--US",
            "zh-TW-",
            "en-toolongsubtag",
        ] {
            assert_eq!(normalize_language_tag(junk), "und", "{junk:?}");
        }
        assert_eq!(
            normalize_language_tag(&format!("en{}", "-abc".repeat(10))),
            "und"
        );
    }
}
