//! SentencePiece unigram tokenisation, read straight from a `.model` file (protobuf): the model's own normaliser
//! (the precompiled `nmt_nfkc` character map, a darts-clone double-array trie walked exactly like SentencePiece's
//! `Normalizer::NormalizePrefix`), whitespace escaping to U+2581, and Viterbi segmentation over the piece scores.

use std::collections::HashMap;

/// The model file could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    #[error("sentencepiece model: truncated protobuf at byte {0}")]
    Truncated(usize),
    #[error("sentencepiece model: unsupported wire type {wire} at byte {at}")]
    WireType { wire: u8, at: usize },
    #[error("sentencepiece model: piece {index} is not UTF-8")]
    PieceText { index: usize },
    #[error("sentencepiece model: the normaliser's character map is malformed ({0})")]
    Charsmap(&'static str),
    #[error("sentencepiece model: no pieces")]
    Empty,
}

/// One protobuf field value.
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Reads the fields of one protobuf message, in order.
fn fields(data: &[u8]) -> impl Iterator<Item = Result<(u64, Value<'_>), ModelError>> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos >= data.len() {
            return None;
        }
        Some((|| {
            let tag = varint(data, &mut pos)?;
            let at = pos;
            let value = match tag & 7 {
                0 => Value::Varint(varint(data, &mut pos)?),
                1 => {
                    take(data, &mut pos, 8)?;
                    Value::Fixed64
                }
                2 => {
                    let len = usize::try_from(varint(data, &mut pos)?)
                        .map_err(|_| ModelError::Truncated(at))?;
                    Value::Bytes(take(data, &mut pos, len)?)
                }
                5 => {
                    let b = take(data, &mut pos, 4)?;
                    Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                }
                wire => {
                    pos = data.len();
                    return Err(ModelError::WireType {
                        wire: wire as u8,
                        at,
                    });
                }
            };
            Ok((tag >> 3, value))
        })())
    })
}

fn varint(data: &[u8], pos: &mut usize) -> Result<u64, ModelError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*pos).ok_or(ModelError::Truncated(*pos))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(ModelError::Truncated(*pos))
}

fn take<'a>(data: &'a [u8], pos: &mut usize, len: usize) -> Result<&'a [u8], ModelError> {
    let end = pos
        .checked_add(len)
        .filter(|&end| end <= data.len())
        .ok_or(ModelError::Truncated(*pos))?;
    let slice = &data[*pos..end];
    *pos = end;
    Ok(slice)
}

// SentencePiece piece types (sentencepiece_model.proto).
const NORMAL: u64 = 1;
const USER_DEFINED: u64 = 4;

/// A unigram SentencePiece model.
pub struct SentencePiece {
    /// Pieces that segmentation may produce (normal and user-defined), by text.
    pieces: HashMap<Box<str>, u32>,
    scores: Vec<f32>,
    /// Longest piece, in characters.
    max_chars: usize,
    unk_id: u32,
    bos_id: u32,
    eos_id: u32,
    /// Score of an unknown character: the lowest piece score less SentencePiece's penalty of 10.
    unk_score: f32,
    normalizer: Normalizer,
    vocabulary_size: usize,
}

impl std::fmt::Debug for SentencePiece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentencePiece")
            .field("pieces", &self.vocabulary_size)
            .finish()
    }
}

