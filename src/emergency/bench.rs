//! `hub bench emergency`: emergencies to N residents through the whole hub (HTTP trigger, fan-out, outbox,
//! dispatcher) against loopback stand-ins (the LINE mock, an in-process SMTP sink, the Web Push stand-in), measured
//! at the stand-ins: trigger → first provider request, and trigger → every delivery handed to a stand-in.
//!
//! Honest by construction: a run in which no request of the emergency reached a stand-in is an error, not 0 ms; a
//! warm-up emergency (one district) goes first and is not counted; the triggers alternate "alone" and "while a
//! notice to every resident is being sent", so neither is always the cold one, and p50/p95 are taken over them;
//! the stand-ins' raw capacities are measured in the same run by minimal clients (a plain SMTP client, plain HTTP
//! for LINE and push) and each channel's rate is given as a share of its raw capacity; the settings that differ
//! from the defaults are named.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::outbox::bench::{Addresses, BENCH_ADMIN as ADMIN, BenchHub, SmtpSink, remove_temporary};
use crate::outbox::dispatcher::delivery_key;

#[derive(Debug, Clone)]
pub struct EmergencyBenchOptions {
    pub residents: usize,
    /// `sqlite://…` (default: a temporary file) or `postgres://…` (an empty database).
    pub database_url: Option<String>,
    /// Districts the alert names (the first N of the city's list); 0 = the whole city (one LINE broadcast).
    pub districts: usize,
    /// Share of residents with LINE, with email and with a Web Push subscription (some have several).
    pub line_share: f64,
    pub email_share: f64,
    pub push_share: f64,
    /// Emergencies measured (after the warm-up), alternating alone and during a notice.
    pub triggers: usize,
    /// `HUB_MAIL_RATE` for the hub (None: lifted to 1,000,000 a second, as the channels' raw capacity is the
    /// limit being measured).
    pub mail_rate: Option<u32>,
}

/// One emergency's figures, measured at the stand-ins from just before `POST /api/emergencies`.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub emergency_id: i64,
    /// `alone` or `during_notice`.
    pub kind: &'static str,
    /// Residents with a delivery, and delivery rows by channel.
    pub residents_targeted: i64,
    pub line_rows: i64,
    pub email_rows: i64,
    pub push_rows: i64,
    pub line_requests: usize,
    pub smtp_messages: usize,
    pub push_messages: usize,
    /// The `POST` answered (201).
    pub trigger_answered_ms: f64,
    /// The first request of this emergency a stand-in accepted.
    pub first_request_ms: f64,
    /// The last delivery of this emergency a stand-in accepted (everything handed over).
    pub all_handed_ms: f64,
    /// Per channel: the last request accepted, from the trigger.
    pub line_handed_ms: Option<f64>,
    pub email_handed_ms: Option<f64>,
    pub push_handed_ms: Option<f64>,
    /// The first delivery rows written, from the emergency row (the fan-out's start).
    pub first_rows_ms: Option<i64>,
    /// The hub's own figures (`GET /api/emergencies/{id}`).
    pub hub_first_sent_ms: Option<i64>,
    pub hub_all_sent_ms: Option<i64>,
    pub failed: i64,
    /// For `during_notice`: the notice's deliveries still pending at the trigger and after the emergency.
    pub notice_pending_at_trigger: Option<i64>,
    pub notice_pending_after: Option<i64>,
}

/// p50 and p95 (nearest rank) of some figures, and how many.
#[derive(Debug, Clone, Serialize)]
pub struct Spread {
    pub n: usize,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank =
            |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        Some(Spread {
            n: values.len(),
            p50: rank(0.5),
            p95: rank(0.95),
            max: values[values.len() - 1],
        })
    }
}

