//! Logs (tracing: readable on a terminal, JSON lines otherwise) and Prometheus metrics.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Installs the log subscriber once; `RUST_LOG` filters (default `info`).
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Every line is masked: no resident address reaches the logs, even inside an error message.
        .with_writer(crate::redact::MaskedStderr);
    let _ = if std::io::stderr().is_terminal() {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

/// The process-wide metrics recorder (one per process, however many hubs a test starts).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (a test harness); then ours still renders, just empty.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The method as a metrics label: the standard methods by name, anything else `other` (a label value is
/// kept for the life of the process, so a client must never be able to make up new ones).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The status as a metrics label: the hub's own codes are a small set; anything outside 100–599 is `other`.
fn status_label(status: StatusCode) -> String {
    match status.as_u16() {
        code @ 100..=599 => code.to_string(),
        _ => "other".to_owned(),
    }
}

/// Counts requests and their latency by route, method and status. Every label comes from a fixed set: the
/// route pattern the router matched (never the path asked for; `unmatched` otherwise), [`method_label`] and
/// [`status_label`].
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = status_label(response.status());
    metrics::counter!("hub_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("hub_http_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let made_up = Method::from_bytes(b"X-SCAN-0001").expect("an extension method");
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(status_label(StatusCode::NOT_FOUND), "404");
        assert_eq!(
            status_label(StatusCode::from_u16(999).expect("a code")),
            "other"
        );
    }
}
