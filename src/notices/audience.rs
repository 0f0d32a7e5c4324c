//! Who gets a notice: the segment rule evaluated on the live snapshot (`audience_index`), the delivery details of
//! the residents in it, and for each of them the one channel and the language their delivery uses.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use segments::RoaringBitmap;
use sqlx::{AssertSqlSafe, Row};

use super::QuietHours;
use crate::db::value_list;
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

/// The reachable residents of one segment.
pub struct Audience {
    pub residents: HashMap<u32, Reachable>,
}

/// Up to this many residents are looked up by id; a larger segment is read in one pass over every resident.
const LOOKUP_BY_ID: u64 = 5_000;
const CHUNK: usize = 500;
const ADDRESSES: &str =
    "SELECT resident_id, channel, address, detail FROM resident_addresses WHERE active = 1";
const RESIDENTS: &str = "SELECT id, language, preferred, notices_paused, muted_topics, \
     quiet_from_min, quiet_until_min FROM residents WHERE pending = 0";

/// Reads the delivery details of the residents in `segment` (evaluated on the live snapshot), inside the caller's
/// transaction. Residents still signing up (`pending`) or forgotten since are left out.
pub async fn reachable(
    conn: &mut sqlx::AnyConnection,
    segment: &RoaringBitmap,
) -> Result<Audience, sqlx::Error> {
    let mut addresses: HashMap<i64, BTreeMap<ChannelKind, (String, Option<String>)>> =
        HashMap::new();
    let mut rows = Vec::new();
    if segment.len() <= LOOKUP_BY_ID {
        let ids: Vec<i64> = segment.iter().map(i64::from).collect();
        for chunk in ids.chunks(CHUNK) {
            let list = value_list(chunk.len(), 1);
            let mut query = sqlx::query(AssertSqlSafe(format!(
                "{ADDRESSES} AND resident_id IN ({list})"
            )));
            for id in chunk {
                query = query.bind(*id);
            }
            add_addresses(&mut addresses, query.fetch_all(&mut *conn).await?, segment)?;
            let mut query = sqlx::query(AssertSqlSafe(format!("{RESIDENTS} AND id IN ({list})")));
            for id in chunk {
                query = query.bind(*id);
            }
            rows.extend(query.fetch_all(&mut *conn).await?);
        }
    } else {
        let found = sqlx::query(ADDRESSES).fetch_all(&mut *conn).await?;
        add_addresses(&mut addresses, found, segment)?;
        rows = sqlx::query(RESIDENTS).fetch_all(&mut *conn).await?;
    }
    let mut residents = HashMap::with_capacity(segment.len() as usize);
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let Some(key) = u32::try_from(id).ok().filter(|key| segment.contains(*key)) else {
            continue;
        };
        let language: String = row.try_get("language")?;
        let preferred: String = row.try_get("preferred")?;
        residents.insert(
            key,
            Reachable {
                id,
                language,
                preferred: serde_json::from_str(&preferred).unwrap_or_default(),
                addresses: addresses.remove(&id).unwrap_or_default(),
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
    Ok(Audience { residents })
}

fn add_addresses(
    addresses: &mut HashMap<i64, BTreeMap<ChannelKind, (String, Option<String>)>>,
    rows: Vec<sqlx::any::AnyRow>,
    segment: &RoaringBitmap,
) -> Result<(), sqlx::Error> {
    for row in rows {
        let id: i64 = row.try_get("resident_id")?;
        if !u32::try_from(id).is_ok_and(|key| segment.contains(key)) {
            continue;
        }
        let channel: String = row.try_get("channel")?;
        let Ok(channel) = ChannelKind::from_str(&channel) else {
            continue;
        };
        addresses
            .entry(id)
            .or_default()
            .insert(channel, (row.try_get("address")?, row.try_get("detail")?));
    }
    Ok(())
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
