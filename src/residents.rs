//! Residents: the profile the city keeps (what they told it) and the addresses it reaches them at.
//!
//! Input arrives as [`ResidentInput`] (JSON from the API or a CSV row) and becomes a [`Resident`] only through
//! [`ResidentInput::validate`], so everything stored has been checked against the city's lists.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use channels::line::LineUserId;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Row};

use crate::db::{
    Backend, Db, anonymous_value_list, anonymous_value_rows, now_ms, value_list, value_rows,
};
use crate::error::ApiError;
use crate::text::normalize_label;

/// Where a chat question came from (the chat log's `channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatChannel {
    Line,
    Webchat,
}

impl ChatChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatChannel::Line => "line",
            ChatChannel::Webchat => "webchat",
        }
    }
}

/// A chat sender's id as stored: a hash, so the log does not keep LINE user ids.
pub fn sender_hash(channel: ChatChannel, id: &str) -> String {
    let digest = Sha256::digest(format!("{}:{id}", channel.as_str()).as_bytes());
    hex::encode(&digest[..12])
}

/// The channels a resident can be reached on.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Line,
    Email,
    Push,
    Webchat,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 4] = [
        ChannelKind::Line,
        ChannelKind::Email,
        ChannelKind::Push,
        ChannelKind::Webchat,
    ];
    /// The order used when a resident names no preference.
    pub const DEFAULT_PREFERENCE: [ChannelKind; 3] =
        [ChannelKind::Line, ChannelKind::Push, ChannelKind::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Line => "line",
            ChannelKind::Email => "email",
            ChannelKind::Push => "push",
            ChannelKind::Webchat => "webchat",
        }
    }
}

impl FromStr for ChannelKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ChannelKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not a channel (line, email, push, webchat)"))
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Languages residents may choose; `ja-easy` is やさしい日本語.
pub const LANGUAGES: [&str; 6] = ["ja", "en", "zh", "ko", "vi", "ja-easy"];

