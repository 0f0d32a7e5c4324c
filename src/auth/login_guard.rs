//! What keeps console login from being a weapon (issue 25, holes 3 and 7):
//!
//! - [`HashGate`]: at most one argon2 hash (19 MiB each) per core at a time, a bounded queue behind them, and a
//!   quick "busy" beyond it, so a flood of attempts cannot exhaust memory. A waiting attempt holds no hash memory.
//! - Failed attempts are counted per (client, typed username) and per client in `login_failures` (migration
//!   0010) and throttled with an exponential backoff on each count. Nothing locks an account against everyone: an
//!   attacker's failures slow the attacker's own client, and the real user from another client still gets in.
//!   Unknown and real usernames are counted and answered alike.
//! - Failures reach the audit log as one summary row per (client, username) and window ([`report`]), not one row
//!   per attempt; the audit log stays append-only (the counters live in their own table).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::Row;
use tokio::sync::{Semaphore, watch};

use crate::db::{Db, now_ms};

/// Failures of one (client, username) before the backoff starts.
pub const PAIR_FREE_FAILURES: i64 = 5;
/// Failures of one client (over all usernames) before the backoff starts.
pub const CLIENT_FREE_FAILURES: i64 = 20;
/// The first wait once the free failures are used up; it doubles with each further failure.
pub const BACKOFF_BASE_MS: i64 = 5_000;
/// The longest wait.
pub const BACKOFF_MAX_MS: i64 = 15 * 60 * 1000;
/// A count without failures for this long starts again from zero.
pub const FORGET_AFTER_MS: i64 = 60 * 60 * 1000;
/// Failures are summarised in the audit log once per this window (per client and username).
pub const REPORT_WINDOW_MS: i64 = 15 * 60 * 1000;
/// How often the summaries are written and old counts removed.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How long an attempt may wait in the queue for a hash slot before it is answered "busy".
pub const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// The hash is refused: too many attempts are running or waiting already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many login attempts are being checked; try again shortly")]
pub struct Busy;

type Job = Box<dyn FnOnce() + Send>;

/// Runs password hashes on `slots` threads of its own, with at most `queue` more waiting. Own threads rather
/// than tokio's blocking pool: each hash allocates 19 MiB, and the allocator keeps such memory per thread, so
/// hashes spread over many pool threads would each leave their 19 MiB behind.
pub struct HashGate {
    slots: Arc<Semaphore>,
    capacity: usize,
    admitted: AtomicUsize,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    jobs: std::sync::mpsc::Sender<Job>,
    workers: usize,
}

impl std::fmt::Debug for HashGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashGate")
            .field("capacity", &self.capacity)
            .field("workers", &self.workers)
            .field("running", &self.running.load(Ordering::Relaxed))
            .finish()
    }
}

/// Leaves the count of admitted attempts when an attempt is done, however it ends (also when its request is
/// dropped while it waits).
struct Admitted<'a>(&'a AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashGate {
    /// Starts `slots` hash threads; they end when the gate is dropped.
    pub fn new(slots: usize, queue: usize) -> HashGate {
        let slots = slots.max(1);
        let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
        let inbox = Arc::new(std::sync::Mutex::new(inbox));
        let mut workers = 0;
        for n in 0..slots {
            let inbox = inbox.clone();
            let started = std::thread::Builder::new()
                .name(format!("login-hash-{n}"))
                .spawn(move || {
                    loop {
                        let job = match inbox.lock() {
                            Ok(inbox) => inbox.recv(),
                            Err(_) => break,
                        };
                        match job {
                            // A panicking hash must not take the thread (and its slot) with it.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => break,
                        }
                    }
                });
            match started {
                Ok(_) => workers += 1,
                Err(error) => tracing::warn!(%error, "cannot start a login hash thread"),
            }
        }
        HashGate {
            slots: Arc::new(Semaphore::new(workers)),
            capacity: workers + queue,
            admitted: AtomicUsize::new(0),
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
            jobs,
            workers,
        }
    }

    /// One slot per core, eight waiting per slot.
    pub fn for_this_machine() -> HashGate {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        HashGate::new(cores, cores * 8)
    }

