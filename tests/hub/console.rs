//! The staff console (issue 7): accounts and sessions, CSRF, role-gated pages, FAQ editing, and the
//! whole flow in a real browser.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Row;

use crate::support::console::{
    Browser, PASSWORD, add_staff, audit_actions, hidden_value, login, no_redirects, set_cookie,
    try_login,
};
use crate::support::{
    ADMIN_TOKEN, BACKENDS, Backend, TestApp, browser, eventually, form as form_encode, spawn_app,
    spawn_app_with,
};

/// Every console page: each must send a visitor without a session to the login page.
const PAGES: [&str; 15] = [
    "/admin",
    "/admin/surveys",
    "/admin/surveys/1",
    "/admin/",
    "/admin/residents",
    "/admin/residents/R-1",
    "/admin/notices",
    "/admin/notices/1",
    "/admin/emergency",
    "/admin/faq",
    "/admin/faq/edit",
    "/admin/faq/edit?id=gomi-bunbetsu",
    "/admin/audit",
    "/admin/staff",
    "/admin/tokens",
];

#[tokio::test]
async fn every_admin_page_sends_a_visitor_without_a_session_to_login() {
    let app = spawn_app(Backend::Sqlite).await;
    let client = no_redirects();
    for path in PAGES {
        for cookie in [None, Some("hub_session=forged-or-expired")] {
            let mut request = client.get(app.url(path));
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.status().as_u16(), 303, "{path} with {cookie:?}");
            assert_eq!(
                response.headers()["location"].to_str().ok(),
                Some("/admin/login"),
                "{path}"
            );
        }
    }
    // The login page itself is Japanese and loads its stylesheet from the hub (no inline style or script).
    let page = client
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("login page");
    let html = page.text().await.expect("body");
    assert!(html.contains("<html lang=\"ja\">"));
    assert!(html.contains("/admin/static/console.css"));
    assert!(!html.contains("<style") && !html.contains("style=") && !html.contains("<script>"));
    app.hub.stop().await;
}

#[tokio::test]
async fn login_opens_a_strict_session_and_logout_ends_it() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        add_staff(&app, "yamada", "pr").await;
        let browser = login(&app, "yamada").await;
        let line = &browser.set_cookie_line;
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(line.contains(attribute), "{backend:?}: {line}");
        }
        assert!(!line.contains("Secure"), "plain http: no Secure ({line})");

        // Pages work, the API accepts the cookie, and the page's JS and CSS are served with their types.
        let (status, html) = browser.get(&app, "/admin").await;
        assert_eq!(status, 200);
        assert!(html.contains("yamada（広報）"), "{html}");
        let (status, body) = browser
            .api(&app, "/api/segments/preview", &json!({"rule": "all"}), true)
            .await;
        assert_eq!(status, 200, "{body}");
        for (path, kind) in [
            ("/admin/static/console.js", "text/javascript"),
            ("/admin/static/console.css", "text/css"),
        ] {
            let response = reqwest::get(app.url(path)).await.expect("asset");
            assert_eq!(response.status(), 200);
            assert!(
                response.headers()["content-type"]
                    .to_str()
                    .unwrap_or_default()
                    .starts_with(kind)
            );
        }

        // Passwords are stored as argon2id hashes only.
        let row = sqlx::query("SELECT password_hash FROM staff_users WHERE username = 'yamada'")
            .fetch_one(&app.hub.state.db.pool)
            .await
            .expect("the account");
        let hash: String = row.try_get("password_hash").expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains(PASSWORD));
        let sessions: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM staff_sessions")
            .fetch_all(&app.hub.state.db.pool)
            .await
            .expect("sessions");
        let raw = browser.cookie.trim_start_matches("hub_session=");
        assert_eq!(sessions.len(), 1);
        assert_ne!(sessions[0], raw, "only the cookie's hash is stored");

        // Logout needs the CSRF token, then the cookie no longer works anywhere.
        let (status, _, _) = browser.post_form(&app, "/admin/logout", &[]).await;
        assert_eq!(status, 403);
        let (status, _, location) = browser
            .post_form(&app, "/admin/logout", &[("csrf", &browser.csrf)])
            .await;
        assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));
        let (status, _) = browser.get(&app, "/admin").await;
        assert_eq!(status, 303);
        let (status, _) = browser
            .api(&app, "/api/segments/preview", &json!({"rule": "all"}), true)
            .await;
        assert_eq!(status, 401);

        let actions = audit_actions(&app).await;
        for action in ["staff.create", "login", "logout"] {
            assert!(
                actions.iter().any(|(_, a)| a == action),
                "{backend:?}: {action} in {actions:?}"
            );
        }
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn https_public_url_makes_the_cookie_secure() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("HUB_PUBLIC_URL", "https://hub.example.jp")],
    )
    .await;
    add_staff(&app, "sato", "viewer").await;
    let browser = login(&app, "sato").await;
    assert!(
        browser.set_cookie_line.contains("; Secure"),
        "{}",
        browser.set_cookie_line
    );
    app.hub.stop().await;
}

