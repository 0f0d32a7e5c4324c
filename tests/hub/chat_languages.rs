//! The FAQ's sentence encoder in the hub: entry vectors persist by content, and questions in other languages find
//! Japanese entries on the web chat and LINE.

use std::time::Duration;

use serde_json::Value;

use crate::support::{
    ADMIN_TOKEN, BACKENDS, Backend, TestApp, eventually, fresh_database, spawn_app_with,
};

/// Waits (polling `GET /api/faq/status`) until the encoder takes part in the index in use; returns the status.
pub(crate) async fn encoder_ready(app: &TestApp) -> Value {
    eventually(
        "the encoder to take part in the index",
        Duration::from_secs(180),
        async || {
            let (code, status) = app.get("/api/faq/status", Some(ADMIN_TOKEN)).await;
            assert_eq!(code, 200, "{status}");
            assert!(
                matches!(status["semantic"].as_str(), Some("ready" | "building")),
                "the encoder did not become ready: {status}"
            );
            status
        },
        |status| status["semantic"] == "ready",
    )
    .await
}

const TWO_ENTRIES: &str = r#"
[[entry]]
id = "library-hours"
category = "施設"
department = "図書館"
question = "図書館の開館時間を知りたい"
alternatives = ["図書館は何時まで"]
keywords = ["図書館"]
answer = "図書館は9時から19時まで開いています。図書館（代表 0930-25-1111）"

[[entry]]
id = "dog-registration"
category = "生活"
department = "環境課"
question = "犬を飼い始めたので登録したい"
alternatives = ["犬の登録"]
keywords = ["犬"]
answer = "犬の登録は環境課で受け付けます。環境課（代表 0930-25-1111）"
"#;

async fn start(backend: Backend, faq_dir: &str, database_url: &str) -> TestApp {
    spawn_app_with(
        backend,
        &[("HUB_FAQ_DIR", faq_dir), ("HUB_DATABASE_URL", database_url)],
    )
    .await
}

#[tokio::test]
async fn faq_vectors_are_encoded_once_and_reused_after_a_restart_and_an_edit() {
    for backend in BACKENDS {
        let faq = tempfile::tempdir().expect("temp dir");
        let data = tempfile::tempdir().expect("temp dir");
        std::fs::write(faq.path().join("a.toml"), TWO_ENTRIES).expect("write FAQ");
        let faq_dir = faq.path().display().to_string();
        let database_url = fresh_database(backend, data.path()).await;

        let app = start(backend, &faq_dir, &database_url).await;
        let first = encoder_ready(&app).await;
        assert_eq!(first["vectors_encoded"], 4, "two texts per entry: {first}");
        assert_eq!(first["vectors_reused"], 0, "{first}");
        app.hub.stop().await;

        // A restart on the same database encodes nothing.
        let app = start(backend, &faq_dir, &database_url).await;
        let second = encoder_ready(&app).await;
        assert_eq!(second["vectors_encoded"], 0, "{second}");
        assert_eq!(second["vectors_reused"], 4, "{second}");

        // An edit of one answer: only that entry's question-with-answer text is new.
        std::fs::write(
            faq.path().join("a.toml"),
            TWO_ENTRIES.replace("9時から19時", "10時から18時"),
        )
        .expect("edit FAQ");
        let edited = eventually(
            "the edit to be picked up",
            Duration::from_secs(30),
            async || app.get("/api/faq/status", Some(ADMIN_TOKEN)).await.1,
            |status| status["loaded_at_ms"] != second["loaded_at_ms"],
        )
        .await;
        assert_eq!(edited["semantic"], "ready", "{edited}");
        assert_eq!(edited["vectors_encoded"], 1, "{edited}");
        assert_eq!(edited["vectors_reused"], 3, "{edited}");
        app.hub.stop().await;
    }
}

/// English, Chinese and Korean questions about 住民票, ごみ and 児童手当, with the entry each must reach.
const FOREIGN_QUESTIONS: [(&str, &str, &str); 9] = [
    (
        "en",
        "Can I print my resident record at a convenience store?",
        "juminhyo-convenience-store",
    ),
    (
        "en",
        "Which day is garbage collected in my area?",
        "gomi-shushubi",
    ),
    (
        "en",
        "How do I apply for the child allowance?",
        "jidou-teate-shinsei",
    ),
    ("zh", "我想开住民票", "juminhyo-copy"),
    ("zh", "垃圾什么时候收？", "gomi-shushubi"),
    (
        "zh",
        "儿童补贴什么时候发，每个月多少钱？",
        "jidou-teate-shikyu",
    ),
    ("ko", "주민표를 발급받고 싶어요", "juminhyo-copy"),
    ("ko", "쓰레기 수거일은 언제인가요?", "gomi-shushubi"),
    ("ko", "아동수당을 신청하고 싶어요", "jidou-teate-shinsei"),
];

/// The line of the reply that says the answer is in Japanese only, by question language.
fn japanese_only_note(lang: &str) -> &'static str {
    match lang {
        "zh" => "此回答只有日语版本。",
        "ko" => "이 답변은 일본어로만 제공됩니다.",
        _ => "This answer is available in Japanese only.",
    }
}

