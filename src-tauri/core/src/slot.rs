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
use serde::Serialize;
use sqlx::{Acquire, PgConnection, PgPool};
use std::sync::atomic::{AtomicU8, Ordering};
use uuid::Uuid;

use crate::description;
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::{MeetingPlatform, PlatformKind, SlotStatus};
use crate::platform::SlotRef;

mod resource;
pub use resource::{
    adopt_platform_ref, forget_platform_ref, idle_count, marked, platform_refs, Marked,
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

/// A slot as the CLI and UI show it (reference 000's `PoolSlotView`, plus pool and platform).
/// Times serialize as [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SlotView {
    /// Slot id.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub id: i64,
    /// Slot UUID (`coolifyServiceUuid` in the reference).
    pub uuid: Uuid,
    /// Slot name.
    pub slot_name: String,
    /// Pool name.
    pub pool: String,
    /// Meeting platform of the pool.
    #[sqlx(try_from = "String")]
    pub meeting_platform: MeetingPlatform,
    /// Deployment platform the slot lives on.
    #[sqlx(try_from = "String")]
    pub deployment_platform: PlatformKind,
    /// Status.
    #[sqlx(try_from = "String")]
    pub status: SlotStatus,
    /// The bot it holds.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub assigned_bot_id: Option<i64>,
    /// Lease epoch.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub epoch: i64,
    /// Platform resource identifier.
    pub platform_ref: Option<String>,
    /// Platform-side description (reference 003 format).
    pub description: String,
    /// Last acquisition.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Error message when `error`.
    pub error_message: Option<String>,
    /// Recovery attempts since the last success.
    pub recovery_attempts: i32,
    /// When the status last changed.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub status_changed_at: DateTime<Utc>,
    /// Creation time.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub created_at: DateTime<Utc>,
}

/// How the acquisition query locks its candidate row. Only experiments
/// (showing what the lock buys, in tests and the benchmark) change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// `FOR UPDATE SKIP LOCKED` (the only mode Berth itself uses).
    SkipLocked = 0,
    /// `FOR UPDATE` without `SKIP LOCKED`: waits behind other acquirers.
    Blocking = 1,
    /// No row lock at all: unsafe, double assignment becomes possible.
    Unlocked = 2,
}

static LOCK_MODE: AtomicU8 = AtomicU8::new(0);

/// Changes the acquisition lock for experiments; process-wide.
#[cfg(feature = "experiments")]
pub fn set_lock_mode(mode: LockMode) {
    LOCK_MODE.store(mode as u8, Ordering::SeqCst);
}

fn lock_clause() -> &'static str {
    match LOCK_MODE.load(Ordering::Relaxed) {
        1 => "FOR UPDATE",
        2 => "",
        _ => "FOR UPDATE SKIP LOCKED",
    }
}

const ACQUIRE_HEAD: &str = "WITH cand AS (
    SELECT id FROM pool_slots
    WHERE pool = $1 AND deployment_platform = $2 AND status = 'idle'
    ORDER BY last_used_at ASC NULLS FIRST, id
    LIMIT 1 ";
const ACQUIRE_TAIL: &str = "), upd AS (
    UPDATE pool_slots s
    SET status = 'deploying', assigned_bot_id = $3, epoch = s.epoch + 1, last_used_at = now(),
        status_changed_at = now(), error_message = NULL, description = $4
    FROM cand WHERE s.id = cand.id
    RETURNING s.id, s.uuid, s.slot_name, s.pool, s.epoch, s.platform_ref
), hist AS (
    INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
    SELECT id, slot_name, epoch, 'idle', 'deploying', $3, 'acquire' FROM upd
)
SELECT id AS slot_id, uuid, slot_name, pool, epoch, platform_ref FROM upd";

/// Takes the least recently used idle slot (never-used first) of `pool` on
/// `platform` for `bot_id`: `idle` → `deploying`, epoch bumped.
///
/// `SKIP LOCKED` can pass over every idle row while others hold them; this
/// never answers "none" while an idle slot of the pool exists on the
/// platform: it looks again until it wins one or there is none.
pub async fn acquire(
    conn: &mut PgConnection,
    pool: &str,
    platform: PlatformKind,
    bot_id: i64,
) -> Result<Option<Lease>> {
    let sql = format!("{ACQUIRE_HEAD}{}{ACQUIRE_TAIL}", lock_clause());
    let desc = description::deploying(bot_id);
    loop {
        let lease: Option<Lease> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(pool)
            .bind(platform.as_str())
            .bind(bot_id)
            .bind(&desc)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| constraint(e, bot_id))?;
        if lease.is_some() {
            return Ok(lease);
        }
        let idle_exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pool_slots WHERE pool = $1 AND deployment_platform = $2 AND status = 'idle')",
        )
        .bind(pool)
        .bind(platform.as_str())
        .fetch_one(&mut *conn)
        .await?;
        if !idle_exists {
            return Ok(None);
        }
        tokio::task::yield_now().await;
    }
}

