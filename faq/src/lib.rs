//! The Yukuhashi FAQ: entries loaded from TOML, analysed in Japanese offline (IPADIC, embedded), indexed with tantivy
//! in RAM, ranked by fused field scores and a translation language model, and answered with a confidence policy.
//!
//! ```no_run
//! let faq = faq::load_dir(std::path::Path::new("faq/data"))?;
//! let index = faq::Index::build(&faq)?;
//! match index.answer("じゅうみんひょうをとりたい") {
//!     faq::Answer::Confident(best) => println!("{}", best.entry.answer),
//!     faq::Answer::Candidates(choices) => println!("{} choices", choices.len()),
//!     faq::Answer::NoMatch => println!("担当課にお問い合わせください"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod analysis;
pub mod encoder;
pub mod eval;
mod index;
mod model;
mod normalize;
mod translation;
pub mod vectors;

pub use analysis::DictionaryError;
pub use index::{
    Answer, Hit, Index, IndexError, Params, SIGNALS, SemanticBuild, Signal, Suggestion,
};
pub use model::{Faq, FaqEntry, LoadError, SYNONYMS_FILE, load_dir, parse_entries};
pub use normalize::{QueryLanguage, fold_kana, looks_english, normalize, query_language};
