//! The scheduler: fires due notices, once each even with several `hub serve` processes on one PostgreSQL.
//!
//! Firing is one transaction: claim the due notice row (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so another
//! process skips it; SQLite has one writer), build the residents' snapshot, evaluate the segment, render the
//! contents, write the delivery rows (`ON CONFLICT DO NOTHING` on the unique key, so a repeated firing of the
//! same occurrence adds nothing), and move the notice to its next occurrence or mark it fired. A crash before
//! the commit leaves the notice due and nothing written.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::audience::{self, choose_channel, choose_language};
use super::{CronSchedule, NOTICE_COLUMNS, StoredNotice};
use crate::audience_index::{LiveSnapshot, SnapshotError};
use crate::config::Config;
use crate::db::Db;
use crate::outbox::{self, NewDelivery, Source, SourceKind, WAKE_DISPATCHER, skip_locked};
use crate::render::{self, Rendered, TemplateData, city_name};
use crate::residents::ChannelKind;

/// Wakes the scheduler when a notice is created or edited (it also polls).
pub(crate) static WAKE_SCHEDULER: LazyLock<Notify> = LazyLock::new(Notify::new);

const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum FireError {
    #[error("database error while firing a notice: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot evaluate the notice's segment: {0}")]
    Snapshot(#[from] SnapshotError),
}

/// What one firing did.
#[derive(Debug, Clone)]
pub struct Fired {
    pub notice_id: i64,
    pub firing: i64,
    /// Residents in the segment.
    pub matched: u64,
    /// Delivery rows written (residents in the segment reachable on one of the notice's channels).
    pub deliveries: u64,
    pub by_channel: BTreeMap<ChannelKind, u64>,
    /// For a notice that uses the web chat: the message for every open chat page (in Japanese: the pages are
    /// anonymous), sent once the firing is committed.
    pub webchat: Option<serde_json::Value>,
}

pub fn spawn(
    db: Db,
    config: Arc<Config>,
    webchat: crate::chat::WebchatHub,
    audience: LiveSnapshot,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if *shutdown.borrow() {
                break;
            }
            match fire_due(&db, &config, &audience, Utc::now()).await {
                Ok(Some(fired)) => {
                    tracing::info!(
                        notice = fired.notice_id,
                        firing = fired.firing,
                        matched = fired.matched,
                        deliveries = fired.deliveries,
                        "notice fired"
                    );
                    WAKE_DISPATCHER.notify_waiters();
                    if let Some(message) = fired.webchat {
                        let pages = webchat.broadcast(message);
                        tracing::info!(
                            notice = fired.notice_id,
                            pages,
                            "notice shown on open web chat pages"
                        );
                    }
                    continue;
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "scheduler round failed; trying again"),
            }
            tokio::select! {
                () = WAKE_SCHEDULER.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
        tracing::info!("scheduler stopped");
    })
}

