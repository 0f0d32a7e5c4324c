//! The FAQ's sentence encoder in the hub: entry vectors persist by content, and questions in other languages find
//! Japanese entries on the web chat and LINE.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{ADMIN_TOKEN, TestApp, spawn_app_with};

/// Waits (polling `GET /api/faq/status`) until the encoder takes part in the index in use; returns the status.
pub(crate) async fn encoder_ready(app: &TestApp) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (code, status) = app.get("/api/faq/status", Some(ADMIN_TOKEN)).await;
        assert_eq!(code, 200, "{status}");
        match status["semantic"].as_str() {
            Some("ready") => return status,
            Some("building") => {}
            _ => panic!("the encoder did not become ready: {status}"),
        }
        assert!(Instant::now() < deadline, "encoder not ready: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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

async fn start(faq_dir: &str, database_url: &str) -> TestApp {
    spawn_app_with(
        crate::support::Backend::Sqlite,
        &[("HUB_FAQ_DIR", faq_dir), ("HUB_DATABASE_URL", database_url)],
    )
    .await
}

#[tokio::test]
async fn faq_vectors_are_encoded_once_and_reused_after_a_restart_and_an_edit() {
    let faq = tempfile::tempdir().expect("temp dir");
    let data = tempfile::tempdir().expect("temp dir");
    std::fs::write(faq.path().join("a.toml"), TWO_ENTRIES).expect("write FAQ");
    let faq_dir = faq.path().display().to_string();
    let database_url = format!("sqlite://{}", data.path().join("hub.db").display());

    let app = start(&faq_dir, &database_url).await;
    let first = encoder_ready(&app).await;
    assert_eq!(first["vectors_encoded"], 4, "two texts per entry: {first}");
    assert_eq!(first["vectors_reused"], 0, "{first}");
    app.hub.stop().await;

    // A restart on the same database encodes nothing.
    let app = start(&faq_dir, &database_url).await;
    let second = encoder_ready(&app).await;
    assert_eq!(second["vectors_encoded"], 0, "{second}");
    assert_eq!(second["vectors_reused"], 4, "{second}");

    // An edit of one answer: only that entry's question-with-answer text is new.
    std::fs::write(
        faq.path().join("a.toml"),
        TWO_ENTRIES.replace("9時から19時", "10時から18時"),
    )
    .expect("edit FAQ");
    let deadline = Instant::now() + Duration::from_secs(30);
    let edited = loop {
        let (_, status) = app.get("/api/faq/status", Some(ADMIN_TOKEN)).await;
        if status["loaded_at_ms"] != second["loaded_at_ms"] {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the edit was not picked up: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(edited["semantic"], "ready", "{edited}");
    assert_eq!(edited["vectors_encoded"], 1, "{edited}");
    assert_eq!(edited["vectors_reused"], 3, "{edited}");
    app.hub.stop().await;
}
