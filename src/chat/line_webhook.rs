//! `POST /line/webhook`: LINE's webhook. The signature is checked on the raw body before anything is parsed; a
//! bad one is answered 401 and nothing else happens. LINE stops sending to a bot that answers slowly, so the
//! webhook acknowledges first: the events are stored (their ids taken, so a redelivery is handled once) and 200
//! goes back at once; a queue of workers then handles them: text messages get the FAQ's answer through the reply
//! API (with quick replies for candidates and feedback), follows a greeting, unfollows mark the resident's LINE
//! address inactive, postbacks record choices and feedback. One user's events go to the same worker, in order.
//! Events stored but not handled when the process stopped are handled at the next start.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use channels::Outcome;
use channels::line::webhook::{Event, EventKind, EventMode, MessageContent, WebhookError};
use channels::line::{LineMessage, LineUserId, QuickReply, QuickReplyItem, limits};
use sqlx::Row;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{Channel, ChatService, Lang, Reply, ReplyKind};
use crate::AppState;
use crate::db::{Db, now_ms};
use crate::error::{ApiError, ErrorBody};

/// Workers handling LINE events side by side (each one user's events in order).
pub const QUEUE_WORKERS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum LineEventError {
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("cannot build the LINE message: {0}")]
    Message(#[from] channels::line::LineMessageError),
}

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

/// The queue between the webhook and the workers that answer. Cheap to clone; the workers stop when the last
/// clone is gone.
#[derive(Clone)]
pub struct LineQueue {
    workers: Arc<Vec<mpsc::UnboundedSender<Event>>>,
}

impl LineQueue {
    /// Starts the workers.
    pub fn start(chat: ChatService, config: Arc<crate::Config>) -> Self {
        let workers = (0..QUEUE_WORKERS)
            .map(|worker| {
                // Unbounded: every queued event is already stored, and the webhook's body and rate limits bound
                // how fast they come.
                let (sender, mut receiver) = mpsc::unbounded_channel::<Event>();
                let chat = chat.clone();
                let config = config.clone();
                tokio::spawn(async move {
                    while let Some(event) = receiver.recv().await {
                        let span = tracing::info_span!(
                            "line_event",
                            worker,
                            event_id = %event.webhook_event_id,
                            kind = kind_name(&event.kind),
                            user = event.user_id().map(|u| crate::redact::address(u.as_str())).unwrap_or_default(),
                            redelivery = event.is_redelivery()
                        );
                        match handle_event(&chat, &config, &event)
                            .instrument(span.clone())
                            .await
                        {
                            Ok(()) => {
                                if let Err(error) = mark_handled(&chat.db, &event).await {
                                    span.in_scope(|| tracing::error!(%error, "LINE event handled but not marked"));
                                }
                            }
                            // Left stored: handled again at the next start.
                            Err(error) => span.in_scope(|| tracing::error!(%error, "LINE event not handled")),
                        }
                    }
                });
                sender
            })
            .collect();
        LineQueue {
            workers: Arc::new(workers),
        }
    }

    /// Hands an event to its user's worker.
    pub fn push(&self, event: Event) {
        let key = event
            .user_id()
            .map(|user| user.as_str().to_owned())
            .unwrap_or_else(|| event.webhook_event_id.clone());
        let worker = key.bytes().fold(0usize, |hash, byte| {
            hash.wrapping_mul(31).wrapping_add(usize::from(byte))
        }) % self.workers.len();
        if self.workers[worker].send(event).is_err() {
            tracing::error!("LINE event queue closed: the event stays stored for the next start");
        }
    }

    /// Queues the events stored but not handled (the process stopped first); returns how many.
    pub async fn recover(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT event_id, payload FROM line_webhook_events \
             WHERE handled_at_ms IS NULL AND payload IS NOT NULL ORDER BY received_at_ms, event_id",
        )
        .fetch_all(&db.pool)
        .await?;
        let mut queued = 0;
        for row in rows {
            let event_id: String = row.try_get("event_id")?;
            let payload: String = row.try_get("payload")?;
            match serde_json::from_str::<Event>(&payload) {
                Ok(event) => {
                    self.push(event);
                    queued += 1;
                }
                Err(error) => {
                    tracing::error!(%event_id, %error, "stored LINE event unreadable: dropped");
                    mark_handled_id(db, &event_id).await?;
                }
            }
        }
        if queued > 0 {
            tracing::info!(queued, "LINE events from before the restart queued again");
        }
        Ok(queued)
    }
}

/// Done: the stored message is cleared (it is the resident's text), the id stays so a redelivery is ignored.
async fn mark_handled(db: &Db, event: &Event) -> Result<(), sqlx::Error> {
    mark_handled_id(db, &event.webhook_event_id).await
}

async fn mark_handled_id(db: &Db, event_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE line_webhook_events SET handled_at_ms = $1, payload = NULL WHERE event_id = $2",
    )
    .bind(now_ms())
    .bind(event_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Message { .. } => "message",
        EventKind::Follow { .. } => "follow",
        EventKind::Unfollow => "unfollow",
        EventKind::Postback { .. } => "postback",
        EventKind::Other => "other",
    }
}

