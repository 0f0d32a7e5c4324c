//! A Web Push service stand-in: plays the browser vendor's push service on 127.0.0.1.
//!
//! It creates subscriptions (a P-256 key pair and auth secret per subscription, as a browser would), and for
//! each `POST /push/{id}` checks RFC 8030 headers (`TTL`, `Urgency`, `Topic`, `Content-Encoding: aes128gcm`),
//! the RFC 8292 VAPID `Authorization: vapid t=JWT, k=KEY` (ES256 signature over the JWT with `k`, `k` equal
//! to the expected application server key, `aud` = this origin, `exp` in the future and within 24 h, `sub` a
//! `mailto:` or `https:` URI), and decrypts the RFC 8291 `aes128gcm` body with the subscription's private key
//! and auth secret. Accepted messages are recorded decrypted; violations are recorded and answered 400/401/403.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::RngCore;
use serde::Serialize;

use super::server::Server;
use crate::push::{Subscription, unix_now};

/// One accepted, decrypted push message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedPush {
    pub endpoint: String,
    pub payload: Vec<u8>,
    pub ttl: u64,
    pub urgency: Option<String>,
    pub topic: Option<String>,
    /// The VAPID `sub` claim.
    pub vapid_subject: String,
    /// When the stand-in accepted it.
    pub at: chrono::DateTime<chrono::Utc>,
}

impl ReceivedPush {
    pub fn payload_str(&self) -> &str {
        std::str::from_utf8(&self.payload).unwrap_or("")
    }
}

/// Counters (a snapshot).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PushStandInStats {
    pub requests: u64,
    pub accepted: u64,
    /// Refused for a bad VAPID token, bad headers or an undecryptable body.
    pub rejected: u64,
    /// 410 answers for subscriptions marked gone, 404 for unknown ones.
    pub gone: u64,
}

struct Sub {
    endpoint: String,
    secret: p256::SecretKey,
    auth: [u8; 16],
    gone: bool,
}

struct StandInState {
    base: String,
    expected_key: Option<String>,
    verify_crypto: bool,
    subs: HashMap<String, Sub>,
    received: Vec<ReceivedPush>,
    stats: PushStandInStats,
    violations: Vec<String>,
    next: u64,
    /// (status, remaining) to answer before accepting again.
    fail_next: Option<(StatusCode, u32)>,
}

/// The push service stand-in. Cheap to clone.
#[derive(Clone)]
pub struct PushStandIn {
    server: Arc<Server>,
    state: Arc<Mutex<StandInState>>,
}

impl std::fmt::Debug for PushStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushStandIn")
            .field("url", &self.server.url())
            .finish()
    }
}

impl PushStandIn {
    /// Starts the stand-in; it accepts VAPID tokens signed by `vapid_public_key` (base64url) only, or by any
    /// key when `None` (the signature is still verified against the token's `k`).
    pub async fn start(vapid_public_key: Option<String>) -> std::io::Result<PushStandIn> {
        Self::start_inner(vapid_public_key, true).await
    }

    /// For raw-capacity measurements: checks nothing, decrypts nothing, answers 201.
    pub async fn start_unchecked() -> std::io::Result<PushStandIn> {
        Self::start_inner(None, false).await
    }

