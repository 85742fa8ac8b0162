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

use regex::{Captures, Regex};

/// A pattern and the most characters some of its named groups may match.
///
/// A counted repetition such as `[^)]{0,80}` compiles to 80 copies of its
/// class, each an automaton of Unicode ranges, and the daemon keeps every
/// compiled pattern: the 24 patterns held 4.5 MB of heap. So the patterns
/// repeat without a count (`(?P<name>[^)]*)`) and the count is checked on
/// the match; a match over a limit is passed over and the search goes on
/// from its next character, as the counted pattern's would have.
pub struct Pattern {
    pub regex: &'static str,
    pub limits: &'static [(&'static str, usize)],
}

const fn plain(regex: &'static str) -> Pattern {
    Pattern { regex, limits: &[] }
}

/// A pattern with one named group limited to `max` characters.
macro_rules! limited {
    ($regex:expr, $group:literal, $max:literal) => {
        Pattern {
            regex: $regex,
            limits: &[($group, $max)],
        }
    };
}

/// Whole-line patterns; a line matching any of them is dropped.
///
/// The patterns that start a line after any non-word characters (`^\W*`)
/// are one alternation: each `\W` is an automaton of Unicode ranges of its
/// own, and the regex crate gives an anchored one-pass pattern a DFA of up
/// to 0.8 MB. Apart they held 1.7 MB of heap, together 0.3 MB.
pub const LINE_PATTERNS: &[Pattern] = &[
    // cookie notices
    plain(r"(?i)\bcookies?\b.*\b(accept|consent|agree|policy|policies|settings|preferences)\b"),
    plain(r"(?i)\b(accept|consent to|agree to|use of|uses|use)\b.*\bcookies?\b"),
    // subscription prompts
    plain(
        r"(?i)\b(click here to subscribe|subscribe to our newsletter|sign up for our newsletter|subscribe now)\b",
    ),
    // after leading non-word characters: photo credits and captions,
    // share / follow / related prompts, advertisements
    plain(concat!(
        r"(?i)^\W*(?:",
        r"(?:file photo|photo|photograph|picture|image)(?: courtesy of)?\s*[:：/／]",
        r"|photo courtesy of\b",
        r"|[（(]?圖[／/：:]",
        r"|share this (?:article|story)|share on (?:facebook|twitter|x|line|whatsapp)",
        r"|follow us on\b|advertisement\W*$|related:|related (?:articles|stories|news)\W*$",
        r"|read also\b|also read\b",
        r"|延伸閱讀|相關新聞|更多新聞|廣告",
        r")",
    )),
    // bylines without sentence punctuation
    limited!(r"^\s*\(?By [A-Z](?P<rest>[^.!?]+)$", "rest", 80),
    limited!(
        r"(?i)^\s*staff (writer|reporter)s?\b(?P<rest>[^.!?]*)$",
        "rest",
        80
    ),
    // copyright / footers
    plain(r"(?i)(©|\bcopyright\s+(©\s*)?\d{4}|\ball rights reserved\b|版權所有)"),
];

