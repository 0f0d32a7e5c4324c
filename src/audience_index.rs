//! The live snapshot (issue 16): the residents' segment attributes indexed in roaring bitmaps, built once and then
//! kept current by applying changes, so a segment preview and a notice's audience are evaluated in memory.
//!
//! The database says what changed: triggers (migration 0011) give every change to a resident row or an address
//! row a sequence number, in the same transaction, in commit order, and keep one row per resident in
//! `segment_changes` with its latest number. The snapshot remembers the number it is current to. Before each
//! evaluation it asks the database for the latest number (one indexed `MAX`); when it is behind, it reads the
//! residents changed since, in one read transaction (a consistent view: a change committed in one transaction,
//! such as an import, is applied whole or not at all), and applies them. So a change answered 2xx by any process
//! on the database is seen by the next evaluation in every process, and a snapshot known to be behind is never
//! evaluated: when the database cannot be asked, the evaluation fails instead. A background task keeps the
//! snapshot current between evaluations (woken by `NOTIFY` on PostgreSQL, polling as well), so evaluations
//! rarely wait for a catch-up.
//!
//! The feed is pruned ([`prune`], every [`PRUNE_EVERY`]): rows older than one period go, except the highest one
//! (the latest number is `MAX(seq)`), and the number pruned through is kept in `settings`. A snapshot behind that
//! number could miss a pruned change, so its catch-up reads everything again instead.
//!
//! Ages are never stored: the snapshot indexes birth dates and a rule's ages are worked out for the date it is
//! evaluated on, so nothing needs rebuilding when the day changes.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use segments::{Profile, RoaringBitmap, Rule, SegmentSummary, Snapshot, SnapshotBuilder};
use serde::Serialize;
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db::{Backend, Db, value_list};
use crate::residents::ChannelKind;

/// The `NOTIFY` channel the feed's trigger announces changes on (PostgreSQL).
pub const NOTIFY_CHANNEL: &str = "hub_segments";
/// How often the background task looks for changes when nothing wakes it.
const POLL: Duration = Duration::from_millis(500);
/// Residents read per `IN (…)` list when catching up.
const CHUNK: usize = 500;
/// Above this many changed residents a catch-up reads everything again: a whole read is then cheaper than
/// looking residents up one list at a time.
const REBUILD_ABOVE: usize = 100_000;

/// How often the feed is pruned; a row goes at the first pruning at least one period after it was written.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// The `settings` key holding the feed number pruned through (absent: nothing pruned yet).
const PRUNED_THROUGH: &str = "segment_feed_pruned_through";

/// The residents' segment snapshot, shared by the requests and workers of one process.
#[derive(Clone)]
pub struct LiveSnapshot {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    current: RwLock<Option<Current>>,
    /// One catch-up at a time; the others wait for it and then find the snapshot current.
    refresh: tokio::sync::Mutex<()>,
}

struct Current {
    snapshot: Snapshot,
    /// The feed number the snapshot includes every change up to.
    seq: i64,
    status: SnapshotStatus,
}

/// What the snapshot holds and what building it cost (for `hub bench preview` and logs).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SnapshotStatus {
    pub residents: u64,
    pub seq: i64,
    /// The last whole build: when the snapshot was first read or a catch-up found too much changed.
    pub build_ms: f64,
    pub builds: u64,
    pub catch_ups: u64,
    /// Residents applied as changes since the last build.
    pub applied: u64,
    /// The indexes' memory (roaring's serialized sizes, the birth-day lists, the keys).
    pub memory_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot bring the residents' snapshot up to date: {0}")]
    Database(#[from] sqlx::Error),
}

/// Channels as bits, so the whole read keeps a byte per resident rather than a list of strings.
fn channel_bit(channel: ChannelKind) -> u8 {
    1 << (ChannelKind::ALL
        .iter()
        .position(|c| *c == channel)
        .unwrap_or_default() as u8)
}

fn channels_of(bits: u8) -> Vec<String> {
    ChannelKind::ALL
        .into_iter()
        .filter(|c| bits & channel_bit(*c) != 0)
        .map(|c| c.as_str().to_owned())
        .collect()
}

