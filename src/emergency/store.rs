//! The `emergencies` table: an alert is a row before anything is sent.
//!
//! [`insert`] resolves an update's or cancellation's references to earlier emergencies, decides whether LINE goes
//! as one broadcast, and writes the row in one transaction (a CAP document posted twice, same `sender` and
//! `identifier`, is one emergency). [`StoredEmergency`] reads it back for the fan-out and the API.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{
    AlertKind, AlertReference, AlertStatus, AlertText, Area, EmergencyAlert, Language,
    LocalizedText, Severity, Urgency,
};
use crate::db::{Db, now_ms};
use crate::error::ApiError;
use crate::residents::District;

/// An emergency as stored.
#[derive(Debug, Clone)]
pub struct StoredEmergency {
    pub id: i64,
    pub kind: AlertKind,
    /// The incident's first alert (itself for an alert): safety answers count for it.
    pub root_id: i64,
    /// The emergencies this update or cancellation is about.
    pub reference_ids: Vec<i64>,
    pub status: AlertStatus,
    pub dry_run: bool,
    pub text: LocalizedText,
    pub area: Option<Area>,
    pub severity: Severity,
    pub urgency: Urgency,
    pub cap_identifier: Option<String>,
    pub triggered_by: String,
    pub created_at_ms: i64,
    pub line_broadcast: bool,
    pub fanned_out_at_ms: Option<i64>,
    pub targeted: Option<i64>,
    pub cancelled_at_ms: Option<i64>,
    pub first_sent_ms: Option<i64>,
    pub all_sent_ms: Option<i64>,
}

pub const COLUMNS: &str = "id, kind, root_id, reference_ids, status, dry_run, text, area, severity, urgency, \
     cap_identifier, triggered_by, created_at_ms, line_broadcast, fanned_out_at_ms, targeted, cancelled_at_ms, \
     first_sent_ms, all_sent_ms";

fn enum_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn parse_enum<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, sqlx::Error> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

/// `NULL` (the referenced alerts' people), `city`, or a JSON list of districts.
pub fn area_text(area: &Option<Area>) -> Option<String> {
    match area {
        None => None,
        Some(Area::WholeCity) => Some("city".to_owned()),
        Some(Area::Districts(list)) => Some(
            serde_json::to_string(&list.iter().map(District::as_str).collect::<Vec<_>>())
                .unwrap_or_else(|_| "[]".into()),
        ),
    }
}

fn parse_area(text: Option<String>) -> Option<Area> {
    match text.as_deref() {
        None => None,
        Some("city") => Some(Area::WholeCity),
        Some(list) => {
            let names: Vec<String> = serde_json::from_str(list).unwrap_or_default();
            // Stored after validation against the city's list: read back as is.
            let known = names.clone();
            Some(Area::Districts(
                names
                    .iter()
                    .filter_map(|name| District::parse(name, &known).ok())
                    .collect(),
            ))
        }
    }
}

fn text_json(text: &LocalizedText) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "{}".into())
}

fn parse_text(json: &str) -> Result<LocalizedText, sqlx::Error> {
    let map: BTreeMap<String, AlertText> =
        serde_json::from_str(json).map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
    let japanese = map
        .get("ja")
        .cloned()
        .ok_or_else(|| sqlx::Error::Protocol("an emergency without Japanese text".into()))?;
    let mut text = LocalizedText::new(japanese);
    for (code, value) in map {
        if let Some(language) = Language::from_code(&code) {
            text = text.with(language, value);
        }
    }
    Ok(text)
}

