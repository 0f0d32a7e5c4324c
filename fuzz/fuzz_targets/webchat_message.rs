//! A web chat page's message, and the FAQ search it leads to.
#![no_main]

use std::sync::OnceLock;

use hub::chat::webchat::{PageRequest, parse_page_message};
use libfuzzer_sys::fuzz_target;

fn index() -> &'static faq::Index {
    static INDEX: OnceLock<faq::Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../faq/data");
        let faq = faq::load_dir(std::path::Path::new(dir)).expect("the bundled FAQ loads");
        faq::Index::build(&faq).expect("the bundled FAQ indexes")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(PageRequest::Ask(question)) = parse_page_message(text) {
        let _ = index().answer(&question);
    }
});
