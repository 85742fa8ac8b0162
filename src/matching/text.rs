//! Text normalisation and tokenisation shared by the rules, the scorer and
//! the story clustering.
//!
//! Everything that compares text goes through [`fold`] first, so that the
//! operator's terms and the feed's text meet in one canonical form:
//!
//! 1. NFKD, so full-width and compatibility forms (`ＩＮＴＥＲＰＯＬ`, `㎞`) become
//!    their plain equivalents and accented letters split into base + mark;
//! 2. lower-casing;
//! 3. removal of the *diacritic* combining marks (the Latin/Greek/Cyrillic
//!    accent blocks only: removing every combining mark would also delete
//!    Japanese voicing marks and Indic vowel signs, which carry meaning);
//! 4. NFC, to put kana and Hangul back together;
//! 5. Traditional → Simplified Chinese (zhconv, zh-Hans tables) when the text
//!    has Han characters, so `臺灣`, `台灣` and `台湾` are one string.
//!
//! The folded text is only used for matching; callers keep the original for
//! display.
//!
//! Tokenisation has two halves. Latin-script (and any other space-delimited
//! script) words are split on non-alphanumerics and reduced with the English
//! Snowball stemmer, so `scams` and `scam` are one token. Han and kana runs
//! are handed to jieba for scoring, while rules match them as substrings of
//! the folded text: Chinese has no spaces, and a substring test is both the
//! most predictable behaviour for an operator and immune to segmentation
//! mistakes.

use std::borrow::Cow;
use std::hash::{BuildHasherDefault, Hasher};

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::text::{is_cjk, is_han, is_kana, truncate_bytes as truncate};

/// Longest field (in bytes of input) we look at. Feed fields are short leads;
/// capping them bounds the time every rule, regex and tokenizer can spend on
/// one hostile item.
pub const MAX_FIELD_BYTES: usize = 16 * 1024;

/// A small, fast, non-cryptographic hasher (the rustc "Fx" hash). The keys
/// are our own stems and term strings looked up per token on the hot path, so
/// SipHash's DoS resistance buys nothing here and costs a lot.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(buf));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

/// HashMap keyed with [`FxHasher`].
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// FNV-1a, 64 bit. Used where a hash is *stored* (story fingerprints): unlike
/// std's hasher it is fixed forever, so fingerprints saved today still compare
/// with those computed after an upgrade.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Combining marks that are accents on alphabetic letters (the blocks that
/// accent folding should remove). Kana voicing marks and Indic vowel signs
/// are deliberately not in here.
fn is_diacritic(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// Canonical matching form of a text (see the module docs). Input beyond
/// [`MAX_FIELD_BYTES`] is ignored.
pub fn fold(text: &str) -> String {
    let text = truncate(text, MAX_FIELD_BYTES);
    // Fast path: ASCII needs only lower-casing, and it is most of the input.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let folded: String = text
        .nfkd()
        .flat_map(char::to_lowercase)
        .filter(|c| !is_diacritic(*c))
        .nfc()
        .collect();
    // NFKD splits Thai SARA AM (and Lao AM) into NIKHAHIT + SARA AA, which
    // NFC does not put back; the dictionary segmenter only knows the
    // composed letter.
    let folded = if folded.contains(['\u{0E4D}', '\u{0ECD}']) {
        folded
            .replace("\u{0E4D}\u{0E32}", "\u{0E33}")
            .replace("\u{0ECD}\u{0EB2}", "\u{0EB3}")
    } else {
        folded
    };
    if folded.chars().any(is_han) {
        to_simplified(&folded)
    } else {
        folded
    }
}

/// Traditional → Simplified Chinese, for matching only. The one place that
/// names the conversion crate (zhconv, MediaWiki zh-Hans tables), so it can
/// be swapped without touching the rest.
pub fn to_simplified(text: &str) -> String {
    zhconv::get_builtin_converter(zhconv::Variant::ZhHans).convert(text)
}

/// True for characters that belong inside a space-delimited word. Combining
/// marks count so that Devanagari vowel signs do not split words.
fn is_word_char(c: char) -> bool {
    (c.is_alphanumeric() && !is_cjk(c)) || (!c.is_ascii() && is_combining_mark(c))
}

/// Thai, Lao, Khmer and Burmese: alphabetic scripts written without spaces
/// between words, segmented with a dictionary (see [`for_each_word`]).
pub fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}'
        | '\u{1000}'..='\u{109F}'
        | '\u{1780}'..='\u{17FF}'
        | '\u{19E0}'..='\u{19FF}'
        | '\u{A9E0}'..='\u{A9FF}'
        | '\u{AA60}'..='\u{AA7F}')
}