/// The entry a reply gave: the answer's, else the first candidate's.
fn replied_entry(outcome: &str, entry: Option<&str>, candidates: &[String]) -> Option<String> {
    match outcome {
        "answered" | "answer" => entry.map(str::to_owned),
        "candidates" => candidates.first().cloned(),
        _ => None,
    }
}

#[tokio::test]
async fn web_chat_answers_english_chinese_and_korean_questions_with_the_japanese_entry() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let status = encoder_ready(&app).await;
    assert_eq!(
        status["vectors_encoded"], 0,
        "the bundled faq/data/sentence-vectors.bin covers the bundled FAQ (regenerate it with \
         `cargo run --release -p faq --example sentence_vectors -- faq/data`): {status}"
    );
    let mut socket = crate::support::webchat::open(app.hub.addr).await;
    for (lang, question, expected) in FOREIGN_QUESTIONS {
        let reply =
            crate::support::webchat::exchange(&mut socket, serde_json::json!({ "text": question }))
                .await;
        let candidates: Vec<String> = reply["candidates"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(|c| c["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let kind = reply["kind"].as_str().unwrap_or_default();
        let entry = replied_entry(
            if kind == "answer" { "answered" } else { kind },
            reply["entry_id"].as_str(),
            &candidates,
        );
        assert_eq!(
            entry.as_deref(),
            Some(expected),
            "{lang} {question}: {reply}"
        );
        let text = reply["answer"].as_str().unwrap_or_default();
        if kind == "answer" && lang != "en" {
            // No Chinese or Korean text in the FAQ: the Japanese answer, after one line in the resident's language.
            assert!(text.starts_with(japanese_only_note(lang)), "{text}");
            assert!(text.contains("0930-25-1111"), "{text}");
        }
    }
    app.hub.stop().await;
}

#[tokio::test]
async fn line_answers_english_chinese_and_korean_questions_with_the_japanese_entry() {
    use sqlx::{Connection, Row};
    let mock = channels::testing::LineMock::start()
        .await
        .expect("LINE mock");
    let app = crate::support::line::line_app(Backend::Sqlite, &mock, &[]).await;
    encoder_ready(&app).await;
    for (n, (lang, question, _)) in FOREIGN_QUESTIONS.iter().enumerate() {
        let event = crate::support::line::text_event(
            &format!("01HLANG0000000000000000{n:03}"),
            &format!("token-{n}"),
            question,
            false,
        );
        assert_eq!(
            crate::support::line::post_signed(&app, vec![event]).await,
            200,
            "{lang}"
        );
    }
    let accepted = crate::support::line::replies(&mock, FOREIGN_QUESTIONS.len()).await;
    assert_eq!(accepted.len(), FOREIGN_QUESTIONS.len(), "{accepted:?}");
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .expect("database");
    for (lang, question, expected) in FOREIGN_QUESTIONS {
        let row = sqlx::query(
            "SELECT outcome, entry_id, candidates FROM chat_log WHERE channel = 'line' AND question = $1",
        )
        .bind(question)
        .fetch_one(&mut connection)
        .await
        .expect("the question is logged");
        let outcome: String = row.try_get("outcome").expect("outcome");
        let entry: Option<String> = row.try_get("entry_id").expect("entry");
        let candidates: Vec<String> =
            serde_json::from_str(&row.try_get::<String, _>("candidates").expect("candidates"))
                .expect("JSON");
        assert_eq!(
            replied_entry(&outcome, entry.as_deref(), &candidates).as_deref(),
            Some(expected),
            "{lang} {question}: {outcome} {entry:?} {candidates:?}"
        );
    }
    mock.assert_no_violations();
    app.hub.stop().await;
}

#[tokio::test]
async fn misses_that_mean_the_same_need_are_one_group_for_staff() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &[]).await;
        encoder_ready(&app).await;
        let mut socket = crate::support::webchat::open(app.hub.addr).await;
        // Answered, but the residents say the answer did not help: both count as misses.
        for question in [
            "保育園に入りたい",
            "子どもを預けたい",
            "保育園に入りたい",
            "粗大ごみを出したい",
        ] {
            let reply = crate::support::webchat::exchange(
                &mut socket,
                serde_json::json!({ "text": question }),
            )
            .await;
            let id = reply["id"].as_i64().expect("a log id");
            let thanks = crate::support::webchat::exchange(
                &mut socket,
                serde_json::json!({ "helpful": false, "id": id }),
            )
            .await;
            assert_eq!(thanks["recorded"], true, "{thanks}");
        }
        let viewer = app.token("viewer").await;
        let (status, misses) = app.get("/api/faq/misses", Some(&viewer)).await;
        assert_eq!(status, 200, "{misses}");
        let misses = misses.as_array().expect("a list");
        assert_eq!(
            misses.len(),
            2,
            "one need for the nursery, one for the sofa: {misses:?}"
        );
        assert_eq!(misses[0]["question"], "保育園に入りたい", "{misses:?}");
        assert_eq!(misses[0]["count"], 3, "{misses:?}");
        assert_eq!(
            misses[0]["similar"],
            serde_json::json!(["子どもを預けたい"]),
            "{misses:?}"
        );
        assert_eq!(misses[1]["question"], "粗大ごみを出したい", "{misses:?}");
        assert_eq!(misses[1]["count"], 1, "{misses:?}");

        app.hub.stop().await;
    }
}
