//! Claiming and recording: the SQL of the outbox's delivery rows and LINE batches, and where SQLite and
//! PostgreSQL differ.
//!
//! - **Claiming** is one statement: `UPDATE deliveries SET lease… WHERE id IN (SELECT … ORDER BY priority DESC,
//!   due_at_ms LIMIT n FOR UPDATE SKIP LOCKED) RETURNING …` on PostgreSQL (several processes take disjoint rows);
//!   on SQLite the same `UPDATE … RETURNING` without the lock clause is atomic (one writer). A lease that runs out
//!   (a crashed worker) makes the row claimable again.
//! - **LINE** rows are grouped into batches of up to 500 recipients with the same rendered content (hence the
//!   same language). The batch, its recipients and its `X-Line-Retry-Key` are committed in the transaction that
//!   claims the rows, before any request.
//! - **Leases** are short and renewed: a claim holds emergency rows for [`Store::emergency_lease`] (3 s) and
//!   others for the dispatch lease (`HUB_DISPATCH_LEASE_SECS`, 20 s); the process that claimed them renews the
//!   leases of everything it still holds about once a second ([`Store::renew`], the heartbeat), so a killed
//!   process's rows are taken over within seconds while a slow but living one keeps its own. A process never
//!   claims rows it holds itself (a claim of a row whose renewal was late is dropped from the claim).
//! - **Recording** writes each outcome as soon as it is known, retrying the write for as long as the lease holds;
//!   email and push outcomes that finish together are written in one transaction (SQLite has one writer).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use channels::Outcome;
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::{DeliveryStatus, SourceKind, skip_locked};
use crate::db::{Db, now_ms, value_list};
use crate::render::Rendered;
use crate::residents::ChannelKind;

/// A claimed one-recipient row.
pub(super) struct Claimed {
    pub id: i64,
    /// What caused the row; `Err` holds a kind this version does not know (the row fails, naming it).
    pub source: Result<SourceKind, String>,
    pub resident_id: i64,
    pub address: String,
    pub address_detail: Option<String>,
    pub content_id: i64,
    pub attempts: i64,
}

/// A claimed LINE batch.
pub(super) struct LineBatch {
    pub id: i64,
    /// `multicast` (the stored recipients) or `broadcast` (every friend of the account; no recipients named).
    pub endpoint: String,
    pub retry_key: Uuid,
    pub content_id: i64,
    pub attempts: i64,
    /// (delivery id, LINE user id), in id order: the same every time the batch is sent.
    pub recipients: Vec<(i64, String)>,
}

/// What to write for an outcome.
pub(super) struct Recording {
    pub status: DeliveryStatus,
    pub provider_id: Option<String>,
    pub error: Option<String>,
    /// For a retry: when the row is due again.
    pub retry_at_ms: Option<i64>,
}

impl Recording {
    pub fn from_outcome(outcome: &Outcome, attempts: i64, max_attempts: i64) -> Recording {
        match outcome {
            Outcome::Sent { provider_id } => Recording {
                status: DeliveryStatus::Sent,
                provider_id: Some(provider_id.clone()),
                error: None,
                retry_at_ms: None,
            },
            Outcome::Recorded => Recording {
                status: DeliveryStatus::Recorded,
                provider_id: None,
                error: None,
                retry_at_ms: None,
            },
            Outcome::Failed { reason } => Recording {
                status: DeliveryStatus::Failed,
                provider_id: None,
                error: Some(reason.to_string()),
                retry_at_ms: None,
            },
            Outcome::Retry { reason, .. } if attempts >= max_attempts => Recording {
                status: DeliveryStatus::Failed,
                provider_id: None,
                error: Some(format!("gave up after {attempts} attempts: {reason}")),
                retry_at_ms: None,
            },
            Outcome::Retry { after, reason } => Recording {
                status: DeliveryStatus::Pending,
                provider_id: None,
                error: Some(reason.clone()),
                retry_at_ms: Some(
                    now_ms() + i64::try_from(after.as_millis()).unwrap_or(i64::MAX / 4),
                ),
            },
        }
    }

    pub fn failed(reason: impl Into<String>) -> Recording {
        Recording {
            status: DeliveryStatus::Failed,
            provider_id: None,
            error: Some(reason.into()),
            retry_at_ms: None,
        }
    }
}

