//! Email over SMTP with lettre (rustls, no native-tls).
//!
//! - Config from a URL: `smtp://127.0.0.1:2525` (plain, loopback tests), `smtp://user:pass@host:587?tls=required`
//!   (STARTTLS), `smtps://user:pass@host:465` (TLS), and a From mailbox.
//! - UTF-8 Japanese subject (RFC 2047) and body; a text part, plus an HTML part when given
//!   (`multipart/alternative`).
//! - `Message-ID: <KEY@from-domain>` from the caller's delivery key: stable across retries and restarts.
//! - `List-Unsubscribe: <URL>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058) when the
//!   caller gives an unsubscribe URL.
//! - One outcome per message: SMTP 4xx → retried, then [`Outcome::Retry`]; 5xx → [`Outcome::Failed`].

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use uuid::Uuid;

use crate::ratelimit::Limiter;
use crate::retry::Attempt;
use crate::{ChannelError, Failure, FailureKind, Outcome, RateLimit, Request, RetryPolicy, Sink};

/// Configuration of [`EmailSink`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailConfig {
    /// `smtp://HOST:PORT`, `smtp://USER:PASS@HOST:PORT?tls=required`, `smtps://USER:PASS@HOST:465`.
    /// `None`: record-only mode.
    pub smtp_url: Option<String>,
    /// The From mailbox, e.g. `行橋市役所 <info@city.yukuhashi.example>`.
    pub from: String,
    /// Timeout of one SMTP command.
    #[serde(with = "crate::serde_duration::secs_f64")]
    pub timeout: Duration,
    /// Messages per period to the SMTP server.
    pub rate: RateLimit,
    pub retry: RetryPolicy,
    /// SMTP connections kept open and used at once (lettre's pool; its default is 10). A message takes a few
    /// round trips, so this bounds the messages per second as much as `rate` does.
    pub connections: u32,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            smtp_url: None,
            from: "Yukuhashi City <noreply@localhost>".into(),
            timeout: Duration::from_secs(30),
            rate: RateLimit::per_second(50),
            retry: RetryPolicy::default(),
            connections: 10,
        }
    }
}

impl EmailConfig {
    pub fn new(smtp_url: Option<String>, from: impl Into<String>) -> Self {
        EmailConfig {
            smtp_url,
            from: from.into(),
            ..EmailConfig::default()
        }
    }
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part (already escaped by the template), if any.
    pub html: Option<String>,
    /// The one-click unsubscribe URL (signed by the hub), if any: adds `List-Unsubscribe` and
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub list_unsubscribe: Option<String>,
}

/// The email channel. `Recipient = String` (an address, optionally `Name <addr>`), one per request.
#[derive(Clone)]
pub struct EmailSink {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    domain: String,
    limiter: std::sync::Arc<Limiter>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for EmailSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSink")
            .field("from", &self.from.to_string())
            .field("record_only", &self.transport.is_none())
            .finish()
    }
}

fn config_err(field: &'static str, message: String) -> ChannelError {
    ChannelError::Config {
        channel: "email",
        field,
        message,
    }
}

impl EmailSink {
    pub fn new(config: EmailConfig) -> Result<Self, ChannelError> {
        crate::http::install_crypto_provider();
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| config_err("from", format!("{:?}: {e}", config.from)))?;
        let domain = from.email.domain().to_owned();
        let transport = match config.smtp_url.as_deref() {
            None | Some("") => None,
            Some(url) => {
                let redacted = redact(url);
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| config_err("smtp_url", format!("{redacted}: {e}")))?;
                Some(
                    builder
                        .timeout(Some(config.timeout))
                        .pool_config(PoolConfig::new().max_size(config.connections.max(1)))
                        .build(),
                )
            }
        };
        Ok(EmailSink {
            transport,
            from,
            domain,
            limiter: std::sync::Arc::new(Limiter::new(config.rate)),
            retry: config.retry,
        })
    }

    pub fn is_record_only(&self) -> bool {
        self.transport.is_none()
    }

    /// The stable Message-ID for a delivery key: `<KEY@from-domain>`.
    pub fn message_id(&self, key: Uuid) -> String {
        format!("<{}@{}>", key.hyphenated(), self.domain)
    }

    /// Builds the message (the one place emails are built). Errors name the field.
    pub fn build(&self, to: &str, msg: &EmailMessage, key: Uuid) -> Result<Message, Failure> {
        let to: Mailbox = to.parse().map_err(|e| Failure {
            kind: FailureKind::InvalidRecipient,
            detail: format!("recipient {to:?}: {e}"),
        })?;
        let mut b = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone())
            .message_id(Some(self.message_id(key)));
        if let Some(url) = &msg.list_unsubscribe {
            // Serialized by `url`, the value is ASCII with no spaces or angle brackets; written unfolded.
            let value = match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "https" | "http") && u.as_str().len() < 900 => {
                    format!("<{}>", u.as_str())
                }
                _ => {
                    return Err(Failure {
                        kind: FailureKind::InvalidMessage,
                        detail: format!("list_unsubscribe {url:?} is not an http(s) URL"),
                    });
                }
            };
            b = b
                .raw_header(HeaderValue::dangerous_new_pre_encoded(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    value.clone(),
                    value,
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let built = match &msg.html {
            Some(html) => b.multipart(MultiPart::alternative_plain_html(
                msg.text.clone(),
                html.clone(),
            )),
            None => b.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(msg.text.clone()),
            ),
        };
        built.map_err(|e| Failure {
            kind: FailureKind::InvalidMessage,
            detail: format!("building the email: {e}"),
        })
    }

    /// Sends one message to one recipient; `key` gives the Message-ID.
    pub async fn send_one(&self, to: &str, msg: &EmailMessage, key: Uuid) -> Outcome {
        let Some(transport) = &self.transport else {
            return Outcome::Recorded;
        };
        let message = match self.build(to, msg, key) {
            Ok(m) => m,
            Err(f) => return Outcome::Failed { reason: f },
        };
        let span = tracing::info_span!("smtp_send", message_id = %self.message_id(key));
        self.retry
            .run(|_| {
                let message = message.clone();
                async move {
                    self.limiter.acquire().await;
                    match transport.send(message).await {
                        Ok(resp) => Attempt::Done(Outcome::Sent {
                            provider_id: format!(
                                "{} {}",
                                resp.code(),
                                resp.message().collect::<Vec<_>>().join(" ")
                            ),
                        }),
                        Err(e) => classify(&e),
                    }
                }
            })
            .instrument(span)
            .await
    }
}

