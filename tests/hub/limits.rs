//! Issue 25, holes 1, 2 and 9: a notice template cannot crash or exhaust the hub, made-up HTTP methods cannot
//! grow the metrics, and pages with personal data or signed tokens are never stored by a cache.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::console::{add_staff, login};
use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, TestApp, spawn_app};

/// The template of the report: an inline partial that calls itself.
const RECURSIVE: &str = "{{#*inline \"a\"}}{{> a}}{{/inline}}{{> a}}";

fn notice(templates: Value) -> Value {
    json!({
        "title": "防災訓練",
        "body": {"ja": "土曜日に防災訓練があります。"},
        "segment": "",
        "channels": ["line", "email"],
        "send_at": "2099-01-01T09:00:00+09:00",
        "cron": null,
        "ignore_quiet_hours": true,
        "templates": templates,
    })
}

async fn assert_healthy(app: &TestApp) {
    let response = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("the hub answers");
    assert_eq!(response.status().as_u16(), 200);
}

async fn seed_resident(app: &TestApp, id: &str) {
    let (status, body) = app
        .post_json(
            "/api/residents",
            Some(ADMIN_TOKEN),
            &json!({"external_id": id, "birth_date": "1960-04-01", "district": "今元", "language": "ja",
                    "interests": [], "channels": {"line": "U00000000000000000000000000000001"}}),
        )
        .await;
    assert!(status == 200 || status == 201, "{status} {body}");
}

