//! Leasing a pool's accounts to bots.
//!
//! Accounts move `available` → `in_use` (leased to one bot) → `completed`,
//! or back to `available` after a failure while `retry_failed` allows and
//! fewer than `max_failures` failures were counted, else `failed`. Leases
//! take the row lock with `SKIP LOCKED`, so instances sharing the database
//! never hand one account to two bots; the schema refuses it as well.

use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use super::query::QueryResult;
use crate::definition::AccountPoolConfig;
use crate::error::{Error, ErrorCode, Result};

/// A leased account.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Pool.
    pub pool: String,
    /// The account's key (the source's `id` column, or its first column).
    pub account_key: String,
    /// The whole row as the source returned it.
    pub data: serde_json::Value,
    /// Failures counted so far.
    pub failures: i32,
}

/// How a bot's use of an account ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Used up as intended.
    Completed,
    /// Failed, with why.
    Failed(String),
}

/// Accounts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AccountStats {
    /// Ready to lease.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub available: i64,
    /// Leased to a bot.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub in_use: i64,
    /// Used up.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub completed: i64,
    /// Out of retries.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub failed: i64,
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refreshed {
    /// Accounts new to the pool.
    pub added: i64,
    /// Accounts still in the source (their data updated).
    pub kept: i64,
    /// Available accounts no longer in the source, removed.
    pub removed: i64,
}

fn key_of(
    row: &std::collections::BTreeMap<String, serde_json::Value>,
    columns: &[String],
) -> Option<String> {
    let value = row
        .get("id")
        .or_else(|| columns.first().and_then(|c| row.get(c)))?;
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Replaces the pool's account list with what the source returned, in one
/// transaction: new keys become `available`, known ones keep their state
/// (a leased account stays leased) with fresh data, and available accounts
/// the source no longer returns are removed. Rows without a key are refused.
/// Records the refresh and clears the pool's last refresh failure.
pub async fn refresh(db: &PgPool, pool: &str, result: &QueryResult) -> Result<Refreshed> {
    let mut keys = Vec::with_capacity(result.rows.len());
    let mut data = Vec::with_capacity(result.rows.len());
    for (i, row) in result.rows.iter().enumerate() {
        let key = key_of(row, &result.columns).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidInput,
                format!("row {} of the account source has no key (an `id` column, or a first column, that is not null)", i + 1),
            )
        })?;
        keys.push(key);
        data.push(
            serde_json::to_value(row)
                .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?,
        );
    }
    let mut tx = db.begin().await?;
    let (added, kept): (i64, i64) = sqlx::query_as(
        "WITH src AS (SELECT * FROM unnest($2::text[], $3::jsonb[]) AS s(account_key, data)),
              up AS (
                INSERT INTO pool_accounts (pool, account_key, data)
                SELECT $1, account_key, data FROM src
                ON CONFLICT (pool, account_key) DO UPDATE SET data = EXCLUDED.data, refreshed_at = now()
                RETURNING (xmax = 0) AS inserted)
         SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up",
    )
    .bind(pool)
    .bind(&keys)
    .bind(&data)
    .fetch_one(&mut *tx)
    .await?;
    let removed = sqlx::query(
        "DELETE FROM pool_accounts WHERE pool = $1 AND status = 'available' AND NOT (account_key = ANY($2))",
    )
    .bind(pool)
    .bind(&keys)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    sqlx::query(
        "INSERT INTO pool_account_refreshes (pool, refreshed_at, accounts, truncated) VALUES ($1, now(), $2, $3)
         ON CONFLICT (pool) DO UPDATE SET refreshed_at = now(), accounts = $2, truncated = $3",
    )
    .bind(pool)
    .bind(keys.len() as i32)
    .bind(result.truncated)
    .execute(&mut *tx)
    .await?;
    // A success clears the last automatic refresh's failure.
    sqlx::query("DELETE FROM pool_account_refresh_failures WHERE pool = $1")
        .bind(pool)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Refreshed {
        added,
        kept,
        removed,
    })
}

/// Leases the pool's next available account to `bot_id`: fewest failures
/// first, then least recently leased (never first). `None` when none is
/// available. A bot that already holds an account gets that one back.
pub async fn lease(db: &PgPool, pool: &str, bot_id: i64) -> Result<Option<Account>> {
    let mut conn = db.acquire().await?;
    lease_in(&mut conn, pool, bot_id).await
}

