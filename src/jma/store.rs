//! The JMA watch's tables (migration 0017): documents seen (`jma_entries`, keyed by the Atom entry id, so each is
//! acted on once and a restart does not replay), the feeds' `ETag`/`Last-Modified` (`jma_feeds`), the lease under
//! which one hub at a time acts (`jma_lease`), what the city's areas have in effect (`jma_active`) and drafts
//! (`jma_drafts`).

use sqlx::Row;

use super::document::FeedEntry;
use crate::db::{Db, now_ms};

/// A document waiting to be acted on.
#[derive(Debug, Clone)]
pub struct PendingEntry {
    pub entry_id: String,
    pub url: String,
    pub title: String,
    pub seen_at_ms: i64,
    pub attempts: i64,
}

/// Records the entries not seen before; returns how many were new. An entry updated before `stale_before_ms`
/// (the long feed's old documents at a first start) is recorded as `stale` without being fetched.
pub async fn record_entries(
    db: &Db,
    entries: &[FeedEntry],
    stale_before_ms: i64,
) -> Result<u64, sqlx::Error> {
    let now = now_ms();
    let mut new = 0;
    for entry in entries {
        let updated = entry.updated.timestamp_millis();
        let stale = updated < stale_before_ms;
        new += sqlx::query(
            "INSERT INTO jma_entries (entry_id, url, title, updated_at_ms, seen_at_ms, done_at_ms, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (entry_id) DO NOTHING",
        )
        .bind(&entry.id)
        .bind(&entry.url)
        .bind(&entry.title)
        .bind(updated)
        .bind(now)
        .bind(stale.then_some(now))
        .bind(stale.then_some("stale"))
        .bind(stale.then_some("フィードの更新時刻が古いため取得せず記録のみ（HUB_JMA_MAX_AGE_MINUTES）"))
        .execute(&db.pool)
        .await?
        .rows_affected();
    }
    Ok(new)
}

/// Takes (or keeps) the lease to act on documents for `secs`; false while another hub holds it.
pub async fn acquire_lease(db: &Db, holder: &str, secs: i64) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let done = sqlx::query(
        "INSERT INTO jma_lease (name, holder, until_ms) VALUES ('jma', $1, $2) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
         WHERE jma_lease.holder = excluded.holder OR jma_lease.until_ms < $3",
    )
    .bind(holder)
    .bind(now + secs * 1000)
    .bind(now)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Gives the lease up (a hub stopping).
pub async fn release_lease(db: &Db, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM jma_lease WHERE name = 'jma' AND holder = $1")
        .bind(holder)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Documents not acted on yet whose next attempt is due, oldest first.
pub async fn pending(db: &Db, limit: i64) -> Result<Vec<PendingEntry>, sqlx::Error> {
    sqlx::query(
        "SELECT entry_id, url, title, seen_at_ms, attempts FROM jma_entries \
         WHERE done_at_ms IS NULL AND next_attempt_ms <= $1 ORDER BY updated_at_ms, entry_id LIMIT $2",
    )
    .bind(now_ms())
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(PendingEntry {
            entry_id: row.try_get("entry_id")?,
            url: row.try_get("url")?,
            title: row.try_get("title")?,
            seen_at_ms: row.try_get("seen_at_ms")?,
            attempts: row.try_get("attempts")?,
        })
    })
    .collect()
}

