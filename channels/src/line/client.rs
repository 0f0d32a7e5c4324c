//! The LINE Messaging API client: the one place that builds LINE requests.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use uuid::Uuid;

use super::types::{
    LineMessage, LineUserId, MessageQuota, QuotaConsumption, SentMessage, check_messages, limits,
};
use crate::ratelimit::Limiter;
use crate::retry::{Attempt, retry_after_header};
use crate::{ChannelError, FailureKind, Outcome, RateLimit, Request, RetryPolicy, Sink};

/// LINE's default API base.
pub const DEFAULT_API_BASE: &str = "https://api.line.me";

/// Rate limits per endpoint. Defaults are LINE's published limits: multicast 200/s, push 2,000/s,
/// broadcast and narrowcast 60/h, reply and other endpoints 2,000/s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineRateLimits {
    pub push: RateLimit,
    pub multicast: RateLimit,
    pub broadcast: RateLimit,
    pub narrowcast: RateLimit,
    pub reply: RateLimit,
    pub other: RateLimit,
}

impl Default for LineRateLimits {
    fn default() -> Self {
        LineRateLimits {
            push: RateLimit::per_second(2000),
            multicast: RateLimit::per_second(200),
            broadcast: RateLimit::per_hour(60),
            narrowcast: RateLimit::per_hour(60),
            reply: RateLimit::per_second(2000),
            other: RateLimit::per_second(2000),
        }
    }
}

impl LineRateLimits {
    /// No limits (benchmarks against the loopback mock).
    pub fn unlimited() -> Self {
        let u = RateLimit::unlimited();
        LineRateLimits {
            push: u,
            multicast: u,
            broadcast: u,
            narrowcast: u,
            reply: u,
            other: u,
        }
    }
}

/// Configuration of [`LineClient`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LineConfig {
    /// `https://api.line.me` by default; tests point it at [`crate::testing::LineMock`].
    pub api_base: String,
    /// The channel access token (Bearer). `None`: record-only mode.
    pub channel_access_token: Option<String>,
    /// Timeout of one HTTP request.
    #[serde(with = "crate::serde_duration::secs_f64")]
    pub timeout: Duration,
    pub limits: LineRateLimits,
    pub retry: RetryPolicy,
}

impl Default for LineConfig {
    fn default() -> Self {
        LineConfig {
            api_base: DEFAULT_API_BASE.to_owned(),
            channel_access_token: None,
            timeout: Duration::from_secs(10),
            limits: LineRateLimits::default(),
            retry: RetryPolicy::default(),
        }
    }
}

impl LineConfig {
    /// Defaults with this token (`None` = record-only mode).
    pub fn new(channel_access_token: Option<String>) -> Self {
        LineConfig {
            channel_access_token,
            ..LineConfig::default()
        }
    }

    pub fn with_api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into();
        self
    }
}

/// Errors of the non-sending calls (quota).
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("LINE {endpoint}: record-only mode (no channel access token)")]
    RecordOnly { endpoint: &'static str },
    #[error("LINE {endpoint}: {detail}")]
    Http {
        endpoint: &'static str,
        detail: String,
    },
    #[error("LINE {endpoint}: HTTP {status}: {message}")]
    Status {
        endpoint: &'static str,
        status: u16,
        message: String,
    },
    #[error("LINE {endpoint}: unreadable answer: {detail}")]
    Garbage {
        endpoint: &'static str,
        detail: String,
    },
}

/// The endpoints this client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Reply,
    Push,
    Multicast,
    Narrowcast,
    Broadcast,
    Quota,
    QuotaConsumption,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Reply => "/v2/bot/message/reply",
            Endpoint::Push => "/v2/bot/message/push",
            Endpoint::Multicast => "/v2/bot/message/multicast",
            Endpoint::Narrowcast => "/v2/bot/message/narrowcast",
            Endpoint::Broadcast => "/v2/bot/message/broadcast",
            Endpoint::Quota => "/v2/bot/message/quota",
            Endpoint::QuotaConsumption => "/v2/bot/message/quota/consumption",
        }
    }

    fn method(self) -> Method {
        match self {
            Endpoint::Quota | Endpoint::QuotaConsumption => Method::GET,
            _ => Method::POST,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Endpoint::Reply => "reply",
            Endpoint::Push => "push",
            Endpoint::Multicast => "multicast",
            Endpoint::Narrowcast => "narrowcast",
            Endpoint::Broadcast => "broadcast",
            Endpoint::Quota => "quota",
            Endpoint::QuotaConsumption => "quota/consumption",
        }
    }
}

