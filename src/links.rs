//! Signed links and the hub's keys: every token the hub hands out and later accepts is minted and checked here,
//! with keys read from `settings` once at start ([`Keys::load`]) and kept in the app state.
//!
//! One MAC scheme: HMAC-SHA-256, truncated, compared in constant time. Two keys and two encodings exist because
//! links and buttons already sent must keep working; both are kept exactly as they were issued:
//!
//! | token | form | key | MAC over | MAC |
//! |---|---|---|---|---|
//! | unsubscribe (`/unsubscribe/…`) | `RESIDENT.MAC` | link secret | `unsubscribe:email:RESIDENT:ADDRESS` | hex, 16 bytes |
//! | preferences (`/preferences/…`) | `RESIDENT.EXPIRY.MAC` | link secret | `preferences:RESIDENT:EXPIRY` | hex, 16 bytes |
//! | sign-up confirmation (`/register/confirm/…`) | `SIGNUP.MAC` | link secret | `confirm:SIGNUP:EMAIL:NONCE` | hex, 16 bytes |
//! | survey answer (`/s/…`) | `SURVEY.RESIDENT.MAC` | link secret | `survey:survey:SURVEY:RESIDENT` | hex, 16 bytes |
//! | survey postback | `sv:…:MAC` | link secret | `survey-postback:PAYLOAD` | hex, 16 bytes |
//! | chat postbacks (feedback, choices, safety answers) | `PAYLOAD:MAC` | postback key | `PAYLOAD` | base64url, 12 bytes |
//! | registration postbacks | `PAYLOAD:MAC` | postback key | `LINE_USER\|PAYLOAD` | base64url, 12 bytes |
//!
//! The link secret is the setting `unsubscribe_secret` (its first use named it), the postback key the setting
//! `chat.signing_key`; both are created at the first start and shared by every process on the database. A purpose
//! prefix keeps the link-secret kinds apart, so a MAC made for one can never pass as another; the postback kinds
//! differ by their payload's prefix (LINE postback data is limited to 300 characters, hence the shorter MAC).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use channels::push::VapidKey;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::db::{Db, setting_or_create};

/// How long a preferences link works.
pub const PREFERENCES_LINK_DAYS: i64 = 180;

const LINK_SECRET_SETTING: &str = "unsubscribe_secret";
const POSTBACK_KEY_SETTING: &str = "chat.signing_key";
const VAPID_SETTING: &str = "vapid_private_key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or store the hub's keys in the settings table: {0}")]
    Database(#[from] sqlx::Error),
    #[error("setting {setting} is not valid: {message}")]
    Stored {
        setting: &'static str,
        message: String,
    },
    #[error("the VAPID key ({origin}) is not valid: {message}")]
    Vapid {
        origin: &'static str,
        message: String,
    },
}

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not valid")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

/// The keys the hub signs with, loaded once at start.
#[derive(Clone, Debug)]
pub struct Keys {
    pub links: Links,
    /// The Web Push application server key (RFC 8292).
    pub vapid: VapidKey,
}

impl Keys {
    /// Reads the keys from `settings`, creating each at the first start; the VAPID key comes from the
    /// configuration when it names one.
    pub async fn load(db: &Db, config: &Config) -> Result<Keys, KeyError> {
        let secret = setting_or_create(db, LINK_SECRET_SETTING, || random_hex(32)).await?;
        let stored = setting_or_create(db, POSTBACK_KEY_SETTING, || random_hex(32)).await?;
        let postback_key = match hex::decode(stored.trim()) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            _ => {
                return Err(KeyError::Stored {
                    setting: POSTBACK_KEY_SETTING,
                    message: "not 32 hex-encoded bytes".to_owned(),
                });
            }
        };
        let vapid = match &config.vapid_private_key {
            Some(key) => VapidKey::from_base64url(key).map_err(|error| KeyError::Vapid {
                origin: "HUB_VAPID_PRIVATE_KEY",
                message: error.to_string(),
            })?,
            None => {
                let stored =
                    setting_or_create(db, VAPID_SETTING, || VapidKey::generate().to_base64url())
                        .await?;
                VapidKey::from_base64url(&stored).map_err(|error| KeyError::Vapid {
                    origin: "the settings table",
                    message: error.to_string(),
                })?
            }
        };
        Ok(Keys {
            links: Links::new(secret.into_bytes(), postback_key, &config.public_url),
            vapid,
        })
    }
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// A link made for one recipient, named by what it opens (the outbox adds it to each message of a content that
/// invites residents, see `outbox::compose::Invitation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalLink {
    /// A survey's web form, signed for the recipient.
    SurveyAnswer { survey_id: i64 },
}

/// Mints and checks every signed link and postback (see the module's table). Cheap to clone.
#[derive(Clone)]
pub struct Links {
    inner: Arc<Inner>,
}

