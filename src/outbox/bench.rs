//! `hub bench fanout`: a notice to N residents across LINE and email stand-ins on loopback, through the whole
//! hub (HTTP API, scheduler, fan-out transaction, outbox, dispatcher), compared with the stand-ins' raw capacity
//! measured in the same run by the channels benchmark (a plain HTTP client with pre-built requests for LINE, the
//! email sink straight to the SMTP stand-in).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::residents::{self, ChannelsInput, ResidentInput};

#[derive(Debug, Clone)]
pub struct FanoutOptions {
    pub residents: usize,
    /// `sqlite://…` (default: a temporary file) or `postgres://…` (an empty database).
    pub database_url: Option<String>,
    /// Share of residents reached on LINE (the others by email).
    pub line_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FanoutReport {
    pub residents: usize,
    pub backend: &'static str,
    /// Deliveries sent (not merely targeted).
    pub line_deliveries: i64,
    pub email_deliveries: i64,
    pub line_requests: u64,
    pub smtp_messages: u64,
    /// Residents written before the run (not timed in the rest).
    pub insert_residents_ms: f64,
    /// From `POST /api/notices` until the notice has fired (segment evaluated, rows written).
    pub fanout_ms: f64,
    /// From `POST /api/notices` until no delivery is pending.
    pub total_ms: f64,
    /// Deliveries per second over `total_ms`.
    pub deliveries_per_sec: f64,
    /// Deliveries per second after the fan-out (dispatch only).
    pub dispatch_deliveries_per_sec: f64,
    /// The stand-ins' raw capacity measured in this run.
    pub raw_line_recipients_per_sec: Option<f64>,
    pub raw_email_messages_per_sec: Option<f64>,
    /// The time the raw clients would need for the same deliveries (channels in parallel), in ms.
    pub raw_ms_for_same_work: Option<f64>,
    /// `raw_ms_for_same_work / total_ms` (1.0 = as fast as the raw stand-ins).
    pub ratio: Option<f64>,
    /// `raw_ms_for_same_work / (total_ms - fanout_ms)`.
    pub dispatch_ratio: Option<f64>,
    pub failed: i64,
    pub line_violations: usize,
    /// Settings of the measured hub that differ from the defaults.
    pub non_default: Vec<String>,
    pub channels: channels::bench::BenchReport,
}

/// A minimal SMTP server that accepts every message and counts it: the email stand-in.
pub struct SmtpSink {
    pub port: u16,
    pub messages: Arc<AtomicU64>,
    /// When each message was accepted and its `Message-ID` (for "trigger → handed to the stand-in" figures).
    pub log: Arc<SinkLog>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let messages = Arc::new(AtomicU64::new(0));
        let counter = messages.clone();
        let log: Arc<SinkLog> = Arc::default();
        let sink_log = log.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counter = counter.clone();
                let log = sink_log.clone();
                tokio::spawn(async move {
                    if let Err(error) = smtp_session(stream, &counter, &log).await {
                        tracing::debug!(%error, "SMTP sink session ended");
                    }
                });
            }
        });
        Ok(SmtpSink {
            port,
            messages,
            log,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
}

/// What the SMTP stand-in received: when, and the `Message-ID`.
pub type SinkLog = std::sync::Mutex<Vec<(chrono::DateTime<chrono::Utc>, String)>>;

async fn smtp_session(
    stream: tokio::net::TcpStream,
    counter: &AtomicU64,
    log: &SinkLog,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    // Acknowledge every segment at once: the client writes a message's body and its final `.` separately, and
    // with Nagle's algorithm the `.` waits for the body's ACK, which a delayed ACK holds back ~40 ms.
    let quickack = |read: &tokio::net::tcp::OwnedReadHalf| {
        #[cfg(target_os = "linux")]
        let _ = socket2::SockRef::from(read.as_ref()).set_tcp_quickack(true);
        #[cfg(not(target_os = "linux"))]
        let _ = read;
    };
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        quickack(lines.get_ref());
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            write
                .write_all(b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n")
                .await?;
        } else if command.starts_with("DATA") {
            write.write_all(b"354 end with .\r\n").await?;
            let mut message_id = String::new();
            let mut in_headers = true;
            loop {
                line.clear();
                quickack(lines.get_ref());
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                if in_headers {
                    if line.trim().is_empty() {
                        in_headers = false;
                    } else if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("message-id")
                    {
                        message_id = value.trim().to_owned();
                    }
                }
            }
            counter.fetch_add(1, Ordering::Relaxed);
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((chrono::Utc::now(), message_id));
            write.write_all(b"250 queued\r\n").await?;
        } else if command.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 ok\r\n").await?;
        }
    }
}