/// The city's own id for a resident (from its resident register), never shown to other residents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the external id is empty".into());
        }
        if text.chars().count() > 64 {
            return Err("the external id is longer than 64 characters".into());
        }
        if text.chars().any(|c| c.is_control() || c == '/') {
            return Err("the external id contains a control character or `/`".into());
        }
        Ok(ExternalId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A district from the city's configured list (compared after NFKC, so full-width input matches).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct District(String);

impl District {
    pub fn parse(text: &str, districts: &[String]) -> Result<Self, String> {
        let label = normalize_label(text);
        if districts.contains(&label) {
            Ok(District(label))
        } else {
            Err(format!(
                "`{text}` is not one of the city's districts ({})",
                districts.join(", ")
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, checked enough to refuse what cannot be delivered (no `@`, spaces, no domain).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err(format!("`{text}` is not an email address: it has no `@`"));
        };
        let plausible = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && !domain.contains('@')
            && text.len() <= 254;
        if plausible {
            Ok(EmailAddress(text.to_owned()))
        } else {
            Err(format!("`{text}` is not a valid email address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A browser's Web Push subscription (the JSON `PushSubscription.toJSON()` gives).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushSubscription {
    pub endpoint: String,
    pub keys: PushKeys,
    #[serde(default, rename = "expirationTime", skip_serializing)]
    pub expiration_time: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

impl PushSubscription {
    /// Whether the hub may call this endpoint (the allow-list of push services, public addresses only; no
    /// network): checked wherever a subscription is stored, and again before every send.
    pub fn check_endpoint(
        &self,
        policy: &channels::push::endpoint::EndpointPolicy,
    ) -> Result<(), channels::push::endpoint::EndpointError> {
        policy.check(&self.endpoint).map(|_| ())
    }

    fn check(&self) -> Result<(), (String, String)> {
        if !(self.endpoint.starts_with("https://") || self.endpoint.starts_with("http://")) {
            return Err((
                "channels.push.endpoint".into(),
                "the push endpoint must be an http(s) URL".into(),
            ));
        }
        let base64url = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
        };
        if !base64url(&self.keys.p256dh) {
            return Err((
                "channels.push.keys.p256dh".into(),
                "p256dh must be base64url".into(),
            ));
        }
        if !base64url(&self.keys.auth) {
            return Err((
                "channels.push.keys.auth".into(),
                "auth must be base64url".into(),
            ));
        }
        Ok(())
    }
}

/// What a client sends to create or update a resident.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidentInput {
    pub external_id: String,
    /// `YYYY-MM-DD`
    #[serde(default)]
    pub birth_date: Option<String>,
    #[serde(default)]
    pub district: Option<String>,
    /// ja, en, zh, ko, vi or ja-easy (やさしい日本語); Japanese when absent.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub interests: Vec<String>,
    #[serde(default)]
    pub channels: ChannelsInput,
    /// Channels in the order the resident prefers them for notices.
    #[serde(default)]
    pub preferred: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelsInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSubscription>,
}

/// A checked resident, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Resident {
    pub external_id: ExternalId,
    pub birth_date: Option<NaiveDate>,
    pub district: Option<District>,
    pub language: String,
    pub interests: Vec<String>,
    pub line: Option<LineUserId>,
    pub email: Option<EmailAddress>,
    pub push: Option<PushSubscription>,
    pub preferred: Vec<ChannelKind>,
}

/// A validation failure: which field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::bad_request(error.field, error.message)
    }
}

/// Today in the city's time zone: birth dates in the future are refused against this.
pub fn today_in_japan() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .date_naive()
}

pub fn parse_birth_date(text: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date written YYYY-MM-DD"))?;
    if date > today {
        return Err(format!("the birth date {date} is in the future"));
    }
    if date.year_ce().1 < 1880 {
        return Err(format!("the birth date {date} is too far in the past"));
    }
    Ok(date)
}

use chrono::Datelike;

pub fn parse_language(text: &str) -> Result<String, String> {
    let code = text.trim().to_ascii_lowercase();
    if LANGUAGES.contains(&code.as_str()) {
        Ok(code)
    } else {
        Err(format!(
            "`{text}` is not a supported language ({})",
            LANGUAGES.join(", ")
        ))
    }
}

pub fn parse_interests<'a>(
    items: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, String> {
    let mut interests: Vec<String> = Vec::new();
    for item in items {
        let label = normalize_label(item);
        if label.is_empty() {
            continue;
        }
        if label.chars().count() > 40 {
            return Err(format!(
                "the interest `{label}` is longer than 40 characters"
            ));
        }
        if !interests.contains(&label) {
            interests.push(label);
        }
    }
    Ok(interests)
}

impl ResidentInput {
    pub fn validate(&self, districts: &[String], today: NaiveDate) -> Result<Resident, FieldError> {
        let external_id =
            ExternalId::parse(&self.external_id).map_err(|m| FieldError::new("external_id", m))?;
        let birth_date = non_empty(&self.birth_date)
            .map(|text| parse_birth_date(text, today))
            .transpose()
            .map_err(|m| FieldError::new("birth_date", m))?;
        let district = non_empty(&self.district)
            .map(|text| District::parse(text, districts))
            .transpose()
            .map_err(|m| FieldError::new("district", m))?;
        let language = non_empty(&self.language)
            .map(parse_language)
            .transpose()
            .map_err(|m| FieldError::new("language", m))?
            .unwrap_or_else(|| "ja".to_owned());
        let interests = parse_interests(self.interests.iter().map(String::as_str))
            .map_err(|m| FieldError::new("interests", m))?;
        let line = non_empty(&self.channels.line)
            .map(|text| LineUserId::parse(text.trim()))
            .transpose()
            .map_err(|e| FieldError::new("channels.line", e.to_string()))?;
        let email = non_empty(&self.channels.email)
            .map(EmailAddress::parse)
            .transpose()
            .map_err(|m| FieldError::new("channels.email", m))?;
        if let Some(push) = &self.channels.push {
            push.check()
                .map_err(|(field, message)| FieldError::new(&field, message))?;
        }
        let mut preferred = Vec::new();
        for (index, text) in self.preferred.iter().enumerate() {
            let kind = ChannelKind::from_str(text.trim())
                .map_err(|m| FieldError::new(&format!("preferred[{index}]"), m))?;
            if !preferred.contains(&kind) {
                preferred.push(kind);
            }
        }
        Ok(Resident {
            external_id,
            birth_date,
            district,
            language,
            interests,
            line,
            email,
            push: self.channels.push.clone(),
            preferred,
        })
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.trim().is_empty())
}

/// A resident as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResidentView {
    pub external_id: String,
    pub birth_date: Option<String>,
    pub district: Option<String>,
    pub language: String,
    pub interests: Vec<String>,
    pub channels: ChannelsInput,
    pub preferred: Vec<ChannelKind>,
    /// Addresses that stopped working (a blocked LINE account, a gone push subscription).
    pub inactive_channels: Vec<ChannelKind>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{channel} address {address} already belongs to another resident")]
    AddressTaken {
        channel: ChannelKind,
        address: String,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::AddressTaken { channel, .. } => ApiError {
                status: axum::http::StatusCode::CONFLICT,
                message: error.to_string(),
                field: Some(format!("channels.{channel}")),
                japanese: None,
            },
            StoreError::Database(error) => ApiError::from(error),
        }
    }
}