    async fn start_inner(
        expected_key: Option<String>,
        verify_crypto: bool,
    ) -> std::io::Result<PushStandIn> {
        let state = Arc::new(Mutex::new(StandInState {
            base: String::new(),
            expected_key,
            verify_crypto,
            subs: HashMap::new(),
            received: Vec::new(),
            stats: PushStandInStats::default(),
            violations: Vec::new(),
            next: 0,
            fail_next: None,
        }));
        let router = Router::new()
            .route("/push/{id}", post(receive))
            .with_state(state.clone());
        let server = Server::start(router).await?;
        state.lock().unwrap_or_else(|e| e.into_inner()).base = server.url();
        Ok(PushStandIn {
            server: Arc::new(server),
            state,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StandInState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.server.url()
    }

    /// A new subscription, as a browser would create it (its own key pair and auth secret).
    pub fn new_subscription(&self) -> Subscription {
        let secret = crate::push::random_secret();
        let mut auth = [0u8; 16];
        rand::rng().fill_bytes(&mut auth);
        let mut s = self.lock();
        s.next += 1;
        let id = format!("sub{:06}", s.next);
        let endpoint = format!("{}/push/{id}", s.base);
        let sub = Subscription {
            endpoint: endpoint.clone(),
            p256dh: URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes()),
            auth: URL_SAFE_NO_PAD.encode(auth),
        };
        s.subs.insert(
            id,
            Sub {
                endpoint,
                secret,
                auth,
                gone: false,
            },
        );
        sub
    }

    /// From now on, answers 410 Gone for this subscription (the user unsubscribed).
    pub fn set_gone(&self, endpoint: &str) {
        for s in self.lock().subs.values_mut() {
            if s.endpoint == endpoint {
                s.gone = true;
            }
        }
    }

    /// Answers the next `n` pushes with `status` (e.g. 429 with `Retry-After: 0`, or 500) without accepting.
    pub fn fail_next(&self, n: u32, status: u16) {
        self.lock().fail_next = StatusCode::from_u16(status).ok().map(|s| (s, n));
    }

    pub fn received(&self) -> Vec<ReceivedPush> {
        self.lock().received.clone()
    }

    pub fn received_for(&self, endpoint: &str) -> Vec<ReceivedPush> {
        self.lock()
            .received
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .cloned()
            .collect()
    }

    pub fn stats(&self) -> PushStandInStats {
        self.lock().stats.clone()
    }

    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    pub fn assert_no_violations(&self) {
        let v = self.violations();
        assert!(
            v.is_empty(),
            "push stand-in saw {} violation(s):\n{}",
            v.len(),
            v.join("\n")
        );
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Checks `Authorization: vapid t=JWT, k=KEY`; returns the `sub` claim.
fn check_vapid(
    h: &HeaderMap,
    audience: &str,
    expected_key: Option<&str>,
) -> Result<String, (StatusCode, String)> {
    let unauthorized = |m: String| (StatusCode::UNAUTHORIZED, m);
    let auth = header(h, "authorization").ok_or_else(|| unauthorized("no Authorization".into()))?;
    let rest = auth
        .strip_prefix("vapid ")
        .ok_or_else(|| unauthorized(format!("not the vapid scheme: {auth:.20}")))?;
    let mut t = None;
    let mut k = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("t=") {
            t = Some(v);
        } else if let Some(v) = part.strip_prefix("k=") {
            k = Some(v);
        }
    }
    let (t, k) = match (t, k) {
        (Some(t), Some(k)) => (t, k),
        _ => return Err(unauthorized("vapid needs t= and k=".into())),
    };
    if let Some(want) = expected_key
        && want != k
    {
        return Err((
            StatusCode::FORBIDDEN,
            "k is not the application server key of this subscription".into(),
        ));
    }
    let key_bytes = URL_SAFE_NO_PAD
        .decode(k)
        .map_err(|e| unauthorized(format!("k not base64url: {e}")))?;
    let vk = VerifyingKey::from_sec1_bytes(&key_bytes)
        .map_err(|_| unauthorized("k is not a P-256 public key".into()))?;
    let parts: Vec<&str> = t.split('.').collect();
    let [h64, c64, s64] = parts[..] else {
        return Err(unauthorized("JWT does not have 3 parts".into()));
    };
    let dec = |s: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| unauthorized(format!("JWT {what} not base64url: {e}")))
    };
    let jh: serde_json::Value = serde_json::from_slice(&dec(h64, "header")?)
        .map_err(|e| unauthorized(format!("JWT header: {e}")))?;
    if jh["alg"] != "ES256" {
        return Err(unauthorized(format!("JWT alg {} is not ES256", jh["alg"])));
    }
    let sig = Signature::from_slice(&dec(s64, "signature")?)
        .map_err(|_| unauthorized("JWT signature is not 64 bytes r||s".into()))?;
    vk.verify(format!("{h64}.{c64}").as_bytes(), &sig)
        .map_err(|_| unauthorized("JWT signature does not verify".into()))?;
    let claims: serde_json::Value = serde_json::from_slice(&dec(c64, "claims")?)
        .map_err(|e| unauthorized(format!("JWT claims: {e}")))?;
    if claims["aud"] != audience {
        return Err(unauthorized(format!(
            "aud {} is not this push service's origin {audience}",
            claims["aud"]
        )));
    }
    let now = unix_now();
    match claims["exp"].as_u64() {
        Some(exp) if exp > now && exp <= now + 24 * 3600 => {}
        other => {
            return Err(unauthorized(format!(
                "exp {other:?} not within the next 24 h"
            )));
        }
    }
    let sub = claims["sub"].as_str().unwrap_or("");
    if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
        return Err(unauthorized(format!(
            "sub {sub:?} is not a mailto: or https: URI"
        )));
    }
    Ok(sub.to_owned())
}

