//! Issue 25, holes 4–6, as attacks scaled down: push sign-ups pointing at internal addresses (SSRF), push
//! endpoints that redirect or never answer, forged safety answers from web chat sockets, and web chat floods
//! over many sockets. Every connection here goes to 127.0.0.1; refusals of other addresses happen before any
//! connection is made.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use channels::testing::PushStandIn;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::support::db::{count, execute};
use crate::support::webchat::{exchange, next_json, try_open};
use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, TestApp, eventually, form, spawn_app_with};

// ---------- helpers ----------

/// A loopback listener standing in for an internal service: answers every request with `response` (or never,
/// when empty) and counts the connections it accepted.
async fn loopback_service(response: String) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = stream.read(&mut buf).await;
                if response.is_empty() {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                } else {
                    let _ = stream.write_all(response.as_bytes()).await;
                }
            });
        }
    });
    (base, hits)
}

async fn register_push(app: &TestApp, endpoint: &str) -> (u16, String) {
    let push = json!({"endpoint": endpoint,
        "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                 "auth": "tBHItJI5svbpez7KI4CCXg"}})
    .to_string();
    let response = app
        .client
        .post(app.url("/register"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("push", &push),
            ("district", "今元"),
            ("consent", "yes"),
        ]))
        .send()
        .await
        .expect("posted");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn resident_with_push(app: &TestApp, external_id: &str, subscription: &Value) {
    let (status, body) = app
        .post_json(
            "/api/residents",
            Some(ADMIN_TOKEN),
            &json!({"external_id": external_id, "district": "今元", "channels": {"push": subscription}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn push_notice(app: &TestApp, token: &str, title: &str) -> i64 {
    let (status, created) = app
        .post_json(
            "/api/notices",
            Some(token),
            &json!({"title": title, "body": {"ja": "お知らせの本文です。"}, "segment": "",
                    "channels": ["push"], "send_at": null, "cron": null, "ignore_quiet_hours": true}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().expect("an id")
}

// ---------- hole 4: push endpoints ----------

#[tokio::test]
async fn push_sign_ups_to_internal_or_unknown_endpoints_are_refused_with_the_field_named() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &[]).await;
        // The hub's own admin pages on loopback, cloud metadata, private ranges, IPv6 loopback, an IPv4 address
        // inside IPv6, plain http, a host that is not a push service: all refused at once (no connection).
        let admin = format!("{}/admin", app.base);
        for endpoint in [
            admin.as_str(),
            "https://10.0.0.1/push/1",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/push/1",
            "https://[::ffff:192.168.0.1]/push/1",
            "https://100.64.0.1/push/1",
            "http://fcm.googleapis.com/fcm/send/1",
            "https://push.attacker.example/push/1",
        ] {
            let (status, page) = register_push(&app, endpoint).await;
            assert_eq!(status, 400, "{endpoint}");
            assert!(page.contains("data-field=\"push\""), "{endpoint}: {page}");
            assert!(
                page.contains("この端末の通知を登録できませんでした"),
                "{endpoint}: Japanese message: {page}"
            );
        }
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM resident_addresses WHERE channel = 'push'"
            )
            .await,
            0
        );
        // The staff API stores subscriptions too: the same check, naming the field.
        let (status, body) = app
            .post_json(
                "/api/residents",
                Some(ADMIN_TOKEN),
                &json!({"external_id": "R-SSRF", "channels": {"push": {"endpoint": "https://169.254.169.254/x",
                        "keys": {"p256dh": "BNcR", "auth": "tBHI"}}}}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["field"], "channels.push.endpoint", "{body}");
        // A real push service is accepted (nothing is sent to it here).
        let (status, page) =
            register_push(&app, "https://fcm.googleapis.com/fcm/send/abc:APA91b").await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(app.get("/healthz", None).await.0, 200);
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn a_subscription_stored_before_the_check_is_refused_without_connecting_and_deactivated() {
    for backend in BACKENDS {
        // No loopback allowance: the hub must never call the "internal service" below.
        let app = spawn_app_with(backend, &[]).await;
        let (internal, hits) = loopback_service(
            "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        )
        .await;
        resident_with_push(
            &app,
            "R-OLD",
            &json!({"endpoint": "https://fcm.googleapis.com/fcm/send/old",
                    "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                             "auth": "tBHItJI5svbpez7KI4CCXg"}}),
        )
        .await;
        // As an older hub stored it: pointing at an internal admin URL.
        execute(
            &app,
            "UPDATE resident_addresses SET address = $1 WHERE channel = 'push'",
            &[format!("{internal}/admin/delete-everything")
                .as_str()
                .into()],
        )
        .await;
        let pr = app.token("pr").await;
        let id = push_notice(&app, &pr, "古い登録のテスト").await;
        eventually(
            "the push row is finished",
            Duration::from_secs(30),
            async || app.get(&format!("/api/notices/{id}"), Some(&pr)).await.1,
            crate::support::notice_finished,
        )
        .await;
        assert_eq!(
            count(&app, "SELECT COUNT(*) AS n FROM deliveries WHERE channel = 'push' AND status = 'failed' AND error LIKE '%endpoint%'").await,
            1
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM resident_addresses WHERE channel = 'push' AND active = 1"
            )
            .await,
            0,
            "the refused subscription is not used again"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0, "no connection was made");
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn a_redirecting_or_silent_push_endpoint_holds_no_other_residents_push() {
    for backend in BACKENDS {
        let app = spawn_app_with(
            backend,
            &[
                // The stand-ins below run on loopback: allowed explicitly.
                ("HUB_PUSH_ALLOW_LOOPBACK_FOR_TESTS", "true"),
                // A silent endpoint holds its request this long (the old dispatcher held every row behind it).
                ("HUB_PROVIDER_TIMEOUT_SECS", "6"),
            ],
        )
        .await;
        let (_, key) = app.get("/push/vapid-public-key", None).await;
        let standin = PushStandIn::start(Some(key["public_key"].as_str().expect("key").to_owned()))
            .await
            .expect("push stand-in");
        // An internal service the redirect points at: it must never be called.
        let (internal, internal_hits) = loopback_service(
            "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        )
        .await;
        let (redirecting, redirect_hits) = loopback_service(format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {internal}/admin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
        .await;
        let (silent, silent_hits) = loopback_service(String::new()).await;
        let template = serde_json::to_value(standin.new_subscription()).expect("json");
        for (name, base) in [("R-SILENT", &silent), ("R-REDIRECT", &redirecting)] {
            let mut subscription = template.clone();
            subscription["endpoint"] = json!(format!("{base}/push/{name}"));
            resident_with_push(&app, name, &subscription).await;
        }
        for i in 0..20 {
            let subscription = serde_json::to_value(standin.new_subscription()).expect("json");
            resident_with_push(&app, &format!("R-{i:02}"), &subscription).await;
        }
        let pr = app.token("pr").await;
        push_notice(&app, &pr, "一通目").await;
        eventually(
            "the silent endpoint is being called",
            Duration::from_secs(20),
            async || silent_hits.load(Ordering::SeqCst),
            |hits| *hits > 0,
        )
        .await;
        // While the silent endpoint holds its request, a second notice reaches everyone else at once.
        let sent = Instant::now();
        push_notice(&app, &pr, "二通目").await;
        eventually(
            "both notices reached the 20 residents",
            Duration::from_secs(5),
            async || standin.stats().accepted,
            |accepted| *accepted >= 40,
        )
        .await;
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "{:?}",
            sent.elapsed()
        );
        assert_eq!(standin.stats().accepted, 40);
        assert!(redirect_hits.load(Ordering::SeqCst) >= 1);
        assert_eq!(
            internal_hits.load(Ordering::SeqCst),
            0,
            "the redirect was not followed"
        );
        eventually("the redirect is recorded as a failure", Duration::from_secs(10), async || {
            count(&app, "SELECT COUNT(*) AS n FROM deliveries WHERE channel = 'push' AND status = 'failed' AND error LIKE '%redirect%'").await
        }, |failed| *failed >= 1)
        .await;
        assert_eq!(app.get("/healthz", None).await.0, 200);
        app.hub.stop().await;
    }
}

// ---------- holes 5 and 6: the web chat ----------

#[tokio::test]
async fn a_web_chat_flood_over_many_sockets_is_bounded_per_client() {
    for backend in BACKENDS {
        let app = spawn_app_with(
            backend,
            &[
                ("HUB_CLIENT_IP_HEADER", "x-forwarded-for"),
                ("HUB_WEBCHAT_SOCKETS_PER_CLIENT", "5"),
                ("HUB_WEBCHAT_MESSAGES_PER_MINUTE", "20"),
            ],
        )
        .await;
        // 20 sockets from one client: 5 open, the rest are refused with 429.
        let mut open = Vec::new();
        let mut refused = 0;
        for _ in 0..20 {
            match try_open(app.hub.addr, Some("203.0.113.7")).await {
                Ok(socket) => open.push(socket),
                Err(status) => {
                    assert_eq!(status, 429);
                    refused += 1;
                }
            }
        }
        assert_eq!((open.len(), refused), (5, 15));
        // Another client (another address named by the proxy) is not affected.
        let mut other = try_open(app.hub.addr, Some("203.0.113.8"))
            .await
            .expect("opens");
        // 10 questions on each of the 5 sockets: 20 answers in all, the rest a friendly Japanese refusal.
        let (mut answered, mut throttled) = (0, 0);
        for socket in &mut open {
            for _ in 0..10 {
                let reply = exchange(socket, json!({"text": "ごみの出し方"})).await;
                match reply["type"].as_str() {
                    Some("answer") => answered += 1,
                    Some("error") => {
                        assert_eq!(reply["throttled"], true, "{reply}");
                        assert!(
                            reply["error"]
                                .as_str()
                                .unwrap_or_default()
                                .contains("お試しください"),
                            "{reply}"
                        );
                        throttled += 1;
                    }
                    _ => panic!("unexpected reply {reply}"),
                }
            }
        }
        assert_eq!((answered, throttled), (20, 30));
        assert_eq!(
            exchange(&mut other, json!({"text": "ごみの出し方"})).await["type"],
            "answer"
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM chat_log WHERE channel = 'webchat'"
            )
            .await,
            21,
            "one chat_log row per answered question, none for refused ones"
        );
        // A closed socket frees its slot.
        let mut first = open.remove(0);
        first.close(None).await.expect("closed");
        drop(first);
        eventually(
            "the slot is free again",
            Duration::from_secs(5),
            async || match try_open(app.hub.addr, Some("203.0.113.7")).await {
                Ok(socket) => {
                    open.push(socket);
                    true
                }
                Err(_) => false,
            },
            |opened| *opened,
        )
        .await;
        assert_eq!(app.get("/healthz", None).await.0, 200);
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn a_silent_web_chat_socket_is_closed_and_a_pinging_page_stays() {
    let app = spawn_app_with(Backend::Sqlite, &[("HUB_WEBCHAT_IDLE_TIMEOUT_SECS", "1")]).await;
    let mut silent = try_open(app.hub.addr, None).await.expect("opens");
    let mut pinging = try_open(app.hub.addr, None).await.expect("opens");
    let started = Instant::now();
    let mut silent_closed = None;
    while started.elapsed() < Duration::from_millis(2500) {
        assert_eq!(
            exchange(&mut pinging, json!({"ping": true})).await["type"],
            "pong"
        );
        if silent_closed.is_none()
            && let Ok(Some(Ok(Message::Close(frame)))) =
                tokio::time::timeout(Duration::from_millis(300), silent.next()).await
        {
            silent_closed = frame.map(|f| u16::from(f.code));
        }
    }
    assert_eq!(
        silent_closed,
        Some(4000),
        "the silent socket was closed as idle"
    );
    // The pinging page is still connected and answered.
    assert_eq!(
        exchange(&mut pinging, json!({"text": "ごみの出し方"})).await["type"],
        "answer"
    );
    app.hub.stop().await;
}

#[tokio::test]
async fn anonymous_web_chat_safety_answers_are_counted_apart_and_capped() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &[("HUB_WEBCHAT_SOCKETS_PER_CLIENT", "30")]).await;
        // Two residents in the area (email, record-only here).
        for (id, email) in [("R-1", "one@example.jp"), ("R-2", "two@example.jp")] {
            let (status, body) = app
                .post_json(
                    "/api/residents",
                    Some(ADMIN_TOKEN),
                    &json!({"external_id": id, "district": "今元", "channels": {"email": email}}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let disaster = app.token("disaster").await;
        let (status, created) = app
            .post_json(
                "/api/emergencies",
                Some(&disaster),
                &json!({"title": "避難指示", "body": {"ja": "今元地区に避難指示を発令しました。"},
                        "districts": ["今元"], "dry_run": false, "severity": "extreme"}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        // 20 anonymous sockets from one client answer 「助けが必要」.
        let mut recorded = 0;
        for _ in 0..20 {
            let mut socket = try_open(app.hub.addr, None).await.expect("opens");
            let banner = next_json(&mut socket).await;
            assert_eq!(banner["type"], "emergency", "{banner}");
            let answered =
                exchange(&mut socket, json!({"emergency": id, "answer": "need_help"})).await;
            assert_eq!(answered["type"], "safety", "{answered}");
            if answered["recorded"] == true {
                recorded += 1;
            } else {
                assert!(
                    answered["message"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("119"),
                    "{answered}"
                );
            }
        }
        assert_eq!(recorded, 5, "capped per client");
        let (status, progress) = app
            .get(&format!("/api/emergencies/{id}"), Some(&disaster))
            .await;
        assert_eq!(status, 200, "{progress}");
        assert_eq!(
            progress["need_help"], 0,
            "verified counts untouched: {progress}"
        );
        assert_eq!(progress["safe"], 0, "{progress}");
        assert_eq!(progress["unverified"]["need_help"], 5, "{progress}");
        let (status, list) = app
            .get(&format!("/api/emergencies/{id}/need-help"), Some(&disaster))
            .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(
            list["count"], 0,
            "no anonymous rows in the list staff act on: {list}"
        );
        assert_eq!(list["residents"], json!([]));
        assert_eq!(list["unverified_need_help"], 5, "{list}");
        assert_eq!(app.get("/healthz", None).await.0, 200);
        app.hub.stop().await;
    }
}
