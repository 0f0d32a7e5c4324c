//! The audit log: who changed what, when. Every staff write records one entry.

use serde::Serialize;
use sqlx::Row;

use crate::auth::Staff;
use crate::db::{Db, now_ms};

pub async fn record(
    db: &Db,
    staff: &Staff,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    record_as(db, &staff.name, staff.role.as_str(), action, target, detail).await
}

/// An entry for someone who is not (yet) an authenticated staff member, e.g. a failed console login; `role` is
/// what is known of them (`-` for nobody).
pub async fn record_as(
    db: &Db,
    actor: &str,
    role: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    insert(&db.pool, now_ms(), actor, role, action, target, detail).await
}

/// An entry written inside the caller's transaction, so the change and its record commit (or not) together.
pub async fn record_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    at_ms: i64,
    actor: &str,
    role: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    insert(&mut **tx, at_ms, actor, role, action, target, detail).await
}

/// The one INSERT both kinds of entry use, on a pool or inside a transaction.
async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    at_ms: i64,
    actor: &str,
    role: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at_ms, actor, role, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at_ms)
    .bind(actor)
    .bind(role)
    .bind(action)
    .bind(target)
    .bind(detail.to_string())
    .execute(executor)
    .await?;
    tracing::info!(actor, role, action, subject = target, "audit");
    Ok(())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

pub async fn recent(db: &Db, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT at_ms, actor, role, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let detail: String = row.try_get("detail")?;
            Ok(AuditEntry {
                at_ms: row.try_get("at_ms")?,
                actor: row.try_get("actor")?,
                role: row.try_get("role")?,
                action: row.try_get("action")?,
                target: row.try_get("target")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}
