//! `hub serve` as a separate process (the binary this package builds), so that a test can kill it (SIGKILL) in
//! the middle of its work and start it again on the same database.

use std::path::Path;
use std::time::Duration;

use super::Api;
use super::wait::eventually;

pub struct HubProcess {
    child: std::process::Child,
    pub api: Api,
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
        let process = HubProcess {
            child,
            api: Api::at(format!("http://127.0.0.1:{port}")),
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
}
