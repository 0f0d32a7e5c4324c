#![doc = include_str!("../README.md")]

pub mod bench;
mod parser;
mod profile;
mod rule;
mod snapshot;

pub use parser::{MAX_NESTING, ParseError, ParseOptions};
pub use profile::{KNOWN_CHANNELS, KNOWN_LANGUAGES, Profile, age_band, age_on, tokyo_date};
pub use roaring::RoaringBitmap;
pub use rule::{Comparison, Condition, NumberTest, Rule, TextTest};
pub use snapshot::{MemoryUsage, SegmentSummary, Snapshot, SnapshotBuilder};
