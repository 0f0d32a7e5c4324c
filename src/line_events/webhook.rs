//! `POST /line/webhook`: LINE's webhook. The signature is checked on the raw body before anything is parsed; a
//! bad one is answered 401 and nothing else happens. LINE stops sending to a bot that answers slowly, so the
//! webhook acknowledges first: the events are stored (their ids taken, so a redelivery is handled once) and 200
//! goes back at once; the [`super::queue`] then hands them to [`super::route`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use channels::line::webhook::{Event, EventKind, EventMode, WebhookError};
use tracing::Instrument;

use super::queue::kind_name;
use crate::AppState;
use crate::db::{Db, now_ms};
use crate::error::{ApiError, ErrorBody};

/// LINE webhook: signature verified before parsing (HMAC-SHA256 of the raw body with the channel secret).
#[utoipa::path(post, path = "/line/webhook",
    request_body(content = String, content_type = "application/json", description = "LINE's webhook body (CallbackRequest)"),
    params(("x-line-signature" = String, Header, description = "base64 HMAC-SHA256 of the raw body with the channel secret")),
    responses(
        (status = 200, description = "accepted: the events are stored and will be handled (the verification call with no events too)"),
        (status = 400, body = ErrorBody, description = "signed, but not a webhook body"),
        (status = 401, body = ErrorBody, description = "the signature does not match: nothing was done"),
        (status = 413, body = ErrorBody, description = "the body is larger than 1 MiB"),
        (status = 429, body = ErrorBody, description = "too many calls from this address; see Retry-After"),
        (status = 500, body = ErrorBody, description = "the events could not be stored: LINE delivers them again"),
        (status = 503, body = ErrorBody, description = "no LINE channel secret is configured, so nothing can be verified")))]
pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let span = tracing::info_span!(
        "line_webhook",
        bytes = body.len(),
        events = tracing::field::Empty,
        fresh = tracing::field::Empty
    );
    handle(state, headers, body, span.clone())
        .instrument(span)
        .await
}

async fn handle(state: AppState, headers: HeaderMap, body: Bytes, span: tracing::Span) -> Response {
    let Some(secret) = state.config.line_channel_secret.as_deref() else {
        tracing::warn!("LINE webhook called but HUB_LINE_CHANNEL_SECRET is not set");
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "LINE is not configured (HUB_LINE_CHANNEL_SECRET): webhooks cannot be verified",
        )
        .into_response();
    };
    let signature = headers
        .get("x-line-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let request = match channels::line::parse_webhook(secret, &body, signature) {
        Ok(request) => request,
        Err(WebhookError::BadSignature) => {
            tracing::warn!("LINE webhook refused: bad signature");
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "the x-line-signature does not match the body",
            )
            .into_response();
        }
        Err(error @ WebhookError::Malformed { .. }) => {
            tracing::warn!(%error, "LINE webhook refused: malformed body");
            return ApiError::bad_request("body", error.to_string()).into_response();
        }
    };
    span.record("events", request.events.len());
    let events: Vec<Event> = request.events.into_iter().filter(needs_handling).collect();
    if events.is_empty() {
        return StatusCode::OK.into_response();
    }
    let fresh = match store(&state.db, &events).await {
        Ok(fresh) => fresh,
        Err(error) => {
            // Not acknowledged: LINE delivers the events again, and the ids taken by nobody are free.
            tracing::error!(%error, "LINE events could not be stored");
            return ApiError::internal(error).into_response();
        }
    };
    span.record("fresh", fresh.len());
    for event in fresh {
        state.line_events.push(event);
    }
    StatusCode::OK.into_response()
}

/// Events that get an answer or change something (standby mode: another channel answers, except unfollows).
fn needs_handling(event: &Event) -> bool {
    if event.mode == EventMode::Standby && !matches!(event.kind, EventKind::Unfollow) {
        tracing::info!(event_id = %event.webhook_event_id, "standby mode: another channel answers this user");
        return false;
    }
    !matches!(event.kind, EventKind::Other)
}

/// Takes the events' ids and stores them for the queue, all or none; returns those not taken before (a
/// redelivery of an event already stored is not handled again).
async fn store(db: &Db, events: &[Event]) -> Result<Vec<Event>, sqlx::Error> {
    let now = now_ms();
    let mut fresh = Vec::with_capacity(events.len());
    let mut tx = db.begin_write().await?;
    for event in events {
        let payload =
            serde_json::to_string(event).map_err(|error| sqlx::Error::Encode(error.into()))?;
        let result = sqlx::query(
            "INSERT INTO line_webhook_events (event_id, kind, received_at_ms, payload) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(&event.webhook_event_id)
        .bind(kind_name(&event.kind))
        .bind(now)
        .bind(payload)
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() == 1 {
            fresh.push(event.clone());
        } else {
            tracing::info!(event_id = %event.webhook_event_id, "event already received: not handled again");
        }
    }
    tx.commit().await?;
    Ok(fresh)
}
