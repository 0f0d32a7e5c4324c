//! Japanese morphological analysis with IPADIC (embedded, compiled for vibrato by `dict/build.sh`), and the tantivy
//! tokenizers built on it.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Instant;

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use vibrato::tokenizer::worker::Worker;

use crate::normalize::{fold_kana, is_kana, is_kanji, normalize, to_katakana};

/// IPADIC compiled for vibrato and compressed with zstd (see `dict/README.md`).
static DICTIONARY_ZST: &[u8] = include_bytes!("../dict/ipadic.vibrato.zst");

static TOKENIZER: OnceLock<Result<vibrato::Tokenizer, DictionaryError>> = OnceLock::new();

/// The embedded dictionary could not be read (a corrupt or stand-in file: run `faq/dict/build.sh`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the embedded IPADIC dictionary cannot be loaded: {0}")]
pub struct DictionaryError(String);

/// Loads the dictionary once per process (about half a second); later calls are free.
pub fn dictionary() -> Result<&'static vibrato::Tokenizer, DictionaryError> {
    TOKENIZER
        .get_or_init(load_dictionary)
        .as_ref()
        .map_err(Clone::clone)
}

fn load_dictionary() -> Result<vibrato::Tokenizer, DictionaryError> {
    let started = Instant::now();
    let decoder = ruzstd::decoding::StreamingDecoder::new(DICTIONARY_ZST)
        .map_err(|e| DictionaryError(format!("zstd: {e}")))?;
    let dictionary = vibrato::Dictionary::read(std::io::BufReader::with_capacity(1 << 20, decoder))
        .map_err(|e| DictionaryError(e.to_string()))?;
    let tokenizer = vibrato::Tokenizer::new(dictionary)
        .ignore_space(true)
        .map_err(|e| DictionaryError(e.to_string()))?;
    LOAD_MICROS.get_or_init(|| started.elapsed().as_micros() as u64);
    Ok(tokenizer)
}

static LOAD_MICROS: OnceLock<u64> = OnceLock::new();

/// How long the dictionary took to load, once it has been loaded.
pub fn dictionary_load_micros() -> Option<u64> {
    LOAD_MICROS.get().copied()
}

thread_local! {
    // A worker owns the lattice buffers; reusing one per thread keeps query analysis allocation-light.
    static WORKER: RefCell<Option<Worker<'static>>> = const { RefCell::new(None) };
}

/// The part-of-speech classes the search cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartOfSpeech {
    Noun,
    Verb,
    Adjective,
    /// Particles, auxiliaries, symbols, prefixes, adverbs, conjunctions, fillers: never indexed.
    Function,
}

/// One morpheme of normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Morpheme {
    pub surface: String,
    /// Dictionary (base) form, e.g. 取り for 取り; 取る for 取りたい's 取り.
    pub base: String,
    /// Katakana reading folded with [`fold_kana`] (the surface, folded, for unknown words).
    pub reading: String,
    pub pos: PartOfSpeech,
    /// Content words are what the index and the query keep: nouns, independent verbs and adjectives, not stop words.
    pub content: bool,
    pub char_start: usize,
    pub char_end: usize,
}

/// Verbs and adjectives that carry no topic ("I want to know", "please tell me").
const STOP_WORDS: &[&str] = &[
    "する",
    "ある",
    "いる",
    "なる",
    "できる",
    "おる",
    "くる",
    "いく",
    "行く",
    "来る",
    "やる",
    "もらう",
    "くれる",
    "いただく",
    "くださる",
    "下さる",
    "思う",
    "知る",
    "教える",
    "わかる",
    "分かる",
    "いう",
    "言う",
    "れる",
    "られる",
    "せる",
    "させる",
    "ない",
    "よい",
    "いい",
    "良い",
    "ほしい",
    "欲しい",
    "こと",
    "もの",
    "よう",
    "ため",
    "とき",
    "場合",
    "方",
    "ところ",
    "どこ",
    "いつ",
    "何",
    "なに",
    "これ",
    "それ",
    "あれ",
    "どれ",
];