/// Rows per multi-row statement: well under SQLite's 32,766 parameters and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 500;

/// Creates or updates residents by external id in one transaction: all of them or none.
///
/// `replace_channels` names the channels whose addresses the input is authoritative for: the API replaces all
/// of them, a CSV only those it has columns for (so an import does not drop a resident's Web Push subscription).
pub async fn upsert_many(
    db: &Db,
    residents: &[Resident],
    replace_channels: &[ChannelKind],
) -> Result<Vec<i64>, StoreError> {
    let mut tx = db.begin_write().await?;
    let now = now_ms();
    let mut ids = Vec::with_capacity(residents.len());
    // Every statement below binds its parameters in order: SQLite gets anonymous `?`, whose binding does not
    // grow with the number of parameters (see `db::anonymous_value_rows`).
    let sqlite = db.backend == Backend::Sqlite;
    let rows_sql = |rows: usize, columns: usize| {
        if sqlite {
            anonymous_value_rows(rows, columns)
        } else {
            value_rows(rows, columns)
        }
    };
    let list_sql = |count: usize, start: usize| {
        if sqlite {
            anonymous_value_list(count)
        } else {
            value_list(count, start)
        }
    };
    for chunk in residents.chunks(ROWS_PER_STATEMENT) {
        // Addresses are replaced only for residents that existed before: new ones have none to remove, and
        // PostgreSQL plans a delete against a table that grew inside this transaction badly (stale statistics).
        let existing_sql = format!(
            "SELECT external_id FROM residents WHERE external_id IN ({})",
            list_sql(chunk.len(), 1)
        );
        let mut existing_query = sqlx::query_scalar::<_, String>(AssertSqlSafe(existing_sql));
        for resident in chunk {
            existing_query = existing_query.bind(resident.external_id.as_str().to_owned());
        }
        let existing: std::collections::HashSet<String> = existing_query
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();

        let sql = format!(
            "INSERT INTO residents (external_id, birth_date, district, language, interests, preferred, \
             created_at_ms, updated_at_ms) VALUES {} \
             ON CONFLICT (external_id) DO UPDATE SET birth_date = excluded.birth_date, \
             district = excluded.district, language = excluded.language, interests = excluded.interests, \
             preferred = excluded.preferred, updated_at_ms = excluded.updated_at_ms \
             RETURNING id, external_id",
            rows_sql(chunk.len(), 8)
        );
        let mut insert = sqlx::query(AssertSqlSafe(sql));
        for resident in chunk {
            insert = insert
                .bind(resident.external_id.as_str().to_owned())
                .bind(resident.birth_date.map(|d| d.to_string()))
                .bind(resident.district.as_ref().map(|d| d.as_str().to_owned()))
                .bind(resident.language.clone())
                .bind(json_list(&resident.interests))
                .bind(json_list(&resident.preferred))
                .bind(now)
                .bind(now);
        }
        let rows = insert.fetch_all(&mut *tx).await?;
        let by_external: HashMap<String, i64> = rows
            .iter()
            .map(|row| Ok((row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let chunk_ids: Vec<i64> = chunk
            .iter()
            .map(|r| by_external[r.external_id.as_str()])
            .collect();

        let existing_ids: Vec<i64> = chunk
            .iter()
            .zip(&chunk_ids)
            .filter(|(resident, _)| existing.contains(resident.external_id.as_str()))
            .map(|(_, id)| *id)
            .collect();
        if !replace_channels.is_empty() && !existing_ids.is_empty() {
            let sql = format!(
                "DELETE FROM resident_addresses WHERE resident_id IN ({}) AND channel IN ({})",
                list_sql(existing_ids.len(), 1),
                list_sql(replace_channels.len(), existing_ids.len() + 1)
            );
            let mut delete = sqlx::query(AssertSqlSafe(sql));
            for id in &existing_ids {
                delete = delete.bind(*id);
            }
            for kind in replace_channels {
                delete = delete.bind(kind.as_str());
            }
            delete.execute(&mut *tx).await?;
        }

        let mut addresses: Vec<(i64, ChannelKind, String, Option<String>)> = Vec::new();
        for (resident, id) in chunk.iter().zip(&chunk_ids) {
            if let Some(line) = &resident.line
                && replace_channels.contains(&ChannelKind::Line)
            {
                addresses.push((*id, ChannelKind::Line, line.as_str().to_owned(), None));
            }
            if let Some(email) = &resident.email
                && replace_channels.contains(&ChannelKind::Email)
            {
                addresses.push((*id, ChannelKind::Email, email.as_str().to_owned(), None));
            }
            if let Some(push) = &resident.push
                && replace_channels.contains(&ChannelKind::Push)
            {
                let keys = serde_json::to_string(&push.keys).unwrap_or_default();
                addresses.push((*id, ChannelKind::Push, push.endpoint.clone(), Some(keys)));
            }
        }
        if !addresses.is_empty() {
            let sql = format!(
                "INSERT INTO resident_addresses (resident_id, channel, address, detail, active) VALUES {}",
                rows_sql(addresses.len(), 5)
            );
            let mut insert = sqlx::query(AssertSqlSafe(sql));
            for (id, kind, address, detail) in &addresses {
                insert = insert
                    .bind(*id)
                    .bind(kind.as_str())
                    .bind(address.clone())
                    .bind(detail.clone())
                    .bind(1_i64);
            }
            if let Err(error) = insert.execute(&mut *tx).await {
                return Err(address_conflict(error, &addresses));
            }
        }
        ids.extend(chunk_ids);
    }
    tx.commit().await?;
    Ok(ids)
}

/// Turns a unique-index violation on an address into the error that says which address.
fn address_conflict(
    error: sqlx::Error,
    addresses: &[(i64, ChannelKind, String, Option<String>)],
) -> StoreError {
    let unique = error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation());
    if !unique {
        return StoreError::Database(error);
    }
    let text = error.to_string();
    let culprit = addresses
        .iter()
        .find(|(_, _, address, _)| text.contains(address.as_str()))
        .or(addresses.first());
    match culprit {
        Some((_, channel, address, _)) => StoreError::AddressTaken {
            channel: *channel,
            address: address.clone(),
        },
        None => StoreError::Database(error),
    }
}

fn json_list<T: Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_json_list<T: serde::de::DeserializeOwned>(text: &str) -> Vec<T> {
    serde_json::from_str(text).unwrap_or_default()
}

fn millis_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .to_rfc3339()
}

pub async fn find(db: &Db, external_id: &str) -> Result<Option<ResidentView>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT id, external_id, birth_date, district, language, interests, preferred, created_at_ms, \
         updated_at_ms FROM residents WHERE external_id = $1",
    )
    .bind(external_id)
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let addresses = sqlx::query(
        "SELECT channel, address, detail, active FROM resident_addresses WHERE resident_id = $1",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    let mut channels = ChannelsInput::default();
    let mut inactive_channels = Vec::new();
    for address in addresses {
        let channel: String = address.try_get("channel")?;
        let value: String = address.try_get("address")?;
        let active: i64 = address.try_get("active")?;
        let Ok(kind) = ChannelKind::from_str(&channel) else {
            continue;
        };
        if active == 0 {
            inactive_channels.push(kind);
        }
        match kind {
            ChannelKind::Line => channels.line = Some(value),
            ChannelKind::Email => channels.email = Some(value),
            ChannelKind::Push => {
                let detail: Option<String> = address.try_get("detail")?;
                if let Some(keys) = detail.and_then(|d| serde_json::from_str(&d).ok()) {
                    channels.push = Some(PushSubscription {
                        endpoint: value,
                        keys,
                        expiration_time: None,
                    });
                }
            }
            ChannelKind::Webchat => {}
        }
    }
    Ok(Some(ResidentView {
        external_id: row.try_get("external_id")?,
        birth_date: row.try_get("birth_date")?,
        district: row.try_get("district")?,
        language: row.try_get("language")?,
        interests: parse_json_list(&row.try_get::<String, _>("interests")?),
        channels,
        preferred: parse_json_list(&row.try_get::<String, _>("preferred")?),
        inactive_channels,
        created_at: millis_to_rfc3339(row.try_get("created_at_ms")?),
        updated_at: millis_to_rfc3339(row.try_get("updated_at_ms")?),
    }))
}

