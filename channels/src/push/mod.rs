//! Web Push: delivery per RFC 8030, payload encryption per RFC 8291 (`aes128gcm`, via `web-push-native`),
//! application server identification per RFC 8292 (VAPID, ES256 JWT signed here with `p256`).
//!
//! - [`VapidKey`]: generate at first start, store [`VapidKey::to_base64url`], load with
//!   [`VapidKey::from_base64url`]; [`VapidKey::public_key_base64url`] is the `applicationServerKey` of the
//!   subscribe page.
//! - [`Subscription`]: what the browser's `PushSubscription.toJSON()` gives (`endpoint`, `keys.p256dh`,
//!   `keys.auth`).
//! - [`PushSink`]: one subscription per request; `TTL`, `Urgency` (emergencies `high`), `Topic` = the
//!   request key (a retry replaces an undelivered copy instead of adding one). 404/410 →
//!   `Failed { gone }` (remove the subscription), 429 and 5xx → retried, then `Retry`; a redirect is a
//!   failure (never followed); a timeout ends the call with `Retry` at once (the row is rescheduled, so one
//!   endpoint that never answers holds no worker for long).
//! - [`endpoint`]: which endpoints may be called at all (the allow-list of push services, public addresses
//!   only, checked before connecting and again for every resolved address). A subscription it refuses is
//!   `Failed { invalid_recipient }` without any connection.

pub mod endpoint;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::RngCore;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use uuid::Uuid;

use self::endpoint::{EndpointError, EndpointPolicy, GuardedResolver};
use crate::ratelimit::Limiter;
use crate::retry::{Attempt, retry_after_header};
use crate::{ChannelError, FailureKind, Outcome, RateLimit, Request, RetryPolicy, Sink};

/// Errors of keys and subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("VAPID private key: {0}")]
    BadVapidKey(String),
    #[error("push subscription {field}: {problem}")]
    BadSubscription {
        field: &'static str,
        problem: String,
    },
    #[error("push subscription endpoint: {0}")]
    Endpoint(#[from] EndpointError),
}

/// The application server's VAPID key pair (P-256).
#[derive(Clone)]
pub struct VapidKey {
    secret: p256::SecretKey,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public", &self.public_key_base64url())
            .finish_non_exhaustive()
    }
}

impl VapidKey {
    /// A new random key (store it: subscriptions are bound to its public key).
    pub fn generate() -> Self {
        VapidKey {
            secret: random_secret(),
        }
    }

    /// Loads the private key: the 32-byte scalar, base64url (the common VAPID format).
    pub fn from_base64url(s: &str) -> Result<Self, PushError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim().trim_end_matches('='))
            .map_err(|e| PushError::BadVapidKey(format!("not base64url: {e}")))?;
        if bytes.len() != 32 {
            return Err(PushError::BadVapidKey(format!(
                "{} bytes, expected 32",
                bytes.len()
            )));
        }
        let secret = p256::SecretKey::from_slice(&bytes)
            .map_err(|_| PushError::BadVapidKey("not a valid P-256 scalar".into()))?;
        Ok(VapidKey { secret })
    }

    /// The private key for storage (base64url of the 32-byte scalar).
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.secret.to_bytes())
    }

    /// The public key, uncompressed point, base64url: the subscribe page's `applicationServerKey`.
    pub fn public_key_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.secret.public_key().to_encoded_point(false).as_bytes())
    }

    /// An ES256 VAPID JWT for `aud` (the push service origin), valid until `exp` (Unix seconds).
    pub fn sign_jwt(&self, aud: &str, sub: &str, exp: u64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({ "aud": aud, "exp": exp, "sub": sub });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let sig: Signature = SigningKey::from(&self.secret).sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

/// A random P-256 secret key (from the OS-seeded thread RNG).
pub(crate) fn random_secret() -> p256::SecretKey {
    let mut rng = rand::rng();
    loop {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
            return secret;
        }
    }
}

