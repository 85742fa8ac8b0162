//! Extractive summaries of news items, in the item's own language.
//!
//! Why extractive: the bot republishes other outlets' reporting, so every
//! word it posts should be one the outlet actually wrote (no invented facts,
//! no model to ship), and the summary stays in the language of the item
//! without translation.
//!
//! The pipeline, from untrusted inputs to 1–3 sentences:
//! 1. each source text (feed description, feed content, the article page's
//!    main text from [`article_main_text`]) is reduced to plain text
//!    ([`text::plain_text`]: HTML parsed, entities decoded, scripts and
//!    captions dropped, control characters stripped) and cleaned of
//!    boilerplate ([`boilerplate`] documents the list);
//! 2. split into sentences ([`sentences::split_sentences`]: English
//!    abbreviations, decimals, Chinese 。！？);
//! 3. duplicates across sources and sentences repeating the title dropped;
//!    fragments (no final punctuation, a truncated excerpt's "…" ending),
//!    very short pieces and sentences in another script than the item's
//!    language set aside unless nothing else is left;
//! 4. ranked ([`rank`]): centrality + topic terms + lead position, with a
//!    penalty for sentences that open with a back-reference ("He added",
//!    "However", "她並") and read as non sequiturs on their own;
//! 5. picked greedily by rank while they fit `max_chars`, skipping near
//!    duplicates of an already picked sentence, and emitted in original
//!    order. If not even one sentence fits, the best one is cut at a word
//!    boundary (a character boundary in CJK text) and ends in "…".
//!
//! Fediverse post composition lives in [`crate::publish::post`], next to the
//! other outputs, because it is about the target's limits and markup, not
//! about choosing sentences.

pub mod boilerplate;
pub mod rank;
pub mod sentences;
pub mod text;

use std::collections::HashSet;

use dom_smoothie::{Config, Readability};

pub use crate::text::is_cjk;
pub use sentences::{join_sentences, split_sentences};
pub use text::{clean_line, html_to_text, plain_text, strip_control_chars};

use rank::{Similarity, TopicTerm, W_CENTRALITY, W_LEAD, W_TOPIC, topic_hits};
use sentences::ends_with_terminal;
use text::{cap_bytes, cjk_ratio};

/// What the summariser reads for one item. All text is untrusted and may
/// contain HTML and entities.
#[derive(Debug, Clone, Copy, Default)]
pub struct SummaryInput<'a> {
    /// The item title; sentences that merely repeat it are not picked,
    /// since a post or feed entry shows the title anyway.
    pub title: &'a str,
    /// The feed's description/summary field.
    pub description: Option<&'a str>,
    /// The feed's full content (`content:encoded`, Atom `content`).
    pub content: Option<&'a str>,
    /// The article page's main text, from [`article_main_text`].
    pub article_text: Option<&'a str>,
    /// BCP 47 tag of the item ("en", "zh-TW"); picks which script the
    /// summary's sentences must be written in.
    pub language: &'a str,
}

/// Limits for a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryOptions {
    /// At most this many sentences; clamped to 1..=3, the range the product
    /// promises (a summary, not an excerpt).
    pub max_sentences: usize,
    /// At most this many characters (Unicode scalar values), separators
    /// included.
    pub max_chars: usize,
}

impl Default for SummaryOptions {
    /// Three sentences within 300 characters: what leaves room in a
    /// 500-character Mastodon post for the title, sources, link and tags.
    fn default() -> Self {
        Self {
            max_sentences: 3,
            max_chars: 300,
        }
    }
}

/// A summary: its text and the sentences it is made of.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// The sentences joined the way the language writes them.
    pub text: String,
    /// The sentences, in original order. One entry ending in "…" when the
    /// best sentence had to be cut.
    pub sentences: Vec<String>,
    /// True when a sentence was cut at a word boundary to fit.
    pub truncated: bool,
}

