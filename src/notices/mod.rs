//! Notices: what PR staff schedule — a title, a body per language, a segment rule, channels, a time or a cron
//! schedule — and how a notice becomes delivery rows when it fires.
//!
//! Input arrives as [`NoticeInput`] and becomes a [`CheckedNotice`] only through [`NoticeInput::check`]: the rule
//! parses against the city's lists, the times parse, and every template renders in every language of the notice.

pub mod api;
pub mod audience;
pub mod quiet;
pub mod scheduler;

pub use quiet::QuietHours;

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Tokyo;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::config::Config;
use crate::db::Db;
use crate::render::{self, NoticeTemplates};
use crate::residents::{ChannelKind, LANGUAGES};

/// Quiet hours in JST: notices wait from 21:00 until 8:00 unless they say otherwise.
pub const QUIET_FROM_HOUR: u32 = 21;
pub const QUIET_UNTIL_HOUR: u32 = 8;

/// What staff send to create or edit a notice.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeInput {
    pub title: String,
    /// The text per language (`ja` required: it is the fallback).
    pub body: BTreeMap<String, String>,
    /// A segment rule (see the segments crate); empty or absent means everyone.
    #[serde(default)]
    pub segment: Option<String>,
    /// Channels the notice may use: line, email, push, webchat.
    pub channels: Vec<String>,
    /// RFC 3339; a time without an offset is read in Asia/Tokyo. Null (and no cron) means now.
    #[serde(default)]
    pub send_at: Option<String>,
    /// A 7-field cron expression (sec min hour day month weekday year) in Asia/Tokyo, for recurring notices.
    #[serde(default)]
    pub cron: Option<String>,
    /// Send during residents' quiet hours (by default 21:00–8:00 JST) too; otherwise each resident's delivery
    /// waits until their quiet hours end.
    #[serde(default)]
    pub ignore_quiet_hours: bool,
    /// The topic (one of the configured interests): residents who opted out of it do not get the notice.
    #[serde(default)]
    pub topic: Option<String>,
    /// Templates per channel overriding the defaults.
    #[serde(default)]
    pub templates: Option<NoticeTemplates>,
}

/// A notice that passed every check.
#[derive(Debug, Clone)]
pub struct CheckedNotice {
    pub title: String,
    pub body: BTreeMap<String, String>,
    pub segment: segments::Rule,
    pub channels: Vec<ChannelKind>,
    pub send_at: Option<DateTime<Utc>>,
    pub cron: Option<CronSchedule>,
    pub ignore_quiet_hours: bool,
    pub templates: NoticeTemplates,
    pub topic: Option<String>,
}

/// Why a notice was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    #[error("segment: {0}")]
    Rule(segments::ParseError),
}

impl NoticeError {
    pub(crate) fn field(field: &str, message: impl Into<String>) -> Self {
        NoticeError::Field {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// A parsed cron expression (cron crate, 7 fields with seconds and years, or 6 without years).
#[derive(Debug, Clone)]
pub struct CronSchedule {
    pub text: String,
    schedule: cron::Schedule,
}

impl CronSchedule {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let fields = text.split_whitespace().count();
        if !(6..=7).contains(&fields) {
            return Err(format!(
                "`{text}` has {fields} fields; write 7: seconds minutes hours day-of-month month day-of-week year \
                 (e.g. `0 0 9 * * Fri *`, Fridays at 9:00 JST)"
            ));
        }
        let schedule = cron::Schedule::from_str(text)
            .map_err(|error| format!("`{text}` is not a cron expression: {error}"))?;
        Ok(CronSchedule {
            text: text.to_owned(),
            schedule,
        })
    }

    /// The first occurrence strictly after `after`, in UTC.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule
            .after(&after.with_timezone(&Tokyo))
            .next()
            .map(|at| at.with_timezone(&Utc))
    }
}

/// `at`, or the next 8:00 JST when `at` falls in the default quiet hours.
pub fn after_quiet_hours(at: DateTime<Utc>) -> DateTime<Utc> {
    QuietHours::default().release(at)
}

/// Parses `send_at`: RFC 3339, or a local time without offset read in Asia/Tokyo.
pub fn parse_send_at(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return Tokyo
                .from_local_datetime(&local)
                .single()
                .map(|at| at.with_timezone(&Utc))
                .ok_or_else(|| format!("`{text}` is not a valid time in Asia/Tokyo"));
        }
    }
    Err(format!(
        "`{text}` is not an RFC 3339 time like 2026-12-04T09:00:00+09:00"
    ))
}

