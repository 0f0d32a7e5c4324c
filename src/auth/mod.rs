//! Authentication in one place: who is behind a request and what they may do.
//!
//! - [`tokens`]: API bearer tokens (machines and staff scripts), the bootstrap admin token, listing and revoking.
//! - [`accounts`]: console accounts, argon2id password hashes and the login that opens a session.
//! - [`login_guard`]: the gate and throttle that keep login from being a weapon.
//! - [`session`]: the console session cookie and its CSRF token.
//! - [`api`]: `/api/staff` (accounts and their unlock).
//!
//! The [`Staff`] extractor takes a bearer token, or else a console session (with its CSRF header on writes). It
//! needs only the database, which it takes from the router's state through [`FromRef`], so this module knows
//! nothing of the wiring's `AppState`.

pub mod accounts;
pub mod api;
pub mod login_guard;
pub mod session;
pub mod tokens;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::error::ApiError;
pub use tokens::{
    BOOTSTRAP_NAME, Bootstrap, TokenInfo, authenticate, bootstrap_admin, create_token, hash_token,
    list_tokens, new_token, revoke_token,
};

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

impl<S> FromRequestParts<S> for Staff
where
    S: Send + Sync,
    Db: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let db = Db::from_ref(state);
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            // console (issue 7): no bearer token, so a staff session cookie (with its CSRF header on writes).
            return session::staff_from_session(parts, &db).await;
        };
        let header = header.to_str().map_err(|_| ApiError::unauthorized())?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        authenticate(&db, token)
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}
