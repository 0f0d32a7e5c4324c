//! The resident CSV import, in both encodings it accepts.
#![no_main]

use hub::import::{Encoding, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let districts: Vec<String> = hub::config::DEFAULT_DISTRICTS
        .iter()
        .map(|d| d.to_string())
        .collect();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date");
    // The first byte picks the encoding, the rest is the file.
    let Some((first, file)) = data.split_first() else {
        return;
    };
    let encoding = if first % 2 == 0 {
        Encoding::Utf8
    } else {
        Encoding::ShiftJis
    };
    let _ = parse(file, encoding, &districts, today, |_| {});
});