fn constraint(e: sqlx::Error, bot_id: i64) -> Error {
    if let sqlx::Error::Database(db) = &e {
        if db.constraint() == Some("pool_slots_bot_uidx") {
            return Error::new(
                ErrorCode::Conflict,
                format!("bot #{bot_id} already holds a slot"),
            );
        }
    }
    Error::from(e)
}

/// Creates a slot in `pool` on `platform` if the pool is under its max size,
/// named `pool-<pool>-<NNN>` with the first free number. With `bot_id` the
/// new slot is born `deploying` for that bot (epoch 1); without, `idle`.
///
/// The size check holds the pool row (`FOR NO KEY UPDATE`) so concurrent
/// creators cannot overshoot; returns `None` when the pool is full.
pub async fn create(
    conn: &mut PgConnection,
    pool: &str,
    platform: PlatformKind,
    bot_id: Option<i64>,
) -> Result<Option<Lease>> {
    let mut tx = conn.begin().await?;
    let row: Option<(i32, String)> = sqlx::query_as(
        "SELECT max_size, meeting_platform FROM pools WHERE name = $1 FOR NO KEY UPDATE",
    )
    .bind(pool)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((max_size, meeting_platform)) = row else {
        tx.rollback().await?;
        return Err(Error::new(
            ErrorCode::NotFound,
            format!("no pool named {pool:?}"),
        ));
    };
    let number: Option<i32> = sqlx::query_scalar(
        "SELECT n FROM generate_series(1, $2::int) AS n
         WHERE (SELECT count(*) FROM pool_slots WHERE pool = $1) < $2
           AND NOT EXISTS (SELECT 1 FROM pool_slots WHERE pool = $1 AND slot_number = n)
         ORDER BY n LIMIT 1",
    )
    .bind(pool)
    .bind(max_size)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(number) = number else {
        // Release the pool row now rather than at a lazy drop-time rollback.
        tx.rollback().await?;
        return Ok(None);
    };
    let (status, epoch, desc) = match bot_id {
        Some(bot) => ("deploying", 1_i64, description::deploying(bot)),
        None => ("idle", 0, description::idle(None)),
    };
    let lease: Lease = sqlx::query_as(
        "WITH ins AS (
            INSERT INTO pool_slots (pool, meeting_platform, deployment_platform, slot_name, slot_number, status,
                                    assigned_bot_id, epoch, description, last_used_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $7::bigint IS NULL THEN NULL ELSE now() END)
            RETURNING id, uuid, slot_name, pool, epoch, platform_ref, status
         ), hist AS (
            INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
            SELECT id, slot_name, epoch, NULL, status, $7, 'create' FROM ins
         )
         SELECT id AS slot_id, uuid, slot_name, pool, epoch, platform_ref FROM ins",
    )
    .bind(pool)
    .bind(&meeting_platform)
    .bind(platform.as_str())
    .bind(format!("pool-{pool}-{number:03}"))
    .bind(number)
    .bind(status)
    .bind(bot_id)
    .bind(epoch)
    .bind(&desc)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| constraint(e, bot_id.unwrap_or_default()))?;
    tx.commit().await?;
    Ok(Some(lease))
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
    let done: Option<i64> = sqlx::query_scalar(
        "WITH upd AS (
            UPDATE pool_slots SET status = 'busy', status_changed_at = now(),
                description = '[BUSY] Bot #' || assigned_bot_id || ' - ' || $3
            WHERE id = $1 AND epoch = $2 AND status = 'deploying'
            RETURNING id, slot_name, epoch, assigned_bot_id
         ), hist AS (
            INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
            SELECT id, slot_name, epoch, 'deploying', 'busy', assigned_bot_id, 'workload running' FROM upd
         )
         SELECT id FROM upd",
    )
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
}