/// What this process holds under its leases: renewed by the heartbeat until recorded or released.
#[derive(Default)]
struct Held {
    rows: HashSet<i64>,
    batches: HashSet<i64>,
}

/// The outbox's rows as one worker process sees them: its lease owner id, the leases, what it holds, and the
/// contents it read.
pub(super) struct Store {
    db: Db,
    owner: String,
    lease: Duration,
    emergency_lease: Duration,
    max_attempts: i64,
    held: Mutex<Held>,
    contents: Mutex<HashMap<i64, Arc<Rendered>>>,
}

/// Ids per renewing statement.
const RENEW_CHUNK: usize = 500;

impl Store {
    /// `lease` for notices and sign-ups, `emergency_lease` for emergency rows and batches.
    pub fn new(db: Db, lease: Duration, emergency_lease: Duration, max_attempts: i64) -> Store {
        Store {
            db,
            owner: Uuid::new_v4().to_string(),
            lease,
            emergency_lease,
            max_attempts,
            held: Mutex::new(Held::default()),
            contents: Mutex::new(HashMap::new()),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps only the rows this process did not hold already (a claim that found a row whose renewal was late),
    /// and holds them.
    fn hold_rows<T>(&self, claimed: Vec<T>, id: impl Fn(&T) -> i64) -> Vec<T> {
        let mut held = self.held();
        claimed
            .into_iter()
            .filter(|row| held.rows.insert(id(row)))
            .collect()
    }

    fn hold_batches<T>(&self, claimed: Vec<T>, id: impl Fn(&T) -> i64) -> Vec<T> {
        let mut held = self.held();
        claimed
            .into_iter()
            .filter(|batch| held.batches.insert(id(batch)))
            .collect()
    }

    /// Rows this process no longer works on (recorded or released): the heartbeat stops renewing them.
    pub fn let_go_rows(&self, ids: impl IntoIterator<Item = i64>) {
        let mut held = self.held();
        for id in ids {
            held.rows.remove(&id);
        }
    }

    pub fn let_go_batch(&self, id: i64) {
        self.held().batches.remove(&id);
    }

    /// How many rows and batches this process holds.
    pub fn holding(&self) -> (usize, usize) {
        let held = self.held();
        (held.rows.len(), held.batches.len())
    }

    /// The heartbeat: extends the leases of every row and batch this process still holds (emergency ones by
    /// the emergency lease, others by the dispatch lease). Rows another process took meanwhile (after this one
    /// was away longer than a lease) are left to it.
    pub async fn renew(&self) -> Result<(), sqlx::Error> {
        let (rows, batches): (Vec<i64>, Vec<i64>) = {
            let held = self.held();
            (
                held.rows.iter().copied().collect(),
                held.batches.iter().copied().collect(),
            )
        };
        let lease = self.lease_case(now_ms());
        for (table, ids) in [("deliveries", rows), ("delivery_batches", batches)] {
            let live = if table == "deliveries" {
                "status = 'pending'"
            } else {
                "status = 'open'"
            };
            for chunk in ids.chunks(RENEW_CHUNK) {
                let sql = format!(
                    "UPDATE {table} SET lease_until_ms = {lease} WHERE lease_owner = $1 AND {live} \
                     AND lease_until_ms > 0 AND id IN ({})",
                    value_list(chunk.len(), 2)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql)).bind(&self.owner);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&self.db.pool).await?;
            }
        }
        Ok(())
    }