struct Inner {
    link_secret: Vec<u8>,
    postback_key: Vec<u8>,
    public_url: String,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("public_url", &self.inner.public_url)
            .finish_non_exhaustive()
    }
}

/// What a link-secret MAC is for: the prefix of the signed message.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    Unsubscribe,
    Preferences,
    Confirm,
    Survey,
    SurveyPostback,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Unsubscribe => "unsubscribe",
            Purpose::Preferences => "preferences",
            Purpose::Confirm => "confirm",
            Purpose::Survey => "survey",
            Purpose::SurveyPostback => "survey-postback",
        }
    }
}

/// HMAC-SHA-256 of `message` under `key`.
fn tag(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Constant-time comparison of an expected MAC with the one given.
fn same(expected: &str, given: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

impl Links {
    pub fn new(link_secret: Vec<u8>, postback_key: Vec<u8>, public_url: &str) -> Links {
        Links {
            inner: Arc::new(Inner {
                link_secret,
                postback_key,
                public_url: public_url.trim_end_matches('/').to_owned(),
            }),
        }
    }

    /// The hub's public URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    // ---- the link secret: hex MACs with a purpose ----

    fn sign(&self, purpose: Purpose, message: &str) -> String {
        let full = format!("{}:{message}", purpose.as_str());
        hex::encode(&tag(&self.inner.link_secret, full.as_bytes())[..16])
    }

    fn check(&self, purpose: Purpose, message: &str, mac: &str) -> bool {
        same(&self.sign(purpose, message), mac)
    }

    // ---- unsubscribe (RFC 8058): `RESIDENT.MAC`, bound to the address it was sent to ----

    pub fn unsubscribe_token(&self, resident_id: i64, address: &str) -> String {
        let mac = self.sign(
            Purpose::Unsubscribe,
            &format!("email:{resident_id}:{address}"),
        );
        format!("{resident_id}.{mac}")
    }

    pub fn unsubscribe_url(&self, resident_id: i64, address: &str) -> String {
        format!(
            "{}/unsubscribe/{}",
            self.public_url(),
            self.unsubscribe_token(resident_id, address)
        )
    }

    /// The resident an unsubscribe token names (not yet checked: see [`Links::check_unsubscribe`]).
    pub fn unsubscribe_resident(token: &str) -> Option<i64> {
        token.split_once('.').and_then(|(id, _)| id.parse().ok())
    }

    /// Whether `token` was signed for the resident's current `address`.
    pub fn check_unsubscribe(&self, token: &str, address: &str) -> bool {
        let Some((id, mac)) = token.split_once('.') else {
            return false;
        };
        let Ok(id) = id.parse::<i64>() else {
            return false;
        };
        self.check(Purpose::Unsubscribe, &format!("email:{id}:{address}"), mac)
    }

    // ---- preferences page: `RESIDENT.EXPIRY.MAC`, valid for PREFERENCES_LINK_DAYS ----

    /// Resident ids are never reused, so a link dies with a deleted resident.
    pub fn preferences_token(&self, resident_id: i64, now: DateTime<Utc>) -> String {
        let expires = (now + chrono::Duration::days(PREFERENCES_LINK_DAYS)).timestamp();
        let mac = self.sign(Purpose::Preferences, &format!("{resident_id}:{expires}"));
        format!("{resident_id}.{expires}.{mac}")
    }

    pub fn preferences_url(&self, resident_id: i64, now: DateTime<Utc>) -> String {
        format!(
            "{}/preferences/{}",
            self.public_url(),
            self.preferences_token(resident_id, now)
        )
    }

    /// The resident a preferences token was signed for.
    pub fn check_preferences(&self, token: &str, now: DateTime<Utc>) -> Result<i64, LinkError> {
        let mut parts = token.splitn(3, '.');
        let (Some(id), Some(expires), Some(mac)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Invalid);
        };
        let (Ok(resident_id), Ok(expiry)) = (id.parse::<i64>(), expires.parse::<i64>()) else {
            return Err(LinkError::Invalid);
        };
        if !self.check(
            Purpose::Preferences,
            &format!("{resident_id}:{expiry}"),
            mac,
        ) {
            return Err(LinkError::Invalid);
        }
        if expiry < now.timestamp() {
            return Err(LinkError::Expired);
        }
        Ok(resident_id)
    }

    // ---- e-mail sign-up confirmation: `SIGNUP.MAC`, bound to the address and the sign-up's nonce ----

    pub fn confirmation_url(&self, signup_id: i64, email: &str, nonce: &str) -> String {
        let mac = self.sign(Purpose::Confirm, &format!("{signup_id}:{email}:{nonce}"));
        format!("{}/register/confirm/{signup_id}.{mac}", self.public_url())
    }

    /// The sign-up a confirmation token names, and its MAC (checked with [`Links::check_confirmation`] once
    /// the sign-up's address and nonce are read).
    pub fn confirmation_parts(token: &str) -> Option<(i64, &str)> {
        let (id, mac) = token.split_once('.')?;
        Some((id.parse().ok()?, mac))
    }

    pub fn check_confirmation(&self, signup_id: i64, email: &str, nonce: &str, mac: &str) -> bool {
        self.check(
            Purpose::Confirm,
            &format!("{signup_id}:{email}:{nonce}"),
            mac,
        )
    }

    // ---- survey answers: `/s/SURVEY.RESIDENT.MAC` ----

    /// The signed per-resident link to a survey's web form.
    pub fn survey_answer_url(&self, survey_id: i64, resident_id: i64) -> String {
        format!(
            "{}/s/{survey_id}.{resident_id}.{}",
            self.public_url(),
            self.sign(Purpose::Survey, &survey_message(survey_id, resident_id))
        )
    }

    /// The URL of `link` signed for `resident_id`.
    pub fn personal_url(&self, link: PersonalLink, resident_id: i64) -> String {
        match link {
            PersonalLink::SurveyAnswer { survey_id } => {
                self.survey_answer_url(survey_id, resident_id)
            }
        }
    }

    /// (survey, resident) when `token` is a link this hub signed.
    pub fn check_survey_answer(&self, token: &str) -> Option<(i64, i64)> {
        let mut parts = token.split('.');
        let survey_id = parts.next()?.parse().ok()?;
        let resident_id = parts.next()?.parse().ok()?;
        let mac = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        self.check(
            Purpose::Survey,
            &survey_message(survey_id, resident_id),
            mac,
        )
        .then_some((survey_id, resident_id))
    }

    /// Survey postback data: `PAYLOAD:MAC` under the link secret.
    pub fn sign_survey_postback(&self, payload: &str) -> String {
        format!("{payload}:{}", self.sign(Purpose::SurveyPostback, payload))
    }

    /// The payload of survey postback data this hub signed.
    pub fn open_survey_postback<'d>(&self, data: &'d str) -> Option<&'d str> {
        let (payload, mac) = data.rsplit_once(':')?;
        self.check(Purpose::SurveyPostback, payload, mac)
            .then_some(payload)
    }

    // ---- chat postbacks: `PAYLOAD:MAC` under the postback key, base64url ----

    fn postback_mac(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(&tag(&self.inner.postback_key, message.as_bytes())[..12])
    }

    /// Postback data (FAQ feedback and choices, safety answers): the payload and its MAC.
    pub fn sign_postback(&self, payload: &str) -> String {
        format!("{payload}:{}", self.postback_mac(payload))
    }

    /// The payload of postback data this hub signed; `None` without a MAC or with a bad one.
    pub fn open_postback<'d>(&self, data: &'d str) -> Option<&'d str> {
        let (payload, mac) = data.rsplit_once(':')?;
        same(&self.postback_mac(payload), mac).then_some(payload)
    }

    /// Postback data that only `user` may send back (the registration dialog): the MAC covers the LINE user.
    pub fn sign_user_postback(&self, user: &str, payload: &str) -> String {
        format!(
            "{payload}:{}",
            self.postback_mac(&format!("{user}|{payload}"))
        )
    }

    /// Whether `mac` is the one [`Links::sign_user_postback`] made for `user` and `payload`.
    pub fn user_postback_signed(&self, user: &str, payload: &str, mac: &str) -> bool {
        same(&self.postback_mac(&format!("{user}|{payload}")), mac)
    }
}