/// A browser push subscription. (De)serializes as `PushSubscription.toJSON()`:
/// `{"endpoint": "…", "keys": {"p256dh": "…", "auth": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SubscriptionJson", into = "SubscriptionJson")]
pub struct Subscription {
    pub endpoint: String,
    /// The user agent's P-256 public key, base64url.
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url.
    pub auth: String,
}

#[derive(Serialize, Deserialize)]
struct SubscriptionJson {
    endpoint: String,
    keys: SubscriptionKeys,
}

#[derive(Serialize, Deserialize)]
struct SubscriptionKeys {
    p256dh: String,
    auth: String,
}

impl From<SubscriptionJson> for Subscription {
    fn from(j: SubscriptionJson) -> Self {
        Subscription {
            endpoint: j.endpoint,
            p256dh: j.keys.p256dh,
            auth: j.keys.auth,
        }
    }
}

impl From<Subscription> for SubscriptionJson {
    fn from(s: Subscription) -> Self {
        SubscriptionJson {
            endpoint: s.endpoint,
            keys: SubscriptionKeys {
                p256dh: s.p256dh,
                auth: s.auth,
            },
        }
    }
}

struct ParsedSubscription {
    endpoint: url::Url,
    audience: String,
    public: p256::PublicKey,
    auth: web_push_native::Auth,
}

fn b64(field: &'static str, s: &str) -> Result<Vec<u8>, PushError> {
    URL_SAFE_NO_PAD
        .decode(s.trim().trim_end_matches('='))
        .map_err(|e| PushError::BadSubscription {
            field,
            problem: format!("not base64url: {e}"),
        })
}

impl Subscription {
    /// Checks the endpoint against `policy` (no network) and the keys.
    pub fn validate(&self, policy: &EndpointPolicy) -> Result<(), PushError> {
        self.parse(policy).map(|_| ())
    }

    fn parse(&self, policy: &EndpointPolicy) -> Result<ParsedSubscription, PushError> {
        let endpoint = policy.check(&self.endpoint)?;
        let audience = endpoint.origin().ascii_serialization();
        let public =
            p256::PublicKey::from_sec1_bytes(&b64("keys.p256dh", &self.p256dh)?).map_err(|_| {
                PushError::BadSubscription {
                    field: "keys.p256dh",
                    problem: "not a P-256 public key".into(),
                }
            })?;
        let auth = b64("keys.auth", &self.auth)?;
        if auth.len() != 16 {
            return Err(PushError::BadSubscription {
                field: "keys.auth",
                problem: format!("{} bytes, expected 16", auth.len()),
            });
        }
        Ok(ParsedSubscription {
            endpoint,
            audience,
            public,
            auth: web_push_native::Auth::clone_from_slice(&auth),
        })
    }
}

/// RFC 8030 `Urgency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    VeryLow,
    Low,
    #[default]
    Normal,
    /// Emergencies.
    High,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::VeryLow => "very-low",
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }
}

/// A rendered push message: the payload the service worker receives (JSON by convention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushMessage {
    pub payload: String,
    /// How long the push service keeps it for an offline browser.
    #[serde(with = "crate::serde_duration::secs")]
    pub ttl: Duration,
    pub urgency: Urgency,
}

/// The largest plaintext that fits one aes128gcm record of 4,096 bytes (RFC 8291 §4).
pub const MAX_PAYLOAD: usize = 3993;

impl PushMessage {
    /// `{"title", "body", "url"}` for the hub's service worker; TTL one day, urgency normal.
    pub fn notification(title: &str, body: &str, url: Option<&str>) -> Self {
        let payload = serde_json::json!({ "title": title, "body": body, "url": url }).to_string();
        PushMessage {
            payload,
            ttl: Duration::from_secs(86_400),
            urgency: Urgency::Normal,
        }
    }

    /// An emergency: urgency high.
    pub fn emergency(title: &str, body: &str, url: Option<&str>) -> Self {
        PushMessage {
            urgency: Urgency::High,
            ..PushMessage::notification(title, body, url)
        }
    }
}

