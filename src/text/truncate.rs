//! Cutting text to a size. Three cuts with different jobs, kept apart on
//! purpose: a byte cap that bounds work on hostile input, a character cap for
//! stored fields, and a reader-facing cut at a word with "…".

use unicode_segmentation::UnicodeSegmentation;

/// `s` cut to at most `max` bytes on a character boundary (a work bound, not
/// for readers: it may cut mid-word).
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` cut to at most `max` characters (a storage bound: no ellipsis).
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// Punctuation after which a too-long sentence may be cut cleanly.
const CLAUSE_BREAKS: &[char] = &['，', '；', '：', '、', ',', ';', ':', '—', '–'];

/// Cuts `text` to at most `max_chars` characters, "…" included, at a word
/// boundary (UAX #29, which makes every CJK character its own word, so CJK
/// text is cut between characters). Prefers a clause break (， ； , ;) in the
/// last 40 % of the room. Text that fits is returned unchanged (trimmed).
pub fn truncate_at_word(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    if max_chars == 0 {
        return String::new();
    }
    let budget = max_chars - 1; // room for "…"
    let mut end = 0usize; // byte end of the longest prefix of whole segments
    let mut count = 0usize;
    let mut clause_end: Option<(usize, usize)> = None; // (byte end, char count)
    for (idx, seg) in text.split_word_bound_indices() {
        let seg_chars = seg.chars().count();
        if count + seg_chars > budget {
            break;
        }
        count += seg_chars;
        end = idx + seg.len();
        if seg.chars().all(|c| CLAUSE_BREAKS.contains(&c)) {
            clause_end = Some((idx, count));
        }
    }
    if let Some((clause, clause_count)) = clause_end
        && clause_count * 10 >= budget * 6
    {
        end = clause;
    }
    if end == 0 {
        // One "word" longer than the room (a URL, a run of symbols): fall
        // back to whole grapheme clusters so nothing is split mid-character.
        for (idx, g) in text.grapheme_indices(true) {
            if text[..idx + g.len()].chars().count() > budget {
                break;
            }
            end = idx + g.len();
        }
    }
    let head = text[..end].trim_end_matches(|c: char| {
        c.is_whitespace()
            || CLAUSE_BREAKS.contains(&c)
            || matches!(c, '(' | '（' | '「' | '"' | '“' | '-')
    });
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_cut_on_a_char_boundary() {
        assert_eq!(truncate_bytes("abc", 10), "abc");
        assert_eq!(truncate_bytes("abc", 2), "ab");
        // "台" is three bytes: a cut inside it drops the whole character.
        assert_eq!(truncate_bytes("a台b", 3), "a");
        assert_eq!(truncate_bytes("a台b", 4), "a台");
        assert_eq!(truncate_bytes("台", 0), "");
    }

    #[test]
    fn chars_cut_without_ellipsis() {
        assert_eq!(truncate_chars("台灣國際", 2), "台灣");
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abc", 0), "");
    }

    #[test]
    fn words_cut_with_ellipsis() {
        let t = truncate_at_word(
            "The ministry said Taiwan remains excluded from INTERPOL",
            30,
        );
        assert_eq!(t, "The ministry said Taiwan…");
        assert_eq!(
            truncate_at_word("台灣持續爭取參與國際刑警組織大會並分享情資", 10),
            "台灣持續爭取參與國…"
        );
        assert_eq!(
            truncate_at_word("外交部今天表示，台灣將持續爭取參與國際刑警組織", 14),
            "外交部今天表示…"
        );
        assert_eq!(truncate_at_word("  short  ", 10), "short");
        assert_eq!(truncate_at_word("abcdef", 1), "…");
        assert_eq!(truncate_at_word("abcdef", 0), "");
        // One word longer than the room is cut between graphemes.
        assert_eq!(truncate_at_word("abcdefghijklmnop", 10), "abcdefghi…");
        // A URL is several words (UAX #29): cut at one of their bounds.
        assert_eq!(
            truncate_at_word("https://example.org/very/long/path", 10),
            "https…"
        );
    }
}
