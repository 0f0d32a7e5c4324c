//! Residents sign themselves up (issue 8): the LINE dialog, the `/register` page with e-mail double opt-in and
//! Web Push, the preferences page behind a signed link, and counts for staff.
//!
//! What a resident chooses is stored on their `residents` row: district, an age (see [`AgeBand`]), interests,
//! language, topics they opted out of (`muted_topics`), quiet hours, 配信停止 (`notices_paused`) and the consent
//! they gave (time and text version). A resident still in the middle of signing up (`pending = 1`: a LINE
//! follower who has not consented, an e-mail address not yet confirmed) is left out of notices, previews and
//! counts.

mod form;
pub mod line_dialog;
mod pages;
pub mod stats;
mod store;
pub mod web;

use chrono::{Datelike, NaiveDate};
use sqlx::Row;

use crate::db::{Db, now_ms};
pub use crate::links::LinkError;
use crate::messages::{Language, Msg};
/// Quiet hours are a rule of notice delivery; registration lets residents choose theirs.
pub use crate::notices::QuietHours;

/// The registration part of `GET /openapi.json` (merged into the hub's document).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        stats::stats,
        web::register_page,
        web::register,
        web::confirm,
        web::preferences_page,
        web::save_preferences,
        web::delete_everything,
    ),
    components(schemas(stats::RegistrationStats, stats::DayCount))
)]
pub struct RegistrationDoc;

/// The version of the statement residents consent to; stored with the time they agreed.
pub const CONSENT_VERSION: &str = "2026-11-v1";

/// Age bands offered instead of a birth date. The segments' `age` works from birth dates, so a band is stored as
/// the birth date of someone who turns the band's midpoint (rounded up: 25, 35, …, 65, 75; 16 for under 20 and
/// 85 for 80 and over) on the day they chose it. A rule like `age >= 65` then takes in the 60s band, `age >= 70`
/// does not; and the age moves on with time as a real one would. The band itself is kept for the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgeBand {
    Under20,
    Twenties,
    Thirties,
    Forties,
    Fifties,
    Sixties,
    Seventies,
    EightyPlus,
}

impl AgeBand {
    pub const ALL: [AgeBand; 8] = [
        AgeBand::Under20,
        AgeBand::Twenties,
        AgeBand::Thirties,
        AgeBand::Forties,
        AgeBand::Fifties,
        AgeBand::Sixties,
        AgeBand::Seventies,
        AgeBand::EightyPlus,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AgeBand::Under20 => "u20",
            AgeBand::Twenties => "20s",
            AgeBand::Thirties => "30s",
            AgeBand::Forties => "40s",
            AgeBand::Fifties => "50s",
            AgeBand::Sixties => "60s",
            AgeBand::Seventies => "70s",
            AgeBand::EightyPlus => "80+",
        }
    }

    pub fn parse(code: &str) -> Option<AgeBand> {
        AgeBand::ALL.into_iter().find(|band| band.code() == code)
    }

    /// The age a band is stored as (see the type's comment).
    pub fn midpoint(self) -> u32 {
        match self {
            AgeBand::Under20 => 16,
            AgeBand::EightyPlus => 85,
            other => 10 * (other as u32 + 1) + 5,
        }
    }

    pub fn of_age(age: u32) -> AgeBand {
        match age {
            0..=19 => AgeBand::Under20,
            80.. => AgeBand::EightyPlus,
            _ => AgeBand::ALL[(age / 10 - 1) as usize],
        }
    }

    /// The birth date stored for this band when chosen on `today`.
    pub fn birth_date(self, today: NaiveDate) -> NaiveDate {
        let years = self.midpoint() as i32;
        NaiveDate::from_ymd_opt(today.year() - years, today.month(), today.day())
            // 29 February in a year without one.
            .or_else(|| NaiveDate::from_ymd_opt(today.year() - years, 2, 28))
            .unwrap_or(today)
    }

    /// The label in `language`, from the catalogue.
    pub fn label(self, language: Language) -> &'static str {
        language.say(match self {
            AgeBand::Under20 => Msg::AgeUnder20,
            AgeBand::Twenties => Msg::AgeTwenties,
            AgeBand::Thirties => Msg::AgeThirties,
            AgeBand::Forties => Msg::AgeForties,
            AgeBand::Fifties => Msg::AgeFifties,
            AgeBand::Sixties => Msg::AgeSixties,
            AgeBand::Seventies => Msg::AgeSeventies,
            AgeBand::EightyPlus => Msg::AgeEightyPlus,
        })
    }
}

/// Whole years between `birth` and `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// A birth year typed on the web form becomes 1 July of that year (the middle of the year); `None` outside
/// 1900 to this year.
pub fn birth_date_of_year(year: i32, today: NaiveDate) -> Option<NaiveDate> {
    if !(1900..=today.year()).contains(&year) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, 7, 1).unwrap_or(today);
    Some(date.min(today))
}

/// What a resident chose, as the dialog and the preferences page show it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub id: i64,
    pub external_id: String,
    pub district: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub age_band: Option<AgeBand>,
    pub language: String,
    pub interests: Vec<String>,
    pub muted_topics: Vec<String>,
    pub quiet: QuietHours,
    pub paused: bool,
    pub pending: bool,
    pub consented: bool,
}

