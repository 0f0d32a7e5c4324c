//! `hub bench preview`: `POST /api/segments/preview` through the running hub on a real database with N residents,
//! against the in-memory engine evaluating the same rules on the same snapshot in the same run (issue 16). It
//! reports the snapshot's build at start, the preview percentiles, the ratio, and the process's resident memory
//! before and after the build.

use std::time::Instant;

use serde::Serialize;
use tokio::net::TcpListener;

use crate::outbox::bench::{Addresses, BENCH_ADMIN, BenchHub, remove_temporary};

#[derive(Debug, Clone)]
pub struct PreviewBenchOptions {
    pub residents: usize,
    /// `sqlite://…` (default: a temporary file) or `postgres://…` (an empty database).
    pub database_url: Option<String>,
    /// Previews per rule.
    pub rounds: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreviewBenchReport {
    pub residents: usize,
    pub backend: &'static str,
    /// Writing the residents (the import path, feed triggers included); not part of the figures below.
    pub insert_residents_ms: f64,
    /// Building the snapshot from the database, as at start.
    pub build_ms: f64,
    pub snapshot_memory_bytes: usize,
    /// The process's resident set before and after the build, MiB.
    pub rss_before_build_mib: Option<f64>,
    pub rss_after_build_mib: Option<f64>,
    pub rules: Vec<RuleFigures>,
    /// Over every preview of every rule.
    pub api_p50_ms: f64,
    pub api_p95_ms: f64,
    pub engine_p50_ms: f64,
    pub engine_p95_ms: f64,
    /// `api_p50_ms / engine_p50_ms`: what the API, the feed check and HTTP add to the engine.
    pub ratio_p50: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleFigures {
    pub rule: String,
    pub count: u64,
    pub api_p50_ms: f64,
    pub api_p95_ms: f64,
    /// Evaluate and summarise on the same snapshot, no database, no HTTP.
    pub engine_p50_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// `VmRSS` of this process, MiB.
fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub async fn run(options: &PreviewBenchOptions) -> anyhow::Result<PreviewBenchReport> {
    let prepared = BenchHub::prepare(
        options.database_url.as_deref(),
        options.residents,
        'S',
        |i| Addresses {
            line: i % 10 < 6,
            email: i % 2 == 0,
            push: false,
        },
        &[],
    )
    .await?;
    let BenchHub {
        state,
        backend,
        insert_residents_ms,
        temporary,
        ..
    } = prepared;
    let rss_before_build_mib = rss_mib();
    let started = Instant::now();
    state.audience.refresh().await?;
    let build_ms = started.elapsed().as_secs_f64() * 1000.0;
    let rss_after_build_mib = rss_mib();
    let snapshot_memory_bytes = state
        .audience
        .status()
        .map_or(0, |status| status.memory_bytes);

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let hub = crate::start(state.clone(), listener).await?;
    let url = format!("http://{}/api/segments/preview", hub.addr);
    let client = reqwest::Client::new();
    let date = segments::bench::bench_eval_date().to_string();
    let mut rules = Vec::new();
    let (mut all_api, mut all_engine) = (Vec::new(), Vec::new());
    for text in segments::bench::BENCH_RULES {
        let rule = segments::Rule::parse(text)?;
        let eval_date = segments::bench::bench_eval_date();
        let (mut api, mut engine) = (Vec::new(), Vec::new());
        let mut count = 0;
        for _ in 0..options.rounds.max(1) {
            let started = Instant::now();
            let answer: serde_json::Value = client
                .post(&url)
                .bearer_auth(BENCH_ADMIN)
                .json(&serde_json::json!({"rule": text, "date": date}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            api.push(started.elapsed().as_secs_f64() * 1000.0);
            count = answer["count"].as_u64().unwrap_or_default();
            engine.push(
                state
                    .audience
                    .read(|snapshot| {
                        let started = Instant::now();
                        let segment = snapshot.evaluate(&rule, eval_date);
                        let _ = snapshot.summarize(&segment, eval_date);
                        started.elapsed().as_secs_f64() * 1000.0
                    })
                    .await?,
            );
        }
        api.sort_by(f64::total_cmp);
        engine.sort_by(f64::total_cmp);
        rules.push(RuleFigures {
            rule: (*text).to_owned(),
            count,
            api_p50_ms: percentile(&api, 0.5),
            api_p95_ms: percentile(&api, 0.95),
            engine_p50_ms: percentile(&engine, 0.5),
        });
        all_api.extend(api);
        all_engine.extend(engine);
    }
    hub.stop().await;
    remove_temporary(temporary);
    all_api.sort_by(f64::total_cmp);
    all_engine.sort_by(f64::total_cmp);
    let engine_p50_ms = percentile(&all_engine, 0.5);
    let api_p50_ms = percentile(&all_api, 0.5);
    Ok(PreviewBenchReport {
        residents: options.residents,
        backend,
        insert_residents_ms,
        build_ms,
        snapshot_memory_bytes,
        rss_before_build_mib,
        rss_after_build_mib,
        rules,
        api_p50_ms,
        api_p95_ms: percentile(&all_api, 0.95),
        engine_p50_ms,
        engine_p95_ms: percentile(&all_engine, 0.95),
        ratio_p50: if engine_p50_ms > 0.0 {
            api_p50_ms / engine_p50_ms
        } else {
            0.0
        },
    })
}