impl NoticeInput {
    /// Checks everything and renders every template once.
    pub fn check(&self, config: &Config, now: DateTime<Utc>) -> Result<CheckedNotice, NoticeError> {
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(NoticeError::field(
                "title",
                "the title must be 1 to 200 characters",
            ));
        }
        if self.body.is_empty() {
            return Err(NoticeError::field(
                "body",
                "the body needs at least the Japanese text: {\"ja\": \"…\"}",
            ));
        }
        let mut body = BTreeMap::new();
        for (language, text) in &self.body {
            if !LANGUAGES.contains(&language.as_str()) {
                return Err(NoticeError::field(
                    &format!("body.{language}"),
                    format!(
                        "`{language}` is not a language residents can choose ({})",
                        LANGUAGES.join(", ")
                    ),
                ));
            }
            if text.trim().is_empty() {
                return Err(NoticeError::field(
                    &format!("body.{language}"),
                    "the text is empty",
                ));
            }
            body.insert(language.clone(), text.trim().to_owned());
        }
        if !body.contains_key("ja") {
            return Err(NoticeError::field(
                "body.ja",
                "the Japanese text is required: residents whose language the notice lacks read it",
            ));
        }
        let options = segments::ParseOptions {
            districts: Some(&config.districts),
            interests: Some(&config.interests),
        };
        let segment = segments::Rule::parse_with(self.segment.as_deref().unwrap_or(""), &options)
            .map_err(NoticeError::Rule)?;
        if self.channels.is_empty() {
            return Err(NoticeError::field(
                "channels",
                "name at least one channel: line, email, push, webchat",
            ));
        }
        let mut channels = Vec::new();
        for (i, name) in self.channels.iter().enumerate() {
            let kind = ChannelKind::from_str(name.trim())
                .map_err(|message| NoticeError::field(&format!("channels[{i}]"), message))?;
            if !channels.contains(&kind) {
                channels.push(kind);
            }
        }
        let send_at = match self.send_at.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let at = parse_send_at(text).map_err(|m| NoticeError::field("send_at", m))?;
                if at < now - chrono::Duration::minutes(5) {
                    return Err(NoticeError::field(
                        "send_at",
                        format!("{text} is in the past; use null to send now"),
                    ));
                }
                Some(at)
            }
        };
        let cron = match self.cron.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let schedule =
                    CronSchedule::parse(text).map_err(|m| NoticeError::field("cron", m))?;
                if schedule.next_after(now).is_none() {
                    return Err(NoticeError::field(
                        "cron",
                        format!("`{text}` has no occurrence in the future"),
                    ));
                }
                Some(schedule)
            }
        };
        let topic = match self.topic.as_deref().map(crate::text::normalize_label) {
            None => None,
            Some(topic) if topic.is_empty() => None,
            Some(topic) if config.interests.contains(&topic) => Some(topic),
            Some(topic) => {
                return Err(NoticeError::field(
                    "topic",
                    format!(
                        "`{topic}` is not one of the topics residents can choose ({})",
                        config.interests.join(", ")
                    ),
                ));
            }
        };
        let templates = self.templates.clone().unwrap_or_default();
        render::check_all(&templates, &channels, title, &body).map_err(|error| {
            NoticeError::Field {
                field: error.field(),
                message: error.to_string(),
            }
        })?;
        Ok(CheckedNotice {
            title: title.to_owned(),
            body,
            segment,
            channels,
            send_at,
            cron,
            ignore_quiet_hours: self.ignore_quiet_hours,
            templates,
            topic,
        })
    }
}

