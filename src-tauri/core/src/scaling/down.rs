//! Scaling down: removing idle slots above a pool's target.
//!
//! Invariants:
//! - a slot is claimed for removal by one statement that takes only slots
//!   that are acquirable now (`idle`, no bot, not draining: the
//!   acquisition's own condition), under their row lock with `SKIP LOCKED`,
//!   and re-checks `status = 'idle'` and the epoch it read: an acquisition
//!   that holds or has taken the row wins, and the claim passes over it;
//! - the claim never takes the pool's idle count (counted in the same
//!   statement, locked rows left out) below `keep`, which is never below
//!   the policy's `min_idle`;
//! - a claimed slot is marked `draining`, so no acquisition takes it while
//!   its resource is deleted; then the row goes (with a last history row).
//!   A resource the platform will not delete now leaves the slot draining,
//!   for the trim pass ([`crate::jobs::trim`]).
//!
//! Idle since: `status_changed_at`, which every transition to `idle` (and a
//! slot's creation) sets to the database's `now()`.

use chrono::{DateTime, Duration, Utc};

use crate::error::Result;
use crate::router::Router;
use crate::slot;

/// The claim: idle slots of `$1` idle since `$3` or earlier, oldest idle
/// first, as many as leave `$2` idle.
const CLAIM: &str = concat!(
    "WITH idle AS (
        SELECT id, epoch, status_changed_at FROM pool_slots
        WHERE pool = $1 AND ",
    crate::slot::acquirable!(),
    "
        FOR UPDATE SKIP LOCKED
     ), doomed AS (
        SELECT id, epoch FROM idle
        WHERE status_changed_at <= $3
        ORDER BY status_changed_at, id
        LIMIT GREATEST(0, (SELECT count(*) FROM idle) - $2)
     )
     UPDATE pool_slots s SET draining = true
     FROM doomed d
     WHERE s.id = d.id AND s.epoch = d.epoch AND s.status = 'idle'
       AND s.assigned_bot_id IS NULL AND NOT s.draining
     RETURNING s.id"
);

/// Removes idle slots of `pool` beyond `keep` that have been idle for at
/// least `after` at `now`, oldest idle first: claims them in one statement
/// (see the module's invariants), deletes each one's platform resource,
/// then its row. Returns the slots removed (a slot whose resource could not
/// be deleted is left draining and not counted). Publishes nothing: the
/// caller announces its pass.
pub async fn remove_above(
    router: &Router,
    pool: &str,
    keep: i64,
    after: Duration,
    now: DateTime<Utc>,
) -> Result<u32> {
    let claimed: Vec<i64> = sqlx::query_scalar(CLAIM)
        .bind(pool)
        .bind(keep.max(0))
        .bind(now - after)
        .fetch_all(router.db())
        .await?;
    let mut removed = 0;
    for id in claimed {
        if remove(router, id, after).await? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Deletes a claimed (draining, idle) slot: its resource, then its row.
async fn remove(router: &Router, id: i64, after: Duration) -> Result<bool> {
    let s = slot::get(router.db(), id).await?;
    if let (Some(adapter), Some(_)) = (
        router.platforms().get(s.deployment_platform),
        &s.platform_ref,
    ) {
        if let Err(e) = adapter.delete_resource(&crate::sweep::slot_ref(&s)).await {
            tracing::warn!(slot = %s.slot_name, error = %e, "resource of a scaled-down slot not deleted; the trim pass tries again");
            return Ok(false);
        }
    }
    let why = format!(
        "scaled down: idle above the pool's target for {}s",
        after.num_seconds()
    );
    let mut conn = router.db().acquire().await?;
    slot::delete(&mut conn, s.id, s.epoch, &why).await
}