    /// The lease of a claim made at `now`, as an SQL expression of the row's priority (integers only).
    fn lease_case(&self, now: i64) -> String {
        let emergency = SourceKind::Emergency.priority();
        format!(
            "(CASE WHEN priority >= {emergency} THEN {} ELSE {} END)",
            self.lease_until(now, emergency),
            self.lease_until(now, i64::MIN)
        )
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// This process's lease owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// What to record for a provider's outcome (a retry past the last attempt fails).
    pub fn recording(&self, outcome: &Outcome, attempts: i64) -> Recording {
        Recording::from_outcome(outcome, attempts, self.max_attempts)
    }

    /// Whether an emergency is being sent: its fan-out is unfinished or some of its deliveries are due. Notices
    /// then wait on every channel, so the emergency has the processor, the database and the providers to itself.
    pub async fn emergency_in_progress(&self) -> Result<bool, sqlx::Error> {
        let due: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE channel IN ('line', 'email', 'push') \
             AND status = 'pending' AND priority >= $1 AND due_at_ms <= $2 LIMIT 1) due",
        )
        .bind(SourceKind::Emergency.priority())
        .bind(now_ms())
        .fetch_one(&self.db.pool)
        .await?;
        if due > 0 {
            return Ok(true);
        }
        // A fan-out that has not finished within ten minutes is broken, not under way: notices do not wait for it.
        let unfinished: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM emergencies WHERE fanned_out_at_ms IS NULL \
             AND created_at_ms > $1 LIMIT 1) unfinished",
        )
        .bind(now_ms() - 10 * 60 * 1000)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(unfinished > 0)
    }

    /// When a claim made at `now` of rows of `priority` runs out unless renewed.
    fn lease_until(&self, now: i64, priority: i64) -> i64 {
        let lease = if priority >= SourceKind::Emergency.priority() {
            self.emergency_lease
        } else {
            self.lease
        };
        now + i64::try_from(lease.as_millis()).unwrap_or(300_000)
    }

    pub async fn content(&self, content_id: i64) -> Result<Arc<Rendered>, sqlx::Error> {
        if let Some(found) = self
            .contents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&content_id)
        {
            return Ok(found.clone());
        }
        let text: String =
            sqlx::query_scalar("SELECT content FROM delivery_contents WHERE id = $1")
                .bind(content_id)
                .fetch_one(&self.db.pool)
                .await?;
        let rendered: Rendered =
            serde_json::from_str(&text).map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
        let rendered = Arc::new(rendered);
        let mut cache = self.contents.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(content_id, rendered.clone());
        Ok(rendered)
    }

    /// Claims up to `limit` due email or push rows (emergencies only while one is being sent).
    pub async fn claim_singles(
        &self,
        channel: ChannelKind,
        limit: usize,
    ) -> Result<Vec<Claimed>, sqlx::Error> {
        let min_priority = if self.emergency_in_progress().await? {
            SourceKind::Emergency.priority()
        } else {
            i64::MIN
        };
        let now = now_ms();
        let sql = format!(
            "UPDATE deliveries SET lease_until_ms = {}, lease_owner = $1, attempts = attempts + 1, \
             updated_at_ms = $2 WHERE id IN (SELECT id FROM deliveries WHERE channel = $3 AND status = 'pending' \
             AND due_at_ms <= $2 AND lease_until_ms < $2 AND priority >= $4 \
             ORDER BY priority DESC, due_at_ms, id LIMIT $5{}) \
             RETURNING id, source_kind, resident_id, address, address_detail, content_id, attempts",
            self.lease_case(now),
            skip_locked(&self.db)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&self.owner)
            .bind(now)
            .bind(channel.as_str())
            .bind(min_priority)
            .bind(limit as i64)
            .fetch_all(&self.db.pool)
            .await?;
        let claimed = rows
            .iter()
            .map(|row| {
                let kind: String = row.try_get("source_kind")?;
                Ok(Claimed {
                    id: row.try_get("id")?,
                    source: SourceKind::parse(&kind).ok_or(kind),
                    resident_id: row.try_get("resident_id")?,
                    address: row.try_get("address")?,
                    address_detail: row.try_get("address_detail")?,
                    content_id: row.try_get("content_id")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(self.hold_rows(claimed, |row| row.id))
    }

    /// Gives claimed rows that were not started back (on shutdown): pending, claimable at once, the claim's
    /// attempt not counted.
    pub async fn release(&self, ids: Vec<i64>) {
        if ids.is_empty() {
            return;
        }
        let sql = format!(
            "UPDATE deliveries SET lease_until_ms = 0, attempts = attempts - 1 WHERE lease_owner = $1 \
             AND status = 'pending' AND id IN ({})",
            value_list(ids.len(), 2)
        );
        let released = self
            .retrying("release claimed rows", || {
                let mut query = sqlx::query(AssertSqlSafe(sql.clone())).bind(&self.owner);
                for id in &ids {
                    query = query.bind(*id);
                }
                query.execute(&self.db.pool)
            })
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, rows = ids.len(), "claimed rows not released; they are sent when the lease runs out");
        }
        self.let_go_rows(ids);
    }

    /// Records the outcomes of several rows in one transaction (one commit instead of one per row: the
    /// single writer of SQLite is the bottleneck of email and push otherwise). Outcomes are handed over as they
    /// come, so a group holds what finished while the previous group was being written.
    pub async fn record_singles(
        &self,
        channel: ChannelKind,
        group: &[(Claimed, Recording)],
    ) -> Result<(), sqlx::Error> {
        let recorded = self.write_singles(channel, group).await;
        // Written, or given up after the lease (then another worker may take them): no longer renewed.
        self.let_go_rows(group.iter().map(|(row, _)| row.id));
        recorded
    }

    async fn write_singles(
        &self,
        channel: ChannelKind,
        group: &[(Claimed, Recording)],
    ) -> Result<(), sqlx::Error> {
        for (row, recording) in group {
            tracing::debug!(%channel, delivery = row.id, status = recording.status.as_str(), "delivery outcome");
        }
        if self.db.backend == crate::db::Backend::Postgres {
            // One statement for the group (a round trip per row otherwise).
            return self
                .retrying("record delivery outcomes", || async {
                    let values = (0..group.len())
                        .map(|i| {
                            let p = 2 + i * 5;
                            format!(
                                "(${}::bigint, ${}::text, ${}::text, ${}::text, ${}::bigint)",
                                p,
                                p + 1,
                                p + 2,
                                p + 3,
                                p + 4
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "UPDATE deliveries AS d SET status = v.status, \
                         provider_id = COALESCE(v.provider_id, d.provider_id), error = v.error, \
                         due_at_ms = COALESCE(v.retry_at, d.due_at_ms), lease_until_ms = 0, updated_at_ms = $1 \
                         FROM (VALUES {values}) AS v(id, status, provider_id, error, retry_at) WHERE d.id = v.id"
                    );
                    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(now_ms());
                    for (row, recording) in group {
                        query = query
                            .bind(row.id)
                            .bind(recording.status.as_str())
                            .bind(recording.provider_id.clone())
                            .bind(recording.error.clone())
                            .bind(recording.retry_at_ms);
                    }
                    query.execute(&self.db.pool).await.map(|_| ())
                })
                .await;
        }
        self.retrying("record delivery outcomes", || async {
            let now = now_ms();
            let mut tx = self.db.begin_write().await?;
            for (row, recording) in group {
                sqlx::query(
                    "UPDATE deliveries SET status = $1, provider_id = COALESCE($2, provider_id), error = $3, \
                     due_at_ms = COALESCE($4, due_at_ms), lease_until_ms = 0, updated_at_ms = $5 WHERE id = $6",
                )
                .bind(recording.status.as_str())
                .bind(recording.provider_id.clone())
                .bind(recording.error.clone())
                .bind(recording.retry_at_ms)
                .bind(now)
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
        .await
    }

    /// Runs a write until it succeeds (a busy SQLite, a dropped connection, a database restarting): an outcome
    /// that is known must not be lost, or the row would be sent again when its lease runs out. It keeps trying
    /// for as long as the lease holds (a fixed number of quick attempts gave up during a 10 s database restart,
    /// and the rows were sent twice); after that another worker may take the row anyway.
    pub async fn retrying<F, Fut, T>(&self, what: &str, mut write: F) -> Result<T, sqlx::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        let started = std::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            match write().await {
                Ok(value) => return Ok(value),
                Err(error) if started.elapsed() < self.lease => {
                    attempt += 1;
                    tracing::warn!(%error, attempt, "{what} failed; retrying");
                    let wait = Duration::from_millis(250 * u64::from(attempt.min(4)));
                    tokio::time::sleep(wait).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Batches stored earlier that are due (a retry, or one whose worker stopped): the same recipients, the
    /// same key.
    pub async fn claim_line_batches(
        &self,
        limit: usize,
        min_priority: i64,
    ) -> Result<Vec<LineBatch>, sqlx::Error> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let sql = format!(
            "UPDATE delivery_batches SET lease_until_ms = {}, lease_owner = $1, attempts = attempts + 1, \
             updated_at_ms = $2 WHERE id IN (SELECT id FROM delivery_batches WHERE channel = 'line' \
             AND status = 'open' AND due_at_ms <= $2 AND lease_until_ms < $2 AND priority >= $4 \
             ORDER BY priority DESC, due_at_ms, id LIMIT $3{}) \
             RETURNING id, endpoint, retry_key, content_id, attempts",
            self.lease_case(now),
            skip_locked(&self.db)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&self.owner)
            .bind(now)
            .bind(limit as i64)
            .bind(min_priority)
            .fetch_all(&self.db.pool)
            .await?;
        let mut batches = Vec::with_capacity(rows.len());
        let rows = self.hold_batches(rows, |row| row.try_get("id").unwrap_or(0));
        let held: Vec<i64> = rows
            .iter()
            .filter_map(|row| row.try_get("id").ok())
            .collect();
        let read = self.read_batches(rows, &mut batches).await;
        if read.is_err() {
            // Not sent: let the leases run out so they are claimed again.
            for id in held {
                self.let_go_batch(id);
            }
        }
        read.map(|()| batches)
    }

    async fn read_batches(
        &self,
        rows: Vec<sqlx::any::AnyRow>,
        batches: &mut Vec<LineBatch>,
    ) -> Result<(), sqlx::Error> {
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let key: String = row.try_get("retry_key")?;
            let retry_key =
                Uuid::parse_str(&key).map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
            let endpoint: String = row.try_get("endpoint")?;
            if endpoint == "broadcast" {
                // Every friend of the account: no recipients are named; the rows are only counted.
                batches.push(LineBatch {
                    id,
                    endpoint,
                    retry_key,
                    content_id: row.try_get("content_id")?,
                    attempts: row.try_get("attempts")?,
                    recipients: Vec::new(),
                });
                continue;
            }
            let recipients = sqlx::query(
                "SELECT id, address FROM deliveries WHERE batch_id = $1 AND status = 'pending' ORDER BY id",
            )
            .bind(id)
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("address")?)))
            .collect::<Result<Vec<(i64, String)>, sqlx::Error>>()?;
            batches.push(LineBatch {
                id,
                endpoint,
                retry_key,
                content_id: row.try_get("content_id")?,
                attempts: row.try_get("attempts")?,
                recipients,
            });
        }
        Ok(())
    }

    /// Claims due LINE rows that have no batch yet, groups them by content (one language, one message) into
    /// batches of up to 500, and stores each batch and its retry key, all in one transaction.
    pub async fn form_line_batches(
        &self,
        limit: i64,
        min_priority: i64,
    ) -> Result<Vec<LineBatch>, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        let sql = format!(
            "UPDATE deliveries SET lease_until_ms = {}, lease_owner = $1, updated_at_ms = $2 \
             WHERE id IN (SELECT id FROM deliveries WHERE channel = 'line' AND status = 'pending' \
             AND batch_id IS NULL AND due_at_ms <= $2 AND lease_until_ms < $2 AND priority >= $4 \
             ORDER BY priority DESC, due_at_ms, id LIMIT $3{}) RETURNING id, address, content_id, priority",
            self.lease_case(now),
            skip_locked(&self.db)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&self.owner)
            .bind(now)
            .bind(limit)
            .bind(min_priority)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let mut groups: BTreeMap<(i64, i64), Vec<(i64, String)>> = BTreeMap::new();
        for row in &rows {
            let priority: i64 = row.try_get("priority")?;
            let content_id: i64 = row.try_get("content_id")?;
            groups
                .entry((-priority, content_id))
                .or_default()
                .push((row.try_get("id")?, row.try_get("address")?));
        }
        let mut batches = Vec::new();
        for ((negative_priority, content_id), mut members) in groups {
            members.sort_unstable_by_key(|(id, _)| *id);
            let lease_until = self.lease_until(now, -negative_priority);
            for chunk in members.chunks(channels::line::limits::MULTICAST_MAX_RECIPIENTS) {
                let retry_key = Uuid::new_v4();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO delivery_batches (channel, retry_key, content_id, priority, size, status, \
                     attempts, due_at_ms, lease_until_ms, lease_owner, created_at_ms, updated_at_ms) \
                     VALUES ('line', $1, $2, $3, $4, 'open', 1, $5, $6, $7, $5, $5) RETURNING id",
                )
                .bind(retry_key.to_string())
                .bind(content_id)
                .bind(-negative_priority)
                .bind(chunk.len() as i64)
                .bind(now)
                .bind(lease_until)
                .bind(&self.owner)
                .fetch_one(&mut *tx)
                .await?;
                // In order: anonymous placeholders on SQLite (see `db::anonymous_value_rows`).
                let sql = match self.db.backend {
                    crate::db::Backend::Sqlite => format!(
                        "UPDATE deliveries SET batch_id = ?, attempts = attempts + 1 WHERE id IN ({})",
                        vec!["?"; chunk.len()].join(", ")
                    ),
                    crate::db::Backend::Postgres => format!(
                        "UPDATE deliveries SET batch_id = $1, attempts = attempts + 1 WHERE id IN ({})",
                        value_list(chunk.len(), 2)
                    ),
                };
                let mut update = sqlx::query(AssertSqlSafe(sql)).bind(id);
                for (delivery, _) in chunk {
                    update = update.bind(*delivery);
                }
                update.execute(&mut *tx).await?;
                batches.push(LineBatch {
                    id,
                    endpoint: "multicast".to_owned(),
                    retry_key,
                    content_id,
                    attempts: 1,
                    recipients: chunk.to_vec(),
                });
            }
        }
        tx.commit().await?;
        Ok(self.hold_batches(batches, |batch| batch.id))
    }

    pub async fn record_line_batch(
        &self,
        batch: &LineBatch,
        recording: Recording,
        done: bool,
    ) -> Result<(), sqlx::Error> {
        let recorded = self.write_line_batch(batch, recording, done).await;
        self.let_go_batch(batch.id);
        recorded
    }

    async fn write_line_batch(
        &self,
        batch: &LineBatch,
        recording: Recording,
        done: bool,
    ) -> Result<(), sqlx::Error> {
        self.retrying("record a LINE batch outcome", || async {
            let now = now_ms();
            let mut tx = self.db.begin_write().await?;
            // The batch row first: it is the lock an emergency fan-out takes before attaching rows to a
            // broadcast batch, so rows attached concurrently are either updated below or take the stored outcome.
            sqlx::query(
                "UPDATE delivery_batches SET status = $1, due_at_ms = COALESCE($2, due_at_ms), \
                 lease_until_ms = 0, updated_at_ms = $3, outcome = $5, provider_id = $6, error = $7 \
                 WHERE id = $4",
            )
            .bind(if done { "done" } else { "open" })
            .bind(recording.retry_at_ms)
            .bind(now)
            .bind(batch.id)
            .bind(done.then(|| recording.status.as_str()))
            .bind(recording.provider_id.clone())
            .bind(recording.error.clone())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE deliveries SET status = $1, provider_id = COALESCE($2, provider_id), error = $3, \
                 lease_until_ms = 0, updated_at_ms = $4 WHERE batch_id = $5 AND status = 'pending'",
            )
            .bind(recording.status.as_str())
            .bind(recording.provider_id.clone())
            .bind(recording.error.clone())
            .bind(now)
            .bind(batch.id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
        .await
    }

    /// A LINE recipient whose stored user id is not one: failed, the rest of its batch goes on.
    pub async fn fail_line_recipient(
        &self,
        delivery: i64,
        error: String,
    ) -> Result<(), sqlx::Error> {
        self.retrying("record an invalid LINE recipient", || {
            sqlx::query(
                "UPDATE deliveries SET status = 'failed', error = $1, lease_until_ms = 0, \
                 updated_at_ms = $2 WHERE id = $3",
            )
            .bind(error.clone())
            .bind(now_ms())
            .bind(delivery)
            .execute(&self.db.pool)
        })
        .await
        .map(|_| ())
    }

    /// A push subscription that is gone or unusable: not used again.
    pub async fn deactivate_subscription(
        &self,
        resident_id: i64,
        endpoint: &str,
    ) -> Result<(), sqlx::Error> {
        self.retrying("mark an unusable subscription inactive", || {
            sqlx::query(
                "UPDATE resident_addresses SET active = 0 WHERE resident_id = $1 AND channel = 'push' \
                 AND address = $2",
            )
            .bind(resident_id)
            .bind(endpoint.to_owned())
            .execute(&self.db.pool)
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_becomes_failure_after_the_last_attempt() {
        let retry = Outcome::Retry {
            after: Duration::from_secs(2),
            reason: "LINE multicast: 500".into(),
        };
        let again = Recording::from_outcome(&retry, 3, 10);
        assert_eq!(again.status, DeliveryStatus::Pending);
        assert!(again.retry_at_ms.is_some_and(|at| at > now_ms()));
        let given_up = Recording::from_outcome(&retry, 10, 10);
        assert_eq!(given_up.status, DeliveryStatus::Failed);
        assert!(given_up.error.is_some_and(|e| e.contains("gave up")));
    }
}
