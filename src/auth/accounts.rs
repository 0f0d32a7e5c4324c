//! Staff accounts for the console: argon2id password hashes, a throttle on failed logins per client (see
//! [`super::login_guard`]), and the login that opens a session ([`super::session`]).
//!
//! Passwords are hashed with argon2id (the crate's defaults, m=19 MiB, t=2, p=1) off the async threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::http::StatusCode;
use rand::RngCore;
use sqlx::Row;

use super::login_guard::{self, Busy, HashGate};
use super::session::SESSION_MS;
use super::{Role, Staff, hash_token};
use crate::db::{Db, now_ms};
use crate::error::ApiError;
use crate::messages::staff::StaffMsg;

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
    // A disabled account is checked like an unknown one (the same hash, the same answer).
    let row = sqlx::query(
        "SELECT id, password_hash, role FROM staff_users WHERE username = $1 AND disabled_at_ms IS NULL",
    )
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

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Invalid { field, message } => {
                let japanese = match field {
                    "username" => StaffMsg::BadUsername.ja(),
                    "password" => StaffMsg::BadPassword.ja(),
                    _ => StaffMsg::InvalidRequest.ja(),
                };
                ApiError::bad_request(field, message).in_japanese(japanese)
            }
            AccountError::Taken(_) => ApiError {
                status: StatusCode::CONFLICT,
                message: error.to_string(),
                field: Some("username".into()),
                japanese: Some(StaffMsg::UsernameTaken.ja().to_owned()),
            },
            AccountError::Hash(_) | AccountError::Db(_) => ApiError::internal(error),
        }
    }
}

/// The unlock behind the API, the console button and `hub staff unlock`: 404 for an unknown account, then the
/// throttle goes and an audit row says who lifted it.
pub async fn unlock_account(
    db: &Db,
    username: &str,
    actor: &str,
    actor_role: &str,
) -> Result<u64, ApiError> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM staff_users WHERE username = $1")
        .bind(username)
        .fetch_optional(&db.pool)
        .await?;
    if exists.is_none() {
        return Err(no_such_staff(username));
    }
    let cleared = login_guard::unlock(db, username, now_ms()).await?;
    crate::audit::record_as(
        db,
        actor,
        actor_role,
        "staff.unlock",
        username,
        serde_json::json!({ "cleared_clients": cleared }),
    )
    .await?;
    Ok(cleared)
}

fn no_such_staff(username: &str) -> ApiError {
    ApiError::not_found(format!("no staff account {username}"))
        .in_japanese(StaffMsg::NoSuchStaff.ja())
}

/// A staff account as the admin's 職員 page lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AccountInfo {
    pub username: String,
    pub role: Role,
    pub created_at_ms: i64,
    /// When an admin disabled it (`null`: it may log in).
    pub disabled_at_ms: Option<i64>,
    /// Clients throttled on it now (failed logins).
    pub throttled_clients: i64,
}

/// Every staff account, by username.
pub async fn list_accounts(db: &Db) -> Result<Vec<AccountInfo>, sqlx::Error> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT username, role, created_at_ms, disabled_at_ms FROM staff_users ORDER BY username",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let username: String = row.try_get("username")?;
        let role: String = row.try_get("role")?;
        let throttled_clients = login_guard::throttled_clients(db, &username, now).await?;
        out.push(AccountInfo {
            role: Role::parse(&role).unwrap_or(Role::Viewer),
            created_at_ms: row.try_get("created_at_ms")?,
            disabled_at_ms: row.try_get("disabled_at_ms")?,
            throttled_clients,
            username,
        });
    }
    Ok(out)
}

/// Disables (`disabled`) or enables an account: a disabled one cannot log in and its sessions end at once.
/// Audited as `staff.disable` / `staff.enable`. An admin cannot disable their own account.
pub async fn set_disabled(
    db: &Db,
    username: &str,
    disabled: bool,
    actor: &Staff,
) -> Result<(), ApiError> {
    if disabled && username == actor.name {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "an admin cannot disable their own account",
        )
        .in_japanese(StaffMsg::CannotDisableSelf.ja()));
    }
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM staff_users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(id) = id else {
        return Err(no_such_staff(username));
    };
    sqlx::query("UPDATE staff_users SET disabled_at_ms = $1, updated_at_ms = $2 WHERE id = $3")
        .bind(disabled.then_some(now))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if disabled {
        sqlx::query("DELETE FROM staff_sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    crate::audit::record_in(
        &mut tx,
        now,
        &actor.name,
        actor.role.as_str(),
        if disabled {
            "staff.disable"
        } else {
            "staff.enable"
        },
        username,
        serde_json::Value::Null,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An admin sets a new password for an account (its owner forgot it): the hash is replaced, the account's
/// sessions end, its login throttle is lifted. Audited as `staff.password` (never the password).
pub async fn reset_password(
    db: &Db,
    username: &str,
    password: NewPassword,
    actor: &Staff,
) -> Result<(), ApiError> {
    let phc = tokio::task::spawn_blocking(move || hash_password(&password.0))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM staff_users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(id) = id else {
        return Err(no_such_staff(username));
    };
    sqlx::query("UPDATE staff_users SET password_hash = $1, updated_at_ms = $2 WHERE id = $3")
        .bind(phc)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM staff_sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    crate::audit::record_in(
        &mut tx,
        now,
        &actor.name,
        actor.role.as_str(),
        "staff.password",
        username,
        serde_json::Value::Null,
    )
    .await?;
    tx.commit().await?;
    login_guard::unlock(db, username, now).await?;
    Ok(())
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
}
