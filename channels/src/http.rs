//! The shared HTTP client (reqwest on rustls with the ring provider).

use std::time::Duration;

use crate::ChannelError;

/// Installs rustls' ring crypto provider as the process default (a no-op when one is installed already).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest client for provider requests: `timeout` per request, keep-alive pool.
///
/// Share one between channels (`LineClient::with_http`) or let each build its own. Web Push builds its own
/// with [`guarded_client`].
pub fn client(timeout: Duration) -> Result<reqwest::Client, ChannelError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(64)
        .user_agent(concat!(
            "yukuhashi-hub-channels/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| ChannelError::HttpClient(e.to_string()))
}

/// A client for URLs that come from outside (Web Push endpoints): like [`client`], but it follows no redirect,
/// uses no proxy (a proxy would resolve names itself) and resolves names with `resolver`, which refuses
/// non-public addresses; connections go to exactly the addresses it returns.
pub fn guarded_client(
    timeout: Duration,
    resolver: crate::push::endpoint::GuardedResolver,
) -> Result<reqwest::Client, ChannelError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(64)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(resolver)
        .user_agent(concat!(
            "yukuhashi-hub-channels/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| ChannelError::HttpClient(e.to_string()))
}

/// Describes a reqwest error for an outcome reason (timeout, connect, body) without the URL's secrets.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else if e.is_request() {
        "request failed"
    } else {
        "http error"
    };
    let mut s = format!("{kind}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