impl StoredEmergency {
    pub fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        let id: i64 = row.try_get("id")?;
        let root_id: Option<i64> = row.try_get("root_id")?;
        let references: String = row.try_get("reference_ids")?;
        let cap_identifier: Option<String> = row.try_get("cap_identifier")?;
        Ok(StoredEmergency {
            id,
            kind: parse_enum(&row.try_get::<String, _>("kind")?)?,
            root_id: root_id.unwrap_or(id),
            reference_ids: serde_json::from_str(&references).unwrap_or_default(),
            status: parse_enum(&row.try_get::<String, _>("status")?)?,
            dry_run: row.try_get::<i64, _>("dry_run")? != 0,
            text: parse_text(&row.try_get::<String, _>("text")?)?,
            area: parse_area(row.try_get("area")?),
            severity: parse_enum(&row.try_get::<String, _>("severity")?)?,
            urgency: parse_enum(&row.try_get::<String, _>("urgency")?)?,
            cap_identifier,
            triggered_by: row.try_get("triggered_by")?,
            created_at_ms: row.try_get("created_at_ms")?,
            line_broadcast: row.try_get::<i64, _>("line_broadcast")? != 0,
            fanned_out_at_ms: row.try_get("fanned_out_at_ms")?,
            targeted: row.try_get("targeted")?,
            cancelled_at_ms: row.try_get("cancelled_at_ms")?,
            first_sent_ms: row.try_get("first_sent_ms")?,
            all_sent_ms: row.try_get("all_sent_ms")?,
        })
    }

    /// The alert model again, for rendering (`marked_title`).
    pub fn alert(&self) -> EmergencyAlert {
        EmergencyAlert {
            kind: self.kind,
            references: Vec::new(),
            status: self.status,
            dry_run: self.dry_run,
            text: self.text.clone(),
            severity: self.severity,
            urgency: self.urgency,
            area: self.area.clone(),
            cap: None,
        }
    }
}

pub async fn find(db: &Db, id: i64) -> Result<Option<StoredEmergency>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM emergencies WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(|row| StoredEmergency::from_row(&row))
        .transpose()
}

/// The most recent emergencies, newest first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<StoredEmergency>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM emergencies ORDER BY id DESC LIMIT $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(StoredEmergency::from_row)
        .collect()
}

/// An earlier emergency a reference resolved to.
#[derive(Debug, Clone, Copy)]
struct Referenced {
    id: i64,
    root_id: i64,
    dry_run: bool,
    line_broadcast: bool,
}

/// What [`insert`] did.
#[derive(Debug, Clone, Copy)]
pub struct Inserted {
    pub id: i64,
    /// The same CAP document (sender and identifier) was received before: this is its emergency.
    pub duplicate: bool,
}

fn reference_field(alert: &EmergencyAlert, index: usize) -> String {
    if alert.cap.is_some() {
        "/alert/references".to_owned()
    } else {
        format!("references[{index}]")
    }
}

