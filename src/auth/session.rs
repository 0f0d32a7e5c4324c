//! Console sessions: the cookie a login sets, the live session behind it, and the CSRF token every change made
//! with it must carry. A session cookie holds 32 random bytes; the database keeps only their SHA-256 (the same
//! reasoning as API tokens: a random secret needs no slow hash).

use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use sqlx::Row;
use subtle::ConstantTimeEq;

use super::{Role, Staff, hash_token};
use crate::db::{Db, now_ms};
use crate::error::ApiError;

/// How long a session lasts from login (a working day).
pub const SESSION_MS: i64 = 8 * 60 * 60 * 1000;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "hub_session";
/// The header the console's fetch() calls carry the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A logged-in staff member and the CSRF token of their session.
#[derive(Debug, Clone)]
pub struct Session {
    pub staff: Staff,
    pub csrf: String,
    id_hash: String,
}

/// The session cookie's value in a request, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The live session behind a cookie value.
pub async fn find_session(db: &Db, cookie: &str) -> Result<Option<Session>, sqlx::Error> {
    let id_hash = hash_token(cookie);
    let row = sqlx::query(
        "SELECT s.id_hash AS id_hash, s.csrf_token AS csrf_token, u.username AS username, u.role AS role \
         FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id \
         WHERE s.id_hash = $1 AND s.expires_at_ms > $2 AND u.disabled_at_ms IS NULL",
    )
    .bind(&id_hash)
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored: String = row.try_get("id_hash")?;
    if !bool::from(stored.as_bytes().ct_eq(id_hash.as_bytes())) {
        return Ok(None);
    }
    let role: String = row.try_get("role")?;
    Ok(Role::parse(&role).map(|role| Session {
        staff: Staff {
            name: row.try_get("username").unwrap_or_default(),
            role,
        },
        csrf: row.try_get("csrf_token").unwrap_or_default(),
        id_hash,
    }))
}

impl Session {
    /// Whether `token` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, token: Option<&str>) -> bool {
        token.is_some_and(|token| {
            !token.is_empty() && bool::from(token.as_bytes().ct_eq(self.csrf.as_bytes()))
        })
    }

    pub async fn end(&self, db: &Db) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1")
            .bind(&self.id_hash)
            .execute(&db.pool)
            .await
            .map(|_| ())
    }
}

/// `Set-Cookie` for a new session (`Secure` when the hub is served over https).
pub fn session_set_cookie(value: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_MS / 1000,
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn session_clear_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The API's fallback when a request has no bearer token: a console session cookie. A request that changes
/// something must also carry the session's CSRF token in `X-CSRF-Token` (a cross-site form cannot set it).
pub async fn staff_from_session(parts: &Parts, db: &Db) -> Result<Staff, ApiError> {
    let cookie = session_cookie(&parts.headers).ok_or_else(ApiError::unauthorized)?;
    let session = find_session(db, cookie)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let token = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok());
        if !session.csrf_matches(token) {
            return Err(csrf_error());
        }
    }
    Ok(session.staff)
}

/// 403 for a change without its session's CSRF token.
pub fn csrf_error() -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN,
        message: "the CSRF token is missing or wrong: reload the page and try again".into(),
        field: Some(CSRF_HEADER.into()),
        japanese: Some(
            crate::messages::staff::StaffMsg::FormExpired
                .ja()
                .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; hub_session=abc; b=2".parse().expect("header"),
        );
        assert_eq!(session_cookie(&headers), Some("abc"));
    }
}
