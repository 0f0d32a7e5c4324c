//! The console does the whole job for disaster and admin staff (issue 15): emergency pages that can be reopened
//! with the need-help list, update and 解除; a drill that would reach nobody refused; staff accounts made, disabled,
//! reset and unlocked on the 職員 page; a readable audit log; `no-store` on every /admin answer; a Japanese 404;
//! the favicon; and no developer English on any console page.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::console::{Browser, PASSWORD, add_staff, audit_actions, login, try_login};
use crate::support::wording::assert_no_developer_english;
use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, TestApp, spawn_app, spawn_app_with};

async fn seed(app: &TestApp) {
    for (id, district, channels) in [
        (
            "R-1",
            "今元",
            json!({"line": "U00000000000000000000000000000001"}),
        ),
        ("R-2", "今元", json!({"email": "r2@example.org"})),
        ("R-3", "仲津", json!({"email": "r3@example.org"})),
    ] {
        let (status, body) = app
            .post_json(
                "/api/residents",
                Some(ADMIN_TOKEN),
                &json!({"external_id": id, "birth_date": "1960-04-01", "district": district,
                        "language": "ja", "interests": ["防災"], "channels": channels}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

async fn page(browser: &Browser, app: &TestApp, path: &str) -> String {
    let (status, html) = browser.get(app, path).await;
    assert_eq!(status, 200, "{path}: {html}");
    assert_no_developer_english(path, &html);
    html
}

#[tokio::test]
async fn every_console_page_is_japanese_no_store_and_unknown_paths_answer_a_japanese_404() {
    let app = spawn_app(Backend::Sqlite).await;
    seed(&app).await;
    add_staff(&app, "kanri", "admin").await;
    let admin = login(&app, "kanri").await;
    for path in [
        "/admin",
        "/admin/residents",
        "/admin/residents/R-1",
        "/admin/notices",
        "/admin/emergency",
        "/admin/surveys",
        "/admin/faq",
        "/admin/audit",
        "/admin/staff",
        "/admin/tokens",
    ] {
        page(&admin, &app, path).await;
        let response = admin.send(&app, path).await;
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path}"
        );
    }
    // A page that does not exist: HTML in Japanese, with the menu for a logged-in user, a login link otherwise.
    let response = admin.send(&app, "/admin/no-such-page").await;
    assert_eq!(response.status().as_u16(), 404);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let html = response.text().await.expect("body");
    assert!(html.contains("ページが見つかりません") && html.contains("ログアウト"));
    assert_no_developer_english("404", &html);
    let (status, html) = app.get_page("/admin/emergency/99/nothing").await;
    assert_eq!(status, 404);
    assert!(html.contains("ページが見つかりません") && html.contains("/admin/login"));
    // The favicon.
    let response = app
        .client
        .get(app.url("/favicon.ico"))
        .send()
        .await
        .expect("favicon");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/svg+xml")
    );
    assert!(response.text().await.expect("svg").starts_with("<svg"));
    app.hub.stop().await;
}

#[tokio::test]
async fn admins_create_disable_reset_and_unlock_staff_accounts_on_the_staff_page() {
    for backend in BACKENDS {
        admins_create_disable_reset_and_unlock_staff_accounts_on_the_staff_page_on(backend).await;
    }
}

async fn admins_create_disable_reset_and_unlock_staff_accounts_on_the_staff_page_on(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    add_staff(&app, "kanri", "admin").await;
    let admin = login(&app, "kanri").await;

    // Create: checked input, Japanese errors on the page, the name kept.
    let (status, html, _) = admin
        .post_form(
            &app,
            "/admin/staff",
            &[
                ("csrf", &admin.csrf),
                ("username", "bousai"),
                ("role", "disaster"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("パスワードは10文字以上"), "{html}");
    assert!(html.contains("value=\"bousai\""));
    assert_no_developer_english("staff error", &html);
    let (status, _, location) = admin
        .post_form(
            &app,
            "/admin/staff",
            &[
                ("csrf", &admin.csrf),
                ("username", "bousai"),
                ("role", "disaster"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some("/admin/staff?done=created&name=bousai")
    );
    let (status, html, _) = admin
        .post_form(
            &app,
            "/admin/staff",
            &[
                ("csrf", &admin.csrf),
                ("username", "bousai"),
                ("role", "pr"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 409);
    assert!(html.contains("すでに使われています"), "{html}");
    let bousai = login(&app, "bousai").await;
    let html = page(&admin, &app, "/admin/staff?done=created&name=bousai").await;
    assert!(html.contains("職員アカウント「bousai」を作成しました"));
    assert!(html.contains("防災"));

    // Without the CSRF token nothing happens.
    let (status, _, _) = admin
        .post_form(&app, "/admin/staff/bousai/disable", &[("csrf", "wrong")])
        .await;
    assert_eq!(status, 403);
    let (status, _) = bousai.get(&app, "/admin").await;
    assert_eq!(status, 200);

    // Disable: the open session ends and the password no longer opens one.
    let (status, _, _) = admin
        .post_form(
            &app,
            "/admin/staff/bousai/disable",
            &[("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(status, 303);
    let (status, _) = bousai.get(&app, "/admin").await;
    assert_eq!(status, 303, "a disabled account's session is over");
    let (status, _, session) = try_login(&app, "bousai", PASSWORD).await;
    assert_eq!((status, session.is_some()), (401, false));
    let html = page(&admin, &app, "/admin/staff").await;
    assert!(html.contains("無効（"), "{html}");
    // An admin cannot lock themself out.
    let (status, html, _) = admin
        .post_form(&app, "/admin/staff/kanri/disable", &[("csrf", &admin.csrf)])
        .await;
    assert_eq!(status, 409);
    assert!(
        html.contains("自分のアカウントは無効にできません"),
        "{html}"
    );

    // Enable, then a new password: the old one stops working.
    let (status, _, _) = admin
        .post_form(&app, "/admin/staff/bousai/enable", &[("csrf", &admin.csrf)])
        .await;
    assert_eq!(status, 303);
    let new_password = "atarashii-password-2027";
    let (status, _, location) = admin
        .post_form(
            &app,
            "/admin/staff/bousai/password",
            &[("csrf", &admin.csrf), ("password", new_password)],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some("/admin/staff?done=password&name=bousai")
    );
    let (status, _, _) = try_login(&app, "bousai", PASSWORD).await;
    assert_eq!(status, 401);
    let (status, _, session) = try_login(&app, "bousai", new_password).await;
    assert_eq!((status, session.is_some()), (303, true));
    let (status, html, _) = admin
        .post_form(
            &app,
            "/admin/staff/nobody/password",
            &[("csrf", &admin.csrf), ("password", new_password)],
        )
        .await;
    assert_eq!(status, 404);
    assert!(html.contains("その職員アカウントはありません"), "{html}");

    // Everything is in the audit log, named in Japanese, and the filter finds one kind.
    let actions = audit_actions(&app).await;
    for action in [
        "staff.create",
        "staff.disable",
        "staff.enable",
        "staff.password",
    ] {
        assert!(
            actions
                .iter()
                .any(|(actor, a)| actor == "kanri" && a == action),
            "{action}: {actions:?}"
        );
    }
    let html = page(&admin, &app, "/admin/audit?action=staff.disable").await;
    assert!(html.contains("職員アカウントの無効化"), "{html}");
    assert_eq!(
        html.matches("<td title=\"").count(),
        1,
        "only the chosen action: {html}"
    );
    assert!(html.contains("1 / 1 ページ（1件）"), "{html}");
    let html = page(&admin, &app, "/admin/audit?actor=kanri&from=2000-01-01").await;
    assert!(html.contains("パスワードの再設定") && html.contains("職員アカウントの作成"));
    assert!(
        !html.contains("staff.create</td>"),
        "codes are not shown as names"
    );
    app.hub.stop().await;
}

#[tokio::test]
async fn a_drill_without_test_recipients_is_refused_before_anything_is_sent() {
    let app = spawn_app(Backend::Sqlite).await;
    seed(&app).await;
    let disaster = app.token("disaster").await;
    let (status, error) = app
        .post_json(
            "/api/emergencies",
            Some(&disaster),
            &json!({"title": "訓練", "body": {"ja": "訓練です。"}, "districts": ["今元"], "dry_run": true}),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["field"], "dry_run");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("テスト受信者"),
        "{error}"
    );
    let (_, list) = app.get("/api/emergencies", Some(&disaster)).await;
    assert_eq!(list, json!([]), "nothing stored");
    // The page says so before anyone fills the form.
    add_staff(&app, "bousai", "disaster").await;
    let staff = login(&app, "bousai").await;
    let html = page(&staff, &app, "/admin/emergency").await;
    assert!(html.contains("id=\"e-no-testers\""), "{html}");
    assert!(html.contains("data-test-recipients=\"0\""));
    app.hub.stop().await;
}

async fn send(app: &TestApp, token: &str, body: &Value) -> i64 {
    let (status, sent) = app.post_json("/api/emergencies", Some(token), body).await;
    assert_eq!(status, 201, "{sent}");
    sent["id"].as_i64().expect("id")
}

#[tokio::test]
async fn an_emergency_page_reopens_with_progress_need_help_updates_and_its_cancellation() {
    let app = spawn_app_with(Backend::Sqlite, &[("HUB_EMERGENCY_TEST_RECIPIENTS", "R-1")]).await;
    seed(&app).await;
    let disaster = app.token("disaster").await;
    // No severity given: 避難指示 in the title makes it extreme, never unknown.
    let id = send(
        &app,
        &disaster,
        &json!({"title": "【避難指示】今元地区", "body": {"ja": "避難してください。", "en": "Please evacuate."},
                "districts": ["今元"]}),
    )
    .await;
    let done = app.emergency_done(id, Duration::from_secs(30)).await;
    assert_eq!(done["severity"], "extreme", "{done}");
    let resident_id: i64 = sqlx::query_scalar("SELECT id FROM residents WHERE external_id = 'R-2'")
        .fetch_one(&app.hub.state.db.pool)
        .await
        .expect("R-2");
    // R-2 answers 「助けが必要」 (as the LINE safety flow records it).
    sqlx::query(
        "INSERT INTO emergency_answers (emergency_id, responder, resident_id, channel, answer, answered_from, \
         answered_at_ms) VALUES ($1, $2, $3, 'line', 'need_help', $1, $4)",
    )
    .bind(id)
    .bind(format!("resident:{resident_id}"))
    .bind(resident_id)
    .bind(chrono::Utc::now().timestamp_millis())
    .execute(&app.hub.state.db.pool)
    .await
    .expect("answer");

    add_staff(&app, "bousai", "disaster").await;
    let staff = login(&app, "bousai").await;
    let html = page(&staff, &app, &format!("/admin/emergency/{id}")).await;
    assert!(html.contains("【避難指示】今元地区"));
    assert!(html.contains("極めて重大"), "{html}");
    assert!(html.contains("助けが必要な住民（1人）"), "{html}");
    assert!(html.contains("href=\"/admin/residents/R-2\""), "{html}");
    assert!(html.contains("Please evacuate."));
    assert!(html.contains("id=\"update-form\"") && html.contains("id=\"cancel-form\""));
    assert!(
        html.contains("中国語") && html.contains("日本語で届いています"),
        "the languages without their own text are named: {html}"
    );
    // Reading the list is recorded, as through the API.
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .any(|(actor, a)| actor == "bousai" && a == "emergency.need_help.read")
    );
    // 最近の緊急配信 on the emergency page and the dashboard open it again.
    let html = page(&staff, &app, "/admin/emergency").await;
    assert!(html.contains(&format!("href=\"/admin/emergency/{id}\"")));
    let html = page(&staff, &app, "/admin").await;
    assert!(html.contains(&format!("href=\"/admin/emergency/{id}\"")));

    // An update and the cancellation (as the page's forms send them) join the incident on its page.
    let update = send(
        &app,
        &disaster,
        &json!({"updates": id, "title": "【避難指示】今元地区", "body": {"ja": "引き続き避難してください。"}}),
    )
    .await;
    let cancel = send(
        &app,
        &disaster,
        &json!({"cancels": id, "title": "【避難指示】今元地区", "body": {"ja": "解除しました。"}}),
    )
    .await;
    let html = page(&staff, &app, &format!("/admin/emergency/{update}")).await;
    assert!(html.contains("【更新】【避難指示】今元地区"), "{html}");
    assert!(html.contains(&format!("href=\"/admin/emergency/{cancel}\"")));
    assert!(html.contains("解除済み") && !html.contains("id=\"update-form\""));
    let (status, _) = staff.get(&app, "/admin/emergency/999999").await;
    assert_eq!(status, 404);
    app.hub.stop().await;
}

/// Runs tests/browser/console_staff.mjs against `app` as `username` (an admin) and returns what it printed.
async fn run_browser(app: &TestApp, username: &str) -> Value {
    let artifacts = crate::support::browser::artifacts_dir();
    crate::support::browser::run_script(
        "console_staff.mjs",
        vec![
            app.base.clone().into(),
            username.into(),
            PASSWORD.into(),
            artifacts.into(),
        ],
    )
    .await
}

#[tokio::test]
async fn disaster_admin_and_pr_flows_work_in_a_real_browser_at_laptop_and_phone_sizes() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("HUB_EMERGENCY_TEST_RECIPIENTS", "R-1,R-2")],
    )
    .await;
    seed(&app).await;
    add_staff(&app, "kanri", "admin").await;
    let shown = run_browser(&app, "kanri").await;
    assert_eq!(shown["problems"], json!([]), "{shown}");
    // The drill: every language filled by the template, severity from it, sent to the two test recipients.
    assert!(
        shown["template"]["en"]
            .as_str()
            .unwrap_or_default()
            .contains("evacuation order"),
        "{shown}"
    );
    assert_eq!(shown["template"]["severity"], "extreme");
    assert_eq!(shown["confirm"]["reach"], "2");
    // Nothing left the hub (no LINE or SMTP credentials): the page says so instead of 「完了」.
    let status = shown["progress"]["status"].as_str().unwrap_or_default();
    assert!(
        status.starts_with("記録のみ（送信されていません）"),
        "{shown}"
    );
    assert!(!status.contains("完了"), "{shown}");
    assert_eq!(shown["progress"]["outcome"], "warning");
    assert_eq!(shown["reloaded_status"], shown["progress"]["status"]);
    assert!(
        shown["phone_overflow"].as_i64().unwrap_or(1) <= 0,
        "{shown}"
    );
    assert!(
        shown["phone_compose_overflow"].as_i64().unwrap_or(1) <= 0,
        "{shown}"
    );
    assert!(
        shown["update_armed"]
            .as_str()
            .unwrap_or_default()
            .contains("もう一度押す"),
        "{shown}"
    );
    assert!(
        shown["update_title"]
            .as_str()
            .unwrap_or_default()
            .contains("【更新】"),
        "{shown}"
    );
    assert!(
        shown["cancel_tags"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t == "解除済み")),
        "{shown}"
    );
    // Admin.
    assert!(
        shown["staff_created"]
            .as_str()
            .unwrap_or_default()
            .contains("kouhou-web"),
        "{shown}"
    );
    assert!(
        shown["dialog"]
            .as_str()
            .unwrap_or_default()
            .contains("無効にします"),
        "{shown}"
    );
    assert_eq!(shown["audit_rows"], 1, "{shown}");
    assert_eq!(shown["audit_action"], "職員アカウントの無効化");
    // PR.
    assert_eq!(shown["rule_kept"], "district = \"仲津\"", "{shown}");
    assert_eq!(shown["segment_text"], "今元地区", "{shown}");
    assert_eq!(shown["segment_count"], "2人", "{shown}");
    assert!(
        shown["segment_languages"]
            .as_str()
            .unwrap_or_default()
            .contains("日本語 2人"),
        "{shown}"
    );
    assert!(
        shown["preview_head"]
            .as_str()
            .unwrap_or_default()
            .contains("住民ID: R-"),
        "{shown}"
    );
    assert!(
        shown["send_now_armed"]
            .as_str()
            .unwrap_or_default()
            .contains("今すぐ 2人に送信"),
        "{shown}"
    );
    // Not sent on the first click: scheduled instead, then edited from the calendar.
    assert_eq!(
        shown["edited_title"], "防災訓練のお知らせ（会場変更）",
        "{shown}"
    );
    assert_eq!(shown["edit_rule_text"], "今元地区", "{shown}");
    assert_eq!(
        shown["edit_ticked"], true,
        "the stored rule is shown on the boxes: {shown}"
    );
    let (_, notices) = app.get("/api/notices", Some(ADMIN_TOKEN)).await;
    let titled: Vec<&Value> = notices
        .as_array()
        .expect("notices")
        .iter()
        .filter(|n| {
            n["title"]
                .as_str()
                .unwrap_or_default()
                .starts_with("防災訓練のお知らせ")
        })
        .collect();
    assert_eq!(titled.len(), 1, "one notice, scheduled: {notices}");
    assert_eq!(titled[0]["status"], "scheduled");
    assert!(
        shown["survey_preview"]
            .as_str()
            .unwrap_or_default()
            .contains("避難所の場所を知っていますか"),
        "{shown}"
    );
    assert!(
        shown["survey_preview"]
            .as_str()
            .unwrap_or_default()
            .contains("案内文の言語: 日本語・英語"),
        "{shown}"
    );
    assert!(
        shown["survey_state"]
            .as_str()
            .unwrap_or_default()
            .starts_with("締切"),
        "{shown}"
    );
    // The form's English invitation, question and choices were stored beside the Japanese.
    let (status, surveys) = app.get("/api/surveys", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{surveys}");
    let survey = surveys
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|s| s["title"] == "避難所の使いやすさアンケート")
        })
        .expect("the survey made on the form");
    assert_eq!(
        survey["intro"]["en"],
        "Please tell us about the evacuation shelters."
    );
    assert_eq!(
        survey["questions"][0]["text"]["en"],
        "Do you know where your shelter is?"
    );
    assert_eq!(
        survey["questions"][0]["options"],
        json!([{"ja": "知っている", "en": "Yes"}, {"ja": "知らない", "en": "No"}])
    );
    assert_eq!(
        survey["questions"][1]["text"],
        json!({"ja": "満足度を教えてください"})
    );
    assert_eq!(shown["not_found"], "ページが見つかりません");
    app.hub.stop().await;
}

#[tokio::test]
async fn junk_misses_are_dismissed_long_ones_are_cut_and_the_dashboard_counts_the_same_list() {
    for backend in BACKENDS {
        junk_misses_are_dismissed_long_ones_are_cut_and_the_dashboard_counts_the_same_list_on(
            backend,
        )
        .await;
    }
}

async fn junk_misses_are_dismissed_long_ones_are_cut_and_the_dashboard_counts_the_same_list_on(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    add_staff(&app, "kouhou", "pr").await;
    let pr = login(&app, "kouhou").await;
    let long = "粗大ごみ".repeat(300);
    let now = chrono::Utc::now().timestamp_millis();
    for (question, normalized, times) in [
        ("あああああ", "あああああ", 3),
        (long.as_str(), long.as_str(), 2),
        (
            "犬の登録はどこでできますか",
            "犬の登録はどこでできますか",
            1,
        ),
    ] {
        for _ in 0..times {
            sqlx::query(
                "INSERT INTO chat_log (at_ms, channel, question, normalized, outcome) \
                 VALUES ($1, 'web', $2, $3, 'missed')",
            )
            .bind(now)
            .bind(question)
            .bind(normalized)
            .execute(&app.hub.state.db.pool)
            .await
            .expect("chat log");
        }
    }
    let open = |html: &str| -> String {
        let marker = "id=\"faq-open-misses\">";
        let start = html.find(marker).expect("the open count") + marker.len();
        html[start..]
            .split('<')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let faq = page(&pr, &app, "/admin/faq").await;
    let dashboard = page(&pr, &app, "/admin").await;
    assert_eq!(open(&faq), open(&dashboard), "the same count on both pages");
    // The long question is cut in the table (the whole text stays in its title).
    assert!(
        faq.contains(&format!("{}…", "粗大ごみ".repeat(30))),
        "cut at 120 characters"
    );
    assert!(!faq.contains(&format!(">{long}<")));
    // 「除外」: gone from the list and from both counts, audited.
    let (status, _, location) = pr
        .post_form(
            &app,
            "/admin/faq/dismiss",
            &[
                ("csrf", &pr.csrf),
                ("normalized", "あああああ"),
                ("question", "あああああ"),
            ],
        )
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/faq")));
    let after = page(&pr, &app, "/admin/faq").await;
    assert!(!after.contains("あああああ"), "dismissed");
    let dashboard = page(&pr, &app, "/admin").await;
    assert_eq!(open(&after), open(&dashboard));
    let before: i64 = open(&faq).parse().expect("number");
    let now_open: i64 = open(&after).parse().expect("number");
    assert!(now_open < before, "{before} → {now_open}");
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .any(|(actor, a)| actor == "kouhou" && a == "faq.dismiss")
    );
    // The console edits the hub's copy in its data folder, never the bundled FAQ in the source tree.
    assert!(!after.contains("HUB_FAQ_DIR"), "{after}");
    assert!(
        !after.contains(concat!(env!("CARGO_MANIFEST_DIR"), "/faq/data")),
        "{after}"
    );
    app.hub.stop().await;
}

#[tokio::test]
async fn the_command_line_import_is_audited_and_notice_and_survey_pages_speak_japanese() {
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("residents.csv");
    std::fs::write(
        &file,
        "住民ID,生年月日,地区,言語,関心,メールアドレス\nR-cli-1,1970-01-01,今元,ja,防災,cli1@example.org\n",
    )
    .expect("csv written");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["residents", "import"])
        .arg(&file)
        .env("HUB_DATABASE_URL", &app.database_url)
        .output()
        .expect("hub runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(audit_actions(&app).await.iter().any(|(actor, action)| {
        actor == "hub residents import (command line)" && action == "resident.import"
    }));
    add_staff(&app, "kanri", "admin").await;
    let admin = login(&app, "kanri").await;
    let html = page(&admin, &app, "/admin/audit?action=resident.import").await;
    assert!(
        html.contains("住民の一括取り込み") && html.contains("コマンドライン"),
        "{html}"
    );

    // A scheduled notice: its report and edit pages read the rule and the repeat in Japanese.
    let id = app
        .create_notice(&json!({"title": "ごみ収集のお知らせ", "body": {"ja": "収集日が変わります。", "vi": "Ngày thu gom rác thay đổi."},
                                "segment": "age >= 65 and district in [\"今元\"]", "channels": ["email"],
                                "cron": "0 0 9 * * Mon *"}))
        .await;
    for path in [
        format!("/admin/notices/{id}"),
        format!("/admin/notices/{id}/edit"),
        "/admin/notices".to_owned(),
        "/admin/surveys/new".to_owned(),
    ] {
        let html = page(&admin, &app, &path).await;
        if path.starts_with("/admin/notices") && !path.ends_with("/edit") {
            assert!(html.contains("毎週月曜 9:00"), "{path}: {html}");
        }
        if path.ends_with(&id.to_string()) {
            assert!(
                html.contains("年齢65歳以上 かつ 今元地区"),
                "{path}: {html}"
            );
            assert!(!html.contains("age &gt;= 65"), "{path}");
        }
    }
    let html = page(&admin, &app, &format!("/admin/notices/{id}/edit")).await;
    assert!(html.contains(&format!("data-edit=\"{id}\"")));
    assert!(html.contains("Ngày thu gom rác thay đổi."));
    // A rule error says where, in Japanese.
    let (status, error) = admin
        .api(
            &app,
            "/api/segments/preview",
            &json!({"rule": "age >= x"}),
            true,
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(
        error["message"], "条件式の8文字目: ここには数字が必要です。",
        "{error}"
    );
    app.hub.stop().await;
}
