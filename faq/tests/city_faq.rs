//! The bundled city FAQ (faq/data) loads and answers the example questions.

use std::path::Path;
use std::sync::OnceLock;

use faq::{Answer, Index};

/// The bundled FAQ's index. The FAQ ships with the crate: an empty one is a failure, not a pass.
fn city_index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        let faq = faq::load_dir(&dir).expect("the bundled FAQ loads");
        assert!(
            !faq.entries.is_empty(),
            "the bundled FAQ in {} has no entries",
            dir.display()
        );
        Index::build(&faq).expect("index builds")
    })
}

fn top_question(index: &Index, query: &str) -> String {
    let hits = index.search(query, 1);
    hits.first()
        .and_then(|h| index.entry(&h.id))
        .map(|e| e.question.clone())
        .unwrap_or_default()
}

#[test]
fn kana_juminhyo_question_gets_a_juminhyo_answer() {
    let index = city_index();
    assert!(top_question(index, "じゅうみんひょうをとりたい").contains("住民票"));
    match index.answer("じゅうみんひょうをとりたい") {
        Answer::Confident(best) => assert!(best.entry.question.contains("住民票")),
        Answer::Candidates(choices) => assert!(choices[0].entry.question.contains("住民票")),
        Answer::NoMatch => panic!("no answer for じゅうみんひょうをとりたい"),
    }
}

#[test]
fn everyday_questions_find_their_topic() {
    let index = city_index();
    for (query, topic) in [
        ("粗大ごみを出したい", "粗大"),
        ("ごみの出し方", "ごみ"),
        ("マイナンバーカードを作りたい", "マイナンバー"),
    ] {
        let question = top_question(index, query);
        assert!(question.contains(topic), "{query} → {question}");
    }
}

#[test]
fn off_topic_question_gets_no_match() {
    let index = city_index();
    assert_eq!(
        index.answer("今日のプロ野球の試合結果を教えて"),
        Answer::NoMatch
    );
}

#[test]
fn a_question_asked_exactly_as_an_entry_states_it_is_answered_directly() {
    let index = city_index();
    let mut not_direct = Vec::new();
    for entry in index.entries() {
        for asked in std::iter::once(&entry.question).chain(&entry.question_en) {
            match index.answer(asked) {
                Answer::Confident(best) if best.entry.id == entry.id => {}
                other => not_direct.push(format!("{asked} → {other:?}")),
            }
        }
    }
    assert!(
        not_direct.is_empty(),
        "not answered directly: {not_direct:#?}"
    );
}