async fn receive(
    State(state): State<Arc<Mutex<StandInState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.stats.requests += 1;
    if !s.verify_crypto {
        s.stats.accepted += 1;
        return StatusCode::CREATED.into_response();
    }
    if let Some((status, n)) = s.fail_next
        && n > 0
    {
        s.fail_next = Some((status, n - 1));
        let mut r = (status, "injected failure").into_response();
        r.headers_mut()
            .insert("retry-after", HeaderValue::from_static("0"));
        return r;
    }
    let base = s.base.clone();
    let expected = s.expected_key.clone();
    let Some(sub) = s.subs.get(&id) else {
        s.stats.gone += 1;
        return (StatusCode::NOT_FOUND, "no such subscription").into_response();
    };
    if sub.gone {
        s.stats.gone += 1;
        return (StatusCode::GONE, "subscription expired").into_response();
    }
    let (endpoint, secret, auth) = (sub.endpoint.clone(), sub.secret.clone(), sub.auth);
    let result = (|| {
        let bad = |m: String| (StatusCode::BAD_REQUEST, m);
        let ttl = header(&headers, "ttl")
            .ok_or_else(|| bad("TTL header missing (RFC 8030 §5.2)".into()))?
            .parse::<u64>()
            .map_err(|_| bad("TTL is not a non-negative integer".into()))?;
        let urgency = header(&headers, "urgency").map(str::to_owned);
        if let Some(u) = &urgency
            && !matches!(u.as_str(), "very-low" | "low" | "normal" | "high")
        {
            return Err(bad(format!(
                "Urgency {u:?} is not very-low|low|normal|high"
            )));
        }
        let topic = header(&headers, "topic").map(str::to_owned);
        if let Some(t) = &topic
            && (t.len() > 32
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(bad(format!("Topic {t:?} is not ≤ 32 base64url characters")));
        }
        if header(&headers, "content-encoding") != Some("aes128gcm") {
            return Err(bad("Content-Encoding is not aes128gcm".into()));
        }
        if body.len() > 4096 {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, "body over 4096 bytes".into()));
        }
        let vapid_subject = check_vapid(&headers, &base, expected.as_deref())?;
        let auth = web_push_native::Auth::clone_from_slice(&auth);
        let payload = web_push_native::decrypt(body.to_vec(), &secret, &auth)
            .map_err(|e| bad(format!("aes128gcm body does not decrypt: {e}")))?;
        Ok(ReceivedPush {
            endpoint: endpoint.clone(),
            payload,
            ttl,
            urgency,
            topic,
            vapid_subject,
            at: chrono::Utc::now(),
        })
    })();
    match result {
        Ok(r) => {
            s.stats.accepted += 1;
            s.received.push(r);
            let n = s.received.len();
            let mut resp = StatusCode::CREATED.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("{base}/message/{id}-{n}")) {
                resp.headers_mut().insert("location", v);
            }
            resp
        }
        Err((status, message)) => {
            s.stats.rejected += 1;
            s.violations.push(format!("POST /push/{id}: {message}"));
            (status, message).into_response()
        }
    }
}
