//! Signed one-click unsubscribe links for email (RFC 8058).
//!
//! A token (`RESIDENT_ID.MAC` over the resident and the email address it was sent to, see [`crate::links`]) names
//! no address, cannot be forged, and stops working when the resident's address changes.
//! `POST /unsubscribe/{token}` marks the address inactive; `GET` shows a page with a button (a GET never
//! unsubscribes: mail scanners follow links).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use sqlx::Row;

use crate::db::Db;
use crate::html::{Page, escape};
use crate::links::Links;

/// Marks the email address behind `token` inactive. `Ok(false)` when the token is not valid (any more).
pub async fn honour(db: &Db, links: &Links, token: &str) -> Result<bool, sqlx::Error> {
    let Some(resident_id) = Links::unsubscribe_resident(token) else {
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
    if !links.check_unsubscribe(token, &address) {
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

/// The unsubscribe pages need only the database and the link keys, taken from the router's state by type.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Db: axum::extract::FromRef<S>,
    Links: axum::extract::FromRef<S>,
{
    Router::new().route("/unsubscribe/{token}", get(page).post(one_click))
}

/// RFC 8058 one-click: the mail client POSTs `List-Unsubscribe=One-Click`.
async fn one_click(
    State(db): State<Db>,
    State(links): State<Links>,
    Path(token): Path<String>,
) -> Response {
    match honour(&db, &links, &token).await {
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
