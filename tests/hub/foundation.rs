//! The foundation: operations endpoints, residents on both databases, tokens and roles, CSV import.

use serde_json::json;

use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, spawn_app};

fn resident(external_id: &str) -> serde_json::Value {
    json!({
        "external_id": external_id,
        "birth_date": "1950-04-01",
        "district": "今元",
        "language": "en",
        "interests": ["介護", "防災"],
        "channels": {
            "line": "U0123456789abcdef0123456789abcdef",
            "email": "hanako@example.jp",
            "push": {"endpoint": "https://fcm.googleapis.com/fcm/send/sub-1", "keys": {"p256dh": "BNcR_abc", "auth": "tBHI-xyz"}}
        },
        "preferred": ["email", "line"]
    })
}

#[tokio::test]
async fn health_metrics_and_openapi_answer() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let (status, _) = app.get("/healthz", None).await;
        assert_eq!(status, 200, "{backend:?}");
        // A request first, so the counters have something to show.
        let (status, _) = app.get("/api/residents/nobody", Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 404);
        let (status, metrics) = app.get("/metrics", None).await;
        assert_eq!(status, 200);
        let metrics = metrics.as_str().unwrap_or_default().to_owned();
        assert!(
            metrics.contains("hub_http_requests_total"),
            "metrics: {metrics}"
        );
        let (status, doc) = app.get("/openapi.json", None).await;
        assert_eq!(status, 200);
        assert!(doc["paths"]["/api/residents"]["post"].is_object(), "{doc}");
        assert!(doc["components"]["schemas"]["ResidentInput"].is_object());
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn residents_round_trip_update_and_forget() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        assert_eq!(app.backend, backend);
        assert!(!app.database_url.is_empty());
        let (status, created) = app
            .post_json("/api/residents", Some(ADMIN_TOKEN), &resident("R-100"))
            .await;
        assert_eq!(status, 200, "{backend:?} {created}");

        let (status, fetched) = app.get("/api/residents/R-100", Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 200);
        assert_eq!(fetched["birth_date"], "1950-04-01");
        assert_eq!(fetched["district"], "今元");
        assert_eq!(fetched["language"], "en");
        assert_eq!(fetched["interests"], json!(["介護", "防災"]));
        assert_eq!(
            fetched["channels"]["line"],
            "U0123456789abcdef0123456789abcdef"
        );
        assert_eq!(fetched["channels"]["email"], "hanako@example.jp");
        assert_eq!(
            fetched["channels"]["push"]["endpoint"],
            "https://fcm.googleapis.com/fcm/send/sub-1"
        );
        assert_eq!(fetched["preferred"], json!(["email", "line"]));

        // Upsert by external id: the same resident, changed, not a second one.
        let mut changed = resident("R-100");
        changed["district"] = json!("仲津");
        changed["channels"] = json!({"email": "hanako@example.jp"});
        let (status, _) = app
            .post_json("/api/residents", Some(ADMIN_TOKEN), &changed)
            .await;
        assert_eq!(status, 200);
        let (_, fetched) = app.get("/api/residents/R-100", Some(ADMIN_TOKEN)).await;
        assert_eq!(fetched["district"], "仲津");
        assert!(fetched["channels"]["line"].is_null(), "{fetched}");

        // Another resident cannot take the same email address.
        let mut other = resident("R-101");
        other["channels"] = json!({"email": "hanako@example.jp"});
        let (status, body) = app
            .post_json("/api/residents", Some(ADMIN_TOKEN), &other)
            .await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["field"], "channels.email");

        // Forget: gone at once.
        assert_eq!(
            app.delete("/api/residents/R-100", Some(ADMIN_TOKEN)).await,
            204
        );
        let (status, _) = app.get("/api/residents/R-100", Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 404);
        assert_eq!(
            app.delete("/api/residents/R-100", Some(ADMIN_TOKEN)).await,
            404
        );

        // Every write is in the audit log.
        let (status, audit) = app.get("/api/audit", Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 200);
        let actions: Vec<&str> = audit
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"resident.forget"), "{actions:?}");
        assert!(actions.contains(&"resident.upsert"), "{actions:?}");
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn tokens_and_roles() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let pr = app.token("pr").await;
        let viewer = app.token("viewer").await;
        let disaster = app.token("disaster").await;

        let emergency =
            json!({"title": "避難指示", "body": {"ja": "避難してください"}, "districts": null});
        let (status, _) = app.post_json("/api/emergencies", None, &emergency).await;
        assert_eq!(status, 401);
        let (status, _) = app
            .post_json("/api/emergencies", Some("not-a-token"), &emergency)
            .await;
        assert_eq!(status, 401);
        let (status, body) = app
            .post_json("/api/emergencies", Some(&pr), &emergency)
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(body["error"].is_string());
        let (status, _) = app
            .post_json("/api/emergencies", Some(&disaster), &emergency)
            .await;
        assert_ne!(status, 403);
        assert_ne!(status, 401);

        // Writing residents is an admin's job; PR and viewers read.
        let (status, _) = app
            .post_json("/api/residents", Some(&viewer), &resident("R-1"))
            .await;
        assert_eq!(status, 403);
        let (status, _) = app
            .post_json("/api/residents", Some(ADMIN_TOKEN), &resident("R-1"))
            .await;
        assert_eq!(status, 200);
        let (status, _) = app.get("/api/residents/R-1", Some(&pr)).await;
        assert_eq!(status, 200);
        let (status, _) = app.get("/api/residents/R-1", Some(&viewer)).await;
        assert_eq!(status, 200);

        // Only admins make tokens.
        let (status, _) = app
            .post_json(
                "/api/tokens",
                Some(&pr),
                &json!({"name": "x", "role": "admin"}),
            )
            .await;
        assert_eq!(status, 403);
        let (status, body) = app
            .post_json(
                "/api/tokens",
                Some(ADMIN_TOKEN),
                &json!({"name": "x", "role": "chief"}),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(body["field"], "role");
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn bad_resident_input_is_refused_with_its_field_and_nothing_is_written() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        type Change = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Change)> = vec![
            ("colour", Box::new(|r| r["colour"] = json!("blue"))),
            (
                "birth_date",
                Box::new(|r| r["birth_date"] = json!(19500401)),
            ),
            (
                "birth_date",
                Box::new(|r| r["birth_date"] = json!("2999-01-01")),
            ),
            ("district", Box::new(|r| r["district"] = json!("博多"))),
            (
                "channels.email",
                Box::new(|r| r["channels"]["email"] = json!("hanako.example.jp")),
            ),
            (
                "channels.line",
                Box::new(|r| r["channels"]["line"] = json!("U12345")),
            ),
            ("interests", Box::new(|r| r["interests"] = json!("介護"))),
        ];
        for (field, change) in cases {
            let mut body = resident("R-BAD");
            change(&mut body);
            let (status, error) = app
                .post_json("/api/residents", Some(ADMIN_TOKEN), &body)
                .await;
            assert_eq!(status, 400, "{backend:?} {field}: {error}");
            assert!(error["error"].is_string(), "{error}");
            if field == "colour" {
                assert!(
                    error["error"].as_str().unwrap().contains("colour"),
                    "{error}"
                );
            } else {
                assert_eq!(error["field"], field, "{error}");
            }
        }
        let (status, _) = app.get("/api/residents/R-BAD", Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 404);
        app.hub.stop().await;
    }
}

