//! Signed one-click unsubscribe links for email (RFC 8058).
//!
//! A token is `RESIDENT_ID.MAC` where MAC is HMAC-SHA-256 (secret stored in `settings`) over the resident and
//! the email address it was sent to, truncated to 128 bits. It names no address, cannot be forged, and stops
//! working when the resident's address changes. `POST /unsubscribe/{token}` marks the address inactive; `GET`
//! shows a page with a button (a GET never unsubscribes: mail scanners follow links).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::db::Db;
use crate::html::{Page, escape};

const SECRET_KEY: &str = "unsubscribe_secret";

#[derive(Clone)]
pub struct Signer {
    secret: Vec<u8>,
    public_url: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl Signer {
    /// Loads the secret from `settings`, creating it at the first start.
    pub async fn load(db: &Db, public_url: &str) -> Result<Self, sqlx::Error> {
        let secret = super::setting_or_create(db, SECRET_KEY, || {
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            hex::encode(bytes)
        })
        .await?;
        Ok(Signer {
            secret: secret.into_bytes(),
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }

    fn mac(&self, resident_id: i64, address: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this branch cannot be reached.
            Err(_) => return String::new(),
        };
        mac.update(format!("unsubscribe:email:{resident_id}:{address}").as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    pub fn token(&self, resident_id: i64, address: &str) -> String {
        format!("{resident_id}.{}", self.mac(resident_id, address))
    }

    pub fn url(&self, resident_id: i64, address: &str) -> String {
        format!(
            "{}/unsubscribe/{}",
            self.public_url,
            self.token(resident_id, address)
        )
    }

    /// A MAC for other signed links (registration confirmations, preferences pages): `purpose` keeps the
    /// kinds apart, so a MAC made for one can never pass as another.
    pub fn sign(&self, purpose: &str, message: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            return String::new();
        };
        mac.update(format!("{purpose}:{message}").as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// Checks a MAC made by [`Signer::sign`] in constant time.
    pub fn check(&self, purpose: &str, message: &str, mac: &str) -> bool {
        let expected = self.sign(purpose, message);
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(mac.as_bytes()))
    }

    /// The hub's public URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    #[cfg(test)]
    pub(crate) fn for_tests(secret: &[u8], public_url: &str) -> Self {
        Signer {
            secret: secret.to_vec(),
            public_url: public_url.to_owned(),
        }
    }

    /// The resident id when `token` was signed for their current `address`.
    fn verify(&self, token: &str, address: &str) -> bool {
        let Some((id, mac)) = token.split_once('.') else {
            return false;
        };
        let Ok(id) = id.parse::<i64>() else {
            return false;
        };
        let expected = self.mac(id, address);
        expected.as_bytes().ct_eq(mac.as_bytes()).into()
    }
}

fn resident_of(token: &str) -> Option<i64> {
    token.split_once('.').and_then(|(id, _)| id.parse().ok())
}

/// Marks the email address behind `token` inactive. `Ok(false)` when the token is not valid (any more).
pub async fn honour(db: &Db, signer: &Signer, token: &str) -> Result<bool, sqlx::Error> {
    let Some(resident_id) = resident_of(token) else {
        return Ok(false);
    };
    let row = sqlx::query(
        "SELECT address FROM resident_addresses WHERE resident_id = $1 AND channel = 'email'",
    )
    .bind(resident_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let address: String = row.try_get("address")?;
    if !signer.verify(token, &address) {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE resident_addresses SET active = 0 WHERE resident_id = $1 AND channel = 'email' AND address = $2",
    )
    .bind(resident_id)
    .bind(address)
    .execute(&db.pool)
    .await?;
    tracing::info!(resident_id, "email unsubscribed by one-click link");
    Ok(true)
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/unsubscribe/{token}", get(page).post(one_click))
}

pub(crate) async fn signer(state: &AppState) -> Result<Signer, Response> {
    Signer::load(&state.db, &state.config.public_url)
        .await
        .map_err(|error| crate::error::ApiError::internal(error).into_response())
}

/// RFC 8058 one-click: the mail client POSTs `List-Unsubscribe=One-Click`.
async fn one_click(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let signer = match signer(&state).await {
        Ok(signer) => signer,
        Err(response) => return response,
    };
    match honour(&state.db, &signer, &token).await {
        Ok(true) => (
            StatusCode::OK,
            Html(page_html(
                "配信を停止しました / You are unsubscribed",
                "このメールアドレスへのお知らせの配信を停止しました。This address will receive no more notices.",
                None,
            )),
        )
            .into_response(),
        Ok(false) => (
            StatusCode::NOT_FOUND,
            Html(page_html(
                "無効なリンクです / Invalid link",
                "このリンクは無効か、すでに使われています。This link is not valid (any more).",
                None,
            )),
        )
            .into_response(),
        Err(error) => crate::error::ApiError::internal(error).into_response(),
    }
}

/// The page a person sees when they open the link: one button that POSTs.
async fn page(Path(token): Path<String>) -> Response {
    let safe: String = token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    Html(page_html(
        "配信停止 / Unsubscribe",
        "行橋市からのお知らせメールの配信を停止しますか? Stop notices from Yukuhashi City to this address?",
        Some(&safe),
    ))
    .into_response()
}

fn page_html(title: &str, text: &str, token: Option<&str>) -> String {
    let form = token
        .map(|t| {
            format!(
                "<form method=\"post\" action=\"/unsubscribe/{}\"><button type=\"submit\">配信を停止する / Unsubscribe</button></form>",
                escape(t)
            )
        })
        .unwrap_or_default();
    Page::new("ja", title).render(&format!(
        "<h1>{}</h1><p>{}</p>{form}",
        escape(title),
        escape(text)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_for_their_address() {
        let signer = Signer {
            secret: b"secret".to_vec(),
            public_url: "http://h".into(),
        };
        let token = signer.token(42, "a@example.org");
        assert!(signer.verify(&token, "a@example.org"));
        assert!(!signer.verify(&token, "b@example.org"));
        assert!(!signer.verify("43.00", "a@example.org"));
        assert_eq!(resident_of(&token), Some(42));
        assert!(
            signer
                .url(42, "a@example.org")
                .starts_with("http://h/unsubscribe/42.")
        );
    }
}
