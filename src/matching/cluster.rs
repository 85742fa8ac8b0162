//! Story clustering: recognising that several outlets carry the same story.
//!
//! A [`StoryFingerprint`] is computed from an item's title, lead and
//! language and can be stored (serde) and compared later without the text.
//! It holds two sorted sets of hashed features, one for the title alone and
//! one for title + lead:
//!
//! * Latin-script text: stemmed content words (stop words dropped) and the
//!   bigrams of consecutive content words, so re-ordered or lightly edited
//!   headlines still share most features while word order still counts;
//! * Han/kana text: character bigrams of the folded text, so Traditional and
//!   Simplified versions of one headline have identical features;
//! * numbers are kept: "151 rescued" and "44 deported" are different stories
//!   even when every other word is about the same topic.
//!
//! Two fingerprints are compared by the Jaccard index of their title+lead
//! features, or of their titles when either has no lead; [`same_story`]
//! applies [`SAME_STORY_THRESHOLD`]. The title alone is not trusted when
//! leads exist: news headlines are formulaic ("Interpol warns of surge in
//! human trafficking…" ran twice, two years apart), leads carry the
//! specifics.
//! Stories on the same topic share topic words (Taiwan, INTERPOL, assembly)
//! but not their specifics (places, numbers, names, verbs), which is what a
//! Jaccard over *all* content features, rather than a topic-word count,
//! measures. Hashes are FNV-1a, fixed forever, so stored fingerprints stay
//! comparable across versions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entities::Gazetteer;
use super::text::{self, WordStemmer};

/// Similarity at or above which two items are the same story. Jaccard over
/// words *and* word bigrams is strict: on the clustering tests, one story
/// told by two outlets scores 0.27–1.0 and different stories on the same
/// topic 0.03–0.17.
pub const SAME_STORY_THRESHOLD: f64 = 0.22;

/// How much of the lead is used: a lead's first sentences carry the story;
/// later ones drift into background that other stories share.
const LEAD_WORDS: usize = 45;
const LEAD_CJK_CHARS: usize = 90;

/// Bumped if feature extraction changes, so stale fingerprints are not
/// compared with new ones.
pub const FINGERPRINT_VERSION: u32 = 1;

/// Comparable summary of one item's story.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct StoryFingerprint {
    pub version: u32,
    /// Language tag as given by the caller (informational).
    pub lang: String,
    /// Sorted, distinct feature hashes of the title.
    #[serde(with = "packed_hashes")]
    pub title: Vec<u64>,
    /// Sorted, distinct feature hashes of the title and the lead.
    #[serde(with = "packed_hashes")]
    pub body: Vec<u64>,
    /// What the event is made of (see [`super::entities`]); empty in
    /// fingerprints stored before these were extracted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<String>,
    /// Generic names: capitalised words that are no gazetteer alias.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Numbers of the title and lead (years left out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<String>,
    /// Numbers of the title alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub title_numbers: Vec<String>,
    /// Conflicting event wordings present (nomination vs election).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// The item's own date (Unix seconds), when it had a plausible one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
}

/// A fingerprint's feature hashes as they are stored: one base64 string of
/// the hashes' little-endian bytes, about 11 characters a hash where a JSON
/// array of decimals takes 20. Every published item stores its fingerprint,
/// so this is most of its size. Reading also takes the array that
/// fingerprints stored before had.
mod packed_hashes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
    use serde::de::{self, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hashes: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.to_le_bytes()).collect();
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        struct Hashes;
        impl<'de> Visitor<'de> for Hashes {
            type Value = Vec<u64>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("base64 of little-endian u64s, or an array of u64")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u64>, E> {
                let bytes = B64.decode(v).map_err(E::custom)?;
                let chunks = bytes.chunks_exact(8);
                if !chunks.remainder().is_empty() {
                    return Err(E::custom("packed hashes are not a whole number of u64s"));
                }
                Ok(chunks
                    .map(|c| {
                        let mut word = [0u8; 8];
                        word.copy_from_slice(c);
                        u64::from_le_bytes(word)
                    })
                    .collect())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u64>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(h) = seq.next_element()? {
                    out.push(h);
                }
                Ok(out)
            }
        }
        d.deserialize_any(Hashes)
    }
}

