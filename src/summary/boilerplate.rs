//! Boilerplate that feeds and article pages wrap around the story text.
//!
//! An extractive summary can only be as clean as the sentences it picks
//! from, and the sentences most "similar to everything else" are often the
//! site's own furniture. So the furniture goes before ranking. The list is
//! deliberately conservative: each pattern is anchored to a line or to a
//! phrase that does not occur in reporting.
//!
//! Removed **lines/paragraphs** (the whole line goes when it matches):
//! - cookie notices: a line mentioning cookies together with accept /
//!   consent / agree / policy / settings / preferences / "use(s) cookies";
//! - subscription calls: "Click here to subscribe", "Subscribe to our
//!   newsletter", "Sign up for our newsletter", "Subscribe now";
//! - photo credits and captions: lines starting "Photo:", "Photo courtesy
//!   of", "Image:", "File photo:", "Picture:", "圖：", "圖／", "（圖／…）";
//! - bylines: "By Jane Doe" lines without sentence punctuation, "Staff
//!   writer, with CNA", "(By Jane Doe)", CNA "Enditem/xx";
//! - copyright / site footers: lines with "©", "Copyright 2025", "All
//!   rights reserved", "版權所有";
//! - share / follow / related prompts: "Share this article", "Share on
//!   Facebook", "Follow us on …", "Advertisement", "Related:", "Read also:",
//!   "Also read:", "延伸閱讀", "相關新聞", "更多新聞".
//!
//! Removed **phrases** (the matching span goes, the rest of the line stays):
//! - WordPress feed footers: "The post … appeared first on ….";
//! - truncation markers: "[…]", "[...]", "(more…)";
//! - "Read more", "Continue reading", "Read the full story/article", "Keep
//!   reading", "閱讀更多", "繼續閱讀", "看更多" when they start a line or
//!   follow the end of a sentence, together with the rest of that line
//!   (WordPress appends the post title and an arrow);
//! - inline photo credits "(Photo: …)", "（圖／…）", "（中央社…電）" datelines,
//!   "Taipei, Nov. 5 (CNA) —" style wire datelines at the start of a line,
//!   CNA "Enditem/xx" and "(E)" end markers, "（編輯：…）" editor notes.
//!
//! A text that ended in a truncation marker keeps a trailing "…", which the
//! summariser reads as "the last sentence is incomplete" and skips.

use std::sync::LazyLock;

use regex::Regex;

/// Whole-line patterns; a line matching any of them is dropped.
pub const LINE_PATTERNS: &[&str] = &[
    // cookie notices
    r"(?i)\bcookies?\b.*\b(accept|consent|agree|policy|policies|settings|preferences)\b",
    r"(?i)\b(accept|consent to|agree to|use of|uses|use)\b.*\bcookies?\b",
    // subscription prompts
    r"(?i)\b(click here to subscribe|subscribe to our newsletter|sign up for our newsletter|subscribe now)\b",
    // photo credits / captions
    r"(?i)^\W*(file photo|photo|photograph|picture|image)( courtesy of)?\s*[:：/／]",
    r"(?i)^\W*photo courtesy of\b",
    r"^\W*[（(]?圖[／/：:]",
    // bylines without sentence punctuation
    r"^\s*\(?By [A-Z][^.!?]{1,80}$",
    r"(?i)^\s*staff (writer|reporter)s?\b[^.!?]{0,80}$",
    // copyright / footers
    r"(?i)(©|\bcopyright\s+(©\s*)?\d{4}|\ball rights reserved\b|版權所有)",
    // share / follow / related prompts
    r"(?i)^\W*(share this (article|story)|share on (facebook|twitter|x|line|whatsapp)|follow us on\b|advertisement\W*$|related:|related (articles|stories|news)\W*$|read also\b|also read\b)",
    r"^\W*(延伸閱讀|相關新聞|更多新聞|廣告)",
];