/// Which channels a benchmark resident has.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Addresses {
    pub line: bool,
    pub email: bool,
    pub push: bool,
}

/// The admin token of the benchmarks' hubs.
pub(crate) const BENCH_ADMIN: &str = "bench-admin-token-0123456789";

/// A benchmark's hub before it serves: the LINE mock and SMTP sink it sends to, and its database (a temporary
/// SQLite file unless a URL is given) filled with synthetic residents of varied districts, ages and languages.
pub(crate) struct BenchHub {
    pub line: channels::testing::LineMock,
    pub smtp: SmtpSink,
    /// The Web Push stand-in (it checks the VAPID signature and decrypts every message).
    pub push: channels::testing::PushStandIn,
    /// The settings this hub runs with that differ from the defaults, `KEY=value (default …)`.
    pub non_default: Vec<String>,
    pub config: crate::Config,
    pub state: crate::AppState,
    pub backend: &'static str,
    pub insert_residents_ms: f64,
    /// The temporary directory of the SQLite file, when no database was given.
    pub temporary: Option<std::path::PathBuf>,
}

impl BenchHub {
    /// `prefix` starts the external ids and email addresses (`B0000001`, `b0000001@example.org`);
    /// `addresses(i)` says whether resident `i` has a LINE address, an email address and a push subscription;
    /// `settings` are HUB_* values on top of the benchmark's (`HUB_MAIL_RATE` is lifted to 1,000,000 unless
    /// given).
    pub(crate) async fn prepare(
        database_url: Option<&str>,
        residents: usize,
        prefix: char,
        addresses: impl Fn(usize) -> Addresses,
        settings: &[(&str, String)],
    ) -> anyhow::Result<BenchHub> {
        let line = channels::testing::LineMock::start().await?;
        let smtp = SmtpSink::start().await?;
        let (database_url, temporary) = match database_url {
            Some(url) => (url.to_owned(), None),
            None => {
                let dir = tempfile_dir()?;
                (
                    format!("sqlite://{}", dir.join("bench.db").display()),
                    Some(dir),
                )
            }
        };
        let mut env = BTreeMap::new();
        env.insert("HUB_LISTEN".to_owned(), "127.0.0.1:0".to_owned());
        env.insert("HUB_DATABASE_URL".to_owned(), database_url);
        env.insert("HUB_DATABASE_MAX_CONNECTIONS".to_owned(), "16".to_owned());
        env.insert("HUB_ADMIN_TOKEN".to_owned(), BENCH_ADMIN.to_owned());
        env.insert("HUB_LINE_CHANNEL_TOKEN".to_owned(), line.token());
        env.insert("HUB_LINE_API_BASE".to_owned(), line.base_url());
        env.insert("HUB_SMTP_URL".to_owned(), smtp.url());
        env.insert(
            "HUB_MAIL_FROM".to_owned(),
            "行橋市 <info@city.yukuhashi.example>".to_owned(),
        );
        env.insert("HUB_MAIL_RATE".to_owned(), "1000000".to_owned());
        env.insert(
            "HUB_PUSH_ALLOW_LOOPBACK_FOR_TESTS".to_owned(),
            "true".to_owned(),
        );
        for (key, value) in settings {
            env.insert((*key).to_owned(), value.clone());
        }
        let config = crate::Config::from_parts(None, &env)?;
        let defaults = crate::Config::from_parts(None, &BTreeMap::new())?;
        let mut non_default = Vec::new();
        if config.mail_rate_per_sec != defaults.mail_rate_per_sec {
            non_default.push(format!(
                "HUB_MAIL_RATE={} (default {})",
                config.mail_rate_per_sec, defaults.mail_rate_per_sec
            ));
        }
        if config.database_max_connections != defaults.database_max_connections {
            non_default.push(format!(
                "HUB_DATABASE_MAX_CONNECTIONS={} (default {})",
                config.database_max_connections, defaults.database_max_connections
            ));
        }
        if config.dispatch_lease_secs != defaults.dispatch_lease_secs {
            non_default.push(format!(
                "HUB_DISPATCH_LEASE_SECS={} (default {})",
                config.dispatch_lease_secs, defaults.dispatch_lease_secs
            ));
        }
        let state = crate::prepare(config.clone()).await?;
        let push =
            channels::testing::PushStandIn::start(Some(state.vapid.public_key_base64url())).await?;

        let started = Instant::now();
        let languages = ["ja", "ja", "en", "zh", "ko", "vi"];
        let today = residents::today_in_japan();
        let lower = prefix.to_ascii_lowercase();
        let mut batch = Vec::with_capacity(residents);
        for i in 0..residents {
            let Addresses {
                line: on_line,
                email: by_email,
                push: by_push,
            } = addresses(i);
            let subscription = by_push.then(|| {
                let sub = push.new_subscription();
                residents::PushSubscription {
                    endpoint: sub.endpoint,
                    keys: residents::PushKeys {
                        p256dh: sub.p256dh,
                        auth: sub.auth,
                    },
                    expiration_time: None,
                }
            });
            let input = ResidentInput {
                external_id: format!("{prefix}{i:07}"),
                birth_date: Some(format!("{}-{:02}-15", 1930 + i % 80, 1 + i % 12)),
                district: Some(config.districts[i % config.districts.len()].clone()),
                language: Some(languages[i % languages.len()].to_owned()),
                interests: vec![],
                channels: ChannelsInput {
                    line: on_line.then(|| format!("U{i:032x}")),
                    email: by_email.then(|| format!("{lower}{i:07}@example.org")),
                    push: subscription,
                },
                preferred: vec![],
            };
            batch.push(
                input
                    .validate(&config.districts, today)
                    .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?,
            );
        }
        for chunk in batch.chunks(20_000) {
            residents::upsert_many(
                &state.db,
                chunk,
                &[
                    residents::ChannelKind::Line,
                    residents::ChannelKind::Email,
                    residents::ChannelKind::Push,
                ],
            )
            .await?;
        }
        let insert_residents_ms = started.elapsed().as_secs_f64() * 1000.0;
        let backend = match state.db.backend {
            crate::db::Backend::Sqlite => "sqlite",
            crate::db::Backend::Postgres => "postgres",
        };
        Ok(BenchHub {
            line,
            smtp,
            push,
            non_default,
            config,
            state,
            backend,
            insert_residents_ms,
            temporary,
        })
    }
}