fn profile_from_row(row: &sqlx::any::AnyRow, channels: u8) -> Result<Profile, sqlx::Error> {
    let birth_date: Option<String> = row.try_get("birth_date")?;
    let language: String = row.try_get("language")?;
    let interests: String = row.try_get("interests")?;
    Ok(Profile {
        birth_date: birth_date.and_then(|d| NaiveDate::from_str(&d).ok()),
        district: row.try_get("district")?,
        language,
        interests: serde_json::from_str(&interests).unwrap_or_default(),
        channels: channels_of(channels),
    })
}

fn snapshot_key(id: i64) -> Option<u32> {
    let key = u32::try_from(id).ok();
    if key.is_none() {
        tracing::warn!(id, "resident id beyond the snapshot's range; left out");
    }
    key
}

const PROFILE_COLUMNS: &str = "id, birth_date, district, language, interests, pending";

/// A read transaction with one consistent view of the database: PostgreSQL's repeatable read; on SQLite (WAL)
/// any read transaction sees the database as of its first read.
async fn begin_read(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    match db.backend {
        Backend::Sqlite => db.pool.begin_with("BEGIN").await,
        Backend::Postgres => {
            db.pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
        }
    }
}

async fn latest_seq(conn: &mut sqlx::AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(seq), 0) FROM segment_changes")
        .fetch_one(conn)
        .await
}

/// The feed number pruning removed rows up to (0: none).
async fn pruned_through(conn: &mut sqlx::AnyConnection) -> Result<i64, sqlx::Error> {
    let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(PRUNED_THROUGH)
        .fetch_optional(conn)
        .await?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// The latest feed number, for [`prune`]'s next turn.
pub async fn latest(db: &Db) -> Result<i64, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    latest_seq(&mut conn).await
}

/// Removes the feed's rows numbered up to `through`, except the highest row of all (the latest number is read as
/// `MAX(seq)`), and records `through` as pruned, in one transaction: a reader sees both or neither. Returns the
/// rows removed.
pub async fn prune(db: &Db, through: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let before = pruned_through(&mut tx).await?;
    if through <= before {
        tx.rollback().await?;
        return Ok(0);
    }
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2)          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
    )
    .bind(PRUNED_THROUGH)
    .bind(through.to_string())
    .execute(&mut *tx)
    .await?;
    let removed = sqlx::query(
        "DELETE FROM segment_changes WHERE seq <= $1          AND seq < (SELECT MAX(seq) FROM segment_changes)",
    )
    .bind(through)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(removed)
}

/// Reads every resident (not those still signing up) into a new snapshot, with the feed number it is current to.
/// The same read as the live snapshot's first build: tests compare a live snapshot with it.
pub async fn build_from_database(db: &Db) -> Result<(Snapshot, i64), sqlx::Error> {
    let mut tx = begin_read(db).await?;
    let seq = latest_seq(&mut tx).await?;
    let mut channels: HashMap<i64, u8> = HashMap::new();
    {
        let mut rows =
            sqlx::query("SELECT resident_id, channel FROM resident_addresses WHERE active = 1")
                .fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let channel: String = row.try_get("channel")?;
            if let Ok(channel) = ChannelKind::from_str(&channel) {
                *channels.entry(row.try_get("resident_id")?).or_default() |= channel_bit(channel);
            }
        }
    }
    let mut builder = SnapshotBuilder::new();
    {
        let sql = format!("SELECT {PROFILE_COLUMNS} FROM residents WHERE pending = 0 ORDER BY id");
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let id: i64 = row.try_get("id")?;
            let Some(key) = snapshot_key(id) else {
                continue;
            };
            let profile = profile_from_row(&row, channels.remove(&id).unwrap_or_default())?;
            builder.push(key, &profile);
        }
    }
    tx.rollback().await?;
    Ok((builder.finish(), seq))
}

