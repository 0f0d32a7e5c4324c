//! Shared test helpers: a real SMTP server (aiosmtpd from PyPI) on 127.0.0.1.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn python() -> String {
    std::env::var("HUB_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

pub struct SmtpServer {
    child: Child,
    pub port: u16,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_aiosmtpd(maildir: &Path) -> SmtpServer {
    let py = python();
    let check = Command::new(&py)
        .args(["-c", "import aiosmtpd"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {py:?} (set HUB_TEST_PYTHON to a Python 3 with aiosmtpd): {e}")
        });
    assert!(
        check.status.success(),
        "{py} cannot import aiosmtpd: run `{py} -m pip install aiosmtpd` (or set HUB_TEST_PYTHON): {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&py)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting aiosmtpd with {py}: {e}"));
    let mut server = SmtpServer { child, port };
    let started = Instant::now();
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("aiosmtpd exited at start: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "aiosmtpd did not accept connections on 127.0.0.1:{port} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
