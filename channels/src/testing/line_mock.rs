//! A LINE Messaging API mock that validates every request against LINE's OpenAPI spec.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};

use super::openapi::{OpenApi, is_uuid};
use super::server::{ConnectionControl, Server};

/// Injected faults. Probabilities are per request, drawn from a seeded RNG (reproducible runs).
///
/// `p_429` and `p_500` answer before the request is accepted (its retry key stays unused);
/// `p_500_after_accept`, `p_timeout` and `p_drop` happen after it was accepted, so a retry with the same
/// retry key must get a 409 — the cases that double-send without idempotency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Faults {
    pub p_429: f64,
    pub p_500: f64,
    pub p_500_after_accept: f64,
    /// Accepts, then sleeps `timeout_sleep` before answering (set it past the client's timeout).
    pub p_timeout: f64,
    /// Accepts, then closes the connection without an answer.
    pub p_drop: f64,
    /// `Retry-After` seconds sent with an injected 429.
    pub retry_after_secs: u64,
    pub timeout_sleep: Duration,
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            p_429: 0.0,
            p_500: 0.0,
            p_500_after_accept: 0.0,
            p_timeout: 0.0,
            p_drop: 0.0,
            retry_after_secs: 1,
            timeout_sleep: Duration::from_secs(3),
            seed: 42,
        }
    }
}

impl Faults {
    pub fn none() -> Self {
        Faults::default()
    }
}

/// Mock configuration.
#[derive(Debug, Clone)]
pub struct LineMockConfig {
    /// The channel access token the mock accepts (`Authorization: Bearer …`).
    pub token: String,
    /// Require `X-Line-Retry-Key` on push, multicast, narrowcast and broadcast (the hub always sends one).
    pub require_retry_key: bool,
    pub faults: Faults,
    /// `GET /v2/bot/message/quota` answers `{"type": "limited", "value": quota}`.
    pub quota: i64,
}

impl Default for LineMockConfig {
    fn default() -> Self {
        LineMockConfig {
            token: "test-channel-token".into(),
            require_retry_key: true,
            faults: Faults::default(),
            quota: 200_000,
        }
    }
}

/// Counters (a snapshot).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LineMockStats {
    pub requests: u64,
    /// Requests accepted (2xx and the work done).
    pub accepted: u64,
    /// Requests refused for breaking the spec (see [`LineMock::violations`]).
    pub rejected: u64,
    /// 401 for a wrong token (not a spec violation: a wrong configuration).
    pub unauthorized: u64,
    /// 409 answers for a retry key already accepted.
    pub conflicts: u64,
    pub injected_429: u64,
    pub injected_500: u64,
    pub injected_timeouts: u64,
    pub injected_drops: u64,
    /// Message deliveries to user ids (push counts 1, multicast one per id).
    pub user_deliveries: u64,
    pub broadcasts: u64,
    pub narrowcasts: u64,
    pub replies: u64,
}

/// One accepted request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcceptedRequest {
    pub path: String,
    pub request_id: String,
    pub retry_key: Option<String>,
    /// The user ids of a push or multicast.
    pub to: Vec<String>,
    pub reply_token: Option<String>,
    pub messages: Value,
    /// When the mock accepted it (for "trigger → provider" latencies).
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug)]
struct MockState {
    config: LineMockConfig,
    rng: StdRng,
    stats: LineMockStats,
    violations: Vec<String>,
    /// retry key → (request id, sentMessages for push)
    keys: HashMap<String, (String, Value)>,
    reply_tokens: HashMap<String, ()>,
    per_user: BTreeMap<String, u64>,
    accepted: Vec<AcceptedRequest>,
    next_message_id: u64,
}

/// The mock: an axum server on 127.0.0.1 (port 0) that plays the LINE Messaging API.
///
/// Each request is checked against `spec/line-openapi/messaging-api.yml`: the operation (method and path)
/// exists; `Authorization: Bearer <token>`; `Content-Type: application/json` on bodies; header and query
/// parameters (`X-Line-Retry-Key` a UUID, required on sends when `require_retry_key`); the JSON body against
/// the request schema (required properties, types, `maxItems` such as 500 `to` ids or 13 quick reply items,
/// lengths, enums, discriminated message and action types, undeclared properties); push and multicast `to`
/// are LINE user ids. A violation is answered 400 like LINE and recorded: tests call
/// [`LineMock::assert_no_violations`]. Its own answers are checked against the spec's response schemas too.
#[derive(Debug, Clone)]
pub struct LineMock {
    server: Arc<Server>,
    state: Arc<Mutex<MockState>>,
}