impl SentencePiece {
    /// Parses a serialised `ModelProto`.
    pub fn parse(model: &[u8]) -> Result<SentencePiece, ModelError> {
        let mut pieces = HashMap::new();
        let mut scores = Vec::new();
        let mut max_chars = 0;
        let (mut unk_id, mut bos_id, mut eos_id) = (0u32, 1u32, 2u32);
        let mut normalizer = Normalizer::default();
        for field in fields(model) {
            match field? {
                (1, Value::Bytes(piece)) => {
                    let index = scores.len();
                    let (mut text, mut score, mut kind) = ("", 0.0f32, NORMAL);
                    for field in fields(piece) {
                        match field? {
                            (1, Value::Bytes(b)) => {
                                text = std::str::from_utf8(b)
                                    .map_err(|_| ModelError::PieceText { index })?;
                            }
                            (2, Value::Fixed32(bits)) => score = f32::from_bits(bits),
                            (3, Value::Varint(v)) => kind = v,
                            _ => {}
                        }
                    }
                    if kind == NORMAL || kind == USER_DEFINED {
                        max_chars = max_chars.max(text.chars().count());
                        pieces.insert(text.into(), index as u32);
                    }
                    scores.push(score);
                }
                (2, Value::Bytes(trainer)) => {
                    for field in fields(trainer) {
                        match field? {
                            (40, Value::Varint(v)) => unk_id = v as u32,
                            (41, Value::Varint(v)) => bos_id = v as u32,
                            (42, Value::Varint(v)) => eos_id = v as u32,
                            _ => {}
                        }
                    }
                }
                (3, Value::Bytes(spec)) => normalizer = Normalizer::parse(spec)?,
                _ => {}
            }
        }
        if scores.is_empty() {
            return Err(ModelError::Empty);
        }
        let min_score = scores.iter().copied().fold(f32::INFINITY, f32::min);
        Ok(SentencePiece {
            pieces,
            vocabulary_size: scores.len(),
            scores,
            max_chars,
            unk_id,
            bos_id,
            eos_id,
            unk_score: min_score - 10.0,
            normalizer,
        })
    }

    /// Number of piece ids.
    pub fn vocabulary_size(&self) -> usize {
        self.vocabulary_size
    }

    /// The model's normalisation of a text (NFKC as the model's character map has it, spaces as U+2581).
    pub fn normalize(&self, text: &str) -> String {
        self.normalizer.normalize(text)
    }

    /// Piece ids of a text between `<s>` and `</s>`; an empty text is `<s> <unk> </s>`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let normalized = self.normalize(text);
        let mut ids = vec![self.bos_id];
        if normalized.is_empty() {
            ids.push(self.unk_id);
        } else {
            ids.extend(self.viterbi(&normalized));
        }
        ids.push(self.eos_id);
        ids
    }

    /// Best segmentation. All nodes that start at a position share that position's best predecessor, so a
    /// left-to-right pass over positions is the lattice's Viterbi; ties keep the earlier node, as SentencePiece does.
    fn viterbi(&self, text: &str) -> Vec<u32> {
        let starts: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let len = starts.len() - 1;
        let mut best = vec![f32::NEG_INFINITY; len + 1];
        best[0] = 0.0;
        let mut start_of = vec![0usize; len + 1];
        let mut piece_of = vec![self.unk_id; len + 1];
        for i in 0..len {
            let base = best[i];
            let mut has_single = false;
            for j in i + 1..=(i + self.max_chars).min(len) {
                if let Some(&id) = self.pieces.get(&text[starts[i]..starts[j]]) {
                    let score = base + self.scores[id as usize];
                    if score > best[j] {
                        best[j] = score;
                        start_of[j] = i;
                        piece_of[j] = id;
                    }
                    has_single |= j == i + 1;
                }
            }
            if !has_single {
                let score = base + self.unk_score;
                if score > best[i + 1] {
                    best[i + 1] = score;
                    start_of[i + 1] = i;
                    piece_of[i + 1] = self.unk_id;
                }
            }
        }
        let mut ids = Vec::new();
        let mut p = len;
        while p > 0 {
            ids.push(piece_of[p]);
            p = start_of[p];
        }
        ids.reverse();
        ids
    }
}

