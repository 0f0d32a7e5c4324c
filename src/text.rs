//! Text handling shared by the hub: labels (districts, interests) are compared after NFKC.

use unicode_normalization::UnicodeNormalization;

/// NFKC and trimmed: 「 今元 」 and full-width forms compare equal to the configured label.
pub fn normalize_label(text: &str) -> String {
    text.nfkc().collect::<String>().trim().to_owned()
}