impl LineMock {
    /// A mock with the default config (token `test-channel-token`, no faults).
    pub async fn start() -> std::io::Result<LineMock> {
        Self::start_with(LineMockConfig::default()).await
    }

    pub async fn start_with(config: LineMockConfig) -> std::io::Result<LineMock> {
        // Parse the spec before the first request so timing tests do not measure it.
        let _ = OpenApi::line_messaging_api();
        let rng = StdRng::seed_from_u64(config.faults.seed);
        let state = Arc::new(Mutex::new(MockState {
            config,
            rng,
            stats: LineMockStats::default(),
            violations: Vec::new(),
            keys: HashMap::new(),
            reply_tokens: HashMap::new(),
            per_user: BTreeMap::new(),
            accepted: Vec::new(),
            next_message_id: 1,
        }));
        let router = Router::new().fallback(handle).with_state(state.clone());
        let server = Server::start(router).await?;
        Ok(LineMock {
            server: Arc::new(server),
            state,
        })
    }

    /// The API base to configure the client with (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> String {
        self.server.url()
    }

    pub fn token(&self) -> String {
        self.lock().config.token.clone()
    }

    /// Replaces the fault injection (and reseeds the RNG).
    pub fn set_faults(&self, faults: Faults) {
        let mut s = self.lock();
        s.rng = StdRng::seed_from_u64(faults.seed);
        s.config.faults = faults;
    }

    /// Forgets the retry keys already accepted (LINE keeps them about 24 hours).
    pub fn forget_retry_keys(&self) {
        self.lock().keys.clear();
    }

    pub fn stats(&self) -> LineMockStats {
        self.lock().stats.clone()
    }

    /// Spec violations seen so far, each naming the request and the place.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// Panics listing the violations, if any.
    pub fn assert_no_violations(&self) {
        let v = self.violations();
        assert!(
            v.is_empty(),
            "LINE mock saw {} spec violation(s):\n{}",
            v.len(),
            v.join("\n")
        );
    }

    /// Accepted message requests delivered to `user_id` (push and multicast).
    pub fn deliveries(&self, user_id: &str) -> u64 {
        self.lock().per_user.get(user_id).copied().unwrap_or(0)
    }

    pub fn deliveries_per_user(&self) -> BTreeMap<String, u64> {
        self.lock().per_user.clone()
    }

    pub fn accepted(&self) -> Vec<AcceptedRequest> {
        self.lock().accepted.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MockState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn error(status: StatusCode, message: &str, details: Vec<(String, String)>) -> Response {
    let mut body = json!({ "message": message });
    if !details.is_empty() {
        body["details"] = details
            .into_iter()
            .map(|(property, message)| json!({"property": property, "message": message}))
            .collect();
    }
    // LINE puts a request id on every answer, errors included.
    with_request_id(
        (status, axum::Json(body)).into_response(),
        &uuid::Uuid::new_v4().to_string(),
    )
}

fn with_request_id(mut resp: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        resp.headers_mut().insert("x-line-request-id", v);
    }
    resp
}

fn is_line_user_id(s: &str) -> bool {
    s.len() == 33
        && s.starts_with('U')
        && s[1..]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

enum Plan {
    Answer(Response),
    Accept,
}

enum After {
    Now,
    Sleep(Duration),
    Drop,
}

async fn handle(State(state): State<Arc<Mutex<MockState>>>, req: Request) -> Response {
    let control = req.extensions().get::<ConnectionControl>().cloned();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("unreadable body: {e}"),
                vec![],
            );
        }
    };
    let (token, require_key) = {
        let s = state.lock().unwrap_or_else(|e| e.into_inner());
        (s.config.token.clone(), s.config.require_retry_key)
    };
    // Validation runs outside the lock; only the bookkeeping is serialized.
    let checked = validate(&token, require_key, &method, &path, &query, &headers, &body);
    let (resp, after) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        process(&mut s, &method, &path, &headers, checked)
    };
    match after {
        After::Now => resp,
        After::Sleep(d) => {
            tokio::time::sleep(d).await;
            resp
        }
        After::Drop => {
            if let Some(c) = control {
                c.drop_connection();
            }
            std::future::pending::<Response>().await
        }
    }
}

