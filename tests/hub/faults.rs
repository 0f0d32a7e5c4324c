//! Faults (issue 9), each test self-contained: a provider that hangs, a slow SMTP server, a full SQLite database,
//! PostgreSQL going away for 10 s in the middle of a dispatch.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use channels::testing::{Faults, LineMock};
use serde_json::{Value, json};

use crate::support::people::simple_csv;
use crate::support::{
    ADMIN_TOKEN, BACKENDS, Backend, TestApp, eventually, install_crypto, spawn_app_with,
};

async fn notice_now(app: &TestApp, title: &str, channels: &[&str]) -> i64 {
    let (status, created) = app
        .post_json(
            "/api/notices",
            Some(ADMIN_TOKEN),
            &json!({"title": title, "body": {"ja": "お知らせです。"}, "segment": "", "channels": channels,
                    "send_at": null, "cron": null, "ignore_quiet_hours": true}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().expect("id")
}

#[tokio::test]
async fn a_hanging_line_provider_is_cut_off_by_the_timeout_and_retried_without_a_double_send() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        // LINE takes the request, then hangs far past the hub's 2 s timeout.
        mock.set_faults(Faults {
            p_timeout: 1.0,
            timeout_sleep: Duration::from_secs(60),
            ..Faults::default()
        });
        let app = spawn_app_with(
            backend,
            &[
                ("HUB_LINE_API_BASE", &mock.base_url()),
                ("HUB_LINE_CHANNEL_TOKEN", &mock.token()),
                ("HUB_PROVIDER_TIMEOUT_SECS", "2"),
            ],
        )
        .await;
        app.import_csv(simple_csv("hang", 5, true, false)).await;
        let started = Instant::now();
        let id = notice_now(&app, "hang", &["line"]).await;
        eventually(
            "LINE called (and hanging)",
            Duration::from_secs(20),
            async || mock.stats().injected_timeouts,
            |hung| *hung > 0,
        )
        .await;
        // LINE recovers; the retry carries the same retry key, so the hung (but accepted) request is not sent twice.
        mock.set_faults(Faults::none());
        let notice = app.notice_done(id, Duration::from_secs(60)).await;
        assert_eq!(notice["counts"]["line"]["sent"], 5, "{notice}");
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the hang was not cut off: {:?}",
            started.elapsed()
        );
        let per_user = mock.deliveries_per_user();
        assert_eq!(per_user.len(), 5, "{per_user:?}");
        assert!(per_user.values().all(|n| *n == 1), "{per_user:?}");
        // The retry reached LINE with the hung request's key and was answered 409 (already accepted). (The old
        // check also accepted `injected_timeouts >= 1`, which the wait above always made true.)
        assert!(
            mock.stats().conflicts >= 1,
            "the retry did not reuse the retry key: {:?}",
            mock.stats()
        );
        mock.assert_no_violations();
        app.hub.abort();
    }
}

#[tokio::test]
async fn a_slow_smtp_server_does_not_stall_line_deliveries() {
    for backend in BACKENDS {
        // An SMTP server that accepts connections and never says a word.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let smtp_url = format!("smtp://{}", silent.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = silent.accept().await {
                open.push(stream);
            }
        });
        let mock = LineMock::start().await.expect("LINE mock");
        let app = spawn_app_with(
            backend,
            &[
                ("HUB_LINE_API_BASE", &mock.base_url()),
                ("HUB_LINE_CHANNEL_TOKEN", &mock.token()),
                ("HUB_SMTP_URL", &smtp_url),
                ("HUB_MAIL_FROM", "行橋市 <info@city.yukuhashi.example>"),
            ],
        )
        .await;
        app.import_csv(simple_csv("line", 30, true, false)).await;
        app.import_csv(simple_csv("mail", 30, false, true)).await;
        let id = notice_now(&app, "both", &["line", "email"]).await;
        // LINE finishes while every email still waits for the silent server (its timeout is 30 s).
        let started = Instant::now();
        let notice = app
            .notice_when(
                id,
                "all 30 LINE deliveries sent",
                Duration::from_secs(20),
                |notice| notice["counts"]["line"]["sent"].as_i64() == Some(30),
            )
            .await;
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(
            notice["counts"]["email"]["sent"].as_i64().unwrap_or(0),
            0,
            "{notice}"
        );
        assert_eq!(notice["counts"]["email"]["pending"], 30, "{notice}");
        mock.assert_no_violations();
        app.hub.abort();
        held.abort();
    }
}