impl CheckedNotice {
    /// When the notice first fires: `send_at` (or now), or the first cron occurrence from then. `None` when a
    /// cron schedule has no future occurrence. Quiet hours are each resident's: the firing writes every
    /// resident's delivery due at the end of their quiet hours (registration, issue 8).
    pub fn first_fire(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = self.send_at.unwrap_or(now).max(now);
        match &self.cron {
            Some(cron) => cron.next_after(start - chrono::Duration::milliseconds(1)),
            None => Some(self.send_at.unwrap_or(now)),
        }
    }
}

/// A stored notice.
#[derive(Debug, Clone)]
pub struct StoredNotice {
    pub id: i64,
    pub title: String,
    pub body: BTreeMap<String, String>,
    pub segment: String,
    pub channels: Vec<ChannelKind>,
    pub templates: NoticeTemplates,
    pub send_at_ms: Option<i64>,
    pub cron: Option<String>,
    pub ignore_quiet_hours: bool,
    pub status: String,
    pub next_fire_ms: Option<i64>,
    pub fire_count: i64,
    pub last_fired_at_ms: Option<i64>,
    pub error: Option<String>,
    pub topic: Option<String>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

pub const NOTICE_COLUMNS: &str = "id, title, body, segment, channels, templates, send_at_ms, cron, \
    ignore_quiet_hours, status, next_fire_ms, fire_count, last_fired_at_ms, error, created_by, created_at_ms, \
    updated_at_ms, topic";

impl StoredNotice {
    pub fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        let decode = |column: &str, error: serde_json::Error| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: Box::new(error),
        };
        let body: String = row.try_get("body")?;
        let channels: String = row.try_get("channels")?;
        let templates: String = row.try_get("templates")?;
        let channel_names: Vec<String> =
            serde_json::from_str(&channels).map_err(|e| decode("channels", e))?;
        Ok(StoredNotice {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            body: serde_json::from_str(&body).map_err(|e| decode("body", e))?,
            segment: row.try_get("segment")?,
            channels: channel_names
                .iter()
                .filter_map(|name| name.parse().ok())
                .collect(),
            templates: serde_json::from_str(&templates).map_err(|e| decode("templates", e))?,
            send_at_ms: row.try_get("send_at_ms")?,
            cron: row.try_get("cron")?,
            ignore_quiet_hours: row.try_get::<i64, _>("ignore_quiet_hours")? != 0,
            status: row.try_get("status")?,
            next_fire_ms: row.try_get("next_fire_ms")?,
            fire_count: row.try_get("fire_count")?,
            last_fired_at_ms: row.try_get("last_fired_at_ms")?,
            error: row.try_get("error")?,
            topic: row.try_get("topic")?,
            created_by: row.try_get("created_by")?,
            created_at_ms: row.try_get("created_at_ms")?,
            updated_at_ms: row.try_get("updated_at_ms")?,
        })
    }
}

