//! Slot counts by pool, deployment platform and status, as the statistics
//! read them: from counters a trigger keeps in the same transaction as
//! every change to `pool_slots` (migration `20261201000080_slot_counts`), so
//! a read costs a few rows whatever the number of slots.
//!
//! The counters are deltas sharded by the writing connection (its backend
//! pid), so concurrent transitions never wait on a shared counter row; the
//! counts are their sums. [`fold`] moves the rows of connections that are
//! gone into one row, keeping the table to a few rows per live connection.
//! [`recount`] counts the slots themselves: the same figures, the slow way
//! (tests check the two agree).

use serde::Serialize;
use sqlx::PgPool;

use crate::error::Result;
use crate::meeting::{PlatformKind, SlotStatus};

/// The slots of one pool on one deployment platform, by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct PoolPlatformCounts {
    /// Pool.
    pub pool: String,
    /// Deployment platform.
    #[sqlx(try_from = "String")]
    pub deployment_platform: PlatformKind,
    /// Idle slots.
    pub idle: i64,
    /// Deploying slots.
    pub deploying: i64,
    /// Busy slots.
    pub busy: i64,
    /// Slots in error.
    pub error: i64,
}

impl PoolPlatformCounts {
    /// The count in `status`.
    pub fn of(&self, status: SlotStatus) -> i64 {
        match status {
            SlotStatus::Idle => self.idle,
            SlotStatus::Deploying => self.deploying,
            SlotStatus::Busy => self.busy,
            SlotStatus::Error => self.error,
        }
    }

    /// Every slot there.
    pub fn total(&self) -> i64 {
        self.idle + self.deploying + self.busy + self.error
    }
}

/// The maintained counts: every (pool, platform) with at least one slot, by
/// pool then platform. One transaction's snapshot, so consistent with itself.
pub async fn maintained(db: &PgPool) -> Result<Vec<PoolPlatformCounts>> {
    Ok(sqlx::query_as(
        "SELECT pool, deployment_platform, sum(idle)::bigint AS idle, sum(deploying)::bigint AS deploying,
                sum(busy)::bigint AS busy, sum(error)::bigint AS error
         FROM pool_slot_counts GROUP BY pool, deployment_platform
         HAVING sum(idle) <> 0 OR sum(deploying) <> 0 OR sum(busy) <> 0 OR sum(error) <> 0
         ORDER BY pool, deployment_platform",
    )
    .fetch_all(db)
    .await?)
}

/// The same figures as [`maintained`], counted from the slots (a scan of
/// every slot: for checks, not for the statistics).
pub async fn recount(db: &PgPool) -> Result<Vec<PoolPlatformCounts>> {
    Ok(sqlx::query_as(
        "SELECT pool, deployment_platform,
                count(*) FILTER (WHERE status = 'idle') AS idle,
                count(*) FILTER (WHERE status = 'deploying') AS deploying,
                count(*) FILTER (WHERE status = 'busy') AS busy,
                count(*) FILTER (WHERE status = 'error') AS error
         FROM pool_slots GROUP BY pool, deployment_platform
         ORDER BY pool, deployment_platform",
    )
    .fetch_all(db)
    .await?)
}

/// Folds the counter rows of connections that no longer exist into the
/// shared row (`backend = 0`) and drops rows that sum to nothing. Sums are
/// unchanged, so it is correct at any moment, alongside any transitions
/// (a row is moved under its row lock; a connection that reuses a folded
/// pid starts a new row). One fold at a time (an advisory lock), so folds
/// never deadlock on each other. Returns the rows folded. Run by the
/// leader on its leadership tick.
pub async fn fold(db: &PgPool) -> Result<u64> {
    let mut tx = db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth.slot_counts.fold'))")
        .execute(&mut *tx)
        .await?;
    let folded: i64 = sqlx::query_scalar(
        "WITH gone AS (
            DELETE FROM pool_slot_counts
            WHERE backend <> 0 AND backend NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)
            RETURNING pool, deployment_platform, idle, deploying, busy, error
         ), sums AS (
            SELECT pool, deployment_platform, sum(idle) AS idle, sum(deploying) AS deploying,
                   sum(busy) AS busy, sum(error) AS error, count(*) AS n
            FROM gone GROUP BY pool, deployment_platform
         ), merged AS (
            INSERT INTO pool_slot_counts AS c (pool, deployment_platform, backend, idle, deploying, busy, error)
            SELECT pool, deployment_platform, 0, idle, deploying, busy, error FROM sums
            ON CONFLICT (pool, deployment_platform, backend) DO UPDATE
            SET idle = c.idle + EXCLUDED.idle, deploying = c.deploying + EXCLUDED.deploying,
                busy = c.busy + EXCLUDED.busy, error = c.error + EXCLUDED.error
         )
         SELECT COALESCE(sum(n), 0)::bigint FROM sums",
    )
    .fetch_one(&mut *tx)
    .await?;
    // Only the shared row: a live connection's zero row is about to be
    // written again.
    sqlx::query(
        "DELETE FROM pool_slot_counts
         WHERE backend = 0 AND idle = 0 AND deploying = 0 AND busy = 0 AND error = 0",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(folded as u64)
}