impl Settings {
    /// The language the resident chose (Japanese when the stored code is unknown).
    pub fn lang(&self) -> Language {
        Language::or_japanese(Some(&self.language))
    }

    /// The band: the one chosen, else the one of the birth date.
    pub fn band(&self) -> Option<AgeBand> {
        self.age_band.or_else(|| {
            self.birth_date
                .map(|birth| AgeBand::of_age(age_on(birth, crate::residents::today_in_japan())))
        })
    }
}

const SETTINGS_COLUMNS: &str = "id, external_id, district, birth_date, age_band, language, interests, \
    muted_topics, quiet_from_min, quiet_until_min, notices_paused, pending, consent_at_ms";

fn settings_of(row: &sqlx::any::AnyRow) -> Result<Settings, sqlx::Error> {
    let list = |column: &str| -> Result<Vec<String>, sqlx::Error> {
        Ok(serde_json::from_str(&row.try_get::<String, _>(column)?).unwrap_or_default())
    };
    let birth: Option<String> = row.try_get("birth_date")?;
    let band: Option<String> = row.try_get("age_band")?;
    Ok(Settings {
        id: row.try_get("id")?,
        external_id: row.try_get("external_id")?,
        district: row.try_get("district")?,
        birth_date: birth.and_then(|b| NaiveDate::parse_from_str(&b, "%Y-%m-%d").ok()),
        age_band: band.as_deref().and_then(AgeBand::parse),
        language: row.try_get("language")?,
        interests: list("interests")?,
        muted_topics: list("muted_topics")?,
        quiet: QuietHours::from_columns(
            row.try_get("quiet_from_min")?,
            row.try_get("quiet_until_min")?,
        ),
        paused: row.try_get::<i64, _>("notices_paused")? != 0,
        pending: row.try_get::<i64, _>("pending")? != 0,
        consented: row.try_get::<Option<i64>, _>("consent_at_ms")?.is_some(),
    })
}

pub async fn settings(db: &Db, id: i64) -> Result<Option<Settings>, sqlx::Error> {
    let sql = format!("SELECT {SETTINGS_COLUMNS} FROM residents WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(settings_of)
        .transpose()
}

/// One change a resident makes (the LINE dialog applies them one tap at a time).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Language(String),
    Consent,
    District(String),
    Age(AgeBand),
    /// Adds the interest when missing, removes it when there.
    ToggleInterest(String),
    Paused(bool),
}

/// Applies one change; `Ok(false)` when the resident is gone.
pub async fn apply(db: &Db, id: i64, change: &Change) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let now = now_ms();
    let query = match change {
        Change::Language(language) => {
            sqlx::query("UPDATE residents SET language = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(language.clone())
        }
        Change::Consent => sqlx::query(
            "UPDATE residents SET consent_at_ms = $2, consent_version = $1, pending = 0, updated_at_ms = $2 \
             WHERE id = $3",
        )
        .bind(CONSENT_VERSION),
        Change::District(district) => {
            sqlx::query("UPDATE residents SET district = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(district.clone())
        }
        Change::Age(band) => sqlx::query(
            "UPDATE residents SET age_band = $1, birth_date = $4, updated_at_ms = $2 WHERE id = $3",
        )
        .bind(band.code()),
        Change::ToggleInterest(interest) => {
            let current: Option<String> =
                sqlx::query_scalar("SELECT interests FROM residents WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(current) = current else {
                return Ok(false);
            };
            let mut interests: Vec<String> = serde_json::from_str(&current).unwrap_or_default();
            if let Some(at) = interests.iter().position(|i| i == interest) {
                interests.remove(at);
            } else {
                interests.push(interest.clone());
            }
            sqlx::query("UPDATE residents SET interests = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(serde_json::to_string(&interests).unwrap_or_else(|_| "[]".into()))
        }
        Change::Paused(paused) => sqlx::query(
            "UPDATE residents SET notices_paused = $1, updated_at_ms = $2 WHERE id = $3",
        )
        .bind(i64::from(*paused)),
    };
    let mut query = query.bind(now).bind(id);
    if let Change::Age(band) = change {
        query = query.bind(
            band.birth_date(crate::residents::today_in_japan())
                .to_string(),
        );
    }
    let updated = query.execute(&mut *tx).await?.rows_affected() == 1;
    tx.commit().await?;
    tracing::info!(resident = id, ?change, updated, "registration change");
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_store_their_midpoint() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        for band in AgeBand::ALL {
            let birth = band.birth_date(today);
            assert_eq!(age_on(birth, today), band.midpoint());
            assert_eq!(AgeBand::of_age(band.midpoint()), band);
            assert_eq!(AgeBand::parse(band.code()), Some(band));
        }
        assert_eq!(AgeBand::Sixties.midpoint(), 65);
        assert_eq!(AgeBand::of_age(64), AgeBand::Sixties);
        assert_eq!(AgeBand::of_age(19), AgeBand::Under20);
        assert_eq!(AgeBand::of_age(93), AgeBand::EightyPlus);
    }
}