fn features(stemmer: &WordStemmer, raw: &str, max_words: usize, max_cjk: usize) -> Vec<u64> {
    let folded = text::fold(raw);
    let mut out = Vec::new();
    let mut prev: Option<String> = None;
    let mut n = 0;
    text::for_each_word(&folded, |s, e| {
        if n >= max_words {
            return;
        }
        n += 1;
        let w = &folded[s..e];
        let is_number = w.bytes().all(|b| b.is_ascii_digit());
        if !is_number && text::is_stop_word(w) {
            return;
        }
        let stem = stemmer.stem(w).into_owned();
        out.push(text::stable_hash(stem.as_bytes()));
        if let Some(p) = prev.take() {
            let bigram = format!("{p} {stem}");
            out.push(text::stable_hash(bigram.as_bytes()));
        }
        prev = Some(stem);
    });
    let mut budget = max_cjk;
    text::for_each_cjk_run(&folded, |s, e| {
        let chars: Vec<char> = folded[s..e].chars().take(budget).collect();
        budget -= chars.len();
        if chars.len() == 1 {
            let mut buf = [0u8; 4];
            out.push(text::stable_hash(chars[0].encode_utf8(&mut buf).as_bytes()));
        }
        for pair in chars.windows(2) {
            let bigram: String = pair.iter().collect();
            out.push(text::stable_hash(bigram.as_bytes()));
        }
    });
    out.sort_unstable();
    out.dedup();
    out
}

impl StoryFingerprint {
    /// Fingerprint of an item. `lead` is the summary or first paragraph.
    pub fn new(title: &str, lead: &str, lang: &str) -> Self {
        let stemmer = WordStemmer::default();
        let title_f = features(&stemmer, title, usize::MAX, usize::MAX);
        let lead_f = features(&stemmer, lead, LEAD_WORDS, LEAD_CJK_CHARS);
        let mut body = title_f.clone();
        body.extend(lead_f);
        body.sort_unstable();
        body.dedup();
        let x = Gazetteer::builtin().extract(title, lead);
        StoryFingerprint {
            version: FINGERPRINT_VERSION,
            lang: lang.to_string(),
            title: title_f,
            body,
            entities: x.entities.into_iter().collect(),
            names: x.names.into_iter().collect(),
            numbers: x.numbers.into_iter().collect(),
            title_numbers: x.title_numbers.into_iter().collect(),
            events: x.events.into_iter().collect(),
            date: None,
        }
    }

    /// Fingerprint of an item dated `date` (its own publication date).
    pub fn dated(title: &str, lead: &str, lang: &str, date: DateTime<Utc>) -> Self {
        let mut fp = Self::new(title, lead, lang);
        fp.date = Some(date.timestamp());
        fp
    }

    /// The keys an index files this fingerprint under: specific entities,
    /// names, numbers and title features. Common entities are left out
    /// (every story has them).
    pub fn index_keys(&self) -> Vec<String> {
        let g = Gazetteer::builtin();
        let mut keys: Vec<String> = self
            .entities
            .iter()
            .filter(|e| !g.is_common(e))
            .map(|e| format!("e:{e}"))
            .collect();
        keys.extend(self.names.iter().map(|n| format!("n:{n}")));
        keys.extend(self.numbers.iter().map(|n| format!("#:{n}")));
        keys.extend(self.title.iter().map(|h| format!("t:{h:x}")));
        keys
    }
}

/// Jaccard index of two sorted, distinct lists.
fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// Similarity of two stories in [0, 1]: Jaccard of the title+lead features,
/// or of the titles when either item has no lead. 0 for fingerprints of
/// different versions.
pub fn story_similarity(a: &StoryFingerprint, b: &StoryFingerprint) -> f64 {
    if a.version != b.version {
        return 0.0;
    }
    let has_lead = |f: &StoryFingerprint| f.body.len() > f.title.len();
    if has_lead(a) && has_lead(b) {
        jaccard(&a.body, &b.body)
    } else {
        jaccard(&a.title, &b.title)
    }
}

/// Whether two fingerprints are the same story.
pub fn same_story(a: &StoryFingerprint, b: &StoryFingerprint) -> bool {
    story_match(a, b).same
}

/// Two reports further apart than this (on their own dates) are different
/// events, however alike.
pub const STORY_WINDOW_SECS: i64 = 72 * 3600;

