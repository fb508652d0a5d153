//! The database: connecting (to `DATABASE_URL` or the embedded cluster) and migrations.

pub mod embedded;
mod owner;

use crate::error::{Error, ErrorCode, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

/// The migrations embedded in the binary (from the workspace's `migrations/`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Opens a connection pool to `url` with `max_connections`.
///
/// A malformed URL is an `invalid_input`-coded error naming `DATABASE_URL`;
/// an unreachable server is `database_unavailable`.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool> {
    connect_as(url, max_connections, "berth").await
}

/// [`connect`] with the `application_name` every connection of the pool
/// (and listeners made from it) reports, so an instance can tell its own
/// connections from other clients'.
pub async fn connect_as(url: &str, max_connections: u32, application: &str) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url).map_err(|e| {
        Error::config(
            ErrorCode::ConfigInvalid,
            "DATABASE_URL",
            format!("is not a valid PostgreSQL URL: {e}"),
        )
    })?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.application_name(application))
        .await
        .map_err(|e| {
            Error::new(
                ErrorCode::DatabaseUnavailable,
                format!("cannot reach the database: {e}"),
            )
        })
}

/// The database's clock (`now()`): the time every `status_changed_at` is
/// written in, so comparisons with those columns never mix two clocks.
pub async fn now(db: &PgPool) -> Result<chrono::DateTime<chrono::Utc>> {
    Ok(sqlx::query_scalar("SELECT now()").fetch_one(db).await?)
}

/// Whether the database answers a trivial query (`SELECT 1`) within
/// `within`: `Ok(())`, else the error (`database_unavailable` when it did
/// not answer in time). Reads nothing, writes nothing.
pub async fn ping(db: &PgPool, within: Duration) -> Result<()> {
    match tokio::time::timeout(
        within,
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(db),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(Error::new(
            ErrorCode::DatabaseUnavailable,
            format!("the database did not answer within {} s", within.as_secs()),
        )),
    }
}

/// Whether this database can serve requests now (an HTTP `/readyz`): it
/// answers within `within` ([`ping`]) and its schema is exactly this
/// build's ([`check_schema`]); otherwise the error (`database_unavailable`,
/// `schema_outdated`). Reads only.
pub async fn ready(db: &PgPool, within: Duration) -> Result<()> {
    ping(db, within).await?;
    match tokio::time::timeout(within, check_schema(db)).await {
        Ok(checked) => checked,
        Err(_) => Err(Error::new(
            ErrorCode::DatabaseUnavailable,
            format!("the database did not answer within {} s", within.as_secs()),
        )),
    }
}

/// Applies pending migrations. Safe to run from several instances at once
/// (sqlx takes an advisory lock).
pub async fn migrate(db: &PgPool) -> Result<()> {
    MIGRATOR.run(db).await?;
    Ok(())
}

/// One migration applied to the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct AppliedMigration {
    /// Its version.
    pub version: i64,
    /// What it does.
    pub description: String,
    /// When it was applied.
    pub installed_on: chrono::DateTime<chrono::Utc>,
}

/// The migrations applied successfully, oldest first; none when the
/// database has no Berth schema yet. Reads only.
pub async fn applied_migrations(db: &PgPool) -> Result<Vec<AppliedMigration>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(db)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(
        "SELECT version, description, installed_on FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(db)
    .await?)
}

/// Checks, reading only, that the database's schema is exactly this
/// build's: every embedded migration applied successfully with the same
/// checksum, and none this build does not know. Commands that must not
/// write call this instead of [`migrate`]. Otherwise `schema_outdated`,
/// saying what to run.
pub async fn check_schema(db: &PgPool) -> Result<()> {
    let outdated = |message: String| Error::new(ErrorCode::SchemaOutdated, message);
    // One statement: a database without the table answers "undefined
    // table" (42P01) rather than needing a look-up first.
    let applied: Vec<(i64, bool, Vec<u8>)> = match sqlx::query_as(
        "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(db)
    .await
    {
        Ok(rows) => rows,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => {
            return Err(outdated(
                "the database has no Berth schema yet: run `berth migrate` (or start `berth serve` or the app) first".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let known: Vec<&sqlx::migrate::Migration> = MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    for (version, success, checksum) in &applied {
        match known.iter().find(|m| m.version == *version) {
            None => {
                return Err(outdated(format!(
                    "the database schema is newer than this build (migration {version} is unknown to it): use a newer berth"
                )))
            }
            Some(_) if !success => {
                return Err(outdated(format!(
                    "migration {version} failed part-way earlier: run `berth migrate`"
                )))
            }
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                return Err(outdated(format!(
                    "migration {version} was changed after it was applied: restore it, or migrate a fresh database"
                )))
            }
            Some(_) => {}
        }
    }
    let pending: Vec<i64> = known
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.iter().any(|(a, _, _)| a == v))
        .collect();
    if let Some(newest) = pending.last() {
        return Err(outdated(format!(
            "the database schema is behind this build ({} pending, up to {newest}): run `berth migrate`",
            if pending.len() == 1 {
                "1 migration".to_string()
            } else {
                format!("{} migrations", pending.len())
            }
        )));
    }
    Ok(())
}
