//! The channel benchmark engine behind `hub bench channels` (feature `bench`).
//!
//! Per channel it measures messages per second through this crate's sink against a loopback stand-in, and in
//! the same run the stand-in's raw capacity: the same requests (pre-built bodies, pre-signed headers) sent by a
//! plain reqwest client at the same concurrency. `ratio` = sink requests/s ÷ raw requests/s, i.e. the share of
//! the stand-in's capacity the sink reaches (1.0 = the client adds no overhead). Rate limiters are off
//! (the stand-ins are local); retries stay on but no faults are injected.
//!
//! ```no_run
//! # async fn demo() {
//! let report = channels::bench::bench(&channels::bench::BenchOptions::default()).await;
//! println!("{}", serde_json::to_string_pretty(&report).unwrap());
//! # }
//! ```

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::email::{EmailConfig, EmailMessage, EmailSink};
use crate::line::{LineClient, LineConfig, LineMessage, LineRateLimits, LineUserId};
use crate::push::{PushConfig, PushMessage, PushSink, Subscription, VapidKey};
use crate::testing::{LineMock, PushStandIn};
use crate::{Outcome, RateLimit, Request, Sink};

/// What to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BenchOptions {
    /// LINE multicast: number of requests (each to `multicast_size` users).
    pub line_multicast_requests: usize,
    pub multicast_size: usize,
    /// LINE push: number of requests (one user each).
    pub line_push_requests: usize,
    /// Web Push: number of messages (one subscription each).
    pub webpush_messages: usize,
    /// Number of distinct Web Push subscriptions the messages rotate over.
    pub webpush_subscriptions: usize,
    /// Email: number of messages, sent only when `smtp_url` is given.
    pub email_messages: usize,
    pub smtp_url: Option<String>,
    /// Requests in flight per channel.
    pub concurrency: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            line_multicast_requests: 200,
            multicast_size: 500,
            line_push_requests: 5_000,
            webpush_messages: 3_000,
            webpush_subscriptions: 100,
            email_messages: 500,
            smtp_url: None,
            concurrency: 32,
        }
    }
}

/// One channel's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelBench {
    /// `line_multicast`, `line_push`, `webpush`, `email`.
    pub channel: String,
    pub requests: u64,
    pub messages: u64,
    pub seconds: f64,
    pub requests_per_sec: f64,
    pub messages_per_sec: f64,
    /// Outcomes other than `Sent`.
    pub not_sent: u64,
    /// The same stand-in driven by a plain reqwest client with pre-built requests.
    pub raw_requests_per_sec: Option<f64>,
    /// `requests_per_sec / raw_requests_per_sec`.
    pub ratio: Option<f64>,
    /// Requests the stand-in refused as malformed (must be 0).
    pub stand_in_rejected: u64,
}

/// The report `hub bench channels` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub options: BenchOptions,
    pub channels: Vec<ChannelBench>,
    /// Channels skipped and why (e.g. email without `smtp_url`), or stand-ins that failed to start.
    pub skipped: Vec<String>,
}

fn figures(
    channel: &str,
    requests: usize,
    messages: usize,
    elapsed: Duration,
    not_sent: u64,
    raw: Option<f64>,
    rejected: u64,
) -> ChannelBench {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let rps = requests as f64 / secs;
    ChannelBench {
        channel: channel.to_owned(),
        requests: requests as u64,
        messages: messages as u64,
        seconds: secs,
        requests_per_sec: rps,
        messages_per_sec: messages as f64 / secs,
        not_sent,
        raw_requests_per_sec: raw,
        ratio: raw.map(|r| rps / r),
        stand_in_rejected: rejected,
    }
}

fn count_not_sent(outcomes: &[Vec<Outcome>]) -> u64 {
    outcomes
        .iter()
        .flatten()
        .filter(|o| !matches!(o, Outcome::Sent { .. }))
        .count() as u64
}