/// Removes a benchmark's temporary database directory, if it made one.
pub(crate) fn remove_temporary(dir: Option<std::path::PathBuf>) {
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

pub async fn fanout(options: &FanoutOptions) -> anyhow::Result<FanoutReport> {
    let share = options.line_share * 100.0;
    let BenchHub {
        line,
        smtp,
        state,
        backend,
        insert_residents_ms,
        temporary,
        non_default,
        ..
    } = BenchHub::prepare(
        options.database_url.as_deref(),
        options.residents,
        'B',
        |i| {
            let on_line = ((i % 100) as f64) < share;
            Addresses {
                line: on_line,
                email: !on_line,
                push: false,
            }
        },
        &[],
    )
    .await?;
    let admin = BENCH_ADMIN;
    // The live snapshot is built as at a hub's start, so the fan-out is timed on a running hub.
    state.audience.refresh().await?;

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let hub = crate::start(state, listener).await?;
    let base = format!("http://{}", hub.addr);
    let client = reqwest::Client::new();
    let notice = serde_json::json!({
        "title": "ベンチマーク",
        "body": {"ja": "行橋市からのお知らせです。", "en": "A notice from Yukuhashi City.", "zh": "来自行桥市的通知。"},
        "segment": "",
        "channels": ["line", "email"],
        "send_at": null,
        "ignore_quiet_hours": true
    });
    let started = Instant::now();
    let created: serde_json::Value = client
        .post(format!("{base}/api/notices"))
        .bearer_auth(admin)
        .json(&notice)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = created["id"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no notice id in {created}"))?;
    let mut fanout_ms = None;
    let view = loop {
        let view: serde_json::Value = client
            .get(format!("{base}/api/notices/{id}"))
            .bearer_auth(admin)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if fanout_ms.is_none() && view["fire_count"].as_i64().unwrap_or(0) > 0 {
            fanout_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
        }
        if fanout_ms.is_some() && view["totals"]["pending"].as_i64() == Some(0) {
            break view;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            anyhow::bail!("the notice was not delivered within an hour: {view}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let total_ms = started.elapsed().as_secs_f64() * 1000.0;
    let fanout_ms = fanout_ms.unwrap_or(total_ms);
    hub.stop().await;
    remove_temporary(temporary);

    // Throughput counts what was sent, not what was targeted (a failed row is no delivery).
    let line_deliveries = view["counts"]["line"]["sent"].as_i64().unwrap_or(0);
    let email_deliveries = view["counts"]["email"]["sent"].as_i64().unwrap_or(0);
    let delivered = (line_deliveries + email_deliveries) as f64;
    let line_requests = line.stats().accepted;
    let smtp_messages = smtp.messages.load(Ordering::Relaxed);
    let line_violations = line.violations().len();

    // The raw capacity of the same stand-ins, measured now.
    let channel_report = channels::bench::bench(&channels::bench::BenchOptions {
        line_multicast_requests: 200,
        multicast_size: 500,
        line_push_requests: 200,
        webpush_messages: 100,
        webpush_subscriptions: 10,
        email_messages: 3000,
        smtp_url: Some(smtp.url()),
        concurrency: 32,
    })
    .await;
    let figure = |name: &str| channel_report.channels.iter().find(|c| c.channel == name);
    let raw_line = figure("line_multicast")
        .and_then(|c| c.raw_requests_per_sec)
        .map(|rps| rps * 500.0);
    let raw_email = figure("email").map(|c| c.raw_requests_per_sec.unwrap_or(c.messages_per_sec));
    let raw_ms = match (raw_line, raw_email) {
        (Some(line_rate), Some(email_rate)) => Some(
            (line_deliveries as f64 / line_rate).max(email_deliveries as f64 / email_rate) * 1000.0,
        ),
        _ => None,
    };
    Ok(FanoutReport {
        residents: options.residents,
        backend,
        line_deliveries,
        email_deliveries,
        line_requests,
        smtp_messages,
        insert_residents_ms,
        fanout_ms,
        total_ms,
        deliveries_per_sec: delivered / (total_ms / 1000.0).max(1e-9),
        dispatch_deliveries_per_sec: delivered / ((total_ms - fanout_ms) / 1000.0).max(1e-9),
        raw_line_recipients_per_sec: raw_line,
        raw_email_messages_per_sec: raw_email,
        raw_ms_for_same_work: raw_ms,
        ratio: raw_ms.map(|raw| raw / total_ms.max(1e-9)),
        dispatch_ratio: raw_ms.map(|raw| raw / (total_ms - fanout_ms).max(1e-9)),
        failed: view["totals"]["failed"].as_i64().unwrap_or(0),
        line_violations,
        non_default,
        channels: channel_report,
    })
}

/// A fresh directory under the system's temp dir for the benchmark's SQLite file.
pub(crate) fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("hub-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
