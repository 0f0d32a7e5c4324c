//! Search and answer-policy behaviour on a small fixture FAQ.

use std::path::Path;
use std::sync::OnceLock;

use faq::{Answer, Index};

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture");
        let faq = faq::load_dir(&dir).expect("fixture loads");
        Index::build(&faq).expect("index builds")
    })
}

fn top(query: &str) -> Option<String> {
    index().search(query, 5).into_iter().next().map(|h| h.id)
}

#[test]
fn kana_typed_for_kanji_finds_juminhyo() {
    assert_eq!(
        top("じゅうみんひょうをとりたい").as_deref(),
        Some("juminhyo-copy")
    );
    assert_eq!(top("ｼﾞｭｳﾐﾝﾋｮｳ").as_deref(), Some("juminhyo-copy"));
}

#[test]
fn kanji_query_finds_juminhyo() {
    assert_eq!(
        top("住民票を取りたいのですが").as_deref(),
        Some("juminhyo-copy")
    );
    assert_eq!(top("戸籍謄本がほしい").as_deref(), Some("koseki-copy"));
}

#[test]
fn hiragana_gomi_matches_katakana_gomi() {
    let hits = index().search("ごみ", 10);
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert!(
        ids.contains(&"gomi-days") && ids.contains(&"sodai-gomi"),
        "{ids:?}"
    );
    assert_eq!(top("そだいごみ").as_deref(), Some("sodai-gomi"));
}

#[test]
fn full_width_and_long_vowel_variants_match() {
    assert_eq!(
        top("マイナンバ－カ－ドを作りたい").as_deref(),
        Some("mynumber-card")
    );
    assert_eq!(top("ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ").as_deref(), Some("mynumber-card"));
}

#[test]
fn synonyms_and_alternatives_count() {
    assert_eq!(top("転居の手続き").as_deref(), Some("tennyu"));
    assert_eq!(top("燃えるゴミは何曜日").as_deref(), Some("gomi-days"));
}

#[test]
fn english_questions_search_english_fields() {
    assert_eq!(
        top("Where is an evacuation shelter?").as_deref(),
        Some("hinanjo")
    );
    assert_eq!(
        top("residence certificate copy").as_deref(),
        Some("juminhyo-copy")
    );
}

#[test]
fn answer_policy() {
    match index().answer("住民票の写しを取りたい") {
        Answer::Confident(best) => assert_eq!(best.entry.id, "juminhyo-copy"),
        other => panic!("expected a confident answer, got {other:?}"),
    }
    assert_eq!(
        index().answer("今日のプロ野球の試合結果を教えて"),
        Answer::NoMatch
    );
    assert_eq!(index().answer(""), Answer::NoMatch);
    assert_eq!(index().answer("、。！？"), Answer::NoMatch);
    match index().answer("証明書") {
        Answer::Candidates(choices) => assert!((1..=3).contains(&choices.len())),
        Answer::Confident(best) => assert_eq!(best.entry.id, "juminhyo-copy"),
        Answer::NoMatch => panic!("証明書 should find something"),
    }
}

#[test]
fn entries_are_found_by_id() {
    assert_eq!(
        index().entry("tennyu").map(|e| e.department.as_str()),
        Some("総合窓口課")
    );
    assert!(index().entry("missing").is_none());
    assert_eq!(index().len(), 7);
}

#[test]
fn empty_faq_builds_and_answers_nothing() {
    let index = Index::build(&faq::Faq::default()).expect("empty index");
    assert!(index.search("住民票", 5).is_empty());
    assert_eq!(index.answer("住民票"), Answer::NoMatch);
}

#[test]
fn index_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Index>();
    let shared = std::sync::Arc::new(Index::build(&faq::Faq::default()).expect("empty index"));
    let handle = std::thread::spawn({
        let shared = shared.clone();
        move || shared.search("ごみ", 3).len()
    });
    assert_eq!(handle.join().expect("thread"), 0);
}

#[test]
fn odd_input_does_not_panic() {
    for query in [
        "",
        " ",
        "\u{0}",
        "🙂🙂🙂",
        "ｱ",
        "a",
        "0930-25-1111",
        &"長".repeat(5000),
    ] {
        let _ = index().search(query, 10);
        let _ = index().answer(query);
    }
}
