//! The segment rule language: parsing never panics, and a parsed rule prints as text that parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use segments::Rule;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rule) = Rule::parse(text) {
        let printed = rule.to_string();
        let again = Rule::parse(&printed).unwrap_or_else(|error| panic!("{printed:?}: {error}"));
        assert_eq!(again, rule, "printed as {printed:?}");
    }
});
