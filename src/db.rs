//! Storage: one pool over SQLite (the embedded default) or PostgreSQL, chosen by the URL.
//!
//! Queries are written once in the SQL both databases share (`$1` parameters, `ON CONFLICT`, `RETURNING`);
//! the few statements that differ ask [`Db::backend`]. Times are stored as Unix milliseconds (BIGINT) and dates
//! as `YYYY-MM-DD` text so that both backends hold and compare them the same way.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Migrations are compiled into the binary so `hub` runs from anywhere.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "chat",
        include_str!("../migrations/sqlite/0002_chat.sql"),
    ),
    // outbound: notices, outbox, batches
    (
        3,
        "outbound",
        include_str!("../migrations/sqlite/0003_outbound.sql"),
    ),
    // emergency broadcasts, safety answers, LINE broadcast batches
    (
        4,
        "emergency",
        include_str!("../migrations/sqlite/0004_emergency.sql"),
    ),
    // registration: residents' own settings, consent, topics, quiet hours, e-mail sign-ups
    (
        5,
        "registration",
        include_str!("../migrations/sqlite/0005_registration.sql"),
    ),
    // console: staff accounts and sessions
    (
        6,
        "console",
        include_str!("../migrations/sqlite/0006_console.sql"),
    ),
    // hardening: the LINE event queue, delivery retention
    (
        7,
        "hardening",
        include_str!("../migrations/sqlite/0007_hardening.sql"),
    ),
    // surveys (questionnaires)
    (
        8,
        "surveys",
        include_str!("../migrations/sqlite/0008_surveys.sql"),
    ),
    // web chat banners across processes
    (
        9,
        "webchat_relay",
        include_str!("../migrations/sqlite/0009_webchat_relay.sql"),
    ),
    // staff login throttle, token revocation (issue 25)
    (
        10,
        "login_throttle",
        include_str!("../migrations/sqlite/0010_login_throttle.sql"),
    ),
    // the segment change feed for the live snapshot (issue 16)
    (
        11,
        "segment_feed",
        include_str!("../migrations/sqlite/0011_segment_feed.sql"),
    ),
    // FAQ sentence vectors by content (issue 18)
    (
        12,
        "faq_vectors",
        include_str!("../migrations/sqlite/0012_faq_vectors.sql"),
    ),
    // one code for やさしい日本語 in stored rules (issue 15)
    (
        15,
        "one_easy_japanese_code",
        include_str!("../migrations/sqlite/0015_one_easy_japanese_code.sql"),
    ),
    // the console does the whole job: disabled staff accounts, dismissed FAQ misses (issue 15)
    (
        16,
        "staff_console",
        include_str!("../migrations/sqlite/0016_staff_console.sql"),
    ),
    // JMA's disaster XML feed: documents seen, feeds, the lease, areas in effect, drafts (issue 26)
    (17, "jma", include_str!("../migrations/sqlite/0017_jma.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "chat",
        include_str!("../migrations/postgres/0002_chat.sql"),
    ),
    // outbound: notices, outbox, batches
    (
        3,
        "outbound",
        include_str!("../migrations/postgres/0003_outbound.sql"),
    ),
    // emergency broadcasts, safety answers, LINE broadcast batches
    (
        4,
        "emergency",
        include_str!("../migrations/postgres/0004_emergency.sql"),
    ),
    // registration: residents' own settings, consent, topics, quiet hours, e-mail sign-ups
    (
        5,
        "registration",
        include_str!("../migrations/postgres/0005_registration.sql"),
    ),
    // console: staff accounts and sessions
    (
        6,
        "console",
        include_str!("../migrations/postgres/0006_console.sql"),
    ),
    // hardening: the LINE event queue, delivery retention
    (
        7,
        "hardening",
        include_str!("../migrations/postgres/0007_hardening.sql"),
    ),
    // surveys (questionnaires)
    (
        8,
        "surveys",
        include_str!("../migrations/postgres/0008_surveys.sql"),
    ),
    // web chat banners across processes
    (
        9,
        "webchat_relay",
        include_str!("../migrations/postgres/0009_webchat_relay.sql"),
    ),
    // staff login throttle, token revocation (issue 25)
    (
        10,
        "login_throttle",
        include_str!("../migrations/postgres/0010_login_throttle.sql"),
    ),
    // the segment change feed for the live snapshot (issue 16)
    (
        11,
        "segment_feed",
        include_str!("../migrations/postgres/0011_segment_feed.sql"),
    ),
    // FAQ sentence vectors by content (issue 18)
    (
        12,
        "faq_vectors",
        include_str!("../migrations/postgres/0012_faq_vectors.sql"),
    ),
    // one code for やさしい日本語 in stored rules (issue 15)
    (
        15,
        "one_easy_japanese_code",
        include_str!("../migrations/postgres/0015_one_easy_japanese_code.sql"),
    ),
    // the console does the whole job: disabled staff accounts, dismissed FAQ misses (issue 15)
    (
        16,
        "staff_console",
        include_str!("../migrations/postgres/0016_staff_console.sql"),
    ),
    // JMA's disaster XML feed: documents seen, feeds, the lease, areas in effect, drafts (issue 26)
    (
        17,
        "jma",
        include_str!("../migrations/postgres/0017_jma.sql"),
    ),
];

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url_with_create = match backend {
            // Create the file when it is missing, as a first run expects.
            Backend::Sqlite if !url.contains("mode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options =
            AnyConnectOptions::from_str(&url_with_create).map_err(|source| DbError::Connect {
                url: redact(url),
                source,
            })?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(match backend {
                // SQLite has one writer; a few readers beside it are enough.
                Backend::Sqlite => max_connections.min(4),
                Backend::Postgres => max_connections,
            })
            .acquire_timeout(Duration::from_secs(30));
        let pool_options = match backend {
            Backend::Sqlite => pool_options.after_connect(|connection, _meta| {
                Box::pin(async move {
                    connection
                        .execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options,
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(|source| DbError::Connect {
                url: redact(url),
                source,
            })?;
        Ok(Db { pool, backend })
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        let source = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        let migrations: Vec<Migration> = source
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sqlx::AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect();
        let migrator = Migrator {
            migrations: Cow::Owned(migrations),
            ..Migrator::DEFAULT
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// A transaction that will write. On SQLite it takes the write lock at `BEGIN IMMEDIATE`: a deferred
    /// transaction that reads first and writes later fails at once with "database is locked" when another
    /// connection wrote in between, and `busy_timeout` does not help there.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

use sqlx::SqlSafeStr;

/// Hides the password in a database URL before it goes into an error or a log.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// `($1, $2), ($3, $4)` for `rows` rows of `columns` values. Numbered placeholders are read by both databases
/// (sqlx's `QueryBuilder` writes `?` for the Any driver, which PostgreSQL does not understand).
pub fn value_rows(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&value_list(columns, row * columns + 1));
        sql.push(')');
    }
    sql
}

/// `(?, ?), (?, ?)`: like [`value_rows`] with anonymous placeholders, for SQLite statements whose parameters are
/// all bound in order. sqlx-sqlite resolves each `$N` by name, which SQLite does by a linear scan of the
/// statement's parameter names: binding a multi-row INSERT of thousands of `$N` costs time quadratic in their
/// number (most of a large fan-out's time), while `?` is bound by position.
pub fn anonymous_value_rows(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// `?, ?, …` for `count` anonymous placeholders: [`value_list`]'s SQLite form (see [`anonymous_value_rows`]).
pub fn anonymous_value_list(count: usize) -> String {
    vec!["?"; count].join(", ")
}

/// Whether a connection is SQLite (for the few statements written differently).
pub fn is_sqlite(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name().eq_ignore_ascii_case("sqlite")
}

/// `$start, $start+1, …`: `count` numbered placeholders, for `IN (…)` lists.
pub fn value_list(count: usize, start: usize) -> String {
    (start..start + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one background sweep loop, as a task of its own: [`repeat`] in `span`.
pub fn every<F, Fut>(
    period: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
    span: tracing::Span,
    work: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    use tracing::Instrument;
    tokio::spawn(repeat(period, shutdown, work).instrument(span))
}

/// Runs `work` at once, then every `period` (measured from the end of a run), until `shutdown` turns true or its
/// sender is gone. Each run logs its own outcome; a failed run is simply tried again at the next turn.
pub async fn repeat<F, Fut>(
    period: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    mut work: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
        work().await;
    }
}

/// Unix time in milliseconds, the one time representation in the database.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A stored setting, created with `generate()` the first time (safe when several processes start at once).
pub async fn setting_or_create(
    db: &Db,
    key: &str,
    generate: impl FnOnce() -> String,
) -> Result<String, sqlx::Error> {
    if let Some(value) =
        sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&db.pool)
            .await?
    {
        return Ok(value);
    }
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(generate())
        .execute(&db.pool)
        .await?;
    sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_one(&db.pool)
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_password() {
        assert_eq!(
            super::redact("postgres://hub:secret@127.0.0.1:5432/hub"),
            "postgres://hub:***@127.0.0.1:5432/hub"
        );
        assert_eq!(super::redact("sqlite://hub.db"), "sqlite://hub.db");
    }
}
