//! The hub's public surface, applied to the whole router so every route (present and future) gets it:
//! security headers and a strict Content-Security-Policy on every response, `Secure` cookies over HTTPS,
//! request body size limits per route group, and per-client rate limits on the endpoints residents and LINE
//! reach without a token (web chat, registration pages, the LINE webhook) and on console login attempts. The
//! client's address, as the rate limits see it, travels on to handlers as a [`ClientAddr`] extension.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::Config;
use crate::error::ApiError;

/// Largest body of a LINE webhook call (hundreds of events fit easily).
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;
/// Largest body on the resident pages (forms; the chat itself talks over its WebSocket).
pub const PUBLIC_BODY_LIMIT: usize = 64 * 1024;
/// Largest body of a staff API request.
pub const API_BODY_LIMIT: usize = 1024 * 1024;
/// Largest CSV import (a whole city's residents).
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The client's address as the surface sees it (the proxy's header when `HUB_CLIENT_IP_HEADER` is set, else the
/// peer; unspecified when neither is known), for handlers that keep their own per-client limits (the web chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Which limits apply to a request, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteGroup {
    Webhook,
    /// The console's login form (`/admin/login`): only its posts count against the login limit.
    Login,
    /// Resident pages reached without a token: the web chat, registration and preference pages, unsubscribe links.
    Public,
    Import,
    Api,
    /// Operations endpoints (`/healthz`, `/metrics`, `/openapi.json`) and anything else.
    Other,
}

const PUBLIC_PREFIXES: [&str; 4] = ["/chat", "/register", "/preferences", "/unsubscribe"];

/// Paths whose responses no cache may keep: the staff console and API (personal data), and the resident pages
/// that show a resident's own data or carry a signed token in their address (preferences, unsubscribe links,
/// survey forms, registration and its confirmation). Their static files (`/register.css`, `/survey.css`) are
/// outside these prefixes and keep their own caching.
const NO_STORE_PREFIXES: [&str; 6] = [
    "/admin",
    "/api",
    "/preferences",
    "/unsubscribe",
    "/register",
    "/s",
];

/// `Cache-Control: no-store` for the paths above, whatever the handler said.
pub fn no_store(path: &str) -> bool {
    NO_STORE_PREFIXES.iter().any(|prefix| under(path, prefix))
}

fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl RouteGroup {
    pub fn of(path: &str) -> Self {
        if path == "/line/webhook" {
            RouteGroup::Webhook
        } else if path == "/admin/login" {
            RouteGroup::Login
        } else if path == "/api/residents/import" {
            RouteGroup::Import
        } else if under(path, "/api") {
            RouteGroup::Api
        } else if PUBLIC_PREFIXES.iter().any(|prefix| under(path, prefix)) {
            RouteGroup::Public
        } else {
            RouteGroup::Other
        }
    }

    pub fn body_limit(self) -> usize {
        match self {
            RouteGroup::Webhook => WEBHOOK_BODY_LIMIT,
            RouteGroup::Public | RouteGroup::Login | RouteGroup::Other => PUBLIC_BODY_LIMIT,
            RouteGroup::Import => IMPORT_BODY_LIMIT,
            RouteGroup::Api => API_BODY_LIMIT,
        }
    }
}

/// What the surface layer needs, built once from the configuration.
pub struct Surface {
    headers: Vec<(HeaderName, HeaderValue)>,
    csp: HeaderValue,
    /// The chat page's policy when sites may frame it (`HUB_CHAT_FRAME_ANCESTORS`).
    chat_csp: Option<HeaderValue>,
    https: bool,
    public_limiter: DefaultKeyedRateLimiter<IpAddr>,
    webhook_limiter: DefaultKeyedRateLimiter<IpAddr>,
    login_limiter: DefaultKeyedRateLimiter<IpAddr>,
    client_ip_header: Option<HeaderName>,
}

/// The Content-Security-Policy of every page: only the hub's own scripts, styles and connections (the chat's
/// WebSocket included), no framing, no inline code.
pub fn content_security_policy(public_url: &str) -> String {
    let mut connect = String::from("'self'");
    // 'self' covers ws:/wss: to the same host in CSP 3; older browsers need the WebSocket origin spelled out.
    if let Some((scheme, rest)) = public_url.split_once("://") {
        let host = rest.split('/').next().unwrap_or_default();
        if !host.is_empty() && !host.ends_with(":0") {
            let ws = if scheme == "https" { "wss" } else { "ws" };
            connect.push_str(&format!(" {ws}://{host}"));
        }
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src {connect}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )
}

