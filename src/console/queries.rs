//! The SQL behind the console's pages (dashboard, residents, notices), read into plain values the pages render.
//! Other pages read through their feature's own functions (`notices::find`, `outbox::counts`, `audit::recent`).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use chrono_tz::Asia::Tokyo;
use sqlx::Row;

use crate::db::Db;

pub(super) const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Midnight today in Japan, as Unix ms.
fn today_start_jst() -> i64 {
    let today = Utc::now().with_timezone(&Tokyo).date_naive();
    Tokyo
        .from_local_datetime(&today.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(crate::db::now_ms)
}

/// Deliveries created per Japanese day and channel over the last `days` days, and the first day's start.
pub(super) async fn deliveries_by_day(
    db: &Db,
    days: i64,
) -> Result<(i64, BTreeMap<String, Vec<i64>>), sqlx::Error> {
    let start = today_start_jst() - (days - 1) * DAY_MS;
    let rows = sqlx::query(
        "SELECT channel, (created_at_ms - $1) / $2 AS day, COUNT(*) AS n FROM deliveries \
         WHERE created_at_ms >= $1 GROUP BY channel, (created_at_ms - $1) / $2",
    )
    .bind(start)
    .bind(DAY_MS)
    .fetch_all(&db.pool)
    .await?;
    let mut series: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for channel in ["line", "email", "push", "webchat"] {
        series.insert(channel.to_owned(), vec![0; days as usize]);
    }
    for row in rows {
        let channel: String = row.try_get("channel")?;
        let day: i64 = row.try_get("day")?;
        let n: i64 = row.try_get("n")?;
        if let Some(slot) = series
            .entry(channel)
            .or_insert_with(|| vec![0; days as usize])
            .get_mut(day as usize)
        {
            *slot += n;
        }
    }
    Ok((start, series))
}

/// A scheduled notice on the dashboard.
pub(super) struct Upcoming {
    pub id: i64,
    pub title: String,
    pub at_ms: i64,
    pub repeats: bool,
}

/// The next five scheduled notices, soonest first.
pub(super) async fn upcoming_notices(db: &Db) -> Result<Vec<Upcoming>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, title, next_fire_ms, cron FROM notices WHERE status = 'scheduled' \
         AND next_fire_ms IS NOT NULL ORDER BY next_fire_ms LIMIT 5",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut upcoming = Vec::with_capacity(rows.len());
    for row in &rows {
        upcoming.push(Upcoming {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            at_ms: row.try_get("next_fire_ms")?,
            repeats: row.try_get::<Option<String>, _>("cron")?.is_some(),
        });
    }
    Ok(upcoming)
}

/// How the FAQ did with residents' questions.
#[derive(Debug, Default)]
pub(super) struct FaqOutcomes {
    pub answered: i64,
    pub candidates: i64,
    pub missed: i64,
}

/// The chat log's outcomes since `since_ms`.
pub(super) async fn faq_outcomes(db: &Db, since_ms: i64) -> Result<FaqOutcomes, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT outcome, COUNT(*) AS n FROM chat_log WHERE at_ms >= $1 GROUP BY outcome",
    )
    .bind(since_ms)
    .fetch_all(&db.pool)
    .await?;
    let mut outcomes = FaqOutcomes::default();
    for row in &rows {
        let outcome: String = row.try_get("outcome")?;
        let n: i64 = row.try_get("n")?;
        match outcome.as_str() {
            "answered" => outcomes.answered += n,
            "candidates" => outcomes.candidates += n,
            _ => outcomes.missed += n,
        }
    }
    Ok(outcomes)
}

fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A resident in the console's list.
pub(super) struct ResidentRow {
    pub external_id: String,
    pub birth_date: Option<String>,
    pub district: Option<String>,
    pub language: String,
}

/// Residents whose ID contains `q` (literally) in `district` (empty: any), by ID: `limit` of them from `offset`.
pub(super) async fn search_residents(
    db: &Db,
    q: &str,
    district: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<ResidentRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT external_id, birth_date, district, language FROM residents \
         WHERE ($1 = '' OR external_id LIKE $2 ESCAPE '\\') AND ($3 = '' OR district = $3) \
         ORDER BY external_id LIMIT $4 OFFSET $5",
    )
    .bind(q)
    .bind(like_pattern(q))
    .bind(district)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| ResidentRow {
            external_id: row.try_get("external_id").unwrap_or_default(),
            birth_date: row.try_get("birth_date").unwrap_or_default(),
            district: row.try_get("district").unwrap_or_default(),
            language: row.try_get("language").unwrap_or_default(),
        })
        .collect())
}

/// How many residents [`search_residents`] finds in all.
pub(super) async fn search_count(db: &Db, q: &str, district: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM residents \
         WHERE ($1 = '' OR external_id LIKE $2 ESCAPE '\\') AND ($3 = '' OR district = $3)",
    )
    .bind(q)
    .bind(like_pattern(q))
    .bind(district)
    .fetch_one(&db.pool)
    .await
}

pub(super) async fn resident_count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM residents")
        .fetch_one(&db.pool)
        .await
}

/// A notice in the console's calendar or its list of past ones.
pub(super) struct NoticeRow {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub next_fire_ms: Option<i64>,
    pub cron: Option<String>,
    pub segment: String,
    pub last_fired_at_ms: Option<i64>,
}

/// The 200 newest notices.
pub(super) async fn recent_notices(db: &Db) -> Result<Vec<NoticeRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, title, next_fire_ms, cron, status, segment, channels, fire_count, last_fired_at_ms \
         FROM notices ORDER BY id DESC LIMIT 200",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| NoticeRow {
            id: row.try_get("id").unwrap_or_default(),
            title: row.try_get("title").unwrap_or_default(),
            status: row.try_get("status").unwrap_or_default(),
            next_fire_ms: row.try_get("next_fire_ms").unwrap_or_default(),
            cron: row.try_get("cron").unwrap_or_default(),
            segment: row.try_get("segment").unwrap_or_default(),
            last_fired_at_ms: row.try_get("last_fired_at_ms").unwrap_or_default(),
        })
        .collect())
}
