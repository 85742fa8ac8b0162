//! Per-language aliases of the topic's concepts: the names (INTERPOL,
//! Taiwan, Taipei, …) and crime themes (fraud, trafficking, …) in every
//! language a story may be told in, kept as data the operator can read and
//! extend (`feeds/aliases.toml`), not in code.
//!
//! The file is TOML:
//!
//! ```toml
//! # Languages the profile text is written in: their aliases add no
//! # similarity (the profile already scores them).
//! profile_languages = ["en", "zh"]
//!
//! [taiwan]                 # a concept; merged into the topic group @taiwan
//! profile = "taiwan"       # the profile word its aliases count as (optional)
//! ja = ["台湾", "台北", "台湾人", "チャイニーズ・タイペイ"]
//! th = ["ไต้หวัน", "ไทเป", "ชาวไต้หวัน"]
//! ```
//!
//! Every entry is one term of the rule language: a word, a phrase (an entry
//! with spaces is quoted automatically), `word*` or `/regex/`. A concept is
//! merged into the topic group of the same name (`@taiwan` then matches
//! every language's aliases) or, when the topic has no such group, defines
//! it. Aliases of languages outside `profile_languages` also count towards
//! the profile similarity as the concept's `profile` word, so an item in a
//! language the profile is not written in still gets a fair similarity.
//!
//! [`AliasTable::canonical_names`] tells which concepts a text names, for
//! code outside the topic (story clustering can compare items across
//! languages by the concepts they name).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use super::query::{self, Compiler, FieldDoc, Matcher, Node, TermTable, Vocab};
use super::text::WordStemmer;

/// The table shipped in `feeds/aliases.toml`, built into the binary: the
/// default when `[topic] aliases` is not set.
pub const SHIPPED: &str = include_str!("../../feeds/aliases.toml");

/// One concept: its profile word and its terms per language.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Concept {
    /// The profile word (English) its aliases count as for the similarity.
    pub profile: Option<String>,
    /// Language tag (`ja`, `th`, …) → terms in the rule language.
    pub terms: BTreeMap<String, Vec<String>>,
}

/// A parsed alias table. Cheap to clone; [`AliasTable::canonical_names`]
/// compiles its matcher on first use.
#[derive(Debug, Default)]
pub struct AliasTable {
    /// Languages the profile is written in (their aliases add no similarity).
    pub profile_languages: Vec<String>,
    /// Concept name → concept.
    pub concepts: BTreeMap<String, Concept>,
    matcher: OnceLock<Option<NameMatcher>>,
}

impl Clone for AliasTable {
    fn clone(&self) -> Self {
        AliasTable {
            profile_languages: self.profile_languages.clone(),
            concepts: self.concepts.clone(),
            matcher: OnceLock::new(),
        }
    }
}

impl PartialEq for AliasTable {
    fn eq(&self, other: &Self) -> bool {
        self.profile_languages == other.profile_languages && self.concepts == other.concepts
    }
}

/// Turns one alias entry into a query term: entries with spaces become
/// phrases unless already quoted or a regex.
pub fn entry_query(entry: &str) -> String {
    let e = entry.trim();
    if e.starts_with('"') || e.starts_with('/') || !e.contains(char::is_whitespace) {
        e.to_string()
    } else {
        format!("\"{e}\"")
    }
}

#[derive(Debug)]
struct NameMatcher {
    stemmer: WordStemmer,
    vocab: Vocab,
    table: TermTable,
    /// (concept, language or "" for all, node)
    nodes: Vec<(String, String, Node)>,
}