/// Finds the emergency a reference names: a CAP `sender,identifier` (or identifier alone), or the hub's id.
async fn resolve(
    conn: &mut sqlx::AnyConnection,
    reference: &AlertReference,
) -> Result<Option<Referenced>, sqlx::Error> {
    let mut row = None;
    if let Some(sender) = &reference.sender {
        row = sqlx::query(
            "SELECT id, root_id, dry_run, line_broadcast FROM emergencies WHERE cap_key = $1",
        )
        .bind(format!("{sender},{}", reference.identifier))
        .fetch_optional(&mut *conn)
        .await?;
    }
    if row.is_none() {
        row = sqlx::query(
            "SELECT id, root_id, dry_run, line_broadcast FROM emergencies WHERE cap_identifier = $1 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(&reference.identifier)
        .fetch_optional(&mut *conn)
        .await?;
    }
    if row.is_none()
        && let Ok(id) = reference.identifier.parse::<i64>()
    {
        row = sqlx::query(
            "SELECT id, root_id, dry_run, line_broadcast FROM emergencies WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    }
    row.map(|row| {
        let id: i64 = row.try_get("id")?;
        Ok(Referenced {
            id,
            root_id: row.try_get::<Option<i64>, _>("root_id")?.unwrap_or(id),
            dry_run: row.try_get::<i64, _>("dry_run")? != 0,
            line_broadcast: row.try_get::<i64, _>("line_broadcast")? != 0,
        })
    })
    .transpose()
}

/// Writes the emergency row (and, for a cancellation, marks what it cancels). Errors are the API's: 400 for a
/// reference to no known emergency or a drill touching a real alert.
pub async fn insert(
    db: &Db,
    alert: &EmergencyAlert,
    triggered_by: &str,
) -> Result<Inserted, ApiError> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let cap_key: Option<String> = alert
        .cap
        .as_ref()
        .map(|cap| format!("{},{}", cap.sender, cap.identifier));
    if let Some(key) = &cap_key
        && let Some(id) =
            sqlx::query_scalar::<_, i64>("SELECT id FROM emergencies WHERE cap_key = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
    {
        tx.rollback().await?;
        return Ok(Inserted {
            id,
            duplicate: true,
        });
    }
    let mut referenced: Vec<Referenced> = Vec::new();
    for (index, reference) in alert.references.iter().enumerate() {
        let Some(found) = resolve(&mut tx, reference).await? else {
            return Err(ApiError::bad_request(
                reference_field(alert, index),
                format!(
                    "`{}` is not an emergency this hub has received",
                    reference.identifier
                ),
            ));
        };
        if found.dry_run != alert.dry_run {
            return Err(ApiError::bad_request(
                reference_field(alert, index),
                if alert.dry_run {
                    "a drill or test cannot update or cancel a real alert"
                } else {
                    "a real alert cannot update or cancel a drill or test"
                },
            ));
        }
        if !referenced.iter().any(|r| r.id == found.id) {
            referenced.push(found);
        }
    }
    let root_id = referenced.first().map(|r| r.root_id);
    let line_broadcast = !alert.dry_run
        && (matches!(alert.area, Some(Area::WholeCity))
            || referenced.iter().any(|r| r.line_broadcast));
    let reference_ids: Vec<i64> = referenced.iter().map(|r| r.id).collect();
    let references_given: Vec<String> = alert
        .references
        .iter()
        .map(|r| match (&r.sender, &r.sent) {
            (Some(sender), Some(sent)) => {
                format!("{sender},{},{}", r.identifier, sent.to_rfc3339())
            }
            _ => r.identifier.clone(),
        })
        .collect();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO emergencies (kind, root_id, reference_ids, references_given, status, dry_run, text, area, \
         severity, urgency, cap_key, cap_identifier, cap, triggered_by, created_at_ms, line_broadcast) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (cap_key) DO NOTHING RETURNING id",
    )
    .bind(enum_text(&alert.kind))
    .bind(root_id)
    .bind(serde_json::to_string(&reference_ids).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(&references_given).unwrap_or_else(|_| "[]".into()))
    .bind(enum_text(&alert.status))
    .bind(i64::from(alert.dry_run))
    .bind(text_json(&alert.text))
    .bind(area_text(&alert.area))
    .bind(enum_text(&alert.severity))
    .bind(enum_text(&alert.urgency))
    .bind(cap_key)
    .bind(alert.cap.as_ref().map(|cap| cap.identifier.clone()))
    .bind(
        alert
            .cap
            .as_ref()
            .and_then(|cap| serde_json::to_string(cap).ok()),
    )
    .bind(triggered_by)
    .bind(now)
    .bind(i64::from(line_broadcast))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        // The same CAP document, inserted by another request at the same moment.
        tx.rollback().await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM emergencies WHERE cap_key = $1")
            .bind(
                alert
                    .cap
                    .as_ref()
                    .map(|cap| format!("{},{}", cap.sender, cap.identifier)),
            )
            .fetch_one(&db.pool)
            .await?;
        return Ok(Inserted {
            id,
            duplicate: true,
        });
    };
    if alert.kind == AlertKind::Cancel {
        for reference in &referenced {
            sqlx::query(
                "UPDATE emergencies SET cancelled_at_ms = COALESCE(cancelled_at_ms, $1) WHERE id = $2 OR id = $3",
            )
            .bind(now)
            .bind(reference.id)
            .bind(reference.root_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Inserted {
        id,
        duplicate: false,
    })
}
