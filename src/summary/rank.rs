//! Sentence ranking: centrality plus topic terms plus a small lead bonus.
//!
//! Centrality is the mean TF-IDF cosine similarity of a sentence to the other
//! candidate sentences (the idea behind LexRank, without the power
//! iteration, which changes little on a dozen sentences). It favours the
//! sentences that state what the whole text is about. Topic terms pull the
//! ranking towards the reason the item was kept (INTERPOL, Taiwan), and the
//! lead bonus encodes the news "inverted pyramid": the first sentences of a
//! report usually carry the facts.
//!
//! Tokens: lower-cased words minus English stop words for alphabetic
//! scripts, character bigrams for runs of CJK characters (Chinese has no
//! spaces, and bigrams are the standard cheap substitute for a segmenter).

use std::collections::{HashMap, HashSet};

use unicode_segmentation::UnicodeSegmentation;

use crate::text::is_cjk;

/// Weight of centrality (normalised to 0..=1) in the final score.
pub const W_CENTRALITY: f64 = 0.5;
/// Weight of topic-term coverage (normalised to 0..=1).
pub const W_TOPIC: f64 = 0.35;
/// Weight of the lead bonus (1 for the first sentence of a source, then
/// 1/(1+position)).
pub const W_LEAD: f64 = 0.15;

const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "during", "each", "for", "from", "had", "has", "have", "he",
    "her", "here", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
    "just", "may", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "on", "once",
    "only", "or", "other", "our", "out", "over", "own", "said", "same", "says", "she", "should",
    "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were",
    "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would",
    "you", "your",
];

/// Tokens of one sentence for similarity purposes.
pub fn tokens(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cjk_run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut Vec<String>| {
        if run.len() == 1 {
            out.push(run[0].to_string());
        }
        for pair in run.windows(2) {
            out.push(pair.iter().collect());
        }
        run.clear();
    };
    for word in sentence.unicode_words() {
        let mut chars = word.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && is_cjk(c)
        {
            cjk_run.push(c);
            continue;
        }
        if word.chars().any(is_cjk) {
            // a mixed token (rare): treat its CJK chars as part of the run
            cjk_run.extend(word.chars().filter(|c| is_cjk(*c)));
            continue;
        }
        flush(&mut cjk_run, &mut out);
        let lower = word.to_lowercase();
        let lower = lower
            .strip_suffix("'s")
            .or_else(|| lower.strip_suffix("’s"))
            .unwrap_or(&lower)
            .to_string();
        if lower.chars().count() < 2 || STOP_WORDS.contains(&lower.as_str()) {
            continue;
        }
        out.push(lower);
    }
    flush(&mut cjk_run, &mut out);
    out
}

/// Sparse TF-IDF vectors for a set of sentences, and their pairwise cosine.
pub struct Similarity {
    vectors: Vec<HashMap<String, f64>>,
}

impl Similarity {
    /// Builds vectors over `sentences` with IDF computed on the same set.
    pub fn new<S: AsRef<str>>(sentences: &[S]) -> Self {
        let token_lists: Vec<Vec<String>> = sentences.iter().map(|s| tokens(s.as_ref())).collect();
        let n = token_lists.len().max(1) as f64;
        let mut df: HashMap<&str, usize> = HashMap::new();
        for list in &token_lists {
            let unique: HashSet<&str> = list.iter().map(String::as_str).collect();
            for t in unique {
                *df.entry(t).or_default() += 1;
            }
        }
        let vectors = token_lists
            .iter()
            .map(|list| {
                let mut v: HashMap<String, f64> = HashMap::new();
                for t in list {
                    *v.entry(t.clone()).or_default() += 1.0;
                }
                for (t, w) in v.iter_mut() {
                    let d = df.get(t.as_str()).copied().unwrap_or(1) as f64;
                    *w *= (1.0 + n / d).ln();
                }
                let norm = v.values().map(|w| w * w).sum::<f64>().sqrt();
                if norm > 0.0 {
                    for w in v.values_mut() {
                        *w /= norm;
                    }
                }
                v
            })
            .collect();
        Self { vectors }
    }

    /// Cosine similarity of sentences `a` and `b` (0 when out of range).
    pub fn cosine(&self, a: usize, b: usize) -> f64 {
        let (Some(va), Some(vb)) = (self.vectors.get(a), self.vectors.get(b)) else {
            return 0.0;
        };
        let (small, large) = if va.len() <= vb.len() {
            (va, vb)
        } else {
            (vb, va)
        };
        small
            .iter()
            .map(|(t, w)| large.get(t).map_or(0.0, |w2| w * w2))
            .sum()
    }

    /// Mean similarity of each sentence to all the others.
    pub fn centrality(&self) -> Vec<f64> {
        let n = self.vectors.len();
        (0..n)
            .map(|i| {
                if n < 2 {
                    return 1.0;
                }
                let sum: f64 = (0..n).filter(|j| *j != i).map(|j| self.cosine(i, j)).sum();
                sum / (n - 1) as f64
            })
            .collect()
    }
}

/// A topic term prepared for matching.
pub struct TopicTerm {
    lower: String,
    /// Latin terms must match whole words ("tai" must not match "Taiwan");
    /// CJK terms match as substrings, there being no word boundaries.
    whole_word: bool,
}

impl TopicTerm {
    /// Prepares `term` (case-insensitive); `None` for an empty term.
    pub fn new(term: &str) -> Option<Self> {
        let lower = term.trim().to_lowercase();
        if lower.is_empty() {
            return None;
        }
        let whole_word = !lower.chars().any(is_cjk);
        Some(Self { lower, whole_word })
    }

    /// True if the (lower-cased) sentence contains the term.
    pub fn matches(&self, sentence_lower: &str) -> bool {
        if !self.whole_word {
            return sentence_lower.contains(&self.lower);
        }
        sentence_lower.match_indices(&self.lower).any(|(start, m)| {
            let before = sentence_lower[..start].chars().next_back();
            let after = sentence_lower[start + m.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    }
}

/// Number of distinct topic terms found in `sentence`.
pub fn topic_hits(sentence: &str, terms: &[TopicTerm]) -> usize {
    let lower = sentence.to_lowercase();
    terms.iter().filter(|t| t.matches(&lower)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_bigrams_and_english_words() {
        assert_eq!(tokens("國際刑警"), vec!["國際", "際刑", "刑警"]);
        assert_eq!(
            tokens("Taiwan's police and the INTERPOL"),
            vec!["taiwan", "police", "interpol"]
        );
    }

    #[test]
    fn topic_terms_match_whole_words() {
        let terms: Vec<TopicTerm> = ["Taiwan", "INTERPOL", "國際刑警"]
            .iter()
            .filter_map(|t| TopicTerm::new(t))
            .collect();
        assert_eq!(topic_hits("Taiwanese police met Interpol.", &terms), 1);
        assert_eq!(topic_hits("台灣爭取加入國際刑警組織", &terms), 1);
    }

    #[test]
    fn similar_sentences_are_central() {
        let s = Similarity::new(&[
            "Taiwan seeks INTERPOL observer status.",
            "Taiwan again seeks observer status at INTERPOL.",
            "The weather was sunny.",
        ]);
        let c = s.centrality();
        assert!(c[0] > c[2] && c[1] > c[2]);
    }
}
