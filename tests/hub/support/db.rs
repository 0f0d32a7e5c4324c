//! Straight to the hub's database: counts a test checks and the rare change a test makes behind the hub's back
//! (moving a row back in time, a row stored by an older version).

use sqlx::{Connection, Row};

use super::TestApp;
use super::process::HubProcess;

/// Something with a database a test reads behind the hub's back: a hub in this process or a `hub serve`.
pub trait Database {
    fn database_url(&self) -> &str;
}

impl Database for TestApp {
    fn database_url(&self) -> &str {
        &self.database_url
    }
}

impl Database for HubProcess {
    fn database_url(&self) -> &str {
        &self.database_url
    }
}

/// A database by its URL (a hub that is not running: killed, or not started yet).
impl Database for str {
    fn database_url(&self) -> &str {
        self
    }
}

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Int(i64),
    Text(&'a str),
}

impl From<i64> for Param<'_> {
    fn from(value: i64) -> Self {
        Param::Int(value)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(value: &'a str) -> Self {
        Param::Text(value)
    }
}

async fn connect(app: &(impl Database + ?Sized)) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(app.database_url())
        .await
        .expect("connect to the hub's database")
}

fn query<'q>(
    sql: &str,
    params: &[Param<'q>],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for param in params {
        query = match *param {
            Param::Int(value) => query.bind(value),
            Param::Text(value) => query.bind(value),
        };
    }
    query
}

/// The first column of the first row of `sql`, a number (`COUNT(*)`, `MAX(…)`).
pub async fn count(app: &(impl Database + ?Sized), sql: &str) -> i64 {
    count_with(app, sql, &[]).await
}

/// [`count`] with `$1`, `$2`, … bound to `params`.
pub async fn count_with(app: &(impl Database + ?Sized), sql: &str, params: &[Param<'_>]) -> i64 {
    let mut connection = connect(app).await;
    query(sql, params)
        .fetch_one(&mut connection)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .try_get::<i64, _>(0)
        .unwrap_or_else(|e| panic!("{sql}: not a number: {e}"))
}

/// A statement with `$1`, `$2`, … bound to `params`.
pub async fn execute(app: &(impl Database + ?Sized), sql: &str, params: &[Param<'_>]) {
    let mut connection = connect(app).await;
    query(sql, params)
        .execute(&mut connection)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