/// ICU4X's dictionary word segmenter (compiled-in data: no I/O, nothing
/// to build at run time). It knows Thai, Lao, Khmer, Burmese, Chinese and
/// Japanese words.
fn icu_words(text: &str, offset: usize, f: &mut impl FnMut(usize, usize)) {
    use icu_segmenter::WordSegmenter;
    use icu_segmenter::options::WordBreakInvariantOptions;
    let seg = WordSegmenter::new_dictionary(WordBreakInvariantOptions::default());
    // Segments with a letter are words. (ICU's word type is not used: it
    // reports a run that is one dictionary word as "none".)
    let mut prev = 0;
    for b in seg.segment_str(text) {
        if b > prev && text[prev..b].chars().any(|c| c.is_alphanumeric()) {
            f(offset + prev, offset + b);
        }
        prev = b;
    }
}

/// Calls `f(start, end)` for every word of an already folded text (byte
/// ranges), in order:
///
/// * space-delimited words, split on non-alphanumerics; a possessive `'s`
///   is dropped, so that `taiwan's interpol bid` is the phrase
///   `taiwan interpol bid`;
/// * Thai, Lao, Khmer and Burmese runs are split into dictionary words
///   (ICU4X), so `ตำรวจไต้หวัน` is the two words `ตำรวจ` `ไต้หวัน`;
/// * Han/kana runs that contain kana (Japanese) are split into dictionary
///   words too. Han-only runs (Chinese) are not words here: rules match
///   them as substrings and the scorer segments them with jieba.
pub fn for_each_word(folded: &str, mut f: impl FnMut(usize, usize)) {
    let emit_word = |s: usize, e: usize, f: &mut dyn FnMut(usize, usize)| {
        let w = &folded[s..e];
        if !w.is_ascii() && w.chars().any(is_unspaced_script) {
            icu_words(w, s, &mut |a, b| f(a, b));
        } else {
            f(s, e);
        }
    };
    let emit_cjk = |s: usize, e: usize, f: &mut dyn FnMut(usize, usize)| {
        let run = &folded[s..e];
        if run.chars().any(is_kana) {
            icu_words(run, s, &mut |a, b| f(a, b));
        }
    };
    let mut start: Option<usize> = None;
    let mut cjk_start: Option<usize> = None;
    let mut iter = folded.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if is_cjk(c) {
            if let Some(s) = start.take() {
                emit_word(s, i, &mut f);
            }
            cjk_start.get_or_insert(i);
            continue;
        }
        if let Some(s) = cjk_start.take() {
            emit_cjk(s, i, &mut f);
        }
        if is_word_char(c) {
            if start.is_none() {
                start = Some(i);
            }
            continue;
        }
        if let Some(s) = start.take() {
            emit_word(s, i, &mut f);
            if c == '\'' || c == '\u{2019}' {
                // Skip a possessive 's when it ends the word.
                if let Some(&(_, 's')) = iter.peek() {
                    let mut look = iter.clone();
                    look.next();
                    match look.peek() {
                        Some(&(_, n)) if is_word_char(n) => {}
                        _ => {
                            iter.next();
                        }
                    }
                }
            }
        }
    }
    if let Some(s) = start {
        emit_word(s, folded.len(), &mut f);
    }
    if let Some(s) = cjk_start {
        emit_cjk(s, folded.len(), &mut f);
    }
}

/// Calls `f(start, end)` for every maximal run of Han/kana characters.
pub fn for_each_cjk_run(folded: &str, mut f: impl FnMut(usize, usize)) {
    let mut start: Option<usize> = None;
    for (i, c) in folded.char_indices() {
        if is_cjk(c) {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            f(s, i);
        }
    }
    if let Some(s) = start {
        f(s, folded.len());
    }
}

/// English stemmer. Only ASCII words are stemmed: the Snowball rules are
/// English, and running them on other scripts would only mangle words.
pub struct WordStemmer {
    stemmer: Stemmer,
}

impl Default for WordStemmer {
    fn default() -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
        }
    }
}

impl std::fmt::Debug for WordStemmer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WordStemmer(english)")
    }
}

impl WordStemmer {
    /// Stem of one folded word.
    pub fn stem<'a>(&self, word: &'a str) -> Cow<'a, str> {
        if word.is_ascii() && word.bytes().any(|b| b.is_ascii_alphabetic()) {
            self.stemmer.stem(word)
        } else {
            Cow::Borrowed(word)
        }
    }

    /// Folds, splits and stems a text: the word tokens used by rules.
    pub fn stems(&self, text: &str) -> Vec<String> {
        let folded = fold(text);
        let mut out = Vec::new();
        for_each_word(&folded, |s, e| {
            out.push(self.stem(&folded[s..e]).into_owned())
        });
        out
    }
}