/// Configuration of [`PushSink`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PushConfig {
    /// The VAPID private key (base64url); `None`: record-only mode.
    pub vapid_private_key: Option<String>,
    /// The VAPID `sub` claim: `mailto:…` or an `https:` URL of the city.
    pub subject: String,
    /// Lifetime of the VAPID JWT (at most 24 h per RFC 8292).
    #[serde(with = "crate::serde_duration::secs")]
    pub jwt_validity: Duration,
    #[serde(with = "crate::serde_duration::secs")]
    pub timeout: Duration,
    /// Requests per period, per push service origin.
    pub rate: RateLimit,
    pub retry: RetryPolicy,
    /// Hosts of the push services endpoints may point at (`fcm.googleapis.com`, `*.push.apple.com`, …; see
    /// [`endpoint::DEFAULT_ALLOWED_HOSTS`]).
    pub allowed_hosts: Vec<String>,
    /// Tests and benchmarks: also the push service stand-in on loopback (`http` too). Never in production.
    pub allow_loopback: bool,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            vapid_private_key: None,
            subject: "mailto:webmaster@localhost".into(),
            jwt_validity: Duration::from_secs(12 * 3600),
            timeout: Duration::from_secs(10),
            rate: RateLimit::per_second(1000),
            retry: RetryPolicy::default(),
            allowed_hosts: endpoint::DEFAULT_ALLOWED_HOSTS
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            allow_loopback: false,
        }
    }
}

impl PushConfig {
    pub fn new(vapid: &VapidKey, subject: impl Into<String>) -> Self {
        PushConfig {
            vapid_private_key: Some(vapid.to_base64url()),
            subject: subject.into(),
            ..PushConfig::default()
        }
    }
}

struct PushInner {
    http: reqwest::Client,
    policy: Arc<EndpointPolicy>,
    vapid: Option<VapidKey>,
    public_key: String,
    subject: String,
    jwt_validity: Duration,
    /// audience → (JWT, exp)
    jwts: Mutex<HashMap<String, (String, u64)>>,
    rate: RateLimit,
    limiters: Mutex<HashMap<String, Arc<Limiter>>>,
    retry: RetryPolicy,
}

/// The Web Push channel. `Recipient = Subscription`, one per request. Cheap to clone.
#[derive(Clone)]
pub struct PushSink {
    inner: Arc<PushInner>,
}