/// Evidence (see [`story_match`]) at or above which two reports are one story.
pub const SAME_STORY_EVIDENCE: f64 = 3.0;

/// The matcher's verdict on two reports, with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StoryMatch {
    pub same: bool,
    /// Jaccard similarity of the wording (same-language signal).
    pub similarity: f64,
    /// Weighted sum of what the two share (entities, names, numbers, wording).
    pub evidence: f64,
    pub shared_entities: Vec<String>,
    pub shared_names: Vec<String>,
    pub shared_numbers: Vec<String>,
    /// Days between the items' own dates, when both have one.
    pub days_apart: Option<f64>,
    /// Why they were kept apart regardless of the evidence.
    pub kept_apart: Option<String>,
}

impl StoryMatch {
    /// One line for listings and the dashboard.
    pub fn reasons(&self) -> String {
        let mut parts = Vec::new();
        if !self.shared_entities.is_empty() {
            parts.push(format!("entities {}", self.shared_entities.join(", ")));
        }
        if !self.shared_names.is_empty() {
            parts.push(format!("names {}", self.shared_names.join(", ")));
        }
        if !self.shared_numbers.is_empty() {
            parts.push(format!("numbers {}", self.shared_numbers.join(", ")));
        }
        parts.push(format!("wording {:.2}", self.similarity));
        if let Some(d) = self.days_apart {
            parts.push(format!("{d:.1} days apart"));
        }
        let head = if self.same { "same story" } else { "different" };
        let mut out = format!(
            "{head} (evidence {:.1} of {SAME_STORY_EVIDENCE:.1}): {}",
            self.evidence,
            parts.join("; ")
        );
        if let Some(k) = &self.kept_apart {
            out.push_str(&format!("; kept apart: {k}"));
        }
        out
    }
}

fn shared(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|x| b.contains(x)).cloned().collect()
}

