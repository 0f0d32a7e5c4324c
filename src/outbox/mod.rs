//! The outbox: one delivery row per (resident, channel, source firing), written before anything is sent.
//!
//! A *source* is what causes deliveries ([`SourceKind`]): a notice firing (`notice`, notice id, firing time), an
//! emergency (`emergency`, id, 0) on its own higher-priority lane, or a sign-up's confirmation mail. The unique key
//! `(source_kind, source_id, firing, resident_id, channel)` makes a second firing of the same occurrence add
//! nothing. Each row carries the address it goes to and the id of its rendered content
//! (`delivery_contents`, one per source firing, channel and language), so a retry after a restart sends exactly
//! what the first attempt sent. The [`dispatcher`]'s workers claim due rows ([`store`]), turn their contents into
//! provider messages ([`compose`]) and send them.

pub mod bench;
pub mod compose;
pub mod dispatcher;
mod store;
pub mod unsubscribe;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Serialize;
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::Notify;

use crate::db::{Backend, Db, now_ms, value_rows};
use crate::render::Rendered;
use crate::residents::ChannelKind;

/// Claimed before everything else (emergencies).
pub const PRIORITY_EMERGENCY: i64 = 100;
/// Sign-up confirmations: before notices, after emergencies.
pub const PRIORITY_SIGNUP: i64 = 50;
/// Scheduled notices.
pub const PRIORITY_NOTICE: i64 = 0;

/// Wakes the dispatcher's idle workers when new rows are written (they also poll).
pub(crate) static WAKE_DISPATCHER: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Where a delivery row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting to be sent (or being sent under a lease, or waiting for a retry).
    Pending,
    Sent,
    Failed,
    /// Record-only mode: the channel has no credentials; the rendered message is kept.
    Recorded,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Recorded => "recorded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Sent,
            DeliveryStatus::Failed,
            DeliveryStatus::Recorded,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What kind of thing causes deliveries: stored as `source_kind` on delivery rows and contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A notice firing (`source_id` the notice).
    Notice,
    /// An emergency (`source_id` the emergency): its own lane, ahead of everything.
    Emergency,
    /// An e-mail sign-up's confirmation mail (`source_id` the sign-up).
    Signup,
}

impl SourceKind {
    const ALL: [SourceKind; 3] = [
        SourceKind::Notice,
        SourceKind::Emergency,
        SourceKind::Signup,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Notice => "notice",
            SourceKind::Emergency => "emergency",
            SourceKind::Signup => "signup",
        }
    }

    pub fn parse(text: &str) -> Option<SourceKind> {
        SourceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// The claim order: higher first.
    pub fn priority(self) -> i64 {
        match self {
            SourceKind::Emergency => PRIORITY_EMERGENCY,
            SourceKind::Signup => PRIORITY_SIGNUP,
            SourceKind::Notice => PRIORITY_NOTICE,
        }
    }

    /// Whether its e-mails carry the one-click unsubscribe and preferences links. An emergency reaches everyone
    /// with an address: opt-outs do not apply to it, so it offers none.
    pub fn offers_unsubscribe(self) -> bool {
        match self {
            SourceKind::Notice | SourceKind::Signup => true,
            SourceKind::Emergency => false,
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What caused a group of deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub kind: SourceKind,
    pub id: i64,
    /// Which occurrence (a notice's scheduled firing time in ms; 0 for one-time sources).
    pub firing: i64,
}

impl Source {
    /// The claim order of its rows (the kind's).
    pub fn priority(&self) -> i64 {
        self.kind.priority()
    }
}

/// One row to write.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub resident_id: i64,
    pub channel: ChannelKind,
    pub address: String,
    pub address_detail: Option<String>,
    pub language: String,
}

/// Stores the rendered contents of a source firing and returns their ids by (channel, language).
/// Idempotent: a second call for the same firing returns the ids stored the first time.
pub async fn store_contents(
    tx: &mut sqlx::AnyConnection,
    source: Source,
    contents: &BTreeMap<(ChannelKind, String), Rendered>,
) -> Result<BTreeMap<(ChannelKind, String), i64>, sqlx::Error> {
    for ((channel, language), rendered) in contents {
        let content = serde_json::to_string(rendered)
            .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
        sqlx::query(
            "INSERT INTO delivery_contents (source_kind, source_id, firing, channel, language, content) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (source_kind, source_id, firing, channel, language) DO NOTHING",
        )
        .bind(source.kind.as_str())
        .bind(source.id)
        .bind(source.firing)
        .bind(channel.as_str())
        .bind(language.clone())
        .bind(content)
        .execute(&mut *tx)
        .await?;
    }
    let rows = sqlx::query(
        "SELECT id, channel, language FROM delivery_contents \
         WHERE source_kind = $1 AND source_id = $2 AND firing = $3",
    )
    .bind(source.kind.as_str())
    .bind(source.id)
    .bind(source.firing)
    .fetch_all(&mut *tx)
    .await?;
    let mut ids = BTreeMap::new();
    for row in rows {
        let channel: String = row.try_get("channel")?;
        if let Ok(channel) = channel.parse::<ChannelKind>() {
            ids.insert((channel, row.try_get("language")?), row.try_get("id")?);
        }
    }
    Ok(ids)
}

/// Rows per INSERT: 14 values each, well under SQLite's and PostgreSQL's parameter limits.
const ROWS_PER_INSERT: usize = 1000;

/// Writes delivery rows for `source`; rows that exist already (same resident, channel, firing) are left alone.
/// Returns how many were new. Call inside the transaction that decided who gets what.
pub async fn insert_deliveries(
    tx: &mut sqlx::AnyConnection,
    source: Source,
    content_ids: &BTreeMap<(ChannelKind, String), i64>,
    rows: &[NewDelivery],
    due_at_ms: i64,
) -> Result<u64, sqlx::Error> {
    let now = now_ms();
    let mut inserted = 0;
    let sqlite = crate::db::is_sqlite(tx);
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        // Every parameter is bound in order: SQLite gets anonymous `?` (see `anonymous_value_rows`).
        let values = if sqlite {
            crate::db::anonymous_value_rows(chunk.len(), 14)
        } else {
            value_rows(chunk.len(), 14)
        };
        let sql = format!(
            "INSERT INTO deliveries (source_kind, source_id, firing, priority, resident_id, channel, address, \
             address_detail, language, content_id, status, due_at_ms, created_at_ms, updated_at_ms) VALUES {values} \
             ON CONFLICT (source_kind, source_id, firing, resident_id, channel) DO NOTHING"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            let content_id = content_ids
                .get(&(row.channel, row.language.clone()))
                .copied()
                .ok_or_else(|| {
                    sqlx::Error::Protocol(format!(
                        "no rendered content for {} in {}",
                        row.channel, row.language
                    ))
                })?;
            query = query
                .bind(source.kind.as_str())
                .bind(source.id)
                .bind(source.firing)
                .bind(source.priority())
                .bind(row.resident_id)
                .bind(row.channel.as_str())
                .bind(row.address.clone())
                .bind(row.address_detail.clone())
                .bind(row.language.clone())
                .bind(content_id)
                .bind(DeliveryStatus::Pending.as_str())
                .bind(due_at_ms)
                .bind(now)
                .bind(now);
        }
        inserted += query.execute(&mut *tx).await?.rows_affected();
    }
    Ok(inserted)
}

