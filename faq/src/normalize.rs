//! Text normalisation shared by indexing and querying.
//!
//! Two layers: [`normalize`] runs on raw text before morphological analysis (it must keep the text analysable, so it
//! leaves small kana alone: キャ must stay キャ for the dictionary), and [`fold_kana`] runs on readings and
//! character n-grams after analysis, where spelling variants should meet.

use unicode_normalization::UnicodeNormalization;

/// NFKC (half-width kana and full-width ASCII become standard forms), lower case, the many dash and tilde look-alikes
/// after kana become the long-vowel mark ー, and runs of white space become one space.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous: Option<char> = None;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        let c = if is_long_vowel_variant(c) && previous.is_some_and(is_kana) {
            'ー'
        } else {
            c
        };
        if c.is_whitespace() {
            if previous.is_some_and(|p| p != ' ') {
                out.push(' ');
            }
            previous = Some(' ');
            continue;
        }
        out.push(c);
        previous = Some(c);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Katakana, with small kana made large and long-vowel marks dropped, so that 「じゅうみんひょう」, 「ジュウミンヒョウ」
/// and 「じゅーみんひょー」 meet.
pub fn fold_kana(text: &str) -> String {
    text.chars()
        .filter(|&c| c != 'ー')
        .map(|c| large_kana(hiragana_to_katakana(c)))
        .collect()
}

/// Hiragana to katakana; everything else unchanged.
pub fn to_katakana(text: &str) -> String {
    text.chars().map(hiragana_to_katakana).collect()
}

fn hiragana_to_katakana(c: char) -> char {
    match c {
        'ぁ'..='ゖ' | 'ゝ' | 'ゞ' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        _ => c,
    }
}

fn large_kana(c: char) -> char {
    match c {
        'ァ' => 'ア',
        'ィ' => 'イ',
        'ゥ' => 'ウ',
        'ェ' => 'エ',
        'ォ' => 'オ',
        'ッ' => 'ツ',
        'ャ' => 'ヤ',
        'ュ' => 'ユ',
        'ョ' => 'ヨ',
        'ヮ' => 'ワ',
        'ヵ' => 'カ',
        'ヶ' => 'ケ',
        _ => c,
    }
}

pub(crate) fn is_kana(c: char) -> bool {
    matches!(c, 'ぁ'..='ゖ' | 'ァ'..='ヺ' | 'ー')
}

/// Characters residents type for ー: hyphens, dashes, minus signs, wave dashes, the half-width prolonged mark.
fn is_long_vowel_variant(c: char) -> bool {
    matches!(
        c,
        '-' | '‐'
            | '‑'
            | '‒'
            | '–'
            | '—'
            | '―'
            | '−'
            | '〜'
            | '~'
            | '～'
            | 'ｰ'
            | '─'
            | '━'
    )
}

/// True when a query is mostly Latin letters (an English question rather than Japanese with a few letters).
pub fn looks_english(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_ascii_alphabetic()).count();
    let japanese = text.chars().filter(|&c| is_kana(c) || is_kanji(c)).count();
    letters >= 3 && letters > japanese * 4
}

pub(crate) fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '々')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_width_katakana_becomes_full_width() {
        assert_eq!(normalize("ｼﾞｭｳﾐﾝﾋｮｳ"), "ジュウミンヒョウ");
        assert_eq!(normalize("ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ"), "マイナンバーカード");
    }

    #[test]
    fn full_width_ascii_becomes_lower_case_ascii() {
        assert_eq!(normalize("ＬＩＮＥで　ＱＲコード"), "lineで qrコード");
        assert_eq!(normalize("０９３０－２５－１１１１"), "0930-25-1111");
    }

    #[test]
    fn long_vowel_variants_after_kana_become_one_mark() {
        assert_eq!(normalize("マイナンバ―カ－ド"), "マイナンバーカード");
        assert_eq!(normalize("コンピュ〜タ"), "コンピュータ");
        // A hyphen between digits is not a long vowel.
        assert_eq!(normalize("25-1111"), "25-1111");
    }

    #[test]
    fn white_space_is_collapsed() {
        assert_eq!(normalize("  ごみ \t 出し\n"), "ごみ 出し");
    }

    #[test]
    fn kana_folding_joins_spelling_variants() {
        assert_eq!(fold_kana("じゅうみんひょう"), fold_kana("ジュウミンヒョウ"));
        assert_eq!(fold_kana("コンピューター"), fold_kana("コンピュータ"));
        assert_eq!(fold_kana("ごみ"), "ゴミ");
        assert_eq!(fold_kana("ヴァイオリン"), "ヴアイオリン");
    }

    #[test]
    fn english_detection() {
        assert!(looks_english("How do I get a residence certificate?"));
        assert!(!looks_english("住民票をLINEで取りたい"));
        assert!(!looks_english("ok"));
    }
}