impl std::fmt::Debug for PushSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSink")
            .field("public_key", &self.inner.public_key)
            .field("subject", &self.inner.subject)
            .finish()
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl PushSink {
    /// Builds the sink with its own HTTP client: no redirects, no proxy, `timeout` per request, and a DNS
    /// resolver that refuses non-public addresses (see [`endpoint`]).
    pub fn new(config: PushConfig) -> Result<Self, ChannelError> {
        crate::http::install_crypto_provider();
        let policy = Arc::new(
            EndpointPolicy::new(&config.allowed_hosts, config.allow_loopback).map_err(|e| {
                ChannelError::Config {
                    channel: "push",
                    field: "allowed_hosts",
                    message: e.to_string(),
                }
            })?,
        );
        let http =
            crate::http::guarded_client(config.timeout, GuardedResolver::new(policy.clone()))?;
        let vapid = match config.vapid_private_key.as_deref() {
            None | Some("") => None,
            Some(k) => Some(
                VapidKey::from_base64url(k).map_err(|e| ChannelError::Config {
                    channel: "push",
                    field: "vapid_private_key",
                    message: e.to_string(),
                })?,
            ),
        };
        if !(config.subject.starts_with("mailto:") || config.subject.starts_with("https:")) {
            return Err(ChannelError::Config {
                channel: "push",
                field: "subject",
                message: format!("{:?} must be a mailto: or https: URI", config.subject),
            });
        }
        let public_key = vapid
            .as_ref()
            .map(VapidKey::public_key_base64url)
            .unwrap_or_default();
        Ok(PushSink {
            inner: Arc::new(PushInner {
                http,
                policy,
                vapid,
                public_key,
                subject: config.subject,
                jwt_validity: config.jwt_validity.min(Duration::from_secs(24 * 3600)),
                jwts: Mutex::new(HashMap::new()),
                rate: config.rate,
                limiters: Mutex::new(HashMap::new()),
                retry: config.retry,
            }),
        })
    }

    pub fn is_record_only(&self) -> bool {
        self.inner.vapid.is_none()
    }

    /// The endpoints this sink may call.
    pub fn policy(&self) -> &EndpointPolicy {
        &self.inner.policy
    }

    /// The VAPID public key (base64url) for the subscribe page.
    pub fn public_key(&self) -> &str {
        &self.inner.public_key
    }

    fn authorization(&self, vapid: &VapidKey, audience: &str) -> String {
        let now = unix_now();
        let mut cache = self.inner.jwts.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = cache
            .get(audience)
            .filter(|(_, exp)| *exp > now + 600)
            .map(|(jwt, _)| jwt.clone());
        let jwt = fresh.unwrap_or_else(|| {
            let exp = now + self.inner.jwt_validity.as_secs();
            let jwt = vapid.sign_jwt(audience, &self.inner.subject, exp);
            cache.insert(audience.to_owned(), (jwt.clone(), exp));
            jwt
        });
        format!("vapid t={jwt}, k={}", self.inner.public_key)
    }

    fn limiter(&self, audience: &str) -> Arc<Limiter> {
        let mut l = self
            .inner
            .limiters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        l.entry(audience.to_owned())
            .or_insert_with(|| Arc::new(Limiter::new(self.inner.rate)))
            .clone()
    }

    /// Sends one message to one subscription; `key` becomes the `Topic`.
    pub async fn send_one(&self, sub: &Subscription, msg: &PushMessage, key: Uuid) -> Outcome {
        // Before anything else, in record-only mode too: a refused endpoint is never connected to.
        let parsed = match sub.parse(&self.inner.policy) {
            Ok(p) => p,
            Err(e) => return Outcome::failed(FailureKind::InvalidRecipient, e.to_string()),
        };
        let Some(vapid) = &self.inner.vapid else {
            return Outcome::Recorded;
        };
        if msg.payload.len() > MAX_PAYLOAD {
            return Outcome::failed(
                FailureKind::InvalidMessage,
                format!(
                    "payload of {} bytes, at most {MAX_PAYLOAD}",
                    msg.payload.len()
                ),
            );
        }
        let body = match web_push_native::encrypt(
            msg.payload.as_bytes().to_vec(),
            &parsed.public,
            &parsed.auth,
        ) {
            Ok(b) => bytes::Bytes::from(b),
            Err(e) => {
                return Outcome::failed(FailureKind::InvalidMessage, format!("encrypting: {e}"));
            }
        };
        let limiter = self.limiter(&parsed.audience);
        let topic = key.simple().to_string();
        let span = tracing::info_span!("push_request", origin = %parsed.audience, topic = %topic);
        self.inner
            .retry
            .run(|_| {
                let body = body.clone();
                let (limiter, topic, parsed) = (&limiter, &topic, &parsed);
                async move {
                    limiter.acquire().await;
                    // The one place a push request is built.
                    let resp = self
                        .inner
                        .http
                        .post(parsed.endpoint.clone())
                        .header("TTL", msg.ttl.as_secs().to_string())
                        .header("Urgency", msg.urgency.as_str())
                        .header("Topic", topic.as_str())
                        .header("Content-Encoding", "aes128gcm")
                        .header("Content-Type", "application/octet-stream")
                        .header("Authorization", self.authorization(vapid, &parsed.audience))
                        .body(body)
                        .send()
                        .await;
                    match resp {
                        // The resolver refused the name (it resolves to a non-public address): never retried.
                        Err(e) if refused_by_resolver(&e).is_some() => {
                            let refusal = refused_by_resolver(&e).unwrap_or_else(|| e.to_string());
                            Attempt::Done(Outcome::failed(FailureKind::InvalidRecipient, refusal))
                        }
                        // A timeout ends the call: the row is rescheduled rather than holding a worker for
                        // the whole retry budget.
                        Err(e) if e.is_timeout() => Attempt::Done(Outcome::Retry {
                            after: self.inner.retry.backoff(1, None),
                            reason: crate::http::describe(&e),
                        }),
                        Err(e) => Attempt::Again {
                            reason: crate::http::describe(&e),
                            retry_after: None,
                        },
                        Ok(r) => {
                            let status = r.status();
                            let headers = r.headers().clone();
                            let text = r.text().await.unwrap_or_default();
                            classify(status, &headers, &text)
                        }
                    }
                }
            })
            .instrument(span)
            .await
    }
}

