//! What a news event is made of, for story clustering: the places,
//! organisations and people it names and the numbers it reports.
//!
//! Two sources of names:
//!
//! * a small, data-driven gazetteer (`feeds/entities.toml`, built in):
//!   canonical id → aliases across languages and scripts, so "Taiwan",
//!   "台灣", "台湾" and "대만" are one entity. Latin-script aliases match
//!   whole words of the folded text (all-capital acronyms such as "US" or
//!   "CIB" match only in capitals); Han, kana and Hangul aliases match as
//!   substrings (no spaces to split on, Korean particles stay attached);
//! * generic extraction: capitalised words in Latin-script text that are not
//!   sentence-initial ("Urquiza", "Curtis"), folded, as `name:` features;
//!   in Chinese text (Han without kana), the people, places and
//!   organisations jieba's part-of-speech tagger finds (`nr`, `ns`, `nt`,
//!   its HMM guessing the tag of words not in its dictionary, such as most
//!   names), folded to Simplified, on a bounded prefix of each field.
//!
//! Numbers: digit runs (full-width folded to ASCII), English number words
//! up to 99 ("Fifty-five") and CJK numerals with 十 ("五十五"). Years
//! (1900–2100) are left out: they date a report, they do not identify the
//! event.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Deserialize;

use super::text;

/// The gazetteer shipped with the binary.
const BUILTIN: &str = include_str!("../../feeds/entities.toml");

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    entity: Vec<EntityDef>,
    #[serde(default)]
    conflict: Vec<ConflictDef>,
}

/// One canonical entity.
#[derive(Debug, Clone, Deserialize)]
pub struct EntityDef {
    pub id: String,
    #[serde(default)]
    pub kind: String,
    /// Named by nearly every report on the topic: weak evidence.
    #[serde(default)]
    pub common: bool,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct ConflictDef {
    a: Vec<String>,
    b: Vec<String>,
}

/// How an alias is looked for.
#[derive(Debug, Clone)]
enum Pattern {
    /// Folded words in sequence (Latin and other spaced scripts).
    Words(Vec<String>),
    /// An acronym: one word, matched case-sensitively on the raw text.
    Acronym(String),
    /// Folded substring (Han, kana, Hangul).
    Substring(String),
}

fn pattern(alias: &str) -> Option<Pattern> {
    let has_unspaced = alias
        .chars()
        .any(|c| crate::text::is_cjk(c) || ('\u{AC00}'..='\u{D7AF}').contains(&c));
    if has_unspaced {
        let f = text::fold(alias);
        return (!f.is_empty()).then_some(Pattern::Substring(f));
    }
    let letters: String = alias.chars().filter(|c| c.is_alphanumeric()).collect();
    if letters.len() <= 5 && letters.chars().all(|c| c.is_ascii_uppercase()) && !letters.is_empty()
    {
        return Some(Pattern::Acronym(letters));
    }
    let folded = text::fold(alias);
    let mut words = Vec::new();
    text::for_each_word(&folded, |s, e| words.push(folded[s..e].to_string()));
    (!words.is_empty()).then_some(Pattern::Words(words))
}

/// The compiled gazetteer.
#[derive(Debug, Default)]
pub struct Gazetteer {
    pub entities: Vec<EntityDef>,
    patterns: Vec<(Pattern, usize)>,
    /// Single folded words that are some alias: not generic names.
    alias_words: BTreeSet<String>,
    conflicts: Vec<(Vec<Pattern>, Vec<Pattern>)>,
}

/// The words of a text, folded and raw (for acronyms).
struct Words {
    folded: String,
    words: Vec<String>,
    raw_words: Vec<String>,
}

impl Words {
    fn new(raw: &str) -> Words {
        let folded = text::fold(raw);
        let mut words = Vec::new();
        text::for_each_word(&folded, |s, e| words.push(folded[s..e].to_string()));
        let raw_words = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        Words {
            folded,
            words,
            raw_words,
        }
    }

    fn has(&self, p: &Pattern) -> bool {
        match p {
            Pattern::Substring(s) => self.folded.contains(s.as_str()),
            Pattern::Acronym(a) => {
                // "U.S." is split into "U", "S": join adjacent single letters.
                self.raw_words.iter().any(|w| w == a)
                    || (a.len() <= 3
                        && self.raw_words.windows(a.len()).any(|win| {
                            win.iter().map(String::as_str).collect::<String>() == *a
                                && win.iter().all(|w| w.len() == 1)
                        }))
            }
            Pattern::Words(ws) => {
                !ws.is_empty()
                    && self
                        .words
                        .windows(ws.len())
                        .any(|win| win.iter().zip(ws).all(|(x, y)| x == y))
            }
        }
    }
}

impl Gazetteer {
    /// Compiles a gazetteer from its TOML text.
    pub fn parse(toml_text: &str) -> Result<Gazetteer, String> {
        let file: File = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        let mut g = Gazetteer::default();
        for (i, e) in file.entity.iter().enumerate() {
            for a in &e.aliases {
                if let Some(p) = pattern(a) {
                    if let Pattern::Words(ws) = &p {
                        if ws.len() == 1 {
                            g.alias_words.insert(ws[0].clone());
                        }
                    }
                    g.patterns.push((p, i));
                }
            }
        }
        g.entities = file.entity;
        for c in file.conflict {
            let side = |v: &[String]| v.iter().filter_map(|a| pattern(a)).collect::<Vec<_>>();
            g.conflicts.push((side(&c.a), side(&c.b)));
        }
        Ok(g)
    }