/// Sends `n` pre-built requests with a plain reqwest client; returns requests per second.
/// Run twice around the sink's measurement (before and after); the report keeps the faster, so the
/// ratio is not flattered by warm-up or by a slowing stand-in.
async fn raw_rate(
    n: usize,
    concurrency: usize,
    make: impl Fn(usize) -> reqwest::RequestBuilder + Copy,
) -> f64 {
    let started = Instant::now();
    let ok = futures_util::stream::iter((0..n).map(|i| make(i).send()))
        .buffer_unordered(concurrency.max(1))
        .filter(|r| std::future::ready(r.as_ref().is_ok_and(|r| r.status().is_success())))
        .count()
        .await;
    if ok < n {
        tracing::warn!(ok, n, "raw client: some requests failed");
    }
    n as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

fn user(i: usize) -> LineUserId {
    LineUserId::parse(&format!("U{i:032x}")).expect("well-formed id")
}

async fn bench_line(o: &BenchOptions, report: &mut BenchReport) -> Result<(), String> {
    let mock = LineMock::start()
        .await
        .map_err(|e| format!("LINE mock: {e}"))?;
    let mut cfg = LineConfig::new(Some(mock.token())).with_api_base(mock.base_url());
    cfg.limits = LineRateLimits::unlimited();
    let line = LineClient::new(cfg).map_err(|e| e.to_string())?;
    let http = crate::http::client(Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let msg = vec![
        LineMessage::text(
            "【行橋市】12月の粗大ごみ収集日のお知らせ。詳しくは市のホームページをご覧ください。",
        )
        .map_err(|e| e.to_string())?,
    ];
    let c = o.concurrency;

    // Multicast.
    let size = o.multicast_size.clamp(1, 500);
    let requests: Vec<_> = (0..o.line_multicast_requests)
        .map(|r| {
            let to = (0..size).map(|j| user(r * size + j)).collect();
            Request::new(Uuid::new_v4(), to, msg.clone())
        })
        .collect();
    // The raw client sends pre-serialized bodies to distinct users too (two runs: 2n bodies), so the mock
    // does the same bookkeeping for both.
    let n = o.line_multicast_requests;
    let raw_bodies: Vec<bytes::Bytes> = (0..2 * n)
        .map(|r| {
            let to: Vec<String> = (0..size)
                .map(|j| user(10_000_000 + r * size + j).to_string())
                .collect();
            serde_json::to_vec(&serde_json::json!({ "to": to, "messages": &msg }))
                .map(bytes::Bytes::from)
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let url = format!("{}/v2/bot/message/multicast", mock.base_url());
    let token = mock.token();
    let make = |i: usize| {
        http.post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("x-line-retry-key", Uuid::new_v4().to_string())
            .body(raw_bodies[i].clone())
    };
    let raw_before = raw_rate(n, c, make).await;
    let t = Instant::now();
    let outs = line.send_all(&requests, c).await;
    let el = t.elapsed();
    let raw = raw_before.max(raw_rate(n, c, |i| make(n + i)).await);
    report.channels.push(figures(
        "line_multicast",
        requests.len(),
        requests.len() * size,
        el,
        count_not_sent(&outs),
        Some(raw),
        mock.stats().rejected,
    ));

    // Push.
    let requests: Vec<_> = (0..o.line_push_requests)
        .map(|i| Request::single(Uuid::new_v4(), user(20_000_000 + i), msg.clone()))
        .collect();
    let n = o.line_push_requests;
    let raw_bodies: Vec<bytes::Bytes> = (0..2 * n)
        .map(|i| {
            serde_json::to_vec(&serde_json::json!({
                "to": user(30_000_000 + i).to_string(),
                "messages": &msg,
            }))
            .map(bytes::Bytes::from)
            .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let url = format!("{}/v2/bot/message/push", mock.base_url());
    let make = |i: usize| {
        http.post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("x-line-retry-key", Uuid::new_v4().to_string())
            .body(raw_bodies[i].clone())
    };
    let raw_before = raw_rate(n, c, make).await;
    let t = Instant::now();
    let outs = line.send_all(&requests, c).await;
    let el = t.elapsed();
    let raw = raw_before.max(raw_rate(n, c, |i| make(n + i)).await);
    report.channels.push(figures(
        "line_push",
        requests.len(),
        requests.len(),
        el,
        count_not_sent(&outs),
        Some(raw),
        mock.stats().rejected,
    ));
    Ok(())
}

async fn bench_webpush(o: &BenchOptions, report: &mut BenchReport) -> Result<(), String> {
    let vapid = VapidKey::generate();
    let standin = PushStandIn::start(Some(vapid.public_key_base64url()))
        .await
        .map_err(|e| format!("push stand-in: {e}"))?;
    let mut cfg = PushConfig::new(&vapid, "mailto:bench@localhost");
    // The stand-in runs on loopback: allowed explicitly.
    cfg.allow_loopback = true;
    cfg.rate = RateLimit::unlimited();
    let push = PushSink::new(cfg).map_err(|e| e.to_string())?;
    let subs: Vec<Subscription> = (0..o.webpush_subscriptions.max(1))
        .map(|_| standin.new_subscription())
        .collect();
    let msg = PushMessage::notification(
        "市報ゆくはし",
        "12月号を発行しました。子育て支援の特集です。",
        Some("https://city.example/news"),
    );
    let n = o.webpush_messages;
    let c = o.concurrency;

    // Raw: one pre-encrypted body and one pre-signed VAPID header per subscription, reused.
    let http = crate::http::client(Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let exp = chrono::Utc::now().timestamp() as u64 + 3600;
    let prepared: Vec<(String, Vec<u8>, String)> = subs
        .iter()
        .map(|s| {
            let pk = p256_public(&s.p256dh)?;
            let auth = auth_secret(&s.auth)?;
            let body = web_push_native::encrypt(msg.payload.as_bytes().to_vec(), &pk, &auth)
                .map_err(|e| e.to_string())?;
            let aud = url::Url::parse(&s.endpoint)
                .map_err(|e| e.to_string())?
                .origin()
                .ascii_serialization();
            let jwt = vapid.sign_jwt(&aud, "mailto:bench@localhost", exp);
            let auth_header = format!("vapid t={jwt}, k={}", vapid.public_key_base64url());
            Ok((s.endpoint.clone(), body, auth_header))
        })
        .collect::<Result<_, String>>()?;
    let make = |i: usize| {
        let (endpoint, body, auth) = &prepared[i % prepared.len()];
        http.post(endpoint)
            .header("ttl", "86400")
            .header("urgency", "normal")
            .header("content-encoding", "aes128gcm")
            .header("content-type", "application/octet-stream")
            .header("authorization", auth)
            .body(body.clone())
    };
    let requests: Vec<_> = (0..n)
        .map(|i| Request::single(Uuid::new_v4(), subs[i % subs.len()].clone(), msg.clone()))
        .collect();
    let raw_before = raw_rate(n, c, make).await;
    let t = Instant::now();
    let outs = push.send_all(&requests, c).await;
    let el = t.elapsed();
    let raw = raw_before.max(raw_rate(n, c, make).await);
    report.channels.push(figures(
        "webpush",
        n,
        n,
        el,
        count_not_sent(&outs),
        Some(raw),
        standin.stats().rejected,
    ));
    Ok(())
}

fn p256_public(b64: &str) -> Result<p256::PublicKey, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|e| e.to_string())?;
    p256::PublicKey::from_sec1_bytes(&bytes).map_err(|e| e.to_string())
}

fn auth_secret(b64: &str) -> Result<web_push_native::Auth, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|e| e.to_string())?;
    if bytes.len() != 16 {
        return Err("auth secret is not 16 bytes".into());
    }
    Ok(web_push_native::Auth::clone_from_slice(&bytes))
}

async fn bench_email(o: &BenchOptions, url: &str, report: &mut BenchReport) -> Result<(), String> {
    let mut cfg = EmailConfig::new(
        Some(url.to_owned()),
        "行橋市役所 <bench@city.yukuhashi.example>",
    );
    cfg.rate = RateLimit::unlimited();
    let sink = EmailSink::new(cfg).map_err(|e| e.to_string())?;
    let msg = EmailMessage {
        subject: "【行橋市】12月の粗大ごみ収集日のお知らせ".into(),
        text: "いつもご協力ありがとうございます。12月の粗大ごみ収集日は第2水曜日です。".into(),
        html: Some("<p>いつもご協力ありがとうございます。</p><p>12月の粗大ごみ収集日は<strong>第2水曜日</strong>です。</p>".into()),
        list_unsubscribe: Some("https://city.example/unsubscribe?t=bench".into()),
    };
    let requests: Vec<_> = (0..o.email_messages)
        .map(|i| {
            Request::single(
                Uuid::new_v4(),
                format!("resident{i}@example.org"),
                msg.clone(),
            )
        })
        .collect();
    let concurrency = o.concurrency.min(8);
    let raw_before = raw_smtp_rate(url, o.email_messages, concurrency).await?;
    let t = Instant::now();
    let outs = sink.send_all(&requests, concurrency).await;
    let el = t.elapsed();
    let raw = raw_before.max(raw_smtp_rate(url, o.email_messages, concurrency).await?);
    report.channels.push(figures(
        "email",
        requests.len(),
        requests.len(),
        el,
        count_not_sent(&outs),
        Some(raw),
        0,
    ));
    Ok(())
}

/// The raw capacity of an SMTP server: `messages` pre-built messages (one recipient each, the size of a city
/// notice) sent by a plain SMTP client over `connections` connections, one transaction after another on each
/// (`MAIL`, `RCPT`, `DATA`, the message, `.`; no TLS, no authentication). Messages per second.
pub async fn raw_smtp_rate(url: &str, messages: usize, connections: usize) -> Result<f64, String> {
    let address = url
        .strip_prefix("smtp://")
        .ok_or_else(|| format!("raw SMTP client: {url} is not smtp://host:port"))?
        .trim_end_matches('/')
        .to_owned();
    let connections = connections.clamp(1, messages.max(1));
    let body = "From: bench@city.yukuhashi.example\r\nSubject: =?UTF-8?B?44GK55+l44KJ44Gb?=\r\n\
                MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
                Content-Transfer-Encoding: 8bit\r\n\r\n"
        .to_owned()
        + &"いつもご協力ありがとうございます。12月の粗大ごみ収集日は第2水曜日です。\r\n".repeat(8);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            let address = address.clone();
            let body = body.clone();
            let share = messages / connections + usize::from(c < messages % connections);
            tokio::spawn(async move { raw_smtp_connection(&address, &body, c, share).await })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| format!("raw SMTP client: {e}"))?
            .map_err(|e| format!("raw SMTP client: {e}"))?;
    }
    Ok(messages as f64 / started.elapsed().as_secs_f64().max(1e-9))
}

async fn raw_smtp_connection(
    address: &str,
    body: &str,
    connection: usize,
    messages: usize,
) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut replies = BufReader::new(read);
    let mut line = String::new();
    // One reply (possibly multi-line): fails on anything but 2xx/3xx.
    async fn reply(
        replies: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
        line: &mut String,
    ) -> std::io::Result<()> {
        loop {
            line.clear();
            if replies.read_line(line).await? == 0 {
                return Err(std::io::Error::other("the server closed the connection"));
            }
            if !(line.starts_with('2') || line.starts_with('3')) {
                return Err(std::io::Error::other(format!(
                    "the server answered {line:?}"
                )));
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(());
            }
        }
    }
    reply(&mut replies, &mut line).await?;
    write.write_all(b"EHLO raw.bench\r\n").await?;
    reply(&mut replies, &mut line).await?;
    for i in 0..messages {
        let envelope = format!(
            "MAIL FROM:<bench@city.yukuhashi.example>\r\nRCPT TO:<raw{connection}-{i}@example.org>\r\nDATA\r\n"
        );
        // The server announced PIPELINING: the envelope goes in one write, its three replies are read after.
        write.write_all(envelope.as_bytes()).await?;
        for _ in 0..3 {
            reply(&mut replies, &mut line).await?;
        }
        let message = format!(
            "To: raw{connection}-{i}@example.org\r\nMessage-ID: <{}@bench>\r\n{body}.\r\n",
            Uuid::new_v4()
        );
        write.write_all(message.as_bytes()).await?;
        reply(&mut replies, &mut line).await?;
    }
    write.write_all(b"QUIT\r\n").await?;
    Ok(())
}

/// Runs the benchmark: LINE multicast and push against [`LineMock`], Web Push against [`PushStandIn`],
/// email against `options.smtp_url` when given. Everything on 127.0.0.1.
pub async fn bench(options: &BenchOptions) -> BenchReport {
    let mut report = BenchReport {
        started_at: chrono::Utc::now(),
        options: options.clone(),
        channels: Vec::new(),
        skipped: Vec::new(),
    };
    if let Err(e) = bench_line(options, &mut report).await {
        report.skipped.push(format!("line: {e}"));
    }
    if let Err(e) = bench_webpush(options, &mut report).await {
        report.skipped.push(format!("webpush: {e}"));
    }
    match options.smtp_url.as_deref() {
        Some(url) if options.email_messages > 0 => {
            if let Err(e) = bench_email(options, url, &mut report).await {
                report.skipped.push(format!("email: {e}"));
            }
        }
        _ => report
            .skipped
            .push("email: no smtp_url given (e.g. smtp://127.0.0.1:2525)".into()),
    }
    report
}
