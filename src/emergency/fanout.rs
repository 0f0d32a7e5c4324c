//! The fan-out: from an emergency row to one delivery row per resident and channel on the emergency lane.
//!
//! - **Crash-safe.** The emergency row is written (and answered 201) before this starts. The fan-out claims the
//!   row under a short lease ([`LEASE_MS`], renewed with every chunk), then writes the rows in chunks, each its
//!   own transaction (the first chunk is small, so the dispatcher can start within milliseconds). The unique key
//!   `(emergency, resident, channel)` makes rewriting a chunk add nothing; `fanned_out_at_ms` is set last. A
//!   process killed at any point leaves an unfinished row whose lease runs out, and the [`spawn`]ed worker of
//!   any hub on the database (a restarted one, or another on the same PostgreSQL) finishes it: nothing is lost,
//!   and nothing is sent twice because the dispatcher sends each row once (LINE batches with their stored
//!   retry keys, email Message-IDs and push Topics from the row ids).
//! - **Who.** An alert reaches every resident of its area (all districts for the whole city) on every channel
//!   they have (LINE and push when active; email even when unsubscribed from notices — opt-outs do not apply),
//!   in their language when the alert has it, else Japanese. A dry run reaches only the configured test
//!   recipients. An update or cancellation reaches the rows of the emergencies it references (the people and
//!   addresses they reached, not a new evaluation), plus the residents of its own area if it names one.
//! - **LINE broadcast.** A city-wide alert (and its updates) goes to LINE as one broadcast batch created in the
//!   fan-out's first transaction: it can be sent at once. The per-resident LINE rows are attached to it as they
//!   are written (they count for progress and safety replies) and take its outcome.
//! - **One fan-out.** With several hubs on one database only the holder of the lease writes; a process that
//!   loses its lease stops.

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Row};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

use super::content::{self, ALL_LANGUAGES};
use super::store::{self, StoredEmergency};
use super::{AlertKind, Area, Language};
use crate::AppState;
use crate::db::{Db, now_ms, value_list};
use crate::outbox::{self, NewDelivery, PRIORITY_EMERGENCY, Source, SourceKind, WAKE_DISPATCHER};
use crate::residents::ChannelKind;

/// How long a fan-out's claim holds before another hub may take the emergency over.
pub const LEASE_MS: i64 = 6_000;
/// Residents in the first chunk: small, so the first provider request goes out within milliseconds.
const FIRST_CHUNK: i64 = 200;
/// Residents (or referenced rows) per later chunk.
const CHUNK: i64 = 4_000;
/// How often the worker looks for unfinished emergencies and new banners (it is also woken by the trigger).
const POLL: Duration = Duration::from_millis(250);

const BROADCAST_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x7e1c_2a55_0b8d_4d0e_a3f1_96c2_e4b7_1d09);

/// The retry key of an emergency's LINE broadcast: the same for every attempt, by any process.
pub fn broadcast_key(emergency_id: i64) -> Uuid {
    Uuid::new_v5(
        &BROADCAST_KEY_NAMESPACE,
        format!("emergency:{emergency_id}:broadcast").as_bytes(),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum FanOutError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the fan-out's lease was taken over by another process")]
    LostLease,
}

/// What a fan-out wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct FannedOut {
    pub deliveries: u64,
    pub residents: i64,
}

/// The emergency worker of one hub: finishes unfinished fan-outs (new ones as soon as the trigger wakes it,
/// a crashed process's after its lease) and shows new emergencies on this process's open web chat pages.
pub fn spawn(state: AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut running: JoinSet<i64> = JoinSet::new();
        let mut in_flight: HashSet<i64> = HashSet::new();
        let mut banner_cursor: Option<i64> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            while let Some(done) = running.try_join_next() {
                if let Ok(id) = done {
                    in_flight.remove(&id);
                }
            }
            match claimable(&state.db).await {
                Ok(ids) => {
                    for id in ids {
                        if in_flight.insert(id) {
                            let state = state.clone();
                            running.spawn(async move {
                                run(&state, id).await;
                                id
                            });
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "looking for unfinished emergencies failed"),
            }
            if let Err(error) = show_banners(&state, &mut banner_cursor).await {
                tracing::warn!(%error, "emergency banners not shown; trying again");
            }
            tokio::select! {
                () = state.emergency_wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                Some(done) = running.join_next(), if !running.is_empty() => {
                    if let Ok(id) = done {
                        in_flight.remove(&id);
                    }
                }
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
        // A clean stop lets fan-outs under way finish (each chunk is short); an abort drops them mid-way and
        // another start finishes them.
        while running.join_next().await.is_some() {}
        tracing::info!("emergency worker stopped");
    })
}

/// Emergencies whose fan-out is not finished and not held by a live lease.
async fn claimable(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM emergencies WHERE fanned_out_at_ms IS NULL AND fan_lease_until_ms < $1 \
         ORDER BY id LIMIT 8",
    )
    .bind(now_ms())
    .fetch_all(&db.pool)
    .await
}

