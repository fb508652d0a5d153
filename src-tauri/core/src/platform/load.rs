//! Capacity in use per deployment platform (bots in an active state), from
//! counters a trigger keeps in the transaction of every bot change
//! (migration `20261201000100_platform_load`), and the recent slot
//! releases per minute.
//!
//! A platform's counters are deltas by writer: a bot that starts holding
//! capacity adds 1 to the platform's shared row, whose row lock is the
//! platform's grant lock ([`lock`]); one that gives capacity back subtracts
//! 1 in its own connection's row, so releases never wait. The count is the
//! sum. [`fold`] moves the rows of connections that are gone into the
//! shared row; [`recount`] counts the bots themselves (tests check the two
//! agree).

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};

use crate::error::Result;
use crate::meeting::PlatformKind;

/// Locks `kind`'s grant lock for the caller's transaction and returns the
/// capacity in use there, every commit before the lock included. Whoever
/// adds capacity on `kind` (marks a bot `DEPLOYING` there) takes the same
/// row lock until it commits, so a caller that checks its limit under this
/// lock cannot overshoot it. Releases do not take it.
pub async fn lock(conn: &mut PgConnection, kind: PlatformKind) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT platform_load_lock($1)")
        .bind(kind.as_str())
        .fetch_one(conn)
        .await?)
}

/// Capacity in use on `kind`, without the lock (as committed).
pub async fn on(conn: &mut PgConnection, kind: PlatformKind) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(sum(active), 0)::bigint FROM platform_load WHERE platform = $1",
    )
    .bind(kind.as_str())
    .fetch_one(conn)
    .await?)
}

/// Capacity in use per platform (platforms with none left out), by name.
pub async fn per_platform(db: &PgPool) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT platform, sum(active)::bigint FROM platform_load
         GROUP BY platform HAVING sum(active) <> 0 ORDER BY platform",
    )
    .fetch_all(db)
    .await?)
}

/// The same figures as [`per_platform`], counted from the bots (a scan:
/// for checks, not for routing).
pub async fn recount(db: &PgPool) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT deployment_platform, count(*) FROM bots
         WHERE deployment_platform IS NOT NULL
           AND status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING')
         GROUP BY deployment_platform ORDER BY deployment_platform",
    )
    .fetch_all(db)
    .await?)
}

/// Slot releases (busy or deploying → idle) stamped in the minutes that
/// start after `since` and at or before `until` (database time).
pub async fn releases_between(
    db: &PgPool,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(sum(releases), 0)::bigint FROM slot_release_minutes
         WHERE minute > $1 AND minute <= $2",
    )
    .bind(since)
    .bind(until)
    .fetch_one(db)
    .await?)
}

/// Folds the load rows of connections that no longer exist into their
/// platform's shared row, and drops release minutes older than `keep`.
/// Sums are unchanged, so it is correct at any moment (the shared rows are
/// updated under their row locks; a connection that reuses a folded pid
/// starts a new row). Each platform folds in a transaction of its own, so
/// the fold never holds one platform's lock while it waits for another's
/// (no deadlock with a transaction that adds capacity on two platforms).
/// One fold at a time (an advisory lock). Returns the load rows folded.
/// Run by the leader on its leadership tick.
pub async fn fold(db: &PgPool, keep: Duration) -> Result<u64> {
    let mut tx = db.begin().await?;
    if !sqlx::query_scalar::<_, bool>(
        "SELECT pg_try_advisory_xact_lock(hashtext('berth.platform_load.fold'))",
    )
    .fetch_one(&mut *tx)
    .await?
    {
        return Ok(0);
    }
    sqlx::query("DELETE FROM slot_release_minutes WHERE minute < now() - $1::interval")
        .bind(keep)
        .execute(&mut *tx)
        .await?;
    let platforms: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT platform FROM platform_load
         WHERE backend <> 0 AND backend NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut folded = 0;
    for platform in platforms {
        let mut one = db.begin().await?;
        let n: i64 = sqlx::query_scalar(
            "WITH gone AS (
                DELETE FROM platform_load
                WHERE platform = $1 AND backend <> 0
                  AND backend NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)
                RETURNING active
             ), merged AS (
                INSERT INTO platform_load AS l (platform, backend, active)
                SELECT $1, 0, sum(active) FROM gone HAVING count(*) > 0
                ON CONFLICT (platform, backend) DO UPDATE SET active = l.active + EXCLUDED.active
             )
             SELECT count(*) FROM gone",
        )
        .bind(&platform)
        .fetch_one(&mut *one)
        .await?;
        one.commit().await?;
        folded += n as u64;
    }
    tx.commit().await?;
    Ok(folded)
}
