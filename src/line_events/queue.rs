//! The queue between the webhook and the workers that answer: text messages get the FAQ's answer through the
//! reply API (with quick replies for candidates and feedback), follows a greeting, unfollows mark the resident's
//! LINE address inactive, postbacks record choices and feedback. One user's events go to the same worker, in
//! order. Events stored but not handled when the process stopped are handled at the next start.

use std::sync::Arc;

use channels::line::webhook::{Event, EventKind};
use sqlx::Row;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::chat::ChatService;
use crate::config::Config;
use crate::db::{Db, now_ms};

/// Workers handling LINE events side by side (each one user's events in order).
pub const QUEUE_WORKERS: usize = 4;

/// The queue between the webhook and the workers that answer. Cheap to clone; the workers stop when the last
/// clone is gone.
#[derive(Clone)]
pub struct LineQueue {
    workers: Arc<Vec<mpsc::UnboundedSender<Event>>>,
}

impl LineQueue {
    /// Starts the workers.
    pub fn start(chat: ChatService, config: Arc<Config>) -> Self {
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
                        match super::route(&chat, &config, &event)
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

pub(super) fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Message { .. } => "message",
        EventKind::Follow { .. } => "follow",
        EventKind::Unfollow => "unfollow",
        EventKind::Postback { .. } => "postback",
        EventKind::Other => "other",
    }
}
