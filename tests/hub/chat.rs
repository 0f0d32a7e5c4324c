//! The resident chat: LINE webhook (signed, against the spec-validating LINE mock), the web chat WebSocket,
//! the conversation log and misses, and the FAQ reload.

use std::time::Duration;

use channels::line::webhook::sign;
use channels::testing::LineMock;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::support::db::count;
use crate::support::line::{
    SECRET, USER, body, event, line_app, post_signed, post_webhook, postback_event,
    quick_reply_data, replies, replies_now, text_event,
};
use crate::support::webchat::{self, exchange, next_json};
use crate::support::{
    ADMIN_TOKEN, BACKENDS, Backend, browser, eventually, spawn_app_with, spawn_hub,
};

const QUESTION: &str = "じゅうみんひょうをとりたい";

#[tokio::test]
async fn signed_line_question_is_answered_through_the_reply_api_once() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[]).await;

        let status = post_signed(
            &app,
            vec![text_event(
                "01HEVENT0000000000000000A1",
                "token-a1",
                QUESTION,
                false,
            )],
        )
        .await;
        assert_eq!(status, 200, "{backend:?}");
        let accepted = replies(&mock, 1).await;
        assert_eq!(accepted.len(), 1, "{backend:?}: {accepted:?}");
        assert_eq!(accepted[0].reply_token.as_deref(), Some("token-a1"));
        let message = &accepted[0].messages[0];
        let text = message["text"].as_str().expect("a text message");
        assert!(text.contains("住民票"), "{text}");
        assert!(text.contains("総合窓口課"), "{text}");
        let items = message["quickReply"]["items"]
            .as_array()
            .expect("quick replies");
        assert!(!items.is_empty() && items.len() <= 13);

        // Redelivered (same webhookEventId): answered once.
        let status = post_signed(
            &app,
            vec![text_event(
                "01HEVENT0000000000000000A1",
                "token-a1b",
                QUESTION,
                true,
            )],
        )
        .await;
        assert_eq!(status, 200);
        // Handled (post_signed waits for that) and not answered: no answer is coming.
        assert_eq!(
            replies_now(&mock).len(),
            1,
            "{backend:?}: a redelivery was answered again"
        );
        // Stored once: one event row, one logged question.
        let events = count(&app, "SELECT COUNT(*) AS n FROM line_webhook_events").await;
        assert_eq!(events, 1, "{:?}", app.backend);
        assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM chat_log").await, 1);

        // Feedback through the signed postback: thanked, and a forged one is ignored.
        let helped = quick_reply_data(std::slice::from_ref(message), "役に立たなかった");
        let status = post_signed(
            &app,
            vec![postback_event(
                "01HEVENT0000000000000000A2",
                "token-a2",
                &helped,
            )],
        )
        .await;
        assert_eq!(status, 200);
        let accepted = replies(&mock, 2).await;
        assert_eq!(accepted.len(), 2, "{backend:?}");
        assert!(
            accepted[1].messages[0]["text"]
                .as_str()
                .unwrap_or_default()
                .contains("ありがとうございます")
        );
        let forged = helped.replace(":0:", ":1:");
        let status = post_signed(
            &app,
            vec![postback_event(
                "01HEVENT0000000000000000A3",
                "token-a3",
                &forged,
            )],
        )
        .await;
        assert_eq!(status, 200);
        // Handled (post_signed waits for that) and not answered: no answer is coming.
        assert_eq!(
            replies_now(&mock).len(),
            2,
            "a forged postback got an answer"
        );

        // The unhelpful answer is listed for staff.
        let viewer = app.token("viewer").await;
        let (status, misses) = app.get("/api/faq/misses", Some(&viewer)).await;
        assert_eq!(status, 200, "{misses}");
        let listed = misses.as_array().expect("a list");
        let miss = listed
            .iter()
            .find(|m| m["question"] == QUESTION)
            .unwrap_or_else(|| panic!("{misses}"));
        assert_eq!(miss["unhelpful"], 1);
        assert_eq!(miss["missed"], 0);

        mock.assert_no_violations();
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn forged_or_missing_signature_gets_401_and_nothing_happens() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[]).await;
        let body = body(vec![text_event(
            "01HEVENT0000000000000000B1",
            "token-b1",
            QUESTION,
            false,
        )]);
        let forged = sign("not-the-secret", &body);
        assert_eq!(post_webhook(&app, &body, Some(&forged)).await, 401);
        assert_eq!(post_webhook(&app, &body, None).await, 401);
        assert_eq!(post_webhook(&app, &body, Some("garbage!")).await, 401);
        // The signature of another body.
        let other = sign(SECRET, b"{}");
        assert_eq!(post_webhook(&app, &body, Some(&other)).await, 401);
        // Refused before anything is stored or queued: nothing can be answered later.
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM line_webhook_events").await,
            0,
            "a forged webhook stored an event"
        );
        assert_eq!(
            mock.stats().requests,
            0,
            "the mock was called after a forged webhook"
        );

        // The empty verification call is answered 200; a signed body that is not a webhook gets 400.
        let empty = br#"{"destination":"U00000000000000000000000000000000","events":[]}"#;
        assert_eq!(
            post_webhook(&app, empty, Some(&sign(SECRET, empty))).await,
            200
        );
        let garbage = br#"{"destination": 5}"#;
        assert_eq!(
            post_webhook(&app, garbage, Some(&sign(SECRET, garbage))).await,
            400
        );

        // The event id of the forged call was never taken: the genuine delivery is answered.
        assert_eq!(
            post_webhook(&app, &body, Some(&sign(SECRET, &body))).await,
            200
        );
        assert_eq!(replies(&mock, 1).await.len(), 1);
        mock.assert_no_violations();
        app.hub.stop().await;

        // Without a channel secret nothing can be verified.
        let unconfigured = spawn_app_with(backend, &[]).await;
        assert_eq!(
            post_webhook(&unconfigured, &body, Some(&sign(SECRET, &body))).await,
            503
        );
        unconfigured.hub.stop().await;
    }
}