fn quota(per_minute: u32) -> Quota {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    // The whole minute's allowance may come at once (a page load is a burst of requests).
    Quota::per_minute(per_minute).allow_burst(per_minute)
}

impl Surface {
    pub fn new(config: &Config) -> Self {
        let https = config.public_url.starts_with("https://");
        let mut headers = vec![
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static(
                    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
                ),
            ),
            (
                HeaderName::from_static("cross-origin-opener-policy"),
                HeaderValue::from_static("same-origin"),
            ),
        ];
        if https {
            headers.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            ));
        }
        let policy = content_security_policy(&config.public_url);
        let csp = HeaderValue::from_str(&policy)
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
        let chat_csp = config.chat_frame_ancestors.as_deref().and_then(|origins| {
            HeaderValue::from_str(&policy.replace(
                "frame-ancestors 'none'",
                &format!("frame-ancestors {origins}"),
            ))
            .ok()
        });
        Surface {
            headers,
            csp,
            chat_csp,
            https,
            public_limiter: RateLimiter::keyed(quota(config.rate_limit_per_minute)),
            webhook_limiter: RateLimiter::keyed(quota(config.webhook_rate_limit_per_minute)),
            login_limiter: RateLimiter::keyed(quota(config.login_rate_limit_per_minute)),
            client_ip_header: config
                .client_ip_header
                .as_deref()
                .and_then(|name| HeaderName::from_bytes(name.as_bytes()).ok()),
        }
    }

    /// The client's address: the proxy's header when one is configured (its last entry, the one our proxy
    /// added), else the peer.
    fn client_ip(&self, request: &Request) -> Option<IpAddr> {
        if let Some(name) = &self.client_ip_header
            && let Some(ip) = request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.rsplit(',').next())
                .and_then(|last| last.trim().parse().ok())
        {
            return Some(ip);
        }
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    }

    /// `Err(wait)` when the client has used up its allowance for this group.
    fn check_rate(&self, group: RouteGroup, method: &Method, ip: IpAddr) -> Result<(), Duration> {
        let limiter = match group {
            RouteGroup::Webhook => &self.webhook_limiter,
            RouteGroup::Public => &self.public_limiter,
            // Showing the form costs nothing; an attempt runs a password hash.
            RouteGroup::Login if method == Method::POST => &self.login_limiter,
            _ => return Ok(()),
        };
        limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets clients that are back to a full allowance (keeps the maps small).
    fn prune(&self) {
        self.public_limiter.retain_recent();
        self.webhook_limiter.retain_recent();
        self.login_limiter.retain_recent();
        self.public_limiter.shrink_to_fit();
        self.webhook_limiter.shrink_to_fit();
        self.login_limiter.shrink_to_fit();
    }

    fn finish(&self, path: &str, response: &mut Response) {
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        // The city's site may show the chat page in a frame when configured; nothing else is ever framed.
        if path == "/chat"
            && let Some(chat_csp) = &self.chat_csp
        {
            headers.remove(header::X_FRAME_OPTIONS);
            headers.insert(header::CONTENT_SECURITY_POLICY, chat_csp.clone());
        }
        // A page may send a stricter policy of its own; every other response gets the hub's.
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        }
        if no_store(path) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if self.https {
            secure_cookies(headers);
        }
    }
}

/// Marks every cookie `Secure` (served over HTTPS, a cookie must never travel in clear).
fn secure_cookies(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| {
            let text = value.to_str().unwrap_or_default();
            let has_secure = text
                .split(';')
                .any(|part| part.trim().eq_ignore_ascii_case("secure"));
            if has_secure || text.is_empty() {
                value.clone()
            } else {
                HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| value.clone())
            }
        })
        .collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
}

/// Applies the surface to a finished router: every route, including those other modules add later.
pub fn apply(router: Router, config: &Config) -> Router {
    let surface = Arc::new(Surface::new(config));
    let pruning = Arc::downgrade(&surface);
    // Pruning stops by itself once the router (and its surface) is gone.
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            tick.tick().await;
            loop {
                tick.tick().await;
                match pruning.upgrade() {
                    Some(surface) => surface.prune(),
                    None => break,
                }
            }
        });
    }
    router
        // The limit per group below replaces axum's single 2 MB default.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(surface, guard))
}

