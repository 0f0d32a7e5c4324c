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

pub async fn authenticate(db: &Db, token: &str) -> Result<Option<Staff>, sqlx::Error> {
    let hash = hash_token(token);
    let row = sqlx::query(
        "SELECT name, role, token_hash FROM staff_tokens WHERE token_hash = $1 AND revoked_at_ms IS NULL",
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
    let role: String = row.try_get("role")?;
    Ok(Role::parse(&role).map(|role| Staff {
        name: row.try_get("name").unwrap_or_default(),
        role,
    }))
}

pub async fn create_token(db: &Db, name: &str, role: Role) -> Result<String, sqlx::Error> {
    let token = new_token();
    insert_token(db, name, role, &token).await?;
    Ok(token)
}

async fn insert_token(db: &Db, name: &str, role: Role, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO staff_tokens (name, role, token_hash, created_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(hash_token(token))
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Makes `HUB_ADMIN_TOKEN` a working admin token (once; later starts find it there).
pub async fn bootstrap_admin(db: &Db, token: &str) -> Result<(), sqlx::Error> {
    insert_token(db, "admin (HUB_ADMIN_TOKEN)", Role::Admin, token).await
}