#[tokio::test]
async fn follow_greets_in_the_residents_language_and_unfollow_deactivates() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[]).await;
        let (status, created) = app
            .post_json(
                "/api/residents",
                Some(ADMIN_TOKEN),
                &json!({"external_id": "R-LINE-1", "language": "en", "channels": {"line": USER}}),
            )
            .await;
        assert_eq!(status, 200, "{created}");

        let follow = event(
            USER,
            "01HEVENT0000000000000000C1",
            json!({"type": "follow", "replyToken": "token-c1", "follow": {"isUnblocked": false}}),
        );
        assert_eq!(post_signed(&app, vec![follow]).await, 200);
        let accepted = replies(&mock, 1).await;
        assert_eq!(accepted.len(), 1, "{backend:?}");
        let greeting = accepted[0].messages[0]["text"].as_str().unwrap_or_default();
        assert!(
            greeting.contains("Yukuhashi") && greeting.contains("0930-25-1111"),
            "{greeting}"
        );

        let unfollow = event(
            USER,
            "01HEVENT0000000000000000C2",
            json!({"type": "unfollow"}),
        );
        assert_eq!(post_signed(&app, vec![unfollow]).await, 200);
        let (_, resident) = app.get("/api/residents/R-LINE-1", Some(ADMIN_TOKEN)).await;
        assert_eq!(
            resident["inactive_channels"],
            json!(["line"]),
            "{backend:?} {resident}"
        );

        // A stranger's follow gets the Japanese greeting; their unfollow changes nothing.
        let stranger = "U00000000000000000000000000000001";
        let mut follow = event(
            USER,
            "01HEVENT0000000000000000C3",
            json!({"type": "follow", "replyToken": "token-c3", "follow": {"isUnblocked": false}}),
        );
        follow["source"]["userId"] = json!(stranger);
        assert_eq!(post_signed(&app, vec![follow]).await, 200);
        let accepted = replies(&mock, 2).await;
        assert!(
            accepted[1].messages[0]["text"]
                .as_str()
                .unwrap_or_default()
                .contains("友だち追加ありがとうございます")
        );
        // Back again: the address is active.
        let refollow = event(
            USER,
            "01HEVENT0000000000000000C4",
            json!({"type": "follow", "replyToken": "token-c4", "follow": {"isUnblocked": true}}),
        );
        assert_eq!(post_signed(&app, vec![refollow]).await, 200);
        let (_, resident) = app.get("/api/residents/R-LINE-1", Some(ADMIN_TOKEN)).await;
        assert_eq!(resident["inactive_channels"], json!([]), "{resident}");
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn web_chat_answers_like_line_and_takes_choices_and_feedback() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[]).await;
        let page = app.client.get(app.url("/chat")).send().await.expect("page");
        assert_eq!(page.status(), 200);
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/html")
        );
        let html = page.text().await.expect("html");
        assert!(html.contains("<html lang=\"ja\">") && html.contains("aria-live"));

        let mut socket = webchat::open(app.hub.addr).await;
        let answer = exchange(&mut socket, json!({"text": QUESTION})).await;
        assert_eq!(answer["type"], "answer", "{answer}");
        assert_eq!(answer["kind"], "answer", "{answer}");
        assert!(
            answer["answer"]
                .as_str()
                .unwrap_or_default()
                .contains("住民票"),
            "{answer}"
        );
        assert_eq!(answer["candidates"], json!([]));

        // The same question on LINE gets the same answer.
        assert_eq!(
            post_signed(
                &app,
                vec![text_event(
                    "01HEVENT0000000000000000D1",
                    "token-d1",
                    QUESTION,
                    false
                )]
            )
            .await,
            200
        );
        let accepted = replies(&mock, 1).await;
        let line_text = accepted[0].messages[0]["text"].as_str().unwrap_or_default();
        let web_text = answer["answer"].as_str().unwrap_or_default();
        assert!(
            line_text.starts_with(web_text),
            "LINE: {line_text}\nweb: {web_text}"
        );

        // Feedback on its own answer is recorded; on another conversation's row it is refused.
        let id = answer["id"].as_i64().expect("a log id");
        let thanks = exchange(&mut socket, json!({"helpful": true, "id": id})).await;
        assert_eq!(thanks["type"], "feedback", "{thanks}");
        assert_eq!(thanks["recorded"], true);
        let refused = exchange(&mut socket, json!({"helpful": false, "id": id + 1000})).await;
        assert_eq!(refused["type"], "error", "{refused}");

        // A vague question offers candidates; picking one answers it.
        let vague = exchange(&mut socket, json!({"text": "印鑑登録"})).await;
        assert_eq!(vague["type"], "answer", "{vague}");
        // Checked every time (it was checked only when search happened to offer candidates).
        assert_eq!(vague["kind"], "candidates", "{vague}");
        {
            let first = vague["candidates"][0]["id"]
                .as_str()
                .expect("a candidate id")
                .to_owned();
            let chosen = exchange(&mut socket, json!({"entry_id": first, "id": vague["id"]})).await;
            assert_eq!(chosen["kind"], "answer", "{chosen}");
            assert_eq!(chosen["entry_id"], json!(first));
            let not_offered = exchange(
                &mut socket,
                json!({"entry_id": "no-such-entry", "id": vague["id"]}),
            )
            .await;
            assert_eq!(not_offered["type"], "error");
        }

        // English when asked in English (the entry has English).
        let english = exchange(
            &mut socket,
            json!({"text": "I want a copy of my residence certificate"}),
        )
        .await;
        // Checked every time (it was checked only when search happened to pick this entry).
        assert_eq!(english["kind"], "answer", "{english}");
        assert_eq!(english["entry_id"], "juminhyo-copy", "{english}");
        {
            assert!(
                english["answer"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("residence certificate"),
                "{english}"
            );
        }

        // Junk is refused with a clear error, and the socket stays usable.
        let junk = exchange(&mut socket, json!({"colour": 1})).await;
        assert_eq!(junk["type"], "error", "{junk}");
        let again = exchange(&mut socket, json!({"text": QUESTION})).await;
        assert_eq!(again["entry_id"], answer["entry_id"]);

        // Notices and emergencies reach every open page.
        let mut second = webchat::open(app.hub.addr).await;
        eventually(
            "two web chat pages open",
            Duration::from_secs(5),
            async || app.hub.state.webchat.open_count(),
            |open| *open >= 2,
        )
        .await;
        let reached = app.hub.state.webchat.broadcast(
            json!({"type": "emergency", "title": "避難指示", "body": {"ja": "今元地区"}}),
        );
        assert_eq!(reached, 2);
        assert_eq!(next_json(&mut socket).await["type"], "emergency");
        assert_eq!(next_json(&mut second).await["title"], "避難指示");
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn misses_rank_unanswered_questions_for_staff() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &[]).await;
        let mut socket = webchat::open(app.hub.addr).await;
        let nonsense = "ぴよぴよ宇宙船のりんかく";
        for text in [nonsense, "  ぴよぴよ宇宙船のりんかく ", QUESTION] {
            let reply = exchange(&mut socket, json!({"text": text})).await;
            if text != QUESTION {
                assert_eq!(reply["kind"], "fallback", "{backend:?} {reply}");
                // What to do next comes with it: ask again, call the city (number and hours), write to it.
                assert!(
                    reply["next_steps"]["call"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("0930-25-1111"),
                    "{reply}"
                );
                assert_eq!(reply["next_steps"]["phone"], "0930251111", "{reply}");
            }
        }
        let (status, _) = app.get("/api/faq/misses", None).await;
        assert_eq!(status, 401);
        let disaster = app.token("disaster").await;
        let (status, _) = app.get("/api/faq/misses", Some(&disaster)).await;
        assert_eq!(status, 403);
        let pr = app.token("pr").await;
        let (status, misses) = app.get("/api/faq/misses", Some(&pr)).await;
        assert_eq!(status, 200, "{misses}");
        let first = &misses[0];
        assert_eq!(first["count"], 2, "{backend:?} {misses}");
        assert_eq!(first["missed"], 2);
        assert_eq!(first["question"], nonsense);
        assert!(
            first["last_asked"]
                .as_str()
                .unwrap_or_default()
                .ends_with('Z')
        );
        assert!(
            !misses
                .as_array()
                .expect("list")
                .iter()
                .any(|m| m["question"] == QUESTION),
            "an answered question is not a miss: {misses}"
        );
        app.hub.stop().await;
    }
}

