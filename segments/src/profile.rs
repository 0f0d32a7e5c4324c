//! What the hub tells this crate about one resident.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Languages a rule may name (`language = "en"`); a typo such as `"jp"` is a parse error. `ja-easy` is
/// やさしい日本語, the code the hub stores for residents (the parser still reads the old spelling `easy-ja` as it).
pub const KNOWN_LANGUAGES: &[&str] = &["ja", "en", "zh", "ko", "vi", "ja-easy"];

/// The old spelling of `ja-easy` in rules written before one code was used everywhere: read as `ja-easy`.
pub const DEPRECATED_EASY_JAPANESE: &str = "easy-ja";

/// Channels a rule may name (`channels has "line"`).
pub const KNOWN_CHANNELS: &[&str] = &["line", "email", "push", "webchat"];

/// The attributes of one resident that segment rules look at.
///
/// The hub fills it from its database; values are compared exactly as given (the hub
/// stores districts from its own list and languages and channels in lower case).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// `None` when the resident did not give it: such residents never match `age` or `birth_month`.
    pub birth_date: Option<NaiveDate>,
    /// `None` when unknown: such residents never match a `district` comparison.
    pub district: Option<String>,
    /// One of [`KNOWN_LANGUAGES`].
    pub language: String,
    /// Topics the resident follows, e.g. `子育て`, `介護`, `防災`.
    pub interests: Vec<String>,
    /// Channels the resident can be reached on: any of [`KNOWN_CHANNELS`].
    pub channels: Vec<String>,
}

impl Profile {
    /// Age in whole years on `date`, or `None` without a birth date.
    pub fn age_on(&self, date: NaiveDate) -> Option<i64> {
        self.birth_date.map(|birth| age_on(birth, date))
    }
}

/// Whole years from `birth` to `date`: the age goes up on the birthday itself.
///
/// A 29 February birthday goes up on 1 March in common years. Negative for a birth after `date`.
pub fn age_on(birth: NaiveDate, date: NaiveDate) -> i64 {
    let birthday_not_reached = (date.month(), date.day()) < (birth.month(), birth.day());
    i64::from(date.year()) - i64::from(birth.year()) - i64::from(birthday_not_reached)
}

/// The ten-year band an age falls in, as segment summaries and survey results label it: `0-9` … `80-89`, `90+`
/// (`unknown` without a birth date).
pub fn age_band(age: Option<i64>) -> String {
    match age {
        None => "unknown".to_owned(),
        Some(age) if age >= 90 => "90+".to_owned(),
        Some(age) => {
            let youngest = age.max(0) / 10 * 10;
            format!("{youngest}-{}", youngest + 9)
        }
    }
}

/// The calendar date in Asia/Tokyo at `instant`: the date ages are computed for when a notice
/// is sent. Japan keeps UTC+9 all year (no daylight saving), so no time zone database is needed.
pub fn tokyo_date(instant: DateTime<Utc>) -> NaiveDate {
    const JST_SECONDS: i32 = 9 * 3600;
    match FixedOffset::east_opt(JST_SECONDS) {
        Some(jst) => instant.with_timezone(&jst).date_naive(),
        None => instant.date_naive(),
    }
}

/// A date as a number that sorts like the date, with `year` in the high bits, so that
/// "N years earlier" is a subtraction of `N * YEAR_STEP` (the snapshot's age index relies on it).
pub(crate) fn date_key(date: NaiveDate) -> i64 {
    i64::from(date.year()) * YEAR_STEP + i64::from(month_day(date))
}

/// Month and day packed so they sort like dates within a year; always below [`YEAR_STEP`].
pub(crate) fn month_day(date: NaiveDate) -> u16 {
    // month <= 12 and day <= 31, so this is at most 12 * 32 + 31 = 415.
    (date.month() * 32 + date.day()) as u16
}

pub(crate) const YEAR_STEP: i64 = 512;

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn age_goes_up_on_the_birthday() {
        let birth = date(1960, 4, 1);
        assert_eq!(age_on(birth, date(2025, 3, 31)), 64);
        assert_eq!(age_on(birth, date(2025, 4, 1)), 65);
    }

    #[test]
    fn leap_day_birthdays_go_up_on_march_first_in_common_years() {
        let birth = date(2000, 2, 29);
        assert_eq!(age_on(birth, date(2025, 2, 28)), 24);
        assert_eq!(age_on(birth, date(2025, 3, 1)), 25);
        assert_eq!(age_on(birth, date(2024, 2, 29)), 24);
    }

    #[test]
    fn tokyo_date_turns_at_15_00_utc() {
        let before = DateTime::parse_from_rfc3339("2026-03-31T14:59:59Z").expect("valid");
        let after = DateTime::parse_from_rfc3339("2026-03-31T15:00:00Z").expect("valid");
        assert_eq!(tokyo_date(before.to_utc()), date(2026, 3, 31));
        assert_eq!(tokyo_date(after.to_utc()), date(2026, 4, 1));
    }

    #[test]
    fn date_keys_sort_like_dates() {
        assert!(date_key(date(2000, 2, 28)) < date_key(date(2000, 2, 29)));
        assert!(date_key(date(2000, 2, 29)) < date_key(date(2000, 3, 1)));
        assert!(date_key(date(1999, 12, 31)) < date_key(date(2000, 1, 1)));
    }
}
