//! Topic profile and the similarity part of the relevance score.
//!
//! The profile is a bag of weighted terms built from the topic description
//! and any reference texts the operator adds: English words are stemmed
//! (stop words dropped), Chinese is segmented by jieba after folding to
//! Simplified, with the topic's own vocabulary added to jieba's dictionary so
//! that `国际刑警组织` stays one term instead of four.
//!
//! There is no background corpus at run time, so a term's profile weight is
//! its sub-linear frequency in the profile, `1 + ln(tf)`, scaled so the
//! heaviest term weighs 1: the words the profile keeps coming back to
//! dominate, and function words never enter (stop lists). An item is then
//! scored BM25-style with the profile as the query:
//!
//! ```text
//! s   = Σ_t  w(t) · tf(t)·(k1+1) / (tf(t)+k1)     tf = title_weight·tf_title + tf_summary
//! sim = s / (s + half)                           ∈ [0, 1), 0.5 when s == half
//! ```
//!
//! BM25's length normalisation is left out (b = 0) on purpose: feed leads are
//! all about the same length, and without it the score is monotone: adding
//! a profile term to an item can only raise it. Both `tf` saturation and the
//! final `s/(s+half)` keep one repeated word from dominating.

use std::sync::OnceLock;

use jieba_rs::Jieba;

use super::query::{FieldDoc, Vocab};
use super::text::{self, FxHashMap, WordStemmer};

/// BM25 term-frequency saturation.
const K1: f64 = 1.2;

/// Topic words added to jieba's dictionary (Simplified: the text is folded
/// before segmentation). Their frequency is high enough that jieba prefers
/// them to a split into shorter dictionary words.
const TOPIC_WORDS: &[&str] = &[
    "国际刑警组织",
    "国际刑警",
    "刑警组织",
    "刑事警察局",
    "刑事局",
    "诈骗",
    "电信诈骗",
    "电信网络诈骗",
    "网络诈骗",
    "诈骗集团",
    "诈骗园区",
    "诈团",
    "跨境犯罪",
    "跨国犯罪",
    "跨国组织犯罪",
    "人口贩运",
    "人口贩卖",
    "洗钱",
    "儿少性剥削",
    "性剥削",
    "网络犯罪",
    "网络犯罪公约",
    "红色通缉",
    "红色通缉令",
    "观察员",
    "大会",
    "有意义参与",
    "台湾",
    "中华台北",
];

/// Frequency given to topic words in jieba's dictionary.
const TOPIC_WORD_FREQ: usize = 50_000;

/// Tokenizers shared by every topic compiled from one configuration.
///
/// jieba's dictionary (about 30 MB resident) is built only when Han or kana
/// text is met: [`Profile::build`] segments the profile with a jieba of its
/// own and drops it, and the analyzer builds its own on the first item with
/// Chinese text. A deployment whose items are never Chinese keeps none.
pub struct Analyzer {
    pub stemmer: WordStemmer,
    /// Folded CJK words added to jieba's dictionary: the built-in topic
    /// words, then the configuration's.
    words: Vec<String>,
    jieba: OnceLock<Jieba>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Analyzer")
    }
}

impl Analyzer {
    /// Keeps the built-in topic words and `extra` for jieba's dictionary;
    /// jieba itself is built on first use ([`Analyzer::segmenter`]).
    pub fn new<'a>(extra: impl IntoIterator<Item = &'a str>) -> Self {
        let mut words = Vec::new();
        for w in TOPIC_WORDS.iter().copied().chain(extra) {
            let w = text::fold(w);
            let w = w.trim();
            if !w.is_empty() && w.chars().any(crate::text::is_cjk) {
                words.push(w.to_string());
            }
        }
        Analyzer {
            stemmer: WordStemmer::default(),
            words,
            jieba: OnceLock::new(),
        }
    }

    /// A jieba with its whole dictionary (≈100 ms: it loads it) and the
    /// topic words added, in the order [`Analyzer::new`] was given them.
    fn build_jieba(&self) -> Jieba {
        let mut jieba = dictionary_jieba();
        for w in &self.words {
            jieba.add_word(w, Some(TOPIC_WORD_FREQ), None);
        }
        jieba
    }

    /// The analyzer's jieba, built the first time Chinese text needs it.
    fn segmenter(&self) -> &Jieba {
        self.jieba.get_or_init(|| self.build_jieba())
    }

    /// Segments the Han/kana runs of an already folded text with jieba and
    /// calls `f` for every word that may carry topic signal.
    pub fn zh_words(&self, folded: &str, f: impl FnMut(&str)) {
        self.zh_words_with(None, folded, f);
    }

    /// [`Analyzer::zh_words`] with `jieba` instead of the analyzer's own.
    fn zh_words_with(&self, jieba: Option<&Jieba>, folded: &str, mut f: impl FnMut(&str)) {
        text::for_each_cjk_run(folded, |s, e| {
            let jieba = match jieba {
                Some(j) => j,
                None => self.segmenter(),
            };
            for tok in jieba.cut(&folded[s..e], false) {
                if !text::is_stop_word(tok.word) {
                    f(tok.word);
                }
            }
        });
    }

    /// Folds and segments a Chinese text (for tests and tools).
    pub fn zh_tokens(&self, raw: &str) -> Vec<String> {
        let folded = text::fold(raw);
        let mut out = Vec::new();
        self.zh_words(&folded, |w| out.push(w.to_string()));
        out
    }

    /// Calls `f(key, surface)` for every scoring term of a raw text: English
    /// stems (with their folded surface word) and Chinese words, segmented
    /// with `jieba` or else the analyzer's own.
    fn terms_with(&self, jieba: Option<&Jieba>, raw: &str, mut f: impl FnMut(&str, &str)) {
        let folded = text::fold(raw);
        text::for_each_word(&folded, |s, e| {
            let w = &folded[s..e];
            if !text::is_stop_word(w) {
                f(&self.stemmer.stem(w), w);
            }
        });
        self.zh_words_with(jieba, &folded, |w| f(w, w));
    }
}

