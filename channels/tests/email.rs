//! Email through a real SMTP server on 127.0.0.1: aiosmtpd (PyPI) writing a Maildir.
//!
//! Needs `$HUB_TEST_PYTHON` (default `python3`) with `aiosmtpd` installed (`pip install aiosmtpd`); without it
//! the test fails and says so.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{python, start_aiosmtpd};

use channels::email::{EmailConfig, EmailMessage, EmailSink};
use channels::{FailureKind, Outcome, Request, RetryPolicy, Sink};
use serde_json::Value;
use uuid::Uuid;

/// Reads the Maildir with Python's `email` package (an independent MIME parser).
fn read_maildir(maildir: &Path) -> Vec<Value> {
    let script = r#"
import json, mailbox, sys
from email import policy
from email.parser import BytesParser
out = []
for key, msg in mailbox.Maildir(sys.argv[1], factory=None).items():
    raw = msg.as_bytes()
    m = BytesParser(policy=policy.default).parsebytes(raw)
    parts = []
    for p in (m.walk() if m.is_multipart() else [m]):
        if p.get_content_maintype() == 'multipart':
            continue
        parts.append({"type": p.get_content_type(), "charset": p.get_content_charset(), "content": p.get_content()})
    out.append({"subject": str(m["subject"]), "raw_subject": m.get("subject").__str__(),
                "message_id": m["message-id"], "to": str(m["to"]), "from": str(m["from"]),
                "list_unsubscribe": m["list-unsubscribe"], "list_unsubscribe_post": m["list-unsubscribe-post"],
                "content_type": m.get_content_type(), "parts": parts,
                "header_block": raw.split(b"\n\n")[0].decode("ascii", "replace")})
print(json.dumps(out, ensure_ascii=False))
"#;
    let out = Command::new(python())
        .args(["-c", script])
        .arg(maildir)
        .output()
        .expect("running python to read the Maildir");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn key(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

#[tokio::test]
async fn japanese_mail_through_a_real_smtp_server() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    let server = start_aiosmtpd(&maildir);
    let sink = EmailSink::new(EmailConfig::new(
        Some(format!("smtp://127.0.0.1:{}", server.port)),
        "行橋市役所 <info@city.yukuhashi.example>",
    ))
    .unwrap();
    assert!(!sink.is_record_only());

    let subject = "【行橋市】粗大ごみ収集日変更のお知らせ（今元・仲津地区）";
    let text = "いつも行橋市のごみ収集にご協力いただきありがとうございます。\n12月の粗大ごみ収集日は第2水曜日に変わります。";
    let html = "<p>いつも行橋市のごみ収集にご協力いただき&amp;ありがとうございます。</p><p>12月の粗大ごみ収集日は<strong>第2水曜日</strong>に変わります。</p>";
    let msg = EmailMessage {
        subject: subject.into(),
        text: text.into(),
        html: Some(html.into()),
        list_unsubscribe: Some(
            "https://hub.city.yukuhashi.example/unsubscribe?t=sig.abc123".into(),
        ),
    };
    let k = key("notice-3/resident-17/email");
    let outs = sink
        .send(&Request::single(
            k,
            "住民 太郎 <taro@example.org>".to_string(),
            msg.clone(),
        ))
        .await;
    assert!(
        matches!(&outs[..], [Outcome::Sent { provider_id }] if provider_id.starts_with("250")),
        "{outs:?}"
    );
    // The same delivery again (a resend after a crash): the same Message-ID.
    let again = sink.send_one("taro@example.org", &msg, k).await;
    assert!(matches!(again, Outcome::Sent { .. }));
    let plain = EmailMessage {
        subject: "Emergency: evacuation order / 避難指示".into(),
        text: "Evacuate now.".into(),
        html: None,
        list_unsubscribe: None,
    };
    assert!(matches!(
        sink.send_one("hanako@example.org", &plain, key("e1")).await,
        Outcome::Sent { .. }
    ));
    let bad = sink.send_one("not an address", &plain, key("e2")).await;
    assert_eq!(bad.failure_kind(), Some(FailureKind::InvalidRecipient));

    let mut mails = read_maildir(&maildir);
    assert_eq!(mails.len(), 3, "{mails:#?}");
    mails.sort_by_key(|m| m["to"].as_str().unwrap_or("").to_owned());
    let (plain_mail, taro) = (&mails[0], &mails[1..]);
    let want_id = format!("<{}@city.yukuhashi.example>", k.hyphenated());
    for m in taro {
        assert_eq!(m["subject"], subject, "the Japanese subject decodes");
        assert_eq!(m["message_id"], want_id.as_str(), "stable Message-ID");
        assert_eq!(m["content_type"], "multipart/alternative");
        let parts = m["parts"].as_array().unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0]["type"], "text/plain");
        assert_eq!(parts[0]["charset"], "utf-8");
        // Mail bodies travel with CRLF line ends.
        assert_eq!(
            parts[0]["content"]
                .as_str()
                .unwrap()
                .replace("\r\n", "\n")
                .trim_end(),
            text
        );
        assert_eq!(parts[1]["type"], "text/html");
        assert_eq!(
            parts[1]["content"]
                .as_str()
                .unwrap()
                .replace("\r\n", "\n")
                .trim_end(),
            html
        );
        // aiosmtpd's Maildir writer (Python's compat32 generator) refolds headers over 78 characters, so the
        // value arrives after folding whitespace; unfolded it is the URL in angle brackets.
        assert_eq!(
            m["list_unsubscribe"].as_str().map(str::trim),
            Some("<https://hub.city.yukuhashi.example/unsubscribe?t=sig.abc123>"),
            "{}",
            m["header_block"]
        );
        assert_eq!(m["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
        assert!(m["from"].as_str().unwrap().contains("行橋市役所"), "{m}");
    }
    assert_eq!(
        plain_mail["subject"],
        "Emergency: evacuation order / 避難指示"
    );
    assert_eq!(plain_mail["content_type"], "text/plain");
    assert!(plain_mail["list_unsubscribe"].is_null());
    drop(server);
}

#[tokio::test]
async fn unreachable_server_is_retry_and_no_url_is_record_only() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = EmailConfig::new(
        Some(format!("smtp://127.0.0.1:{port}")),
        "info@city.example",
    );
    cfg.retry = RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    cfg.timeout = Duration::from_secs(2);
    let sink = EmailSink::new(cfg).unwrap();
    let msg = EmailMessage {
        subject: "s".into(),
        text: "t".into(),
        html: None,
        list_unsubscribe: None,
    };
    let o = sink.send_one("a@example.org", &msg, key("x")).await;
    assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
    let rec = EmailSink::new(EmailConfig::new(None, "info@city.example")).unwrap();
    assert_eq!(
        rec.send_one("a@example.org", &msg, key("x")).await,
        Outcome::Recorded
    );
}
