//! `hub serve` as a separate process (the binary this package builds), so that a test can kill it (SIGKILL) in
//! the middle of its work, or stop it as an operator does (SIGTERM), and start it again on the same database.

use std::path::Path;
use std::time::Duration;

use super::Api;
use super::wait::eventually;

pub struct HubProcess {
    child: std::process::Child,
    pub api: Api,
    pub database_url: String,
}

impl std::ops::Deref for HubProcess {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

/// Dropping it is `kill -9`.
impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HubProcess {
    /// Starts `hub serve` on a free loopback port with `env` (its log appended to `log`) and waits until
    /// `/healthz` answers.
    pub async fn start(env: &[(String, String)], log: &Path) -> HubProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hub"));
        command
            .arg("serve")
            .env("HUB_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            // `hub serve` watches JMA by default: not from a test (loopback only) unless `env` says so.
            .env("HUB_JMA_ENABLED", "false")
            .stdout(std::process::Stdio::null())
            .stderr(log_file);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("hub serve starts");
        let database_url = env
            .iter()
            .find(|(key, _)| key == "HUB_DATABASE_URL")
            .map(|(_, url)| url.clone())
            .expect("HUB_DATABASE_URL among the settings");
        let process = HubProcess {
            child,
            api: Api::at(format!("http://127.0.0.1:{port}")),
            database_url,
        };
        let health = process.url("/healthz");
        let _ = eventually(
            format!("hub serve answering {health} (log: {})", log.display()),
            Duration::from_secs(60),
            async || {
                process
                    .client
                    .get(&health)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .map_err(|e| e.to_string())
            },
            |answer| answer.as_ref().is_ok_and(|status| *status == 200),
        )
        .await;
        process
    }

    /// SIGKILL: the process ends at once, nothing in flight is finished or recorded.
    pub fn kill(self) {
        drop(self);
    }

    /// SIGTERM, as an operator or a service manager stops the hub; the exit status once it has ended (failing
    /// when it takes longer than `within`).
    pub async fn terminate(mut self, within: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM runs");
        assert!(sent.success(), "kill -TERM {pid}: {sent}");
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("the hub's status") {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "hub serve (pid {pid}) still running {within:?} after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The settings of a `hub serve` on `database_url` with the test admin token, plus `extra`.
pub fn settings(database_url: &str, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env = vec![
        ("HUB_DATABASE_URL".to_owned(), database_url.to_owned()),
        ("HUB_ADMIN_TOKEN".to_owned(), super::ADMIN_TOKEN.to_owned()),
    ];
    env.extend(super::data_dir(database_url).map(|dir| ("HUB_DATA_DIR".to_owned(), dir)));
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    env
}