/// One channel: what the hub reached per second in the emergency (rows from the trigger to its last request)
/// against what a minimal client gets from the same stand-in.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelRatio {
    pub channel: &'static str,
    /// Median over the measured runs.
    pub hub_per_sec: f64,
    pub raw_per_sec: Option<f64>,
    /// `hub_per_sec / raw_per_sec` (the aim: ≥ 0.5).
    pub ratio: Option<f64>,
    pub note: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmergencyBenchReport {
    pub residents: usize,
    pub backend: &'static str,
    pub area: String,
    pub mix: String,
    /// Settings of the measured hub that differ from the defaults.
    pub non_default: Vec<String>,
    pub insert_residents_ms: f64,
    /// The warm-up emergency (one district; not counted).
    pub warm_up_ms: f64,
    pub runs: Vec<Run>,
    /// Trigger → first provider request over every measured run, alone, and during a notice.
    pub first_request: Spread,
    pub first_request_alone: Option<Spread>,
    pub first_request_during_notice: Option<Spread>,
    /// Trigger → everything handed over.
    pub all_handed_alone: Option<Spread>,
    pub all_handed_during_notice: Option<Spread>,
    /// `during_notice / alone` of the medians (1.0 = the notice costs nothing).
    pub all_handed_ratio: Option<f64>,
    /// The stand-ins' raw capacities, measured after the runs by minimal clients.
    pub raw: channels::bench::BenchReport,
    pub channels: Vec<ChannelRatio>,
    pub line_violations: usize,
    pub push_rejected: u64,
    /// The aims of issue 17: p95 of the first request ≤ 100 ms, every run handed over ≤ 10 s, each channel ≥ 50%
    /// of its raw capacity.
    pub meets_first_request_aim: bool,
    pub meets_all_handed_aim: bool,
    pub meets_capacity_aim: bool,
}