/// [`lease`] on `conn`, e.g. inside the transaction that reserves the bot's
/// slot, so the account and the slot are taken (or rolled back) together.
pub async fn lease_in(conn: &mut PgConnection, pool: &str, bot_id: i64) -> Result<Option<Account>> {
    let held: Option<Account> = sqlx::query_as(
        "SELECT pool, account_key, data, failures FROM pool_accounts WHERE bot_id = $1",
    )
    .bind(bot_id)
    .fetch_optional(&mut *conn)
    .await?;
    if held.is_some() {
        return Ok(held);
    }
    Ok(sqlx::query_as(
        "UPDATE pool_accounts a SET status = 'in_use', bot_id = $2, leased_at = now()
         FROM (SELECT pool, account_key FROM pool_accounts
               WHERE pool = $1 AND status = 'available'
               ORDER BY failures, leased_at NULLS FIRST, account_key
               LIMIT 1 FOR UPDATE SKIP LOCKED) pick
         WHERE a.pool = pick.pool AND a.account_key = pick.account_key
         RETURNING a.pool, a.account_key, a.data, a.failures",
    )
    .bind(pool)
    .bind(bot_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The account `bot_id` holds, if any.
pub async fn held_by(db: &PgPool, bot_id: i64) -> Result<Option<Account>> {
    Ok(sqlx::query_as(
        "SELECT pool, account_key, data, failures FROM pool_accounts WHERE bot_id = $1",
    )
    .bind(bot_id)
    .fetch_optional(db)
    .await?)
}

/// Returns `bot_id`'s account to `available` without counting a failure:
/// the bot never ran with it (its deploy failed, it went back to the queue).
/// Whether it held one.
pub async fn give_back(db: &PgPool, bot_id: i64) -> Result<bool> {
    let mut conn = db.acquire().await?;
    give_back_in(&mut conn, bot_id).await
}

/// [`give_back`] on `conn`, e.g. in the transaction that puts the bot back
/// in the queue.
pub async fn give_back_in(conn: &mut PgConnection, bot_id: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE pool_accounts SET status = 'available', bot_id = NULL WHERE bot_id = $1",
    )
    .bind(bot_id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// The leasing policy of `pool`'s applied definition; `None` when the pool
/// has no account source (or no applied definition).
pub async fn config_of(db: &PgPool, pool: &str) -> Result<Option<AccountPoolConfig>> {
    let value: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT definition -> 'accounts' -> 'pool_config' FROM pool_definitions
         WHERE name = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(pool)
    .fetch_optional(db)
    .await?;
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v).map(Some).map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("the applied definition of {pool} has an unreadable pool_config: {e}"),
            )
        }),
    }
}

/// Ends `bot_id`'s lease (if it holds one) with `outcome`, by `config`'s
/// rules. Returns the account's new status, or `None` when the bot held no
/// account (ending twice is harmless).
pub async fn finish(
    db: &PgPool,
    bot_id: i64,
    outcome: &Outcome,
    config: &AccountPoolConfig,
) -> Result<Option<String>> {
    let (error, failed) = match outcome {
        Outcome::Completed => (None, false),
        Outcome::Failed(why) => (Some(why.as_str()), true),
    };
    Ok(sqlx::query_scalar(
        "UPDATE pool_accounts SET
             failures = failures + $2::int,
             last_error = COALESCE($3, last_error),
             bot_id = NULL,
             status = CASE
                 WHEN NOT $4 THEN 'completed'
                 WHEN $5 AND failures + 1 < $6 THEN 'available'
                 ELSE 'failed' END
         WHERE bot_id = $1
         RETURNING status",
    )
    .bind(bot_id)
    .bind(i32::from(failed))
    .bind(error)
    .bind(failed)
    .bind(config.retry_failed)
    .bind(config.max_failures as i32)
    .fetch_optional(db)
    .await?)
}

/// The pool's accounts per status.
pub async fn stats(db: &PgPool, pool: &str) -> Result<AccountStats> {
    Ok(sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'available') AS available,
                count(*) FILTER (WHERE status = 'in_use') AS in_use,
                count(*) FILTER (WHERE status = 'completed') AS completed,
                count(*) FILTER (WHERE status = 'failed') AS failed
         FROM pool_accounts WHERE pool = $1",
    )
    .bind(pool)
    .fetch_one(db)
    .await?)
}
