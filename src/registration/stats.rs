//! `GET /api/registrations/stats`: how many residents registered, by district, age band, interest, language
//! and channel, and growth per day: counts only, no personal data.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use sqlx::Row;

use super::{AgeBand, age_on};
use crate::AppState;
use crate::auth::{Role, Staff};
use crate::db::Db;
use crate::error::ApiError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistrationStats {
    /// Residents who completed registration (or came from the city's register), pending ones not counted.
    pub total: i64,
    /// Still signing up: a LINE follower who has not consented, an e-mail address not confirmed.
    pub pending: i64,
    /// 配信停止: no notices (emergencies still reach them).
    pub paused: i64,
    pub by_district: BTreeMap<String, i64>,
    /// `u20`, `20s` … `70s`, `80+`, or `unknown`.
    pub by_age_band: BTreeMap<String, i64>,
    pub by_interest: BTreeMap<String, i64>,
    pub by_language: BTreeMap<String, i64>,
    /// Residents with an active address on each channel.
    pub by_channel: BTreeMap<String, i64>,
    /// How they came: `line`, `email`, `push`, or `staff` (the API or a CSV import).
    pub by_source: BTreeMap<String, i64>,
    /// Registrations per day (JST; the day of consent, else of creation) and the running total.
    pub growth: Vec<DayCount>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayCount {
    pub date: String,
    pub new: i64,
    pub total: i64,
}

const UNKNOWN: &str = "unknown";

/// Counts with one grouped query per breakdown, so the database does the work: at a million residents only the
/// distinct values (districts, interest sets, birth dates, days) come back, not the rows.
pub async fn compute(db: &Db) -> Result<RegistrationStats, sqlx::Error> {
    let today = crate::residents::today_in_japan();
    let mut stats = RegistrationStats {
        total: 0,
        pending: 0,
        paused: 0,
        by_district: BTreeMap::new(),
        by_age_band: BTreeMap::new(),
        by_interest: BTreeMap::new(),
        by_language: BTreeMap::new(),
        by_channel: BTreeMap::new(),
        by_source: BTreeMap::new(),
        growth: Vec::new(),
    };
    let counts = sqlx::query(
        // COUNT, not SUM: PostgreSQL sums BIGINTs as NUMERIC.
        "SELECT COUNT(CASE WHEN pending = 0 THEN 1 END) AS total, COUNT(CASE WHEN pending = 1 THEN 1 END) AS pending, \
         COUNT(CASE WHEN pending = 0 AND notices_paused = 1 THEN 1 END) AS paused FROM residents",
    )
    .fetch_one(&db.pool)
    .await?;
    stats.total = counts.try_get("total")?;
    stats.pending = counts.try_get("pending")?;
    stats.paused = counts.try_get("paused")?;

    for (column, target) in [
        ("COALESCE(district, 'unknown')", &mut stats.by_district),
        ("language", &mut stats.by_language),
        ("COALESCE(registered_via, 'staff')", &mut stats.by_source),
    ] {
        let sql = format!(
            "SELECT {column} AS k, COUNT(*) AS n FROM residents WHERE pending = 0 GROUP BY {column}"
        );
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&db.pool)
            .await?
        {
            target.insert(row.try_get("k")?, row.try_get("n")?);
        }
    }

    // A chosen band counts as chosen; otherwise the band of the birth date today.
    let bands = sqlx::query(
        "SELECT age_band, birth_date, COUNT(*) AS n FROM residents WHERE pending = 0 \
         GROUP BY age_band, birth_date",
    )
    .fetch_all(&db.pool)
    .await?;
    for row in bands {
        let band: Option<String> = row.try_get("age_band")?;
        let birth: Option<String> = row.try_get("birth_date")?;
        let band = band.or_else(|| {
            birth
                .and_then(|b| chrono::NaiveDate::parse_from_str(&b, "%Y-%m-%d").ok())
                .map(|b| AgeBand::of_age(age_on(b, today)).code().to_owned())
        });
        *stats
            .by_age_band
            .entry(band.unwrap_or_else(|| UNKNOWN.into()))
            .or_default() += row.try_get::<i64, _>("n")?;
    }

    let interest_sets = sqlx::query(
        "SELECT interests, COUNT(*) AS n FROM residents WHERE pending = 0 GROUP BY interests",
    )
    .fetch_all(&db.pool)
    .await?;
    for row in interest_sets {
        let n: i64 = row.try_get("n")?;
        let interests: Vec<String> =
            serde_json::from_str(&row.try_get::<String, _>("interests")?).unwrap_or_default();
        for interest in interests {
            *stats.by_interest.entry(interest).or_default() += n;
        }
    }

    // Days in JST: milliseconds shifted by nine hours, whole days since the epoch.
    let days = sqlx::query(
        "SELECT (COALESCE(consent_at_ms, created_at_ms) + 32400000) / 86400000 AS day, COUNT(*) AS n \
         FROM residents WHERE pending = 0 GROUP BY (COALESCE(consent_at_ms, created_at_ms) + 32400000) / 86400000 \
         ORDER BY day",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut total = 0;
    for row in days {
        let day: i64 = row.try_get("day")?;
        let new: i64 = row.try_get("n")?;
        total += new;
        let date = chrono::DateTime::from_timestamp(day * 86_400, 0)
            .unwrap_or_default()
            .date_naive()
            .to_string();
        stats.growth.push(DayCount { date, new, total });
    }

    let channels = sqlx::query(
        "SELECT a.channel AS channel, COUNT(*) AS n FROM resident_addresses a \
         JOIN residents r ON r.id = a.resident_id WHERE a.active = 1 AND r.pending = 0 GROUP BY a.channel",
    )
    .fetch_all(&db.pool)
    .await?;
    for row in channels {
        stats
            .by_channel
            .insert(row.try_get("channel")?, row.try_get("n")?);
    }
    Ok(stats)
}

/// Registration counts for staff (pr, viewer, admin): no personal data.
#[utoipa::path(get, path = "/api/registrations/stats",
    responses((status = 200, body = RegistrationStats), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<RegistrationStats>, ApiError> {
    staff.require(&[Role::Pr, Role::Viewer])?;
    Ok(Json(compute(&state.db).await.map_err(ApiError::internal)?))
}