/// Fires one due notice, if there is one.
pub async fn fire_due(
    db: &Db,
    config: &Config,
    audience: &LiveSnapshot,
    now: DateTime<Utc>,
) -> Result<Option<Fired>, FireError> {
    let now_ms = now.timestamp_millis();
    let mut tx = db.begin_write().await?;
    let sql = format!(
        "UPDATE notices SET updated_at_ms = $1 WHERE id IN (SELECT id FROM notices WHERE status = 'scheduled' \
         AND next_fire_ms <= $1 ORDER BY next_fire_ms, id LIMIT 1{}) RETURNING {NOTICE_COLUMNS}",
        skip_locked(db)
    );
    let Some(row) = sqlx::query(AssertSqlSafe(sql))
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?
    else {
        tx.rollback().await?;
        return Ok(None);
    };
    let notice = StoredNotice::from_row(&row)?;
    let firing = notice.next_fire_ms.unwrap_or(now_ms);
    let span = tracing::info_span!("notice_firing", notice = notice.id, firing);

    let (status, next_fire) = next_state(&notice, now);
    let outcome = fan_out(&mut tx, config, audience, &notice, firing, now)
        .instrument(span)
        .await;
    let fired = match outcome {
        Ok(fired) => fired,
        Err(FanOutError::Render(error)) => {
            // Checked when saved; a template that still fails stops this notice with its reason.
            sqlx::query(
                "UPDATE notices SET status = 'failed', next_fire_ms = NULL, error = $1 WHERE id = $2",
            )
            .bind(error.to_string())
            .bind(notice.id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::error!(notice = notice.id, %error, "notice cannot be rendered");
            return Ok(None);
        }
        Err(FanOutError::Database(error)) => return Err(error.into()),
        Err(FanOutError::Snapshot(error)) => return Err(error.into()),
    };
    sqlx::query(
        "UPDATE notices SET status = $1, next_fire_ms = $2, fire_count = fire_count + 1, last_fired_at_ms = $3, \
         error = NULL, updated_at_ms = $3 WHERE id = $4",
    )
    .bind(status)
    .bind(next_fire)
    .bind(now_ms)
    .bind(notice.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(fired))
}

/// After a firing: a recurring notice moves to its next occurrence; others are done. (Quiet hours hold each
/// resident's delivery, not the notice.)
fn next_state(notice: &StoredNotice, now: DateTime<Utc>) -> (&'static str, Option<i64>) {
    let next = notice
        .cron
        .as_deref()
        .and_then(|text| CronSchedule::parse(text).ok())
        .and_then(|cron| cron.next_after(now));
    match next {
        Some(at) => ("scheduled", Some(at.timestamp_millis())),
        None => ("fired", None),
    }
}

#[derive(Debug, thiserror::Error)]
enum FanOutError {
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

async fn fan_out(
    tx: &mut sqlx::AnyConnection,
    config: &Config,
    live: &LiveSnapshot,
    notice: &StoredNotice,
    firing: i64,
    now: DateTime<Utc>,
) -> Result<Fired, FanOutError> {
    let rule = match segments::Rule::parse(&notice.segment) {
        Ok(rule) => rule,
        Err(error) => {
            return Err(FanOutError::Render(render::RenderError {
                channel: ChannelKind::Line,
                language: "ja".into(),
                part: "segment",
                message: error.to_string(),
            }));
        }
    };
    // The live snapshot as of every change committed before now: an import committed before it is in the
    // segment whole, one committed after it not at all (one transaction, one step of the feed).
    let segment = live.evaluate(&rule, segments::tokyo_date(now)).await?;
    let audience = audience::reachable(tx, &segment).await?;
    let mut rows = Vec::with_capacity(segment.len() as usize);
    // When each row is due: now, or the end of the resident's quiet hours (registration, issue 8), worked out
    // once per distinct quiet hours (most residents keep the default).
    let mut due: Vec<i64> = Vec::with_capacity(segment.len() as usize);
    let mut release: std::collections::HashMap<super::QuietHours, i64> =
        std::collections::HashMap::new();
    let mut by_channel: BTreeMap<ChannelKind, u64> = BTreeMap::new();
    for key in &segment {
        let Some(resident) = audience.residents.get(&key) else {
            continue;
        };
        if !resident.wants(notice.topic.as_deref()) {
            continue;
        }
        let Some(channel) = choose_channel(&resident.preferred, &notice.channels, |c| {
            resident.addresses.contains_key(&c)
        }) else {
            continue;
        };
        let Some((address, detail)) = resident.addresses.get(&channel) else {
            continue;
        };
        *by_channel.entry(channel).or_default() += 1;
        rows.push(NewDelivery {
            resident_id: resident.id,
            channel,
            address: address.clone(),
            address_detail: detail.clone(),
            language: choose_language(&resident.language, &notice.body),
        });
        due.push(if notice.ignore_quiet_hours {
            now.timestamp_millis()
        } else {
            *release
                .entry(resident.quiet)
                .or_insert_with(|| resident.quiet.release(now).timestamp_millis())
        });
    }
    let mut contents: BTreeMap<(ChannelKind, String), Rendered> = BTreeMap::new();
    let push_url = format!("{}/", config.public_url);
    for row in &rows {
        let key = (row.channel, row.language.clone());
        if contents.contains_key(&key) {
            continue;
        }
        let body = notice
            .body
            .get(&row.language)
            .or_else(|| notice.body.get("ja"))
            .map(String::as_str)
            .unwrap_or_default();
        let data = TemplateData {
            title: &notice.title,
            body,
            city: city_name(&row.language),
            language: &row.language,
            notice_id: notice.id,
        };
        let rendered = render::render(&notice.templates, row.channel, &data, Some(&push_url))?;
        contents.insert(key, rendered);
    }
    let source = Source {
        kind: SourceKind::Notice,
        id: notice.id,
        firing,
    };
    let content_ids = outbox::store_contents(tx, source, &contents).await?;
    // One insert per due time: most residents share the default quiet hours, so there are few groups.
    let mut by_due: BTreeMap<i64, Vec<NewDelivery>> = BTreeMap::new();
    for (row, due_at) in rows.into_iter().zip(due) {
        by_due.entry(due_at).or_default().push(row);
    }
    let mut deliveries = 0;
    for (due_at, group) in &by_due {
        deliveries += outbox::insert_deliveries(tx, source, &content_ids, group, *due_at).await?;
    }
    let webchat = if notice.channels.contains(&ChannelKind::Webchat) {
        let body = notice
            .body
            .get("ja")
            .map(String::as_str)
            .unwrap_or_default();
        let data = TemplateData {
            title: &notice.title,
            body,
            city: city_name("ja"),
            language: "ja",
            notice_id: notice.id,
        };
        match render::render(&notice.templates, ChannelKind::Webchat, &data, None)? {
            render::Rendered::Webchat { text } => Some(serde_json::json!({
                "type": "notice",
                "id": notice.id,
                "title": notice.title,
                "body": text,
            })),
            _ => None,
        }
    } else {
        None
    };
    Ok(Fired {
        notice_id: notice.id,
        firing,
        matched: segment.len(),
        deliveries,
        by_channel,
        webchat,
    })
}