/// In-line patterns and their replacements; `${keep}` puts back the
/// sentence punctuation a tail hangs off. Truncation markers become a single
/// "…" so the summariser can tell that the sentence before them is cut.
pub const INLINE_PATTERNS: &[(Pattern, &str)] = &[
    // WordPress: "The post <title> appeared first on <site>."
    (
        Pattern {
            regex: r"(?i)\bThe post (?P<title>.+?) appeared first on (?P<site>.+?)(\.|$)",
            limits: &[("title", 300), ("site", 200)],
        },
        "",
    ),
    // truncation markers
    (plain(r"\s*\[(?:…|\.\.\.|&hellip;|&#8230;)\]"), "…"),
    (plain(r"(?i)\s*\(more(?:…|\.\.\.)\)"), "…"),
    // "Read more" / "Continue reading" tails, at line start or after a sentence end
    (
        limited!(
            r"(?i)(?P<keep>^|[.!?…。！？」”\x22])\s*(?:\.\.\.|…)?\s*(?:read more|continue reading|read the full (?:story|article)|read full (?:story|article)|keep reading)\b(?P<tail>[^\n]*)$",
            "tail",
            160
        ),
        "${keep}",
    ),
    (
        limited!(
            r"(?P<keep>^|[。！？」”…])\s*(?:閱讀更多|繼續閱讀|看更多|閱讀全文)(?P<tail>[^\n]*)$",
            "tail",
            60
        ),
        "${keep}",
    ),
    // inline photo credits
    (
        limited!(
            r"(?i)\s*[(（]\s*(?:file )?photos?\s*(?:courtesy of)?\s*[:：/／](?P<credit>[^)）]*)[)）]",
            "credit",
            80
        ),
        "",
    ),
    (
        limited!(r"\s*（圖[／/：:](?P<credit>[^）]*)）", "credit", 60),
        "",
    ),
    // wire datelines at the start of a line
    (
        limited!(r"^（中央社(?P<dateline>[^）]*)電）", "dateline", 40),
        "",
    ),
    (
        plain(r"^[A-Z][A-Za-z0-9 .,]{0,40}?\((?:CNA|AP|AFP|Reuters|UPI|Xinhua)\)\s*[-–—:]*\s*"),
        "",
    ),
    // end markers and editor notes
    (plain(r"\s*\bEnditem(?:/[A-Za-z]{1,6})?\s*$"), ""),
    (plain(r"\s*\((?:E|END)\)\s*$"), ""),
    (
        limited!(r"\s*（編輯：(?P<editor>[^）]*)）\d*", "editor", 40),
        "",
    ),
    (
        limited!(r"\s*\(By [A-Z](?P<name>[^)]+)\)\s*$", "name", 80),
        "",
    ),
];

/// A compiled [`Pattern`].
struct Limited {
    re: Regex,
    limits: &'static [(&'static str, usize)],
}

impl Limited {
    /// Patterns are constants checked by a unit test; a pattern that failed
    /// to compile would merely be skipped rather than take the daemon down.
    fn new(p: &Pattern) -> Option<Limited> {
        Regex::new(p.regex).ok().map(|re| Limited {
            re,
            limits: p.limits,
        })
    }

    fn within_limits(&self, caps: &Captures) -> bool {
        self.limits.iter().all(|(name, max)| {
            caps.name(name)
                .is_none_or(|m| m.as_str().chars().count() <= *max)
        })
    }

    /// The leftmost match at or after byte `at` that is within the limits.
    fn captures_at<'t>(&self, text: &'t str, mut at: usize) -> Option<Captures<'t>> {
        loop {
            let caps = self.re.captures_at(text, at)?;
            if self.within_limits(&caps) {
                return Some(caps);
            }
            let start = caps.get(0).map_or(at, |m| m.start());
            at = start + text[start..].chars().next()?.len_utf8();
        }
    }

    fn is_match(&self, text: &str) -> bool {
        if self.limits.is_empty() {
            self.re.is_match(text)
        } else {
            self.captures_at(text, 0).is_some()
        }
    }

    /// Every match within the limits replaced (`${name}` expands), or None
    /// when there is none.
    fn replace_all(&self, text: &str, replacement: &str) -> Option<String> {
        let mut out = String::new();
        let mut copied = 0;
        let mut at = 0;
        let mut replaced = false;
        while let Some(caps) = self.captures_at(text, at) {
            let Some(m) = caps.get(0) else { break };
            out.push_str(&text[copied..m.start()]);
            caps.expand(replacement, &mut out);
            copied = m.end();
            replaced = true;
            at = if m.is_empty() {
                // Never the case with these patterns; guards the loop.
                match text[m.end()..].chars().next() {
                    Some(c) => m.end() + c.len_utf8(),
                    None => break,
                }
            } else {
                m.end()
            };
        }
        replaced.then(|| {
            out.push_str(&text[copied..]);
            out
        })
    }
}

static LINE_RES: LazyLock<Vec<Limited>> =
    LazyLock::new(|| LINE_PATTERNS.iter().filter_map(Limited::new).collect());
static INLINE_RES: LazyLock<Vec<(Limited, &'static str)>> = LazyLock::new(|| {
    INLINE_PATTERNS
        .iter()
        .filter_map(|(p, r)| Limited::new(p).map(|re| (re, *r)))
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
    remove_with(text, is_boilerplate_line, |mut line| {
        for (re, replacement) in INLINE_RES.iter() {
            if let Some(replaced) = re.replace_all(&line, replacement) {
                line = replaced;
            }
        }
        line
    })
}