const SMALL_FAQ: &str = r#"
[[entry]]
id = "gomi-day"
category = "ごみ"
department = "環境課"
question = "ごみの収集日を知りたい"
answer = "ごみの収集日は地区ごとのカレンダーでご確認ください。環境課（代表 0930-25-1111）"
"#;

const NEW_FAQ: &str = r#"
[[entry]]
id = "library-hours"
category = "施設"
department = "図書館"
question = "図書館の開館時間を知りたい"
alternatives = ["としょかんは何時まで"]
answer = "図書館の開館時間は館内の掲示でご確認ください。図書館（代表 0930-25-1111）"
"#;

#[tokio::test]
async fn faq_reloads_new_files_and_keeps_the_last_good_index_on_a_broken_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a.toml"), SMALL_FAQ).expect("write FAQ");
    let faq_dir = dir.path().display().to_string();
    let app = spawn_app_with(Backend::Sqlite, &[("HUB_FAQ_DIR", &faq_dir)]).await;
    let (status, before) = app.get("/api/faq/status", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(before["entries"], 1, "{before}");

    let mut socket = webchat::open(app.hub.addr).await;
    let first = exchange(&mut socket, json!({"text": "図書館の開館時間を知りたい"})).await;
    assert_ne!(first["entry_id"], "library-hours");

    std::fs::write(dir.path().join("b.toml"), NEW_FAQ).expect("write the new file");
    eventually(
        "the new FAQ file picked up (2 entries)",
        Duration::from_secs(20),
        async || app.get("/api/faq/status", Some(ADMIN_TOKEN)).await.1,
        |status| status["entries"] == 2,
    )
    .await;
    let reply = exchange(&mut socket, json!({"text": "図書館の開館時間を知りたい"})).await;
    assert_eq!(reply["entry_id"], "library-hours", "{reply}");

    // A broken file: the last good index stays and the error names the file.
    std::fs::write(
        dir.path().join("c.toml"),
        "[[entry]]\nid = \"broken\"\nquestion = \n",
    )
    .expect("write");
    let status = eventually(
        "the broken FAQ file noticed (last_error)",
        Duration::from_secs(20),
        async || app.get("/api/faq/status", Some(ADMIN_TOKEN)).await.1,
        |status| status["last_error"].is_string(),
    )
    .await;
    assert!(
        status["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("c.toml"),
        "{status}"
    );
    assert_eq!(status["entries"], 2, "{status}");
    let still = exchange(&mut socket, json!({"text": "図書館の開館時間を知りたい"})).await;
    assert_eq!(still["entry_id"], "library-hours");
    app.hub.stop().await;
}

#[tokio::test]
async fn web_chat_answers_in_a_real_browser() {
    let (browser_dir, chromium) = browser::require();
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let mut socket = webchat::open(app.hub.addr).await;
    let expected = exchange(&mut socket, json!({"text": QUESTION})).await;
    let screenshot = browser::artifacts_dir().join("chat.png");
    let url = app.url("/chat");
    let script = browser_dir.join("chat.mjs");
    let shot = screenshot.clone();
    let browser = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(&script)
            .arg(&url)
            .arg(QUESTION)
            .arg(&shot)
            .env("CHROMIUM", &chromium)
            .output()
    });
    // Once the page is connected (beside the test's own socket), push an emergency to every open page.
    eventually(
        "the browser's page connected beside the test's socket (or the browser run ended)",
        Duration::from_secs(30),
        async || (app.hub.state.webchat.open_count(), browser.is_finished()),
        |(open, finished)| *open >= 2 || *finished,
    )
    .await;
    // A real emergency: the hub shows it on both pages with the safety buttons (the page clicks 「無事です」).
    let (status, emergency) = app
        .post_json(
            "/api/emergencies",
            Some(ADMIN_TOKEN),
            &json!({"title": "避難指示（今元地区）", "districts": ["今元"],
                    "body": {"ja": "今元地区に避難指示が出ました。近くの避難所へ避難してください。"}}),
        )
        .await;
    assert_eq!(status, 201, "{emergency}");
    let banner = next_json(&mut socket).await;
    assert_eq!(banner["type"], "emergency", "{banner}");
    let reached = app.hub.state.webchat.open_count();
    let output = browser
        .await
        .expect("the browser run finished")
        .expect("node starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    let shown: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(shown["kind"], expected["kind"], "{shown}");
    assert_eq!(shown["entry_id"], expected["entry_id"], "{shown}");
    assert_eq!(shown["answer"], expected["answer"], "{shown}");
    assert!(
        shown["answer"]
            .as_str()
            .unwrap_or_default()
            .contains("住民票")
    );
    assert!(
        shown["feedback"]
            .as_str()
            .unwrap_or_default()
            .contains("ありがとうございます"),
        "{shown}"
    );
    assert_eq!(shown["accessibility"]["lang"], "ja");
    assert_eq!(shown["accessibility"]["live"], "polite");
    assert_eq!(shown["accessibility"]["labelled"], true);
    assert!(
        shown["accessibility"]["width"].as_i64().unwrap_or(i64::MAX) <= 390,
        "wider than a phone: {shown}"
    );
    assert_eq!(shown["problems"], json!([]), "the page had errors: {shown}");
    assert_eq!(reached, 2, "the emergency did not reach both open pages");
    let banner = shown["banner"]["text"].as_str().unwrap_or_default();
    assert!(banner.contains("避難指示（今元地区）"), "{shown}");
    assert_eq!(shown["banner"]["role"], "alert");
    assert!(
        shown["banner"]["safety"]
            .as_str()
            .unwrap_or_default()
            .contains("無事です"),
        "the page's 「無事です」 was not acknowledged: {shown}"
    );
    let (_, progress) = app
        .get(
            &format!("/api/emergencies/{}", emergency["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    // A web chat answer is anonymous: counted apart from the verified ones.
    assert_eq!(progress["unverified"]["safe"], 1, "{progress}");
    assert_eq!(progress["safe"], 0, "{progress}");
    assert_eq!(progress["webchat_pages"], 2, "{progress}");
    assert!(
        screenshot.exists(),
        "no screenshot at {}",
        screenshot.display()
    );
    app.hub.stop().await;
}

#[test]
fn faq_eval_prints_one_json_line_and_writes_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let faq = dir.path().join("faq.jsonl");
    let queries = dir.path().join("queries.jsonl");
    let run = dir.path().join("run.jsonl");
    std::fs::write(
        &faq,
        concat!(
            "{\"id\": \"1\", \"question\": \"住民票の写しを取りたい\", \"answer\": \"総合窓口課で交付します。\", \"extra\": 1}\n",
            "{\"id\": 2, \"question\": \"粗大ごみの出し方を知りたい\", \"answer\": \"環境課に申し込んでください。\"}\n",
            "\n",
            "{\"id\": \"3\", \"question\": \"保育所に入りたい\", \"answer\": \"子ども支援課へ。\"}\n",
        ),
    )
    .expect("write FAQ");
    std::fs::write(
        &queries,
        concat!(
            "{\"id\": \"q1\", \"query\": \"じゅうみんひょうがほしい\", \"relevant\": [\"1\"]}\n",
            "{\"id\": \"q2\", \"query\": \"粗大ゴミ\", \"relevant\": [\"2\"], \"grades\": {\"2\": 2}}\n",
        ),
    )
    .expect("write queries");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["faq", "eval", "--faq"])
        .arg(&faq)
        .arg("--queries")
        .arg(&queries)
        .args(["--k", "5", "--run"])
        .arg(&run)
        .output()
        .expect("hub runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "one line on stdout: {stdout}");
    let metrics: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    for key in [
        "queries", "k", "p_at_1", "p_at_5", "sr_at_1", "sr_at_5", "mrr", "map", "p50_us", "p99_us",
    ] {
        assert!(metrics[key].is_number(), "{key} missing: {metrics}");
    }
    assert_eq!(metrics["queries"], 2);
    assert_eq!(metrics["k"], 5);
    for key in ["p_at_1", "p_at_5", "sr_at_1", "sr_at_5", "mrr", "map"] {
        let value = metrics[key].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&value), "{key}: {metrics}");
    }
    let ranked: Vec<Value> = std::fs::read_to_string(&run)
        .expect("run file")
        .lines()
        .map(|line| serde_json::from_str(line).expect("run line is JSON"))
        .collect();
    assert_eq!(ranked.len(), 2);
    assert_eq!(ranked[0]["query_id"], "q1");
    assert_eq!(ranked[1]["query_id"], "q2");
    for line in &ranked {
        let ids = line["ranked"].as_array().expect("a ranking");
        assert!(ids.len() <= 100);
        assert!(
            ids.iter()
                .all(|id| ["1", "2", "3"].contains(&id.as_str().unwrap_or_default())),
            "{line}"
        );
    }

    // A missing file: a failure naming it, nothing on stdout.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
        .args([
            "faq",
            "eval",
            "--faq",
            "/nonexistent/faq.jsonl",
            "--queries",
        ])
        .arg(&queries)
        .output()
        .expect("hub runs");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/faq.jsonl"));
}

