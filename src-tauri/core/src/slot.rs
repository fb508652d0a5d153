//! The slot engine: acquisition, creation on demand, transitions, release.
//!
//! Invariants (enforced by the schema, kept by these statements):
//! - a slot holds at most one bot, a bot at most one slot, names are unique;
//! - every acquisition bumps the slot's lease `epoch`, and every later
//!   transition names the epoch it expects — a stale actor changes nothing;
//! - every transition is one SQL statement that also appends to
//!   `slot_history`, so the history is complete by construction;
//! - no `NOTIFY` is sent here (the change feed publishes after commits).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::description;
use crate::error::Result;
use crate::meeting::SlotStatus;
use crate::platform::SlotRef;

mod acquire;
pub mod action;
pub mod counts;
pub mod drain;
mod resource;
mod view;

#[cfg(feature = "experiments")]
pub use acquire::set_lock_mode;
pub(crate) use acquire::{acquirable, acquire_transition};
pub use acquire::{acquire, create, LockMode, ACQUIRABLE};
pub use resource::{
    adopt_platform_ref, forget_platform_ref, idle_count, marked, platform_refs, Marked,
};
pub use view::{
    by_ids, by_name, counts_per_platform, counts_per_pool_and_platform, get, list, of_bot,
    PlatformStatusCount, PoolPlatformStatusCount, SlotFilter, SlotView, MAX_BY_IDS,
};

/// A held slot: what an acquisition or creation hands back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Lease {
    /// Slot id.
    pub slot_id: i64,
    /// Slot UUID.
    pub uuid: Uuid,
    /// Slot name.
    pub slot_name: String,
    /// Pool name.
    pub pool: String,
    /// The lease epoch every later transition must name.
    pub epoch: i64,
    /// The platform resource, if already created.
    pub platform_ref: Option<String>,
}

impl Lease {
    /// The platform-facing view of the slot.
    pub fn slot_ref(&self) -> SlotRef {
        SlotRef {
            slot_id: self.slot_id,
            slot_name: self.slot_name.clone(),
            pool: self.pool.clone(),
            epoch: self.epoch,
            platform_ref: self.platform_ref.clone(),
        }
    }
}

/// Records the platform resource created for a slot (any state, same epoch).
pub async fn set_platform_ref(
    db: &PgPool,
    slot_id: i64,
    epoch: i64,
    platform_ref: &str,
) -> Result<bool> {
    let done = sqlx::query("UPDATE pool_slots SET platform_ref = $3 WHERE id = $1 AND epoch = $2")
        .bind(slot_id)
        .bind(epoch)
        .bind(platform_ref)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// `deploying` → `busy` once the workload runs. `false` if the epoch or state moved on.
pub async fn mark_busy(db: &PgPool, slot_id: i64, epoch: i64, at: DateTime<Utc>) -> Result<bool> {
    let done: Option<i64> = sqlx::query_scalar(concat!(
        "WITH upd AS (
            UPDATE pool_slots SET status = 'busy', status_changed_at = now(),
                counted_inline = NOT counted_inline,
                description = '[BUSY] Bot #' || assigned_bot_id || ' - ' || $3
            WHERE id = $1 AND epoch = $2 AND status = 'deploying'
            RETURNING id, slot_name, pool, deployment_platform, epoch, assigned_bot_id
         ), hist AS (
            INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
            SELECT id, slot_name, epoch, 'deploying', 'busy', assigned_bot_id, 'workload running' FROM upd
         ), ",
        counts::counted_inline!("upd", "'deploying'", "'busy'"),
        "
         SELECT id FROM upd",
    ))
    .bind(slot_id)
    .bind(epoch)
    .bind(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    .fetch_optional(db)
    .await?;
    Ok(done.is_some())
}

/// Renews the sign of life of the deploy into a `deploying` slot (same
/// epoch), which tells a live deploy from one whose process died. `false`
/// if the slot moved on.
pub async fn touch_deploying(db: &PgPool, slot_id: i64, epoch: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE pool_slots SET deploy_alive_at = now() WHERE id = $1 AND epoch = $2 AND status = 'deploying'",
    )
    .bind(slot_id)
    .bind(epoch)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What a release or reset changed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Released {
    /// Slot id.
    pub slot_id: i64,
    /// Pool.
    pub pool: String,
    /// The bot the slot held, if any.
    pub bot_id: Option<i64>,
    /// Whether the slot is draining (an operator's drain: delete it now it
    /// is idle, see [`drain`]). Read by the transitions to `idle` only.
    #[sqlx(default)]
    pub draining: bool,
}

/// Releases a held slot (`deploying`/`busy` → `idle`): bot cleared,
/// recovery attempts reset. A slot running another image than its pool's
/// rollout target is taken for its update in the same statement when the
/// rollout has room ([`crate::rollout`]): no acquisition sees it before it
/// runs the new image. Stopping the workload is the caller's job,
/// before this. `None` if `epoch` is stale or the slot is not held.
pub async fn release(
    conn: &mut PgConnection,
    slot_id: i64,
    epoch: i64,
    reason: &str,
) -> Result<Option<Released>> {
    transition_to_idle(conn, slot_id, epoch, &["deploying", "busy"], reason).await
}

/// Recovery's reset (`error`/`deploying` → `idle`), under the same epoch rule.
pub async fn reset(
    conn: &mut PgConnection,
    slot_id: i64,
    epoch: i64,
    reason: &str,
) -> Result<Option<Released>> {
    transition_to_idle(conn, slot_id, epoch, &["error", "deploying"], reason).await
}

async fn transition_to_idle(
    conn: &mut PgConnection,
    slot_id: i64,
    epoch: i64,
    from: &[&str],
    reason: &str,
) -> Result<Option<Released>> {
    let released: Option<Released> = sqlx::query_as(concat!(
        "WITH old AS (
            SELECT id, status, assigned_bot_id, pool, image, draining FROM pool_slots
            WHERE id = $1 AND epoch = $2 AND status = ANY($3) FOR UPDATE
         ), taken AS (
            UPDATE pool_rollouts r SET in_flight = r.in_flight + 1
            FROM old WHERE r.pool = old.pool AND r.finished_at IS NULL AND NOT old.draining
              AND old.image IS DISTINCT FROM r.image AND r.in_flight < r.max_updating
            RETURNING r.pool
         ), upd AS (
            UPDATE pool_slots s SET status = 'idle', assigned_bot_id = NULL, recovery_attempts = 0,
                error_message = NULL, status_changed_at = now(), counted_inline = NOT s.counted_inline,
                updating = EXISTS (SELECT 1 FROM taken),
                description = CASE WHEN s.last_used_at IS NULL THEN $5::text
                    ELSE $6::text ||
                        to_char(s.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END
            FROM old WHERE s.id = old.id
            RETURNING s.id, s.slot_name, s.epoch, s.pool, s.deployment_platform, old.status AS from_status,
                old.assigned_bot_id, s.draining
         ), hist AS (
            INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
            SELECT id, slot_name, epoch, from_status, 'idle', assigned_bot_id, $4 FROM upd
         ), ",
        counts::counted_inline!("upd", "from_status", "'idle'"),
        ", ",
        counts::released_inline!("upd", "from_status"),
        "
         SELECT id AS slot_id, pool, assigned_bot_id AS bot_id, draining FROM upd",
    ))
    .bind(slot_id)
    .bind(epoch)
    .bind(from)
    .bind(reason)
    .bind(description::IDLE_NEVER_USED)
    .bind(description::IDLE_LAST_USED)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(released)
}

/// Claims a deploy that is to be taken back (interrupted, or past its
/// deploying timeout): `deploying` → `error` with `message`, only if the slot
/// is still deploying under `epoch` (else `None`, nothing changed). Claimed
/// first, before its workload is stopped, so a router that was only cut off
/// can no longer mark the slot busy over a workload stopped under it. Call
/// it inside the caller's transaction: the row stays locked until it ends.
pub async fn claim_deploying(
    conn: &mut PgConnection,
    slot_id: i64,
    epoch: i64,
    message: &str,
    at: DateTime<Utc>,
) -> Result<Option<Released>> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM pool_slots WHERE id = $1 AND epoch = $2 FOR UPDATE")
            .bind(slot_id)
            .bind(epoch)
            .fetch_optional(&mut *conn)
            .await?;
    if status.as_deref() != Some(SlotStatus::Deploying.as_str()) {
        return Ok(None);
    }
    mark_error(conn, slot_id, Some(epoch), message, at).await
}

