//! A real SMTP server for the hub to send to: aiosmtpd (Python) on loopback, writing every message it gets to a
//! maildir the tests read.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

use super::TestApp;
use super::db::{Param, count_with};
use super::wait::eventually;

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One stored message's headers (the subject decoded), and when it was written.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The address, without angle brackets.
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub list_unsubscribe: Option<String>,
    pub written: std::time::SystemTime,
}

/// One stored message as a mail program shows it: Python's e-mail parser undoes every encoding.
#[derive(Debug, Clone)]
pub struct Message {
    pub to: String,
    /// The decoded text of every text part.
    pub text: String,
}

impl SmtpServer {
    /// Starts aiosmtpd (`HUB_TEST_PYTHON`, else `python3`) on a free loopback port and waits until it listens.
    pub fn start() -> SmtpServer {
        let python = python();
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("mail");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting aiosmtpd with {python} (set HUB_TEST_PYTHON to a Python with aiosmtpd): {e}")
            });
        let mut server = SmtpServer {
            child,
            port,
            maildir,
            _dir: dir,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("aiosmtpd exited at start ({status}): is aiosmtpd installed for {python}?");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen on 127.0.0.1:{port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `smtp://127.0.0.1:port`, for `HUB_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every stored message's headers (fast: no body is decoded).
    pub fn mails(&self) -> Vec<Mail> {
        let mut mails = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                let text = text.replace("\r\n", "\n");
                let header_end = text.find("\n\n").unwrap_or(text.len());
                // Unfold continuation lines.
                let headers = text[..header_end].replace("\n ", " ").replace("\n\t", " ");
                let get = |name: &str| {
                    headers.lines().find_map(|line| {
                        let (key, value) = line.split_once(':')?;
                        key.eq_ignore_ascii_case(name)
                            .then(|| value.trim().to_owned())
                    })
                };
                mails.push(Mail {
                    to: get("To")
                        .unwrap_or_default()
                        .trim_matches(['<', '>'])
                        .to_owned(),
                    subject: decode_header(&get("Subject").unwrap_or_default()),
                    message_id: get("Message-ID").unwrap_or_default(),
                    list_unsubscribe: get("List-Unsubscribe"),
                    written: entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH),
                });
            }
        }
        mails
    }

    /// Every stored message with its text decoded (runs Python's e-mail parser over the maildir).
    pub fn messages(&self) -> Vec<Message> {
        let script = r#"
import email, email.policy, json, os, sys
out = []
for sub in ("new", "cur"):
    folder = os.path.join(sys.argv[1], sub)
    if not os.path.isdir(folder):
        continue
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            message = email.message_from_binary_file(f, policy=email.policy.default)
        texts = [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
        out.append([str(message["To"]), str(message["Subject"]), "\n".join(texts)])
print(json.dumps(out))
"#;
        let output = Command::new(python())
            .args(["-c", script])
            .arg(&self.maildir)
            .output()
            .expect("python reads the mails");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let rows: Vec<(String, String, String)> =
            serde_json::from_slice(&output.stdout).expect("json of mails");
        rows.into_iter()
            .map(|(to, _subject, text)| Message { to, text })
            .collect()
    }

    /// The messages to `address` once the hub has none left to send there (every delivery row to it is sent or
    /// failed) and at least `at_least` have arrived: a late duplicate is among them, not after them.
    pub async fn delivered_to(
        &self,
        app: &TestApp,
        address: &str,
        at_least: usize,
    ) -> Vec<Message> {
        eventually(
            format!("{at_least} or more mails to {address}, and none left to send"),
            Duration::from_secs(15),
            async || {
                let pending = count_with(
                    app,
                    "SELECT COUNT(*) FROM deliveries WHERE address = $1 AND status = 'pending'",
                    &[Param::Text(address)],
                )
                .await;
                let found: Vec<Message> = self
                    .messages()
                    .into_iter()
                    .filter(|m| m.to.contains(address))
                    .collect();
                (pending, found)
            },
            |(pending, found)| *pending == 0 && found.len() >= at_least,
        )
        .await
        .1
    }
}

fn python() -> String {
    std::env::var("HUB_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`); white space between them is dropped.
pub fn decode_header(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while !rest.is_empty() {
        let Some(start) = rest.find("=?") else {
            out.push_str(rest);
            break;
        };
        let between = &rest[..start];
        if !(last_was_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let word = &rest[start + 2..];
        let mut parts = word.splitn(3, '?');
        let (Some(_charset), Some(encoding), Some(tail)) =
            (parts.next(), parts.next(), parts.next())
        else {
            out.push_str(&rest[start..]);
            break;
        };
        let Some(end) = tail.find("?=") else {
            out.push_str(&rest[start..]);
            break;
        };
        let text = &tail[..end];
        let bytes = if encoding.eq_ignore_ascii_case("b") {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default()
        } else {
            let mut bytes = Vec::new();
            let raw = text.as_bytes();
            let mut i = 0;
            while i < raw.len() {
                match raw[i] {
                    b'_' => bytes.push(b' '),
                    b'=' if i + 2 < raw.len() => {
                        if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                            bytes.push(b);
                        }
                        i += 2;
                    }
                    other => bytes.push(other),
                }
                i += 1;
            }
            bytes
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        rest = &tail[end + 2..];
        last_was_word = true;
    }
    out
}
