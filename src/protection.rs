//! Data protection: delivery rows lose their recipient address after `HUB_DELIVERY_RETENTION_DAYS` (a periodic
//! sweep), and `GET /api/residents/{external_id}/export` gives everything the hub holds about one resident as
//! JSON (a resident's request to see their data). The audit log is append-only: the API only reads it and the
//! database refuses updates and deletes (migration 0007).

use std::time::Duration;

use axum::extract::{FromRef, Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sqlx::Row;
use tokio::sync::watch;

use crate::auth::Staff;
use crate::db::{Db, now_ms};
use crate::error::{ApiError, ErrorBody};
use crate::residents::{self, ResidentView};
use crate::residents::{ChatChannel, sender_hash};

/// How often the retention sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Removes the address from finished delivery rows last changed more than `days` ago; returns how many.
/// Pending rows keep theirs: they still have to be sent.
pub async fn sweep(db: &Db, days: u32, now_ms: i64) -> Result<u64, sqlx::Error> {
    let cutoff = now_ms - i64::from(days) * DAY_MS;
    let result = sqlx::query(
        "UPDATE deliveries SET address = '', address_detail = NULL \
         WHERE status <> 'pending' AND updated_at_ms < $1 AND (address <> '' OR address_detail IS NOT NULL)",
    )
    .bind(cutoff)
    .execute(&db.pool)
    .await?;
    Ok(result.rows_affected())
}

/// The periodic sweep: once at start, then every [`SWEEP_EVERY`], until `shutdown`.
pub fn spawn(db: Db, days: u32, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    crate::db::every(
        SWEEP_EVERY,
        shutdown,
        tracing::info_span!("retention"),
        move || {
            let db = db.clone();
            async move {
                match sweep(&db, days, now_ms()).await {
                    Ok(0) => {}
                    Ok(cleared) => {
                        tracing::info!(cleared, days, "delivery addresses past retention removed")
                    }
                    Err(error) => {
                        tracing::warn!(%error, "retention sweep failed; tried again later")
                    }
                }
            }
        },
    )
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedDelivery {
    pub id: i64,
    /// `notice` or `emergency`, and its id.
    pub source_kind: String,
    pub source_id: i64,
    pub channel: String,
    /// Empty once the retention period has passed or the resident was forgotten.
    pub address: String,
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedChat {
    pub at_ms: i64,
    pub channel: String,
    pub question: String,
    pub outcome: String,
    pub entry_id: Option<String>,
    pub helpful: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedAudit {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
}

/// Everything the hub holds about one resident.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResidentExport {
    pub exported_at_ms: i64,
    /// Profile and addresses.
    pub resident: ResidentView,
    pub deliveries: Vec<ExportedDelivery>,
    /// Questions asked on LINE from the resident's LINE account (web chat questions are anonymous).
    pub chat_log: Vec<ExportedChat>,
    /// Staff actions on this resident.
    pub audit: Vec<ExportedAudit>,
}

/// Collects one resident's data; `None` when there is no such resident.
pub async fn export(db: &Db, external_id: &str) -> Result<Option<ResidentExport>, sqlx::Error> {
    let Some(resident) = residents::find(db, external_id).await? else {
        return Ok(None);
    };
    let deliveries = sqlx::query(
        "SELECT d.id, d.source_kind, d.source_id, d.channel, d.address, d.status, d.attempts, d.error, \
         d.created_at_ms, d.updated_at_ms FROM deliveries d JOIN residents r ON r.id = d.resident_id \
         WHERE r.external_id = $1 ORDER BY d.id",
    )
    .bind(external_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(ExportedDelivery {
            id: row.try_get("id")?,
            source_kind: row.try_get("source_kind")?,
            source_id: row.try_get("source_id")?,
            channel: row.try_get("channel")?,
            address: row.try_get("address")?,
            status: row.try_get("status")?,
            attempts: row.try_get("attempts")?,
            error: row.try_get("error")?,
            created_at_ms: row.try_get("created_at_ms")?,
            updated_at_ms: row.try_get("updated_at_ms")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // The chat log keeps a hash of the LINE id, not the id: the resident's current and past LINE addresses lead to it.
    let line_ids: Vec<String> = sqlx::query_scalar(
        "SELECT a.address FROM resident_addresses a JOIN residents r ON r.id = a.resident_id \
         WHERE r.external_id = $1 AND a.channel = 'line'",
    )
    .bind(external_id)
    .fetch_all(&db.pool)
    .await?;
    let mut chat_log = Vec::new();
    for line_id in line_ids {
        let rows = sqlx::query(
            "SELECT at_ms, channel, question, outcome, entry_id, helpful FROM chat_log \
             WHERE sender = $1 ORDER BY at_ms, id",
        )
        .bind(sender_hash(ChatChannel::Line, &line_id))
        .fetch_all(&db.pool)
        .await?;
        for row in rows {
            chat_log.push(ExportedChat {
                at_ms: row.try_get("at_ms")?,
                channel: row.try_get("channel")?,
                question: row.try_get("question")?,
                outcome: row.try_get("outcome")?,
                entry_id: row.try_get("entry_id")?,
                helpful: row.try_get::<Option<i64>, _>("helpful")?.map(|h| h != 0),
            });
        }
    }
    let audit =
        sqlx::query("SELECT at_ms, actor, action FROM audit_log WHERE target = $1 ORDER BY id")
            .bind(external_id)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(ExportedAudit {
                    at_ms: row.try_get("at_ms")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some(ResidentExport {
        exported_at_ms: now_ms(),
        resident,
        deliveries,
        chat_log,
        audit,
    }))
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Db: FromRef<S>,
{
    Router::new().route("/api/residents/{external_id}/export", get(export_resident))
}

/// All data of one resident as JSON: profile, addresses, deliveries, LINE questions, staff actions (admin).
#[utoipa::path(get, path = "/api/residents/{external_id}/export",
    params(("external_id" = String, Path, description = "the city's id for the resident")),
    responses((status = 200, body = ResidentExport), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_resident(
    State(db): State<Db>,
    staff: Staff,
    Path(external_id): Path<String>,
) -> Result<Json<ResidentExport>, ApiError> {
    staff.require(&[])?;
    let export = export(&db, &external_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no resident {external_id}")))?;
    // Looking at a resident's whole record is itself recorded.
    crate::audit::record(
        &db,
        &staff,
        "resident.export",
        &external_id,
        serde_json::Value::Null,
    )
    .await?;
    Ok(Json(export))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(export_resident),
    components(schemas(ResidentExport, ExportedDelivery, ExportedChat, ExportedAudit))
)]
pub struct ProtectionDoc;