/// The residents changed after `since` as the database holds them now (`None`: forgotten, or signing up again),
/// and the feed number that includes them; `None` when so many changed that a whole read is cheaper.
async fn changes_since(
    db: &Db,
    since: i64,
) -> Result<Option<(Vec<(u32, Option<Profile>)>, i64)>, sqlx::Error> {
    let mut tx = begin_read(db).await?;
    let seq = latest_seq(&mut tx).await?;
    // Changes up to the pruned number may be gone: a snapshot behind it reads everything again.
    if since < pruned_through(&mut tx).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT resident_id FROM segment_changes WHERE seq > $1")
            .bind(since)
            .fetch_all(&mut *tx)
            .await?;
    if ids.len() > REBUILD_ABOVE {
        tx.rollback().await?;
        return Ok(None);
    }
    let mut changes = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let list = value_list(chunk.len(), 1);
        let mut channels: HashMap<i64, u8> = HashMap::new();
        let sql = format!(
            "SELECT resident_id, channel FROM resident_addresses WHERE active = 1 AND resident_id IN ({list})"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *tx).await? {
            let channel: String = row.try_get("channel")?;
            if let Ok(channel) = ChannelKind::from_str(&channel) {
                *channels.entry(row.try_get("resident_id")?).or_default() |= channel_bit(channel);
            }
        }
        let sql = format!("SELECT {PROFILE_COLUMNS} FROM residents WHERE id IN ({list})");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        let mut found: HashMap<i64, Option<Profile>> = HashMap::with_capacity(chunk.len());
        for row in query.fetch_all(&mut *tx).await? {
            let id: i64 = row.try_get("id")?;
            let pending: i64 = row.try_get("pending")?;
            let profile = if pending == 0 {
                Some(profile_from_row(
                    &row,
                    channels.get(&id).copied().unwrap_or_default(),
                )?)
            } else {
                None
            };
            found.insert(id, profile);
        }
        for id in chunk {
            if let Some(key) = snapshot_key(*id) {
                changes.push((key, found.remove(id).flatten()));
            }
        }
    }
    tx.rollback().await?;
    Ok(Some((changes, seq)))
}