/// Shows emergencies created since the last look on this process's open pages (a dry run is not shown).
async fn show_banners(state: &AppState, cursor: &mut Option<i64>) -> Result<(), sqlx::Error> {
    let last = match *cursor {
        Some(last) => last,
        None => {
            // At start: only what comes from now on (pages that connect get open emergencies themselves).
            let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM emergencies")
                .fetch_one(&state.db.pool)
                .await?;
            *cursor = Some(max.unwrap_or(0));
            return Ok(());
        }
    };
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM emergencies WHERE id > $1 ORDER BY id LIMIT 20")
            .bind(last)
            .fetch_all(&state.db.pool)
            .await?;
    for id in ids {
        *cursor = Some(id);
        let Some(emergency) = store::find(&state.db, id).await? else {
            continue;
        };
        if emergency.dry_run || now_ms() - emergency.created_at_ms > 10 * 60 * 1000 {
            continue;
        }
        // Every process looks for new emergencies itself: shown on this process's pages only (not relayed).
        let pages = state
            .webchat
            .deliver_local(&content::banner(&emergency).to_string());
        tracing::info!(
            emergency = id,
            pages,
            "emergency shown on open web chat pages"
        );
        sqlx::query("UPDATE emergencies SET webchat_pages = webchat_pages + $1 WHERE id = $2")
            .bind(pages as i64)
            .bind(id)
            .execute(&state.db.pool)
            .await?;
    }
    Ok(())
}

/// Runs one fan-out; on an error the lease is let go so the next look (here or elsewhere) starts it again.
async fn run(state: &AppState, id: i64) {
    let owner = Uuid::new_v4().to_string();
    let started = std::time::Instant::now();
    match fan_out(state, id, &owner).await {
        Ok(Some(done)) => tracing::info!(
            emergency = id,
            deliveries = done.deliveries,
            residents = done.residents,
            ms = started.elapsed().as_millis() as u64,
            "emergency fanned out"
        ),
        Ok(None) => {}
        Err(FanOutError::LostLease) => {
            tracing::warn!(
                emergency = id,
                "emergency fan-out taken over by another process"
            )
        }
        Err(error) => {
            tracing::error!(emergency = id, %error, "emergency fan-out failed; it will be resumed");
            let _ = sqlx::query(
                "UPDATE emergencies SET fan_lease_until_ms = 0 WHERE id = $1 AND fan_owner = $2",
            )
            .bind(id)
            .bind(&owner)
            .execute(&state.db.pool)
            .await;
        }
    }
}

/// Claims the emergency for `owner` unless another live lease holds it or it is finished.
async fn claim(db: &Db, id: i64, owner: &str) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let claimed = sqlx::query(
        "UPDATE emergencies SET fan_owner = $1, fan_lease_until_ms = $2 WHERE id = $3 \
         AND fanned_out_at_ms IS NULL AND fan_lease_until_ms < $4",
    )
    .bind(owner)
    .bind(now + LEASE_MS)
    .bind(id)
    .bind(now)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Renews the lease inside a chunk's transaction; an error when another process took it.
async fn renew(conn: &mut sqlx::AnyConnection, id: i64, owner: &str) -> Result<(), FanOutError> {
    let renewed = sqlx::query(
        "UPDATE emergencies SET fan_lease_until_ms = $1 WHERE id = $2 AND fan_owner = $3 \
         AND fanned_out_at_ms IS NULL",
    )
    .bind(now_ms() + LEASE_MS)
    .bind(id)
    .bind(owner)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if renewed == 1 {
        Ok(())
    } else {
        Err(FanOutError::LostLease)
    }
}

/// Where the rows of an emergency come from.
enum Audience {
    /// Residents of these districts (`None`: everyone), keyset-paged by resident id.
    Area(Option<Vec<String>>),
    /// The configured staff test recipients (external ids).
    TestRecipients(Vec<String>),
    /// The rows of earlier emergencies, keyset-paged by delivery id.
    References(Vec<i64>),
}

