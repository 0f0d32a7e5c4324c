//! Staff login and API tokens (issue 25, holes 3, 7, 8): a login flood stays bounded (hashes, memory, audit
//! rows), failures throttle the failing client and not the account, unknown and real names answer alike, admins
//! unlock (API, console, command line), and tokens are listed without secrets and revoked at once (API, console,
//! command line, and by rotating HUB_ADMIN_TOKEN).

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use crate::support::console::{
    PASSWORD, add_staff, audit_actions, login, no_redirects, try_login_from,
};
use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, TestApp, install_crypto, spawn_app_with};

const PROXY: [(&str, &str); 1] = [("HUB_CLIENT_IP_HEADER", "x-forwarded-for")];

/// The audit rows with `action`, newest first.
async fn audit_rows(app: &TestApp, action: &str) -> Vec<Value> {
    audit_rows_as(app, ADMIN_TOKEN, action).await
}

async fn audit_rows_as(app: &TestApp, token: &str, action: &str) -> Vec<Value> {
    let (status, body) = app.get("/api/audit?limit=1000", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

/// Writes the failure summaries as the periodic sweep will once the window has closed.
async fn close_windows(app: &TestApp) -> usize {
    let later =
        chrono::Utc::now().timestamp_millis() + hub::auth::login_guard::REPORT_WINDOW_MS + 1_000;
    hub::auth::login_guard::report(&app.hub.state.db, later)
        .await
        .expect("summaries written")
}

/// This process's peak resident memory (the hub runs in it), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// One login form (cookie and token) posted `n` times at once from the given client addresses.
async fn flood(app: &TestApp, clients: &[String], username: &str) -> Vec<(u16, Option<String>)> {
    let client = no_redirects();
    let page = client
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("login page");
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|line| line.starts_with("hub_login="))
        .and_then(|line| line.split(';').next())
        .expect("the login cookie")
        .to_owned();
    let html = page.text().await.expect("body");
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("the csrf field") + marker.len();
    let token = html[start..].split('"').next().expect("token").to_owned();
    let body = format!("username={username}&password=wrong-password-123&csrf={token}");
    let mut posts = Vec::new();
    for ip in clients {
        let request = client
            .post(app.url("/admin/login"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", ip)
            .body(body.clone());
        posts.push(tokio::spawn(async move {
            let response = request.send().await.expect("an answer");
            let retry = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (response.status().as_u16(), retry)
        }));
    }
    let mut answers = Vec::new();
    for post in posts {
        answers.push(post.await.expect("post task"));
    }
    answers
}

#[tokio::test]
async fn a_login_flood_is_rate_limited_hashes_are_bounded_and_audit_rows_stay_few() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &PROXY).await;
        add_staff(&app, "tanaka", "disaster").await;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // The FAQ's sentence encoder attaches in the background after start (its weights are ~130 MB): wait for it,
        // so the memory measured below is the login flood's.
        crate::chat_languages::encoder_ready(&app).await;
        let before = peak_rss_kib();

        // One client, 40 posts at once: the login limit (20 a minute) answers the rest 429 at once.
        let one = vec!["127.0.0.21".to_owned(); 40];
        let started = Instant::now();
        let answers = flood(&app, &one, "tanaka").await;
        let limited = answers.iter().filter(|(s, _)| *s == 429).count();
        let wrong = answers.iter().filter(|(s, _)| *s == 401).count();
        let busy = answers.iter().filter(|(s, _)| *s == 503).count();
        assert_eq!(limited + wrong + busy, 40, "{backend:?}: {answers:?}");
        assert!(
            wrong + busy <= 20 && limited >= 20,
            "{backend:?}: {answers:?}"
        );
        assert!(
            answers
                .iter()
                .filter(|(s, _)| *s == 429)
                .all(|(_, retry)| retry.is_some()),
            "429 carries Retry-After"
        );

        let after_one = peak_rss_kib();
        // Forty clients at once: no client limit applies, the hash gate does. At most one hash per core runs,
        // the queue is bounded and the rest are told "busy" (503) rather than held.
        let many: Vec<String> = (0..40).map(|i| format!("127.0.1.{}", i + 1)).collect();
        let answers = flood(&app, &many, "nobody").await;
        assert!(
            answers.iter().all(|(s, _)| *s == 401 || *s == 503),
            "{backend:?}: {answers:?}"
        );
        assert!(
            answers
                .iter()
                .filter(|(s, _)| *s == 503)
                .all(|(_, retry)| retry.is_some()),
            "503 carries Retry-After"
        );
        let peak = app.hub.state.login_gate.peak();
        assert!(
            (1..=cores).contains(&peak),
            "at most {cores} hashes at once, saw {peak}"
        );
        let elapsed = started.elapsed();
        // Peak memory of this process (test client and hub): the first flood starts the hub's hash threads,
        // database connections and buffers; the second flood of 40 attempts at once, which without the gate would
        // hold 40 × 19 MiB, adds at most two hashes' worth on top.
        let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
        let second_mib = peak_rss_kib().saturating_sub(after_one) / 1024;
        assert!(
            second_mib < 64,
            "{backend:?}: 40 attempts at once grew peak memory by {second_mib} MiB"
        );
        assert!(
            grown_mib < 300,
            "{backend:?}: peak memory grew {grown_mib} MiB"
        );
        let (status, _) = app.get("/healthz", None).await;
        assert_eq!(status, 200, "the hub stays healthy");

        // The audit log gets one summary per client and name, not one row per attempt.
        assert!(audit_rows(&app, "login.failed").await.is_empty());
        close_windows(&app).await;
        let rows = audit_rows(&app, "login.failed").await;
        let from_one: Vec<&Value> = rows
            .iter()
            .filter(|r| r["detail"]["client"] == "127.0.0.21")
            .collect();
        assert_eq!(from_one.len(), 1, "{backend:?}: {rows:?}");
        assert_eq!(from_one[0]["target"], "tanaka");
        assert_eq!(
            from_one[0]["detail"]["failures"].as_u64(),
            Some(wrong as u64)
        );
        let nobody_wrong = answers.iter().filter(|(s, _)| *s == 401).count();
        assert!(rows.len() <= 1 + nobody_wrong, "{rows:?}");
        // Summaries are written once: a second sweep adds nothing.
        assert_eq!(close_windows(&app).await, 0);
        eprintln!(
            "{backend:?}: 80 posts in {elapsed:?}, peak {peak} hashes, +{grown_mib} MiB (second flood +{second_mib} MiB), {} audit rows",
            rows.len()
        );
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn an_attackers_failures_throttle_the_attacker_not_the_real_user() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &PROXY).await;
        add_staff(&app, "tanaka", "disaster").await;
        let attacker = Some("127.0.0.66");
        // Six wrong passwords from one client: 401 each (the first five free, the sixth starts the backoff);
        // then that client is refused for this name, the right password included, with Retry-After.
        let mut known = Vec::new();
        for _ in 0..7 {
            let (status, _, _, _) =
                try_login_from(&app, attacker, "tanaka", "wrong-password!").await;
            known.push(status);
        }
        assert_eq!(known, [401, 401, 401, 401, 401, 401, 429], "{backend:?}");
        let (status, retry, body, session) =
            try_login_from(&app, attacker, "tanaka", PASSWORD).await;
        assert_eq!(status, 429, "{body}");
        assert!(retry.is_some_and(|secs| secs >= 1), "{retry:?}");
        assert!(
            body.contains("ログインの試行が多すぎます。しばらくしてからもう一度お試しください。"),
            "{body}"
        );
        assert!(session.is_none());

        // The real user, from their own client, gets in at once: no lock of the account against everyone.
        let (status, _, body, session) =
            try_login_from(&app, Some("127.0.0.10"), "tanaka", PASSWORD).await;
        assert_eq!(status, 303, "{backend:?}: {body}");
        let browser = session.expect("a session");
        let (status, _) = browser.get(&app, "/admin/emergency").await;
        assert_eq!(status, 200);

        // An unknown name answers exactly like a real one, attempt by attempt.
        let mut unknown = Vec::new();
        for _ in 0..7 {
            let (status, _, _, _) =
                try_login_from(&app, Some("127.0.0.67"), "nobody", "wrong-password!").await;
            unknown.push(status);
        }
        assert_eq!(unknown, known, "{backend:?}: no username probing");

        // The attacker's failures are summarised once in the audit log when the window closes.
        close_windows(&app).await;
        let rows = audit_rows(&app, "login.failed").await;
        let tanaka: Vec<&Value> = rows.iter().filter(|r| r["target"] == "tanaka").collect();
        assert_eq!(tanaka.len(), 1, "{rows:?}");
        assert_eq!(tanaka[0]["detail"]["client"], "127.0.0.66");
        assert_eq!(tanaka[0]["detail"]["failures"], 6);
        assert!(
            audit_rows(&app, "login")
                .await
                .iter()
                .any(|r| r["detail"]["client"] == "127.0.0.10")
        );
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn admins_lift_a_login_throttle_by_api_console_and_command_line_and_it_is_audited() {
    for backend in BACKENDS {
        // This test makes more attempts from one client than the login rate limit allows in a minute.
        let app = spawn_app_with(
            backend,
            &[PROXY[0], ("HUB_LOGIN_RATE_LIMIT_PER_MINUTE", "600")],
        )
        .await;
        add_staff(&app, "tanaka", "disaster").await;
        add_staff(&app, "kanri", "admin").await;
        let own = Some("127.0.0.30");
        for _ in 0..6 {
            try_login_from(&app, own, "tanaka", "mistyped-password").await;
        }
        let (status, _, _, _) = try_login_from(&app, own, "tanaka", PASSWORD).await;
        assert_eq!(status, 429, "{backend:?}");

        // API: only admins; an unknown account is 404.
        let viewer = app.token("viewer").await;
        let (status, _) = app
            .post_json("/api/staff/tanaka/unlock", Some(&viewer), &json!({}))
            .await;
        assert_eq!(status, 403);
        let (status, _) = app
            .post_json("/api/staff/nobody/unlock", Some(ADMIN_TOKEN), &json!({}))
            .await;
        assert_eq!(status, 404);
        let (status, body) = app
            .post_json("/api/staff/tanaka/unlock", Some(ADMIN_TOKEN), &json!({}))
            .await;
        assert_eq!(
            (status, body["cleared_clients"].as_u64()),
            (200, Some(1)),
            "{body}"
        );
        let (status, _, body, _) = try_login_from(&app, own, "tanaka", PASSWORD).await;
        assert_eq!(status, 303, "{backend:?}: {body}");
        let unlocks = audit_rows(&app, "staff.unlock").await;
        assert_eq!(unlocks.len(), 1);
        assert_eq!(unlocks[0]["target"], "tanaka");
        // The failures before the unlock were summarised then, not lost.
        let failed = audit_rows(&app, "login.failed").await;
        assert!(
            failed
                .iter()
                .any(|r| r["target"] == "tanaka" && r["detail"]["failures"] == 6),
            "{failed:?}"
        );

        // Console: the staff page shows the throttle and its button lifts it (CSRF-checked).
        for _ in 0..6 {
            try_login_from(&app, own, "tanaka", "mistyped-password").await;
        }
        let admin = login(&app, "kanri").await;
        let (status, html) = admin.get(&app, "/admin/staff").await;
        assert_eq!(status, 200);
        assert!(
            html.contains("ログイン制限中") && html.contains("ロック解除"),
            "{html}"
        );
        let (status, _, _) = admin
            .post_form(&app, "/admin/staff/tanaka/unlock", &[("csrf", "forged")])
            .await;
        assert_eq!(status, 403);
        let (status, _, location) = admin
            .post_form(&app, "/admin/staff/tanaka/unlock", &[("csrf", &admin.csrf)])
            .await;
        assert_eq!((status, location.as_deref()), (303, Some("/admin/staff")));
        let (status, _, _, _) = try_login_from(&app, own, "tanaka", PASSWORD).await;
        assert_eq!(status, 303);
        assert_eq!(audit_rows(&app, "staff.unlock").await[0]["actor"], "kanri");

        // Command line.
        for _ in 0..6 {
            try_login_from(&app, own, "tanaka", "mistyped-password").await;
        }
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
            .args(["staff", "unlock", "tanaka"])
            .env("HUB_DATABASE_URL", &app.database_url)
            .output()
            .expect("hub runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let (status, _, _, _) = try_login_from(&app, own, "tanaka", PASSWORD).await;
        assert_eq!(status, 303);
        let unlocks = audit_rows(&app, "staff.unlock").await;
        assert_eq!(unlocks.len(), 3);
        assert_eq!(unlocks[0]["actor"], "hub (command line)");
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn tokens_are_listed_without_secrets_and_revoked_at_once() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &[]).await;
        let pr = app.token("pr").await;
        let (status, _) = app.get("/api/audit", Some(&pr)).await;
        assert_eq!(status, 403, "the token works (and is not an admin's)");
        let (status, _) = app.get("/api/tokens", Some(&pr)).await;
        assert_eq!(status, 403);

        let response = app
            .client
            .get(app.url("/api/tokens"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("list");
        assert_eq!(response.status(), 200);
        let text = response.text().await.expect("body");
        assert!(!text.contains(&pr) && !text.contains(ADMIN_TOKEN), "{text}");
        let list: Vec<Value> = serde_json::from_str(&text).expect("json");
        let entry = list
            .iter()
            .find(|t| t["name"] == "test pr")
            .expect("the pr token");
        assert_eq!(entry["role"], "pr");
        assert!(entry["created_at_ms"].as_i64().is_some());
        assert!(entry["last_used_at_ms"].as_i64().is_some(), "{entry}");
        assert!(entry["revoked_at_ms"].is_null());
        for key in entry.as_object().expect("object").keys() {
            assert!(
                [
                    "id",
                    "name",
                    "role",
                    "created_at_ms",
                    "last_used_at_ms",
                    "revoked_at_ms",
                    "bootstrap"
                ]
                .contains(&key.as_str()),
                "unexpected field {key}"
            );
        }
        assert!(
            list.iter()
                .any(|t| t["bootstrap"] == true && t["role"] == "admin")
        );

        // API: revoked at once, the next request is 401; a second revoke finds nothing.
        let id = entry["id"].as_i64().expect("id");
        assert_eq!(
            app.delete(&format!("/api/tokens/{id}"), Some(&pr)).await,
            403
        );
        assert_eq!(
            app.delete(&format!("/api/tokens/{id}"), Some(ADMIN_TOKEN))
                .await,
            200
        );
        let (status, _) = app.get("/api/audit", Some(&pr)).await;
        assert_eq!(status, 401, "{backend:?}");
        assert_eq!(
            app.delete(&format!("/api/tokens/{id}"), Some(ADMIN_TOKEN))
                .await,
            404
        );
        let revokes = audit_rows(&app, "token.revoke").await;
        assert_eq!(revokes.len(), 1);
        assert_eq!(revokes[0]["target"], id.to_string());

        // Console: the tokens page lists them with a 失効 button (CSRF-checked form).
        add_staff(&app, "kanri", "admin").await;
        let viewer = app.token("viewer").await;
        let (_, list) = app.get("/api/tokens", Some(ADMIN_TOKEN)).await;
        let viewer_id = list
            .as_array()
            .and_then(|l| l.iter().find(|t| t["name"] == "test viewer"))
            .and_then(|t| t["id"].as_i64())
            .expect("viewer id");
        let admin = login(&app, "kanri").await;
        let (status, html) = admin.get(&app, "/admin/tokens").await;
        assert_eq!(status, 200);
        assert!(html.contains("失効") && html.contains("test viewer"));
        assert!(!html.contains(&viewer) && !html.contains(ADMIN_TOKEN));
        let path = format!("/admin/tokens/{viewer_id}/revoke");
        let (status, _, _) = admin.post_form(&app, &path, &[("csrf", "forged")]).await;
        assert_eq!(status, 403);
        let (status, _) = app.get("/api/residents/R-1", Some(&viewer)).await;
        assert_eq!(status, 404, "still works after a forged post");
        let (status, _, location) = admin.post_form(&app, &path, &[("csrf", &admin.csrf)]).await;
        assert_eq!((status, location.as_deref()), (303, Some("/admin/tokens")));
        let (status, _) = app.get("/api/residents/R-1", Some(&viewer)).await;
        assert_eq!(status, 401);

        // Command line: list (no secrets) and revoke.
        let disaster = app.token("disaster").await;
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
            .args(["tokens", "list"])
            .env("HUB_DATABASE_URL", &app.database_url)
            .output()
            .expect("hub runs");
        assert!(output.status.success());
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!stdout.contains(&disaster) && !stdout.contains(ADMIN_TOKEN));
        let disaster_id = stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|t| t["name"] == "test disaster")
            .and_then(|t| t["id"].as_i64())
            .expect("the disaster token is listed");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
            .args(["tokens", "revoke", &disaster_id.to_string()])
            .env("HUB_DATABASE_URL", &app.database_url)
            .output()
            .expect("hub runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let (status, _) = app.get("/api/residents/R-1", Some(&disaster)).await;
        assert_eq!(status, 401);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
            .args(["tokens", "revoke", &disaster_id.to_string()])
            .env("HUB_DATABASE_URL", &app.database_url)
            .output()
            .expect("hub runs");
        assert!(
            !output.status.success(),
            "a revoked token cannot be revoked again"
        );
        let actors: Vec<(String, String)> = audit_actions(&app)
            .await
            .into_iter()
            .filter(|(_, action)| action == "token.revoke")
            .collect();
        assert_eq!(actors.len(), 3, "{actors:?}");
        assert!(actors.iter().any(|(actor, _)| actor == "kanri"));
        assert!(
            actors
                .iter()
                .any(|(actor, _)| actor == "hub (command line)")
        );
        app.hub.stop().await;
    }
}

/// A hub on an existing database with `admin_token` as HUB_ADMIN_TOKEN.
async fn start_on(backend: Backend, database_url: &str, admin_token: &str) -> TestApp {
    install_crypto();
    let env: BTreeMap<String, String> = [
        ("HUB_LISTEN", "127.0.0.1:0"),
        ("HUB_DATABASE_URL", database_url),
        ("HUB_ADMIN_TOKEN", admin_token),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = hub::Config::from_parts(None, &env).expect("configuration");
    let hub = hub::spawn(config).await.expect("hub starts");
    TestApp::adopt(hub, backend, database_url.to_owned())
}

#[tokio::test]
async fn a_new_hub_admin_token_revokes_the_previous_one_across_a_restart() {
    const ROTATED: &str = "rotated-admin-token-9876543210";
    for backend in BACKENDS {
        let first = spawn_app_with(backend, &[]).await;
        let (status, _) = first.get("/api/audit", Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 200);
        let database_url = first.database_url.clone();
        // `first` keeps its temporary folder (the SQLite file) while the others run.
        first.hub.stop().await;

        let second = start_on(backend, &database_url, ROTATED).await;
        let (status, _) = second.get("/api/audit", Some(ADMIN_TOKEN)).await;
        assert_eq!(
            status, 401,
            "{backend:?}: the previous bootstrap token is revoked"
        );
        let (status, _) = second.get("/api/audit", Some(ROTATED)).await;
        assert_eq!(status, 200);
        let revokes = audit_rows_as(&second, ROTATED, "token.revoke").await;
        assert_eq!(revokes.len(), 1, "{revokes:?}");
        assert_eq!(revokes[0]["detail"]["reason"], "bootstrap token rotated");
        second.hub.stop().await;

        // The same token again changes nothing; the old one given again stays revoked.
        let third = start_on(backend, &database_url, ROTATED).await;
        let (status, _) = third.get("/api/audit", Some(ROTATED)).await;
        assert_eq!(status, 200);
        assert_eq!(
            audit_rows_as(&third, ROTATED, "token.revoke").await.len(),
            1
        );
        third.hub.stop().await;
        let fourth = start_on(backend, &database_url, ADMIN_TOKEN).await;
        let (status, _) = fourth.get("/api/audit", Some(ADMIN_TOKEN)).await;
        assert_eq!(
            status, 401,
            "a revoked token is not revived by configuration"
        );
        let (status, _) = fourth.get("/api/audit", Some(ROTATED)).await;
        assert_eq!(status, 200, "and it does not rotate the live one away");
        fourth.hub.stop().await;
    }
}

#[tokio::test]
async fn the_openapi_document_describes_token_revocation_and_unlock() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(
        doc["paths"]["/api/tokens"]["get"].is_object(),
        "{}",
        doc["paths"]
    );
    assert!(doc["paths"]["/api/tokens/{id}"]["delete"].is_object());
    assert!(doc["paths"]["/api/staff/{username}/unlock"]["post"].is_object());
    assert!(doc["components"]["schemas"]["TokenInfo"].is_object());
    app.hub.stop().await;
}
