//! The LINE webhook body after a valid signature: parsing, and the store/recover round trip of each event
//! (events wait in the database as JSON between the acknowledgement and the answer).
#![no_main]

use channels::line::webhook::{Event, parse_webhook, sign};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzz-channel-secret";

fuzz_target!(|body: &[u8]| {
    let signature = sign(SECRET, body);
    let Ok(request) = parse_webhook(SECRET, body, &signature) else {
        return;
    };
    for event in request.events {
        let _ = event.user_id();
        let _ = event.reply_token();
        let stored = serde_json::to_string(&event).expect("a parsed event serializes");
        let recovered: Event = serde_json::from_str(&stored).expect("a stored event parses again");
        assert_eq!(recovered, event, "stored as {stored}");
    }
});
