//! The registration's SQL: a checked profile and consent written onto a resident, a browser registered for Web
//! Push, the e-mail double opt-in (sign-up rows, the confirmation mail through the outbox, the link's check) and
//! the preferences saved. Each change is one transaction.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::form::{Delivery, Profile};
use super::{CONSENT_VERSION, LinkError};
use crate::AppState;
use crate::db::now_ms;
use crate::html::escape;
use crate::links::Links;
use crate::messages::{Language, Msg};
use crate::outbox::{self, NewDelivery, Source, SourceKind};
use crate::render::Rendered;
use crate::residents::{ChannelKind, PushSubscription};

/// How long a confirmation link works.
pub(super) const CONFIRM_DAYS: i64 = 7;
/// A second submission within this time sends no second mail.
const RESEND_AFTER_MS: i64 = 60_000;

/// Writes a checked profile onto a resident (inside the caller's transaction).
async fn write_profile(
    tx: &mut sqlx::AnyConnection,
    resident_id: i64,
    profile: &Profile,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE residents SET district = $1, birth_date = $2, age_band = $3, interests = $4, language = $5, \
         updated_at_ms = $6 WHERE id = $7",
    )
    .bind(profile.district.clone())
    .bind(profile.birth_date.clone())
    .bind(profile.age_band.clone())
    .bind(serde_json::to_string(&profile.interests).unwrap_or_else(|_| "[]".into()))
    .bind(profile.language.clone())
    .bind(now_ms())
    .bind(resident_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn record_consent(
    tx: &mut sqlx::AnyConnection,
    resident_id: i64,
    via: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE residents SET consent_at_ms = $1, consent_version = $2, pending = 0, \
         registered_via = COALESCE(registered_via, $3) WHERE id = $4",
    )
    .bind(now_ms())
    .bind(CONSENT_VERSION)
    .bind(via.to_owned())
    .bind(resident_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A browser's subscription is its own proof: the resident is registered at once, keyed by the endpoint, so
/// the same browser registering again updates the same resident.
pub(super) async fn register_push(
    state: &AppState,
    push: &PushSubscription,
    profile: &Profile,
) -> Result<i64, sqlx::Error> {
    let digest = Sha256::digest(push.endpoint.as_bytes());
    let external_id = format!("push:{}", hex::encode(&digest[..12]));
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO residents (external_id, language, interests, preferred, pending, registered_via, \
         created_at_ms, updated_at_ms) VALUES ($1, 'ja', '[]', '[\"push\"]', 0, 'push', $2, $2) \
         ON CONFLICT (external_id) DO UPDATE SET updated_at_ms = excluded.updated_at_ms RETURNING id",
    )
    .bind(external_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM resident_addresses WHERE channel = 'push' AND address = $1")
        .bind(push.endpoint.clone())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM resident_addresses WHERE resident_id = $1 AND channel = 'push'")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO resident_addresses (resident_id, channel, address, detail, active) \
         VALUES ($1, 'push', $2, $3, 1)",
    )
    .bind(id)
    .bind(push.endpoint.clone())
    .bind(serde_json::to_string(&push.keys).unwrap_or_default())
    .execute(&mut *tx)
    .await?;
    write_profile(&mut tx, id, profile).await?;
    record_consent(&mut tx, id, "push").await?;
    tx.commit().await?;
    tracing::info!(resident = id, "registered for Web Push");
    Ok(id)
}

/// Starts (or repeats) the double opt-in for `email`: one sign-up row and one resident per address.
pub(super) async fn start_email_signup(
    state: &AppState,
    email: &str,
    profile: &Profile,
    browser_resident: Option<i64>,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let profile_json = serde_json::to_string(profile).unwrap_or_else(|_| "{}".into());
    let mut tx = state.db.begin_write().await?;
    let existing = sqlx::query(
        "SELECT id, resident_id, nonce, created_at_ms, last_sent_at_ms, confirmed_at_ms \
         FROM email_signups WHERE email = $1",
    )
    .bind(email.to_owned())
    .fetch_optional(&mut *tx)
    .await?;
    let (signup_id, resident_id, nonce, send) = match existing {
        Some(row) => {
            let id: i64 = row.try_get("id")?;
            let resident_id: i64 = row.try_get("resident_id")?;
            let created: i64 = row.try_get("created_at_ms")?;
            let last_sent: i64 = row.try_get("last_sent_at_ms")?;
            let confirmed: Option<i64> = row.try_get("confirmed_at_ms")?;
            // A used or expired link is replaced; a live one keeps working beside the new mail.
            let renew = confirmed.is_some() || now - created > CONFIRM_DAYS * 86_400_000;
            let nonce = if renew {
                new_nonce()
            } else {
                row.try_get("nonce")?
            };
            let send = renew || now - last_sent >= RESEND_AFTER_MS;
            sqlx::query(
                "UPDATE email_signups SET profile = $1, nonce = $2, \
                 created_at_ms = CASE WHEN $3 = 1 THEN $4 ELSE created_at_ms END, \
                 confirmed_at_ms = CASE WHEN $3 = 1 THEN NULL ELSE confirmed_at_ms END, \
                 last_sent_at_ms = CASE WHEN $5 = 1 THEN $4 ELSE last_sent_at_ms END WHERE id = $6",
            )
            .bind(profile_json)
            .bind(nonce.clone())
            .bind(i64::from(renew))
            .bind(now)
            .bind(i64::from(send))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            (id, resident_id, nonce, send)
        }
        None => {
            let owner: Option<i64> = sqlx::query_scalar(
                "SELECT resident_id FROM resident_addresses WHERE channel = 'email' AND LOWER(address) = $1",
            )
            .bind(email.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
            let resident_id = match (owner, browser_resident) {
                (Some(id), _) => id,
                (None, Some(id)) => {
                    // The browser's resident gets this address, inactive until confirmed.
                    sqlx::query(
                        "DELETE FROM resident_addresses WHERE resident_id = $1 AND channel = 'email'",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO resident_addresses (resident_id, channel, address, active) \
                         VALUES ($1, 'email', $2, 0)",
                    )
                    .bind(id)
                    .bind(email.to_owned())
                    .execute(&mut *tx)
                    .await?;
                    id
                }
                (None, None) => {
                    let external_id = format!("email:{}", uuid::Uuid::new_v4().simple());
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO residents (external_id, language, interests, preferred, pending, \
                         registered_via, created_at_ms, updated_at_ms) \
                         VALUES ($1, $2, '[]', '[\"email\"]', 1, 'email', $3, $3) RETURNING id",
                    )
                    .bind(external_id)
                    .bind(profile.language.clone())
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    // Inactive until confirmed: not even an emergency goes to an unconfirmed address.
                    sqlx::query(
                        "INSERT INTO resident_addresses (resident_id, channel, address, active) \
                         VALUES ($1, 'email', $2, 0)",
                    )
                    .bind(id)
                    .bind(email.to_owned())
                    .execute(&mut *tx)
                    .await?;
                    id
                }
            };
            let nonce = new_nonce();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO email_signups (email, resident_id, profile, nonce, created_at_ms, last_sent_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(email.to_owned())
            .bind(resident_id)
            .bind(profile_json)
            .bind(nonce.clone())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            (id, resident_id, nonce, true)
        }
    };
    if send {
        let url = state.links.confirmation_url(signup_id, email, &nonce);
        queue_confirmation(
            &mut tx,
            signup_id,
            resident_id,
            email,
            &profile.language,
            &url,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    if send {
        outbox::WAKE_DISPATCHER.notify_waiters();
    }
    tracing::info!(
        signup = signup_id,
        resident = resident_id,
        sent = send,
        "e-mail sign-up"
    );
    Ok(())
}

fn new_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The confirmation mail, written to the outbox in the sign-up's transaction.
async fn queue_confirmation(
    tx: &mut sqlx::AnyConnection,
    signup_id: i64,
    resident_id: i64,
    email: &str,
    language: &str,
    url: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let lang = Language::or_japanese(Some(language));
    let body = lang.say(Msg::ConfirmBody);
    let rendered = Rendered::Email {
        subject: lang.say(Msg::ConfirmSubject).to_owned(),
        text: format!("{body}\n\n{url}\n"),
        html: format!(
            "<html><body><p>{}</p><p><a href=\"{}\">{}</a></p></body></html>",
            escape(body),
            escape(url),
            escape(url)
        ),
    };
    let source = Source {
        kind: SourceKind::Signup,
        id: signup_id,
        firing: now,
    };
    let contents = [((ChannelKind::Email, language.to_owned()), rendered)]
        .into_iter()
        .collect();
    let ids = outbox::store_contents(tx, source, &contents).await?;
    let row = NewDelivery {
        resident_id,
        channel: ChannelKind::Email,
        address: email.to_owned(),
        address_detail: None,
        language: language.to_owned(),
    };
    outbox::insert_deliveries(tx, source, &ids, std::slice::from_ref(&row), now).await?;
    Ok(())
}

pub(super) async fn confirm_signup(
    state: &AppState,
    token: &str,
) -> Result<Result<String, LinkError>, sqlx::Error> {
    let Some((signup_id, mac)) = Links::confirmation_parts(token) else {
        return Ok(Err(LinkError::Invalid));
    };
    let mut tx = state.db.begin_write().await?;
    let Some(row) = sqlx::query(
        "SELECT email, resident_id, profile, nonce, created_at_ms, confirmed_at_ms FROM email_signups \
         WHERE id = $1",
    )
    .bind(signup_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Err(LinkError::Invalid));
    };
    let email: String = row.try_get("email")?;
    let nonce: String = row.try_get("nonce")?;
    if !state
        .links
        .check_confirmation(signup_id, &email, &nonce, mac)
    {
        tracing::warn!(signup = signup_id, "confirmation link with a bad signature");
        return Ok(Err(LinkError::Invalid));
    }
    let profile: Profile = match serde_json::from_str(&row.try_get::<String, _>("profile")?) {
        Ok(profile) => profile,
        Err(error) => return Err(sqlx::Error::Decode(Box::new(error))),
    };
    if row.try_get::<Option<i64>, _>("confirmed_at_ms")?.is_some() {
        // Opening the link again (or a mail scanner first) changes nothing more.
        return Ok(Ok(profile.language));
    }
    let created: i64 = row.try_get("created_at_ms")?;
    if now_ms() - created > CONFIRM_DAYS * 86_400_000 {
        return Ok(Err(LinkError::Expired));
    }
    let resident_id: i64 = row.try_get("resident_id")?;
    write_profile(&mut tx, resident_id, &profile).await?;
    record_consent(&mut tx, resident_id, "email").await?;
    sqlx::query(
        "UPDATE resident_addresses SET active = 1 WHERE resident_id = $1 AND channel = 'email'",
    )
    .bind(resident_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE email_signups SET confirmed_at_ms = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(signup_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(
        signup = signup_id,
        resident = resident_id,
        "e-mail confirmed"
    );
    Ok(Ok(profile.language))
}

pub(super) async fn store_preferences(
    state: &AppState,
    resident_id: i64,
    profile: &Profile,
    delivery: &Delivery,
) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin_write().await?;
    write_profile(&mut tx, resident_id, profile).await?;
    sqlx::query(
        "UPDATE residents SET muted_topics = $1, quiet_from_min = $2, quiet_until_min = $3, \
         notices_paused = $4 WHERE id = $5",
    )
    .bind(serde_json::to_string(&delivery.muted_topics).unwrap_or_else(|_| "[]".into()))
    .bind(i64::from(delivery.quiet.from_min))
    .bind(i64::from(delivery.quiet.until_min))
    .bind(i64::from(delivery.paused))
    .bind(resident_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
