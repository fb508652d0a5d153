//! Taking a slot for a bot: acquiring an idle one (under the row lock
//! experiments may change) or creating one on demand.

use sqlx::{Acquire, PgConnection};
use std::sync::atomic::{AtomicU8, Ordering};

use super::Lease;
use crate::description;
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::PlatformKind;

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

/// The condition of a slot an acquisition may take, spelled as the
/// predicate of `pool_slots_acquire_idx` (migrations 20261201000090,
/// 20261201000150: a slot taken for its image update is not acquirable,
/// and 20261201000160), which
/// has no `status` in it so that status changes stay HOT. A query for
/// acquirable slots must include it word for word to be served by that
/// index (`status = 'idle'` alone reads every slot).
macro_rules! acquirable {
    () => {
        "status = 'idle' AND assigned_bot_id IS NULL AND error_message IS NULL AND NOT draining AND NOT updating"
    };
}
// The set-based grant (router::grant) spells the same condition.
pub(crate) use acquirable;

/// See [`acquirable!`]: idle, with no bot, no error message, not draining,
/// not being updated to a new image.
pub const ACQUIRABLE: &str = acquirable!();

const ACQUIRE_HEAD: &str = concat!(
    "WITH cand AS (
    SELECT id FROM pool_slots
    WHERE pool = $1 AND deployment_platform = $2 AND ",
    acquirable!(),
    "
    ORDER BY last_used_at ASC NULLS LAST, id
    LIMIT 1 "
);
/// The `upd` and `hist` CTEs of an acquisition, `idle` → `deploying`, for
/// the slots of the CTE `$from` (with its `id`), each for the bot
/// `$bot` with the description `$descr` (SQL expressions over `$from`, or
/// parameters): epoch bumped, last use and status change now, error cleared,
/// and one `slot_history` row (`acquire`) a slot; the counts in the same
/// statement (the `cnt` CTE, [`crate::slot::counts`]). `upd` returns the
/// slot's lease columns, `deployment_platform` and `assigned_bot_id`. The one definition of what an
/// acquisition writes: [`acquire`] and the set-based grant
/// (`router::grant`) both build from it.
macro_rules! acquire_transition {
    ($from:literal, $bot:literal, $descr:literal) => {
        concat!(
            "upd AS (
    UPDATE pool_slots s
    SET status = 'deploying', assigned_bot_id = ",
            $bot,
            ", epoch = s.epoch + 1, last_used_at = now(),
        status_changed_at = now(), error_message = NULL, counted_inline = NOT s.counted_inline, description = ",
            $descr,
            "
    FROM ",
            $from,
            " WHERE s.id = ",
            $from,
            ".id
    RETURNING s.id, s.uuid, s.slot_name, s.pool, s.deployment_platform, s.epoch, s.platform_ref, s.assigned_bot_id
), hist AS (
    INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
    SELECT id, slot_name, epoch, 'idle', 'deploying', assigned_bot_id, 'acquire' FROM upd
), ",
            $crate::slot::counts::counted_inline!("upd", "'idle'", "'deploying'")
        )
    };
}
pub(crate) use acquire_transition;

const ACQUIRE_TAIL: &str = concat!(
    "), ",
    acquire_transition!("cand", "$3", "$4"),
    "
SELECT id AS slot_id, uuid, slot_name, pool, epoch, platform_ref FROM upd"
);

/// Takes the least recently used idle slot (never-used last: a pre-warmed slot may still be having its resource made) of `pool` on
/// `platform` for `bot_id`: `idle` → `deploying`, epoch bumped. A draining
/// slot is never taken (the partial index leaves it out too).
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
        let idle_exists: bool = sqlx::query_scalar(concat!(
            "SELECT EXISTS (SELECT 1 FROM pool_slots WHERE pool = $1 AND deployment_platform = $2 AND ",
            acquirable!(),
            ")"
        ))
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
                                    assigned_bot_id, epoch, description, last_used_at, image)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $7::bigint IS NULL THEN NULL ELSE now() END,
                    (SELECT image FROM pools WHERE name = $1))
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