    /// The most hashes that ever ran at once in this process.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Acquire)
    }

    /// Runs `work` (a password hash) on a hash thread once a slot is free; [`Busy`] at once when the queue is
    /// full, or after [`QUEUE_WAIT`] without a slot.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        if self.workers == 0 || self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            if self.workers > 0 {
                self.admitted.fetch_sub(1, Ordering::AcqRel);
            }
            metrics::counter!("hub_login_refused_total", "reason" => "busy").increment(1);
            return Err(Busy);
        }
        let _admitted = Admitted(&self.admitted);
        let permit =
            match tokio::time::timeout(QUEUE_WAIT, self.slots.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => {
                    metrics::counter!("hub_login_refused_total", "reason" => "busy").increment(1);
                    return Err(Busy);
                }
            };
        let running = self.running.clone();
        let peak = self.peak.clone();
        let (done, result) = tokio::sync::oneshot::channel();
        // The permit moves into the job: a dropped request cannot free its slot while the hash runs.
        let job: Job = Box::new(move || {
            let now = running.fetch_add(1, Ordering::AcqRel) + 1;
            peak.fetch_max(now, Ordering::AcqRel);
            metrics::gauge!("hub_login_hashes_running").set(now as f64);
            let _ = done.send(work());
            let left = running.fetch_sub(1, Ordering::AcqRel) - 1;
            metrics::gauge!("hub_login_hashes_running").set(left as f64);
            drop(permit);
        });
        self.jobs.send(job).map_err(|_| Busy)?;
        result.await.map_err(|_| Busy)
    }
}

/// The wait after `failures` failures when the first `free` cost nothing: 0, then 5 s, 10 s, … up to 15 min.
pub fn backoff_ms(failures: i64, free: i64) -> i64 {
    if failures <= free {
        return 0;
    }
    let doublings = (failures - free - 1).min(20) as u32;
    BACKOFF_BASE_MS
        .saturating_mul(1_i64 << doublings)
        .min(BACKOFF_MAX_MS)
}

/// The key of a client's own count (over all usernames).
const ANY_USER: &str = "";

/// When the client may try `username` again: `Some(until_ms)` while it is throttled (for that name or at all).
pub async fn throttled_until(
    db: &Db,
    client: &str,
    username: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let until: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(blocked_until_ms) FROM login_failures WHERE client = $1 AND username IN ($2, $3)",
    )
    .bind(client)
    .bind(username)
    .bind(ANY_USER)
    .fetch_one(&db.pool)
    .await?;
    Ok(until.filter(|until| *until > now))
}

/// Counts a failed attempt for (client, username) and for the client, and sets their backoff.
pub async fn record_failure(
    db: &Db,
    client: &str,
    username: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    for (name, free) in [
        (username, PAIR_FREE_FAILURES),
        (ANY_USER, CLIENT_FREE_FAILURES),
    ] {
        // One statement: concurrent failures each count.
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO login_failures \
               (client, username, failures, last_failure_ms, blocked_until_ms, unreported, report_from_ms) \
             VALUES ($1, $2, 1, $3, 0, 1, $3) \
             ON CONFLICT (client, username) DO UPDATE SET \
               failures = CASE WHEN login_failures.last_failure_ms < $4 THEN 1 \
                               ELSE login_failures.failures + 1 END, \
               last_failure_ms = $3, \
               unreported = login_failures.unreported + 1, \
               report_from_ms = CASE WHEN login_failures.unreported = 0 THEN $3 \
                                     ELSE login_failures.report_from_ms END \
             RETURNING failures",
        )
        .bind(client)
        .bind(name)
        .bind(now)
        .bind(now - FORGET_AFTER_MS)
        .fetch_one(&db.pool)
        .await?;
        let wait = backoff_ms(failures, free);
        if wait > 0 {
            sqlx::query(
                "UPDATE login_failures SET blocked_until_ms = $1 \
                 WHERE client = $2 AND username = $3 AND blocked_until_ms < $1",
            )
            .bind(now + wait)
            .bind(client)
            .bind(name)
            .execute(&db.pool)
            .await?;
        }
    }
    Ok(())
}

