//! The one text normalisation of site search, applied to posts here and to the
//! reader's query by `search.js`; both must give the same characters, so the rule
//! is kept small enough to state exactly (the shared vectors in
//! `tests/fixtures/search/normalize.json` are checked on both sides):
//!
//! 1. The text is cut into units: a character with every mark that follows it
//!    (general category M, plus the half-width voiced marks U+FF9E and U+FF9F,
//!    which NFKC turns into combining marks, and the Hangul vowel and final jamo
//!    U+1160–U+11FF and U+D7B0–U+D7FF, which NFKC joins to the syllable before).
//! 2. Each unit becomes `lowercase(NFKC(unit))`, with the final sigma ς as σ
//!    (lowercasing one character never knows it ends a word).
//!
//! Per unit rather than over the whole string, so that every normalised character
//! can be traced back to the original text it came from (the excerpt shows the
//! original, with the match marked), and a block of text can be normalised on its
//! own with the same result as inside the whole post. NFKC joins ｶﾞ into ガ and
//! ＡＷＳ into AWS; lowercase makes GitHub and github one word.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Characters that are their own NFKC and lowercase and never join the one before:
/// ASCII other than capitals, hiragana, katakana and the common kanji, which make up
/// nearly all of a Japanese post. A shortcut only: the general rule gives the same.
fn plain(c: char) -> bool {
    matches!(c, '\0'..='@' | '['..='\x7f' | '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' | 'ー' | '\u{4E00}'..='\u{9FFF}')
}

/// Whether `c` belongs to the unit of the character before it.
fn joins_previous(c: char) -> bool {
    if plain(c) {
        return false;
    }
    matches!(c, '\u{FF9E}' | '\u{FF9F}' | '\u{1160}'..='\u{11FF}' | '\u{D7B0}'..='\u{D7FF}')
        || c.general_category_group() == GeneralCategoryGroup::Mark
}

/// Text after normalisation, with where each unit came from.
#[derive(Debug, Default)]
pub struct Normalized {
    pub chars: Vec<char>,
    /// Per unit: its byte offset in the original text and the index in `chars` of
    /// its first normalised character, in order.
    pub units: Vec<(usize, u32)>,
}

/// Normalises `text` (see the module comment).
pub fn normalize(text: &str) -> Normalized {
    let mut out = Normalized {
        chars: Vec::with_capacity(text.len() / 2),
        units: Vec::with_capacity(text.len() / 2),
    };
    let mut iter = text.char_indices().peekable();
    while let Some((start, c)) = iter.next() {
        let mut end = start + c.len_utf8();
        while let Some(&(i, next)) = iter.peek() {
            if !joins_previous(next) {
                break;
            }
            end = i + next.len_utf8();
            iter.next();
        }
        out.units.push((start, out.chars.len() as u32));
        if end == start + c.len_utf8() && plain(c) {
            out.chars.push(c);
            continue;
        }
        let unit = &text[start..end];
        if unit.len() == c.len_utf8()
            && (c.is_ascii() || is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes)
        {
            // Most characters: already NFKC, and one character's lowercase is the
            // same as the one-character string's.
            out.chars.extend(c.to_lowercase().map(final_sigma));
        } else {
            let folded: String = unit.nfkc().collect();
            out.chars
                .extend(folded.to_lowercase().chars().map(final_sigma));
        }
    }
    out
}

fn final_sigma(c: char) -> char {
    if c == 'ς' { 'σ' } else { c }
}

/// A query cut into words: normalised, split at white space (NFKC has already
/// made the ideographic space an ASCII one), empty words dropped.
pub fn query_words(query: &str) -> Vec<Vec<char>> {
    let chars = normalize(query).chars;
    chars
        .split(|c| c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(<[char]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s).chars.into_iter().collect()
    }

    #[test]
    fn the_shortcut_agrees_with_the_general_rule() {
        for c in (0..0x11000)
            .filter_map(char::from_u32)
            .filter(|&c| plain(c))
        {
            let folded: String = c.to_string().nfkc().collect::<String>().to_lowercase();
            assert_eq!(folded, c.to_string(), "U+{:04X}", c as u32);
            assert_ne!(c.general_category_group(), GeneralCategoryGroup::Mark);
        }
    }

    #[test]
    fn widths_and_case_fold() {
        assert_eq!(norm("ＡＷＳ"), "aws");
        assert_eq!(norm("ｶﾒﾗ"), "カメラ");
        assert_eq!(norm("ｶﾞｲﾄﾞ"), "ガイド");
        assert_eq!(norm("GitHub　Actions"), "github actions");
        assert_eq!(norm("㍻"), "平成");
    }

    #[test]
    fn units_point_back_into_the_original() {
        let text = "aｶﾞ㍻b";
        let n = normalize(text);
        assert_eq!(n.chars.iter().collect::<String>(), "aガ平成b");
        assert_eq!(n.units, vec![(0, 0), (1, 1), (7, 2), (10, 4)]);
    }

    #[test]
    fn shared_vectors_hold() {
        let vectors: Vec<(String, String)> =
            serde_json::from_str(include_str!("../../tests/fixtures/search/normalize.json"))
                .unwrap();
        for (input, expected) in vectors {
            assert_eq!(norm(&input), expected, "{input:?}");
        }
    }

    #[test]
    fn queries_split_at_any_space() {
        let words: Vec<String> = query_words(" ＡＷＳ　ec2  ｶﾒﾗ ")
            .into_iter()
            .map(|w| w.into_iter().collect())
            .collect();
        assert_eq!(words, ["aws", "ec2", "カメラ"]);
    }
}
