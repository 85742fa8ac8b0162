//! Which script a character belongs to.
//!
//! Two definitions of "CJK" used to disagree: matching counted Han and kana,
//! summaries also counted Hangul, CJK punctuation and full-width forms. The
//! one kept here is the one both need: [`is_cjk`] is true for the letters of
//! the scripts written *without spaces between words* (Han ideographs,
//! Hiragana, Katakana). Korean is written with spaces, so Hangul is not CJK
//! in this sense ([`is_hangul`] asks about it separately), and punctuation is
//! not a letter ([`is_cjk_punctuation`] asks about it separately).

/// Han ideographs (incl. extensions and compatibility forms), plus 々 and 〇.
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FFFF}'
        | '\u{3005}' | '\u{3007}')
}

/// Hiragana, Katakana and the Katakana phonetic extensions.
pub fn is_kana(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}')
}

/// Hangul syllables and jamo: Korean is written with spaces, but particles
/// attach to the word before them, so Korean rule words match as prefixes.
pub fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7AF}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

/// Han or Japanese kana: the letters of the scripts written without spaces,
/// which matching treats as substrings instead of words, and between which
/// sentences join and text may be cut without a space.
pub fn is_cjk(c: char) -> bool {
    is_han(c) || is_kana(c)
}

/// CJK symbols and punctuation (、。「」 and the ideographic space) and the
/// full-width punctuation (，；：！？): no space is written after them.
pub fn is_cjk_punctuation(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303F}' | '\u{FE30}'..='\u{FE4F}')
        || (('\u{FF01}'..='\u{FF65}').contains(&c) && !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_is_han_and_kana_only() {
        for c in ['台', '灣', '㐀', '豈', '𠀀', '々', '〇', 'あ', 'ア', 'ㇰ'] {
            assert!(is_cjk(c), "{c} is CJK");
        }
        // Korean is written with spaces; punctuation and full-width Latin are
        // not letters of an unspaced script; Latin, Thai and digits are not CJK.
        for c in [
            '한', 'ᄀ', 'ㄱ', '。', '、', '，', 'Ａ', 'a', 'é', 'ก', '1', ' ',
        ] {
            assert!(!is_cjk(c), "{c} is not CJK");
        }
        assert!(is_hangul('한') && is_hangul('ㄱ') && !is_hangul('台'));
        assert!(is_kana('ー') && !is_kana('台'));
        assert!(is_han('國') && !is_han('の'));
    }

    #[test]
    fn cjk_punctuation() {
        for c in [
            '。', '、', '「', '」', '\u{3000}', '，', '；', '：', '！', '？', '﹁',
        ] {
            assert!(is_cjk_punctuation(c), "{c:?} is CJK punctuation");
        }
        for c in ['Ａ', '１', '台', ',', '.', 'a'] {
            assert!(!is_cjk_punctuation(c), "{c:?} is not CJK punctuation");
        }
    }
}