/// A successful login: the (client, username) count starts again (its failures are reported first). The client's
/// own count stays: it says what the client did with other names.
pub async fn record_success(
    db: &Db,
    client: &str,
    username: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    report_matching(db, now, Some((client, username)), None).await?;
    sqlx::query("DELETE FROM login_failures WHERE client = $1 AND username = $2")
        .bind(client)
        .bind(username)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// An admin lifts the throttle on `username`: its counts from every client go (reported first), and so do the
/// own counts of the clients that failed on it, so its owner can log in again at once. Returns how many clients
/// were throttled or counting for it.
pub async fn unlock(db: &Db, username: &str, now: i64) -> Result<u64, sqlx::Error> {
    report_matching(db, now, None, Some(username)).await?;
    let mut tx = db.begin_write().await?;
    let clients: Vec<String> =
        sqlx::query_scalar("SELECT client FROM login_failures WHERE username = $1")
            .bind(username)
            .fetch_all(&mut *tx)
            .await?;
    for client in &clients {
        sqlx::query("DELETE FROM login_failures WHERE client = $1 AND username IN ($2, $3)")
            .bind(client)
            .bind(username)
            .bind(ANY_USER)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(clients.len() as u64)
}

/// Whether anyone is throttled on `username` now (for the console's staff page).
pub async fn throttled_clients(db: &Db, username: &str, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM login_failures WHERE username = $1 AND blocked_until_ms > $2",
    )
    .bind(username)
    .bind(now)
    .fetch_one(&db.pool)
    .await
}

/// Writes the audit summaries of windows that have closed by `now`, and forgets counts that are quiet and
/// reported. Returns how many summaries were written.
pub async fn report(db: &Db, now: i64) -> Result<usize, sqlx::Error> {
    let written = report_matching(db, now - REPORT_WINDOW_MS, None, None).await?;
    sqlx::query(
        "DELETE FROM login_failures WHERE unreported = 0 AND last_failure_ms < $1 AND blocked_until_ms < $2",
    )
    .bind(now - FORGET_AFTER_MS)
    .bind(now)
    .execute(&db.pool)
    .await?;
    // The client's own counts are not reported (their pairs are): they only need the window kept short.
    sqlx::query("UPDATE login_failures SET unreported = 0 WHERE username = $1 AND unreported > 0")
        .bind(ANY_USER)
        .execute(&db.pool)
        .await?;
    Ok(written)
}

/// One `login.failed` audit row per (client, username) with unreported failures whose window opened by
/// `opened_by` (optionally only one pair, or one username).
async fn report_matching(
    db: &Db,
    opened_by: i64,
    pair: Option<(&str, &str)>,
    username: Option<&str>,
) -> Result<usize, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT client, username, unreported, report_from_ms, last_failure_ms FROM login_failures \
         WHERE username <> $1 AND unreported > 0 AND report_from_ms <= $2 \
           AND ($3 = '' OR (client = $3 AND username = $4)) AND ($5 = '' OR username = $5) \
         ORDER BY report_from_ms LIMIT 1000",
    )
    .bind(ANY_USER)
    .bind(opened_by)
    .bind(pair.map(|p| p.0).unwrap_or_default())
    .bind(pair.map(|p| p.1).unwrap_or_default())
    .bind(username.unwrap_or_default())
    .fetch_all(&db.pool)
    .await?;
    let mut written = 0;
    for row in rows {
        let client: String = row.try_get("client")?;
        let name: String = row.try_get("username")?;
        let count: i64 = row.try_get("unreported")?;
        let from_ms: i64 = row.try_get("report_from_ms")?;
        let to_ms: i64 = row.try_get("last_failure_ms")?;
        let mut tx = db.begin_write().await?;
        // Claimed only if nothing changed since the read (another process, or a new failure, may have come).
        let claimed = sqlx::query(
            "UPDATE login_failures SET unreported = 0 \
             WHERE client = $1 AND username = $2 AND unreported = $3 AND report_from_ms = $4",
        )
        .bind(&client)
        .bind(&name)
        .bind(count)
        .bind(from_ms)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            tx.rollback().await?;
            continue;
        }
        crate::audit::record_in(
            &mut tx,
            now_ms(),
            &name,
            "-",
            "login.failed",
            &name,
            serde_json::json!({
                "client": client,
                "failures": count,
                "from_ms": from_ms,
                "to_ms": to_ms,
            }),
        )
        .await?;
        tx.commit().await?;
        written += 1;
    }
    Ok(written)
}

/// The periodic summary and clean-up, until `shutdown`.
pub fn spawn(db: Db, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    crate::db::every(
        SWEEP_EVERY,
        shutdown,
        tracing::info_span!("login_guard"),
        move || {
            let db = db.clone();
            async move {
                match report(&db, now_ms()).await {
                    Ok(0) => {}
                    Ok(written) => {
                        tracing::info!(written, "failed logins summarised in the audit log")
                    }
                    Err(error) => {
                        tracing::warn!(%error, "login failure summary failed; tried again later")
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_the_free_failures_and_stops_at_the_cap() {
        assert_eq!(backoff_ms(5, 5), 0);
        assert_eq!(backoff_ms(6, 5), 5_000);
        assert_eq!(backoff_ms(7, 5), 10_000);
        assert_eq!(backoff_ms(10, 5), 80_000);
        assert_eq!(backoff_ms(30, 5), BACKOFF_MAX_MS);
        assert_eq!(backoff_ms(i64::MAX, 5), BACKOFF_MAX_MS);
    }

    #[tokio::test]
    async fn the_gate_runs_at_most_its_slots_and_refuses_beyond_its_queue() {
        let gate = Arc::new(HashGate::new(2, 3));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(std::sync::Mutex::new(wait));
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let gate = gate.clone();
            let wait = wait.clone();
            tasks.push(tokio::spawn(async move {
                gate.run(move || {
                    let _ = wait.lock().map(|w| w.recv());
                })
                .await
            }));
        }
        // Five admitted (two running, three waiting): the sixth is refused at once.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(gate.run(|| ()).await, Err(Busy));
        for _ in 0..5 {
            release.send(()).expect("release");
        }
        for task in tasks {
            assert_eq!(task.await.expect("task"), Ok(()));
        }
        assert_eq!(gate.peak(), 2);
        assert_eq!(gate.run(|| 7).await, Ok(7));
    }
}
