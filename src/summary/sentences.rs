//! Sentence splitting for English and Chinese news text.
//!
//! The base is Unicode's sentence segmentation (UAX #29, from
//! `unicode-segmentation`), which already knows that `3.5` and
//! `e.g. the` do not end sentences, that 。！？ do (also without a following
//! space), and that closing quotes like 」 and ” belong to the sentence they
//! close. What UAX #29 cannot know is English abbreviations followed by a
//! capital ("Dr. Coyne", "U.S. President", "J. R. Smith", "Jan. 5 The"), so
//! a second pass glues a piece to the next one when it ends in a known
//! abbreviation, a single-letter initial or a dotted acronym.
//!
//! Deliberate choices:
//! - "；" (and ";") is a clause separator, not a sentence end; it is a
//!   preferred cut point when a too-long sentence has to be shortened.
//! - "…"/"……" does not end a sentence; a text that *ends* in an ellipsis is
//!   a truncated excerpt and its last sentence is treated as incomplete.
//! - A line break always ends a sentence: headings, bylines and list items
//!   have no final punctuation and must not be glued to the next paragraph.

use unicode_segmentation::UnicodeSegmentation;

use crate::text::{is_cjk, is_cjk_punctuation};

/// Lower-cased abbreviations (without the final dot) that are followed by a
/// capitalised word mid-sentence in news English.
const ABBREVIATIONS: &[&str] = &[
    // titles
    "mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "lt", "col", "maj", "capt", "sgt",
    "cmdr", "adm", "rev", "hon", "pres", "st", "supt", "insp", "det", "jr", "sr", "mt", "ft",
    // months
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    // companies and misc
    "inc", "ltd", "co", "corp", "bros", "no", "nos", "vol", "art", "sec", "ch", "fig", "vs", "etc",
    "approx", "dept", "est", "ave", "blvd", "rd",
];

/// True when `piece` (one UAX #29 sentence, trailing spaces removed) ends in
/// an abbreviation whose dot is not a sentence end.
fn ends_with_abbreviation(piece: &str) -> bool {
    let Some(last) = piece.split_whitespace().next_back() else {
        return false;
    };
    // Drop opening punctuation: "(Dr." or "“U.S."
    let token = last.trim_start_matches(|c: char| !c.is_alphanumeric());
    let Some(stem) = token.strip_suffix('.') else {
        return false;
    };
    if stem.is_empty() {
        return false;
    }
    let chars: Vec<char> = stem.chars().collect();
    // single-letter initial: "J." (but "I." is more often the pronoun ending a
    // sentence in quotes than an initial, so keep it a boundary)
    if chars.len() == 1 {
        return chars[0].is_ascii_uppercase() && chars[0] != 'I';
    }
    // dotted acronyms: "U.S", "U.N", "a.m", "Ph.D"
    if stem.contains('.')
        && stem.split('.').all(|part| {
            !part.is_empty() && part.len() <= 2 && part.chars().all(|c| c.is_ascii_alphabetic())
        })
    {
        return true;
    }
    let lower = stem.to_ascii_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
}

/// Splits plain text into sentences, trimmed, in order.
///
/// Paragraph and line breaks are hard boundaries. Nothing is dropped: empty
/// pieces aside, concatenating the sentences (with the separators removed)
/// gives back the input's visible text.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut current = String::new();
        for piece in line.split_sentence_bounds() {
            current.push_str(piece);
            let trimmed = current.trim_end();
            if ends_with_abbreviation(trimmed) {
                continue;
            }
            let sentence = trimmed.trim();
            if !sentence.is_empty() {
                out.push(sentence.to_string());
            }
            current.clear();
        }
        let rest = current.trim();
        if !rest.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

/// Characters that end a complete sentence (possibly followed by closing
/// quotes or brackets).
pub(crate) fn ends_with_terminal(sentence: &str) -> bool {
    let trimmed = sentence.trim_end_matches(|c: char| {
        matches!(
            c,
            '"' | '\'' | '”' | '’' | '」' | '』' | ')' | '）' | ']' | '】' | '》' | '〉'
        )
    });
    if trimmed.ends_with("...") || trimmed.ends_with('…') {
        return false;
    }
    trimmed.ends_with(['.', '!', '?', '。', '！', '？', '．'])
}

/// Joins sentences the way the language writes them: no space between two
/// CJK sentences, one space otherwise.
pub fn join_sentences<S: AsRef<str>>(sentences: &[S]) -> String {
    let mut out = String::new();
    for s in sentences {
        let s = s.as_ref();
        if s.is_empty() {
            continue;
        }
        if let (Some(prev), Some(next)) = (out.chars().next_back(), s.chars().next()) {
            let wide = |c: char| is_cjk(c) || is_cjk_punctuation(c);
            let cjk_join = wide(prev) && wide(next);
            if !cjk_join {
                out.push(' ');
            }
        }
        out.push_str(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_abbreviations_do_not_split() {
        let s = split_sentences(
            "Dr. John Coyne of the U.S. think tank spoke on Jan. 5 in Washington. Growth was 3.5 percent. J. R. Smith agreed! Did he? Yes.",
        );
        assert_eq!(
            s,
            vec![
                "Dr. John Coyne of the U.S. think tank spoke on Jan. 5 in Washington.",
                "Growth was 3.5 percent.",
                "J. R. Smith agreed!",
                "Did he?",
                "Yes.",
            ]
        );
    }

    #[test]
    fn chinese_terminators() {
        let s = split_sentences(
            "台灣再度爭取參與國際刑警組織。外交部表示：「我們不會放棄！」美國也表示支持？是的；沒錯……",
        );
        assert_eq!(
            s,
            vec![
                "台灣再度爭取參與國際刑警組織。",
                "外交部表示：「我們不會放棄！」",
                "美國也表示支持？",
                "是的；沒錯……",
            ]
        );
    }

    #[test]
    fn lines_are_boundaries() {
        let s = split_sentences("Heading without stop\nBody sentence here.");
        assert_eq!(s, vec!["Heading without stop", "Body sentence here."]);
    }

    #[test]
    fn terminal_detection() {
        assert!(ends_with_terminal("He said “no.”"));
        assert!(ends_with_terminal("完成。」"));
        assert!(!ends_with_terminal("The agency said the…"));
        assert!(!ends_with_terminal("A heading"));
    }

    #[test]
    fn joining() {
        assert_eq!(join_sentences(&["甲。", "乙。"]), "甲。乙。");
        assert_eq!(join_sentences(&["A.", "B."]), "A. B.");
    }
}