/// The document is dealt with: it is never fetched again.
pub async fn finish(
    db: &Db,
    entry_id: &str,
    outcome: &str,
    detail: &str,
    emergency_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE jma_entries SET done_at_ms = $1, outcome = $2, detail = $3, emergency_id = $4 \
         WHERE entry_id = $5 AND done_at_ms IS NULL",
    )
    .bind(now_ms())
    .bind(outcome)
    .bind(detail)
    .bind(emergency_id)
    .bind(entry_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The document could not be fetched: tried again after `retry_ms`.
pub async fn attempt_failed(
    db: &Db,
    entry_id: &str,
    error: &str,
    retry_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE jma_entries SET attempts = attempts + 1, next_attempt_ms = $1, detail = $2 WHERE entry_id = $3",
    )
    .bind(now_ms() + retry_ms)
    .bind(error)
    .bind(entry_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A feed's validators from its last answer.
#[derive(Debug, Clone, Default)]
pub struct FeedState {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

pub async fn feed_state(db: &Db, url: &str) -> Result<FeedState, sqlx::Error> {
    let row = sqlx::query("SELECT etag, last_modified FROM jma_feeds WHERE url = $1")
        .bind(url)
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(row) => FeedState {
            etag: row.try_get("etag")?,
            last_modified: row.try_get("last_modified")?,
        },
        None => FeedState::default(),
    })
}

/// A successful read (200 with `state`'s validators, or 304 with `None`).
pub async fn feed_ok(db: &Db, url: &str, state: Option<&FeedState>) -> Result<(), sqlx::Error> {
    let now = now_ms();
    match state {
        Some(state) => {
            sqlx::query(
                "INSERT INTO jma_feeds (url, etag, last_modified, checked_at_ms, ok_at_ms, failures) \
                 VALUES ($1, $2, $3, $4, $4, 0) ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, \
                 last_modified = excluded.last_modified, checked_at_ms = excluded.checked_at_ms, \
                 ok_at_ms = excluded.ok_at_ms, failures = 0, last_error = NULL",
            )
            .bind(url)
            .bind(&state.etag)
            .bind(&state.last_modified)
            .bind(now)
            .execute(&db.pool)
            .await?;
        }
        None => {
            sqlx::query(
                "UPDATE jma_feeds SET checked_at_ms = $1, ok_at_ms = $1, failures = 0, last_error = NULL \
                 WHERE url = $2",
            )
            .bind(now)
            .bind(url)
            .execute(&db.pool)
            .await?;
        }
    }
    Ok(())
}

pub async fn feed_failed(db: &Db, url: &str, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO jma_feeds (url, checked_at_ms, failures, last_error) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (url) DO UPDATE SET checked_at_ms = excluded.checked_at_ms, \
         failures = jma_feeds.failures + 1, last_error = excluded.last_error",
    )
    .bind(url)
    .bind(now_ms())
    .bind(error)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// What one of the city's areas has in effect, and what the hub made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    pub area_code: String,
    pub kind: String,
    pub doc_type: String,
    pub entry_id: String,
    pub emergency_id: Option<i64>,
    pub draft_id: Option<i64>,
}

pub async fn active(db: &Db) -> Result<Vec<Active>, sqlx::Error> {
    sqlx::query(
        "SELECT area_code, kind, doc_type, entry_id, emergency_id, draft_id FROM jma_active \
         ORDER BY since_ms, area_code, kind",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(Active {
            area_code: row.try_get("area_code")?,
            kind: row.try_get("kind")?,
            doc_type: row.try_get("doc_type")?,
            entry_id: row.try_get("entry_id")?,
            emergency_id: row.try_get("emergency_id")?,
            draft_id: row.try_get("draft_id")?,
        })
    })
    .collect()
}

pub async fn set_active(db: &Db, active: &Active) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO jma_active (area_code, kind, doc_type, entry_id, emergency_id, draft_id, since_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (area_code, kind) DO UPDATE SET \
         doc_type = excluded.doc_type, entry_id = excluded.entry_id, emergency_id = excluded.emergency_id, \
         draft_id = excluded.draft_id",
    )
    .bind(&active.area_code)
    .bind(&active.kind)
    .bind(&active.doc_type)
    .bind(&active.entry_id)
    .bind(active.emergency_id)
    .bind(active.draft_id)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn clear_active(db: &Db, area_code: &str, kind: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM jma_active WHERE area_code = $1 AND kind = $2")
        .bind(area_code)
        .bind(kind)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A draft as stored.
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: i64,
    pub entry_id: String,
    pub doc_type: String,
    pub kinds: Vec<String>,
    pub area_codes: Vec<String>,
    pub text: String,
    pub severity: String,
    pub office: String,
    pub report_time: String,
    pub status: String,
    pub created_at_ms: i64,
    pub decided_by: Option<String>,
    pub decided_at_ms: Option<i64>,
    pub emergency_id: Option<i64>,
}

const DRAFT_COLUMNS: &str = "id, entry_id, doc_type, kinds, area_codes, text, severity, office, report_time, \
     status, created_at_ms, decided_by, decided_at_ms, emergency_id";