impl AliasTable {
    /// Parses the TOML text of an alias table. Errors name the concept,
    /// the language and the entry.
    pub fn parse(text: &str) -> Result<AliasTable, String> {
        let root: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut t = AliasTable::default();
        for (key, value) in root {
            match (key.as_str(), value) {
                ("profile_languages", toml::Value::Array(v)) => {
                    for l in v {
                        match l {
                            toml::Value::String(s) => t.profile_languages.push(s),
                            other => {
                                return Err(format!(
                                    "profile_languages: expected language tags, found {other}"
                                ));
                            }
                        }
                    }
                }
                (name, toml::Value::Table(table)) => {
                    let name = name.trim_start_matches('@');
                    let ok = !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
                    if !ok {
                        return Err(format!("[{name}]: not a valid group name"));
                    }
                    let mut c = Concept::default();
                    for (lang, v) in table {
                        match (lang.as_str(), v) {
                            ("profile", toml::Value::String(p)) => c.profile = Some(p),
                            (_, toml::Value::Array(entries)) => {
                                let mut out = Vec::new();
                                for (i, e) in entries.into_iter().enumerate() {
                                    let toml::Value::String(e) = e else {
                                        return Err(format!(
                                            "[{name}] {lang}[{i}]: expected a string"
                                        ));
                                    };
                                    query::parse(&entry_query(&e)).map_err(|err| {
                                        format!("[{name}] {lang}[{i}] {e:?}: {err}")
                                    })?;
                                    out.push(e);
                                }
                                c.terms.insert(lang, out);
                            }
                            (_, other) => {
                                return Err(format!(
                                    "[{name}] {lang}: expected a list of terms, found {other}"
                                ));
                            }
                        }
                    }
                    t.concepts.insert(name.to_string(), c);
                }
                (other, v) => {
                    return Err(format!(
                        "{other}: expected a [concept] table or profile_languages, found {v}"
                    ));
                }
            }
        }
        Ok(t)
    }

    /// The table shipped with feedwatch (`feeds/aliases.toml`).
    pub fn shipped() -> AliasTable {
        // Tested to parse (tests below); an empty table is the safe fallback.
        AliasTable::parse(SHIPPED).unwrap_or_default()
    }

    /// Loads the table `[topic] aliases` names: `None` is the shipped
    /// table, an empty path is no table, anything else is read from
    /// `base_dir.join(path)`. The one place in `matching` that reads a file.
    pub fn load(base_dir: &Path, path: Option<&str>) -> Result<AliasTable, String> {
        match path {
            None => AliasTable::parse(SHIPPED).map_err(|e| format!("shipped aliases: {e}")),
            Some(p) if p.trim().is_empty() => Ok(AliasTable::default()),
            Some(p) => {
                let full = base_dir.join(p);
                let text = std::fs::read_to_string(&full)
                    .map_err(|e| format!("cannot read {}: {e}", full.display()))?;
                AliasTable::parse(&text).map_err(|e| format!("{}: {e}", full.display()))
            }
        }
    }

    /// Every term of a concept, in all languages, as one `a | b | …` query.
    pub fn group_query(&self, concept: &str) -> Option<String> {
        let c = self.concepts.get(concept)?;
        let parts: Vec<String> = c.terms.values().flatten().map(|e| entry_query(e)).collect();
        (!parts.is_empty()).then(|| parts.join(" | "))
    }

    /// Whether a language's aliases count towards the similarity.
    pub fn adds_similarity(&self, lang: &str) -> bool {
        !self.profile_languages.iter().any(|l| l == lang)
    }

    fn build_matcher(&self) -> Option<NameMatcher> {
        let stemmer = WordStemmer::default();
        let mut vocab = Vocab::default();
        let mut table = TermTable::default();
        let mut nodes = Vec::new();
        {
            let groups = BTreeMap::new();
            let mut compiler = Compiler::new(&stemmer, &mut vocab, &mut table, &groups).ok()?;
            for (name, c) in &self.concepts {
                for (lang, entries) in &c.terms {
                    let q = entries
                        .iter()
                        .map(|e| entry_query(e))
                        .collect::<Vec<_>>()
                        .join(" | ");
                    if q.is_empty() {
                        continue;
                    }
                    let node = compiler.compile(&q).ok()?;
                    nodes.push((name.clone(), lang.clone(), node));
                }
            }
        }
        Some(NameMatcher {
            stemmer,
            vocab,
            table,
            nodes,
        })
    }