    /// The built-in gazetteer (`feeds/entities.toml`), compiled once.
    pub fn builtin() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(|| {
            Gazetteer::parse(BUILTIN).unwrap_or_else(|e| {
                tracing::error!(error = %e, "the built-in entity gazetteer does not parse; clustering without it");
                Gazetteer::default()
            })
        })
    }

    /// Whether an entity id is one of the topic's common names.
    pub fn is_common(&self, id: &str) -> bool {
        self.entities.iter().any(|e| e.common && e.id == id)
    }

    /// How much sharing this entity says about two reports being one story:
    /// a person 1.5, a common name 0.25, anything else 1.
    pub fn weight(&self, id: &str) -> f64 {
        match self.entities.iter().find(|e| e.id == id) {
            Some(e) if e.common => 0.25,
            Some(e) if e.kind == "person" => 1.5,
            _ => 1.0,
        }
    }

    /// Everything a title and lead name. `title_case` titles (most words
    /// capitalised) give no generic names.
    pub fn extract(&self, title: &str, lead: &str) -> Extracted {
        let mut out = Extracted::default();
        for part in [title, lead] {
            let w = Words::new(part);
            for (p, i) in &self.patterns {
                if w.has(p) {
                    out.entities.insert(self.entities[*i].id.clone());
                }
            }
            for (n, (a, b)) in self.conflicts.iter().enumerate() {
                if a.iter().any(|p| w.has(p)) {
                    out.events.insert(format!("{n}a"));
                }
                if b.iter().any(|p| w.has(p)) {
                    out.events.insert(format!("{n}b"));
                }
            }
            numbers(&w.folded, &w.words, &mut out.numbers);
        }
        let tw = Words::new(title);
        numbers(&tw.folded, &tw.words, &mut out.title_numbers);
        if !is_title_case(title) {
            self.names(title, &mut out.names);
        }
        self.names(lead, &mut out.names);
        for part in [title, lead] {
            self.cjk_names(part, &mut out.names);
        }
        out
    }

    /// People, places and organisations that jieba tags in Chinese text
    /// (not Japanese: text with kana is skipped), minus gazetteer aliases
    /// (those are entities already) and a few that every report names.
    /// Only the first [`CJK_NAME_CHARS`] characters are tagged: linear and
    /// bounded per item.
    fn cjk_names(&self, raw: &str, out: &mut BTreeSet<String>) {
        if !raw.chars().any(crate::text::is_han) || raw.chars().any(crate::text::is_kana) {
            return;
        }
        let end = raw
            .char_indices()
            .nth(CJK_NAME_CHARS)
            .map_or(raw.len(), |(i, _)| i);
        let folded = text::fold(&raw[..end]);
        let tags = jieba().tag(&folded, true);
        let mut i = 0;
        while i < tags.len() {
            let (word, tag) = (tags[i].word, tags[i].tag);
            i += 1;
            // A surname jieba split off ("李/nr 大维/n", "史/nr 托克/nrt"):
            // joined with the one- or two-character word after it.
            let joined;
            let (w, tag) = match tags.get(i) {
                Some(next)
                    if tag == "nr"
                        && word.chars().count() == 1
                        && (1..=2).contains(&next.word.chars().count())
                        && next.word.chars().all(crate::text::is_han)
                        && GIVEN_NAME_TAGS.contains(&next.tag) =>
                {
                    i += 1;
                    joined = format!("{word}{}", next.word);
                    (joined.as_str(), "nr")
                }
                _ => (word, tag),
            };
            let chars = w.chars().count();
            if !NAME_TAGS.contains(&tag)
                || !(2..=8).contains(&chars)
                || !w.chars().all(crate::text::is_han)
                || NOT_CJK_NAMES.contains(&w)
                || self.patterns.iter().any(|(p, _)| match p {
                    Pattern::Substring(a) => w.contains(a.as_str()) || a.contains(w),
                    _ => false,
                })
            {
                continue;
            }
            out.insert(w.to_string());
        }
    }