pub async fn find(db: &Db, id: i64) -> Result<Option<StoredNotice>, sqlx::Error> {
    let sql = format!("SELECT {NOTICE_COLUMNS} FROM notices WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(StoredNotice::from_row)
        .transpose()
}

fn channel_names(channels: &[ChannelKind]) -> String {
    serde_json::to_string(&channels.iter().map(|c| c.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".into())
}

/// Stores a new notice; returns its id.
pub async fn insert(
    db: &Db,
    notice: &CheckedNotice,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    insert_in(&mut conn, notice, created_by, now).await
}

/// [`insert`] inside the caller's transaction (a survey stores its invitation notice with itself).
pub async fn insert_in(
    conn: &mut sqlx::AnyConnection,
    notice: &CheckedNotice,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let next_fire = notice.first_fire(now);
    let now_ms = now.timestamp_millis();
    sqlx::query_scalar(
        "INSERT INTO notices (title, body, segment, channels, templates, send_at_ms, cron, ignore_quiet_hours, \
         status, next_fire_ms, created_by, created_at_ms, updated_at_ms, topic) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING id",
    )
    .bind(notice.title.clone())
    .bind(to_json(&notice.body))
    .bind(notice.segment.to_string())
    .bind(channel_names(&notice.channels))
    .bind(to_json(&notice.templates))
    .bind(notice.send_at.map(|at| at.timestamp_millis()))
    .bind(notice.cron.as_ref().map(|c| c.text.clone()))
    .bind(i64::from(notice.ignore_quiet_hours))
    .bind(if next_fire.is_some() { "scheduled" } else { "fired" })
    .bind(next_fire.map(|at| at.timestamp_millis()))
    .bind(created_by.to_owned())
    .bind(now_ms)
    .bind(notice.topic.clone())
    .fetch_one(&mut *conn)
    .await
}

/// Replaces a notice that has not fired yet (or a recurring one between firings). `Ok(false)`: too late.
pub async fn update(
    db: &Db,
    id: i64,
    notice: &CheckedNotice,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let next_fire = notice.first_fire(now);
    let result = sqlx::query(
        "UPDATE notices SET title = $1, body = $2, segment = $3, channels = $4, templates = $5, send_at_ms = $6, \
         cron = $7, ignore_quiet_hours = $8, next_fire_ms = $9, updated_at_ms = $10, topic = $12 \
         WHERE id = $11 AND status = 'scheduled' AND (cron IS NOT NULL OR fire_count = 0)",
    )
    .bind(notice.title.clone())
    .bind(to_json(&notice.body))
    .bind(notice.segment.to_string())
    .bind(channel_names(&notice.channels))
    .bind(to_json(&notice.templates))
    .bind(notice.send_at.map(|at| at.timestamp_millis()))
    .bind(notice.cron.as_ref().map(|c| c.text.clone()))
    .bind(i64::from(notice.ignore_quiet_hours))
    .bind(next_fire.map(|at| at.timestamp_millis()))
    .bind(now.timestamp_millis())
    .bind(id)
    .bind(notice.topic.clone())
    .execute(&db.pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Cancels a notice that has not fired yet (or stops a recurring one). `Ok(false)`: nothing to cancel.
pub async fn cancel(db: &Db, id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE notices SET status = 'cancelled', next_fire_ms = NULL, updated_at_ms = $1 \
         WHERE id = $2 AND status = 'scheduled'",
    )
    .bind(now.timestamp_millis())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        parse_send_at(text).expect("a time")
    }

    #[test]
    fn quiet_hours_wait_until_eight_in_tokyo() {
        assert_eq!(
            after_quiet_hours(utc("2026-12-04T22:30:00+09:00")),
            utc("2026-12-05T08:00:00+09:00")
        );
        assert_eq!(
            after_quiet_hours(utc("2026-12-05T03:00:00+09:00")),
            utc("2026-12-05T08:00:00+09:00")
        );
        assert_eq!(
            after_quiet_hours(utc("2026-12-04T21:00:00+09:00")),
            utc("2026-12-05T08:00:00+09:00")
        );
        let day = utc("2026-12-04T20:59:59+09:00");
        assert_eq!(after_quiet_hours(day), day);
        let morning = utc("2026-12-04T08:00:00+09:00");
        assert_eq!(after_quiet_hours(morning), morning);
    }

    #[test]
    fn send_at_without_offset_is_tokyo_time() {
        assert_eq!(
            utc("2026-12-04T09:00:00"),
            utc("2026-12-04T00:00:00Z"),
            "9:00 JST is 0:00 UTC"
        );
        assert!(parse_send_at("next friday").is_err());
    }

    #[test]
    fn cron_runs_in_tokyo_time() {
        let cron = CronSchedule::parse("0 0 9 * * Fri *").expect("cron");
        // Thursday 2026-12-03 12:00 JST → Friday 2026-12-04 09:00 JST.
        let next = cron
            .next_after(utc("2026-12-03T12:00:00+09:00"))
            .expect("next");
        assert_eq!(next, utc("2026-12-04T09:00:00+09:00"));
        assert!(CronSchedule::parse("0 9 * * *").is_err());
        assert!(CronSchedule::parse("0 0 25 * * * *").is_err());
    }
}