/// What the spec check of one request found.
struct Checked {
    /// (property or header, problem)
    violations: Vec<(String, String)>,
    unauthorized: bool,
    json_body: Option<Value>,
}

/// Checks one request against the spec: operation, headers, parameters, body.
fn validate(
    token: &str,
    require_key: bool,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Checked {
    let what = format!("{method} {path}");
    let api = OpenApi::line_messaging_api();
    let mut violations: Vec<(String, String)> = Vec::new();
    let mut unauthorized = false;
    let json_body: Option<Value>;
    {
        match headers.get("authorization").and_then(|v| v.to_str().ok()) {
            None => violations.push(("Authorization".into(), "missing Bearer token".into())),
            Some(v) => match v.strip_prefix("Bearer ") {
                None => violations.push((
                    "Authorization".into(),
                    format!("not a Bearer token: {v:.12}…"),
                )),
                Some(t) if t != token => unauthorized = true,
                Some(_) => {}
            },
        }
        let m = method.as_str().to_ascii_lowercase();
        match api.operation(&m, path) {
            None => {
                violations.push(("path".into(), format!("no operation {what} in the spec")));
                json_body = None;
            }
            Some(op) => {
                let query_pairs: Vec<(String, String)> =
                    url::form_urlencoded::parse(query.as_bytes())
                        .into_owned()
                        .collect();
                let mut declares_retry_key = false;
                for p in api.parameters(&op) {
                    let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                    let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                    let value = match p.get("in").and_then(Value::as_str) {
                        Some("header") => {
                            if name.eq_ignore_ascii_case("X-Line-Retry-Key") {
                                declares_retry_key = true;
                            }
                            headers
                                .get(name)
                                .map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned())
                        }
                        Some("query") => query_pairs
                            .iter()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.clone()),
                        _ => continue,
                    };
                    match value {
                        None if required => {
                            violations.push((name.into(), "required parameter missing".into()))
                        }
                        None => {}
                        Some(v) => {
                            for e in api.validate_param(&v, p) {
                                violations.push((name.into(), e));
                            }
                        }
                    }
                }
                if declares_retry_key {
                    match headers
                        .get("x-line-retry-key")
                        .and_then(|v| v.to_str().ok())
                    {
                        None if require_key => violations.push((
                            "X-Line-Retry-Key".into(),
                            "missing (the hub sends one on every send request)".into(),
                        )),
                        Some(k) if !is_uuid(k) => violations
                            .push(("X-Line-Retry-Key".into(), format!("{k:?} is not a UUID"))),
                        _ => {}
                    }
                } else if headers.contains_key("x-line-retry-key") {
                    violations.push((
                        "X-Line-Retry-Key".into(),
                        format!("{what} takes no retry key in the spec"),
                    ));
                }
                match api.request_schema(&op) {
                    Some((schema, required)) => {
                        let ct = headers
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        if !ct.starts_with("application/json") {
                            violations.push((
                                "Content-Type".into(),
                                format!("{ct:?}, expected application/json"),
                            ));
                        }
                        if body.is_empty() {
                            if required {
                                violations
                                    .push(("body".into(), "required JSON body missing".into()));
                            }
                            json_body = None;
                        } else {
                            match serde_json::from_slice::<Value>(body) {
                                Ok(v) => {
                                    for e in api.validate(&v, schema) {
                                        violations.push(("body".into(), e));
                                    }
                                    if matches!(
                                        path,
                                        "/v2/bot/message/push" | "/v2/bot/message/multicast"
                                    ) {
                                        let ids: Vec<&str> = match &v["to"] {
                                            Value::String(s) => vec![s.as_str()],
                                            Value::Array(a) => {
                                                a.iter().filter_map(Value::as_str).collect()
                                            }
                                            _ => vec![],
                                        };
                                        for id in ids.iter().filter(|id| !is_line_user_id(id)) {
                                            violations.push((
                                                "to".into(),
                                                format!("{id:?} is not a LINE user id"),
                                            ));
                                        }
                                    }
                                    json_body = Some(v);
                                }
                                Err(e) => {
                                    violations.push(("body".into(), format!("not JSON: {e}")));
                                    json_body = None;
                                }
                            }
                        }
                    }
                    None => {
                        if !body.is_empty() {
                            violations.push(("body".into(), format!("{what} takes no body")));
                        }
                        json_body = None;
                    }
                }
            }
        }
    }

    Checked {
        violations,
        unauthorized,
        json_body,
    }
}