async fn guard(State(surface): State<Arc<Surface>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let group = RouteGroup::of(&path);
    let mut response = match admit(&surface, group, request) {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    };
    surface.finish(&path, &mut response);
    response
}

/// Why a request was turned away before its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The client's allowance is used up; it may try again after this many seconds.
    RateLimited { retry_after_secs: u64 },
    /// The declared body is larger than the group's limit.
    TooLarge { limit: usize },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::RateLimited { retry_after_secs } => {
                let mut response = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "短い時間にアクセスが集中しました。少し時間をおいてからお試しください。(too many requests)",
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                response
            }
            Refusal::TooLarge { limit } => ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: format!("the request body is larger than {limit} bytes"),
                field: Some("body".into()),
                japanese: None,
            }
            .into_response(),
        }
    }
}

/// The rate and size checks; the request (its body now capped) when it may go on.
fn admit(surface: &Surface, group: RouteGroup, mut request: Request) -> Result<Request, Refusal> {
    let client = surface.client_ip(&request);
    request.extensions_mut().insert(ClientAddr(
        client.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
    ));
    if let Some(ip) = client
        && let Err(wait) = surface.check_rate(group, request.method(), ip)
    {
        let retry_after_secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        metrics::counter!("hub_rate_limited_total", "group" => format!("{group:?}")).increment(1);
        tracing::warn!(?group, retry_after_secs, "rate limit reached");
        return Err(Refusal::RateLimited { retry_after_secs });
    }
    let limit = group.body_limit();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(Refusal::TooLarge { limit });
    }
    // A body without a length (chunked) is cut off at the limit while it is read.
    let (parts, body) = request.into_parts();
    Ok(Request::from_parts(
        parts,
        Body::new(http_body_util::Limited::new(body, limit)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_the_path() {
        assert_eq!(RouteGroup::of("/line/webhook"), RouteGroup::Webhook);
        assert_eq!(RouteGroup::of("/chat"), RouteGroup::Public);
        assert_eq!(RouteGroup::of("/chat/ws"), RouteGroup::Public);
        assert_eq!(RouteGroup::of("/register"), RouteGroup::Public);
        assert_eq!(RouteGroup::of("/register/confirm"), RouteGroup::Public);
        assert_eq!(RouteGroup::of("/chatter"), RouteGroup::Other);
        assert_eq!(RouteGroup::of("/admin/login"), RouteGroup::Login);
        assert_eq!(RouteGroup::of("/admin/logins"), RouteGroup::Other);
        assert_eq!(RouteGroup::of("/api/residents/import"), RouteGroup::Import);
        assert_eq!(RouteGroup::of("/api/notices"), RouteGroup::Api);
        assert_eq!(RouteGroup::of("/healthz"), RouteGroup::Other);
        assert!(RouteGroup::Import.body_limit() > RouteGroup::Api.body_limit());
    }

    #[test]
    fn personal_pages_are_not_stored() {
        for path in [
            "/admin",
            "/admin/residents/R1",
            "/api/residents/R1",
            "/preferences/tok",
            "/unsubscribe/tok",
            "/register",
            "/register/confirm/tok",
            "/s/tok",
        ] {
            assert!(no_store(path), "{path}");
        }
        for path in [
            "/register.css",
            "/survey.css",
            "/sw.js",
            "/chat",
            "/healthz",
            "/sx",
        ] {
            assert!(!no_store(path), "{path}");
        }
    }

    #[test]
    fn csp_is_strict_and_names_the_websocket_origin() {
        let csp = content_security_policy("https://hub.example.jp");
        assert!(csp.contains("default-src 'self'"));
        assert!(csp.contains("connect-src 'self' wss://hub.example.jp;"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
        // A port-0 address (tests) is not a real origin.
        assert!(content_security_policy("http://127.0.0.1:0").contains("connect-src 'self';"));
    }

    #[test]
    fn cookies_become_secure_once() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("a=1; HttpOnly"),
        );
        headers.append(header::SET_COOKIE, HeaderValue::from_static("b=2; Secure"));
        secure_cookies(&mut headers);
        let cookies: Vec<&str> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(cookies, ["a=1; HttpOnly; Secure", "b=2; Secure"]);
    }
}