/// Saves (or previews) a notice and expects a 400 naming `field`; returns the message.
async fn refused(app: &TestApp, token: &str, path: &str, notice: Value, field: &str) -> String {
    let body = if path.ends_with("preview") {
        json!({"notice": notice, "resident": "R-limits-1", "channel": "line"})
    } else {
        notice
    };
    let (status, error) = app.post_json(path, Some(token), &body).await;
    assert_eq!(status, 400, "{path}: {error}");
    assert_eq!(error["field"], field, "{path}: {error}");
    error["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_that_recurse_nest_or_explode_are_refused_and_the_hub_stays_up() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let pr = app.token("pr").await;
        seed_resident(&app, "R-limits-1").await;
        for path in ["/api/notices/preview", "/api/notices"] {
            let message = refused(
                &app,
                &pr,
                path,
                notice(json!({"line": {"text": RECURSIVE}})),
                "templates.line.text",
            )
            .await;
            assert!(message.contains("inline partials"), "{message}");
            assert_healthy(&app).await;
            let message = refused(
                &app,
                &pr,
                path,
                notice(json!({"line": {"text": "{{> a}}"}})),
                "templates.line.text",
            )
            .await;
            assert!(message.contains("partials"), "{message}");
            // Nine blocks inside one another: one more than the cap.
            let deep = format!(
                "{}{{{{title}}}}{}",
                "{{#if title}}".repeat(9),
                "{{/if}}".repeat(9)
            );
            let message = refused(
                &app,
                &pr,
                path,
                notice(json!({"line": {"text": deep}})),
                "templates.line.text",
            )
            .await;
            assert!(message.contains("nest more than 8"), "{message}");
            // Deep enough to overflow the parser: refused before it is parsed.
            let deeper = format!(
                "{}{{{{title}}}}{}",
                "{{#if title}}".repeat(5000),
                "{{/if}}".repeat(5000)
            );
            refused(
                &app,
                &pr,
                path,
                notice(json!({"line": {"text": deeper}})),
                "templates.line.text",
            )
            .await;
            let parens = format!(
                "{{{{not {}title{}}}}}",
                "(not ".repeat(10_000),
                ")".repeat(10_000)
            );
            refused(
                &app,
                &pr,
                path,
                notice(json!({"line": {"text": parens}})),
                "templates.line.text",
            )
            .await;
            // 8,000 copies of a 3 KB body would be 24 MB of email: stopped at the output cap.
            let huge = notice(json!({"email": {"subject": "{{title}}", "text": "{{body}}",
                                               "html": "{{body}}".repeat(8000)}}));
            let mut huge = huge;
            huge["body"]["ja"] = json!("避難所のご案内。".repeat(128));
            huge["channels"] = json!(["email"]);
            let message = refused(&app, &pr, path, huge, "templates.email.html").await;
            assert!(message.contains("larger than"), "{message}");
            assert_healthy(&app).await;
        }
        let (_, list) = app.get("/api/notices", Some(&pr)).await;
        assert_eq!(
            list.as_array().map(Vec::len),
            Some(0),
            "nothing was saved: {list}"
        );
        assert_healthy(&app).await;
        app.hub.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_stored_before_the_checks_fails_its_notice_instead_of_the_hub() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let pr = app.token("pr").await;
        seed_resident(&app, "R-limits-1").await;
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice(json!({"line": {"text": "{{title}}"}})),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        // As an older hub could have stored it: the recursive template, due now.
        sqlx::any::install_default_drivers();
        let mut connection = sqlx::AnyConnection::connect(&app.database_url)
            .await
            .expect("database");
        let templates = json!({"line": {"text": RECURSIVE}}).to_string();
        sqlx::query(
            "UPDATE notices SET templates = $1, send_at_ms = $2, next_fire_ms = $2 WHERE id = $3",
        )
        .bind(templates)
        .bind(chrono::Utc::now().timestamp_millis())
        .bind(id)
        .execute(&mut connection)
        .await
        .expect("update");
        let deadline = Instant::now() + Duration::from_secs(20);
        let stored = loop {
            let (_, stored) = app.get(&format!("/api/notices/{id}"), Some(&pr)).await;
            if stored["status"] == "failed" || Instant::now() > deadline {
                break stored;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(stored["status"], "failed", "{stored}");
        assert!(stored.to_string().contains("inline partials"), "{stored}");
        assert_healthy(&app).await;
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics() {
    let app = spawn_app(Backend::Sqlite).await;
    // 1,000 requests with made-up methods over one connection, as in the report.
    let mut stream = tokio::net::TcpStream::connect(app.hub.addr)
        .await
        .expect("connect");
    let mut answered = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    for n in 0..1000 {
        let request = format!(
            "X-SCAN-{n:04} /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        // One answer per request (each is small: read until its body is complete).
        let mut got = Vec::new();
        loop {
            let read = stream.read(&mut buffer).await.expect("read");
            assert!(read > 0, "the hub closed the connection after {n} requests");
            got.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&got);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        line.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
                    break;
                }
            }
        }
        answered += 1;
    }
    assert_eq!(answered, 1000);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    let text = metrics.text().await.expect("body");
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(!text.contains("X-SCAN"), "a made-up method became a label");
    assert!(text.len() < 64 * 1024, "/metrics is {} bytes", text.len());
    let line = text
        .lines()
        .find(|line| {
            line.starts_with("hub_http_requests_total") && line.contains("method=\"other\"")
        })
        .expect("the other line");
    assert!(line.ends_with(" 1000"), "{line}");
    assert_healthy(&app).await;
    app.hub.stop().await;
}

#[tokio::test]
async fn personal_data_and_signed_links_are_never_stored_by_a_cache() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_resident(&app, "R-limits-1").await;
    let cache_control = |response: &reqwest::Response| {
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let response = app
        .client
        .get(app.url("/api/residents/R-limits-1"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(cache_control(&response), "no-store");
    add_staff(&app, "limits-admin", "admin").await;
    let browser = login(&app, "limits-admin").await;
    for path in [
        "/admin",
        "/admin/residents",
        "/admin/residents/R-limits-1",
        "/admin/notices",
    ] {
        let response = browser.send(&app, path).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert_eq!(cache_control(&response), "no-store", "{path}");
    }
    // Resident pages with a token in their address, whatever the answer (an unknown token here).
    for path in [
        "/api/audit",
        "/admin/login",
        "/register",
        "/register/confirm/not-a-token",
        "/preferences/not-a-token",
        "/unsubscribe/not-a-token",
        "/s/not-a-token",
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("answer");
        assert_eq!(cache_control(&response), "no-store", "{path}");
    }
    // Static files keep their own caching.
    let response = app
        .client
        .get(app.url("/survey.css"))
        .send()
        .await
        .expect("answer");
    assert_ne!(cache_control(&response), "no-store");
    app.hub.stop().await;
}