#[tokio::test]
async fn state_changes_without_the_csrf_token_are_refused() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        add_staff(&app, "yamada", "pr").await;
        let browser = login(&app, "yamada").await;
        let notice = json!({
            "title": "CSRF試験", "body": {"ja": "本文"}, "segment": "all", "channels": ["line"],
            "send_at": "2030-01-01T09:00:00+09:00"
        });
        let (status, body) = browser.api(&app, "/api/notices", &notice, false).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["field"], "x-csrf-token");
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notices")
            .fetch_one(&app.hub.state.db.pool)
            .await
            .expect("count");
        assert_eq!(count, 0, "nothing was created");
        // Another session's token does not do either.
        add_staff(&app, "other", "pr").await;
        let other = login(&app, "other").await;
        let forged = Browser {
            cookie: browser.cookie.clone(),
            csrf: other.csrf.clone(),
            set_cookie_line: String::new(),
        };
        let (status, _) = forged.api(&app, "/api/notices", &notice, true).await;
        assert_eq!(status, 403);
        let (status, body) = browser.api(&app, "/api/notices", &notice, true).await;
        assert_eq!(status, 201, "{body}");

        // The login form is protected too: a post without the login cookie's token is refused.
        let response = no_redirects()
            .post(app.url("/admin/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_encode(&[
                ("username", "yamada"),
                ("password", PASSWORD),
                ("csrf", "guess"),
            ]))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status().as_u16(), 403);
        assert!(set_cookie(&response, "hub_session").is_none());
        // And the FAQ form.
        let (status, _, _) = browser
            .post_form(&app, "/admin/faq/edit", &[("id", "x"), ("question", "q")])
            .await;
        assert_eq!(status, 403);
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn a_pr_account_neither_sees_nor_opens_the_emergency_page() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        add_staff(&app, "kouhou", "pr").await;
        add_staff(&app, "bousai", "disaster").await;
        let pr = login(&app, "kouhou").await;
        let disaster = login(&app, "bousai").await;

        let (status, html) = pr.get(&app, "/admin").await;
        assert_eq!(status, 200);
        assert!(!html.contains("/admin/emergency"), "no menu item for PR");
        assert!(
            !html.contains("/admin/audit"),
            "the audit log is for admins"
        );
        let (status, html) = pr.get(&app, "/admin/emergency").await;
        assert_eq!(status, 403);
        assert!(!html.contains("emergency-form"));
        let (status, _) = pr
            .api(
                &app,
                "/api/emergencies",
                &json!({"title": "x", "body": {"ja": "x"}, "districts": null}),
                true,
            )
            .await;
        assert_eq!(status, 403);
        let (status, _) = pr.get(&app, "/admin/audit").await;
        assert_eq!(status, 403);

        let (status, html) = disaster.get(&app, "/admin").await;
        assert_eq!(status, 200);
        assert!(html.contains("href=\"/admin/emergency\""));
        assert!(
            !html.contains("href=\"/admin/faq\""),
            "the FAQ is for PR staff"
        );
        let (status, _) = disaster.get(&app, "/admin/faq").await;
        assert_eq!(status, 403);
        let (status, html) = disaster.get(&app, "/admin/emergency").await;
        assert_eq!(status, 200);
        for template in ["避難指示", "土砂災害警戒", "断水"] {
            assert!(html.contains(template), "{template}");
        }
        for district in ["今元", "蓑島"] {
            assert!(html.contains(district));
        }
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn staff_accounts_are_made_by_admins_with_checked_input() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let pr_token = app.token("pr").await;
        let request = json!({"username": "suzuki", "role": "pr", "password": PASSWORD});
        let (status, _) = app.post_json("/api/staff", Some(&pr_token), &request).await;
        assert_eq!(status, 403);
        let (status, _) = app.post_json("/api/staff", None, &request).await;
        assert_eq!(status, 401);
        for (bad, field) in [
            (
                json!({"username": "a b", "role": "pr", "password": PASSWORD}),
                "username",
            ),
            (
                json!({"username": "suzuki", "role": "pr", "password": "short"}),
                "password",
            ),
            (
                json!({"username": "suzuki", "role": "mayor", "password": PASSWORD}),
                "role",
            ),
        ] {
            let (status, body) = app.post_json("/api/staff", Some(ADMIN_TOKEN), &bad).await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["field"], field, "{body}");
        }
        let (status, body) = app
            .post_json("/api/staff", Some(ADMIN_TOKEN), &request)
            .await;
        assert_eq!((status, body["role"].as_str()), (201, Some("pr")), "{body}");
        let (status, body) = app
            .post_json("/api/staff", Some(ADMIN_TOKEN), &request)
            .await;
        assert_eq!(status, 409, "{body}");
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn hub_staff_add_creates_an_account_from_the_command_line() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
            .args(["staff", "add", "--username", "cli-admin", "--role", "admin"])
            .env("HUB_DATABASE_URL", &app.database_url)
            .env_remove("HUB_STAFF_PASSWORD")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("hub starts");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            writeln!(stdin, "{PASSWORD}").expect("password written");
        }
        let output = child.wait_with_output().expect("hub finishes");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let browser = login(&app, "cli-admin").await;
        let (status, html) = browser.get(&app, "/admin/audit").await;
        assert_eq!(status, 200);
        assert!(html.contains("staff.create") && html.contains("cli-admin"));

        // A short password from the environment is refused and nothing is created.
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
            .args(["staff", "add", "--username", "weak", "--role", "pr"])
            .env("HUB_DATABASE_URL", &app.database_url)
            .env("HUB_STAFF_PASSWORD", "short")
            .output()
            .expect("hub runs");
        assert!(!output.status.success());
        let (status, _, _) = try_login(&app, "weak", "short").await;
        assert_eq!(status, 401);
        app.hub.stop().await;
    }
}

