//! Static Japanese word vectors (chiVe-based, 20,000 × 300, as shipped in the `ja-ginza` wheel on PyPI), embedded
//! and quantised to int8 by `dict/build_vectors.py`. They relate words that a resident and the FAQ choose
//! differently (犬 is near 猫 and ペット, far from 保育), which word matching alone cannot.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

static VECTORS_ZST: &[u8] = include_bytes!("../dict/vectors.bin.zst");
const MAGIC: &[u8; 8] = b"FAQVEC1\0";

static VECTORS: OnceLock<Option<WordVectors>> = OnceLock::new();

/// Word → unit vector.
pub struct WordVectors {
    dims: usize,
    rows: Vec<f32>,
    words: HashMap<String, u32>,
}

/// The embedded vectors, loaded once per process; `None` when the embedded file is unreadable (ranking then simply
/// goes without this signal).
pub fn word_vectors() -> Option<&'static WordVectors> {
    VECTORS.get_or_init(|| load().ok()).as_ref()
}

fn load() -> Result<WordVectors, Box<dyn std::error::Error + Send + Sync>> {
    let mut bytes = Vec::new();
    ruzstd::decoding::StreamingDecoder::new(VECTORS_ZST)?.read_to_end(&mut bytes)?;
    let mut cursor = bytes.as_slice();
    let mut take = |n: usize| -> Result<&[u8], &'static str> {
        if cursor.len() < n {
            return Err("truncated vector file");
        }
        let (head, rest) = cursor.split_at(n);
        cursor = rest;
        Ok(head)
    };
    let u32_at = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    if take(8)? != MAGIC {
        return Err("not a FAQ vector file".into());
    }
    let rows = u32_at(take(4)?) as usize;
    let dims = u32_at(take(4)?) as usize;
    let word_count = u32_at(take(4)?) as usize;
    let scales: Vec<f32> = take(rows * 4)?
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let quantised = take(rows * dims)?;
    let mut values = Vec::with_capacity(rows * dims);
    for (row, scale) in scales.iter().enumerate() {
        let start = values.len();
        values.extend(
            quantised[row * dims..(row + 1) * dims]
                .iter()
                .map(|&q| f32::from(q as i8) * scale),
        );
        normalise(&mut values[start..]);
    }
    let mut words = HashMap::with_capacity(word_count);
    for _ in 0..word_count {
        let row = u32_at(take(4)?);
        let len_bytes = take(2)?;
        let len = u16::from_le_bytes([len_bytes[0], len_bytes[1]]) as usize;
        let word = std::str::from_utf8(take(len)?)?.to_owned();
        if (row as usize) < rows {
            words.insert(word, row);
        }
    }
    Ok(WordVectors {
        dims,
        rows: values,
        words,
    })
}

impl WordVectors {
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The unit vector of a word (also tried in hiragana, since the index folds kana words to katakana).
    pub fn get(&self, word: &str) -> Option<&[f32]> {
        let row = self
            .words
            .get(word)
            .or_else(|| self.words.get(&to_hiragana(word)))?;
        let start = *row as usize * self.dims;
        self.rows.get(start..start + self.dims)
    }

    /// Weighted mean of the words' vectors, made unit length; `None` when no word has a vector.
    pub fn mean<'a>(&self, words: impl IntoIterator<Item = (&'a str, f32)>) -> Option<Vec<f32>> {
        let mut sum = vec![0.0f32; self.dims];
        let mut any = false;
        for (word, weight) in words {
            if let Some(v) = self.get(word) {
                any = true;
                sum.iter_mut().zip(v).for_each(|(s, x)| *s += weight * x);
            }
        }
        any.then(|| {
            normalise(&mut sum);
            sum
        })
    }
}

fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn to_hiragana(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_words_are_closer_than_unrelated_ones() {
        let vectors = word_vectors().expect("embedded vectors load");
        let related = cosine(
            vectors.get("犬").expect("犬"),
            vectors.get("猫").expect("猫"),
        );
        let unrelated = cosine(
            vectors.get("犬").expect("犬"),
            vectors.get("保育").expect("保育"),
        );
        assert!(related > unrelated, "{related} vs {unrelated}");
        assert!(vectors.get("ゴミ").is_some());
    }
}