/// Releases a held slot (`deploying`/`busy` → `idle`): bot cleared,
/// recovery attempts reset. Stopping the workload is the caller's job,
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
    let released: Option<Released> = sqlx::query_as(
        "WITH old AS (
            SELECT id, status, assigned_bot_id FROM pool_slots
            WHERE id = $1 AND epoch = $2 AND status = ANY($3) FOR UPDATE
         ), upd AS (
            UPDATE pool_slots s SET status = 'idle', assigned_bot_id = NULL, recovery_attempts = 0,
                error_message = NULL, status_changed_at = now(),
                description = CASE WHEN s.last_used_at IS NULL THEN $5::text
                    ELSE $6::text ||
                        to_char(s.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END
            FROM old WHERE s.id = old.id
            RETURNING s.id, s.slot_name, s.epoch, s.pool, old.status AS from_status, old.assigned_bot_id
         ), hist AS (
            INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
            SELECT id, slot_name, epoch, from_status, 'idle', assigned_bot_id, $4 FROM upd
         )
         SELECT id AS slot_id, pool, assigned_bot_id AS bot_id FROM upd",
    )
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
                status_changed_at = now(), description = $4
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
    db: &PgPool,
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

/// Filter for [`list`].
#[derive(Debug, Clone, Default)]
pub struct SlotFilter {
    /// Only these statuses (empty: all).
    pub statuses: Vec<SlotStatus>,
    /// Only this pool.
    pub pool: Option<String>,
    /// Only this deployment platform.
    pub platform: Option<PlatformKind>,
}

/// Lists slots, by pool then name.
pub async fn list(db: &PgPool, filter: &SlotFilter) -> Result<Vec<SlotView>> {
    let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
    let rows = sqlx::query_as(
        "SELECT id, uuid, slot_name, pool, meeting_platform, deployment_platform, status, assigned_bot_id, epoch,
                platform_ref, description, last_used_at, error_message, recovery_attempts, status_changed_at, created_at
         FROM pool_slots
         WHERE (cardinality($1::text[]) = 0 OR status = ANY($1))
           AND ($2::text IS NULL OR pool = $2)
           AND ($3::text IS NULL OR deployment_platform = $3)
         ORDER BY pool, slot_number",
    )
    .bind(&statuses)
    .bind(filter.pool.as_deref())
    .bind(filter.platform.map(|p| p.as_str()))
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// One slot by id.
pub async fn get(db: &PgPool, slot_id: i64) -> Result<SlotView> {
    sqlx::query_as(
        "SELECT id, uuid, slot_name, pool, meeting_platform, deployment_platform, status, assigned_bot_id, epoch,
                platform_ref, description, last_used_at, error_message, recovery_attempts, status_changed_at, created_at
         FROM pool_slots WHERE id = $1",
    )
    .bind(slot_id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no slot #{slot_id}")))
}

/// The slot a bot holds, if any.
pub async fn of_bot(db: &PgPool, bot_id: i64) -> Result<Option<SlotView>> {
    Ok(sqlx::query_as(
        "SELECT id, uuid, slot_name, pool, meeting_platform, deployment_platform, status, assigned_bot_id, epoch,
                platform_ref, description, last_used_at, error_message, recovery_attempts, status_changed_at, created_at
         FROM pool_slots WHERE assigned_bot_id = $1",
    )
    .bind(bot_id)
    .fetch_optional(db)
    .await?)
}

/// Slots of one deployment platform in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct PlatformStatusCount {
    /// Deployment platform.
    #[sqlx(try_from = "String")]
    pub deployment_platform: PlatformKind,
    /// Status.
    #[sqlx(try_from = "String")]
    pub status: SlotStatus,
    /// How many slots.
    pub count: i64,
}

/// Slot counts per deployment platform and status (only non-zero counts).
pub async fn counts_per_platform(db: &PgPool) -> Result<Vec<PlatformStatusCount>> {
    Ok(sqlx::query_as(
        "SELECT deployment_platform, status, count(*) AS count FROM pool_slots
         GROUP BY deployment_platform, status ORDER BY deployment_platform, status",
    )
    .fetch_all(db)
    .await?)
}

/// Slots of one pool on one deployment platform in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct PoolPlatformStatusCount {
    /// Pool.
    pub pool: String,
    /// Deployment platform.
    #[sqlx(try_from = "String")]
    pub deployment_platform: PlatformKind,
    /// Status.
    #[sqlx(try_from = "String")]
    pub status: SlotStatus,
    /// How many slots.
    pub count: i64,
}

/// Slot counts per pool, deployment platform and status (only non-zero
/// counts): the finest grouping of [`counts_per_platform`] and the pools'
/// statistics, for the metrics' slot gauges.
pub async fn counts_per_pool_and_platform(db: &PgPool) -> Result<Vec<PoolPlatformStatusCount>> {
    Ok(sqlx::query_as(
        "SELECT pool, deployment_platform, status, count(*) AS count FROM pool_slots
         GROUP BY pool, deployment_platform, status ORDER BY pool, deployment_platform, status",
    )
    .fetch_all(db)
    .await?)
}