    /// Capitalised, non-sentence-initial Latin words that are no alias.
    fn names(&self, raw: &str, out: &mut BTreeSet<String>) {
        let mut sentence_start = true;
        let mut word = String::new();
        let mut word_starts_sentence = true;
        let flush = |word: &mut String, initial: bool, out: &mut BTreeSet<String>| {
            if word.is_empty() {
                return;
            }
            let first = word.chars().next().unwrap_or(' ');
            if !initial && first.is_uppercase() && word.chars().count() >= 3 {
                let f = text::fold(word);
                if f.is_ascii()
                    && !text::is_stop_word(&f)
                    && !NOT_NAMES.contains(&f.as_str())
                    && !self.alias_words.contains(&f)
                    && !f.chars().all(|c| c.is_ascii_digit())
                {
                    out.insert(f);
                }
            }
            word.clear();
        };
        for c in raw.chars() {
            if c.is_alphanumeric() && !crate::text::is_cjk(c) {
                if word.is_empty() {
                    word_starts_sentence = sentence_start;
                }
                word.push(c);
                sentence_start = false;
            } else {
                flush(&mut word, word_starts_sentence, out);
                if matches!(c, '.' | '!' | '?' | ':' | '"' | '“' | '(' | '—' | '–') {
                    sentence_start = true;
                }
            }
        }
        flush(&mut word, word_starts_sentence, out);
    }
}

/// How many characters of a field [`Gazetteer::cjk_names`] tags.
const CJK_NAME_CHARS: usize = 400;

/// jieba's tags for people (`nr`, `nrfg`, transliterated `nrt`), places
/// (`ns`) and organisations (`nt`).
const NAME_TAGS: &[&str] = &["nr", "nrfg", "nrt", "ns", "nt"];

/// Tags of the word after a lone surname that make it a given name.
const GIVEN_NAME_TAGS: &[&str] = &["n", "ng", "nr", "nrt", "nrfg", "nz", "x"];

/// Places and bodies that nearly every report on the topic names, or that
/// jieba tags as names but are not (Simplified, as folded).
const NOT_CJK_NAMES: &[&str] = &[
    "台北",
    "北京",
    "大陆",
    "中国大陆",
    "两岸",
    "中共",
    "民进党",
    "外交部",
    "内政部",
];

/// jieba with its built-in dictionary, loaded once (a few hundred ms).
fn jieba() -> &'static jieba_rs::Jieba {
    static J: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    J.get_or_init(super::score::dictionary_jieba)
}

/// Capitalised words that are not names (days, months, titles).
const NOT_NAMES: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "mr",
    "mrs",
    "ms",
    "dr",
    "the",
    "secretary",
    "general",
    "president",
    "minister",
    "ministry",
    "chairman",
    "director",
    "committee",
    "executive",
    "police",
    "national",
    "international",
    "federal",
    "office",
    "agency",
    "bureau",
    "affairs",
    "foreign",
    "state",
    "government",
    "court",
    "assembly",
    "representative",
    "senator",
    "taipei",
    "cna",
    "reuters",
    "afp",
    "ap",
    "mayo",
    "hunyo",
    "nobyembre",
    "oktubre",
];

fn is_title_case(title: &str) -> bool {
    let words: Vec<&str> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4 && w.chars().all(|c| c.is_alphabetic()))
        .collect();
    if words.len() < 3 {
        return false;
    }
    let caps = words
        .iter()
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .count();
    caps * 10 >= words.len() * 6
}

/// What [`Gazetteer::extract`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Gazetteer entity ids.
    pub entities: BTreeSet<String>,
    /// Generic names (folded capitalised words).
    pub names: BTreeSet<String>,
    /// Numbers of the title and lead (no years).
    pub numbers: BTreeSet<String>,
    /// Numbers of the title alone.
    pub title_numbers: BTreeSet<String>,
    /// Conflict sides present ("0a", "0b").
    pub events: BTreeSet<String>,
}

fn is_year(n: u64) -> bool {
    (1900..=2100).contains(&n)
}

fn push_number(n: u64, out: &mut BTreeSet<String>) {
    if !is_year(n) {
        out.insert(n.to_string());
    }
}