/// Any state → `error` with `message`; the bot is cleared from the slot (the
/// caller decides the bot's fate). With `epoch`, only if it still matches.
pub async fn mark_error(
    conn: &mut PgConnection,
    slot_id: i64,
    epoch: Option<i64>,
    message: &str,
    at: DateTime<Utc>,
) -> Result<Option<Released>> {
    let released: Option<Released> = sqlx::query_as(
        "WITH old AS (
            SELECT id, status, assigned_bot_id FROM pool_slots
            WHERE id = $1 AND ($2::bigint IS NULL OR epoch = $2) FOR UPDATE
         ), upd AS (
            UPDATE pool_slots s SET status = 'error', assigned_bot_id = NULL, error_message = $3,
                status_changed_at = now(), description = $4, updating = false
            FROM old WHERE s.id = old.id
            RETURNING s.id, s.slot_name, s.epoch, s.pool, old.status AS from_status, old.assigned_bot_id
         ), hist AS (
            INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
            SELECT id, slot_name, epoch, from_status, 'error', assigned_bot_id, $3 FROM upd
         )
         SELECT id AS slot_id, pool, assigned_bot_id AS bot_id FROM upd",
    )
    .bind(slot_id)
    .bind(epoch)
    .bind(message)
    .bind(description::error(message, at))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(released)
}

/// Counts a failed recovery attempt; returns the new count (`None` if the
/// slot moved on).
pub async fn count_recovery_attempt(
    db: &mut PgConnection,
    slot_id: i64,
    epoch: i64,
    message: &str,
) -> Result<Option<i32>> {
    let n: Option<i32> = sqlx::query_scalar(
        "UPDATE pool_slots SET recovery_attempts = recovery_attempts + 1,
            error_message = COALESCE(error_message, $3)
         WHERE id = $1 AND epoch = $2 AND status IN ('error', 'deploying')
         RETURNING recovery_attempts",
    )
    .bind(slot_id)
    .bind(epoch)
    .bind(message)
    .fetch_optional(db)
    .await?;
    Ok(n)
}

/// Deletes a slot that is not held (or whose epoch still matches), with a
/// last history row. Returns whether it was deleted.
pub async fn delete(
    conn: &mut PgConnection,
    slot_id: i64,
    epoch: i64,
    reason: &str,
) -> Result<bool> {
    let id: Option<i64> = sqlx::query_scalar(
        "WITH del AS (
            DELETE FROM pool_slots WHERE id = $1 AND epoch = $2 AND status <> 'busy'
            RETURNING id, slot_name, epoch, status, assigned_bot_id
         ), hist AS (
            INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
            SELECT id, slot_name, epoch, status, 'deleted', assigned_bot_id, $3 FROM del
         )
         SELECT id FROM del",
    )
    .bind(slot_id)
    .bind(epoch)
    .bind(reason)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id.is_some())
}
