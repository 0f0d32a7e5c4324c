//! `hub bench chat`: many web chat sessions at once against a real `hub serve` process on loopback.
//!
//! The hub runs as a child process (its own SQLite file in a temporary directory) so its memory is measured
//! alone: the peak resident set (`VmHWM`) and CPU time come from `/proc`. Each session opens `/chat/ws`, then
//! asks a FAQ question every `interval` (a person types far slower; the hub allows 30 a minute per page) and
//! times each answer from send to receipt.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

/// Questions residents ask, with their everyday spellings (hiragana, colloquial).
const QUESTIONS: [&str; 12] = [
    "住民票を取りたい",
    "じゅうみんひょうをとりたい",
    "ごみの収集日はいつですか",
    "粗大ごみの出し方",
    "引っ越しの手続き",
    "マイナンバーカードを作りたい",
    "児童手当の申請",
    "介護保険の認定を受けたい",
    "国民健康保険に入りたい",
    "避難所はどこですか",
    "印鑑登録をしたい",
    "税金の支払い方法",
];

#[derive(Debug, Clone)]
pub struct ChatBenchOptions {
    pub sessions: usize,
    pub seconds: u64,
    /// Time between one session's questions.
    pub interval: Duration,
}

#[derive(Debug, Serialize)]
pub struct ChatBenchReport {
    pub sessions: usize,
    pub connected: usize,
    pub seconds: f64,
    pub interval_ms: u64,
    pub questions: u64,
    pub answers: u64,
    /// Error messages and dropped sockets.
    pub errors: u64,
    pub answers_per_sec: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub hub_peak_rss_mb: f64,
    pub hub_cpu_seconds: f64,
    pub connect_seconds: f64,
}