const CSV_JAPANESE: &str = "生年月日,住民ID,地区,言語,関心,LINEユーザーID,メールアドレス\r\n\
1948-03-15,C-1,今元,ja,介護|防災,U00000000000000000000000000000001,\r\n\
1985-07-01,C-2,仲津,en,子育て,,c2@example.jp\r\n\
2001-12-24,C-3,蓑島,vi,,,\r\n";

fn shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

#[tokio::test]
async fn shift_jis_csv_imports_and_a_bad_row_applies_nothing() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let response = app
            .client
            .post(app.url("/api/residents/import?encoding=shift_jis"))
            .bearer_auth(ADMIN_TOKEN)
            .body(shift_jis(CSV_JAPANESE))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{backend:?}");
        let (_, c1) = app.get("/api/residents/C-1", Some(ADMIN_TOKEN)).await;
        assert_eq!(c1["district"], "今元");
        assert_eq!(c1["interests"], json!(["介護", "防災"]));
        let (_, c2) = app.get("/api/residents/C-2", Some(ADMIN_TOKEN)).await;
        assert_eq!(c2["channels"]["email"], "c2@example.jp");

        // The same file with line 3 broken (an unknown district) and line 2 changed: nothing is applied.
        let broken = CSV_JAPANESE
            .replace("C-2,仲津", "C-2,天神")
            .replace("C-1,今元", "C-1,泉");
        let response = app
            .client
            .post(app.url("/api/residents/import?encoding=shift_jis"))
            .bearer_auth(ADMIN_TOKEN)
            .body(shift_jis(&broken))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let error: serde_json::Value = response.json().await.unwrap();
        let message = error["error"].as_str().unwrap();
        assert!(message.contains("line 3"), "{error}");
        assert!(message.contains("地区"), "{error}");
        let (_, c1) = app.get("/api/residents/C-1", Some(ADMIN_TOKEN)).await;
        assert_eq!(c1["district"], "今元", "line 2 must not have been applied");
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn cli_import_reports_the_line_and_applies_nothing() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let dir = tempfile::tempdir().unwrap();
        let database_url = crate::support::fresh_database(backend, dir.path()).await;
        let good = dir.path().join("residents.csv");
        std::fs::write(&good, shift_jis(CSV_JAPANESE)).unwrap();
        let bad = dir.path().join("broken.csv");
        std::fs::write(
            &bad,
            shift_jis(
                &CSV_JAPANESE
                    .replace("1985-07-01", "1985-02-31")
                    .replace("C-1,今元", "C-1,泉"),
            ),
        )
        .unwrap();
        let hub = env!("CARGO_BIN_EXE_hub");
        let output = std::process::Command::new(hub)
            .args(["residents", "import"])
            .arg(&bad)
            .args(["--encoding", "shift_jis"])
            .env("HUB_DATABASE_URL", &database_url)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("line 3"), "{stderr}");
        assert!(stderr.contains("生年月日"), "{stderr}");

        let output = std::process::Command::new(hub)
            .args(["residents", "import"])
            .arg(&good)
            .args(["--encoding", "shift_jis"])
            .env("HUB_DATABASE_URL", &database_url)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains("imported 3 residents"), "{stderr}");

        // The hub started on that database sees them; nothing of the broken file (C-1 in 泉) is there.
        let mut env = std::collections::BTreeMap::new();
        env.insert("HUB_LISTEN".to_string(), "127.0.0.1:0".to_string());
        env.insert("HUB_DATABASE_URL".to_string(), database_url.clone());
        env.insert("HUB_ADMIN_TOKEN".to_string(), ADMIN_TOKEN.to_string());
        crate::support::install_crypto();
        let running = hub::spawn(hub::Config::from_parts(None, &env).unwrap())
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let c1: serde_json::Value = client
            .get(format!("http://{}/api/residents/C-1", running.addr))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(c1["district"], "今元");
        running.stop().await;
    }
}

#[tokio::test]
async fn bad_configuration_names_the_key() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
        .arg("migrate")
        .env("HUB_LISTEN", "here-and-there")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HUB_LISTEN"), "{stderr}");
}