fn audiences(emergency: &StoredEmergency, test_recipients: &[String]) -> Vec<Audience> {
    let mut list = Vec::new();
    if emergency.kind != AlertKind::Alert && !emergency.reference_ids.is_empty() {
        list.push(Audience::References(emergency.reference_ids.clone()));
    }
    if emergency.dry_run {
        if emergency.kind == AlertKind::Alert {
            list.push(Audience::TestRecipients(test_recipients.to_vec()));
        }
        return list;
    }
    match &emergency.area {
        Some(Area::WholeCity) => list.push(Audience::Area(None)),
        Some(Area::Districts(districts)) => list.push(Audience::Area(Some(
            districts.iter().map(|d| d.as_str().to_owned()).collect(),
        ))),
        None => {}
    }
    list
}

/// The fan-out itself. `Ok(None)`: another process holds it or it is finished.
pub async fn fan_out(
    state: &AppState,
    id: i64,
    owner: &str,
) -> Result<Option<FannedOut>, FanOutError> {
    let db = &state.db;
    if !claim(db, id, owner).await? {
        return Ok(None);
    }
    let Some(emergency) = store::find(db, id).await? else {
        return Ok(None);
    };
    let source = Source {
        kind: SourceKind::Emergency,
        id,
        firing: 0,
    };

    // 1. Contents (and the broadcast batch): one small transaction, so a broadcast can go out at once.
    let contents = content::render_all(&state.chat, &emergency, &state.config.public_url);
    let mut tx = db.begin_write().await?;
    renew(&mut tx, id, owner).await?;
    let content_ids = outbox::store_contents(&mut tx, source, &contents).await?;
    let batch = if emergency.line_broadcast {
        let content_id = content_ids
            .get(&(ChannelKind::Line, ALL_LANGUAGES.to_owned()))
            .copied()
            .ok_or_else(|| sqlx::Error::Protocol("no broadcast content".into()))?;
        Some(broadcast_batch(&mut tx, id, content_id).await?)
    } else {
        None
    };
    tx.commit().await?;
    if batch.is_some() {
        WAKE_DISPATCHER.notify_waiters();
    }

    // 2. The rows, chunk by chunk.
    let languages = emergency.text.languages();
    let plan = RowPlan {
        languages: &languages,
        broadcast: emergency.line_broadcast,
    };
    let mut written = 0u64;
    let mut first = true;
    for audience in audiences(&emergency, &state.config.emergency_test_recipients) {
        let mut cursor = 0i64;
        loop {
            let size = if first { FIRST_CHUNK } else { CHUNK };
            let (rows, next) = match &audience {
                Audience::Area(districts) => {
                    area_chunk(db, districts.as_deref(), cursor, size, &plan).await?
                }
                Audience::TestRecipients(ids) => {
                    if cursor > 0 {
                        (Vec::new(), None)
                    } else {
                        (test_recipients(db, ids, &plan).await?, None)
                    }
                }
                Audience::References(ids) => {
                    reference_chunk(db, ids, cursor, size * 2, &plan).await?
                }
            };
            if !rows.is_empty() {
                let mut tx = db.begin_write().await?;
                renew(&mut tx, id, owner).await?;
                written +=
                    outbox::insert_deliveries(&mut tx, source, &content_ids, &rows, now_ms())
                        .await?;
                if let Some(batch) = batch {
                    attach_to_broadcast(&mut tx, batch, id).await?;
                }
                tx.commit().await?;
                WAKE_DISPATCHER.notify_waiters();
                first = false;
            }
            match next {
                Some(next) => cursor = next,
                None => break,
            }
        }
    }

    // 3. Done: counted, and the broadcast's rows settled.
    let mut tx = db.begin_write().await?;
    renew(&mut tx, id, owner).await?;
    if let Some(batch) = batch {
        attach_to_broadcast(&mut tx, batch, id).await?;
        sqlx::query(
            "UPDATE delivery_batches SET size = (SELECT COUNT(*) FROM deliveries WHERE batch_id = $1) \
             WHERE id = $1",
        )
        .bind(batch)
        .execute(&mut *tx)
        .await?;
    }
    let residents: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT resident_id) FROM deliveries WHERE source_kind = 'emergency' AND source_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE emergencies SET fanned_out_at_ms = $1, targeted = $2, fan_lease_until_ms = 0 \
         WHERE id = $3 AND fan_owner = $4",
    )
    .bind(now_ms())
    .bind(residents)
    .bind(id)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(FannedOut {
        deliveries: written,
        residents,
    }))
}