/// Kills the hub process and removes its directory however the bench ends.
struct HubProcess {
    child: tokio::process::Child,
    dir: PathBuf,
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl HubProcess {
    fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// `VmHWM` (peak resident set) of a process, in MiB.
fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// User plus system CPU time of a process, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; 100 a second on Linux.
    Some((utime + stime) / 100.0)
}

async fn start_hub(sessions: usize) -> anyhow::Result<(HubProcess, String)> {
    let dir = std::env::temp_dir().join(format!("hub-bench-chat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let exe = std::env::current_exe().context("cannot find the hub binary")?;
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("serve")
        .env("HUB_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "HUB_DATABASE_URL",
            format!("sqlite://{}", dir.join("hub.db").display()),
        )
        // Every session comes from 127.0.0.1: the per-client limit must not count them as one resident.
        .env(
            "HUB_RATE_LIMIT_PER_MINUTE",
            (sessions.max(1) * 100).to_string(),
        )
        .env(
            "HUB_WEBCHAT_SOCKETS_PER_CLIENT",
            (sessions.max(1) * 2).to_string(),
        )
        .env(
            "HUB_WEBCHAT_MESSAGES_PER_MINUTE",
            (sessions.max(1) * 100).to_string(),
        )
        .env("RUST_LOG", "warn")
        .env_remove("HUB_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    let child = command.spawn().context("cannot start `hub serve`")?;
    let hub = HubProcess { child, dir };
    let base = format!("127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(response) = client.get(format!("http://{base}/healthz")).send().await
            && response.status().is_success()
        {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the hub did not answer /healthz within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((hub, base))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Default)]
struct SessionResult {
    questions: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

async fn session(
    mut socket: Socket,
    index: usize,
    options: ChatBenchOptions,
    until: Instant,
) -> SessionResult {
    let mut result = SessionResult::default();
    // Spread the sessions over the interval so they do not ask in lock step.
    let offset = options.interval.mul_f64((index % 1000) as f64 / 1000.0);
    tokio::time::sleep(offset).await;
    let mut n = index;
    while Instant::now() < until {
        let started = Instant::now();
        let question = QUESTIONS[n % QUESTIONS.len()];
        n += 1;
        let message = serde_json::json!({ "text": question }).to_string();
        result.questions += 1;
        if socket.send(Message::Text(message.into())).await.is_err() {
            result.errors += 1;
            break;
        }
        // Skip pushed notices; the next answer or error is ours.
        let answered = loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: serde_json::Value =
                        serde_json::from_str(text.as_str()).unwrap_or_default();
                    match value["type"].as_str() {
                        Some("answer") => break true,
                        Some("error") => break false,
                        _ => continue,
                    }
                }
                Some(Ok(_)) => continue,
                _ => break false,
            }
        };
        if answered {
            let micros = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
            result.latencies_us.push(micros);
        } else {
            result.errors += 1;
        }
        let spent = started.elapsed();
        if spent < options.interval {
            tokio::time::sleep(options.interval - spent).await;
        }
    }
    let _ = socket.close(None).await;
    result
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    f64::from(sorted_us[rank.clamp(1, sorted_us.len()) - 1]) / 1000.0
}

/// Runs the bench; the hub process is stopped at the end.
pub async fn chat(options: &ChatBenchOptions) -> anyhow::Result<ChatBenchReport> {
    anyhow::ensure!(options.sessions > 0, "--sessions must be at least 1");
    let (hub, base) = start_hub(options.sessions).await?;
    eprintln!(
        "hub bench chat: hub on {base}; opening {} sessions",
        options.sessions
    );
    let url = format!("ws://{base}/chat/ws");
    let connect_started = Instant::now();
    let mut sockets = Vec::with_capacity(options.sessions);
    // Open in waves so the listen backlog is not flooded.
    for wave in (0..options.sessions).collect::<Vec<_>>().chunks(100) {
        let opened = futures_util::future::join_all(
            wave.iter()
                .map(|_| tokio_tungstenite::connect_async(url.clone())),
        )
        .await;
        for socket in opened {
            match socket {
                Ok((socket, _)) => sockets.push(socket),
                Err(error) => eprintln!("hub bench chat: a session did not open: {error}"),
            }
        }
    }
    let connect_seconds = connect_started.elapsed().as_secs_f64();
    let connected = sockets.len();
    eprintln!(
        "hub bench chat: {connected} sessions open in {connect_seconds:.1} s; asking for {} s",
        options.seconds
    );
    let cpu_before = hub.pid().and_then(cpu_seconds).unwrap_or(0.0);
    let started = Instant::now();
    let until = started + Duration::from_secs(options.seconds);
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(index, socket)| tokio::spawn(session(socket, index, options.clone(), until)))
        .collect();
    let mut questions = 0;
    let mut errors = (options.sessions - connected) as u64;
    let mut latencies = Vec::new();
    for task in tasks {
        let result = task.await.context("a session task failed")?;
        questions += result.questions;
        errors += result.errors;
        latencies.extend(result.latencies_us);
    }
    let seconds = started.elapsed().as_secs_f64();
    let pid = hub.pid();
    let hub_peak_rss_mb = pid.and_then(peak_rss_mb).unwrap_or(0.0);
    let hub_cpu_seconds = pid.and_then(cpu_seconds).unwrap_or(0.0) - cpu_before;
    drop(hub);
    latencies.sort_unstable();
    let answers = latencies.len() as u64;
    Ok(ChatBenchReport {
        sessions: options.sessions,
        connected,
        seconds,
        interval_ms: options.interval.as_millis() as u64,
        questions,
        answers,
        errors,
        answers_per_sec: answers as f64 / seconds.max(f64::EPSILON),
        p50_ms: percentile_ms(&latencies, 50.0),
        p90_ms: percentile_ms(&latencies, 90.0),
        p99_ms: percentile_ms(&latencies, 99.0),
        max_ms: latencies.last().map_or(0.0, |us| f64::from(*us) / 1000.0),
        hub_peak_rss_mb,
        hub_cpu_seconds,
        connect_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_rank_above() {
        let sorted: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile_ms(&sorted, 50.0), 50.0);
        assert_eq!(percentile_ms(&sorted, 99.0), 99.0);
        assert_eq!(percentile_ms(&[], 99.0), 0.0);
        assert_eq!(percentile_ms(&[7000], 1.0), 7.0);
    }

    #[test]
    fn proc_figures_of_this_process_are_read() {
        let pid = std::process::id();
        assert!(peak_rss_mb(pid).is_some_and(|mb| mb > 0.0));
        assert!(cpu_seconds(pid).is_some());
    }
}