/// The resolver's refusal somewhere in a request error's sources.
fn refused_by_resolver(error: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(refusal) = inner.downcast_ref::<EndpointError>() {
            return Some(format!("push subscription endpoint: {refusal}"));
        }
        source = inner.source();
    }
    None
}

fn classify(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &str) -> Attempt {
    let detail = |s: &str| {
        format!(
            "push service: {} {s}: {}",
            status.as_u16(),
            &body.chars().take(200).collect::<String>()
        )
    };
    if status.is_success() {
        let provider_id = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        return Attempt::Done(Outcome::Sent { provider_id });
    }
    match status.as_u16() {
        // Redirects are not followed: a push service answers 201, so a 3xx is a refusal.
        300..=399 => Attempt::Done(Outcome::failed(
            FailureKind::Rejected,
            detail("redirect refused"),
        )),
        404 | 410 => Attempt::Done(Outcome::failed(
            FailureKind::Gone,
            detail("subscription gone"),
        )),
        429 => Attempt::Again {
            reason: detail("too many requests"),
            retry_after: retry_after_header(headers),
        },
        500..=599 => Attempt::Again {
            reason: detail("server error"),
            retry_after: retry_after_header(headers),
        },
        401 | 403 => Attempt::Done(Outcome::failed(
            FailureKind::Unauthorized,
            detail("VAPID refused"),
        )),
        413 => Attempt::Done(Outcome::failed(
            FailureKind::InvalidMessage,
            detail("payload too large"),
        )),
        _ => Attempt::Done(Outcome::failed(FailureKind::Rejected, detail("refused"))),
    }
}

#[async_trait]
impl Sink for PushSink {
    type Recipient = Subscription;
    type Message = PushMessage;

    fn channel(&self) -> &'static str {
        "push"
    }

    fn max_recipients(&self) -> usize {
        1
    }

    fn record_only(&self) -> bool {
        self.is_record_only()
    }

    async fn send(&self, request: &Request<Subscription, PushMessage>) -> Vec<Outcome> {
        match request.recipients.as_slice() {
            [] => Vec::new(),
            [sub] => vec![self.send_one(sub, &request.message, request.key).await],
            many => vec![
                Outcome::failed(
                    FailureKind::InvalidMessage,
                    "a push request has exactly one subscription"
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
    fn vapid_key_roundtrip_and_jwt_shape() {
        let k = VapidKey::generate();
        let again = VapidKey::from_base64url(&k.to_base64url()).unwrap();
        assert_eq!(k.public_key_base64url(), again.public_key_base64url());
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(k.public_key_base64url())
                .unwrap()
                .len(),
            65
        );
        let jwt = k.sign_jwt("https://push.example", "mailto:a@b.example", 1);
        assert_eq!(jwt.split('.').count(), 3);
        assert!(VapidKey::from_base64url("AAAA").is_err());
        let sub: Subscription = serde_json::from_str(
            r#"{"endpoint":"https://push.example/x","expirationTime":null,"keys":{"p256dh":"BAAA","auth":"AAAA"}}"#,
        )
        .unwrap();
        assert_eq!(sub.p256dh, "BAAA");
        assert!(matches!(
            sub.validate(&EndpointPolicy::default().allow_loopback(false)),
            Err(PushError::Endpoint(_))
        ));
        let sub = Subscription {
            endpoint: "https://fcm.googleapis.com/fcm/send/x".into(),
            ..sub
        };
        assert!(matches!(
            sub.validate(&EndpointPolicy::default()),
            Err(PushError::BadSubscription {
                field: "keys.p256dh",
                ..
            })
        ));
        let j = serde_json::to_value(&sub).unwrap();
        assert_eq!(j["keys"]["auth"], "AAAA");
    }
}