/// Counts of one channel's deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeliveryCounts {
    pub targeted: i64,
    pub sent: i64,
    pub failed: i64,
    pub pending: i64,
    pub recorded: i64,
}

impl DeliveryCounts {
    fn add(&mut self, status: DeliveryStatus, n: i64) {
        self.targeted += n;
        match status {
            DeliveryStatus::Pending => self.pending += n,
            DeliveryStatus::Sent => self.sent += n,
            DeliveryStatus::Failed => self.failed += n,
            DeliveryStatus::Recorded => self.recorded += n,
        }
    }

    pub fn merge(&mut self, other: &DeliveryCounts) {
        self.targeted += other.targeted;
        self.sent += other.sent;
        self.failed += other.failed;
        self.pending += other.pending;
        self.recorded += other.recorded;
    }
}

/// Counts by channel for every firing of a source (a notice's or an emergency's progress).
pub async fn counts(
    db: &Db,
    kind: &str,
    id: i64,
) -> Result<BTreeMap<String, DeliveryCounts>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT channel, status, COUNT(*) AS n FROM deliveries WHERE source_kind = $1 AND source_id = $2 \
         GROUP BY channel, status",
    )
    .bind(kind)
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    let mut counts: BTreeMap<String, DeliveryCounts> = BTreeMap::new();
    for row in rows {
        let channel: String = row.try_get("channel")?;
        let status: String = row.try_get("status")?;
        let n: i64 = row.try_get("n")?;
        if let Some(status) = DeliveryStatus::parse(&status) {
            counts.entry(channel).or_default().add(status, n);
        }
    }
    Ok(counts)
}

/// `FOR UPDATE SKIP LOCKED` where the database has it: PostgreSQL row locks let several processes claim
/// disjoint rows; SQLite has one writer, so the claiming `UPDATE … RETURNING` is atomic by itself.
pub(crate) fn skip_locked(db: &Db) -> &'static str {
    match db.backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_kinds_read_back_what_they_store() {
        for kind in SourceKind::ALL {
            assert_eq!(SourceKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SourceKind::parse("survey"), None);
        assert!(SourceKind::Emergency.priority() > SourceKind::Signup.priority());
        assert!(SourceKind::Signup.priority() > SourceKind::Notice.priority());
        assert!(!SourceKind::Emergency.offers_unsubscribe());
        assert!(SourceKind::Notice.offers_unsubscribe());
    }
}
