//! Hardening (issue 9): the public surface (headers, body limits, rate limits), the LINE webhook acknowledging
//! first, data protection (retention, export, the audit log) and faults.

use std::time::{Duration, Instant};

use channels::line::webhook::sign;
use channels::testing::LineMock;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::db::count;
use crate::support::line::{
    SECRET, USER, body, line_app, post_webhook, replies, replies_now, settled, text_event,
};
use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, spawn_app, spawn_app_with};

const QUESTION: &str = "じゅうみんひょうをとりたい";

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in [
        "/chat",
        "/chat/chat.js",
        "/healthz",
        "/api/audit",
        "/no-such-page",
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("answer");
        let csp = header(&response, "content-security-policy");
        assert!(
            csp.contains("default-src 'self'")
                && csp.contains("script-src 'self';")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer");
        assert!(header(&response, "permissions-policy").contains("camera=()"));
        // Served over plain HTTP: no HSTS (it would lock browsers out of a test hub).
        assert!(
            response
                .headers()
                .get("strict-transport-security")
                .is_none()
        );
    }
    // The chat's script and style are files of their own, with their types.
    let script = app
        .client
        .get(app.url("/chat/chat.js"))
        .send()
        .await
        .unwrap();
    assert!(header(&script, "content-type").starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("new WebSocket"));
    let style = app
        .client
        .get(app.url("/chat/chat.css"))
        .send()
        .await
        .unwrap();
    assert!(header(&style, "content-type").starts_with("text/css"));
    let page = app.client.get(app.url("/chat")).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<style") && !html.contains("style="),
        "inline style left"
    );
    app.hub.stop().await;

    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("HUB_PUBLIC_URL", "https://hub.city.yukuhashi.example"),
            (
                "HUB_CHAT_FRAME_ANCESTORS",
                "https://www.city.yukuhashi.fukuoka.jp",
            ),
        ],
    )
    .await;
    // The city's site may frame the chat page, and only that page.
    let framed = app.client.get(app.url("/chat")).send().await.unwrap();
    assert!(
        header(&framed, "content-security-policy")
            .contains("frame-ancestors https://www.city.yukuhashi.fukuoka.jp;")
    );
    assert!(framed.headers().get("x-frame-options").is_none());
    let response = app
        .client
        .get(app.url("/chat/chat.js"))
        .send()
        .await
        .unwrap();
    assert!(header(&response, "content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header(&response, "x-frame-options"), "DENY");
    assert!(header(&response, "strict-transport-security").contains("max-age="));
    assert!(
        header(&response, "content-security-policy")
            .contains("connect-src 'self' wss://hub.city.yukuhashi.example;")
    );
    app.hub.stop().await;
}

#[tokio::test]
async fn bodies_are_limited_per_route_group() {
    let app = spawn_app(Backend::Sqlite).await;
    // 2 MiB to the staff API: refused before it is read, with the error shape.
    let big = vec![b' '; 2 * 1024 * 1024];
    let response = app
        .client
        .post(app.url("/api/residents"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["field"], "body", "{error}");
    // The webhook, even unsigned, is refused for its size first.
    let response = app
        .client
        .post(app.url("/line/webhook"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // A body streamed without a length (chunked) is cut off at the limit while it is read.
    let mut stream = tokio::net::TcpStream::connect(app.hub.addr).await.unwrap();
    let head = format!(
        "POST /api/residents HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.hub.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..40 {
        // The hub may answer and stop reading before the last chunk: a failed write is expected then.
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 512];
    let read = stream.read(&mut answer).await.unwrap();
    let status_line = String::from_utf8_lossy(&answer[..read]);
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");
    // The CSV import takes more than axum's old 2 MB default: a 3 MB file is read (and refused for its content).
    let mut csv = String::from("external_id,birth_date,district\n");
    while csv.len() < 3 * 1024 * 1024 {
        csv.push_str("R1,1950-01-01,今元\n");
    }
    csv.push_str("R2,not-a-date,今元\n");
    let response = app
        .client
        .post(app.url("/api/residents/import"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["field"]
            .as_str()
            .unwrap_or_default()
            .starts_with("line "),
        "{error}"
    );
    app.hub.stop().await;
}

#[tokio::test]
async fn resident_pages_are_rate_limited_per_client() {
    let app = spawn_app_with(Backend::Sqlite, &[("HUB_RATE_LIMIT_PER_MINUTE", "5")]).await;
    for n in 0..5 {
        let response = app.client.get(app.url("/chat")).send().await.unwrap();
        assert_eq!(response.status(), 200, "request {n}");
    }
    let refused = app
        .client
        .get(app.url("/chat/chat.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = header(&refused, "retry-after")
        .parse()
        .expect("Retry-After");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(header(&refused, "content-security-policy").contains("default-src"));
    let error: Value = refused.json().await.unwrap();
    assert!(error["error"].as_str().unwrap_or_default().contains("時間"));
    // Staff and operations endpoints are not counted.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // Behind a proxy, the client is the proxy's header: another resident still gets through.
    let proxied = spawn_app_with(
        Backend::Sqlite,
        &[
            ("HUB_RATE_LIMIT_PER_MINUTE", "2"),
            ("HUB_CLIENT_IP_HEADER", "X-Forwarded-For"),
        ],
    )
    .await;
    let get = |client: &'static str| {
        proxied
            .client
            .get(proxied.url("/chat"))
            .header("x-forwarded-for", format!("203.0.113.9, {client}"))
            .send()
    };
    assert_eq!(get("198.51.100.1").await.unwrap().status(), 200);
    assert_eq!(get("198.51.100.1").await.unwrap().status(), 200);
    assert_eq!(get("198.51.100.1").await.unwrap().status(), 429);
    assert_eq!(get("198.51.100.2").await.unwrap().status(), 200);
    app.hub.stop().await;
    proxied.hub.stop().await;
}

#[tokio::test]
async fn webhook_acknowledges_200_events_within_a_second_and_answers_each_once() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[]).await;
        let events: Vec<Value> = (0..200)
            .map(|n| {
                text_event(
                    &format!("01HBURST{n:018}"),
                    &format!("token-burst-{n}"),
                    QUESTION,
                    false,
                )
            })
            .collect();
        let body = body(events);
        let signature = sign(SECRET, &body);
        let started = Instant::now();
        let status = post_webhook(&app, &body, Some(&signature)).await;
        let took = started.elapsed();
        assert_eq!(status, 200, "{backend:?}");
        eprintln!("{backend:?}: 200 LINE events acknowledged in {took:?}");
        assert!(
            took < Duration::from_secs(1),
            "{backend:?}: 200 events acknowledged in {took:?}"
        );
        // Every event is answered from the queue, once; LINE redelivering the call changes nothing.
        replies(&mock, 200).await;
        settled(&app).await;
        assert_eq!(post_webhook(&app, &body, Some(&signature)).await, 200);
        // The redelivery is refused as known before it is acknowledged; anything it queued is handled now.
        settled(&app).await;
        assert_eq!(replies_now(&mock).len(), 200, "{backend:?}");
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM line_webhook_events WHERE handled_at_ms IS NOT NULL AND payload IS NULL"
            )
            .await,
            200,
            "{backend:?}: handled events keep their id and lose the message"
        );
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn events_stored_before_a_stop_are_handled_at_the_next_start() {
    let mock = LineMock::start().await.expect("LINE mock");
    let app = line_app(Backend::Sqlite, &mock, &[]).await;
    // As if the process stopped between the acknowledgement and the answer: stored, not handled.
    let event: Value = text_event(
        "01HSTORED00000000000000001",
        "token-stored",
        QUESTION,
        false,
    );
    {
        use sqlx::Connection;
        let mut connection = sqlx::AnyConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO line_webhook_events (event_id, kind, received_at_ms, payload) VALUES ($1, 'message', 1, $2)",
        )
        .bind("01HSTORED00000000000000001")
        .bind(event.to_string())
        .execute(&mut connection)
        .await
        .unwrap();
    }
    let queued = app
        .hub
        .state
        .line_events
        .recover(&app.hub.state.db)
        .await
        .expect("recovered");
    assert_eq!(queued, 1);
    let accepted = replies(&mock, 1).await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].reply_token.as_deref(), Some("token-stored"));
    // Handled now (and marked so): a second recovery finds nothing.
    settled(&app).await;
    assert_eq!(
        app.hub
            .state
            .line_events
            .recover(&app.hub.state.db)
            .await
            .unwrap(),
        0
    );
    app.hub.stop().await;
}