/// [`remove`] with its two steps given: whether a trimmed line is
/// furniture, and the in-line clean-up of one that is not.
fn remove_with(
    text: &str,
    is_furniture: impl Fn(&str) -> bool,
    clean: impl Fn(String) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            out.push('\n');
            continue;
        }
        if is_furniture(trimmed) {
            continue;
        }
        let cleaned = clean(trimmed.to_string());
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

    /// The patterns as they were before they were merged and their counted
    /// repetitions moved out of the regexes.
    const LINE_PATTERNS_BEFORE: &[&str] = &[
        r"(?i)\bcookies?\b.*\b(accept|consent|agree|policy|policies|settings|preferences)\b",
        r"(?i)\b(accept|consent to|agree to|use of|uses|use)\b.*\bcookies?\b",
        r"(?i)\b(click here to subscribe|subscribe to our newsletter|sign up for our newsletter|subscribe now)\b",
        r"(?i)^\W*(file photo|photo|photograph|picture|image)( courtesy of)?\s*[:：/／]",
        r"(?i)^\W*photo courtesy of\b",
        r"^\W*[（(]?圖[／/：:]",
        r"^\s*\(?By [A-Z][^.!?]{1,80}$",
        r"(?i)^\s*staff (writer|reporter)s?\b[^.!?]{0,80}$",
        r"(?i)(©|\bcopyright\s+(©\s*)?\d{4}|\ball rights reserved\b|版權所有)",
        r"(?i)^\W*(share this (article|story)|share on (facebook|twitter|x|line|whatsapp)|follow us on\b|advertisement\W*$|related:|related (articles|stories|news)\W*$|read also\b|also read\b)",
        r"^\W*(延伸閱讀|相關新聞|更多新聞|廣告)",
    ];
    const INLINE_PATTERNS_BEFORE: &[(&str, &str)] = &[
        (
            r"(?i)\bThe post .{1,300}? appeared first on .{1,200}?(\.|$)",
            "",
        ),
        (r"\s*\[(?:…|\.\.\.|&hellip;|&#8230;)\]", "…"),
        (r"(?i)\s*\(more(?:…|\.\.\.)\)", "…"),
        (
            r"(?i)(?P<keep>^|[.!?…。！？」”\x22])\s*(?:\.\.\.|…)?\s*(?:read more|continue reading|read the full (?:story|article)|read full (?:story|article)|keep reading)\b[^\n]{0,160}$",
            "${keep}",
        ),
        (
            r"(?P<keep>^|[。！？」”…])\s*(?:閱讀更多|繼續閱讀|看更多|閱讀全文)[^\n]{0,60}$",
            "${keep}",
        ),
        (
            r"(?i)\s*[(（]\s*(?:file )?photos?\s*(?:courtesy of)?\s*[:：/／][^)）]{0,80}[)）]",
            "",
        ),
        (r"\s*（圖[／/：:][^）]{0,60}）", ""),
        (r"^（中央社[^）]{0,40}電）", ""),
        (
            r"^[A-Z][A-Za-z0-9 .,]{0,40}?\((?:CNA|AP|AFP|Reuters|UPI|Xinhua)\)\s*[-–—:]*\s*",
            "",
        ),
        (r"\s*\bEnditem(?:/[A-Za-z]{1,6})?\s*$", ""),
        (r"\s*\((?:E|END)\)\s*$", ""),
        (r"\s*（編輯：[^）]{0,40}）\d*", ""),
        (r"\s*\(By [A-Z][^)]{1,80}\)\s*$", ""),
    ];

    /// [`remove`] with the patterns before.
    fn remove_before(text: &str) -> String {
        let lines: Vec<Regex> = LINE_PATTERNS_BEFORE
            .iter()
            .map(|p| Regex::new(p).expect("pattern"))
            .collect();
        let inline: Vec<(Regex, &str)> = INLINE_PATTERNS_BEFORE
            .iter()
            .map(|(p, r)| (Regex::new(p).expect("pattern"), *r))
            .collect();
        remove_with(
            text,
            |line| {
                line.chars().count() <= MAX_FURNITURE_LINE_CHARS
                    && lines.iter().any(|re| re.is_match(line))
            },
            |mut line| {
                for (re, replacement) in &inline {
                    line = re.replace_all(&line, *replacement).into_owned();
                }
                line
            },
        )
    }

    #[test]
    fn patterns_decide_as_the_counted_and_separate_ones_did() {
        let n = |k: usize| "x".repeat(k);
        let texts = [
            "Photo: CNA".to_string(),
            "• Photo: CNA".into(),
            "PHOTOGRAPH / Reuters".into(),
            "File photo: a police car".into(),
            "Picture courtesy of AP: the scene".into(),
            "— Photo courtesy of the ministry".into(),
            "Photo courtesy ofthe ministry".into(),
            "Photos of the raid were released".into(),
            "(圖／中央社)".into(),
            "（圖：翻攝）".into(),
            "圖/記者攝".into(),
            "畫圖：小明".into(),
            "Share this article".into(),
            "» Share on Facebook".into(),
            "share on linkedin".into(),
            "Follow us on X".into(),
            "Follow usonx".into(),
            "ADVERTISEMENT".into(),
            "Advertisement —".into(),
            "Advertisements for scams".into(),
            "Related: Taiwan seeks a seat".into(),
            "Related articles".into(),
            "Related articles on Taiwan".into(),
            "Read also: the last assembly".into(),
            "Also read the statement".into(),
            "延伸閱讀：某某新聞".into(),
            "【相關新聞】".into(),
            "這則更多新聞不是開頭".into(),
            "廣告".into(),
            "We use cookies. Accept all".into(),
            "By Jane Doe".into(),
            format!("By J{}", n(80)),
            format!("By J{}", n(81)),
            "By Jane Doe. She wrote this.".into(),
            "Staff writer, with CNA".into(),
            format!("Staff writer {}", n(79)),
            format!("Staff writer {}", n(81)),
            "© 2025 Focus Taiwan".into(),
            "Taiwan asked to join. The post Taiwan seeks INTERPOL role appeared first on Focus Taiwan.".into(),
            "The post A appeared first on B".into(),
            format!("The post {} appeared first on B.", n(300)),
            format!("The post {} appeared first on B.", n(301)),
            format!("The post A appeared first on {}", n(200)),
            format!("The post A appeared first on {}", n(201)),
            "The agency said the [&hellip;]".into(),
            "The agency said (more…)".into(),
            "Police made arrests. Read more »".into(),
            "Officials will read more reports next week.".into(),
            format!("Police made arrests. Read more {}", n(155)),
            format!("Police made arrests. Read more {}", n(161)),
            format!("It ended. Read more {}. Read more »", n(170)),
            "內政部今天表示。閱讀更多".into(),
            format!("內政部今天表示。閱讀全文{}", n(60)),
            format!("內政部今天表示。閱讀全文{}", n(61)),
            "Police raided the site (Photo: CNA) on Monday.".into(),
            format!("Police raided the site (Photo: {}) on Monday.", n(80)),
            format!("Police raided the site (Photo: {}) on Monday.", n(81)),
            "警方破獲詐團（圖／翻攝）".into(),
            format!("警方破獲詐團（圖／{}）", n(61)),
            "（中央社記者林小明台北5日電）內政部今天表示。（編輯：王大同）".into(),
            format!("（中央社{}電）內政部今天表示。", n(40)),
            format!("（中央社{}電）內政部今天表示。", n(41)),
            format!("內政部今天表示。（編輯：{}）1", n(41)),
            "Taipei, Nov. 5 (CNA) — Taiwan asked.".into(),
            "Taiwan asked. Enditem/ls".into(),
            "Taiwan asked. (E)".into(),
            "Taiwan asked. (By Jane Doe)".into(),
            format!("Taiwan asked. (By J{})", n(81)),
            "Taiwan asked to join INTERPOL as an observer.".into(),
            "Line one.\n\nPhoto: CNA\nLine two. Read more".into(),
            String::new(),
        ];
        for text in &texts {
            assert_eq!(remove(text), remove_before(text), "{text:?}");
        }
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