/// Analyses already-normalised text (see [`normalize`]).
pub fn analyze_normalized(text: &str) -> Result<Vec<Morpheme>, DictionaryError> {
    let tokenizer = dictionary()?;
    Ok(WORKER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let worker = slot.get_or_insert_with(|| tokenizer.new_worker());
        worker.reset_sentence(text);
        worker.tokenize();
        (0..worker.num_tokens())
            .map(|i| morpheme(&worker.token(i)))
            .collect()
    }))
}

/// Normalises then analyses.
pub fn analyze(text: &str) -> Result<Vec<Morpheme>, DictionaryError> {
    analyze_normalized(&normalize(text))
}

fn morpheme(token: &vibrato::token::Token<'_, '_>) -> Morpheme {
    let surface = token.surface();
    let mut fields = token.feature().split(',');
    let pos1 = fields.next().unwrap_or("*");
    let pos2 = fields.next().unwrap_or("*");
    let base_field = fields.nth(4).unwrap_or("*");
    let reading_field = fields.next().unwrap_or("*");

    let base = if base_field == "*" || base_field.is_empty() {
        surface
    } else {
        base_field
    };
    // Words written in kana alone meet whatever kana the writer chose (ごみ, ゴミ, ごーみ).
    let base = if base.chars().all(is_kana) {
        fold_kana(base)
    } else {
        base.to_owned()
    };
    let reading = if reading_field == "*" || reading_field.is_empty() {
        fold_kana(&to_katakana(surface))
    } else {
        fold_kana(reading_field)
    };
    let pos = match pos1 {
        "名詞" if !matches!(pos2, "非自立" | "代名詞" | "数" | "特殊" | "接尾") => {
            PartOfSpeech::Noun
        }
        "名詞" if pos2 == "接尾" => suffix_class(surface),
        "動詞" if pos2 == "自立" => PartOfSpeech::Verb,
        "形容詞" if pos2 == "自立" => PartOfSpeech::Adjective,
        _ => PartOfSpeech::Function,
    };
    let range = token.range_char();
    let content = pos != PartOfSpeech::Function
        && !STOP_WORDS.contains(&base_field)
        && !STOP_WORDS.contains(&surface)
        && is_meaningful(surface);
    Morpheme {
        surface: surface.to_owned(),
        base,
        reading,
        pos,
        content,
        char_start: range.start,
        char_end: range.end,
    }
}

/// Suffixes such as 書 (証明書), 料 (手数料), 課 are topical when written in kanji; kana suffixes (さん, たち) are not.
fn suffix_class(surface: &str) -> PartOfSpeech {
    if surface.chars().all(is_kanji) {
        PartOfSpeech::Noun
    } else {
        PartOfSpeech::Function
    }
}

/// Single kana or punctuation left over by unknown-word handling carry no topic.
fn is_meaningful(surface: &str) -> bool {
    let mut chars = surface.chars();
    match (chars.next(), chars.next()) {
        (None, _) => false,
        (Some(c), None) => {
            is_kanji(c) || c.is_alphanumeric() && !c.is_ascii_digit() && !is_hiragana(c)
        }
        _ => surface.chars().any(char::is_alphanumeric),
    }
}

fn is_hiragana(c: char) -> bool {
    matches!(c, 'ぁ'..='ゖ')
}

/// Content words' base forms, the main index terms.
pub fn content_terms(morphemes: &[Morpheme]) -> impl Iterator<Item = &Morpheme> {
    morphemes.iter().filter(|m| m.content)
}

/// Character bigrams of folded text, skipping spaces and punctuation, for typos and words the dictionary lacks.
pub fn char_bigrams(normalized: &str) -> Vec<String> {
    let folded: Vec<char> = fold_kana(normalized)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    if folded.len() == 1 {
        return vec![folded[0].to_string()];
    }
    folded.windows(2).map(|w| w.iter().collect()).collect()
}

/// Bigrams of the folded reading of all morphemes but punctuation.
pub fn reading_bigrams(morphemes: &[Morpheme]) -> Vec<String> {
    let reading: String = morphemes
        .iter()
        .filter(|m| m.surface.chars().any(char::is_alphanumeric))
        .map(|m| m.reading.as_str())
        .collect();
    char_bigrams(&reading)
}