/// SMTP 4xx → retry; 5xx → permanent (550/551/553 name the recipient); I/O, TLS, timeouts → retry.
fn classify(e: &SmtpError) -> Attempt {
    let code = e.status().map(|c| c.to_string());
    let detail = format!("SMTP: {e}");
    if e.is_permanent() {
        let kind = match code.as_deref() {
            Some("550" | "551" | "553") => FailureKind::InvalidRecipient,
            Some("530" | "535") => FailureKind::Unauthorized,
            Some("552" | "554") => FailureKind::InvalidMessage,
            _ => FailureKind::Rejected,
        };
        return Attempt::Done(Outcome::failed(kind, detail));
    }
    Attempt::Again {
        reason: detail,
        retry_after: None,
    }
}

/// The URL with any password replaced, for error messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<unparsable URL>".into(),
    }
}

#[async_trait]
impl Sink for EmailSink {
    type Recipient = String;
    type Message = EmailMessage;

    fn channel(&self) -> &'static str {
        "email"
    }

    fn max_recipients(&self) -> usize {
        1
    }

    fn record_only(&self) -> bool {
        self.is_record_only()
    }

    async fn send(&self, request: &Request<String, EmailMessage>) -> Vec<Outcome> {
        match request.recipients.as_slice() {
            [] => Vec::new(),
            [to] => vec![self.send_one(to, &request.message, request.key).await],
            many => vec![
                Outcome::failed(
                    FailureKind::InvalidMessage,
                    "an email request has exactly one recipient (its key is the Message-ID)"
                );
                many.len()
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_headers() {
        let sink = EmailSink::new(EmailConfig::new(
            None,
            "行橋市役所 <info@city.yukuhashi.example>",
        ))
        .unwrap();
        assert!(sink.is_record_only());
        let key = Uuid::nil();
        let m = sink
            .build(
                "resident@example.org",
                &EmailMessage {
                    subject: "【行橋市】ごみ収集日変更のお知らせ".into(),
                    text: "本文".into(),
                    html: Some("<p>本文</p>".into()),
                    list_unsubscribe: Some("https://hub.example/u?t=abc".into()),
                },
                key,
            )
            .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains(
                "Message-ID: <00000000-0000-0000-0000-000000000000@city.yukuhashi.example>"
            )
        );
        assert!(
            raw.contains("List-Unsubscribe: <https://hub.example/u?t=abc>"),
            "{raw}"
        );
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
        assert!(sink.build("not an address", &m_min(), key).is_err());
        let long = format!("https://hub.example/unsubscribe?t={}", "a".repeat(300));
        let mut m2 = m_min();
        m2.list_unsubscribe = Some(long.clone());
        let raw =
            String::from_utf8(sink.build("a@b.example", &m2, key).unwrap().formatted()).unwrap();
        assert!(
            raw.contains(&format!("List-Unsubscribe: <{long}>\r\n")),
            "written unfolded"
        );
        m2.list_unsubscribe = Some("javascript:alert(1)".into());
        assert!(sink.build("a@b.example", &m2, key).is_err());
        assert!(EmailSink::new(EmailConfig::new(Some("ftp://x".into()), "a@b.example")).is_err());
        let e = EmailSink::new(EmailConfig::new(
            Some("smtps://u:secret@[::1".into()),
            "a@b.example",
        ))
        .unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    fn m_min() -> EmailMessage {
        EmailMessage {
            subject: "s".into(),
            text: "t".into(),
            html: None,
            list_unsubscribe: None,
        }
    }
}
