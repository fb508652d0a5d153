//! The deployment queue: requests waiting for capacity.
//!
//! An entry either waits on one platform until that platform's queue
//! timeout (`stage_platform` set, never past the request's deadline), sits
//! in the global queue until the request's deadline, or is being routed by
//! the router that created it (`Routing`, taken over by any dispatcher once
//! its hold passes). Every accepted request that is not deploying or running
//! has an entry, from the transaction that creates it on. Order
//! (`dispatch_key!`, the one definition every listing, position and
//! dispatch uses): entries that have aged first (a bot of a tier with an
//! ageing bound, [`crate::tier`], waited that long: `aged_at` passed), then
//! lower priority number first, then first come first served. What the
//! queue shows (entries, positions, estimated waits, statistics) is in
//! [`view`].

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::error::Result;
use crate::meeting::PlatformKind;
use crate::router::Waiting;

/// The dispatch order's sort key of the entry aliased `q`, as of the
/// timestamp `now` (a query parameter such as `"$1"`): aged entries
/// (`aged_at <= now`) first, then priority, queue time and id, all
/// ascending. Spelled once here: `ORDER BY` it, or compare it as a row.
/// `aged_at` is the clock's time plus a bound, so `now` is the caller's
/// clock, never the database's own `now()` (the two differ under a
/// manual clock).
macro_rules! dispatch_key {
    ($q:literal, $now:literal) => {
        concat!(
            "(",
            $q,
            ".aged_at <= ",
            $now,
            ") IS NOT TRUE, ",
            $q,
            ".priority, ",
            $q,
            ".queued_at, ",
            $q,
            ".id"
        )
    };
}

/// The columns of a [`Waiting`] read from a queue entry `q` joined with
/// its bot `b`: the one spelling every dispatcher read uses.
macro_rules! waiting_columns {
    () => {
        "q.bot_id, b.pool, q.priority, b.queue_timeout_ms, q.queued_at, q.timeout_at, q.stage_platform,
         COALESCE(b.deadline, b.created_at + b.queue_timeout_ms * interval '1 millisecond') AS deadline,
         CASE WHEN q.stage = -2 THEN q.stage_deadline END AS routing_until,
         b.pinned_platform"
    };
}

mod page;
mod view;
pub use page::{due, waiting_page, Page, PageKey};
pub use view::{
    depth_per_platform, estimate_wait_ms, list, position, positions_of, release_rate, stats,
    QueueDepth, QueueEntryView, QueueStats, RATE_WINDOW_MINUTES,
};

/// Where a request entering the queue goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Wait on this platform until the deadline.
    Platform(PlatformKind, DateTime<Utc>),
    /// The global queue, until the deadline.
    Global(DateTime<Utc>),
    /// Its router walks the platforms for it now and owns it until
    /// `held_until`; after that any dispatcher takes it over (the router was
    /// interrupted). `deadline` is the request's own.
    Routing {
        /// Until when its router owns it.
        held_until: DateTime<Utc>,
        /// The request's deadline.
        deadline: DateTime<Utc>,
    },
}