/// The broadcast batch of an emergency (created once, whoever fans out: its retry key is derived from the id).
async fn broadcast_batch(
    tx: &mut sqlx::AnyConnection,
    emergency_id: i64,
    content_id: i64,
) -> Result<i64, sqlx::Error> {
    let key = broadcast_key(emergency_id).to_string();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO delivery_batches (channel, retry_key, content_id, priority, size, status, attempts, \
         due_at_ms, lease_until_ms, lease_owner, created_at_ms, updated_at_ms, endpoint) \
         VALUES ('line', $1, $2, $3, 0, 'open', 0, $4, 0, NULL, $4, $4, 'broadcast') \
         ON CONFLICT (retry_key) DO NOTHING",
    )
    .bind(&key)
    .bind(content_id)
    .bind(PRIORITY_EMERGENCY)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query_scalar("SELECT id FROM delivery_batches WHERE retry_key = $1")
        .bind(&key)
        .fetch_one(&mut *tx)
        .await
}

/// Attaches the emergency's LINE rows to its broadcast batch; when the broadcast has already been answered they
/// take its outcome. The batch row is locked first (the dispatcher records an outcome batch row first too), so
/// a row is either seen by the dispatcher's update or settled here.
async fn attach_to_broadcast(
    tx: &mut sqlx::AnyConnection,
    batch: i64,
    emergency_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE delivery_batches SET updated_at_ms = updated_at_ms WHERE id = $1")
        .bind(batch)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE deliveries SET batch_id = $1 WHERE source_kind = 'emergency' AND source_id = $2 \
         AND channel = 'line' AND batch_id IS NULL",
    )
    .bind(batch)
    .bind(emergency_id)
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query(
        "SELECT status, outcome, provider_id, error FROM delivery_batches WHERE id = $1",
    )
    .bind(batch)
    .fetch_one(&mut *tx)
    .await?;
    let status: String = row.try_get("status")?;
    let outcome: Option<String> = row.try_get("outcome")?;
    if let (true, Some(outcome)) = (status == "done", outcome) {
        sqlx::query(
            "UPDATE deliveries SET status = $1, provider_id = $2, error = $3, lease_until_ms = 0, \
             updated_at_ms = $4 WHERE batch_id = $5 AND status = 'pending'",
        )
        .bind(outcome)
        .bind(row.try_get::<Option<String>, _>("provider_id")?)
        .bind(row.try_get::<Option<String>, _>("error")?)
        .bind(now_ms())
        .bind(batch)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// How a resident's address becomes a row.
struct RowPlan<'a> {
    languages: &'a [Language],
    broadcast: bool,
}

impl RowPlan<'_> {
    /// The row's content language: the resident's when the alert has it, else Japanese; every language for a
    /// broadcast's LINE rows.
    fn language(&self, channel: ChannelKind, resident_language: &str) -> String {
        if channel == ChannelKind::Line && self.broadcast {
            return ALL_LANGUAGES.to_owned();
        }
        match Language::from_code(resident_language) {
            Some(language) if self.languages.contains(&language) => language.code().to_owned(),
            _ => "ja".to_owned(),
        }
    }

    /// A resident's address as a row, or `None` for one that cannot be reached (an unfollowed LINE account,
    /// a gone push subscription). Email goes even to an address unsubscribed from notices.
    fn row(
        &self,
        resident_id: i64,
        resident_language: &str,
        channel: &str,
        address: String,
        detail: Option<String>,
        active: bool,
    ) -> Option<NewDelivery> {
        let channel = ChannelKind::from_str(channel).ok()?;
        if channel == ChannelKind::Webchat || (!active && channel != ChannelKind::Email) {
            return None;
        }
        Some(NewDelivery {
            resident_id,
            channel,
            language: self.language(channel, resident_language),
            address,
            address_detail: detail,
        })
    }
}

fn district_filter(districts: Option<&[String]>, first_param: usize) -> String {
    match districts {
        None => String::new(),
        Some(list) => format!(
            " AND r.district IN ({})",
            value_list(list.len().max(1), first_param)
        ),
    }
}