/// Two entries asked the same way: the answer policy cannot pick one, so it offers both.
const TWIN_FAQ: &str = r#"
[[entry]]
id = "sodai-gomi-home"
category = "ごみ"
department = "環境課"
question = "粗大ごみを出したい"
answer = "戸別収集を環境課（代表 0930-25-1111）で受け付けます。"

[[entry]]
id = "sodai-gomi-center"
category = "ごみ"
department = "環境課"
question = "粗大ごみを出したい"
answer = "清掃センターへ直接持ち込めます。環境課（代表 0930-25-1111）"
"#;

#[tokio::test]
async fn candidates_are_offered_and_a_choice_is_answered_on_line_and_the_web() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("gomi.toml"), TWIN_FAQ).expect("write FAQ");
        let faq_dir = dir.path().display().to_string();
        let mock = LineMock::start().await.expect("LINE mock");
        let app = spawn_app_with(
            backend,
            &[
                ("HUB_LINE_API_BASE", &mock.base_url()),
                ("HUB_LINE_CHANNEL_SECRET", SECRET),
                ("HUB_LINE_CHANNEL_TOKEN", &mock.token()),
                ("HUB_FAQ_DIR", &faq_dir),
            ],
        )
        .await;

        // LINE: one quick reply per candidate plus 「どれでもない」; tapping one answers it.
        let event = text_event(
            "01HEVENT0000000000000000E1",
            "token-e1",
            "粗大ごみを出したい",
            false,
        );
        assert_eq!(post_signed(&app, vec![event]).await, 200);
        let accepted = replies(&mock, 1).await;
        let message = &accepted[0].messages[0];
        let items = message["quickReply"]["items"]
            .as_array()
            .expect("quick replies");
        assert_eq!(items.len(), 3, "{backend:?} {message}");
        let choice = items[1]["action"]["data"]
            .as_str()
            .expect("postback data")
            .to_owned();
        let chosen_id = if choice.contains("sodai-gomi-home") {
            "sodai-gomi-home"
        } else {
            "sodai-gomi-center"
        };
        assert_eq!(
            post_signed(
                &app,
                vec![postback_event(
                    "01HEVENT0000000000000000E2",
                    "token-e2",
                    &choice
                )]
            )
            .await,
            200
        );
        let accepted = replies(&mock, 2).await;
        assert_eq!(accepted.len(), 2, "{backend:?}");
        let answer = accepted[1].messages[0]["text"].as_str().unwrap_or_default();
        let expected = if chosen_id == "sodai-gomi-home" {
            "戸別収集"
        } else {
            "清掃センター"
        };
        assert!(answer.contains(expected), "{answer}");
        // A choice for an entry that was not offered is refused even when signed data is reused.
        let tampered = choice.replace(chosen_id, "koseki-tohon");
        assert_eq!(
            post_signed(
                &app,
                vec![postback_event(
                    "01HEVENT0000000000000000E3",
                    "token-e3",
                    &tampered
                )]
            )
            .await,
            200
        );
        // Handled (post_signed waits for that) and not answered: no answer is coming.
        assert_eq!(
            replies_now(&mock).len(),
            2,
            "a tampered choice was answered"
        );
        mock.assert_no_violations();

        // The web chat offers the same candidates; choosing one answers it.
        let mut socket = webchat::open(app.hub.addr).await;
        let offered = exchange(&mut socket, json!({"text": "粗大ごみを出したい"})).await;
        assert_eq!(offered["kind"], "candidates", "{offered}");
        assert_eq!(offered["candidates"].as_array().map(Vec::len), Some(2));
        let chosen = exchange(
            &mut socket,
            json!({"entry_id": "sodai-gomi-center", "id": offered["id"]}),
        )
        .await;
        assert_eq!(chosen["kind"], "answer");
        assert!(
            chosen["answer"]
                .as_str()
                .unwrap_or_default()
                .contains("清掃センター")
        );

        // The chat endpoints are described in the OpenAPI document.
        let (_, doc) = app.get("/openapi.json", None).await;
        for (path, method) in [
            ("/line/webhook", "post"),
            ("/chat", "get"),
            ("/chat/ws", "get"),
            ("/api/faq/misses", "get"),
            ("/api/faq/status", "get"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "{path} missing from the OpenAPI document"
            );
        }
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn a_webchat_notice_appears_on_every_open_chat_page() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &[]).await;
        let mut first = webchat::open(app.hub.addr).await;
        let mut second = webchat::open(app.hub.addr).await;
        let pr = app.token("pr").await;
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &json!({
                    "title": "断水のお知らせ",
                    "body": {"ja": "明日9時から12時まで今元地区で断水します。", "en": "Water outage tomorrow."},
                    "segment": "",
                    "channels": ["webchat"],
                    "send_at": null,
                    "cron": null,
                    "ignore_quiet_hours": true
                }),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        for socket in [&mut first, &mut second] {
            let message = next_json(socket).await;
            assert_eq!(message["type"], "notice", "{message}");
            assert_eq!(message["title"], "断水のお知らせ");
            assert!(
                message["body"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("断水します"),
                "{message}"
            );
        }
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn on_postgres_a_banner_reaches_pages_open_on_every_hub_process_once() {
    let app = spawn_app_with(Backend::Postgres, &[]).await;
    // A second `hub serve` on the same database, as a city runs in production.
    let second = spawn_hub(&app.database_url, &[]).await;
    let mut on_first = webchat::open(app.hub.addr).await;
    let mut on_second = webchat::open(second.addr).await;
    // Both relays LISTEN before the banner goes out.
    eventually(
        "both hubs' web chat relays listening",
        Duration::from_secs(20),
        async || {
            count(
                &app,
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'",
            )
            .await
        },
        |listening| *listening >= 2,
    )
    .await;
    let pr = app.token("pr").await;
    let (status, created) = app
        .post_json(
            "/api/notices",
            Some(&pr),
            &json!({"title": "防災訓練", "body": {"ja": "11時に防災訓練のサイレンが鳴ります。"},
                    "channels": ["webchat"], "ignore_quiet_hours": true}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    for socket in [&mut on_first, &mut on_second] {
        let message = next_json(socket).await;
        assert_eq!(message["type"], "notice", "{message}");
        assert_eq!(message["title"], "防災訓練");
    }
    // Exactly once on each page: nothing more arrives.
    for socket in [&mut on_first, &mut on_second] {
        let more = tokio::time::timeout(Duration::from_millis(800), socket.next()).await;
        assert!(more.is_err(), "a second banner arrived: {more:?}");
    }
    second.stop().await;
    app.hub.stop().await;
}
