//! Notice templates (Handlebars) and bodies: the check run when staff save a notice.
#![no_main]

use std::collections::BTreeMap;

use hub::render::{NoticeTemplates, check_all};
use hub::residents::ChannelKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Before the first NUL: the template of every part; after it: the notice's body.
    let (template, body) = text.split_once('\0').unwrap_or((text, "お知らせ本文"));
    // The validator on its own first: it must refuse or accept, never panic or overflow.
    let _ = hub::render::compile(template);
    let templates: NoticeTemplates = serde_json::from_value(serde_json::json!({
        "line": {"text": template},
        "email": {"subject": template, "text": template, "html": template},
        "push": {"title": template, "body": template},
        "webchat": {"text": template},
    }))
    .expect("templates from strings");
    let body = BTreeMap::from([("ja".to_owned(), body.to_owned())]);
    let _ = check_all(&templates, &ChannelKind::ALL, "題名", &body);
});