pub async fn run(options: &EmergencyBenchOptions) -> anyhow::Result<EmergencyBenchReport> {
    let cut = |share: f64| (share.clamp(0.0, 1.0) * 100.0).round() as usize;
    // LINE for the first `line_share` of every hundred residents, email for the last `email_share`, push for
    // the `push_share` in the middle of every hundred (wrapping).
    let line_cut = cut(options.line_share);
    let email_from = 100 - cut(options.email_share);
    let push_n = cut(options.push_share);
    let push_from = (100 - push_n) / 2;
    let settings: Vec<(&str, String)> = options
        .mail_rate
        .map(|rate| ("HUB_MAIL_RATE", rate.to_string()))
        .into_iter()
        .collect();
    let BenchHub {
        line,
        smtp,
        push,
        non_default,
        config,
        state,
        backend,
        insert_residents_ms,
        temporary,
    } = BenchHub::prepare(
        options.database_url.as_deref(),
        options.residents,
        'E',
        |i| {
            let slot = i % 100;
            Addresses {
                line: slot < line_cut,
                email: slot >= email_from,
                push: (slot + 100 - push_from) % 100 < push_n,
            }
        },
        &settings,
    )
    .await?;
    let db = state.db.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let hub = crate::start(state, listener).await?;
    let base = format!("http://{}", hub.addr);
    let client = reqwest::Client::new();
    let stand_ins = StandIns {
        line: &line,
        smtp: &smtp,
        push: &push,
    };

    let districts: Option<Vec<String>> = (options.districts > 0).then(|| {
        config
            .districts
            .iter()
            .take(options.districts)
            .cloned()
            .collect()
    });
    let area = match &districts {
        None => "whole city".to_owned(),
        Some(list) => list.join(", "),
    };

    // Warm-up: one district, not counted (connections, caches, the first claims).
    let warm = Instant::now();
    let first_district = config.districts.iter().take(1).cloned().collect();
    emergency(
        &client,
        &base,
        &db,
        &stand_ins,
        &Some(first_district),
        "ベンチマーク準備",
        "warm_up",
    )
    .await?;
    let warm_up_ms = warm.elapsed().as_secs_f64() * 1000.0;

    let mut runs = Vec::new();
    for n in 0..options.triggers.max(2) {
        let title = format!("ベンチマーク{}", n + 1);
        if n % 2 == 0 {
            runs.push(
                emergency(&client, &base, &db, &stand_ins, &districts, &title, "alone").await?,
            );
        } else {
            runs.push(during_notice(&client, &base, &db, &stand_ins, &districts, &title).await?);
        }
    }
    hub.abort();
    remove_temporary(temporary);

    // The raw capacities of the same kinds of stand-in, measured now by minimal clients.
    let raw = channels::bench::bench(&channels::bench::BenchOptions {
        line_multicast_requests: 200,
        multicast_size: 500,
        line_push_requests: 0,
        webpush_messages: if push_n > 0 { 2_000 } else { 0 },
        webpush_subscriptions: 100,
        email_messages: 5_000,
        smtp_url: Some(smtp.url()),
        concurrency: 32,
    })
    .await;
    let raw_of = |name: &str| {
        raw.channels
            .iter()
            .find(|c| c.channel == name)
            .and_then(|c| c.raw_requests_per_sec)
    };
    let median_rate = |rows: fn(&Run) -> i64, handed: fn(&Run) -> Option<f64>| {
        Spread::of(
            runs.iter()
                .filter_map(|run| handed(run).map(|ms| rows(run) as f64 / (ms / 1000.0).max(1e-9)))
                .collect(),
        )
        .map(|s| s.p50)
    };
    let mut channel_ratios = Vec::new();
    let broadcast = districts.is_none();
    if let Some(hub_rate) = median_rate(|r| r.line_rows, |r| r.line_handed_ms) {
        let raw_rate = (!broadcast)
            .then(|| raw_of("line_multicast").map(|rps| rps * 500.0))
            .flatten();
        channel_ratios.push(ChannelRatio {
            channel: "line",
            hub_per_sec: hub_rate,
            raw_per_sec: raw_rate,
            ratio: raw_rate.map(|raw| hub_rate / raw),
            note: broadcast
                .then_some("one broadcast request reaches every friend: no per-recipient capacity"),
        });
    }
    if let Some(hub_rate) = median_rate(|r| r.email_rows, |r| r.email_handed_ms) {
        let raw_rate = raw_of("email");
        channel_ratios.push(ChannelRatio {
            channel: "email",
            hub_per_sec: hub_rate,
            raw_per_sec: raw_rate,
            ratio: raw_rate.map(|raw| hub_rate / raw),
            note: Some("raw: a plain SMTP client, one transaction per message, 8 connections"),
        });
    }
    if let Some(hub_rate) = median_rate(|r| r.push_rows, |r| r.push_handed_ms) {
        let raw_rate = raw_of("webpush");
        channel_ratios.push(ChannelRatio {
            channel: "push",
            hub_per_sec: hub_rate,
            raw_per_sec: raw_rate,
            ratio: raw_rate.map(|raw| hub_rate / raw),
            note: Some("raw: plain HTTP with pre-encrypted bodies and pre-signed VAPID headers"),
        });
    }

    let of_kind = |kind: &str, figure: fn(&Run) -> f64| {
        Spread::of(
            runs.iter()
                .filter(|run| run.kind == kind)
                .map(figure)
                .collect(),
        )
    };
    let first_request = Spread::of(runs.iter().map(|r| r.first_request_ms).collect())
        .ok_or_else(|| anyhow::anyhow!("no emergency was measured"))?;
    let all_handed_alone = of_kind("alone", |r| r.all_handed_ms);
    let all_handed_during_notice = of_kind("during_notice", |r| r.all_handed_ms);
    let all_handed_ratio = match (&all_handed_alone, &all_handed_during_notice) {
        (Some(alone), Some(during)) => Some(during.p50 / alone.p50.max(1e-9)),
        _ => None,
    };
    let mix = format!(
        "LINE {}%, email {}%, push {}%",
        line_cut,
        100 - email_from,
        push_n
    );
    Ok(EmergencyBenchReport {
        residents: options.residents,
        backend,
        area,
        mix,
        non_default,
        insert_residents_ms,
        warm_up_ms,
        meets_first_request_aim: first_request.p95 <= 100.0,
        meets_all_handed_aim: runs.iter().all(|r| r.all_handed_ms <= 10_000.0),
        meets_capacity_aim: channel_ratios
            .iter()
            .all(|c| c.ratio.is_none_or(|ratio| ratio >= 0.5)),
        first_request_alone: of_kind("alone", |r| r.first_request_ms),
        first_request_during_notice: of_kind("during_notice", |r| r.first_request_ms),
        first_request,
        all_handed_alone,
        all_handed_during_notice,
        all_handed_ratio,
        runs,
        raw,
        channels: channel_ratios,
        line_violations: line.violations().len(),
        push_rejected: push.stats().rejected,
    })
}