const UNITS: &[&str] = &[
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: &[&str] = &[
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Numbers in a folded text and its words.
fn numbers(folded: &str, words: &[String], out: &mut BTreeSet<String>) {
    // Digit runs; "1,200" and "1.200" are one number.
    let chars: Vec<char> = folded.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let mut digits = String::new();
            while i < chars.len() {
                let c = chars[i];
                if c.is_ascii_digit() {
                    digits.push(c);
                } else if (c == ',' || c == '.')
                    && i + 3 < chars.len() + 1
                    && chars.get(i + 1).is_some_and(char::is_ascii_digit)
                    && chars.get(i + 3).is_some_and(char::is_ascii_digit)
                    && !chars.get(i + 4).is_some_and(char::is_ascii_digit)
                {
                    // thousands separator
                } else {
                    break;
                }
                i += 1;
            }
            if digits.len() <= 12 {
                if let Ok(n) = digits.parse::<u64>() {
                    push_number(n, out);
                }
            }
        } else {
            i += 1;
        }
    }
    // English number words: "fifty five", "seventy-one", "ninety-four".
    let mut k = 0;
    while k < words.len() {
        let w = words[k].as_str();
        if let Some(t) = TENS.iter().position(|x| !x.is_empty() && *x == w) {
            let mut n = t as u64 * 10;
            if let Some(u) = words
                .get(k + 1)
                .and_then(|n2| UNITS.iter().position(|x| x == n2))
                .filter(|u| (1..10).contains(u))
            {
                n += u as u64;
                k += 1;
            }
            push_number(n, out);
        } else if let Some(u) = UNITS.iter().position(|x| *x == w) {
            // "one" and "two" are too often not counts.
            if u >= 3 {
                push_number(u as u64, out);
            }
        }
        k += 1;
    }
    // CJK numerals with 十: 十七, 五十五, 九十四.
    let digit = |c: char| "零一二三四五六七八九".chars().position(|d| d == c);
    let mut j = 0;
    while j < chars.len() {
        if chars[j] == '十' {
            let tens = if j > 0 { digit(chars[j - 1]) } else { None };
            let units = chars.get(j + 1).and_then(|c| digit(*c));
            if tens.is_some() || units.is_some() {
                let n = tens.unwrap_or(1) * 10 + units.unwrap_or(0);
                push_number(n as u64, out);
            }
        }
        j += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses() {
        let g = Gazetteer::parse(BUILTIN).expect("built-in gazetteer");
        assert!(g.entities.len() > 20);
        assert!(g.is_common("taiwan"));
        assert!(!g.is_common("myanmar"));
    }

    #[test]
    fn entities_across_scripts() {
        let g = Gazetteer::builtin();
        for t in ["Taiwan brings back 55", "台灣", "台湾", "대만의 인터폴"] {
            assert!(g.extract(t, "").entities.contains("taiwan"), "{t}");
        }
        let e = g.extract(
            "Inuwi ng Taiwan ang 55 Mamamayan mula sa mga Fraud Rings sa Myanmar",
            "",
        );
        assert!(e.entities.contains("myanmar"));
        assert!(e.numbers.contains("55"));
        // "us" the pronoun is not the United States; "US" and "U.S." are.
        assert!(
            !g.extract("tell us more", "")
                .entities
                .contains("united-states")
        );
        assert!(
            g.extract("US lawmakers", "")
                .entities
                .contains("united-states")
        );
        assert!(
            g.extract("U.S. lawmakers", "")
                .entities
                .contains("united-states")
        );
    }

    #[test]
    fn numbers_in_words_digits_and_cjk() {
        let g = Gazetteer::builtin();
        let e = g.extract(
            "Fifty-five return",
            "Seventy-one lawmakers; ９４ people in 2019; 五十五人與十七名",
        );
        for n in ["55", "71", "94", "17"] {
            assert!(e.numbers.contains(n), "{n} in {:?}", e.numbers);
        }
        assert!(!e.numbers.contains("2019"));
        assert_eq!(e.title_numbers.iter().collect::<Vec<_>>(), vec!["55"]);
    }

    #[test]
    fn generic_names_skip_sentence_starts_and_title_case() {
        let g = Gazetteer::builtin();
        let e = g.extract(
            "Spain Deports Taiwanese To Beijing For Fraud",
            "The letter was led by Representatives John Curtis and Gerry Connolly.",
        );
        assert!(e.names.contains("curtis"));
        assert!(e.names.contains("connolly"));
        assert!(!e.names.contains("the"));
        assert!(!e.names.contains("deports"));
    }

    #[test]
    fn chinese_names_from_jieba_tags_across_scripts() {
        let g = Gazetteer::builtin();
        // A person in no gazetteer, in both scripts, folds to one name.
        let t = g.extract("外長李大維：失望", "外交部長李大維表示感到失望。");
        let s = g.extract("外长李大维：失望", "外交部长李大维表示感到失望。");
        assert!(t.names.contains("李大维"), "{:?}", t.names);
        assert_eq!(t.names, s.names);
        // Gazetteer aliases stay entities, not names.
        let e = g.extract("台灣國際刑警組織", "");
        assert!(e.entities.contains("taiwan"));
        assert!(!e.names.iter().any(|n| n.contains("台湾")), "{:?}", e.names);
        // Japanese (kana) is not tagged by a Chinese tagger.
        let j = g.extract("李大維氏が失望を表明した", "");
        assert!(j.names.is_empty(), "{:?}", j.names);
    }
}