    /// The concepts (table keys, e.g. `taiwan`, `interpol`) that `text`
    /// names, sorted and distinct. `lang` (a language tag such as `ja` or
    /// `th-TH`) narrows the search to that language's terms plus the
    /// profile languages' when the table has terms for it; with an empty or
    /// unknown `lang` every language's terms are tried. The matcher is
    /// compiled on the first call (about a millisecond) and kept.
    pub fn canonical_names(&self, text: &str, lang: &str) -> Vec<String> {
        let Some(m) = self.matcher.get_or_init(|| self.build_matcher()) else {
            return Vec::new();
        };
        let primary = lang
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let known = self
            .concepts
            .values()
            .any(|c| c.terms.contains_key(&primary));
        let doc = FieldDoc::analyse(text, &m.stemmer, &m.vocab);
        let empty = FieldDoc::default();
        let mut matcher = Matcher::new(
            &m.table,
            [&doc, &empty, &empty, &empty, &empty, &empty, &empty],
        );
        let mut out: Vec<String> = Vec::new();
        let mut hits = Vec::new();
        for (name, l, node) in &m.nodes {
            if known && *l != primary && !self.profile_languages.contains(l) {
                continue;
            }
            if out.last() == Some(name) {
                continue;
            }
            hits.clear();
            if matcher.eval(node, &mut hits) {
                out.push(name.clone());
            }
        }
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_table_parses_and_covers_the_languages() {
        let t = AliasTable::parse(SHIPPED).unwrap_or_else(|e| panic!("{e}"));
        let names = [
            "ja", "ko", "th", "vi", "id", "ms", "tl", "km", "my", "ru", "uk", "de", "fr", "es",
            "pt", "it", "nl", "pl", "sv", "no", "da", "fi", "cs", "hr", "tr", "ar", "fa", "hi",
            "he",
        ];
        for concept in ["taiwan", "interpol"] {
            let c = &t.concepts[concept];
            for l in names {
                assert!(
                    c.terms.get(l).is_some_and(|v| !v.is_empty()),
                    "{concept} has no {l} terms"
                );
            }
        }
        let themes = ["ja", "ko", "de", "fr", "es", "vi", "id", "th"];
        for concept in [
            "scams",
            "trafficking",
            "laundering",
            "notices",
            "extradition",
            "cyberscams",
        ] {
            let c = t
                .concepts
                .get(concept)
                .unwrap_or_else(|| panic!("no concept {concept}"));
            for l in themes {
                assert!(
                    c.terms.get(l).is_some_and(|v| !v.is_empty()),
                    "{concept} has no {l} terms"
                );
            }
        }
    }

    #[test]
    fn canonical_names_across_scripts() {
        let t = AliasTable::shipped();
        assert_eq!(
            t.canonical_names("ตำรวจไต้หวันร่วมมือกับอินเตอร์โพล", "th"),
            vec!["interpol".to_string(), "taiwan".to_string()]
        );
        assert_eq!(
            t.canonical_names("台湾の警察、インターポール総会に参加できず", ""),
            vec![
                "governance".to_string(),
                "interpol".to_string(),
                "taiwan".to_string()
            ]
        );
        assert_eq!(
            t.canonical_names("대만의 인터폴 참가 무산", "ko"),
            vec!["interpol".to_string(), "taiwan".to_string()]
        );
        assert!(t.canonical_names("Typhoon hits Manila", "en").is_empty());
    }

    #[test]
    fn errors_name_concept_language_and_entry() {
        let e = AliasTable::parse("[taiwan]\nja = [\"台湾\", \"(bad\"]\n")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("[taiwan] ja[1]"), "{e}");
        let e = AliasTable::parse("[taiwan]\nja = \"台湾\"\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("expected a list"), "{e}");
        assert_eq!(entry_query("chinese taipei"), "\"chinese taipei\"");
        assert_eq!(entry_query("tayvan*"), "tayvan*");
    }
}