/// The language of the resident with this LINE address (Japanese when unknown).
async fn resident_lang(chat: &ChatService, user: Option<&LineUserId>) -> Result<Lang, sqlx::Error> {
    let Some(user) = user else {
        return Ok(Lang::Ja);
    };
    let row = sqlx::query(
        "SELECT r.language AS language FROM resident_addresses a JOIN residents r ON r.id = a.resident_id \
         WHERE a.channel = 'line' AND a.address = $1",
    )
    .bind(user.as_str())
    .fetch_optional(&chat.db.pool)
    .await?;
    Ok(match row {
        Some(row) => Lang::from_code(row.try_get::<String, _>("language").ok().as_deref()),
        None => Lang::Ja,
    })
}

async fn set_line_active(
    chat: &ChatService,
    user: &LineUserId,
    active: bool,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE resident_addresses SET active = $1 WHERE channel = 'line' AND address = $2",
    )
    .bind(i64::from(active))
    .bind(user.as_str())
    .execute(&chat.db.pool)
    .await?;
    Ok(result.rows_affected())
}

async fn handle_event(
    chat: &ChatService,
    config: &crate::Config,
    event: &Event,
) -> Result<(), LineEventError> {
    let user = event.user_id();
    let sender = user
        .as_ref()
        .map(|u| super::sender_hash(Channel::Line, u.as_str()));
    let lang = resident_lang(chat, user.as_ref()).await?;
    // registration (issue 8): its words, its postbacks and the dialog after a follow.
    if let Some(user) = &user
        && let Some(messages) = registration_messages(chat, config, user, lang, &event.kind).await?
    {
        return send_reply(chat, event, &messages).await;
    }
    let messages = match &event.kind {
        EventKind::Message {
            message: MessageContent::Text { text, .. },
            ..
        } => {
            let question: String = text.chars().take(1000).collect();
            // 「無事です」/「助けが必要」 after an emergency is a safety answer (emergency::safety), not a question.
            let for_survey = || async {
                match &user {
                    Some(user) => {
                        crate::surveys::line::on_text(&chat.db, &chat.links, user, text).await
                    }
                    None => Ok(None),
                }
            };
            if let Some(thanks) =
                crate::emergency::safety::line_text(chat, user.as_ref(), &question, lang).await?
            {
                vec![LineMessage::text(thanks)?]
            } else if let Some(messages) = for_survey().await? {
                messages
            } else {
                let reply = chat
                    .ask(Channel::Line, sender.as_deref(), &question, lang)
                    .await?;
                reply_messages(chat, &reply, lang)?
            }
        }
        EventKind::Message { .. } => vec![LineMessage::text(match lang {
            Lang::Ja => "ご質問は文字で送ってください。例:「住民票を取りたい」",
            Lang::En => {
                "Please send your question as text, e.g. \"I want a copy of my residence certificate\"."
            }
        })?],
        EventKind::Follow { .. } => {
            if let Some(user) = &user {
                set_line_active(chat, user, true).await?;
            }
            vec![LineMessage::text(super::greeting_text(lang))?]
        }
        EventKind::Unfollow => {
            if let Some(user) = &user {
                let updated = set_line_active(chat, user, false).await?;
                tracing::info!(known = updated > 0, "LINE user unfollowed");
            }
            Vec::new()
        }
        EventKind::Postback { postback, .. }
            if postback
                .data
                .starts_with(crate::emergency::safety::POSTBACK_PREFIX) =>
        {
            crate::emergency::safety::line_postback(chat, &postback.data, user.as_ref(), lang)
                .await?
                .map(LineMessage::text)
                .transpose()?
                .into_iter()
                .collect()
        }
        EventKind::Postback { postback, .. } => match &user {
            Some(user)
                if postback
                    .data
                    .starts_with(crate::surveys::line::POSTBACK_PREFIX) =>
            {
                crate::surveys::line::on_postback(&chat.db, &chat.links, user, &postback.data)
                    .await?
            }
            _ => postback_messages(chat, &postback.data, sender.as_deref(), lang).await?,
        },
        EventKind::Other => Vec::new(),
    };
    send_reply(chat, event, &messages).await
}

/// The registration dialog's answer to an event, when the event is the dialog's.
async fn registration_messages(
    chat: &ChatService,
    config: &crate::Config,
    user: &LineUserId,
    lang: Lang,
    kind: &EventKind,
) -> Result<Option<Vec<LineMessage>>, LineEventError> {
    use crate::registration::line_dialog;
    match kind {
        EventKind::Message {
            message: MessageContent::Text { text, .. },
            ..
        } => line_dialog::on_text(chat, user, text).await,
        EventKind::Postback { postback, .. } => {
            line_dialog::on_postback(chat, config, user, &postback.data).await
        }
        EventKind::Follow { .. } => {
            set_line_active(chat, user, true).await?;
            let mut messages = vec![LineMessage::text(super::greeting_text(lang))?];
            messages.extend(line_dialog::on_follow(chat, user).await?);
            Ok(Some(messages))
        }
        _ => Ok(None),
    }
}