impl Summary {
    /// True when no text could be found at all (the caller may fall back to
    /// the title).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// Largest article page, in bytes, handed to the extractor.
const MAX_ARTICLE_BYTES: usize = 4 * 1024 * 1024;
/// Most elements dom_smoothie may parse; bigger pages are skipped, not slow.
const MAX_ARTICLE_ELEMENTS: usize = 60_000;
/// Below this many characters the extraction found furniture, not a story.
const MIN_ARTICLE_CHARS: usize = 80;

/// Main text of an article page, as plain text paragraphs separated by
/// blank lines; `None` when no article could be found.
///
/// dom_smoothie (a port of Mozilla's Readability) finds the article body and
/// drops navigation, cookie banners, share bars and footers; its HTML output
/// then goes through the same [`plain_text`] clean-up as feed text, so that
/// captions and boilerplate the page kept inside the article go too. The
/// caller fetches the page (this crate does no I/O); `url` resolves relative
/// links and may be anything, an unusable one is ignored.
pub fn article_main_text(html: &str, url: &str) -> Option<String> {
    let html = cap_bytes(html, MAX_ARTICLE_BYTES);
    let doc_url = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(String::from);
    let cfg = Config {
        max_elements_to_parse: MAX_ARTICLE_ELEMENTS,
        ..Config::default()
    };
    let mut readability = Readability::new(html, doc_url.as_deref(), Some(cfg)).ok()?;
    let article = readability.parse().ok()?;
    let text = plain_text(&article.content);
    // Readability often keeps the headline at the top of the content, glued
    // to the first paragraph; the title is shown on its own anyway.
    let title = plain_text(&article.title);
    let text = match text.strip_prefix(title.trim()) {
        Some(rest) if !title.trim().is_empty() => rest.trim_start().to_string(),
        _ => text,
    };
    (text.chars().count() >= MIN_ARTICLE_CHARS).then_some(text)
}

/// Normalised identity of a sentence for de-duplication: lower-cased
/// letters and digits only.
fn dedupe_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// True for languages written in CJK scripts.
fn is_cjk_language(language: &str) -> bool {
    let primary = language
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(primary.as_str(), "zh" | "ja" | "ko" | "yue" | "cmn" | "lzh")
}

#[derive(Debug, Clone)]
struct Candidate {
    text: String,
    /// Which input it came from (description 0, content 1, article 2).
    source: usize,
    /// Position in that input.
    pos: usize,
    complete: bool,
}

impl Candidate {
    fn long_enough(&self) -> bool {
        if cjk_ratio(&self.text) > 0.5 {
            self.text.chars().count() >= 8
        } else {
            self.text.split_whitespace().count() >= 5
        }
    }

    fn in_language(&self, cjk_language: bool) -> bool {
        let ratio = cjk_ratio(&self.text);
        if cjk_language {
            ratio >= 0.3
        } else {
            ratio < 0.5
        }
    }
}

/// Score factor for a sentence that leans on the one before it ("He
/// added…", "However…", "她並…"): out of context it reads as a non sequitur.
const DANGLING_PENALTY: f64 = 0.6;

/// Openings that refer back to an earlier sentence.
const DANGLING_EN: &[&str] = &[
    "he",
    "she",
    "it",
    "they",
    "his",
    "her",
    "its",
    "their",
    "this",
    "these",
    "those",
    "that",
    "but",
    "and",
    "however",
    "also",
    "meanwhile",
    "still",
    "yet",
    "so",
    "then",
    "such",
];
const DANGLING_ZH: &[&str] = &[
    "他", "她", "它", "此外", "但", "然而", "而", "並", "该", "該", "這", "这", "此", "對此",
    "对此", "同時", "同时", "另外",
];

/// True if the sentence starts with a word that needs the previous sentence.
fn is_dangling(sentence: &str) -> bool {
    let first_word: String = sentence
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .split(|c: char| !c.is_alphanumeric() || is_cjk(c))
        .next()
        .unwrap_or("")
        .to_lowercase();
    if DANGLING_EN.contains(&first_word.as_str()) {
        return true;
    }
    DANGLING_ZH.iter().any(|p| sentence.starts_with(p))
}

/// Similarity above which two sentences say the same thing.
const NEAR_DUPLICATE: f64 = 0.8;
/// Similarity above which a second pick adds too little.
const REDUNDANT: f64 = 0.6;

/// Writes the summary of one item (see the module docs for the steps).
///
/// `topic_terms` are the words the item was matched on (any case; CJK terms
/// match as substrings). The result is empty only when the inputs hold no
/// text at all.
pub fn summarize(
    input: &SummaryInput<'_>,
    topic_terms: &[String],
    options: &SummaryOptions,
) -> Summary {
    let max_sentences = options.max_sentences.clamp(1, 3);
    let max_chars = options.max_chars;
    let candidates = collect_candidates(input);
    if candidates.is_empty() || max_chars == 0 {
        return Summary::default();
    }

    let cjk_language = is_cjk_language(input.language);
    let strict: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.complete && c.long_enough() && c.in_language(cjk_language))
        .collect();
    let relaxed: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.in_language(cjk_language))
        .collect();
    let pool: Vec<&Candidate> = if !strict.is_empty() {
        strict
    } else if !relaxed.is_empty() {
        relaxed
    } else {
        candidates.iter().collect()
    };

    let terms: Vec<TopicTerm> = topic_terms
        .iter()
        .filter_map(|t| TopicTerm::new(t))
        .collect();
    let texts: Vec<&str> = pool.iter().map(|c| c.text.as_str()).collect();
    let sim = Similarity::new(&texts);
    let centrality = sim.centrality();
    let max_central = centrality.iter().cloned().fold(0.0_f64, f64::max);
    let hits: Vec<usize> = texts.iter().map(|t| topic_hits(t, &terms)).collect();
    let max_hits = hits.iter().copied().max().unwrap_or(0);

    let mut order: Vec<(usize, f64)> = pool
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let central = if max_central > 0.0 {
                centrality[i] / max_central
            } else {
                0.0
            };
            let topic = if max_hits > 0 {
                hits[i] as f64 / max_hits as f64
            } else {
                0.0
            };
            let lead = 1.0 / (1.0 + c.pos as f64);
            let mut score = W_CENTRALITY * central + W_TOPIC * topic + W_LEAD * lead;
            if is_dangling(&c.text) {
                score *= DANGLING_PENALTY;
            }
            (i, score)
        })
        .collect();
    // Stable: ties keep document order.
    order.sort_by(|a, b| b.1.total_cmp(&a.1));

    let mut picked: Vec<usize> = Vec::new();
    for (i, _) in &order {
        if picked.len() == max_sentences {
            break;
        }
        if picked.iter().any(|p| sim.cosine(*p, *i) > REDUNDANT) {
            continue;
        }
        let mut trial = picked.clone();
        trial.push(*i);
        if joined(&pool, &mut trial).chars().count() <= max_chars {
            picked = trial;
        }
    }

    if picked.is_empty() {
        let Some((best, _)) = order.first() else {
            return Summary::default();
        };
        let cut = truncate_at_word(&pool[*best].text, max_chars);
        return Summary {
            text: cut.clone(),
            sentences: vec![cut],
            truncated: true,
        };
    }
    let text = joined(&pool, &mut picked);
    Summary {
        text,
        sentences: picked.iter().map(|i| pool[*i].text.clone()).collect(),
        truncated: false,
    }
}