struct Limiters {
    push: Limiter,
    multicast: Limiter,
    broadcast: Limiter,
    narrowcast: Limiter,
    reply: Limiter,
    other: Limiter,
}

impl Limiters {
    fn new(l: &LineRateLimits) -> Self {
        Limiters {
            push: Limiter::new(l.push),
            multicast: Limiter::new(l.multicast),
            broadcast: Limiter::new(l.broadcast),
            narrowcast: Limiter::new(l.narrowcast),
            reply: Limiter::new(l.reply),
            other: Limiter::new(l.other),
        }
    }

    fn of(&self, e: Endpoint) -> &Limiter {
        match e {
            Endpoint::Push => &self.push,
            Endpoint::Multicast => &self.multicast,
            Endpoint::Broadcast => &self.broadcast,
            Endpoint::Narrowcast => &self.narrowcast,
            Endpoint::Reply => &self.reply,
            Endpoint::Quota | Endpoint::QuotaConsumption => &self.other,
        }
    }
}

struct Inner {
    http: reqwest::Client,
    base: String,
    auth: Option<HeaderValue>,
    limiters: Limiters,
    retry: RetryPolicy,
}

/// The LINE channel. Cheap to clone (shared state behind an `Arc`).
///
/// As a [`Sink`]: `Recipient = LineUserId`, `Message = Vec<LineMessage>` (1 to 5); a request with one
/// recipient is a push, with 2 to 500 a multicast. Broadcast and narrowcast, which name no recipients, and
/// the reply API are methods.
#[derive(Clone)]
pub struct LineClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LineClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineClient")
            .field("api_base", &self.inner.base)
            .field("record_only", &self.inner.auth.is_none())
            .finish()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushBody<'a> {
    to: &'a str,
    messages: &'a [LineMessage],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MulticastBody<'a> {
    to: &'a [LineUserId],
    messages: &'a [LineMessage],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplyBody<'a> {
    reply_token: &'a str,
    messages: &'a [LineMessage],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BroadcastBody<'a> {
    messages: &'a [LineMessage],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NarrowcastBody<'a> {
    messages: &'a [LineMessage],
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<&'a serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Deserialize, Default)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    property: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SentBody {
    sent_messages: Vec<SentMessage>,
}

const REQUEST_ID: &str = "x-line-request-id";
const ACCEPTED_REQUEST_ID: &str = "x-line-accepted-request-id";
const RETRY_KEY: &str = "x-line-retry-key";

impl LineClient {
    /// A client with its own HTTP client (timeout from the config).
    pub fn new(config: LineConfig) -> Result<Self, ChannelError> {
        let http = crate::http::client(config.timeout)?;
        Self::with_http(config, http)
    }

    /// A client sharing the hub's reqwest client (its timeout applies; `config.timeout` is then unused).
    pub fn with_http(config: LineConfig, http: reqwest::Client) -> Result<Self, ChannelError> {
        crate::http::install_crypto_provider();
        let base = config.api_base.trim_end_matches('/').to_owned();
        url::Url::parse(&base).map_err(|e| ChannelError::Config {
            channel: "line",
            field: "api_base",
            message: format!("{base:?}: {e}"),
        })?;
        let auth = match config.channel_access_token.as_deref() {
            None | Some("") => None,
            Some(token) => {
                let mut v = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                    ChannelError::Config {
                        channel: "line",
                        field: "channel_access_token",
                        message: "contains characters not allowed in an HTTP header".into(),
                    }
                })?;
                v.set_sensitive(true);
                Some(v)
            }
        };
        Ok(LineClient {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                limiters: Limiters::new(&config.limits),
                retry: config.retry,
            }),
        })
    }

    /// `true` without a channel access token: sends return [`Outcome::Recorded`].
    pub fn is_record_only(&self) -> bool {
        self.inner.auth.is_none()
    }

    /// `POST /v2/bot/message/push`: 1 to 5 messages to one user.
    pub async fn push(
        &self,
        to: &LineUserId,
        messages: &[LineMessage],
        retry_key: Uuid,
    ) -> Outcome {
        if let Err(e) = check_messages(messages) {
            return Outcome::failed(FailureKind::InvalidMessage, e.to_string());
        }
        let body = PushBody {
            to: to.as_str(),
            messages,
        };
        self.send_json(Endpoint::Push, Some(retry_key), &body).await
    }

    /// `POST /v2/bot/message/multicast`: the same 1 to 5 messages to 1 to 500 users. One outcome for all.
    pub async fn multicast(
        &self,
        to: &[LineUserId],
        messages: &[LineMessage],
        retry_key: Uuid,
    ) -> Outcome {
        if let Err(e) = check_messages(messages) {
            return Outcome::failed(FailureKind::InvalidMessage, e.to_string());
        }
        if to.is_empty() || to.len() > limits::MULTICAST_MAX_RECIPIENTS {
            return Outcome::failed(
                FailureKind::InvalidMessage,
                format!(
                    "multicast to {} users, allowed 1..={}",
                    to.len(),
                    limits::MULTICAST_MAX_RECIPIENTS
                ),
            );
        }
        let body = MulticastBody { to, messages };
        self.send_json(Endpoint::Multicast, Some(retry_key), &body)
            .await
    }

    /// `POST /v2/bot/message/broadcast`: every friend of the account (city-wide emergencies).
    pub async fn broadcast(&self, messages: &[LineMessage], retry_key: Uuid) -> Outcome {
        if let Err(e) = check_messages(messages) {
            return Outcome::failed(FailureKind::InvalidMessage, e.to_string());
        }
        self.send_json(
            Endpoint::Broadcast,
            Some(retry_key),
            &BroadcastBody { messages },
        )
        .await
    }

    /// `POST /v2/bot/message/narrowcast` (answered with 202): `recipient`, `filter` and `limit` are the
    /// spec's `Recipient`, `Filter` and `Limit` objects, passed through as JSON.
    pub async fn narrowcast(
        &self,
        messages: &[LineMessage],
        recipient: Option<&serde_json::Value>,
        filter: Option<&serde_json::Value>,
        limit: Option<&serde_json::Value>,
        retry_key: Uuid,
    ) -> Outcome {
        if let Err(e) = check_messages(messages) {
            return Outcome::failed(FailureKind::InvalidMessage, e.to_string());
        }
        let body = NarrowcastBody {
            messages,
            recipient,
            filter,
            limit,
        };
        self.send_json(Endpoint::Narrowcast, Some(retry_key), &body)
            .await
    }

    /// `POST /v2/bot/message/reply` with a webhook event's reply token (no retry key: the spec has none for
    /// reply, and a token is single-use, so a retry after a lost answer cannot reply twice).
    pub async fn reply(&self, reply_token: &str, messages: &[LineMessage]) -> Outcome {
        if let Err(e) = check_messages(messages) {
            return Outcome::failed(FailureKind::InvalidMessage, e.to_string());
        }
        let body = ReplyBody {
            reply_token,
            messages,
        };
        self.send_json(Endpoint::Reply, None, &body).await
    }

    /// `GET /v2/bot/message/quota`.
    pub async fn quota(&self) -> Result<MessageQuota, LineError> {
        self.get_json(Endpoint::Quota).await
    }

    /// `GET /v2/bot/message/quota/consumption`.
    pub async fn quota_consumption(&self) -> Result<QuotaConsumption, LineError> {
        self.get_json(Endpoint::QuotaConsumption).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: Endpoint,
    ) -> Result<T, LineError> {
        let name = endpoint.name();
        let span = tracing::info_span!("line_request", endpoint = name);
        async {
            let (status, _headers, body) =
                self.attempt(endpoint, None, None)
                    .await
                    .map_err(|detail| match detail {
                        AttemptError::RecordOnly => LineError::RecordOnly { endpoint: name },
                        AttemptError::Http(detail) => LineError::Http {
                            endpoint: name,
                            detail,
                        },
                    })?;
            if !status.is_success() {
                return Err(LineError::Status {
                    endpoint: name,
                    status: status.as_u16(),
                    message: error_message(&body),
                });
            }
            serde_json::from_slice(&body).map_err(|e| LineError::Garbage {
                endpoint: name,
                detail: e.to_string(),
            })
        }
        .instrument(span)
        .await
    }

    /// Serializes `body` once and sends it with retries (same bytes, same retry key every attempt).
    async fn send_json<B: Serialize>(
        &self,
        endpoint: Endpoint,
        retry_key: Option<Uuid>,
        body: &B,
    ) -> Outcome {
        if self.is_record_only() {
            return Outcome::Recorded;
        }
        let bytes = match serde_json::to_vec(body) {
            Ok(b) => bytes::Bytes::from(b),
            Err(e) => return Outcome::failed(FailureKind::InvalidMessage, e.to_string()),
        };
        let key = retry_key.map(|k| k.to_string()).unwrap_or_default();
        let span =
            tracing::info_span!("line_request", endpoint = endpoint.name(), retry_key = %key);
        self.inner
            .retry
            .run(|attempt| {
                let bytes = bytes.clone();
                async move {
                    match self.attempt(endpoint, retry_key, Some(bytes)).await {
                        Ok((status, headers, body)) => {
                            classify(endpoint, retry_key.is_some(), status, &headers, &body)
                        }
                        Err(AttemptError::RecordOnly) => Attempt::Done(Outcome::Recorded),
                        Err(AttemptError::Http(reason)) => {
                            tracing::debug!(attempt, %reason, "LINE request failed");
                            Attempt::Again {
                                reason,
                                retry_after: None,
                            }
                        }
                    }
                }
            })
            .instrument(span)
            .await
    }

    /// The one place a LINE HTTP request is built and sent.
    async fn attempt(
        &self,
        endpoint: Endpoint,
        retry_key: Option<Uuid>,
        body: Option<bytes::Bytes>,
    ) -> Result<(StatusCode, HeaderMap, bytes::Bytes), AttemptError> {
        let auth = self.inner.auth.clone().ok_or(AttemptError::RecordOnly)?;
        self.inner.limiters.of(endpoint).acquire().await;
        let url = format!("{}{}", self.inner.base, endpoint.path());
        let mut req = self
            .inner
            .http
            .request(endpoint.method(), url)
            .header(AUTHORIZATION, auth);
        if let Some(k) = retry_key {
            req = req.header(RETRY_KEY, k.hyphenated().to_string());
        }
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, "application/json").body(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| AttemptError::Http(crate::http::describe(&e)))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| AttemptError::Http(crate::http::describe(&e)))?;
        tracing::debug!(status = status.as_u16(), request_id = ?headers.get(REQUEST_ID), "LINE answered");
        Ok((status, headers, body))
    }
}

