//! Writes the precomputed sentence vectors of an FAQ folder (`sentence-vectors.bin` beside its TOML files), so that
//! a fresh hub does not encode the bundled FAQ. Run it after editing the FAQ's texts; a stale file is harmless
//! (vectors are keyed by the SHA-256 of their text, so changed texts are simply encoded at start).
//!
//! cargo run --release -p faq --example sentence_vectors -- faq/data

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "faq/data".into()));
    let faq = faq::load_dir(&dir)?;
    let index = faq::Index::build_lexical_with(&faq, faq::Params::default())?;
    let started = std::time::Instant::now();
    let build = index.attach_sentence_vectors(&faq::encoder::KnownVectors::new())?;
    let known: faq::encoder::KnownVectors = build.encoded.into_iter().collect();
    let path = dir.join(faq::encoder::VECTOR_FILE);
    faq::encoder::store::write_vector_file(&path, &known)?;
    println!(
        "{}: {} texts of {} entries in {:.1} s",
        path.display(),
        known.len(),
        index.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
