//! Quiet hours: notices due inside a resident's quiet hours wait until they end (residents choose theirs at
//! registration).

use chrono::{DateTime, TimeZone, Timelike, Utc};
use chrono_tz::Asia::Tokyo;
use serde::{Deserialize, Serialize};

/// A resident's quiet hours in JST, as minutes after midnight: notices due inside them wait until they end.
/// `from == until` means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuietHours {
    pub from_min: u32,
    pub until_min: u32,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            from_min: super::QUIET_FROM_HOUR * 60,
            until_min: super::QUIET_UNTIL_HOUR * 60,
        }
    }
}

impl QuietHours {
    /// From the stored columns: none stored means the default 21:00–8:00.
    pub fn from_columns(from: Option<i64>, until: Option<i64>) -> QuietHours {
        match (from, until) {
            (Some(from), Some(until))
                if (0..1440).contains(&from) && (0..1440).contains(&until) =>
            {
                QuietHours {
                    from_min: from as u32,
                    until_min: until as u32,
                }
            }
            _ => QuietHours::default(),
        }
    }

    pub fn none(self) -> bool {
        self.from_min == self.until_min
    }

    fn contains(self, minute: u32) -> bool {
        if self.from_min < self.until_min {
            (self.from_min..self.until_min).contains(&minute)
        } else if self.from_min > self.until_min {
            minute >= self.from_min || minute < self.until_min
        } else {
            false
        }
    }

    /// `at`, or the end of these quiet hours when `at` falls inside them.
    pub fn release(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&Tokyo);
        let minute = local.hour() * 60 + local.minute();
        if !self.contains(minute) {
            return at;
        }
        let date = if minute < self.until_min {
            local.date_naive()
        } else {
            local.date_naive().succ_opt().unwrap_or(local.date_naive())
        };
        date.and_hms_opt(self.until_min / 60, self.until_min % 60, 0)
            .and_then(|end| Tokyo.from_local_datetime(&end).single())
            .map(|end| end.with_timezone(&Utc))
            .unwrap_or(at)
    }

    /// `HH:MM`.
    pub fn format(minute: u32) -> String {
        format!("{:02}:{:02}", minute / 60, minute % 60)
    }

    pub fn parse_time(text: &str) -> Result<u32, String> {
        let text = text.trim();
        let (h, m) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}` is not a time written HH:MM"))?;
        match (h.parse::<u32>(), m.parse::<u32>()) {
            (Ok(h), Ok(m)) if h < 24 && m < 60 => Ok(h * 60 + m),
            _ => Err(format!("`{text}` is not a time written HH:MM")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        super::super::parse_send_at(text).expect("a time")
    }

    #[test]
    fn quiet_hours_hold_until_their_end() {
        let default = QuietHours::default();
        assert_eq!(
            default.release(utc("2026-12-04T22:30:00+09:00")),
            utc("2026-12-05T08:00:00+09:00")
        );
        assert_eq!(
            default.release(utc("2026-12-05T07:59:00+09:00")),
            utc("2026-12-05T08:00:00+09:00")
        );
        let noon = utc("2026-12-05T12:00:00+09:00");
        assert_eq!(default.release(noon), noon);
        let afternoon = QuietHours {
            from_min: 13 * 60,
            until_min: 14 * 60 + 30,
        };
        assert_eq!(
            afternoon.release(utc("2026-12-05T13:10:00+09:00")),
            utc("2026-12-05T14:30:00+09:00")
        );
        assert_eq!(afternoon.release(noon), noon);
        let none = QuietHours {
            from_min: 0,
            until_min: 0,
        };
        let night = utc("2026-12-05T23:00:00+09:00");
        assert_eq!(none.release(night), night);
        assert_eq!(QuietHours::parse_time("21:00"), Ok(1260));
        assert!(QuietHours::parse_time("24:00").is_err());
    }
}