/// Sorts `picked` into document order and joins those sentences.
fn joined(pool: &[&Candidate], picked: &mut [usize]) -> String {
    picked.sort_by_key(|i| (pool[*i].source, pool[*i].pos));
    let sentences: Vec<&str> = picked.iter().map(|i| pool[*i].text.as_str()).collect();
    join_sentences(&sentences)
}

/// All sentences of all inputs, de-duplicated, without those repeating the
/// title.
fn collect_candidates(input: &SummaryInput<'_>) -> Vec<Candidate> {
    let title = clean_line(input.title);
    let mut seen: HashSet<String> = HashSet::new();
    let title_key = dedupe_key(&title);
    if !title_key.is_empty() {
        seen.insert(title_key);
    }
    let mut all = Vec::new();
    for (source, raw) in [input.description, input.content, input.article_text]
        .into_iter()
        .enumerate()
    {
        let Some(raw) = raw else { continue };
        let text = plain_text(raw);
        for (pos, sentence) in split_sentences(&text).into_iter().enumerate() {
            let key = dedupe_key(&sentence);
            if key.is_empty() || !seen.insert(key) {
                continue;
            }
            all.push(Candidate {
                complete: ends_with_terminal(&sentence),
                text: sentence,
                source,
                pos,
            });
        }
    }
    // Near duplicates (the description's slightly edited lede, the title
    // restated) go too; the earlier occurrence wins.
    let mut texts: Vec<&str> = vec![title.as_str()];
    texts.extend(all.iter().map(|c| c.text.as_str()));
    let sim = Similarity::new(&texts);
    let mut keep: Vec<usize> = Vec::new();
    for j in 1..texts.len() {
        let dup_of_title = !title.is_empty() && sim.cosine(0, j) > NEAR_DUPLICATE;
        let dup_of_kept = keep.iter().any(|k| sim.cosine(*k, j) > NEAR_DUPLICATE);
        if !dup_of_title && !dup_of_kept {
            keep.push(j);
        }
    }
    keep.into_iter()
        .filter_map(|j| all.get(j - 1).cloned())
        .collect()
}

/// Cutting at a word with "…" lives in the text toolkit.
pub use crate::text::truncate_at_word;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_words_and_cjk() {
        let t = truncate_at_word(
            "The ministry said Taiwan remains excluded from INTERPOL",
            30,
        );
        assert_eq!(t, "The ministry said Taiwan…");
        assert!(t.chars().count() <= 30);
        let z = truncate_at_word("台灣持續爭取參與國際刑警組織大會並分享情資", 10);
        assert_eq!(z, "台灣持續爭取參與國…");
        let c = truncate_at_word("外交部今天表示，台灣將持續爭取參與國際刑警組織", 14);
        assert_eq!(c, "外交部今天表示…");
        assert_eq!(truncate_at_word("short", 10), "short");
        assert_eq!(truncate_at_word("abcdef", 1), "…");
    }

    #[test]
    fn dangling_openings() {
        assert!(is_dangling("He added that the bureau would appeal."));
        assert!(is_dangling("“However, the plan failed.”"));
        assert!(is_dangling("她並感謝美國。"));
        assert!(!is_dangling("Helen Lin said so."));
        assert!(!is_dangling("外交部表示。"));
    }

    #[test]
    fn cjk_language_detection() {
        assert!(is_cjk_language("zh-TW"));
        assert!(is_cjk_language("zh_Hant"));
        assert!(!is_cjk_language("en"));
    }
}