async fn send_reply(
    chat: &ChatService,
    event: &Event,
    messages: &[LineMessage],
) -> Result<(), LineEventError> {
    if messages.is_empty() {
        return Ok(());
    }
    let Some(token) = event.reply_token() else {
        tracing::warn!("no reply token: the answer cannot be sent");
        return Ok(());
    };
    match chat.line.reply(token, messages).await {
        Outcome::Sent { provider_id } => tracing::info!(%provider_id, "replied"),
        Outcome::Recorded => tracing::info!("reply recorded (LINE is in record-only mode)"),
        outcome => tracing::warn!(?outcome, "LINE reply not sent"),
    }
    Ok(())
}

/// A button label: at most 20 characters.
pub(crate) fn label(text: &str) -> String {
    let max = limits::ACTION_LABEL_MAX_CHARS;
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

fn feedback_data(chat: &ChatService, log_id: i64, helpful: bool) -> String {
    chat.links
        .sign_postback(&format!("fb:{log_id}:{}", u8::from(helpful)))
}

fn choice_data(chat: &ChatService, log_id: i64, entry_id: &str) -> String {
    chat.links.sign_postback(&format!("ch:{log_id}:{entry_id}"))
}

fn feedback_items(
    chat: &ChatService,
    log_id: i64,
    lang: Lang,
) -> Result<Vec<QuickReplyItem>, LineEventError> {
    let (yes, no) = match lang {
        Lang::Ja => ("役に立った", "役に立たなかった"),
        Lang::En => ("Helpful", "Not helpful"),
    };
    Ok(vec![
        QuickReplyItem::postback(yes, feedback_data(chat, log_id, true), Some(yes.to_owned()))?,
        QuickReplyItem::postback(no, feedback_data(chat, log_id, false), Some(no.to_owned()))?,
    ])
}

/// The LINE messages for a chat reply: the text, and quick replies for candidates or feedback (at most 13).
fn reply_messages(
    chat: &ChatService,
    reply: &Reply,
    lang: Lang,
) -> Result<Vec<LineMessage>, LineEventError> {
    let mut text = reply.text.clone();
    if let Some(link) = &reply.link {
        text.push_str(&format!("\n{link}"));
    }
    let text: String = text.chars().take(limits::TEXT_MAX_CHARS).collect();
    let message = LineMessage::text(text)?;
    let items = match reply.kind {
        ReplyKind::Answer => feedback_items(chat, reply.log_id, lang)?,
        ReplyKind::Candidates => {
            let mut items = Vec::new();
            for candidate in &reply.candidates {
                let data = choice_data(chat, reply.log_id, &candidate.id);
                if data.chars().count() > limits::POSTBACK_DATA_MAX_CHARS {
                    tracing::warn!(entry = %candidate.id, "entry id too long for a postback: not offered");
                    continue;
                }
                let shown: String = candidate.question.chars().take(300).collect();
                items.push(QuickReplyItem::postback(
                    label(&candidate.question),
                    data,
                    Some(shown),
                )?);
            }
            let none = match lang {
                Lang::Ja => "どれでもない",
                Lang::En => "None of these",
            };
            items.push(QuickReplyItem::postback(
                none,
                feedback_data(chat, reply.log_id, false),
                Some(none.to_owned()),
            )?);
            items.truncate(limits::QUICK_REPLY_MAX_ITEMS);
            items
        }
        ReplyKind::Fallback => Vec::new(),
    };
    Ok(vec![if items.is_empty() {
        message
    } else {
        message.with_quick_reply(QuickReply::new(items)?)
    }])
}

/// A postback: a signed feedback (`fb:LOG:1|0:MAC`) or a signed choice (`ch:LOG:ENTRY:MAC`). Anything else,
/// or a bad signature, is ignored with a log line.
async fn postback_messages(
    chat: &ChatService,
    data: &str,
    sender: Option<&str>,
    lang: Lang,
) -> Result<Vec<LineMessage>, LineEventError> {
    let Some(payload) = chat.links.open_postback(data) else {
        tracing::warn!("postback without a valid signature ignored");
        return Ok(Vec::new());
    };
    let mut parts = payload.splitn(3, ':');
    let (Some(kind), Some(log_id), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(Vec::new());
    };
    let Ok(log_id) = log_id.parse::<i64>() else {
        return Ok(Vec::new());
    };
    match kind {
        "fb" => {
            let helpful = value == "1";
            if chat.feedback(log_id, helpful, sender).await? {
                Ok(vec![LineMessage::text(super::feedback_thanks(
                    helpful, lang,
                ))?])
            } else {
                Ok(Vec::new())
            }
        }
        "ch" => match chat.choose(log_id, value, sender, lang).await? {
            Some(reply) => reply_messages(chat, &reply, lang),
            None => Ok(Vec::new()),
        },
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn labels_fit_line_limits() {
        assert_eq!(label("住民票"), "住民票");
        let long = label("コンビニで住民票や印鑑証明を取れますか、それとも窓口だけですか");
        assert_eq!(long.chars().count(), 20);
        assert!(long.ends_with('…'));
    }
}