/// In-line patterns and their replacements; `${keep}` puts back the
/// sentence punctuation a tail hangs off. Truncation markers become a single
/// "…" so the summariser can tell that the sentence before them is cut.
pub const INLINE_PATTERNS: &[(&str, &str)] = &[
    // WordPress: "The post <title> appeared first on <site>."
    (
        r"(?i)\bThe post .{1,300}? appeared first on .{1,200}?(\.|$)",
        "",
    ),
    // truncation markers
    (r"\s*\[(?:…|\.\.\.|&hellip;|&#8230;)\]", "…"),
    (r"(?i)\s*\(more(?:…|\.\.\.)\)", "…"),
    // "Read more" / "Continue reading" tails, at line start or after a sentence end
    (
        r"(?i)(?P<keep>^|[.!?…。！？」”\x22])\s*(?:\.\.\.|…)?\s*(?:read more|continue reading|read the full (?:story|article)|read full (?:story|article)|keep reading)\b[^\n]{0,160}$",
        "${keep}",
    ),
    (
        r"(?P<keep>^|[。！？」”…])\s*(?:閱讀更多|繼續閱讀|看更多|閱讀全文)[^\n]{0,60}$",
        "${keep}",
    ),
    // inline photo credits
    (
        r"(?i)\s*[(（]\s*(?:file )?photos?\s*(?:courtesy of)?\s*[:：/／][^)）]{0,80}[)）]",
        "",
    ),
    (r"\s*（圖[／/：:][^）]{0,60}）", ""),
    // wire datelines at the start of a line
    (r"^（中央社[^）]{0,40}電）", ""),
    (
        r"^[A-Z][A-Za-z0-9 .,]{0,40}?\((?:CNA|AP|AFP|Reuters|UPI|Xinhua)\)\s*[-–—:]*\s*",
        "",
    ),
    // end markers and editor notes
    (r"\s*\bEnditem(?:/[A-Za-z]{1,6})?\s*$", ""),
    (r"\s*\((?:E|END)\)\s*$", ""),
    (r"\s*（編輯：[^）]{0,40}）\d*", ""),
    (r"\s*\(By [A-Z][^)]{1,80}\)\s*$", ""),
];

fn compile(patterns: &[&str]) -> Vec<Regex> {
    // Patterns are constants checked by a unit test; a pattern that failed to
    // compile would merely be skipped rather than take the daemon down.
    patterns.iter().filter_map(|p| Regex::new(p).ok()).collect()
}

static LINE_RES: LazyLock<Vec<Regex>> = LazyLock::new(|| compile(LINE_PATTERNS));
static INLINE_RES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    INLINE_PATTERNS
        .iter()
        .filter_map(|(p, r)| Regex::new(p).ok().map(|re| (re, *r)))
        .collect()
});

/// Lines longer than this are story paragraphs, never furniture, and are
/// only subject to the in-line patterns. Keeps a cookie pattern from eating
/// a long paragraph that happens to mention cookies and a policy.
const MAX_FURNITURE_LINE_CHARS: usize = 240;

/// True if the whole line is boilerplate.
pub fn is_boilerplate_line(line: &str) -> bool {
    let line = line.trim();
    line.chars().count() <= MAX_FURNITURE_LINE_CHARS && LINE_RES.iter().any(|re| re.is_match(line))
}

/// Removes boilerplate lines and phrases from plain text (one paragraph or
/// line per `\n`).
pub fn remove(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            out.push('\n');
            continue;
        }
        if is_boilerplate_line(trimmed) {
            continue;
        }
        let mut cleaned = trimmed.to_string();
        for (re, replacement) in INLINE_RES.iter() {
            let replaced = re.replace_all(&cleaned, *replacement);
            if let std::borrow::Cow::Owned(s) = replaced {
                cleaned = s;
            }
        }
        let cleaned = cleaned.trim();
        if cleaned.is_empty() || !cleaned.chars().any(char::is_alphanumeric) {
            continue;
        }
        out.push_str(cleaned);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_patterns_compile() {
        assert_eq!(LINE_RES.len(), LINE_PATTERNS.len());
        assert_eq!(INLINE_RES.len(), INLINE_PATTERNS.len());
    }

    #[test]
    fn removes_feed_footers() {
        let t = remove(
            "Taiwan asked to join. The post Taiwan seeks INTERPOL role appeared first on Focus Taiwan.\nContinue reading →\nWe use cookies to improve your experience. Accept all cookies\nPhoto: CNA\n",
        );
        assert_eq!(t.trim(), "Taiwan asked to join.");
    }

    #[test]
    fn read_more_after_sentence_keeps_the_sentence() {
        assert_eq!(
            remove("Police made arrests. Read more »").trim(),
            "Police made arrests."
        );
        assert_eq!(
            remove("Officials will read more reports next week.").trim(),
            "Officials will read more reports next week."
        );
    }

    #[test]
    fn truncation_marker_leaves_ellipsis() {
        assert_eq!(
            remove("The agency said the [&hellip;]").trim(),
            "The agency said the…"
        );
        assert_eq!(
            remove("The agency said the […]").trim(),
            "The agency said the…"
        );
    }

    #[test]
    fn chinese_furniture() {
        let t = remove(
            "（中央社記者林小明台北5日電）內政部今天表示。（編輯：王大同）\n（圖／中央社）\n延伸閱讀：某某新聞\n",
        );
        assert_eq!(t.trim(), "內政部今天表示。");
    }
}
