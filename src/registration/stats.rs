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

pub async fn compute(db: &Db) -> Result<RegistrationStats, sqlx::Error> {
    let today = crate::residents::today_in_japan();
    let rows = sqlx::query(
        "SELECT district, birth_date, age_band, language, interests, notices_paused, registered_via, \
         COALESCE(consent_at_ms, created_at_ms) AS joined_ms FROM residents WHERE pending = 0",
    )
    .fetch_all(&db.pool)
    .await?;
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
    let mut per_day: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows {
        stats.total += 1;
        let district: Option<String> = row.try_get("district")?;
        *stats
            .by_district
            .entry(district.unwrap_or_else(|| UNKNOWN.into()))
            .or_default() += 1;
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
            .or_default() += 1;
        let interests: Vec<String> =
            serde_json::from_str(&row.try_get::<String, _>("interests")?).unwrap_or_default();
        for interest in interests {
            *stats.by_interest.entry(interest).or_default() += 1;
        }
        *stats
            .by_language
            .entry(row.try_get("language")?)
            .or_default() += 1;
        if row.try_get::<i64, _>("notices_paused")? != 0 {
            stats.paused += 1;
        }
        let via: Option<String> = row.try_get("registered_via")?;
        *stats
            .by_source
            .entry(via.unwrap_or_else(|| "staff".into()))
            .or_default() += 1;
        let joined: i64 = row.try_get("joined_ms")?;
        let day = chrono::DateTime::from_timestamp_millis(joined)
            .unwrap_or_default()
            .with_timezone(&chrono_tz::Asia::Tokyo)
            .date_naive()
            .to_string();
        *per_day.entry(day).or_default() += 1;
    }
    let mut total = 0;
    for (date, new) in per_day {
        total += new;
        stats.growth.push(DayCount { date, new, total });
    }
    stats.pending = sqlx::query_scalar("SELECT COUNT(*) FROM residents WHERE pending = 1")
        .fetch_one(&db.pool)
        .await?;
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