/// Answers one validated request: rejections, faults, idempotency, acceptance.
fn process(
    s: &mut MockState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    checked: Checked,
) -> (Response, After) {
    let now = |r: Response| (r, After::Now);
    let what = format!("{method} {path}");
    let Checked {
        violations,
        unauthorized,
        json_body,
    } = checked;
    s.stats.requests += 1;
    if !violations.is_empty() {
        s.stats.rejected += 1;
        for (p, m) in &violations {
            s.violations.push(format!("{what}: {p}: {m}"));
        }
        let n = violations.len();
        return now(error(
            StatusCode::BAD_REQUEST,
            &format!("The request has {n} error(s)"),
            violations,
        ));
    }
    if unauthorized {
        s.stats.unauthorized += 1;
        return now(error(
            StatusCode::UNAUTHORIZED,
            "Authentication failed. Confirm that the access token in the authorization header is valid.",
            vec![],
        ));
    }

    // 2. Read-only endpoints.
    if *method == Method::GET {
        let rid = uuid::Uuid::new_v4().to_string();
        let body = match path {
            "/v2/bot/message/quota" => json!({"type": "limited", "value": s.config.quota}),
            "/v2/bot/message/quota/consumption" => json!({"totalUsage": s.stats.user_deliveries}),
            _ => return now(error(StatusCode::NOT_FOUND, "Not found", vec![])),
        };
        check_own_answer(s, method, path, 200, &body);
        return now(with_request_id(axum::Json(body).into_response(), &rid));
    }

    // 3. Faults before acceptance.
    let f = s.config.faults.clone();
    let roll: f64 = s.rng.random();
    if roll < f.p_429 {
        s.stats.injected_429 += 1;
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", vec![]);
        r.headers_mut()
            .insert("retry-after", HeaderValue::from(f.retry_after_secs));
        return now(r);
    }
    if roll < f.p_429 + f.p_500 {
        s.stats.injected_500 += 1;
        return now(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            vec![],
        ));
    }
    let Some(body) = json_body else {
        return now(error(StatusCode::BAD_REQUEST, "missing body", vec![]));
    };
    let retry_key = headers
        .get("x-line-retry-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    // 4. Idempotency: a retry key already accepted gets 409 with the accepted request's id.
    if let Some(k) = &retry_key
        && let Some((accepted_id, sent)) = s.keys.get(k).cloned()
    {
        s.stats.conflicts += 1;
        let mut b = json!({"message": "The retry key is already accepted"});
        if sent.is_array() {
            b["sentMessages"] = sent;
        }
        check_own_answer(s, method, path, 409, &b);
        let mut r = (StatusCode::CONFLICT, axum::Json(b)).into_response();
        if let Ok(v) = HeaderValue::from_str(&accepted_id) {
            r.headers_mut().insert("x-line-accepted-request-id", v);
        }
        return now(with_request_id(r, &uuid::Uuid::new_v4().to_string()));
    }

    // 5. Accept.
    let (status, answer, rid) = match accept(s, path, &body, retry_key.clone()) {
        Plan::Answer(r) => return now(r),
        Plan::Accept => {
            let last = s.accepted.last().cloned().expect("just accepted");
            let status = if path == "/v2/bot/message/narrowcast" {
                202
            } else {
                200
            };
            let answer = match &last.messages {
                Value::Array(ms)
                    if matches!(path, "/v2/bot/message/push" | "/v2/bot/message/reply") =>
                {
                    let sent: Vec<Value> = ms
                        .iter()
                        .map(|_| {
                            s.next_message_id += 1;
                            json!({"id": format!("{}", 500_000_000_000_000u64 + s.next_message_id),
                                   "quoteToken": format!("q{}", s.next_message_id)})
                        })
                        .collect();
                    if let Some(k) = &retry_key {
                        s.keys.insert(
                            k.clone(),
                            (last.request_id.clone(), Value::from(sent.clone())),
                        );
                    }
                    json!({"sentMessages": sent})
                }
                _ => json!({}),
            };
            check_own_answer(s, method, path, status, &answer);
            (status, answer, last.request_id)
        }
    };

    // 6. Faults after acceptance.
    let roll: f64 = s.rng.random();
    let acc = f.p_500_after_accept;
    if roll < acc {
        s.stats.injected_500 += 1;
        return now(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            vec![],
        ));
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let resp = with_request_id((status, axum::Json(answer)).into_response(), &rid);
    if roll < acc + f.p_timeout {
        s.stats.injected_timeouts += 1;
        return (resp, After::Sleep(f.timeout_sleep));
    }
    if roll < acc + f.p_timeout + f.p_drop {
        s.stats.injected_drops += 1;
        return (resp, After::Drop);
    }
    (resp, After::Now)
}

