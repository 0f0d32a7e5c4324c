//! # channels: the Yukuhashi resident hub's providers
//!
//! This crate speaks to providers and to nothing else (no database). The hub hands it rendered messages with
//! their recipients and an idempotency key per provider request, and gets back one [`Outcome`] per recipient.
//!
//! | channel | module | sink | recipients per request | idempotency key |
//! |---|---|---|---|---|
//! | LINE Messaging API | [`line`](mod@line) | [`line::LineClient`] | 1 (push) … 500 (multicast) | `X-Line-Retry-Key` |
//! | email (SMTP, lettre) | [`email`] | [`email::EmailSink`] | 1 | `Message-ID` |
//! | Web Push (RFC 8030/8291/8292) | [`push`] | [`push::PushSink`] | 1 | `Topic` |
//!
//! Web chat is delivered by the hub over its own WebSocket; it only shares [`Outcome`].
//!
//! All sinks implement [`Sink`]: `send(&Request) -> Vec<Outcome>`. Inside a call each sink waits for its
//! per-endpoint rate limiter ([`RateLimit`], governor), retries retryable failures with the one
//! [`RetryPolicy`] (exponential backoff, jitter, `Retry-After`, attempt and time budget) reusing the same
//! idempotency key, and returns [`Outcome::Retry`] when the budget is used up so the hub can reschedule the
//! delivery row. Without credentials a sink is in record-only mode and returns [`Outcome::Recorded`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use channels::line::{LineClient, LineConfig, LineMessage, LineUserId};
//! use channels::{Request, Sink};
//!
//! let line = LineClient::new(LineConfig::new(Some("channel-access-token".into())))?;
//! let to: LineUserId = "U0123456789abcdef0123456789abcdef".parse()?;
//! let key = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, b"notice-42/chunk-0"); // from the delivery rows
//! let outcomes = line
//!     .send(&Request::new(key, vec![to], vec![LineMessage::text("ごみ収集日のお知らせ")?]))
//!     .await;
//! # Ok(()) }
//! ```
//!
//! Features: `test-support` adds [`testing`] (a LINE mock that validates every request against LINE's
//! OpenAPI spec, and a Web Push service stand-in); `bench` adds [`bench`](mod@bench) (`hub bench channels`).

pub mod email;
pub mod http;
pub mod line;
pub mod outcome;
pub mod push;
pub mod ratelimit;
pub mod retry;
mod serde_duration;
pub mod sink;

#[cfg(feature = "bench")]
pub mod bench;
#[cfg(feature = "test-support")]
pub mod testing;

pub use outcome::{Failure, FailureKind, Outcome};
pub use ratelimit::RateLimit;
pub use retry::RetryPolicy;
pub use sink::{Request, Sink};

/// Errors of constructing a channel (configuration); sending never errors, it returns [`Outcome`]s.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("building the HTTP client failed: {0}")]
    HttpClient(String),
    #[error("invalid configuration of {channel}: {field}: {message}")]
    Config {
        channel: &'static str,
        field: &'static str,
        message: String,
    },
}
