//! Ended bots past the history retention: deleted, so `bots` is bounded
//! like the history tables (their events, lease tokens, idempotency keys
//! and webhook records go with them by `ON DELETE CASCADE`). The closed
//! buckets of the history views come from the rollup, so they are unchanged.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::error::Result;

/// Bots deleted per statement: each batch is its own short transaction, so
/// a large backlog never holds many rows locked at once.
pub const PRUNE_BATCH: i64 = 1_000;

/// Deletes the bots that ended (`DONE` or `FATAL`) more than `retention`
/// before `now`, in batches of [`PRUNE_BATCH`], until none is left; returns
/// how many. A bot a slot still names is kept (a slot names its bot without
/// a foreign key, migration `20261201000180`), whatever its state. Run by
/// the leader with the history retention.
pub async fn prune_ended(db: &PgPool, now: DateTime<Utc>, retention: Duration) -> Result<u64> {
    let cutoff = now - retention;
    let mut total = 0;
    loop {
        let done = sqlx::query(
            "DELETE FROM bots WHERE id IN (
                SELECT b.id FROM bots b
                WHERE b.status IN ('DONE', 'FATAL') AND b.ended_at < $1
                  AND NOT EXISTS (SELECT 1 FROM pool_slots s WHERE s.assigned_bot_id = b.id)
                ORDER BY b.ended_at LIMIT $2
                FOR UPDATE SKIP LOCKED)",
        )
        .bind(cutoff)
        .bind(PRUNE_BATCH)
        .execute(db)
        .await?
        .rows_affected();
        total += done;
        if done < PRUNE_BATCH as u64 {
            return Ok(total);
        }
    }
}
