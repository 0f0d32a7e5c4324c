//! Staff API tokens and roles.
//!
//! A token is 32 random bytes shown once; the database keeps only its SHA-256 (tokens are random, so a slow
//! password hash adds nothing), looked up by hash and compared again in constant time.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::db::{Db, now_ms};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Reads residents, writes notices.
    Pr,
    /// Triggers and follows emergencies.
    Disaster,
    /// Reads only.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Pr => "pr",
            Role::Disaster => "disaster",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        [Role::Admin, Role::Pr, Role::Disaster, Role::Viewer]
            .into_iter()
            .find(|role| role.as_str() == text)
    }
}

/// The staff member (or machine) behind a request's bearer token.
#[derive(Debug, Clone)]
pub struct Staff {
    pub name: String,
    pub role: Role,
}

impl Staff {
    /// Lets the request through when the caller's role is admin or one of `allowed`; 403 otherwise.
    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if self.role == Role::Admin || allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(self.role.as_str()))
        }
    }
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    use base64::Engine;
    format!(
        "hub_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            // console (issue 7): no bearer token, so a staff session cookie (with its CSRF header on writes).
            return crate::console::staff_from_session(parts, state).await;
        };
        let header = header.to_str().map_err(|_| ApiError::unauthorized())?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        authenticate(&state.db, token)
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}

/// How often a token's `last_used_at_ms` is written (not on every request).
const LAST_USED_EVERY_MS: i64 = 60_000;

pub async fn authenticate(db: &Db, token: &str) -> Result<Option<Staff>, sqlx::Error> {
    let hash = hash_token(token);
    let row = sqlx::query(
        "SELECT id, name, role, token_hash, last_used_at_ms FROM staff_tokens \
         WHERE token_hash = $1 AND revoked_at_ms IS NULL",
    )
    .bind(&hash)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored: String = row.try_get("token_hash")?;
    if !bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
        return Ok(None);
    }
    let now = now_ms();
    let last_used: Option<i64> = row.try_get("last_used_at_ms")?;
    if last_used.is_none_or(|at| at < now - LAST_USED_EVERY_MS) {
        let id: i64 = row.try_get("id")?;
        sqlx::query("UPDATE staff_tokens SET last_used_at_ms = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&db.pool)
            .await?;
    }
    let role: String = row.try_get("role")?;
    Ok(Role::parse(&role).map(|role| Staff {
        name: row.try_get("name").unwrap_or_default(),
        role,
    }))
}

pub async fn create_token(db: &Db, name: &str, role: Role) -> Result<String, sqlx::Error> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO staff_tokens (name, role, token_hash, created_at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(hash_token(&token))
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(token)
}

/// The name the token made from `HUB_ADMIN_TOKEN` carries.
pub const BOOTSTRAP_NAME: &str = "admin (HUB_ADMIN_TOKEN)";

/// What [`bootstrap_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// The token was there already (or was revoked, and stays so).
    Unchanged { revoked: bool },
    /// A new bootstrap token; the ids of the previous bootstrap tokens it revoked.
    Rotated { id: i64, revoked: Vec<i64> },
}

/// Makes `HUB_ADMIN_TOKEN` a working admin token. A start with a different value revokes the previous bootstrap
/// token (rotation); a bootstrap token an admin revoked stays revoked even if the same value is given again.
/// Both changes are audited.
pub async fn bootstrap_admin(db: &Db, token: &str) -> Result<Bootstrap, sqlx::Error> {
    let hash = hash_token(token);
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let existing: Option<Option<i64>> =
        sqlx::query_scalar("SELECT revoked_at_ms FROM staff_tokens WHERE token_hash = $1")
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(revoked_at) = existing {
        tx.commit().await?;
        if revoked_at.is_some() {
            tracing::warn!(
                "HUB_ADMIN_TOKEN names a revoked token: it does not work; set a new one"
            );
        }
        return Ok(Bootstrap::Unchanged {
            revoked: revoked_at.is_some(),
        });
    }
    let revoked: Vec<i64> = sqlx::query_scalar(
        "UPDATE staff_tokens SET revoked_at_ms = $1 WHERE bootstrap = 1 AND revoked_at_ms IS NULL RETURNING id",
    )
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO staff_tokens (name, role, token_hash, created_at_ms, bootstrap) \
         VALUES ($1, $2, $3, $4, 1) RETURNING id",
    )
    .bind(BOOTSTRAP_NAME)
    .bind(Role::Admin.as_str())
    .bind(&hash)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let actor = "HUB_ADMIN_TOKEN (start)";
    for old in &revoked {
        audit_in(
            &mut tx,
            now,
            actor,
            "token.revoke",
            &old.to_string(),
            serde_json::json!({ "reason": "bootstrap token rotated", "replaced_by": id }),
        )
        .await?;
    }
    audit_in(
        &mut tx,
        now,
        actor,
        "token.create",
        &id.to_string(),
        serde_json::json!({ "role": Role::Admin, "bootstrap": true }),
    )
    .await?;
    tx.commit().await?;
    Ok(Bootstrap::Rotated { id, revoked })
}

/// An audit row inside a transaction of this module (the change and its record commit together).
async fn audit_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    at_ms: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    crate::audit::record_in(tx, at_ms, actor, "admin", action, target, detail).await
}

/// A token as staff see it: never its secret or hash.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at_ms: i64,
    /// Last request made with it (to the minute); none yet when null.
    pub last_used_at_ms: Option<i64>,
    /// Set once revoked: the token no longer works.
    pub revoked_at_ms: Option<i64>,
    /// Made from `HUB_ADMIN_TOKEN` at start.
    pub bootstrap: bool,
}

/// Every token, newest first, revoked ones included (they stay for the record).
pub async fn list_tokens(db: &Db) -> Result<Vec<TokenInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, role, created_at_ms, last_used_at_ms, revoked_at_ms, bootstrap \
         FROM staff_tokens ORDER BY id DESC",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let role: String = row.try_get("role")?;
            let bootstrap: i64 = row.try_get("bootstrap")?;
            Ok(TokenInfo {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                // A role this version does not know is shown as the least it could be.
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                created_at_ms: row.try_get("created_at_ms")?,
                last_used_at_ms: row.try_get("last_used_at_ms")?,
                revoked_at_ms: row.try_get("revoked_at_ms")?,
                bootstrap: bootstrap != 0,
            })
        })
        .collect()
}

/// Revokes token `id` at once and audits it as `actor`; `None` when there is no live token with that id.
pub async fn revoke_token(
    db: &Db,
    id: i64,
    actor: &str,
    actor_role: &str,
) -> Result<Option<TokenInfo>, sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "UPDATE staff_tokens SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL \
         RETURNING name, role, bootstrap",
    )
    .bind(now)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.rollback().await?;
        return Ok(None);
    };
    let name: String = row.try_get("name")?;
    let role: String = row.try_get("role")?;
    crate::audit::record_in(
        &mut tx,
        now,
        actor,
        actor_role,
        "token.revoke",
        &id.to_string(),
        serde_json::json!({ "name": name, "role": role }),
    )
    .await?;
    tx.commit().await?;
    Ok(list_tokens(db).await?.into_iter().find(|t| t.id == id))
}