/// Forgets a resident: profile and addresses go at once. Returns whether there was one.
pub async fn forget(db: &Db, external_id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM residents WHERE external_id = $1")
        .bind(external_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(id) = id else {
        return Ok(false);
    };
    for statement in FORGET_STATEMENTS {
        sqlx::query(AssertSqlSafe(*statement))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// What forgetting a resident removes or anonymises, in order; later features add their tables here.
const FORGET_STATEMENTS: &[&str] = &[
    // Delivery records stay for the notices' counts, without the address; what was still to send is dropped.
    "UPDATE deliveries SET address = '', address_detail = NULL, \
     status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END, \
     error = CASE WHEN status = 'pending' THEN 'resident asked to be forgotten' ELSE error END \
     WHERE resident_id = $1",
    "DELETE FROM resident_addresses WHERE resident_id = $1",
    // registration: a sign-up waiting for its confirmation keeps the address and the choices.
    "DELETE FROM email_signups WHERE resident_id = $1",
    // Survey answers are the resident's own words: they go with the profile.
    "DELETE FROM survey_line_sessions WHERE resident_id = $1",
    "DELETE FROM survey_answers WHERE resident_id = $1",
    "DELETE FROM residents WHERE id = $1",
];

/// Counts for operations and the console: residents per district (no personal data).
pub async fn count_by_district(db: &Db) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT COALESCE(district, '') AS district, COUNT(*) AS n FROM residents GROUP BY district",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("district")?, row.try_get("n")?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_hash_hides_the_id() {
        let hash = sender_hash(ChatChannel::Line, "U0123456789abcdef0123456789abcdef");
        assert_eq!(hash.len(), 24);
        assert!(!hash.contains("0123456789abcdef0123"));
        assert_ne!(
            hash,
            sender_hash(ChatChannel::Webchat, "U0123456789abcdef0123456789abcdef")
        );
    }

    fn districts() -> Vec<String> {
        crate::config::DEFAULT_DISTRICTS
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn input() -> ResidentInput {
        ResidentInput {
            external_id: "R-1".into(),
            birth_date: Some("1950-04-01".into()),
            district: Some("今元".into()),
            language: Some("ja".into()),
            interests: vec!["介護".into(), "防災".into()],
            channels: ChannelsInput {
                line: Some(format!("U{}", "a".repeat(32))),
                email: Some("taro@example.jp".into()),
                push: None,
            },
            preferred: vec!["line".into(), "email".into()],
        }
    }

    #[test]
    fn valid_input_becomes_a_resident() {
        let resident = input().validate(&districts(), today()).unwrap();
        assert_eq!(resident.district.unwrap().as_str(), "今元");
        assert_eq!(
            resident.preferred,
            vec![ChannelKind::Line, ChannelKind::Email]
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        type Change = Box<dyn Fn(&mut ResidentInput)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "birth_date",
                Box::new(|i| i.birth_date = Some("2099-01-01".into())),
            ),
            (
                "birth_date",
                Box::new(|i| i.birth_date = Some("1990-02-30".into())),
            ),
            ("district", Box::new(|i| i.district = Some("東京".into()))),
            (
                "channels.email",
                Box::new(|i| i.channels.email = Some("taro.example.jp".into())),
            ),
            (
                "channels.line",
                Box::new(|i| i.channels.line = Some("U123".into())),
            ),
            ("language", Box::new(|i| i.language = Some("fr".into()))),
            (
                "preferred[0]",
                Box::new(|i| i.preferred = vec!["fax".into()]),
            ),
            ("external_id", Box::new(|i| i.external_id = " ".into())),
        ];
        for (field, change) in cases {
            let mut bad = input();
            change(&mut bad);
            let error = bad.validate(&districts(), today()).unwrap_err();
            assert_eq!(error.field, field, "{}", error.message);
        }
    }

    #[test]
    fn full_width_district_matches() {
        let district = District::parse(" 今元 ", &districts()).unwrap();
        assert_eq!(district.as_str(), "今元");
    }
}
