//! `hub bench webhook`: how fast the LINE webhook acknowledges a full call. LINE sends many events in one call
//! and gives up on a webhook that does not answer within seconds, so the hub stores the events and answers
//! before it handles them. Calls of `events` signed text events go to a hub on a temporary database (or the one
//! given) wired to the LINE stand-in: the acknowledgement's percentiles, and the time until every event was
//! answered through the reply API. (This figure used to be a 1-second bound inside a test, where the machine's
//! load decided it; a benchmark reports it with the load instead.)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::Config;

const SECRET: &str = "bench-line-channel-secret";
const ADMIN: &str = "bench-admin-token-0123456789";
/// What the events ask (a question the bundled FAQ answers).
const QUESTION: &str = "じゅうみんひょうをとりたい";

#[derive(Debug, Clone)]
pub struct WebhookBenchOptions {
    /// Events in one call.
    pub events: usize,
    /// Calls, one after the other (after one warm-up call that is not counted).
    pub calls: usize,
    /// `sqlite://…` (default: a temporary file) or `postgres://…` (an empty database).
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WebhookBenchReport {
    pub backend: &'static str,
    pub events_per_call: usize,
    pub calls: usize,
    /// From sending a call to its 200.
    pub ack_p50_ms: f64,
    pub ack_p95_ms: f64,
    pub ack_max_ms: f64,
    /// From the first counted call to the last reply at the LINE stand-in.
    pub all_answered_ms: f64,
    /// Events answered per second over `all_answered_ms`.
    pub answered_per_s: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// A webhook body of `count` text events from distinct users, ids prefixed `prefix`.
fn call_body(prefix: &str, count: usize) -> Vec<u8> {
    let events: Vec<serde_json::Value> = (0..count)
        .map(|n| {
            json!({
                "type": "message", "mode": "active", "timestamp": 1_764_000_000_000_i64,
                "source": {"type": "user", "userId": format!("U{:032x}", 0xbe00_0000_u64 + n as u64)},
                "webhookEventId": format!("01B{prefix}{n:020}"),
                "deliveryContext": {"isRedelivery": false},
                "replyToken": format!("bench-{prefix}-{n}"),
                "message": {"type": "text", "id": format!("{n}"), "quoteToken": "q", "text": QUESTION},
            })
        })
        .collect();
    serde_json::to_vec(
        &json!({"destination": "U00000000000000000000000000000000", "events": events}),
    )
    .unwrap_or_default()
}

pub async fn run(options: &WebhookBenchOptions) -> anyhow::Result<WebhookBenchReport> {
    anyhow::ensure!(
        options.events > 0 && options.calls > 0,
        "--events and --calls must be at least 1"
    );
    let line = channels::testing::LineMock::start().await?;
    let temporary = std::env::temp_dir().join(format!(
        "hub-webhook-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let database_url = match &options.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&temporary)?;
            format!("sqlite://{}", temporary.join("hub.db").display())
        }
    };
    let env = BTreeMap::from([
        ("HUB_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("HUB_DATABASE_URL".to_owned(), database_url),
        ("HUB_ADMIN_TOKEN".to_owned(), ADMIN.to_owned()),
        ("HUB_LINE_API_BASE".to_owned(), line.base_url()),
        ("HUB_LINE_CHANNEL_SECRET".to_owned(), SECRET.to_owned()),
        ("HUB_LINE_CHANNEL_TOKEN".to_owned(), line.token()),
        (
            "HUB_WEBHOOK_RATE_LIMIT_PER_MINUTE".to_owned(),
            "1000000".to_owned(),
        ),
    ]);
    let hub = crate::spawn(Config::from_parts(None, &env)?).await?;
    let backend = match hub.state.db.backend {
        crate::db::Backend::Sqlite => "sqlite",
        crate::db::Backend::Postgres => "postgres",
    };
    let url = format!("http://{}/line/webhook", hub.addr);
    let client = reqwest::Client::new();
    let send = |body: Vec<u8>| {
        let signature = channels::line::webhook::sign(SECRET, &body);
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-line-signature", signature)
            .body(body)
            .send()
    };
    let replies = || {
        line.accepted()
            .iter()
            .filter(|r| r.path == "/v2/bot/message/reply")
            .count()
    };
    let wait_for_replies = |want: usize| async move {
        let deadline = Instant::now() + Duration::from_secs(300);
        while replies() < want {
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {} of {want} events answered after 300 s",
                replies()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    };

    // Warm-up: the FAQ index and the database's first writes, not counted.
    let warm = send(call_body("W", options.events.min(20))).await?;
    anyhow::ensure!(
        warm.status().is_success(),
        "warm-up call answered {}",
        warm.status()
    );
    wait_for_replies(options.events.min(20)).await?;
    let before = replies();

    let started = Instant::now();
    let mut acks = Vec::with_capacity(options.calls);
    for call in 0..options.calls {
        let body = call_body(&format!("{call:04}"), options.events);
        let sent = Instant::now();
        let response = send(body).await?;
        acks.push(sent.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            response.status().is_success(),
            "call {call} answered {}",
            response.status()
        );
    }
    wait_for_replies(before + options.events * options.calls).await?;
    let all_answered_ms = started.elapsed().as_secs_f64() * 1000.0;
    hub.stop().await;
    let _ = std::fs::remove_dir_all(&temporary);
    anyhow::ensure!(
        line.violations().is_empty(),
        "LINE stand-in: {:?}",
        line.violations()
    );

    acks.sort_by(f64::total_cmp);
    Ok(WebhookBenchReport {
        backend,
        events_per_call: options.events,
        calls: options.calls,
        ack_p50_ms: percentile(&acks, 0.5),
        ack_p95_ms: percentile(&acks, 0.95),
        ack_max_ms: acks.last().copied().unwrap_or_default(),
        all_answered_ms,
        answered_per_s: (options.events * options.calls) as f64 / (all_answered_ms / 1000.0),
    })
}