/// Whether two reports tell one event, and why.
///
/// Kept apart first, whatever they share: items dated more than
/// [`STORY_WINDOW_SECS`] apart; one worded as a nomination and the other as
/// an election (the gazetteer's conflicts); titles whose figures differ
/// ("3 deported" vs "10 deported"). Otherwise the evidence adds up: each
/// shared person 1.5, other specific entity 1, each shared common entity
/// (Taiwan, INTERPOL) 0.25, each shared name 0.75, the first shared number 1.5 and each further
/// one 0.75, and the wording similarity × 6. One story from
/// [`SAME_STORY_EVIDENCE`], or when the wording alone reaches
/// [`SAME_STORY_THRESHOLD`] (one language, syndicated copy).
pub fn story_match(a: &StoryFingerprint, b: &StoryFingerprint) -> StoryMatch {
    let g = Gazetteer::builtin();
    let similarity = story_similarity(a, b);
    let shared_entities = shared(&a.entities, &b.entities);
    let shared_names = shared(&a.names, &b.names);
    let shared_numbers = shared(&a.numbers, &b.numbers);
    let days_apart = match (a.date, b.date) {
        (Some(x), Some(y)) => Some((x - y).abs() as f64 / 86_400.0),
        _ => None,
    };
    let mut kept_apart = None;
    if let (Some(x), Some(y)) = (a.date, b.date) {
        if (x - y).abs() > STORY_WINDOW_SECS {
            kept_apart = Some(format!(
                "dated {:.0} days apart",
                (x - y).abs() as f64 / 86_400.0
            ));
        }
    }
    if kept_apart.is_none() {
        for e in &a.events {
            let (n, side) = e.split_at(e.len() - 1);
            let other = format!("{n}{}", if side == "a" { "b" } else { "a" });
            if !a.events.contains(&other) && b.events.contains(&other) && !b.events.contains(e) {
                kept_apart = Some("one reports a nomination, the other an election".to_string());
            }
        }
    }
    if kept_apart.is_none()
        && !a.title_numbers.is_empty()
        && !b.title_numbers.is_empty()
        && shared(&a.title_numbers, &b.title_numbers).is_empty()
    {
        kept_apart = Some(format!(
            "titles report different figures ({} vs {})",
            a.title_numbers.join(", "),
            b.title_numbers.join(", ")
        ));
    }
    let entity_weight: f64 = shared_entities.iter().map(|e| g.weight(e)).sum();
    let number_weight = match shared_numbers.len() {
        0 => 0.0,
        n => 1.5 + 0.75 * (n - 1) as f64,
    };
    let evidence =
        entity_weight + 0.75 * shared_names.len() as f64 + number_weight + similarity * 6.0;
    let same = kept_apart.is_none()
        && (evidence >= SAME_STORY_EVIDENCE || similarity >= SAME_STORY_THRESHOLD);
    StoryMatch {
        same,
        similarity,
        evidence,
        shared_entities,
        shared_names,
        shared_numbers,
        days_apart,
        kept_apart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(t: &str, l: &str, lang: &str) -> StoryFingerprint {
        StoryFingerprint::new(t, l, lang)
    }

    /// (title, lead) pairs that are one story as carried by two outlets.
    const SAME_EN: &[[(&str, &str); 2]] = &[
        [
            (
                "Taiwan regrets exclusion from Interpol assembly",
                "Taiwan voiced deep regret that Interpol rejected its bid to attend the general assembly in Bali and said it will keep working with the US and like-minded countries.",
            ),
            (
                "Taiwan 'deeply unhappy' after Interpol snubs request to attend general assembly meeting",
                "Taiwan expressed deep regret after Interpol rejected its request to attend the general assembly in Bali, CNA reported.",
            ),
        ],
        [
            (
                "British parliamentary group backs Taiwan's bid to attend Interpol General Assembly",
                "The British-Taiwanese All-Party Parliamentary Group issued a statement backing Taiwan's participation as an observer at Interpol's 87th General Assembly in the UAE.",
            ),
            (
                "British lawmakers back Taiwan's Interpol bid",
                "Co-chairs of the British-Taiwanese All-Party Parliamentary Group, Nigel Evans and Lord Rogan, called on Interpol to invite Taiwan as an observer to its General Assembly in Dubai.",
            ),
        ],
        [
            (
                "British Prime Minister opens global police assembly in Glasgow",
                "UK Prime Minister Keir Starmer opened the 92nd INTERPOL General Assembly in Glasgow, stressing international police cooperation against organized crime.",
            ),
            (
                "British Prime Minister opens global police summit in Glasgow",
                "Keir Starmer opened the INTERPOL General Assembly in Glasgow, the largest gathering of senior law enforcement officials.",
            ),
        ],
        [
            (
                "Taiwan rescues 151 people from fraud rings in Cambodia",
                "151 Taiwanese have returned home after falling victim to human trafficking and fraud rings in Cambodia, the cabinet said.",
            ),
            (
                "151 Taiwanese rescued from Cambodian fraud rings, returned home",
                "The cabinet said 151 Taiwanese victims of human trafficking and fraud rings in Cambodia have returned home.",
            ),
        ],
    ];

    /// Different stories that share the topic's words.
    const DIFFERENT_EN: &[[(&str, &str); 2]] = &[
        [
            (
                "Interpol bows to Beijing, denies Taiwan observer bid for Dubai general assembly",
                "Interpol's General Secretariat rejected Taiwan's request to attend its general assembly in Dubai as an observer, citing a 1984 resolution that only the PRC represents China, Taiwan's foreign ministry said, expressing strong regret.",
            ),
            (
                "Taiwan 'deeply unhappy' after Interpol snubs request to attend general assembly meeting",
                "Taiwan expressed deep regret after Interpol rejected its request to attend the general assembly in Bali, CNA reported.",
            ),
        ],
        [
            (
                "Interpol's General Assembly Refuses to Admit Taiwan Following China's Protest",
                "Interpol's General Assembly, meeting in Santiago, Chile, declined to let Taiwan join as an observer after several states raised the issue and the Chinese delegation protested.",
            ),
            (
                "Interpol bows to Beijing, denies Taiwan observer bid for Dubai general assembly",
                "Interpol's General Secretariat rejected Taiwan's request to attend its general assembly in Dubai as an observer, citing a 1984 resolution.",
            ),
        ],
        [
            (
                "US House Passes Bill Backing Taiwan's Participation in Interpol",
                "The US House passed a bill supporting Taiwan's participation in Interpol, after Senate approval on March 8.",
            ),
            (
                "Taiwan Should Join Interpol to Fight Transnational Crime",
                "CIB Commissioner Chou Yew-woei writes that because Taiwan is excluded from Interpol it can access critical intelligence only indirectly and late.",
            ),
        ],
        [
            (
                "INTERPOL Warns of Global Surge in Human Trafficking-Fueled Fraud",
                "INTERPOL issued an Orange Notice warning member countries that human trafficking-fuelled fraud, in which victims lured by fake job ads are forced into cyber scams, has spread from Southeast Asia to other regions.",
            ),
            (
                "Interpol warns of surge in human trafficking linked to online fraud",
                "Interpol said victims from 66 countries have been trafficked into professionally run online scam centres, calling it a global crisis.",
            ),
        ],
        [
            (
                "Ahmed Naser Al-Raisi, President of Interpol: how Morocco has established itself through its expertise",
                "Opening the General Assembly in Marrakech, INTERPOL president Ahmed Naser Al-Raisi praised Morocco as a bridge between continents.",
            ),
            (
                "The world is pinning its hopes on the Marrakech meetings to renew Interpol's strategies",
                "Security officials from Qatar, Kuwait and other delegations at the 93rd INTERPOL General Assembly in Marrakech said the session is tackling terrorism, drugs and transnational crime.",
            ),
        ],
        [
            (
                "Taiwan rescues 151 people from fraud rings in Cambodia",
                "151 Taiwanese have returned home after falling victim to human trafficking and fraud rings in Cambodia, the cabinet said.",
            ),
            (
                "Taiwan seeks to free citizens lured to Cambodia by scammers",
                "Taiwan is trying to free more than 300 citizens lured to Cambodia by crime groups promising tech jobs and then forced to work in call centres.",
            ),
        ],
    ];

    const SAME_ZH: &[[(&str, &str); 2]] = &[
        // Traditional and Simplified versions of one report.
        [
            (
                "駐美官員：全球安全無缺口 台灣應加入國際刑警組織",
                "駐芝加哥辦事處長投書指出，台灣因中國壓力無法參與國際刑警組織及使用其資料庫，使全球安全網出現缺口。",
            ),
            (
                "驻美官员：全球安全无缺口 台湾应加入国际刑警组织",
                "驻芝加哥办事处长投书指出，台湾因中国压力无法参与国际刑警组织及使用其资料库，使全球安全网出现缺口。",
            ),
        ],
        // Two outlets, lightly re-worded headline.
        [
            (
                "柬埔寨逮31名電信詐騙嫌犯 外交部：尚未發現台籍",
                "柬埔寨政府逮捕31名電信詐騙嫌犯，外交部表示涉案者多為中國大陸籍，尚未發現台籍嫌犯。",
            ),
            (
                "柬埔寨逮捕31名电信诈骗嫌犯 外交部称未发现台籍人士",
                "外交部表示，柬埔寨逮捕的31名电信诈骗嫌犯多为中国大陆籍，目前尚未发现台籍嫌犯。",
            ),
        ],
    ];

    const DIFFERENT_ZH: &[[(&str, &str); 2]] = &[
        [
            (
                "駐美官員：全球安全無缺口 台灣應加入國際刑警組織",
                "駐芝加哥辦事處長投書指出，台灣因中國壓力無法參與國際刑警組織及使用其資料庫，使全球安全網出現缺口。",
            ),
            (
                "國際刑警組織大會再拒台灣 外交部深表遺憾",
                "國際刑警組織大會今年仍未邀請台灣以觀察員身分出席，外交部對此表達強烈不滿與遺憾。",
            ),
        ],
        [
            (
                "柬埔寨逮31名電信詐騙嫌犯 外交部：尚未發現台籍",
                "柬埔寨政府逮捕31名電信詐騙嫌犯，外交部表示涉案者多為中國大陸籍，尚未發現台籍嫌犯。",
            ),
            (
                "3名年輕香港男女在台做詐騙車手被捕 25歲港女疑任管理者",
                "台北警方破獲一個成員來自香港、馬來西亞及台灣的跨境詐騙車手集團，3名港籍男女被捕。",
            ),
        ],
    ];

    fn sims(pairs: &[[(&str, &str); 2]], lang: &str) -> Vec<f64> {
        pairs
            .iter()
            .map(|[(t1, l1), (t2, l2)]| story_similarity(&fp(t1, l1, lang), &fp(t2, l2, lang)))
            .collect()
    }

    #[test]
    fn same_story_pairs_cluster() {
        for (pairs, lang) in [(SAME_EN, "en"), (SAME_ZH, "zh")] {
            let s = sims(pairs, lang);
            for (i, v) in s.iter().enumerate() {
                let [(a, la), (b, lb)] = pairs[i];
                assert!(
                    same_story(&fp(a, la, lang), &fp(b, lb, lang)),
                    "{lang} pair {i} similarity {v:.3}: {a} / {b}"
                );
            }
        }
    }

    #[test]
    fn different_stories_on_the_same_topic_do_not_cluster() {
        for (pairs, lang) in [(DIFFERENT_EN, "en"), (DIFFERENT_ZH, "zh")] {
            let s = sims(pairs, lang);
            for (i, v) in s.iter().enumerate() {
                let [(a, la), (b, lb)] = pairs[i];
                assert!(
                    !same_story(&fp(a, la, lang), &fp(b, lb, lang)),
                    "{lang} pair {i} similarity {v:.3}: {a} / {b}"
                );
            }
        }
    }

    #[test]
    fn identical_and_empty() {
        let a = fp("Taiwan and Interpol", "lead", "en");
        assert!((story_similarity(&a, &a) - 1.0).abs() < 1e-12);
        let e = fp("", "", "en");
        assert_eq!(story_similarity(&a, &e), 0.0);
        assert!(!same_story(&e, &e));
        let json = serde_json::to_string(&a).expect("test input");
        let back: StoryFingerprint = serde_json::from_str(&json).expect("test input");
        assert_eq!(a, back);
    }

    #[test]
    fn stored_fingerprints_are_packed_and_old_ones_still_read() {
        let a = fp(
            "Taiwan rescues 151 people from fraud rings in Cambodia",
            "151 Taiwanese have returned home after falling victim to fraud rings.",
            "en",
        );
        assert!(!a.body.is_empty());
        let packed = serde_json::to_value(&a).expect("test input");
        let title = packed["title"].as_str().expect("title packed as a string");
        assert_eq!(title.len(), (a.title.len() * 8 * 4).div_ceil(3));
        // The form stored before: arrays of decimal hashes.
        let mut old = packed.clone();
        old["title"] = serde_json::json!(a.title);
        old["body"] = serde_json::json!(a.body);
        let old_text = old.to_string();
        let new_text = packed.to_string();
        assert!(
            new_text.len() * 10 < old_text.len() * 7,
            "{} vs {}",
            new_text.len(),
            old_text.len()
        );
        let back: StoryFingerprint = serde_json::from_str(&old_text).expect("old form");
        assert_eq!(back, a);
        let back: StoryFingerprint = serde_json::from_str(&new_text).expect("new form");
        assert_eq!(back, a);
        let torn = new_text.replacen(title, &title[..title.len() - 3], 1);
        assert!(serde_json::from_str::<StoryFingerprint>(&torn).is_err());
    }

    #[test]
    fn syndicated_headline_without_lead_clusters() {
        let a = fp(
            "Taiwan rescues 151 people from fraud rings in Cambodia",
            "",
            "en",
        );
        let b = fp(
            "Taiwan rescues 151 people from fraud rings in Cambodia",
            "151 Taiwanese have returned home after falling victim to fraud rings.",
            "en",
        );
        assert!(same_story(&a, &b));
        let c = fp(
            "Taiwan seeks to free citizens lured to Cambodia by scammers",
            "",
            "en",
        );
        assert!(!same_story(&a, &c));
    }

    #[test]
    fn a_person_named_in_both_chinese_reports_is_shared_evidence() {
        // 李大維 is in no gazetteer: jieba's tags find him, in either script.
        let a = fp(
            "無法出席國際刑警組織大會 外長：失望",
            "外交部長李大維表示，對國際刑警組織未邀請台灣出席在印尼峇里島舉行的第85屆大會感到失望，中國大陸打壓是很明顯的因素。",
            "zh",
        );
        let b = fp(
            "国际刑警组织大会 我国确定无法出席",
            "11月7日在印尼登场的国际刑警组织大会，台湾确定无法出席；外交部长李大维说，主席与秘书长来函表示今年无法邀请我国以观察员身分参加。",
            "zh",
        );
        let m = story_match(&a, &b);
        assert!(m.shared_names.iter().any(|n| n == "李大维"), "{m:?}");
        assert!(m.same, "{m:?}");
        assert!(b.index_keys().iter().any(|k| k == "n:李大维"));
    }
}
