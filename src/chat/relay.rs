//! Web chat broadcasts across hub processes. On PostgreSQL a city runs several `hub serve` processes and a
//! resident's chat page is connected to one of them; a notice or emergency banner is broadcast by whichever
//! process fired it. Each broadcast is stored in `webchat_broadcasts` and announced with `NOTIFY`; every process
//! `LISTEN`s and shows the rows it did not write itself on its own pages. After a lost connection the listener
//! reconnects and reads every row past the last one it saw, so a banner is not lost to a reconnect.

use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::PgListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::WebchatHub;
use crate::db::{Db, now_ms};

const CHANNEL: &str = "hub_webchat";
/// Stored broadcasts older than this are deleted (pages that were not open then never see them anyway).
const KEEP_MS: i64 = 24 * 60 * 60 * 1000;

/// Starts the relay for `hub` on PostgreSQL: a writer that stores and announces this process's broadcasts and a
/// listener that shows the others'. `origin` tells this process's rows from the others'.
pub fn spawn(
    db: Db,
    database_url: String,
    hub: WebchatHub,
    mut shutdown: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let origin = uuid::Uuid::new_v4().to_string();
    let (sender, mut outgoing) = mpsc::unbounded_channel::<String>();
    hub.set_relay(sender);

    let writer_db = db.clone();
    let writer_origin = origin.clone();
    let mut writer_shutdown = shutdown.clone();
    let writer = tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                message = outgoing.recv() => match message {
                    Some(message) => message,
                    None => break,
                },
                _ = writer_shutdown.changed() => {
                    // Stopping: relay what is queued already, then end.
                    while let Ok(message) = outgoing.try_recv() {
                        if let Err(error) = publish(&writer_db, &writer_origin, &message).await {
                            tracing::warn!(%error, "web chat broadcast not relayed at shutdown");
                        }
                    }
                    break;
                }
            };
            // A short database outage must not lose a banner: retry for a while.
            for attempt in 0..20u32 {
                match publish(&writer_db, &writer_origin, &message).await {
                    Ok(()) => break,
                    Err(error) => {
                        tracing::warn!(%error, attempt, "web chat broadcast not relayed yet; retrying");
                        tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt + 1)))
                            .await;
                    }
                }
            }
        }
    });

    let listener = tokio::spawn(async move {
        let mut last_seen = match latest_id(&db).await {
            Ok(id) => id,
            Err(error) => {
                tracing::warn!(%error, "web chat relay: cannot read the latest broadcast");
                0
            }
        };
        loop {
            if *shutdown.borrow() {
                break;
            }
            let mut listener = match PgListener::connect(&database_url).await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "web chat relay cannot connect; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = shutdown.changed() => break,
                    }
                }
            };
            if let Err(error) = listener.listen(CHANNEL).await {
                tracing::warn!(%error, "web chat relay cannot LISTEN; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            // Anything written while this process was not listening.
            last_seen = show_new(&db, &hub, &origin, last_seen).await;
            loop {
                tokio::select! {
                    notification = listener.try_recv() => match notification {
                        Ok(Some(_)) => last_seen = show_new(&db, &hub, &origin, last_seen).await,
                        // The connection was lost: reconnect, then catch up.
                        Ok(None) | Err(_) => break,
                    },
                    _ = shutdown.changed() => return,
                }
            }
        }
    });
    vec![writer, listener]
}

async fn publish(db: &Db, origin: &str, message: &str) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webchat_broadcasts (origin, message, created_at_ms) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(origin.to_owned())
    .bind(message.to_owned())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM webchat_broadcasts WHERE created_at_ms < $1")
        .bind(now - KEEP_MS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

async fn latest_id(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM webchat_broadcasts")
        .fetch_one(&db.pool)
        .await
}

/// Shows the other processes' broadcasts after `last_seen` on this process's pages; returns the new last id.
async fn show_new(db: &Db, hub: &WebchatHub, origin: &str, last_seen: i64) -> i64 {
    let rows = match sqlx::query(
        "SELECT id, origin, message FROM webchat_broadcasts WHERE id > $1 ORDER BY id",
    )
    .bind(last_seen)
    .fetch_all(&db.pool)
    .await
    {
        Ok(rows) => rows,
        Err(error) => {
            tracing::warn!(%error, "web chat relay cannot read broadcasts; will catch up later");
            return last_seen;
        }
    };
    let mut last = last_seen;
    for row in rows {
        let (Ok(id), Ok(from), Ok(message)) = (
            row.try_get::<i64, _>("id"),
            row.try_get::<String, _>("origin"),
            row.try_get::<String, _>("message"),
        ) else {
            continue;
        };
        last = last.max(id);
        if from != origin {
            let pages = hub.deliver_local(&message);
            tracing::info!(broadcast = id, pages, "relayed web chat broadcast shown");
        }
    }
    last
}
