//! Staff accounts for the console: argon2id password hashes, a throttle on failed logins per client (see
//! [`super::login_guard`]), browser sessions with a CSRF token each.
//!
//! A session cookie holds 32 random bytes; the database keeps only their SHA-256 (the same reasoning as API
//! tokens: a random secret needs no slow hash). Passwords are hashed with argon2id (the crate's defaults,
//! m=19 MiB, t=2, p=1) off the async threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::http::HeaderMap;
use rand::RngCore;
use sqlx::Row;
use subtle::ConstantTimeEq;

use super::login_guard::{self, Busy, HashGate};
use crate::auth::{Role, Staff, hash_token};
use crate::db::{Db, now_ms};

/// How long a session lasts from login (a working day).
pub const SESSION_MS: i64 = 8 * 60 * 60 * 1000;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "hub_session";
/// The header the console's fetch() calls carry the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the username {0} is already taken")]
    Taken(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A username: 1 to 64 characters of letters, digits, `.`, `_`, `-` (what a cookie-free log line can show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Username, AccountError> {
        let text = text.trim();
        let ok = !text.is_empty()
            && text.chars().count() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if ok {
            Ok(Username(text.to_owned()))
        } else {
            Err(AccountError::Invalid {
                field: "username",
                message: "the username must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`"
                    .into(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 10 to 256 characters. Never logged, never stored.
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(text: &str) -> Result<NewPassword, AccountError> {
        let count = text.chars().count();
        if !(10..=256).contains(&count) {
            return Err(AccountError::Invalid {
                field: "password",
                message: "the password must be 10 to 256 characters".into(),
            });
        }
        Ok(NewPassword(text.to_owned()))
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The PHC string of an argon2id hash with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AccountError::Hash(error.to_string()))
}

pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash to verify against when the username does not exist, so that a missing account takes as long as a
/// wrong password (no username probing by timing).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password at all").unwrap_or_default())
}

/// Creates a staff account; 409-worthy [`AccountError::Taken`] when the username exists.
pub async fn create_user(
    db: &Db,
    username: &Username,
    role: Role,
    password: NewPassword,
) -> Result<(), AccountError> {
    let phc = tokio::task::spawn_blocking(move || hash_password(&password.0))
        .await
        .map_err(|error| AccountError::Hash(error.to_string()))??;
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO staff_users (username, password_hash, role, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (username) DO NOTHING",
    )
    .bind(username.as_str())
    .bind(phc)
    .bind(role.as_str())
    .bind(now)
    .execute(&db.pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AccountError::Taken(username.as_str().to_owned()));
    }
    Ok(())
}

/// What a login attempt came to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in: the cookie value (shown once) and the staff member.
    Ok { session: String, staff: Staff },
    /// Wrong username or password (the two are not told apart).
    Wrong,
    /// This client failed too often (for this name or at all): refused without checking the password until
    /// the given time. Unknown names are throttled exactly like real ones.
    Throttled { until_ms: i64 },
    /// Too many attempts are being checked at once (the password hash is memory-hard): try again shortly.
    Busy,
}

/// Checks a username and password from `client`: a throttled client is refused first; the hash runs behind the
/// [`HashGate`] (against a dummy hash for an unknown name, so both take as long); a failure counts against the
/// client; a success opens a session.
#[tracing::instrument(skip(db, gate, password))]
pub async fn login(
    db: &Db,
    gate: &HashGate,
    client: &str,
    username: &str,
    password: &str,
) -> Result<LoginOutcome, AccountError> {
    let username = username.trim();
    let now = now_ms();
    if let Some(until_ms) = login_guard::throttled_until(db, client, username, now).await? {
        metrics::counter!("hub_login_refused_total", "reason" => "throttled").increment(1);
        return Ok(LoginOutcome::Throttled { until_ms });
    }
    let row = sqlx::query("SELECT id, password_hash, role FROM staff_users WHERE username = $1")
        .bind(username)
        .fetch_optional(&db.pool)
        .await?;
    let phc = match &row {
        Some(row) => row.try_get::<String, _>("password_hash")?,
        None => dummy_hash().to_owned(),
    };
    let attempt = password.to_owned();
    let good = match gate.run(move || verify_password(&attempt, &phc)).await {
        Ok(good) => good,
        Err(Busy) => return Ok(LoginOutcome::Busy),
    };
    let now = now_ms();
    let Some(row) = row.filter(|_| good) else {
        login_guard::record_failure(db, client, username, now).await?;
        return Ok(LoginOutcome::Wrong);
    };
    let id: i64 = row.try_get("id")?;
    let role: String = row.try_get("role")?;
    let role = Role::parse(&role).ok_or_else(|| AccountError::Invalid {
        field: "role",
        message: format!("unknown role {role}"),
    })?;
    let session = random_secret();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO staff_sessions (id_hash, user_id, csrf_token, created_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(&session))
    .bind(id)
    .bind(random_secret())
    .bind(now)
    .bind(now + SESSION_MS)
    .execute(&mut *tx)
    .await?;
    // Expired sessions go when someone logs in: no background task needed for a table this small.
    sqlx::query("DELETE FROM staff_sessions WHERE expires_at_ms < $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    login_guard::record_success(db, client, username, now).await?;
    Ok(LoginOutcome::Ok {
        session,
        staff: Staff {
            name: username.trim().to_owned(),
            role,
        },
    })
}

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
         WHERE s.id_hash = $1 AND s.expires_at_ms > $2",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let first = hash_password("correct horse battery").expect("hash");
        let second = hash_password("correct horse battery").expect("hash");
        assert!(first.starts_with("$argon2id$"), "{first}");
        assert_ne!(first, second, "a fresh salt each time");
        assert!(!first.contains("correct horse"));
        assert!(verify_password("correct horse battery", &first));
        assert!(!verify_password("correct horse batterY", &first));
    }

    #[test]
    fn usernames_and_passwords_parse() {
        assert!(Username::parse("yamada.pr").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("long enough pw").is_ok());
    }

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
