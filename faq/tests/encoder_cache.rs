//! Entry vectors are cached by text: rebuilding the index after one entry changed encodes only that entry's texts.
//! (Its own test binary: the cache is process-wide.)

use std::path::Path;

#[test]
fn rebuilding_after_one_edit_encodes_only_the_edited_entry() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture");
    let mut faq = faq::load_dir(&dir).expect("fixture FAQ loads");
    assert!(faq.entries.len() >= 3);
    faq::Index::build(&faq).expect("index builds");
    let first = faq::encoder::cached_texts();
    // Two texts per entry: the question, and the question with the start of the answer.
    assert_eq!(first, 2 * faq.entries.len());

    faq::Index::build(&faq).expect("index rebuilds");
    assert_eq!(
        faq::encoder::cached_texts(),
        first,
        "an unchanged FAQ encodes nothing"
    );

    faq.entries[0].answer.push_str("（受付時間が変わりました）");
    let index = faq::Index::build(&faq).expect("index rebuilds after an edit");
    assert_eq!(
        faq::encoder::cached_texts(),
        first + 1,
        "only the edited entry's question-and-answer text is new"
    );
    assert_eq!(index.len(), faq.entries.len());
}