/// What a tantivy field made by [`JapaneseTokenizer`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKind {
    /// Base forms of content words.
    Base,
    /// Folded katakana readings of content words.
    Reading,
    /// Character bigrams.
    Bigram,
    /// Bigrams of the folded reading of the whole text, so kana typed for kanji matches however the analyser
    /// segments it (「じゅうみんひょう」 → ジユ ユウ ウミ … as 住民票).
    ReadingBigram,
}

impl TermKind {
    /// The tokenizer name registered with tantivy.
    pub fn tokenizer_name(self) -> &'static str {
        match self {
            TermKind::Base => "ja_base",
            TermKind::Reading => "ja_reading",
            TermKind::Bigram => "ja_bigram",
            TermKind::ReadingBigram => "ja_reading_bigram",
        }
    }
}

/// Terms of one kind for a text (raw, not yet normalised). Dictionary errors give no terms; the index builder checks
/// the dictionary before it tokenizes anything.
pub fn terms(text: &str, kind: TermKind) -> Vec<String> {
    let normalized = normalize(text);
    match kind {
        TermKind::Bigram => char_bigrams(&normalized),
        TermKind::ReadingBigram => analyze_normalized(&normalized)
            .map(|m| reading_bigrams(&m))
            .unwrap_or_default(),
        TermKind::Base | TermKind::Reading => analyze_normalized(&normalized)
            .map(|morphemes| {
                content_terms(&morphemes)
                    .map(|m| {
                        if kind == TermKind::Base {
                            m.base.clone()
                        } else {
                            m.reading.clone()
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A tantivy tokenizer over the Japanese analysis (the adapter lindera-tantivy would give, for tantivy 0.27).
#[derive(Debug, Clone, Copy)]
pub struct JapaneseTokenizer(pub TermKind);

impl Tokenizer for JapaneseTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = terms(text, self.0)
            .into_iter()
            .enumerate()
            .map(|(position, text)| Token {
                // Offsets are unused (no highlighting); positions keep phrase order.
                offset_from: 0,
                offset_to: 0,
                position,
                text,
                position_length: 1,
            })
            .collect();
        VecTokenStream {
            tokens,
            cursor: None,
            empty: Token::default(),
        }
    }
}

/// Tokens computed up front.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    cursor: Option<usize>,
    /// Returned if tantivy asks for a token of an empty stream (it should not).
    empty: Token,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        let next = self.cursor.map_or(0, |c| c + 1);
        self.cursor = Some(next);
        next < self.tokens.len()
    }

    fn token(&self) -> &Token {
        self.cursor
            .and_then(|c| self.tokens.get(c))
            .unwrap_or(&self.empty)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.cursor {
            Some(c) if c < self.tokens.len() => &mut self.tokens[c],
            _ => &mut self.empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases(text: &str) -> Vec<String> {
        terms(text, TermKind::Base)
    }

    #[test]
    fn drops_particles_and_auxiliaries_and_keeps_base_forms() {
        assert_eq!(bases("住民票を取りたいです"), ["住民", "票", "取る"]);
    }

    #[test]
    fn hiragana_reading_meets_kanji_reading() {
        assert_eq!(
            terms("じゅうみんひょう", TermKind::ReadingBigram),
            terms("住民票", TermKind::ReadingBigram)
        );
    }

    #[test]
    fn gomi_in_hiragana_and_katakana_share_a_reading() {
        assert_eq!(
            terms("ごみ", TermKind::Reading),
            terms("ゴミ", TermKind::Reading)
        );
    }

    #[test]
    fn bigrams_fold_kana_and_skip_punctuation() {
        assert_eq!(char_bigrams("ごみ、出す"), ["ゴミ", "ミ出", "出ス"]);
    }

    #[test]
    fn token_stream_yields_every_term() {
        let mut tokenizer = JapaneseTokenizer(TermKind::Base);
        let mut stream = tokenizer.token_stream("粗大ごみの出し方");
        let mut seen = Vec::new();
        while stream.advance() {
            seen.push(stream.token().text.clone());
        }
        assert_eq!(seen, bases("粗大ごみの出し方"));
        assert!(!seen.is_empty());
    }
}