fn draft_from_row(row: &sqlx::any::AnyRow) -> Result<Draft, sqlx::Error> {
    let list = |column: &str| -> Result<Vec<String>, sqlx::Error> {
        let text: String = row.try_get(column)?;
        Ok(serde_json::from_str(&text).unwrap_or_default())
    };
    Ok(Draft {
        id: row.try_get("id")?,
        entry_id: row.try_get("entry_id")?,
        doc_type: row.try_get("doc_type")?,
        kinds: list("kinds")?,
        area_codes: list("area_codes")?,
        text: row.try_get("text")?,
        severity: row.try_get("severity")?,
        office: row.try_get("office")?,
        report_time: row.try_get("report_time")?,
        status: row.try_get("status")?,
        created_at_ms: row.try_get("created_at_ms")?,
        decided_by: row.try_get("decided_by")?,
        decided_at_ms: row.try_get("decided_at_ms")?,
        emergency_id: row.try_get("emergency_id")?,
    })
}

/// Writes a draft (once per document); its id.
#[allow(clippy::too_many_arguments)]
pub async fn insert_draft(
    db: &Db,
    entry_id: &str,
    doc_type: &str,
    kinds: &[String],
    area_codes: &[String],
    text: &str,
    severity: &str,
    office: &str,
    report_time: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO jma_drafts (entry_id, doc_type, kinds, area_codes, text, severity, office, report_time, \
         created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (entry_id) DO NOTHING",
    )
    .bind(entry_id)
    .bind(doc_type)
    .bind(serde_json::to_string(kinds).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(area_codes).unwrap_or_else(|_| "[]".into()))
    .bind(text)
    .bind(severity)
    .bind(office)
    .bind(report_time)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    sqlx::query_scalar("SELECT id FROM jma_drafts WHERE entry_id = $1")
        .bind(entry_id)
        .fetch_one(&db.pool)
        .await
}

pub async fn draft(db: &Db, id: i64) -> Result<Option<Draft>, sqlx::Error> {
    let sql = format!("SELECT {DRAFT_COLUMNS} FROM jma_drafts WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(|row| draft_from_row(&row))
        .transpose()
}

/// The latest drafts, waiting ones first.
pub async fn drafts(db: &Db, limit: i64) -> Result<Vec<Draft>, sqlx::Error> {
    let sql = format!(
        "SELECT {DRAFT_COLUMNS} FROM jma_drafts ORDER BY CASE WHEN status = 'pending' THEN 0 ELSE 1 END, \
         id DESC LIMIT $1"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(draft_from_row)
        .collect()
}

/// Moves a draft from `from` to `to` (by `who`); false when it was not in `from` (someone else was first).
pub async fn move_draft(
    db: &Db,
    id: i64,
    from: &str,
    to: &str,
    who: Option<&str>,
    emergency_id: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE jma_drafts SET status = $1, decided_by = COALESCE($2, decided_by), \
         decided_at_ms = COALESCE(decided_at_ms, $3), emergency_id = COALESCE($4, emergency_id) \
         WHERE id = $5 AND status = $6",
    )
    .bind(to)
    .bind(who)
    .bind(now_ms())
    .bind(emergency_id)
    .bind(id)
    .bind(from)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Entries as the console lists them: the latest, with what was done.
#[derive(Debug, Clone)]
pub struct EntryOutcome {
    pub entry_id: String,
    pub title: String,
    pub seen_at_ms: i64,
    pub done_at_ms: Option<i64>,
    pub outcome: Option<String>,
    pub detail: Option<String>,
    pub emergency_id: Option<i64>,
}

pub async fn recent_entries(db: &Db, limit: i64) -> Result<Vec<EntryOutcome>, sqlx::Error> {
    sqlx::query(
        "SELECT entry_id, title, seen_at_ms, done_at_ms, outcome, detail, emergency_id FROM jma_entries \
         ORDER BY updated_at_ms DESC, entry_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(EntryOutcome {
            entry_id: row.try_get("entry_id")?,
            title: row.try_get("title")?,
            seen_at_ms: row.try_get("seen_at_ms")?,
            done_at_ms: row.try_get("done_at_ms")?,
            outcome: row.try_get("outcome")?,
            detail: row.try_get("detail")?,
            emergency_id: row.try_get("emergency_id")?,
        })
    })
    .collect()
}

/// The feeds' last reads, for the console.
pub async fn feeds(
    db: &Db,
) -> Result<Vec<(String, Option<i64>, Option<i64>, i64, Option<String>)>, sqlx::Error> {
    sqlx::query(
        "SELECT url, checked_at_ms, ok_at_ms, failures, last_error FROM jma_feeds ORDER BY url",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|row| {
        Ok((
            row.try_get("url")?,
            row.try_get("checked_at_ms")?,
            row.try_get("ok_at_ms")?,
            row.try_get("failures")?,
            row.try_get("last_error")?,
        ))
    })
    .collect()
}