impl LiveSnapshot {
    /// A snapshot not built yet: the first evaluation (or [`LiveSnapshot::spawn`]'s task) builds it.
    pub fn new(db: Db) -> LiveSnapshot {
        LiveSnapshot {
            inner: Arc::new(Inner {
                db,
                current: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn current_seq(&self) -> Option<i64> {
        self.inner
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|current| current.seq)
    }

    /// Brings the snapshot up to every change committed before this call; returns the feed number it is at.
    #[tracing::instrument(name = "segment_snapshot_refresh", skip(self), err)]
    pub async fn refresh(&self) -> Result<i64, SnapshotError> {
        let latest = {
            let mut conn = self.inner.db.pool.acquire().await?;
            latest_seq(&mut conn).await?
        };
        if self.current_seq() == Some(latest) {
            return Ok(latest);
        }
        let _one_at_a_time = self.inner.refresh.lock().await;
        // Asked again under the lock: another task may have caught up while this one waited.
        let latest = {
            let mut conn = self.inner.db.pool.acquire().await?;
            latest_seq(&mut conn).await?
        };
        match self.current_seq() {
            Some(at) if at == latest => return Ok(at),
            Some(at) if at < latest => {
                if let Some((changes, seq)) = changes_since(&self.inner.db, at).await? {
                    let count = changes.len() as u64;
                    let mut guard = self
                        .inner
                        .current
                        .write()
                        .unwrap_or_else(|e| e.into_inner());
                    if let Some(current) = guard.as_mut() {
                        current.snapshot.apply(changes);
                        current.seq = seq;
                        current.status.seq = seq;
                        current.status.residents = current.snapshot.len();
                        current.status.catch_ups += 1;
                        current.status.applied += count;
                        tracing::debug!(seq, changed = count, "segment snapshot caught up");
                        return Ok(seq);
                    }
                }
            }
            _ => {}
        }
        // Not built yet, too much changed, or the database's numbers went back (a restored database): read it all.
        let started = Instant::now();
        let (snapshot, seq) = build_from_database(&self.inner.db).await?;
        let build_ms = started.elapsed().as_secs_f64() * 1000.0;
        let builds = self
            .inner
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(0, |current| current.status.builds);
        let status = SnapshotStatus {
            residents: snapshot.len(),
            seq,
            build_ms,
            builds: builds + 1,
            catch_ups: 0,
            applied: 0,
            memory_bytes: snapshot.memory_usage().total(),
        };
        tracing::info!(
            residents = status.residents,
            seq,
            build_ms,
            "segment snapshot built"
        );
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(Current {
            snapshot,
            seq,
            status,
        });
        Ok(seq)
    }

    /// Runs `f` on the snapshot once it holds every change committed before this call.
    pub async fn read<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> Result<R, SnapshotError> {
        self.refresh().await?;
        let guard = self.inner.current.read().unwrap_or_else(|e| e.into_inner());
        // `refresh` succeeded, so the snapshot is built.
        let snapshot = guard.as_ref().map(|current| &current.snapshot);
        Ok(f(snapshot.unwrap_or(&Snapshot::default())))
    }

    /// The residents `rule` matches on `date`, as of every change committed before this call.
    pub async fn evaluate(
        &self,
        rule: &Rule,
        date: NaiveDate,
    ) -> Result<RoaringBitmap, SnapshotError> {
        self.read(|snapshot| snapshot.evaluate(rule, date)).await
    }

    /// The segment's size and its counts by district, age band and language, from the bitmaps.
    pub async fn preview(
        &self,
        rule: &Rule,
        date: NaiveDate,
    ) -> Result<SegmentSummary, SnapshotError> {
        self.read(|snapshot| snapshot.summarize(&snapshot.evaluate(rule, date), date))
            .await
    }

    /// What the snapshot holds now (without asking the database).
    pub fn status(&self) -> Option<SnapshotStatus> {
        self.inner
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|current| SnapshotStatus {
                memory_bytes: current.snapshot.memory_usage().total(),
                ..current.status.clone()
            })
    }

    /// Builds the snapshot now and keeps it current in the background: on PostgreSQL woken by the feed's
    /// `NOTIFY` (other processes' changes), and every [`POLL`] in any case; prunes the feed every
    /// [`PRUNE_EVERY`].
    pub fn spawn(
        &self,
        database_url: String,
        mut shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let live = self.clone();
        tokio::spawn(async move {
            let wake = Arc::new(tokio::sync::Notify::new());
            let listener = (live.inner.db.backend == Backend::Postgres)
                .then(|| spawn_listener(database_url, wake.clone(), shutdown.clone()));
            let pruner = live.prune_feed(shutdown.clone());
            let refresher = async {
                loop {
                    if *shutdown.borrow() {
                        break;
                    }
                    if let Err(error) = live.refresh().await {
                        tracing::warn!(%error, "segment snapshot not refreshed; trying again");
                    }
                    tokio::select! {
                        () = wake.notified() => {}
                        () = tokio::time::sleep(POLL) => {}
                        changed = shutdown.changed() => if changed.is_err() { break },
                    }
                }
            };
            // Both stop on the same shutdown.
            tokio::join!(refresher, pruner);
            if let Some(listener) = listener {
                listener.abort();
            }
        })
    }

    /// Prunes the feed every [`PRUNE_EVERY`] through the latest number seen one turn before (so a process that
    /// refreshes more often than that finds its changes still there; one that does not reads everything again),
    /// until `shutdown`.
    async fn prune_feed(&self, shutdown: watch::Receiver<bool>) {
        use std::sync::atomic::{AtomicI64, Ordering};
        let db = self.inner.db.clone();
        let previous = Arc::new(AtomicI64::new(0));
        let turn = move || {
            let (db, previous) = (db.clone(), previous.clone());
            async move {
                let through = previous.load(Ordering::Relaxed);
                let result = async {
                    let removed = if through > 0 {
                        prune(&db, through).await?
                    } else {
                        0
                    };
                    previous.store(latest(&db).await?, Ordering::Relaxed);
                    Ok::<u64, sqlx::Error>(removed)
                };
                match result.await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, through, "segment feed pruned"),
                    Err(error) => {
                        tracing::warn!(%error, "segment feed not pruned; tried again later")
                    }
                }
            }
        };
        crate::db::repeat(PRUNE_EVERY, shutdown, turn).await;
    }
}

/// Listens for the feed's `NOTIFY` and wakes the refresher; reconnects after a lost connection (the refresher's
/// polling covers the gap, and a catch-up reads every change after the snapshot's number, so none is lost).
fn spawn_listener(
    database_url: String,
    wake: Arc<tokio::sync::Notify>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let listener = async {
                let mut listener = sqlx::postgres::PgListener::connect(&database_url).await?;
                listener.listen(NOTIFY_CHANNEL).await?;
                loop {
                    listener.recv().await?;
                    wake.notify_one();
                }
                #[allow(unreachable_code)]
                Ok::<(), sqlx::Error>(())
            };
            tokio::select! {
                result = listener => {
                    if let Err(error) = result {
                        tracing::warn!(%error, "segment feed listener lost its connection; reconnecting");
                    }
                }
                _ = shutdown.changed() => break,
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}