/// jieba's dictionary, zstd-compressed (see `assets/jieba/README.md`).
static JIEBA_DICTIONARY_ZST: &[u8] = include_bytes!("../../assets/jieba/dict.txt.zst");

/// A jieba with the embedded dictionary and nothing else.
pub(crate) fn dictionary_jieba() -> Jieba {
    let mut jieba = Jieba::empty();
    if let Err(e) = load_jieba_dictionary(&mut jieba) {
        // Cannot happen with the embedded file (a unit test loads it whole);
        // were it cut short, jieba would still segment, only worse.
        tracing::error!(error = %e, "jieba's embedded dictionary did not load whole");
    }
    crate::infra::memory::reclaim_read_once(JIEBA_DICTIONARY_ZST);
    jieba
}

/// Streams the embedded dictionary into `jieba`. jieba-rs's own embedded copy
/// (its `default-dict` feature, off here) is decompressed into a static
/// `String` that the process then keeps: 5 MB of heap for a list read once.
fn load_jieba_dictionary(jieba: &mut Jieba) -> Result<(), jieba_rs::Error> {
    let decoder = zstd::stream::read::Decoder::with_buffer(JIEBA_DICTIONARY_ZST)?;
    jieba.load_dict(&mut std::io::BufReader::with_capacity(64 * 1024, decoder))
}

/// One weighted profile term.
#[derive(Debug, Clone)]
pub struct ProfileTerm {
    /// Stem (English) or folded word (Chinese).
    pub key: String,
    /// Most frequent surface form, for display and hashtags.
    pub surface: String,
    /// Weight in (0, 1].
    pub weight: f64,
}

/// The weighted term bag of a topic.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Sorted by decreasing weight.
    pub terms: Vec<ProfileTerm>,
}

impl Profile {
    pub fn build(analyzer: &Analyzer, texts: &[&str]) -> Profile {
        let mut tf: FxHashMap<String, (f64, FxHashMap<String, u32>)> = FxHashMap::default();
        // The profile's Chinese is segmented by a jieba of its own (the same
        // dictionary and topic words), dropped when the profile is built, so
        // that the analyzer's is built only if an item brings Chinese text.
        let jieba = (analyzer.jieba.get().is_none()
            && texts.iter().any(|t| t.chars().any(crate::text::is_cjk)))
        .then(|| analyzer.build_jieba());
        for t in texts {
            analyzer.terms_with(jieba.as_ref(), t, |key, surface| {
                let e = tf.entry(key.to_string()).or_default();
                e.0 += 1.0;
                *e.1.entry(surface.to_string()).or_default() += 1;
            });
        }
        if let Some(jieba) = jieba {
            // Its ~30 MB would otherwise stay in the heap as free memory.
            drop(jieba);
            crate::infra::memory::release_free_memory();
        }
        let mut terms: Vec<ProfileTerm> = tf
            .into_iter()
            .map(|(key, (n, surfaces))| {
                let surface = surfaces
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                    .map(|(s, _)| s)
                    .unwrap_or_else(|| key.clone());
                ProfileTerm {
                    key,
                    surface,
                    weight: 1.0 + n.ln(),
                }
            })
            .collect();
        let max = terms.iter().map(|t| t.weight).fold(0.0, f64::max);
        if max > 0.0 {
            for t in &mut terms {
                t.weight /= max;
            }
        }
        terms.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.key.cmp(&b.key))
        });
        Profile { terms }
    }
}

/// Profile weights indexed by vocabulary id (0 for non-profile ids).
#[derive(Debug, Clone, Default)]
pub struct Weights {
    /// weight and profile index per vocab id
    pub by_id: Vec<(f64, u32)>,
}

impl Weights {
    /// Registers every profile term in `vocab` and records its weight.
    pub fn register(profile: &Profile, vocab: &mut Vocab) -> Weights {
        let mut by_id = Vec::new();
        for (i, t) in profile.terms.iter().enumerate() {
            let id = vocab.intern(&t.key) as usize;
            if by_id.len() <= id {
                by_id.resize(id + 1, (0.0, u32::MAX));
            }
            by_id[id] = (t.weight, i as u32);
        }
        Weights { by_id }
    }

