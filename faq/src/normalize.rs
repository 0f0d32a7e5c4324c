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

/// The language a question is written in, as far as its script tells: Hangul is Korean, kana Japanese, mostly Latin
/// letters English, and Han characters without kana Chinese only when they include characters or function words
/// Japanese does not use (「住民票 取得」 stays Japanese).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryLanguage {
    Japanese,
    English,
    Chinese,
    Korean,
}

/// Simplified (and a few traditional) characters and function words common in Chinese questions and absent from
/// ordinary Japanese ones.
const CHINESE_MARKERS: &str = "么吗呢们这哪怎该办谁请给让还没过对为说话问题时开发补贴码丢领扔处门钱几样从里边个嗎們這麼辦請誰該";

pub fn query_language(text: &str) -> QueryLanguage {
    let hangul = text
        .chars()
        .filter(|c| matches!(c, '\u{AC00}'..='\u{D7AF}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}'))
        .count();
    if hangul >= 2 {
        return QueryLanguage::Korean;
    }
    if text.chars().any(is_kana) {
        return QueryLanguage::Japanese;
    }
    if looks_english(text) {
        return QueryLanguage::English;
    }
    if text.chars().any(|c| CHINESE_MARKERS.contains(c)) {
        return QueryLanguage::Chinese;
    }
    QueryLanguage::Japanese
}

pub(crate) fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '々')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_language_by_script() {
        assert_eq!(query_language("住民票を取りたい"), QueryLanguage::Japanese);
        assert_eq!(query_language("住民票 取得"), QueryLanguage::Japanese);
        assert_eq!(query_language("国民健康保険"), QueryLanguage::Japanese);
        assert_eq!(query_language("我想开住民票"), QueryLanguage::Chinese);
        assert_eq!(query_language("垃圾什么时候收？"), QueryLanguage::Chinese);
        assert_eq!(
            query_language("주민표를 발급받고 싶어요"),
            QueryLanguage::Korean
        );
        assert_eq!(
            query_language("How do I get a residence certificate?"),
            QueryLanguage::English
        );
    }

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