enum AttemptError {
    RecordOnly,
    Http(String),
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn error_message(body: &[u8]) -> String {
    parse_error(body).0
}

/// The error's message (with its details) and whether a detail names the `to` property.
fn parse_error(body: &[u8]) -> (String, bool) {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => {
            let mut s = e.message;
            let mut names_to = false;
            for d in e.details {
                let property = d.property.unwrap_or_default();
                names_to |= property == "to" || property.starts_with("to[");
                s.push_str(&format!("; {property}: {}", d.message.unwrap_or_default()));
            }
            (s, names_to)
        }
        Err(_) => (
            String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            false,
        ),
    }
}

/// Maps one LINE answer to a final outcome or a retry.
fn classify(
    endpoint: Endpoint,
    had_retry_key: bool,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Attempt {
    let request_id = header_str(headers, REQUEST_ID);
    if status.is_success() {
        // A 2xx means LINE accepted the request, whatever the body says.
        let provider_id = request_id.unwrap_or_else(|| {
            serde_json::from_slice::<SentBody>(body)
                .map(|b| {
                    b.sent_messages
                        .into_iter()
                        .map(|m| m.id)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        });
        return Attempt::Done(Outcome::Sent { provider_id });
    }
    let (message, names_to) = parse_error(body);
    match status.as_u16() {
        409 if had_retry_key => {
            // The retry key was already accepted: the earlier attempt went through.
            let accepted = header_str(headers, ACCEPTED_REQUEST_ID)
                .or(request_id)
                .unwrap_or_default();
            tracing::debug!(%accepted, "retry key already accepted: counted as sent");
            Attempt::Done(Outcome::Sent {
                provider_id: accepted,
            })
        }
        429 => {
            let retry_after = retry_after_header(headers);
            if message.contains("monthly limit") {
                // The monthly quota is spent: retrying soon is pointless.
                return Attempt::Done(Outcome::Retry {
                    after: Duration::from_secs(3600),
                    reason: format!("LINE {}: 429 {message}", endpoint.name()),
                });
            }
            Attempt::Again {
                reason: format!("LINE {}: 429 {message}", endpoint.name()),
                retry_after,
            }
        }
        500..=599 => Attempt::Again {
            reason: format!("LINE {}: {} {message}", endpoint.name(), status.as_u16()),
            retry_after: retry_after_header(headers),
        },
        401 => Attempt::Done(Outcome::failed(
            FailureKind::Unauthorized,
            format!("LINE {}: 401 {message}", endpoint.name()),
        )),
        403 => Attempt::Done(Outcome::failed(
            FailureKind::Unauthorized,
            format!("LINE {}: 403 {message}", endpoint.name()),
        )),
        400 if names_to => Attempt::Done(Outcome::failed(
            FailureKind::InvalidRecipient,
            format!("LINE {}: 400 {message}", endpoint.name()),
        )),
        400 => Attempt::Done(Outcome::failed(
            FailureKind::InvalidMessage,
            format!("LINE {}: 400 {message}", endpoint.name()),
        )),
        code => Attempt::Done(Outcome::failed(
            FailureKind::Rejected,
            format!("LINE {}: {code} {message}", endpoint.name()),
        )),
    }
}

#[async_trait]
impl Sink for LineClient {
    type Recipient = LineUserId;
    type Message = Vec<LineMessage>;

    fn channel(&self) -> &'static str {
        "line"
    }

    fn max_recipients(&self) -> usize {
        limits::MULTICAST_MAX_RECIPIENTS
    }

    fn record_only(&self) -> bool {
        self.is_record_only()
    }

    async fn send(&self, request: &Request<LineUserId, Vec<LineMessage>>) -> Vec<Outcome> {
        let outcome = match request.recipients.as_slice() {
            [] => return Vec::new(),
            [one] => self.push(one, &request.message, request.key).await,
            many => self.multicast(many, &request.message, request.key).await,
        };
        vec![outcome; request.recipients.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_maps_statuses() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_static("req-1"));
        let sent = classify(Endpoint::Push, true, StatusCode::OK, &h, b"garbage");
        assert!(
            matches!(sent, Attempt::Done(Outcome::Sent { provider_id }) if provider_id == "req-1")
        );
        h.insert(ACCEPTED_REQUEST_ID, HeaderValue::from_static("req-0"));
        let dup = classify(
            Endpoint::Multicast,
            true,
            StatusCode::CONFLICT,
            &h,
            br#"{"message":"The retry key is already accepted"}"#,
        );
        assert!(
            matches!(dup, Attempt::Done(Outcome::Sent { provider_id }) if provider_id == "req-0")
        );
        h.insert("retry-after", HeaderValue::from_static("2"));
        let r = classify(
            Endpoint::Multicast,
            true,
            StatusCode::TOO_MANY_REQUESTS,
            &h,
            b"{}",
        );
        assert!(
            matches!(r, Attempt::Again { retry_after: Some(d), .. } if d == Duration::from_secs(2))
        );
        let r = classify(Endpoint::Push, true, StatusCode::BAD_GATEWAY, &h, b"<html>");
        assert!(matches!(r, Attempt::Again { .. }));
        let f = classify(
            Endpoint::Broadcast,
            true,
            StatusCode::BAD_REQUEST,
            &h,
            br#"{"message":"The request body has 1 error(s)","details":[{"message":"May not be empty","property":"messages[0].text"}]}"#,
        );
        match f {
            Attempt::Done(Outcome::Failed { reason }) => {
                assert_eq!(reason.kind, FailureKind::InvalidMessage);
                assert!(reason.detail.contains("messages[0].text"), "{reason}");
            }
            _ => panic!("expected failure"),
        }
        let to = classify(
            Endpoint::Push,
            true,
            StatusCode::BAD_REQUEST,
            &h,
            br#"{"message":"The property, 'to', in the request body is invalid","details":[{"property":"to","message":"invalid"}]}"#,
        );
        assert!(
            matches!(to, Attempt::Done(o) if o.failure_kind() == Some(FailureKind::InvalidRecipient))
        );
    }
}
