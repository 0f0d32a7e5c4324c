//! Who gets a notice: a snapshot of the residents built from the database, the segment rule evaluated over it,
//! and for each resident in the segment the one channel and the language their delivery uses.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::NaiveDate;
use segments::{Profile, Rule, Snapshot};
use sqlx::Row;

use super::QuietHours;
use crate::residents::ChannelKind;

/// A resident as the fan-out needs them.
#[derive(Debug, Clone)]
pub struct Reachable {
    pub id: i64,
    pub language: String,
    pub preferred: Vec<ChannelKind>,
    /// Active addresses: channel → (address, detail).
    pub addresses: BTreeMap<ChannelKind, (String, Option<String>)>,
    /// 配信停止: no notices at all (emergencies do not come through here).
    pub paused: bool,
    /// Topics the resident opted out of.
    pub muted_topics: Vec<String>,
    pub quiet: QuietHours,
}

impl Reachable {
    /// Whether the resident takes a notice on `topic` (any notice when `None`).
    pub fn wants(&self, topic: Option<&str>) -> bool {
        !self.paused && topic.is_none_or(|topic| !self.muted_topics.iter().any(|m| m == topic))
    }
}

/// The residents and their snapshot at one moment.
pub struct Audience {
    pub snapshot: Snapshot,
    pub residents: HashMap<u32, Reachable>,
}

/// The hub stores やさしい日本語 as `ja-easy`; the rule language calls it `easy-ja`.
fn segment_language(language: &str) -> String {
    match language {
        "ja-easy" => "easy-ja".to_owned(),
        other => other.to_owned(),
    }
}

/// Reads every resident and active address (inside the caller's transaction when it has one). Residents still
/// signing up (`pending`: not consented on LINE, e-mail not confirmed) are left out.
pub async fn load(conn: &mut sqlx::AnyConnection) -> Result<Audience, sqlx::Error> {
    let mut addresses: HashMap<i64, BTreeMap<ChannelKind, (String, Option<String>)>> =
        HashMap::new();
    let rows = sqlx::query(
        "SELECT resident_id, channel, address, detail FROM resident_addresses WHERE active = 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let channel: String = row.try_get("channel")?;
        let Ok(channel) = ChannelKind::from_str(&channel) else {
            continue;
        };
        addresses
            .entry(row.try_get("resident_id")?)
            .or_default()
            .insert(channel, (row.try_get("address")?, row.try_get("detail")?));
    }
    let rows = sqlx::query(
        "SELECT id, birth_date, district, language, interests, preferred, notices_paused, muted_topics, \
         quiet_from_min, quiet_until_min FROM residents WHERE pending = 0 ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut profiles = Vec::with_capacity(rows.len());
    let mut residents = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let Ok(key) = u32::try_from(id) else {
            tracing::warn!(id, "resident id beyond the snapshot's range; left out");
            continue;
        };
        let birth_date: Option<String> = row.try_get("birth_date")?;
        let language: String = row.try_get("language")?;
        let interests: String = row.try_get("interests")?;
        let preferred: String = row.try_get("preferred")?;
        let own = addresses.remove(&id).unwrap_or_default();
        profiles.push((
            key,
            Profile {
                birth_date: birth_date.and_then(|d| NaiveDate::from_str(&d).ok()),
                district: row.try_get("district")?,
                language: segment_language(&language),
                interests: serde_json::from_str(&interests).unwrap_or_default(),
                channels: own.keys().map(|c| c.as_str().to_owned()).collect(),
            },
        ));
        residents.insert(
            key,
            Reachable {
                id,
                language,
                preferred: serde_json::from_str(&preferred).unwrap_or_default(),
                addresses: own,
                paused: row.try_get::<i64, _>("notices_paused")? != 0,
                muted_topics: serde_json::from_str(&row.try_get::<String, _>("muted_topics")?)
                    .unwrap_or_default(),
                quiet: QuietHours::from_columns(
                    row.try_get("quiet_from_min")?,
                    row.try_get("quiet_until_min")?,
                ),
            },
        );
    }
    Ok(Audience {
        snapshot: Snapshot::build(profiles),
        residents,
    })
}

/// The channel a notice uses for a resident: the first of their preferred channels (then line, push, email)
/// that the notice uses and they have an active address on. Web chat is not a per-resident channel.
pub fn choose_channel(
    preferred: &[ChannelKind],
    notice_channels: &[ChannelKind],
    has: impl Fn(ChannelKind) -> bool,
) -> Option<ChannelKind> {
    preferred
        .iter()
        .chain(ChannelKind::DEFAULT_PREFERENCE.iter())
        .copied()
        .find(|c| *c != ChannelKind::Webchat && notice_channels.contains(c) && has(*c))
}

/// The language of a resident's delivery: theirs when the notice has it, Japanese otherwise.
pub fn choose_language(resident_language: &str, body: &BTreeMap<String, String>) -> String {
    if body.contains_key(resident_language) {
        resident_language.to_owned()
    } else {
        "ja".to_owned()
    }
}

impl Audience {
    pub fn evaluate(&self, rule: &Rule, date: NaiveDate) -> segments::RoaringBitmap {
        self.snapshot.evaluate(rule, date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_then_default_order() {
        use ChannelKind::*;
        let has_all = |_| true;
        assert_eq!(
            choose_channel(&[], &[Email, Line, Push], has_all),
            Some(Line)
        );
        assert_eq!(
            choose_channel(&[Email], &[Email, Line], has_all),
            Some(Email)
        );
        assert_eq!(
            choose_channel(&[Email], &[Line, Push], |c| c == Push),
            Some(Push)
        );
        assert_eq!(choose_channel(&[Line], &[Email], |c| c == Line), None);
        assert_eq!(choose_channel(&[Webchat], &[Webchat], has_all), None);
    }

    #[test]
    fn language_falls_back_to_japanese() {
        let body: BTreeMap<String, String> = [
            ("ja".to_owned(), "x".to_owned()),
            ("en".to_owned(), "y".to_owned()),
        ]
        .into();
        assert_eq!(choose_language("en", &body), "en");
        assert_eq!(choose_language("vi", &body), "ja");
    }
}