fn survey_message(survey_id: i64, resident_id: i64) -> String {
    format!("survey:{survey_id}:{resident_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys fixed for the tests: the expected tokens below were computed with the formats as they were before
    /// they moved here (`outbox/unsubscribe.rs`, `registration`, `surveys`, `chat`), so a token already sent
    /// still verifies.
    fn links() -> Links {
        Links::new(b"secret".to_vec(), vec![7u8; 32], "http://h/")
    }

    /// The MAC the link-secret formats used before: HMAC-SHA-256 over `purpose:message`, 16 bytes, hex.
    fn old_link_mac(purpose: &str, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(format!("{purpose}:{message}").as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The MAC `ChatService::sign` used before: HMAC-SHA-256 over the payload, 12 bytes, base64url.
    fn old_postback_mac(payload: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(payload.as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..12])
    }

    #[test]
    fn old_unsubscribe_tokens_still_verify() {
        let links = links();
        let old = format!(
            "42.{}",
            old_link_mac("unsubscribe", "email:42:a@example.org")
        );
        assert_eq!(links.unsubscribe_token(42, "a@example.org"), old);
        assert!(links.check_unsubscribe(&old, "a@example.org"));
        assert!(!links.check_unsubscribe(&old, "b@example.org"));
        assert!(!links.check_unsubscribe("43.00", "a@example.org"));
        assert!(!links.check_unsubscribe("no-dot", "a@example.org"));
        assert_eq!(Links::unsubscribe_resident(&old), Some(42));
        assert_eq!(
            links.unsubscribe_url(42, "a@example.org"),
            format!("http://h/unsubscribe/{old}")
        );
    }

    #[test]
    fn old_preferences_tokens_still_verify_until_they_expire() {
        let links = links();
        let now = Utc::now();
        let expiry = (now + chrono::Duration::days(PREFERENCES_LINK_DAYS)).timestamp();
        let old = format!(
            "42.{expiry}.{}",
            old_link_mac("preferences", &format!("42:{expiry}"))
        );
        assert_eq!(links.preferences_token(42, now), old);
        assert_eq!(links.check_preferences(&old, now), Ok(42));
        let forged = old.replacen("42.", "43.", 1);
        assert_eq!(
            links.check_preferences(&forged, now),
            Err(LinkError::Invalid)
        );
        let later = now + chrono::Duration::days(PREFERENCES_LINK_DAYS + 1);
        assert_eq!(
            links.check_preferences(&old, later),
            Err(LinkError::Expired)
        );
        assert_eq!(
            links.preferences_url(42, now),
            format!("http://h/preferences/{old}")
        );
    }

    #[test]
    fn old_confirmation_tokens_still_verify() {
        let links = links();
        let mac = old_link_mac("confirm", "5:a@example.org:nonce");
        assert_eq!(
            links.confirmation_url(5, "a@example.org", "nonce"),
            format!("http://h/register/confirm/5.{mac}")
        );
        let token = format!("5.{mac}");
        let (signup, given) = Links::confirmation_parts(&token).unwrap();
        assert_eq!(signup, 5);
        assert!(links.check_confirmation(5, "a@example.org", "nonce", given));
        assert!(!links.check_confirmation(5, "a@example.org", "other", given));
        assert!(!links.check_confirmation(6, "a@example.org", "nonce", given));
        assert_eq!(Links::confirmation_parts("x.y"), None);
    }

    #[test]
    fn old_survey_links_still_verify() {
        let links = links();
        let mac = old_link_mac("survey", "survey:3:42");
        assert_eq!(
            links.survey_answer_url(3, 42),
            format!("http://h/s/3.42.{mac}")
        );
        assert_eq!(
            links.check_survey_answer(&format!("3.42.{mac}")),
            Some((3, 42))
        );
        assert_eq!(
            links.personal_url(PersonalLink::SurveyAnswer { survey_id: 3 }, 42),
            links.survey_answer_url(3, 42)
        );
        assert_eq!(links.check_survey_answer(&format!("3.43.{mac}")), None);
        assert_eq!(links.check_survey_answer(&format!("3.42.{mac}.x")), None);
    }

    #[test]
    fn old_survey_postbacks_still_verify() {
        let links = links();
        let old = format!(
            "sv:3:0:start:{}",
            old_link_mac("survey-postback", "sv:3:0:start")
        );
        assert_eq!(links.sign_survey_postback("sv:3:0:start"), old);
        assert_eq!(links.open_survey_postback(&old), Some("sv:3:0:start"));
        let forged = old.replacen("sv:3", "sv:4", 1);
        assert_eq!(links.open_survey_postback(&forged), None);
        // A chat postback's MAC is not a survey postback's.
        assert_eq!(
            links.open_survey_postback(&links.sign_postback("sv:3:0:start")),
            None
        );
    }

    #[test]
    fn old_chat_postbacks_still_verify() {
        let links = links();
        let old = format!("em:9:s:{}", old_postback_mac("em:9:s"));
        assert_eq!(links.sign_postback("em:9:s"), old);
        assert_eq!(links.open_postback(&old), Some("em:9:s"));
        assert_eq!(links.open_postback("em:9:s"), None, "no MAC");
        assert_eq!(links.open_postback(&old.replace("em:9:s", "em:9:h")), None);
    }

    #[test]
    fn old_registration_postbacks_still_verify_for_their_user_only() {
        let links = links();
        let payload = "rg:1800000000:n:d:今元";
        let mac = old_postback_mac(&format!("Uabc|{payload}"));
        assert_eq!(
            links.sign_user_postback("Uabc", payload),
            format!("{payload}:{mac}")
        );
        assert!(links.user_postback_signed("Uabc", payload, &mac));
        assert!(!links.user_postback_signed("Uother", payload, &mac));
    }

    #[test]
    fn a_mac_for_one_purpose_never_passes_as_another() {
        let links = links();
        // The same message signed for preferences is not a survey link's MAC.
        let mac = links.sign(Purpose::Preferences, "survey:3:42");
        assert!(!links.check(Purpose::Survey, "survey:3:42", &mac));
    }
}