/// A copy of the bundled FAQ in a temporary folder, so edits do not touch the repository.
fn faq_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("faq/data");
    for entry in std::fs::read_dir(bundled).expect("bundled FAQ") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    dir
}

#[tokio::test]
async fn without_hub_faq_dir_console_edits_land_in_the_data_folder_and_survive_a_restart() {
    let app = spawn_app(Backend::Sqlite).await;
    let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("faq/data/04-gomi.toml");
    let bundled_before = std::fs::read(&bundled).expect("bundled file");
    let db_file = app
        .database_url
        .strip_prefix("sqlite://")
        .expect("a SQLite URL");
    let data_faq = std::path::Path::new(db_file)
        .parent()
        .expect("the database's folder")
        .join("data/faq");
    assert!(
        data_faq.join("04-gomi.toml").is_file(),
        "seeded at first start with the bundled FAQ"
    );
    add_staff(&app, "kouhou", "pr").await;
    let browser = login(&app, "kouhou").await;
    let (status, html) = browser.get(&app, "/admin/faq").await;
    assert_eq!(status, 200);
    assert!(!html.contains("HUB_FAQ_DIR"), "no refusal: {html}");
    let (status, html) = browser.get(&app, "/admin/faq/edit?id=gomi-bunbetsu").await;
    assert_eq!(status, 200);
    let csrf = hidden_value(&html, "csrf");
    let answer = "分別はデータ用フォルダの「ごみカレンダー」を見てください。";
    let (status, body, _) = browser
        .post_form(
            &app,
            "/admin/faq/edit",
            &[
                ("csrf", &csrf),
                ("original_id", "gomi-bunbetsu"),
                ("id", "gomi-bunbetsu"),
                ("question", "ごみの分け方が分からない"),
                ("alternatives", "ゴミの分別方法"),
                ("answer", answer),
                ("category", "ごみ・リサイクル"),
                ("department", "環境課"),
                ("keywords", "分別"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let written = std::fs::read_to_string(data_faq.join("04-gomi.toml")).expect("data copy");
    assert!(written.contains(answer), "{written}");
    assert_eq!(
        std::fs::read(&bundled).expect("bundled file"),
        bundled_before,
        "the bundled FAQ is untouched"
    );
    app.hub.stop().await;

    let again = crate::support::spawn_hub(&app.database_url, &[]).await;
    assert_eq!(
        again
            .state
            .chat
            .faq
            .index()
            .entry("gomi-bunbetsu")
            .map(|e| e.answer.clone()),
        Some(answer.to_owned()),
        "the edit survives a restart"
    );
    again.stop().await;
}

#[tokio::test]
async fn faq_edits_are_written_to_the_toml_files_and_answer_at_once() {
    for backend in BACKENDS {
        let faq_dir = faq_copy();
        let app = spawn_app_with(
            backend,
            &[("HUB_FAQ_DIR", faq_dir.path().to_str().expect("utf-8 path"))],
        )
        .await;
        add_staff(&app, "kouhou", "pr").await;
        let browser = login(&app, "kouhou").await;

        // Edit an existing entry: its file changes, the other entries and the header comment stay.
        let (status, html) = browser.get(&app, "/admin/faq/edit?id=gomi-bunbetsu").await;
        assert_eq!(status, 200);
        let csrf = hidden_value(&html, "csrf");
        let answer = "分別は「ごみカレンダー」を見てください。\n品目が分からないときは環境課へ。";
        let (status, body, location) = browser
            .post_form(
                &app,
                "/admin/faq/edit",
                &[
                    ("csrf", &csrf),
                    ("original_id", "gomi-bunbetsu"),
                    ("id", "gomi-bunbetsu"),
                    ("question", "ごみの分け方が分からない"),
                    ("alternatives", "ゴミの分別方法\nこれは何ごみですか"),
                    ("answer", answer),
                    ("category", "ごみ・リサイクル"),
                    ("department", "環境課"),
                    ("keywords", "分別、分け方"),
                ],
            )
            .await;
        assert_eq!(status, 303, "{body}");
        assert_eq!(location.as_deref(), Some("/admin/faq?saved=gomi-bunbetsu"));
        let text = std::fs::read_to_string(faq_dir.path().join("04-gomi.toml")).expect("file");
        assert!(
            text.starts_with("# ごみの分け方"),
            "the header comment stays"
        );
        assert!(
            text.contains("id = \"gomi-shushubi\""),
            "the next entry stays"
        );
        let index = app.hub.state.chat.faq.index();
        assert_eq!(
            index.entry("gomi-bunbetsu").map(|e| e.answer.as_str()),
            Some(answer)
        );
        let before = index.len();

        // A missed question becomes a new entry: two clicks from the ranking (the link, then save).
        let (status, html) = browser.get(&app, "/admin/faq").await;
        assert_eq!(status, 200);
        assert!(html.contains("回答できなかった質問"));
        let (status, html) = browser
            .get(
                &app,
                "/admin/faq/edit?question=%E7%8A%AC%E3%81%AE%E7%99%BB%E9%8C%B2",
            )
            .await;
        assert_eq!(status, 200);
        assert!(
            html.contains("value=\"犬の登録\""),
            "the question is filled in"
        );
        let new_id = hidden_value(
            &html.replace("name=\"id\" value", "name=\"newid\" value"),
            "newid",
        );
        let (status, body, _) = browser
            .post_form(
                &app,
                "/admin/faq/edit",
                &[
                    ("csrf", &csrf),
                    ("original_id", ""),
                    ("id", &new_id),
                    ("question", "犬の登録"),
                    (
                        "answer",
                        "犬を飼い始めたら30日以内に環境課で登録してください。",
                    ),
                    ("category", "くらし"),
                    ("department", "環境課"),
                ],
            )
            .await;
        assert_eq!(status, 303, "{body}");
        let created =
            std::fs::read_to_string(faq_dir.path().join("console.toml")).expect("console.toml");
        assert!(created.contains(&format!("id = \"{new_id}\"")));
        assert_eq!(app.hub.state.chat.faq.index().len(), before + 1);

        // A bad form names the field and writes nothing.
        let (status, body, _) = browser
            .post_form(
                &app,
                "/admin/faq/edit",
                &[
                    ("csrf", &csrf),
                    ("original_id", ""),
                    ("id", "Bad Id"),
                    ("question", "q"),
                ],
            )
            .await;
        assert_eq!(status, 400);
        assert!(body.contains("data-field=\"id\""), "{body}");
        let after =
            std::fs::read_to_string(faq_dir.path().join("console.toml")).expect("console.toml");
        assert_eq!(after, created);

        let actions = audit_actions(&app).await;
        assert!(
            actions
                .iter()
                .any(|(actor, a)| actor == "kouhou" && a == "faq.edit")
        );
        assert!(
            actions
                .iter()
                .any(|(actor, a)| actor == "kouhou" && a == "faq.create")
        );
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn residents_search_and_notice_report_pages_show_the_data() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        seed_residents(&app).await;
        add_staff(&app, "kanri", "admin").await;
        let browser = login(&app, "kanri").await;
        let (status, html) = browser
            .get(&app, "/admin/residents?q=imamoto&district=")
            .await;
        assert_eq!(status, 200);
        assert!(
            html.contains("R-imamoto-1") && !html.contains("R-nakatsu-1"),
            "{backend:?}"
        );
        let (status, html) = browser
            .get(&app, "/admin/residents?q=&district=%E4%BB%B2%E6%B4%A5")
            .await;
        assert_eq!(status, 200);
        assert!(html.contains("R-nakatsu-1") && !html.contains("R-imamoto-1"));
        let (status, html) = browser.get(&app, "/admin/residents/R-imamoto-1").await;
        assert_eq!(status, 200);
        assert!(html.contains("今元") && html.contains("LINE"));

        // A notice sent now: its report counts by channel.
        let (status, body) = browser
            .api(
                &app,
                "/api/notices",
                &json!({"title": "報告試験", "body": {"ja": "本文"}, "segment": "district = \"今元\"",
                        "channels": ["line", "email"], "send_at": null,
                        "ignore_quiet_hours": true}),
                true,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_i64().expect("id");
        let path = format!("/admin/notices/{id}");
        eventually(
            format!("{backend:?}: the report page counting 3 deliveries"),
            Duration::from_secs(20),
            async || browser.get(&app, &path).await.1,
            |html| html.contains("<tr class=\"total\"><th scope=\"row\">合計</th><td>3</td>"),
        )
        .await;
        // The dashboard's chart has a line per channel and counts today's deliveries.
        let (status, html) = browser.get(&app, "/admin").await;
        assert_eq!(status, 200);
        assert_eq!(html.matches("<polyline").count(), 4);
        assert!(
            html.contains("LINE: 2件") && html.contains("メール: 1件"),
            "{html}"
        );
        app.hub.stop().await;
    }
}

/// Three residents in 今元 (two on LINE, one by email) and one in 仲津.
async fn seed_residents(app: &TestApp) {
    let people = [
        (
            "R-imamoto-1",
            "今元",
            json!({"line": "U00000000000000000000000000000001"}),
        ),
        (
            "R-imamoto-2",
            "今元",
            json!({"line": "U00000000000000000000000000000002"}),
        ),
        (
            "R-imamoto-3",
            "今元",
            json!({"email": "imamoto3@example.org"}),
        ),
        (
            "R-nakatsu-1",
            "仲津",
            json!({"email": "nakatsu1@example.org"}),
        ),
    ];
    for (id, district, channels) in people {
        let (status, body) = app
            .post_json(
                "/api/residents",
                Some(ADMIN_TOKEN),
                &json!({"external_id": id, "birth_date": "1960-04-01", "district": district,
                        "language": "ja", "interests": ["ごみ"], "channels": channels}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// Runs tests/browser/console.mjs against `app` and returns what it printed.
async fn run_console_browser(app: &TestApp, username: &str, steps: &str) -> Value {
    let artifacts = browser::artifacts_dir();
    let shown = browser::run_script(
        "console.mjs",
        vec![
            app.base.clone().into(),
            username.into(),
            PASSWORD.into(),
            artifacts.into(),
            steps.into(),
        ],
    )
    .await;
    // The browser ran under the hub's own Content-Security-Policy, the one it sends on every console page.
    let login = app
        .client
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("login page");
    let csp = login
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .expect("a Content-Security-Policy")
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(shown["csp"], json!([csp]), "{shown}");
    shown
}

#[tokio::test]
async fn console_schedules_a_notice_in_a_real_browser() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_residents(&app).await;
    add_staff(&app, "kouhou", "pr").await;
    let shown = run_console_browser(&app, "kouhou", "notices").await;
    assert_eq!(shown["problems"], json!([]), "{shown}");
    assert_eq!(shown["redirected_to_login"], "/admin/login");
    assert_eq!(shown["lang"], "ja");
    let menu = shown["menu"].as_array().expect("menu");
    assert!(
        !menu.iter().any(|m| m == "緊急配信"),
        "PR sees no emergency item: {shown}"
    );
    assert_eq!(shown["chart_lines"], 4);
    assert_eq!(shown["count_everyone"], 4, "{shown}");
    assert_eq!(shown["rule"], "district in [\"今元\"]");
    assert_eq!(shown["count_district"], 3, "{shown}");
    assert!(
        shown["preview"]
            .as_str()
            .unwrap_or_default()
            .contains("年末年始"),
        "{shown}"
    );
    // The calendar shows the notice on the chosen day at 09:00 JST, and the database agrees.
    let date = shown["schedule"]["date"].as_str().expect("date");
    assert_eq!(shown["calendar"]["time"], "09:00");
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
    assert!(
        shown["calendar"]["day"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&day.format("%Y年%-m月%-d日").to_string()),
        "{shown}"
    );
    assert_eq!(
        shown["calendar"]["datetime"].as_str().unwrap_or_default(),
        format!("{date}T09:00:00+09:00")
    );
    let row = sqlx::query("SELECT title, status, next_fire_ms, created_by FROM notices")
        .fetch_one(&app.hub.state.db.pool)
        .await
        .expect("the notice");
    assert_eq!(
        row.try_get::<String, _>("status").ok().as_deref(),
        Some("scheduled")
    );
    assert_eq!(
        row.try_get::<String, _>("created_by").ok().as_deref(),
        Some("kouhou")
    );
    let expected =
        chrono::NaiveDateTime::parse_from_str(&format!("{date} 00:00:00"), "%Y-%m-%d %H:%M:%S")
            .expect("date")
            .and_utc()
            .timestamp_millis();
    assert_eq!(
        row.try_get::<i64, _>("next_fire_ms").ok(),
        Some(expected),
        "09:00 JST is 00:00 UTC"
    );
    assert!(
        shown["tablet_overflow"].as_i64().unwrap_or(1) <= 0,
        "{shown}"
    );
    let actions = audit_actions(&app).await;
    assert!(
        actions
            .iter()
            .any(|(actor, a)| actor == "kouhou" && a == "notice.create")
    );
    app.hub.stop().await;
}

#[tokio::test]
async fn console_imports_residents_and_confirms_an_emergency_in_a_real_browser() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_residents(&app).await;
    add_staff(&app, "kanri", "admin").await;
    let shown = run_console_browser(&app, "kanri", "import,emergency-confirm").await;
    assert_eq!(shown["problems"], json!([]), "{shown}");
    assert!(
        shown["menu"]
            .as_array()
            .expect("menu")
            .iter()
            .any(|m| m == "緊急配信")
    );

    // A bad row: the line is named and nothing is applied; then the good file goes in whole.
    let bad = &shown["import_bad"];
    assert_eq!(bad["ok"], false, "{shown}");
    assert!(
        bad["text"].as_str().unwrap_or_default().contains("3行目"),
        "{shown}"
    );
    assert_eq!(bad["progress"], 100);
    let good = &shown["import_good"];
    assert_eq!(good["ok"], true, "{shown}");
    assert!(
        good["text"]
            .as_str()
            .unwrap_or_default()
            .contains("2人を取り込みました"),
        "{shown}"
    );
    let (status, body) = app.get("/api/residents/R-web-2", Some(ADMIN_TOKEN)).await;
    assert_eq!(
        (status, body["district"].as_str()),
        (200, Some("蓑島")),
        "{body}"
    );

    // The emergency page: a template for the chosen district, and the confirmation counts who it reaches.
    assert!(
        shown["emergency_title"]
            .as_str()
            .unwrap_or_default()
            .contains("避難指示")
            && shown["emergency_title"]
                .as_str()
                .unwrap_or_default()
                .contains("今元"),
        "{shown}"
    );
    assert_eq!(
        shown["emergency_reach"], 4,
        "three seeded and R-web-1 live in 今元: {shown}"
    );
    let actions = audit_actions(&app).await;
    assert!(
        actions
            .iter()
            .any(|(actor, a)| actor == "kanri" && a == "resident.import")
    );
    app.hub.stop().await;
}

#[tokio::test]
async fn console_sends_a_test_emergency_and_follows_it_in_a_real_browser() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("HUB_EMERGENCY_TEST_RECIPIENTS", "R-imamoto-1,R-imamoto-3")],
    )
    .await;
    seed_residents(&app).await;
    add_staff(&app, "bousai", "disaster").await;
    let shown = run_console_browser(&app, "bousai", "emergency").await;
    assert_eq!(shown["problems"], json!([]), "{shown}");
    // The dry run reaches the two test recipients, not the four people of 今元.
    assert_eq!(shown["emergency_reach"], 2, "{shown}");
    // Progress streamed to the page until done: one LINE and one email delivery, recorded (no credentials).
    assert_eq!(
        shown["emergency_total"],
        json!(["2", "0", "2", "0", "0"]),
        "{shown}"
    );
    assert!(
        shown["emergency_status"]
            .as_str()
            .unwrap_or_default()
            .starts_with("記録のみ（送信されていません）"),
        "{shown}"
    );
    let (status, list) = app.get("/api/emergencies", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["dry_run"], true);
    let actions = audit_actions(&app).await;
    assert!(
        actions
            .iter()
            .any(|(actor, a)| actor == "bousai" && a.starts_with("emergency")),
        "{actions:?}"
    );
    app.hub.stop().await;
}
