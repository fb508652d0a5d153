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

/// Applies pending migrations. Safe to run from several instances at once
/// (sqlx takes an advisory lock).
pub async fn migrate(db: &PgPool) -> Result<()> {
    MIGRATOR.run(db).await?;
    Ok(())
}