#[tokio::test]
async fn retention_export_and_an_append_only_audit_log() {
    use sqlx::Connection;
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[]).await;
        for (id, line, email) in [
            ("R-KEEP-1", USER, "hanako@example.jp"),
            (
                "R-KEEP-2",
                "U0000000000000000000000000000beef",
                "jiro@example.jp",
            ),
        ] {
            let (status, body) = app
                .post_json(
                    "/api/residents",
                    Some(ADMIN_TOKEN),
                    &serde_json::json!({"external_id": id, "birth_date": "1950-04-01", "district": "今元",
                        "language": "ja", "channels": {"line": line, "email": email}}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(ADMIN_TOKEN),
                &serde_json::json!({"title": "防災訓練", "body": {"ja": "土曜日に防災訓練があります。"},
                    "segment": "", "channels": ["line", "email"], "send_at": null, "cron": null,
                    "ignore_quiet_hours": true}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let notice = created["id"].as_i64().expect("id");
        app.notice_done(notice, Duration::from_secs(30)).await;
        // A question from the resident's LINE account.
        let question = body(vec![text_event(
            "01HEXPORT00000000000000001",
            "token-export",
            QUESTION,
            false,
        )]);
        assert_eq!(
            post_webhook(&app, &question, Some(&sign(SECRET, &question))).await,
            200
        );
        settled(&app).await;

        // The export: profile, addresses, the delivery with its address, the LINE question, the staff actions.
        let (status, export) = app
            .get("/api/residents/R-KEEP-1/export", Some(ADMIN_TOKEN))
            .await;
        assert_eq!(status, 200, "{export}");
        assert_eq!(export["resident"]["external_id"], "R-KEEP-1");
        assert_eq!(export["resident"]["channels"]["email"], "hanako@example.jp");
        let deliveries = export["deliveries"].as_array().expect("deliveries");
        assert_eq!(deliveries.len(), 1, "{export}");
        assert_ne!(deliveries[0]["address"], "");
        let chat = export["chat_log"].as_array().expect("chat log");
        assert_eq!(chat.len(), 1, "{export}");
        assert_eq!(chat[0]["question"], QUESTION);
        assert!(
            export["audit"]
                .as_array()
                .expect("audit")
                .iter()
                .any(|entry| entry["action"] == "resident.upsert")
        );
        // Only admins; an unknown resident is a 404.
        let viewer = app.token("viewer").await;
        let (status, _) = app
            .get("/api/residents/R-KEEP-1/export", Some(&viewer))
            .await;
        assert_eq!(status, 403);
        let (status, _) = app
            .get("/api/residents/NOBODY/export", Some(ADMIN_TOKEN))
            .await;
        assert_eq!(status, 404);

        // Retention: R-KEEP-1's delivery is made 100 days old; after the sweep its address is gone, the
        // other resident's recent one stays, and the notice's counts do not change.
        let (_, before) = app
            .get(&format!("/api/notices/{notice}"), Some(ADMIN_TOKEN))
            .await;
        let mut connection = sqlx::AnyConnection::connect(&app.database_url)
            .await
            .expect("connect");
        let now = chrono::Utc::now().timestamp_millis();
        sqlx::query(
            "UPDATE deliveries SET updated_at_ms = $1 WHERE resident_id = \
             (SELECT id FROM residents WHERE external_id = 'R-KEEP-1')",
        )
        .bind(now - 100 * 24 * 3600 * 1000)
        .execute(&mut connection)
        .await
        .expect("age the delivery");
        let db = &app.hub.state.db;
        assert_eq!(hub::protection::sweep(db, 90, now).await.expect("sweep"), 1);
        assert_eq!(hub::protection::sweep(db, 90, now).await.expect("sweep"), 0);
        let (_, export) = app
            .get("/api/residents/R-KEEP-1/export", Some(ADMIN_TOKEN))
            .await;
        assert_eq!(export["deliveries"][0]["address"], "", "{export}");
        let (_, other) = app
            .get("/api/residents/R-KEEP-2/export", Some(ADMIN_TOKEN))
            .await;
        assert_ne!(other["deliveries"][0]["address"], "", "{other}");
        let (_, after) = app
            .get(&format!("/api/notices/{notice}"), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(after["totals"], before["totals"]);

        // The audit log: no API writes it, and the database refuses to change it.
        let entries = count(&app, "SELECT COUNT(*) AS n FROM audit_log").await;
        assert!(entries >= 4, "{entries}");
        for method in [
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
            reqwest::Method::PATCH,
            reqwest::Method::POST,
        ] {
            let response = app
                .client
                .request(method.clone(), app.url("/api/audit"))
                .bearer_auth(ADMIN_TOKEN)
                .json(&serde_json::json!({}))
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status(), 405, "{method}");
        }
        for statement in [
            "UPDATE audit_log SET actor = 'someone else'",
            "DELETE FROM audit_log",
        ] {
            let error = sqlx::query(statement)
                .execute(&mut connection)
                .await
                .expect_err(statement);
            assert!(
                error.to_string().contains("append-only"),
                "{statement}: {error}"
            );
        }
        assert_eq!(
            count(&app, "SELECT COUNT(*) AS n FROM audit_log").await,
            entries
        );
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}