/// Puts (or moves) a bot's entry, only while the bot is `QUEUED` (an entry
/// for a bot that moved on would never be served); returns whether it did.
/// `queued_at` and `aged_at` are kept from an earlier entry; a new entry
/// ages at `queued_at` plus the bot's `max_wait_ms` (never, without one).
pub async fn enter(
    conn: &mut PgConnection,
    bot_id: i64,
    priority: i32,
    queued_at: DateTime<Utc>,
    stage: Stage,
) -> Result<bool> {
    let (stage_no, platform, deadline, stage_end) = match stage {
        Stage::Platform(p, d) => (0, Some(p.as_str()), d, Some(d)),
        Stage::Global(d) => (-1, None, d, None),
        Stage::Routing {
            held_until,
            deadline,
        } => (-2, None, deadline, Some(held_until)),
    };
    let done = sqlx::query(
        "INSERT INTO deployment_queue (bot_id, priority, queued_at, timeout_at, stage, stage_platform, stage_deadline, aged_at)
         SELECT $1, $2, $3, GREATEST($4, $3), $5, $6, $7, $3 + max_wait_ms * interval '1 millisecond'
         FROM bots WHERE id = $1 AND status = 'QUEUED'
         ON CONFLICT (bot_id) DO UPDATE SET timeout_at = GREATEST($4, deployment_queue.queued_at), stage = $5,
            stage_platform = $6, stage_deadline = $7",
    )
    .bind(bot_id)
    .bind(priority)
    .bind(queued_at)
    .bind(deadline)
    .bind(stage_no)
    .bind(platform)
    .bind(stage_end)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Locks a bot's entry for the caller's transaction (skipping it if
/// another holds it); `false` if there is none, or another caller has it.
pub async fn lock_entry(conn: &mut PgConnection, bot_id: i64) -> Result<bool> {
    let mine: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM deployment_queue WHERE bot_id = $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(bot_id)
    .fetch_optional(conn)
    .await?;
    Ok(mine.is_some())
}

/// Locks the entry of a `QUEUED` bot for the caller's transaction (skipping
/// it if another holds it); `false` if there is none, the bot moved on, or
/// another caller has it. Only the entry is locked: a bot row held for a
/// moment (a key-share lock of a row naming it, the sweep) must not make a
/// dispatcher pass over a request.
pub async fn lock_queued(conn: &mut PgConnection, bot_id: i64) -> Result<bool> {
    let mine: Option<i64> = sqlx::query_scalar(
        "SELECT q.id FROM deployment_queue q JOIN bots b ON b.id = q.bot_id
         WHERE q.bot_id = $1 AND b.status = 'QUEUED' FOR UPDATE OF q SKIP LOCKED",
    )
    .bind(bot_id)
    .fetch_optional(conn)
    .await?;
    Ok(mine.is_some())
}

/// Removes a bot's entry (it is deploying, or it ended).
pub async fn leave(conn: &mut PgConnection, bot_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM deployment_queue WHERE bot_id = $1")
        .bind(bot_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every entry of a `QUEUED` bot in queue order as of `now`, as the
/// dispatcher offers them capacity.
pub async fn waiting<'e>(
    db: impl sqlx::PgExecutor<'e>,
    now: DateTime<Utc>,
) -> Result<Vec<Waiting>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        waiting_columns!(),
        " FROM deployment_queue q JOIN bots b ON b.id = q.bot_id
             WHERE b.status = 'QUEUED'
             ORDER BY ",
        dispatch_key!("q", "$1")
    ))
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// Takes over a `Routing` entry whose hold passed by `now` (its router was
/// interrupted), holding it until `held_until` for the caller's own walk.
/// Only one caller wins; `false` if the entry is not such an entry (any more).
pub async fn take_over(
    db: &PgPool,
    bot_id: i64,
    now: DateTime<Utc>,
    held_until: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE deployment_queue SET stage_deadline = $3
         WHERE bot_id = $1 AND stage = -2 AND stage_deadline <= $2",
    )
    .bind(bot_id)
    .bind(now)
    .bind(held_until)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Fails every global-queue entry past its deadline, and every entry past
/// its deadline that its router abandoned (a `Routing` entry past its hold):
/// the bot ends `FATAL` with "queue timeout". Safe to run from several
/// instances at once. Returns the expired bot ids.
pub async fn expire<'e>(db: impl sqlx::PgExecutor<'e>, now: DateTime<Utc>) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "WITH due AS (
            SELECT id FROM deployment_queue
            WHERE timeout_at <= $1 AND (stage = -1 OR (stage = -2 AND stage_deadline <= $1))
            FOR UPDATE SKIP LOCKED
         ), gone AS (
            DELETE FROM deployment_queue q USING due WHERE q.id = due.id RETURNING q.bot_id, q.queued_at
         )
         UPDATE bots b SET status = 'FATAL', error = 'queue timeout', ended_at = now(), updated_at = now(),
            decision_trace = b.decision_trace || jsonb_build_array(jsonb_build_object(
                'platform', NULL, 'decision', 'expired',
                'detail', 'queue timeout after ' || round(EXTRACT(EPOCH FROM ($1 - gone.queued_at)) * 1000) || ' ms',
                'at', to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))
         FROM gone WHERE b.id = gone.bot_id AND b.status = 'QUEUED'
         RETURNING b.id",
    )
    .bind(now)
    .fetch_all(db)
    .await?)
}
