//! Sentence vectors kept outside the process, by content: the key of a text is the SHA-256 of the text, and every
//! collection of stored vectors says which model made them ([`MODEL_ID`]). A vector is reused only when both match,
//! so a stale file or table row is never wrong, only unused.
//!
//! The file form ([`VECTOR_FILE`] next to the FAQ's TOML files) ships precomputed vectors with the bundled FAQ, so
//! a fresh start does not encode the 400-odd texts of the city FAQ; the hub keeps the same keys in its database.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::DIMS;

/// The model that made a vector: change it when the weights, the tokenizer or the forward pass change, so vectors
/// stored by an older encoder are no longer used.
pub const MODEL_ID: &str = "use-multilingual-v3/1";

/// The file of precomputed vectors read from an FAQ folder when present.
pub const VECTOR_FILE: &str = "sentence-vectors.bin";

const MAGIC: &[u8; 8] = b"FAQVEC1\0";

/// The content key of a text.
pub type TextKey = [u8; 32];

/// Vectors by content key.
pub type KnownVectors = HashMap<TextKey, Arc<[f32]>>;

/// The content key of a text: its SHA-256.
pub fn text_key(text: &str) -> TextKey {
    Sha256::digest(text.as_bytes()).into()
}

/// A vector file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum VectorFileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a sentence vector file", path.display())]
    Magic { path: PathBuf },
    #[error("{}: made by model {found}, this encoder is {MODEL_ID}", path.display())]
    Model { path: PathBuf, found: String },
    #[error("{}: record {record} is cut short (file of {len} bytes)", path.display())]
    Truncated {
        path: PathBuf,
        record: usize,
        len: usize,
    },
}

/// Reads a vector file. A file made by another model is an error ([`VectorFileError::Model`]) the caller may treat
/// as "nothing known".
pub fn read_vector_file(path: &Path) -> Result<KnownVectors, VectorFileError> {
    let bytes = std::fs::read(path).map_err(|source| VectorFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_vector_file(path, &bytes)
}

fn parse_vector_file(path: &Path, bytes: &[u8]) -> Result<KnownVectors, VectorFileError> {
    let truncated = |record| VectorFileError::Truncated {
        path: path.to_path_buf(),
        record,
        len: bytes.len(),
    };
    if bytes.len() < MAGIC.len() + 2 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(VectorFileError::Magic {
            path: path.to_path_buf(),
        });
    }
    let mut at = MAGIC.len();
    let model_len = u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    at += 2;
    let model = bytes.get(at..at + model_len).ok_or_else(|| truncated(0))?;
    let model = String::from_utf8_lossy(model).into_owned();
    if model != MODEL_ID {
        return Err(VectorFileError::Model {
            path: path.to_path_buf(),
            found: model,
        });
    }
    at += model_len;
    let count_bytes = bytes.get(at..at + 4).ok_or_else(|| truncated(0))?;
    let count = u32::from_le_bytes(count_bytes.try_into().expect("four bytes")) as usize;
    at += 4;
    let record_len = 32 + DIMS * 4;
    let mut known = HashMap::with_capacity(count);
    for record in 0..count {
        let raw = bytes
            .get(at..at + record_len)
            .ok_or_else(|| truncated(record))?;
        let key: TextKey = raw[..32].try_into().expect("32 bytes");
        let vector: Arc<[f32]> = raw[32..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("four bytes")))
            .collect();
        known.insert(key, vector);
        at += record_len;
    }
    Ok(known)
}

/// Writes a vector file (records sorted by key, so the same vectors give the same bytes).
pub fn write_vector_file(path: &Path, vectors: &KnownVectors) -> Result<(), VectorFileError> {
    let mut records: Vec<(&TextKey, &Arc<[f32]>)> = vectors.iter().collect();
    records.sort_by_key(|(key, _)| **key);
    let mut bytes = Vec::with_capacity(64 + records.len() * (32 + DIMS * 4));
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(MODEL_ID.len() as u16).to_le_bytes());
    bytes.extend_from_slice(MODEL_ID.as_bytes());
    bytes.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for (key, vector) in records {
        bytes.extend_from_slice(key);
        for value in vector.iter() {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
    }
    std::fs::write(path, bytes).map_err(|source| VectorFileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A vector as bytes (little-endian f32), for a database column.
pub fn vector_to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A vector from [`vector_to_bytes`]; `None` when the length is not [`DIMS`] values.
pub fn vector_from_bytes(bytes: &[u8]) -> Option<Arc<[f32]>> {
    (bytes.len() == DIMS * 4).then(|| {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("four bytes")))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trips_and_refuses_other_models_and_short_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(VECTOR_FILE);
        let mut known = KnownVectors::new();
        known.insert(text_key("住民票"), (0..DIMS).map(|i| i as f32).collect());
        known.insert(text_key("ごみ"), vec![0.5; DIMS].into());
        write_vector_file(&path, &known).expect("write");
        assert_eq!(read_vector_file(&path).expect("read"), known);

        let bytes = std::fs::read(&path).expect("bytes");
        let short = parse_vector_file(&path, &bytes[..bytes.len() - 1]);
        assert!(
            matches!(short, Err(VectorFileError::Truncated { record: 1, .. })),
            "{short:?}"
        );
        let mut other = bytes.clone();
        other[MAGIC.len() + 2] = b'x';
        assert!(matches!(
            parse_vector_file(&path, &other),
            Err(VectorFileError::Model { .. })
        ));
        assert!(matches!(
            parse_vector_file(&path, b"nonsense"),
            Err(VectorFileError::Magic { .. })
        ));
        assert_eq!(
            vector_from_bytes(&vector_to_bytes(&known[&text_key("ごみ")])).as_deref(),
            Some(&[0.5; DIMS][..])
        );
        assert!(vector_from_bytes(&[0; 12]).is_none());
    }
}
