//! The simulated day's database tells time by the simulation's clock.
//!
//! Berth compares times two ways: with the clock it is given, and with
//! the database's `now()` (columns such as `bots.created_at` and
//! `pool_slots.status_changed_at` are stamped by it). In production the two
//! agree (the clock is calibrated to the server); in a day that runs in a
//! minute they would drift hours apart, and every comparison of a stamped
//! column with the clock (a slot idle long enough to remove, the recent
//! arrival rate) would go wrong. So, in the run's own database only:
//! `daysim.now()` returns the simulated time (a one-row table the day's
//! loop moves with the clock), the run's connections put the `daysim`
//! schema before `pg_catalog` on their search path (so an unqualified
//! `now()` is it), and the columns whose default is `now()` default to it.
//! `clock_timestamp()` (the history tables' ordering stamps) stays real.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, PgPool};

/// The search path the run's connections use.
pub const SEARCH_PATH: &str = "daysim, pg_catalog, public";

/// Installs `daysim.now()` at `start` in a migrated database and points
/// the `now()` defaults of its tables at it.
pub async fn install(db: &PgPool, start: DateTime<Utc>) -> Result<(), String> {
    let e = |e: sqlx::Error| format!("simulated database time: {e}");
    sqlx::raw_sql(
        "CREATE SCHEMA daysim;
         CREATE TABLE daysim.clock (t TIMESTAMPTZ NOT NULL);
         CREATE FUNCTION daysim.now() RETURNS TIMESTAMPTZ LANGUAGE sql STABLE
             AS 'SELECT t FROM daysim.clock';",
    )
    .execute(db)
    .await
    .map_err(e)?;
    sqlx::query("INSERT INTO daysim.clock (t) VALUES ($1)")
        .bind(start)
        .execute(db)
        .await
        .map_err(e)?;
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND column_default = 'now()'",
    )
    .fetch_all(db)
    .await
    .map_err(e)?;
    for (table, column) in columns {
        sqlx::raw_sql(AssertSqlSafe(format!(
            "ALTER TABLE public.\"{table}\" ALTER COLUMN \"{column}\" SET DEFAULT daysim.now()"
        )))
        .execute(db)
        .await
        .map_err(e)?;
    }
    Ok(())
}

/// `options` with the search path that makes `now()` the simulated one.
pub fn options(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("search_path", SEARCH_PATH)])
}

/// Moves the database's simulated time to `at`.
pub async fn set(db: &PgPool, at: DateTime<Utc>) -> Result<(), String> {
    sqlx::query("UPDATE daysim.clock SET t = $1")
        .bind(at)
        .execute(db)
        .await
        .map(|_| ())
        .map_err(|e| format!("simulated database time: {e}"))
}
