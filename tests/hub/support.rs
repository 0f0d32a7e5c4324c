//! `spawn_app()`: a hub on 127.0.0.1 port 0 on a fresh SQLite file or a fresh PostgreSQL database.

use std::collections::BTreeMap;

use hub::{Config, RunningHub};
use serde_json::Value;
use sqlx::Connection;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Both backends: storage and API tests run on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

pub struct TestApp {
    pub hub: RunningHub,
    pub base: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub database_url: String,
    _dir: tempfile::TempDir,
}

pub fn install_crypto() {
    hub::telemetry::init_logging();
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A fresh database URL for `backend`.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("hub.db").display()),
        Backend::Postgres => {
            let base = std::env::var("HUB_TEST_POSTGRES_URL").expect(
                "HUB_TEST_POSTGRES_URL is not set: run the suite with scripts/test.sh, which starts PostgreSQL",
            );
            let name = format!("hub_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&base)
                .await
                .expect("connect to the test PostgreSQL");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create a test database");
            let (prefix, _) = base.rsplit_once('/').expect("a database URL with a path");
            format!("{prefix}/{name}")
        }
    }
}

/// Starts a hub with `extra` HUB_* settings on top of the test defaults.
pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(backend, dir.path()).await;
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("HUB_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("HUB_DATABASE_URL".into(), database_url.clone());
    env.insert("HUB_ADMIN_TOKEN".into(), ADMIN_TOKEN.into());
    for (key, value) in extra {
        env.insert(key.to_string(), value.to_string());
    }
    let config = Config::from_parts(None, &env).expect("test configuration");
    let hub = hub::spawn(config).await.expect("hub starts");
    let base = format!("http://{}", hub.addr);
    TestApp {
        hub,
        base,
        client: reqwest::Client::new(),
        backend,
        database_url,
        _dir: dir,
    }
}

/// A test app around a hub the test started itself (its own configuration or database server).
impl TestApp {
    pub fn adopt(hub: RunningHub, backend: Backend, database_url: String) -> TestApp {
        TestApp {
            base: format!("http://{}", hub.addr),
            hub,
            client: reqwest::Client::new(),
            backend,
            database_url,
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("request sent")).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> u16 {
        let mut request = self.client.delete(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("request sent")
            .status()
            .as_u16()
    }

    /// A new staff token with `role`, made through the API as an admin would.
    pub async fn token(&self, role: &str) -> String {
        let (status, body) = self
            .post_json(
                "/api/tokens",
                Some(ADMIN_TOKEN),
                &serde_json::json!({"name": format!("test {role}"), "role": role}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().expect("a token").to_owned()
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body read");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}