/// The stand-ins an emergency is measured at.
struct StandIns<'a> {
    line: &'a channels::testing::LineMock,
    smtp: &'a SmtpSink,
    push: &'a channels::testing::PushStandIn,
}

/// A notice to every resident on every channel; once it is being sent, the emergency. The notice's deliveries
/// still pending after the emergency are then set aside (failed, `bench: set aside`), so the next "alone" run is
/// alone.
async fn during_notice(
    client: &reqwest::Client,
    base: &str,
    db: &crate::db::Db,
    stand_ins: &StandIns<'_>,
    districts: &Option<Vec<String>>,
    title: &str,
) -> anyhow::Result<Run> {
    let notice = serde_json::json!({
        "title": format!("{title}のお知らせ"),
        "body": {"ja": "行橋市からのお知らせです。", "en": "A notice from Yukuhashi City."},
        "segment": "",
        "channels": ["line", "email", "push"],
        "send_at": null,
        "ignore_quiet_hours": true
    });
    let created: serde_json::Value = client
        .post(format!("{base}/api/notices"))
        .bearer_auth(ADMIN)
        .json(&notice)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let notice_id = created["id"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no notice id in {created}"))?;
    let waited = Instant::now();
    let pending_at_trigger = loop {
        let view = notice_view(client, base, notice_id).await?;
        let sent = view["totals"]["sent"].as_i64().unwrap_or(0);
        if view["fire_count"].as_i64().unwrap_or(0) > 0 && sent > 0 {
            break view["totals"]["pending"].as_i64().unwrap_or(0);
        }
        if waited.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("the notice did not start within 10 minutes: {view}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut run = emergency(
        client,
        base,
        db,
        stand_ins,
        districts,
        title,
        "during_notice",
    )
    .await?;
    let pending_after = notice_view(client, base, notice_id).await?["totals"]["pending"]
        .as_i64()
        .unwrap_or(0);
    sqlx::query(
        "UPDATE deliveries SET status = 'failed', error = 'bench: set aside' \
         WHERE source_kind = 'notice' AND source_id = $1 AND status = 'pending'",
    )
    .bind(notice_id)
    .execute(&db.pool)
    .await?;
    // What was in flight of the notice finishes before the next run.
    tokio::time::sleep(Duration::from_millis(500)).await;
    run.notice_pending_at_trigger = Some(pending_at_trigger);
    run.notice_pending_after = Some(pending_after);
    Ok(run)
}

async fn notice_view(
    client: &reqwest::Client,
    base: &str,
    id: i64,
) -> anyhow::Result<serde_json::Value> {
    Ok(client
        .get(format!("{base}/api/notices/{id}"))
        .bearer_auth(ADMIN)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

fn ms_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_microseconds().unwrap_or(0) as f64 / 1000.0
}

/// Triggers one emergency and measures it at the stand-ins.
async fn emergency(
    client: &reqwest::Client,
    base: &str,
    db: &crate::db::Db,
    stand_ins: &StandIns<'_>,
    districts: &Option<Vec<String>>,
    title: &str,
    kind: &'static str,
) -> anyhow::Result<Run> {
    let body = serde_json::json!({
        "title": title,
        "body": {"ja": "避難指示を発令しました。直ちに避難してください。", "en": "Evacuate now."},
        "districts": districts,
        "severity": "extreme",
    });
    let t0 = Utc::now();
    let created: serde_json::Value = client
        .post(format!("{base}/api/emergencies"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let trigger_answered_ms = ms_between(t0, Utc::now());
    let id = created["id"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no emergency id in {created}"))?;
    let waited = Instant::now();
    let progress = loop {
        let progress: serde_json::Value = client
            .get(format!("{base}/api/emergencies/{id}"))
            .bearer_auth(ADMIN)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if progress["done"] == true {
            break progress;
        }
        if waited.elapsed() > Duration::from_secs(1800) {
            anyhow::bail!("the emergency was not delivered within 30 minutes: {progress}");
        }
        // Not too often: each look counts the emergency's rows, CPU the hub would rather spend sending (the
        // figures themselves come from the stand-ins' timestamps).
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // What of this emergency reached the stand-ins, and when.
    let keys_of = |channel: &'static str| {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM deliveries WHERE source_kind = 'emergency' AND source_id = $1 AND channel = $2",
        )
        .bind(id)
        .bind(channel)
        .fetch_all(&db.pool)
    };
    let email_keys: HashSet<Uuid> = keys_of("email")
        .await?
        .into_iter()
        .map(delivery_key)
        .collect();
    let push_topics: HashSet<String> = keys_of("push")
        .await?
        .into_iter()
        .map(|row| delivery_key(row).simple().to_string())
        .collect();
    let line_keys: HashSet<String> = sqlx::query(
        "SELECT DISTINCT b.retry_key FROM delivery_batches b JOIN deliveries d ON d.batch_id = b.id \
         WHERE d.source_kind = 'emergency' AND d.source_id = $1",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|row| row.try_get::<String, _>("retry_key"))
    .collect::<Result<_, _>>()?;
    let first_rows_ms: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(d.created_at_ms) - MIN(e.created_at_ms) FROM deliveries d JOIN emergencies e \
         ON e.id = d.source_id WHERE d.source_kind = 'emergency' AND d.source_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await?;
    let broadcast_key = super::fanout::broadcast_key(id).to_string();
    let line_times: Vec<DateTime<Utc>> = stand_ins
        .line
        .accepted()
        .into_iter()
        .filter(|request| {
            request
                .retry_key
                .as_ref()
                .is_some_and(|k| line_keys.contains(k) || *k == broadcast_key)
        })
        .map(|request| request.at)
        .collect();
    let email_times: Vec<DateTime<Utc>> = stand_ins
        .smtp
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(_, message_id)| {
            message_id
                .trim_start_matches('<')
                .split('@')
                .next()
                .and_then(|k| Uuid::parse_str(k).ok())
                .is_some_and(|k| email_keys.contains(&k))
        })
        .map(|(at, _)| *at)
        .collect();
    let push_times: Vec<DateTime<Utc>> = stand_ins
        .push
        .received()
        .into_iter()
        .filter(|push| push.topic.as_ref().is_some_and(|t| push_topics.contains(t)))
        .map(|push| push.at)
        .collect();
    let handed = |times: &[DateTime<Utc>]| times.iter().max().map(|last| ms_between(t0, *last));
    let all: Vec<DateTime<Utc>> = line_times
        .iter()
        .chain(&email_times)
        .chain(&push_times)
        .copied()
        .collect();
    // No request at a stand-in is a failed run, not a fast one.
    let (Some(first), Some(last)) = (all.iter().min(), all.iter().max()) else {
        anyhow::bail!(
            "emergency {id} ({kind}): no request of it reached a stand-in (progress: {progress})"
        );
    };
    let rows = |channel: &str| {
        progress["counts"][channel]["targeted"]
            .as_i64()
            .unwrap_or(0)
    };
    Ok(Run {
        emergency_id: id,
        kind,
        residents_targeted: progress["targeted_residents"].as_i64().unwrap_or(0),
        line_rows: rows("line"),
        email_rows: rows("email"),
        push_rows: rows("push"),
        line_requests: line_times.len(),
        smtp_messages: email_times.len(),
        push_messages: push_times.len(),
        trigger_answered_ms,
        first_request_ms: ms_between(t0, *first),
        all_handed_ms: ms_between(t0, *last),
        line_handed_ms: handed(&line_times),
        email_handed_ms: handed(&email_times),
        push_handed_ms: handed(&push_times),
        first_rows_ms,
        hub_first_sent_ms: progress["first_sent_ms"].as_i64(),
        hub_all_sent_ms: progress["all_sent_ms"].as_i64(),
        failed: progress["totals"]["failed"].as_i64().unwrap_or(0),
        notice_pending_at_trigger: None,
        notice_pending_after: None,
    })
}
