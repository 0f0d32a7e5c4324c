//! What the black-box tests share, so that feature test files hold only tests:
//!
//! - [`spawn_app`]: a hub on 127.0.0.1 port 0 on a fresh SQLite file or a fresh PostgreSQL database, and
//!   [`Api`], the HTTP calls a test makes to it;
//! - [`world::World`]: that hub wired to the LINE stand-in, a real SMTP server and the Web Push stand-in, with
//!   residents ([`people`]);
//! - [`wait::eventually`]: the one way a test waits for something the hub does in the background;
//! - the LINE webhook side ([`line`]), the web chat socket ([`webchat`]), the staff console ([`console`]), the
//!   database ([`db`]), `hub serve` as a process of its own ([`process`]) and the real-browser runs ([`browser`]);
//! - the JMA stand-in: an Atom feed and 防災情報XML documents on loopback ([`jma`]);
//! - [`wording`]: the check that a page for a non-English reader carries no developer English.

use std::collections::BTreeMap;
use std::time::Duration;

use hub::{Config, RunningHub};
use serde_json::Value;
use sqlx::Connection;

pub mod browser;
pub mod console;
pub mod db;
pub mod jma;
pub mod line;
pub mod people;
pub mod process;
pub mod smtp;
pub mod wait;
pub mod webchat;
pub mod wording;
pub mod world;

pub use wait::eventually;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The `HUB_PUBLIC_URL` of tests that follow links the hub writes into messages: a loopback address and port
/// nothing listens on (the hub itself listens on 127.0.0.1), so a link built from the listen address instead of
/// the public one is caught by [`public_path`].
pub const PUBLIC_URL: &str = "http://127.0.0.2:8765";

/// The path of `url`, a link a hub configured with [`PUBLIC_URL`] wrote: its scheme, host and port must be
/// exactly the public URL's.
pub fn public_path(url: &str) -> String {
    let path = url
        .strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{url}: a link that is not on HUB_PUBLIC_URL {PUBLIC_URL}"));
    assert!(
        path.starts_with('/'),
        "{url}: a link on another port or host than {PUBLIC_URL}"
    );
    path.to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Both backends: storage and API tests run on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// The HTTP side of a hub: its base URL and a client, with the calls tests make.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

pub struct TestApp {
    pub hub: RunningHub,
    pub api: Api,
    pub backend: Backend,
    pub database_url: String,
    _dir: tempfile::TempDir,
}

/// `app.get(…)`, `app.client`, `app.base`: a test app is used as its API.
impl std::ops::Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
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

/// The settings every test hub starts with: loopback, port 0, `database_url`, the test admin token.
pub fn base_settings(database_url: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("HUB_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("HUB_DATABASE_URL".to_owned(), database_url.to_owned()),
        ("HUB_ADMIN_TOKEN".to_owned(), ADMIN_TOKEN.to_owned()),
    ])
    .into_iter()
    .chain(data_dir(database_url).map(|dir| ("HUB_DATA_DIR".to_owned(), dir)))
    .collect()
}

/// The data folder of a test hub on a PostgreSQL `database_url`: in the temporary folder, by the database's
/// unique name, never in the source tree (`./data`). A SQLite hub keeps the default, beside its database file.
pub fn data_dir(database_url: &str) -> Option<String> {
    if database_url.starts_with("sqlite:") {
        return None;
    }
    let name = database_url.rsplit('/').next().unwrap_or("db");
    Some(
        std::env::temp_dir()
            .join("hub-test-data")
            .join(name)
            .display()
            .to_string(),
    )
}

/// Starts a hub in this process on `database_url` with `extra` HUB_* settings on top of [`base_settings`]
/// (a second hub on a test's database, or one started again after a crash).
pub async fn spawn_hub(database_url: &str, extra: &[(&str, &str)]) -> RunningHub {
    install_crypto();
    let mut env = base_settings(database_url);
    for (key, value) in extra {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    let config = Config::from_parts(None, &env).expect("test configuration");
    hub::spawn(config).await.expect("hub starts")
}

/// Starts a hub with `extra` HUB_* settings on top of the test defaults.
pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(backend, dir.path()).await;
    let hub = spawn_hub(&database_url, extra).await;
    TestApp {
        api: Api::of(&hub),
        hub,
        backend,
        database_url,
        _dir: dir,
    }
}

/// A test app around a hub the test started itself (its own configuration or database server).
impl TestApp {
    pub fn adopt(hub: RunningHub, backend: Backend, database_url: String) -> TestApp {
        TestApp {
            api: Api::of(&hub),
            hub,
            backend,
            database_url,
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// `application/x-www-form-urlencoded` from pairs (a key may repeat).
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        serializer.append_pair(key, value);
    }
    serializer.finish()
}

impl Api {
    /// The API of a hub running in this process.
    pub fn of(hub: &RunningHub) -> Api {
        Api::at(format!("http://{}", hub.addr))
    }

    pub fn at(base: String) -> Api {
        Api {
            base,
            client: reqwest::Client::new(),
        }
    }

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

    pub async fn put_json(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let request = self
            .client
            .put(self.url(path))
            .bearer_auth(token)
            .json(body);
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

    /// A page (no token): status and text.
    pub async fn get_page(&self, path: &str) -> (u16, String) {
        let response = self.client.get(self.url(path)).send().await.expect("page");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// A form post (no token): status and text.
    pub async fn post_form(&self, path: &str, body: String) -> (u16, String) {
        let response = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("form posted");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
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

    /// Residents from CSV through `POST /api/residents/import`, all accepted.
    pub async fn import_csv(&self, csv: String) {
        let response = self
            .client
            .post(self.url("/api/residents/import"))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .expect("import sent");
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, 200, "import: {body}");
    }

    /// `POST /api/notices` as the admin; the new notice's id.
    pub async fn create_notice(&self, body: &Value) -> i64 {
        let (status, created) = self
            .post_json("/api/notices", Some(ADMIN_TOKEN), body)
            .await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_i64().expect("id")
    }

    /// The notice once `done` holds for it (read as the admin), failing after `within` with what it last was.
    pub async fn notice_when(
        &self,
        id: i64,
        what: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let path = format!("/api/notices/{id}");
        let (_, notice) = eventually(
            format!("notice {id}: {what}"),
            within,
            async || self.get(&path, Some(ADMIN_TOKEN)).await,
            |(status, notice)| *status == 200 && done(notice),
        )
        .await;
        notice
    }

    /// The notice once it has fired and none of its deliveries is pending (nothing is in flight any more).
    pub async fn notice_done(&self, id: i64, within: Duration) -> Value {
        self.notice_when(id, "fired, nothing pending", within, notice_finished)
            .await
    }

    /// The emergency once it is done (fanned out, nothing pending).
    pub async fn emergency_done(&self, id: i64, within: Duration) -> Value {
        let path = format!("/api/emergencies/{id}");
        let (_, progress) = eventually(
            format!("emergency {id} done"),
            within,
            async || self.get(&path, Some(ADMIN_TOKEN)).await,
            |(status, progress)| *status == 200 && progress["done"] == true,
        )
        .await;
        progress
    }
}

/// A notice that has fired and has no delivery pending.
pub fn notice_finished(notice: &Value) -> bool {
    notice["fire_count"].as_i64().unwrap_or(0) > 0
        && notice["totals"]["pending"].as_i64() == Some(0)
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body read");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}