/// SentencePiece's normaliser over a precompiled character map.
#[derive(Debug)]
struct Normalizer {
    /// Darts-clone double-array units.
    units: Vec<u32>,
    /// NUL-terminated replacement strings the trie's values point into.
    replacements: Vec<u8>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer {
            units: Vec::new(),
            replacements: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

const SPACE_SYMBOL: &str = "\u{2581}";

impl Normalizer {
    fn parse(spec: &[u8]) -> Result<Normalizer, ModelError> {
        let mut normalizer = Normalizer::default();
        for field in fields(spec) {
            match field? {
                (2, Value::Bytes(map)) if !map.is_empty() => {
                    let size = map
                        .get(..4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                        .ok_or(ModelError::Charsmap("no trie size"))?;
                    let trie = map
                        .get(4..4 + size)
                        .filter(|t| t.len() % 4 == 0 && !t.is_empty())
                        .ok_or(ModelError::Charsmap("trie size beyond the map"))?;
                    normalizer.units = trie
                        .chunks_exact(4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect();
                    normalizer.replacements = map[4 + size..].to_vec();
                }
                (3, Value::Varint(v)) => normalizer.add_dummy_prefix = v != 0,
                (4, Value::Varint(v)) => normalizer.remove_extra_whitespaces = v != 0,
                (5, Value::Varint(v)) => normalizer.escape_whitespaces = v != 0,
                _ => {}
            }
        }
        Ok(normalizer)
    }

    /// The normalised form of the longest character-map key at the start of `data`, and the bytes it consumes; one
    /// character unchanged when no key matches.
    fn normalize_prefix<'a>(&'a self, data: &'a [u8]) -> (&'a [u8], usize) {
        let offset = |unit: u32| ((unit >> 10) << ((unit & 0x200) >> 6)) as usize;
        let mut best: Option<(usize, usize)> = None;
        if let Some(&root) = self.units.first() {
            let mut node = offset(root);
            for (i, &c) in data.iter().enumerate() {
                node ^= usize::from(c);
                let Some(&unit) = self.units.get(node) else {
                    break;
                };
                if unit & 0x8000_00ff != u32::from(c) {
                    break;
                }
                node ^= offset(unit);
                if unit & 0x100 != 0 {
                    let Some(&leaf) = self.units.get(node) else {
                        break;
                    };
                    best = Some((i + 1, (leaf & 0x7fff_ffff) as usize));
                }
            }
        }
        if let Some((len, value)) = best.filter(|&(_, v)| v < self.replacements.len()) {
            let tail = &self.replacements[value..];
            let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
            return (&tail[..end], len);
        }
        // No key: one UTF-8 character passes through (the input is a Rust string, so it is well formed).
        let len = match data[0] {
            b if b < 0x80 => 1,
            b if b >> 5 == 0x6 => 2,
            b if b >> 4 == 0xe => 3,
            _ => 4,
        }
        .min(data.len());
        (&data[..len], len)
    }

    fn normalize(&self, text: &str) -> String {
        let raw = text.as_bytes();
        let mut pos = 0;
        if self.remove_extra_whitespaces {
            while pos < raw.len() {
                let (piece, consumed) = self.normalize_prefix(&raw[pos..]);
                if piece != b" " {
                    break;
                }
                pos += consumed;
            }
        }
        if pos >= raw.len() {
            return String::new();
        }
        let space: &[u8] = if self.escape_whitespaces {
            SPACE_SYMBOL.as_bytes()
        } else {
            b" "
        };
        let mut out: Vec<u8> = Vec::with_capacity(raw.len() * 2);
        if self.add_dummy_prefix {
            out.extend_from_slice(space);
        }
        let mut previous_space = self.remove_extra_whitespaces;
        while pos < raw.len() {
            let (mut piece, consumed) = self.normalize_prefix(&raw[pos..]);
            pos += consumed;
            if self.remove_extra_whitespaces && previous_space {
                while let Some(rest) = piece.strip_prefix(b" ") {
                    piece = rest;
                }
            }
            if let Some(&last) = piece.last() {
                for &b in piece {
                    if b == b' ' {
                        out.extend_from_slice(space);
                    } else {
                        out.push(b);
                    }
                }
                previous_space = last == b' ';
            }
        }
        if self.remove_extra_whitespaces {
            while out.ends_with(space) {
                out.truncate(out.len() - space.len());
            }
        }
        // Replacements are whole UTF-8 strings and unmatched input passes through by whole characters.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}
