//! Slot counts by pool, deployment platform and status, as the statistics
//! read them: from counters kept in the same transaction as every change to
//! `pool_slots` (migration `20261201000080_slot_counts`), so a read costs a
//! few rows whatever the number of slots.
//!
//! The counters are deltas sharded by the writing connection (its backend
//! pid), so concurrent transitions never wait on a shared counter row; the
//! counts are their sums. [`fold`] moves the rows of connections that are
//! gone into one row, keeping the table to a few rows per live connection.
//! [`recount`] counts the slots themselves: the same figures, the slow way
//! (tests check the two agree).
//!
//! The transitions of every deployment (acquire, workload running, release)
//! count themselves in the statement that makes them ([`counted_inline!`],
//! [`released_inline!`]) and flip the row's `counted_inline`, which the
//! trigger skips (migration `20261201000180_inline_slot_counts`): a PL/pgSQL
//! call per row cost about a quarter of an acquire→release cycle.

use serde::Serialize;
use sqlx::PgPool;

use crate::error::Result;
use crate::meeting::{PlatformKind, SlotStatus};

/// The CTEs (`cnt_d`, `cnt`, `cnt_new`) of a statement that counts its own
/// transitions: adds, to the writing connection's counter rows, one slot
/// leaving `$from_status` and entering `$to_status` (SQL expressions over
/// the rows of CTE `$rows`, which has `pool` and `deployment_platform`) for
/// each row of `$rows`. The statement's update must also set
/// `counted_inline = NOT counted_inline`, or the trigger counts the same
/// change again.
///
/// A plain update of the connection's row (one WAL record), and an upsert
/// only when there is no row yet: `ON CONFLICT DO UPDATE` locks the row
/// before updating it, a second WAL record on every transition.
macro_rules! counted_inline {
    ($rows:literal, $from_status:literal, $to_status:literal) => {
        concat!(
            "cnt_d AS (
    SELECT pool, deployment_platform, ",
            $crate::slot::counts::delta!("idle", $from_status, $to_status),
            " AS idle, ",
            $crate::slot::counts::delta!("deploying", $from_status, $to_status),
            " AS deploying, ",
            $crate::slot::counts::delta!("busy", $from_status, $to_status),
            " AS busy, ",
            $crate::slot::counts::delta!("error", $from_status, $to_status),
            " AS error
    FROM ",
            $rows,
            " GROUP BY pool, deployment_platform
), cnt AS (
    UPDATE pool_slot_counts c
    SET idle = c.idle + d.idle, deploying = c.deploying + d.deploying, busy = c.busy + d.busy, error = c.error + d.error
    FROM cnt_d d
    WHERE c.pool = d.pool AND c.deployment_platform = d.deployment_platform AND c.backend = pg_backend_pid()
    RETURNING c.pool, c.deployment_platform
), cnt_new AS (
    INSERT INTO pool_slot_counts AS c (pool, deployment_platform, backend, idle, deploying, busy, error)
    SELECT d.pool, d.deployment_platform, pg_backend_pid(), d.idle, d.deploying, d.busy, d.error FROM cnt_d d
    WHERE NOT EXISTS (SELECT 1 FROM cnt WHERE cnt.pool = d.pool AND cnt.deployment_platform = d.deployment_platform)
    ON CONFLICT (pool, deployment_platform, backend) DO UPDATE
    SET idle = c.idle + EXCLUDED.idle, deploying = c.deploying + EXCLUDED.deploying,
        busy = c.busy + EXCLUDED.busy, error = c.error + EXCLUDED.error
)"
        )
    };
}
pub(crate) use counted_inline;

/// The change of one status's count over a group of transitions.
macro_rules! delta {
    ($status:literal, $from_status:literal, $to_status:literal) => {
        concat!(
            "sum((",
            $to_status,
            " = '",
            $status,
            "')::int - (",
            $from_status,
            " IS NOT DISTINCT FROM '",
            $status,
            "')::int)"
        )
    };
}
pub(crate) use delta;

/// The CTEs (`mins_d`, `mins`, `mins_new`, `unexhausted`) of a statement
/// that makes slots idle and counts itself ([`counted_inline!`]): what the
/// trigger does for a slot going idle. Each row of CTE `$rows` (with `pool`
/// and `$from_status`) that was `busy` or `deploying` is a release of this
/// minute (the queue's wait estimate), added as the counters are; its pool
/// is no longer exhausted.
macro_rules! released_inline {
    ($rows:literal, $from_status:literal) => {
        concat!(
            "mins_d AS (
    SELECT count(*) AS n FROM ",
            $rows,
            " WHERE ",
            $from_status,
            " IN ('busy', 'deploying') HAVING count(*) > 0
), mins AS (
    UPDATE slot_release_minutes m SET releases = m.releases + d.n FROM mins_d d
    WHERE m.minute = date_trunc('minute', now()) AND m.backend = pg_backend_pid()
    RETURNING m.backend
), mins_new AS (
    INSERT INTO slot_release_minutes AS m (minute, backend, releases)
    SELECT date_trunc('minute', now()), pg_backend_pid(), n FROM mins_d WHERE NOT EXISTS (SELECT 1 FROM mins)
    ON CONFLICT (minute, backend) DO UPDATE SET releases = m.releases + EXCLUDED.releases
), unexhausted AS (
    DELETE FROM pool_exhaustion e WHERE e.pool IN (SELECT pool FROM ",
            $rows,
            ")
)"
        )
    };
}
pub(crate) use released_inline;

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