/// The next `size` residents of the area after resident id `after`, with their addresses. Returns the rows and
/// the cursor of the next page (`None` at the end).
async fn area_chunk(
    db: &Db,
    districts: Option<&[String]>,
    after: i64,
    size: i64,
    plan: &RowPlan<'_>,
) -> Result<(Vec<NewDelivery>, Option<i64>), sqlx::Error> {
    if districts.is_some_and(<[String]>::is_empty) {
        return Ok((Vec::new(), None));
    }
    // The page's last resident id: the addresses are then read for (after, upto].
    let sql = format!(
        "SELECT MAX(id) AS upto, COUNT(*) AS n FROM (SELECT r.id FROM residents r WHERE r.id > $1{} \
         ORDER BY r.id LIMIT $2) page",
        district_filter(districts, 3)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(after).bind(size);
    for district in districts.unwrap_or_default() {
        query = query.bind(district.clone());
    }
    let page = query.fetch_one(&db.pool).await?;
    let upto: Option<i64> = page.try_get("upto")?;
    let count: i64 = page.try_get("n")?;
    let Some(upto) = upto else {
        return Ok((Vec::new(), None));
    };
    let sql = format!(
        "SELECT r.id, r.language, a.channel, a.address, a.detail, a.active FROM residents r \
         JOIN resident_addresses a ON a.resident_id = r.id WHERE r.id > $1 AND r.id <= $2{} ORDER BY r.id",
        district_filter(districts, 3)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(after).bind(upto);
    for district in districts.unwrap_or_default() {
        query = query.bind(district.clone());
    }
    let rows = query.fetch_all(&db.pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(delivery) = plan.row(
            row.try_get("id")?,
            &row.try_get::<String, _>("language")?,
            &row.try_get::<String, _>("channel")?,
            row.try_get("address")?,
            row.try_get("detail")?,
            row.try_get::<i64, _>("active")? != 0,
        ) {
            out.push(delivery);
        }
    }
    Ok((out, (count == size).then_some(upto)))
}

/// The configured test recipients (by external id) with their addresses.
async fn test_recipients(
    db: &Db,
    external_ids: &[String],
    plan: &RowPlan<'_>,
) -> Result<Vec<NewDelivery>, sqlx::Error> {
    if external_ids.is_empty() {
        tracing::warn!(
            "an emergency dry run, but no test recipients are configured (HUB_EMERGENCY_TEST_RECIPIENTS)"
        );
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for chunk in external_ids.chunks(500) {
        let sql = format!(
            "SELECT r.id, r.language, a.channel, a.address, a.detail, a.active FROM residents r \
             JOIN resident_addresses a ON a.resident_id = r.id WHERE r.external_id IN ({})",
            value_list(chunk.len(), 1)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id.clone());
        }
        for row in query.fetch_all(&db.pool).await? {
            if let Some(delivery) = plan.row(
                row.try_get("id")?,
                &row.try_get::<String, _>("language")?,
                &row.try_get::<String, _>("channel")?,
                row.try_get("address")?,
                row.try_get("detail")?,
                row.try_get::<i64, _>("active")? != 0,
            ) {
                out.push(delivery);
            }
        }
    }
    Ok(out)
}

/// The next rows of the referenced emergencies after delivery id `after`: the same residents and addresses
/// (a forgotten resident's rows have no address any more and are left out).
async fn reference_chunk(
    db: &Db,
    emergency_ids: &[i64],
    after: i64,
    size: i64,
    plan: &RowPlan<'_>,
) -> Result<(Vec<NewDelivery>, Option<i64>), sqlx::Error> {
    if emergency_ids.is_empty() {
        return Ok((Vec::new(), None));
    }
    let sql = format!(
        "SELECT id, resident_id, channel, address, address_detail, language FROM deliveries \
         WHERE source_kind = 'emergency' AND source_id IN ({}) AND id > $1 ORDER BY id LIMIT $2",
        value_list(emergency_ids.len(), 3)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(after).bind(size);
    for id in emergency_ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&db.pool).await?;
    let mut last = None;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        last = Some(row.try_get::<i64, _>("id")?);
        let resident: Option<i64> = row.try_get("resident_id")?;
        let address: String = row.try_get("address")?;
        let (Some(resident), false) = (resident, address.is_empty()) else {
            continue;
        };
        let mut language: String = row.try_get("language")?;
        if language == ALL_LANGUAGES {
            language = "ja".to_owned();
        }
        if let Some(delivery) = plan.row(
            resident,
            &language,
            &row.try_get::<String, _>("channel")?,
            address,
            row.try_get("address_detail")?,
            true,
        ) {
            out.push(delivery);
        }
    }
    let next = if rows.len() as i64 == size {
        last
    } else {
        None
    };
    Ok((out, next))
}