    pub(crate) fn get(&self, id: u32) -> Option<(f64, u32)> {
        self.by_id
            .get(id as usize)
            .copied()
            .filter(|(w, _)| *w > 0.0)
    }
}

/// Similarity of one item and each profile term's share of it.
#[derive(Debug, Clone, Default)]
pub struct Similarity {
    /// In [0, 1).
    pub value: f64,
    /// (profile index, share of `value`), largest first.
    pub parts: Vec<(u32, f64)>,
}

/// Scores the title and summary of an item against the profile.
#[allow(clippy::too_many_arguments)]
pub fn similarity(
    analyzer: &Analyzer,
    vocab: &Vocab,
    weights: &Weights,
    title: &FieldDoc,
    summary: &FieldDoc,
    title_weight: f64,
    half: f64,
    extra: &[(f64, u32, f64)],
) -> Similarity {
    // (weight, profile index, tf)
    let mut tf: Vec<(f64, u32, f64)> = Vec::new();
    let mut add = |w: f64, idx: u32, by: f64| {
        if let Some(e) = tf.iter_mut().find(|e| e.1 == idx) {
            e.2 += by;
        } else {
            tf.push((w, idx, by));
        }
    };
    // Aliases in languages the profile is not written in count as their
    // profile term: (weight, profile index, tf).
    for &(w, idx, by) in extra {
        add(w, idx, by);
    }
    for (doc, fw) in [(title, title_weight), (summary, 1.0)] {
        for id in &doc.ids {
            if let Some((w, idx)) = weights.get(*id) {
                add(w, idx, fw);
            }
        }
        if doc.has_cjk {
            analyzer.zh_words(&doc.folded, |word| {
                if let Some((w, idx)) = vocab.get(word).and_then(|id| weights.get(id)) {
                    add(w, idx, fw);
                }
            });
        }
    }
    let contrib: Vec<(u32, f64)> = tf
        .iter()
        .filter(|e| e.2 > 0.0)
        .map(|&(w, idx, f)| (idx, w * f * (K1 + 1.0) / (f + K1)))
        .collect();
    let s: f64 = contrib.iter().map(|c| c.1).sum();
    if s <= 0.0 {
        return Similarity::default();
    }
    let value = s / (s + half);
    let mut parts: Vec<(u32, f64)> = contrib
        .into_iter()
        .map(|(idx, c)| (idx, value * c / s))
        .collect();
    parts.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Similarity { value, parts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jieba_dictionary_is_jieba_rs_own() {
        use std::io::Read;
        let mut text = String::new();
        zstd::stream::read::Decoder::new(JIEBA_DICTIONARY_ZST)
            .expect("zstd frame")
            .read_to_string(&mut text)
            .expect("the embedded dictionary decompresses to UTF-8");
        // jieba-rs 0.11.0's src/data/dict.txt (assets/jieba/README.md).
        assert_eq!(text.len(), 5_071_843);
        assert_eq!(text.lines().count(), 349_045);
        let mut jieba = Jieba::empty();
        load_jieba_dictionary(&mut jieba).expect("loads");
        for word in ["我们", "国际刑警", "台湾", "诈骗"] {
            assert!(jieba.has_word(word), "{word} missing");
        }
    }

    #[test]
    fn jieba_keeps_topic_terms_whole_in_both_scripts() {
        let a = Analyzer::new([]);
        for text in [
            "台灣應加入國際刑警組織，打擊跨境犯罪與電信詐騙",
            "台湾应加入国际刑警组织，打击跨境犯罪与电信诈骗",
        ] {
            let toks = a.zh_tokens(text);
            for want in ["国际刑警组织", "跨境犯罪", "台湾"] {
                assert!(toks.iter().any(|t| t == want), "{want} not in {toks:?}");
            }
            assert!(
                toks.iter().any(|t| t == "诈骗" || t == "电信诈骗"),
                "{toks:?}"
            );
        }
        let toks = a.zh_tokens("刑警組織呼籲各國合作");
        assert!(toks.contains(&"刑警组织".to_string()), "{toks:?}");
    }

    #[test]
    fn extra_words_reach_the_dictionary() {
        let plain = Analyzer::new([]);
        let with = Analyzer::new(["柬埔寨詐騙園區"]);
        let t = "柬埔寨詐騙園區被搗毀";
        assert!(!plain.zh_tokens(t).contains(&"柬埔寨诈骗园区".to_string()));
        assert!(with.zh_tokens(t).contains(&"柬埔寨诈骗园区".to_string()));
    }

    #[test]
    fn profile_weights_favour_repeated_terms() {
        let a = Analyzer::new([]);
        let p = Profile::build(
            &a,
            &["Interpol and Taiwan. Interpol again, Interpol.", "taiwan"],
        );
        assert_eq!(p.terms[0].key, "interpol");
        assert!((p.terms[0].weight - 1.0).abs() < 1e-12);
        assert!(p.terms.iter().all(|t| t.weight > 0.0 && t.weight <= 1.0));
        assert!(!p.terms.iter().any(|t| t.key == "and" || t.key == "again"));
    }
}