/// English function words and news boilerplate that carry no topic signal.
/// Sorted, for binary search.
const EN_STOP: &[&str] = &[
    "a",
    "about",
    "above",
    "according",
    "after",
    "again",
    "against",
    "ago",
    "all",
    "also",
    "am",
    "among",
    "an",
    "and",
    "another",
    "any",
    "are",
    "around",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "even",
    "ever",
    "few",
    "first",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "last",
    "least",
    "less",
    "like",
    "made",
    "make",
    "many",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "new",
    "news",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "per",
    "said",
    "same",
    "say",
    "says",
    "she",
    "should",
    "since",
    "so",
    "some",
    "still",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "though",
    "three",
    "through",
    "to",
    "told",
    "too",
    "two",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "very",
    "via",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "year",
    "years",
    "yet",
    "you",
    "your",
    "yours",
];

/// Chinese function words that jieba returns as words of two or more
/// characters (single characters are dropped anyway).
const ZH_STOP: &[&str] = &[
    "一个", "不是", "也是", "但是", "因为", "如果", "已经", "我们", "所以", "指出", "没有", "然而",
    "由于", "目前", "表示", "认为", "进行", "这些", "这个", "那些", "他们", "她们", "以及", "其中",
    "对于", "可以", "并且", "而且", "同时", "就是", "还是", "此外", "是否",
];

/// True for words that carry no topic signal for scoring and clustering.
/// `word` is the folded surface form (not the stem).
pub fn is_stop_word(word: &str) -> bool {
    if word.chars().count() < 2 || word.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    if word.is_ascii() {
        EN_STOP.binary_search(&word).is_ok()
    } else {
        ZH_STOP.contains(&word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_lists_are_sorted() {
        let mut sorted = EN_STOP.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, EN_STOP);
    }

    #[test]
    fn fold_handles_case_width_accents_and_scripts() {
        assert_eq!(fold("ＩＮＴＥＲＰＯＬ"), "interpol");
        assert_eq!(fold("Taiwán Café"), "taiwan cafe");
        assert_eq!(fold("臺灣"), fold("台湾"));
        assert_eq!(fold("國際刑警組織"), "国际刑警组织");
        // Kana voicing marks survive accent stripping.
        assert_eq!(fold("ポルノ"), "ポルノ");
    }

    #[test]
    fn english_words_are_split_and_stemmed() {
        let st = WordStemmer::default();
        assert_eq!(st.stems("Scams!"), st.stems("scam"));
        assert_eq!(
            st.stems("Taiwan's INTERPOL-led scam centres"),
            vec!["taiwan", "interpol", "led", "scam", "centr"]
        );
        assert_eq!(st.stems("human trafficking"), st.stems("Human Trafficking"));
        assert_ne!(st.stems("scam"), st.stems("scar"));
        // Other scripts are split on spaces, not stemmed.
        assert_eq!(st.stems("ताइवान पुलिस").len(), 2);
    }

    fn words(text: &str) -> Vec<String> {
        let f = fold(text);
        let mut out = Vec::new();
        for_each_word(&f, |s, e| out.push(f[s..e].to_string()));
        out
    }

    #[test]
    fn thai_is_segmented_into_dictionary_words() {
        // "Taiwan police arrest a scam gang": no spaces between words.
        let w = words("ตำรวจไต้หวันจับกุมแก๊งหลอกลวง");
        assert!(w.contains(&"ไต้หวัน".to_string()), "{w:?}");
        assert!(w.contains(&"ตำรวจ".to_string()), "{w:?}");
        // The rule term is one word, found whole.
        assert_eq!(words("ไต้หวัน"), vec!["ไต้หวัน".to_string()]);
        // Latin words around Thai keep their order.
        let w = words("INTERPOL แถลงว่าไต้หวัน ok");
        assert_eq!(w.first().map(String::as_str), Some("interpol"));
        assert_eq!(w.last().map(String::as_str), Some("ok"));
    }

    #[test]
    fn japanese_is_segmented_and_chinese_is_not() {
        let w = words("台湾の警察がインターポールに協力");
        assert!(w.contains(&"インターポール".to_string()), "{w:?}");
        assert!(w.contains(&"台湾".to_string()), "{w:?}");
        // Chinese (no kana) is left to substring matching and jieba.
        assert!(words("台灣警方與國際刑警組織合作").is_empty());
        // Burmese and Khmer runs are split too (at least not one blob).
        assert!(words("ထိုင်ဝမ်ရဲတပ်ဖွဲ့").len() >= 2);
    }

    #[test]
    fn cjk_runs_are_found() {
        let mut runs = Vec::new();
        let t = fold("INTERPOL與台灣 2025年");
        for_each_cjk_run(&t, |s, e| runs.push(t[s..e].to_string()));
        assert_eq!(runs, vec!["与台湾".to_string(), "年".to_string()]);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let s = "台湾".repeat(10_000);
        let t = truncate(&s, MAX_FIELD_BYTES);
        assert!(t.len() <= MAX_FIELD_BYTES);
        assert!(fold(&s).len() <= MAX_FIELD_BYTES);
    }
}
