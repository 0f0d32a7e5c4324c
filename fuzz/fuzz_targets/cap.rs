//! CAP 1.2 documents posted to `POST /api/emergencies`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|document: &[u8]| {
    let districts: Vec<String> = hub::config::DEFAULT_DISTRICTS
        .iter()
        .map(|d| d.to_string())
        .collect();
    let _ = hub::emergency::cap::parse_cap(document, &districts);
});