/// Records an accepted send; answers 400 for a reused reply token, like LINE.
fn accept(s: &mut MockState, path: &str, body: &Value, retry_key: Option<String>) -> Plan {
    let request_id = uuid::Uuid::new_v4().to_string();
    let messages = body.get("messages").cloned().unwrap_or(Value::Null);
    let mut rec = AcceptedRequest {
        path: path.to_owned(),
        request_id: request_id.clone(),
        retry_key: retry_key.clone(),
        to: Vec::new(),
        reply_token: None,
        messages,
        at: chrono::Utc::now(),
    };
    match path {
        "/v2/bot/message/push" => {
            rec.to = body["to"]
                .as_str()
                .map(|s| vec![s.to_owned()])
                .unwrap_or_default();
        }
        "/v2/bot/message/multicast" => {
            rec.to = body["to"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
        }
        "/v2/bot/message/reply" => {
            let token = body["replyToken"].as_str().unwrap_or("").to_owned();
            if s.reply_tokens.insert(token.clone(), ()).is_some() {
                return Plan::Answer(error(
                    StatusCode::BAD_REQUEST,
                    "Invalid reply token",
                    vec![],
                ));
            }
            s.stats.replies += 1;
            rec.reply_token = Some(token);
        }
        "/v2/bot/message/broadcast" => s.stats.broadcasts += 1,
        "/v2/bot/message/narrowcast" => s.stats.narrowcasts += 1,
        _ => {}
    }
    for u in &rec.to {
        *s.per_user.entry(u.clone()).or_default() += 1;
        s.stats.user_deliveries += 1;
    }
    if let Some(k) = retry_key {
        s.keys.insert(k, (request_id, Value::Null));
    }
    s.stats.accepted += 1;
    s.accepted.push(rec);
    Plan::Accept
}

/// The mock checks its own answers against the spec's response schemas (a mock bug is a violation too).
fn check_own_answer(s: &mut MockState, method: &Method, path: &str, status: u16, body: &Value) {
    let api = OpenApi::line_messaging_api();
    let m = method.as_str().to_ascii_lowercase();
    let Some(op) = api.operation(&m, path) else {
        return;
    };
    let Some(schema) = op
        .op
        .get("responses")
        .and_then(|r| r.get(status.to_string()))
        .and_then(|r| r.get("content"))
        .and_then(|c| c.get("application/json"))
        .and_then(|c| c.get("schema"))
    else {
        s.violations.push(format!(
            "mock answer {method} {path} {status}: status not in the spec"
        ));
        return;
    };
    for e in api.validate(body, schema) {
        s.violations
            .push(format!("mock answer {method} {path} {status}: {e}"));
    }
}