#[tokio::test]
async fn a_full_sqlite_database_fails_cleanly_and_says_so() {
    // One connection, so the page limit set below holds for every statement the hub runs. SQLite's
    // max_page_count stands in for a full disk: both end in SQLITE_FULL.
    let app = spawn_app_with(Backend::Sqlite, &[("HUB_DATABASE_MAX_CONNECTIONS", "1")]).await;
    let pool = &app.hub.state.db.pool;
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(pool)
        .await
        .expect("page count");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA max_page_count = {}",
        pages + 4
    )))
    .execute(pool)
    .await
    .expect("limit");
    let response = app
        .client
        .post(app.url("/api/residents/import"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "text/csv")
        .body(simple_csv("full", 3000, true, true))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 507);
    let error: Value = response.json().await.expect("json");
    assert!(
        error["error"].as_str().unwrap_or_default().contains("full"),
        "{error}"
    );
    // Nothing of the file was applied, and the hub still answers.
    let (status, _) = app.get("/api/residents/R-full-0", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 404);
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // Space again: the same import goes through.
    sqlx::query("PRAGMA max_page_count = 1073741823")
        .execute(pool)
        .await
        .expect("unlimit");
    app.import_csv(simple_csv("full", 3000, true, true)).await;
    let (status, _) = app.get("/api/residents/R-full-0", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200);
    app.hub.stop().await;
}

/// A PostgreSQL cluster of the test's own (never the shared one): initdb + pg_ctl, as the postgres user when
/// running as root (PostgreSQL refuses root), stopped and removed on drop.
struct OwnPostgres {
    dir: tempfile::TempDir,
    port: u16,
    bin: std::path::PathBuf,
    as_postgres: bool,
}

impl OwnPostgres {
    fn run(&self, program: &str, args: &[&str]) -> std::process::Output {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            std::process::Command::new(&program)
        };
        command
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", program.display()))
    }

    fn start_cluster() -> OwnPostgres {
        let bin = std::path::PathBuf::from(
            std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()),
        );
        assert!(
            bin.join("initdb").exists(),
            "PostgreSQL 15 is missing at {} (set PG_BIN)",
            bin.display()
        );
        let as_postgres = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let dir = tempfile::tempdir().expect("temp dir");
        if as_postgres {
            let status = std::process::Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = OwnPostgres {
            dir,
            port,
            bin,
            as_postgres,
        };
        let data = cluster.data();
        let output = cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        );
        assert!(output.status.success(), "initdb: {output:?}");
        cluster.start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("pg").display().to_string()
    }

    fn start(&self) {
        // Commits stay synchronous: with synchronous_commit=off a crash loses commits the hub was told had
        // succeeded (rows recorded as sent come back pending), which no client can guard against.
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("pg.log").display().to_string();
        let output = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-w",
                "-o",
                &options,
                "start",
            ],
        );
        assert!(output.status.success(), "pg_ctl start: {output:?}");
    }

    /// Stops at once, as a crash or a lost network would (open connections are cut).
    fn stop(&self) {
        let output = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
        assert!(output.status.success(), "pg_ctl stop: {output:?}");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_away_for_ten_seconds_mid_dispatch_every_delivery_finishes_once() {
    install_crypto();
    let cluster = tokio::task::spawn_blocking(OwnPostgres::start_cluster)
        .await
        .expect("cluster");
    let sink = hub::outbox::bench::SmtpSink::start()
        .await
        .expect("SMTP sink");
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in [
        ("HUB_LISTEN", "127.0.0.1:0".to_owned()),
        ("HUB_DATABASE_URL", cluster.url()),
        ("HUB_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("HUB_SMTP_URL", sink.url()),
        (
            "HUB_MAIL_FROM",
            "行橋市 <info@city.yukuhashi.example>".to_owned(),
        ),
        // 300 emails at 20 a second: a 15 s dispatch, with PostgreSQL gone for 10 s of it.
        ("HUB_MAIL_RATE", "20".to_owned()),
        // A row whose worker lost its claim is taken again after this.
        ("HUB_DISPATCH_LEASE_SECS", "30".to_owned()),
    ] {
        env.insert(key.to_owned(), value);
    }
    let config = hub::Config::from_parts(None, &env).expect("config");
    let running = hub::spawn(config).await.expect("hub starts");
    let app = TestApp::adopt(running, Backend::Postgres, cluster.url());
    app.import_csv(simple_csv("pg", 300, false, true)).await;
    let id = notice_now(&app, "pg-restart", &["email"]).await;
    app.notice_when(id, "40 emails sent", Duration::from_secs(30), |notice| {
        notice["counts"]["email"]["sent"].as_i64().unwrap_or(0) >= 40
    })
    .await;

    cluster.stop();
    let down = Instant::now();
    // Meanwhile the hub keeps serving what needs no database, and says the database is away.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    let page = app.client.get(app.url("/chat")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(down.elapsed())).await;
    cluster.start();

    let notice = app.notice_done(id, Duration::from_secs(120)).await;
    assert_eq!(notice["counts"]["email"]["sent"], 300, "{notice}");
    // Every resident got the email once: 300 rows sent, 300 messages at the server.
    assert_eq!(
        sink.messages.load(std::sync::atomic::Ordering::SeqCst),
        300,
        "{notice}"
    );
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    app.hub.stop().await;
}
