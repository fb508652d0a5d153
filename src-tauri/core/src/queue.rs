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
//! lower priority number first, then first come first served. Estimated
//! waits come from the release rate observed in the slot history, never
//! from a constant.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::error::Result;
use crate::meeting::{MeetingPlatform, PlatformKind};
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
pub use page::{due, waiting_page, Page, PageKey};

/// Window over which the release rate is observed.
pub const RATE_WINDOW_MINUTES: i64 = 15;

/// A queue entry as the CLI and UI show it. Times serialize as
/// [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct QueueEntryView {
    /// Entry id.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub id: i64,
    /// The waiting bot.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bot_id: i64,
    /// Its pool.
    pub pool: String,
    /// Its meeting platform.
    #[sqlx(try_from = "String")]
    pub meeting_platform: MeetingPlatform,
    /// Priority (lower first).
    pub priority: i32,
    /// Its priority tier, if its priority is one's ([`crate::tier`]).
    pub tier: Option<String>,
    /// When it was queued.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub queued_at: DateTime<Utc>,
    /// When it ages (its tier's ageing bound after `queued_at`): from then
    /// on it goes before every entry that has not aged. `None`: never.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub aged_at: Option<DateTime<Utc>>,
    /// Its deadline (global queue) or the end of its current platform wait.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub timeout_at: DateTime<Utc>,
    /// The deployment platform it waits on, or `None` in the global queue.
    #[sqlx(try_from = "StagePlatform")]
    pub waiting_on: Option<PlatformKind>,
    /// 1-based position in queue order.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub position: i64,
}

/// The `stage_platform` column as stored (text or NULL), decoded into
/// [`QueueEntryView::waiting_on`]: a value that names no platform is a
/// decode error, not a string passed on to the faces.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
struct StagePlatform(Option<String>);

impl TryFrom<StagePlatform> for Option<PlatformKind> {
    type Error = crate::error::Error;
    fn try_from(s: StagePlatform) -> std::result::Result<Self, Self::Error> {
        s.0.map(|p| p.parse()).transpose()
    }
}

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

/// 1-based places of `bot_ids` in the dispatch order as of `now`: among
/// the entries of `QUEUED` bots, ordered as [`waiting`] offers them
/// capacity. Bots not waiting are left out.
pub async fn positions_of(
    db: &PgPool,
    bot_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<std::collections::HashMap<i64, i64>> {
    // The same order (and the same bots) as `waiting`.
    let rows: Vec<(i64, i64)> = sqlx::query_as(concat!(
        "SELECT bot_id, position FROM (
            SELECT q.bot_id, row_number() OVER (ORDER BY ",
        dispatch_key!("q", "$2"),
        ") AS position
            FROM deployment_queue q JOIN bots b ON b.id = q.bot_id
            WHERE b.status = 'QUEUED') ranked
         WHERE bot_id = ANY($1)"
    ))
    .bind(bot_ids)
    .bind(now)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
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

/// Every entry in queue order as of `now`, with positions.
pub async fn list(db: &PgPool, now: DateTime<Utc>) -> Result<Vec<QueueEntryView>> {
    Ok(sqlx::query_as(concat!(
        "SELECT q.id, q.bot_id, b.pool, b.meeting_platform, q.priority, b.tier, q.queued_at, q.timeout_at,
                q.aged_at, q.stage_platform AS waiting_on,
                row_number() OVER (ORDER BY ",
        dispatch_key!("q", "$1"),
        ") AS position
         FROM deployment_queue q JOIN bots b ON b.id = q.bot_id
         ORDER BY ",
        dispatch_key!("q", "$1")
    ))
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// 1-based position of a bot's entry as of `now`, if queued. The order of
/// `dispatch_key!` counted in two parts, each served by an index without
/// reading the whole queue: the aged entries before it (the aged-entry
/// index), then, for an entry that has not aged, every aged entry and the
/// others before it (the order index).
pub async fn position(db: &PgPool, bot_id: i64, now: DateTime<Utc>) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "WITH me AS (
            SELECT priority, queued_at, id, (aged_at <= $2) IS TRUE AS aged FROM deployment_queue WHERE bot_id = $1)
         SELECT (SELECT count(*) FROM deployment_queue q
                 WHERE q.aged_at <= $2
                   AND (NOT me.aged OR (q.priority, q.queued_at, q.id) <= (me.priority, me.queued_at, me.id)))
              + CASE WHEN me.aged THEN 0 ELSE
                (SELECT count(*) FROM deployment_queue q
                 WHERE (q.priority, q.queued_at, q.id) <= (me.priority, me.queued_at, me.id)
                   AND (q.aged_at <= $2) IS NOT TRUE) END
         FROM me",
    )
    .bind(bot_id)
    .bind(now)
    .fetch_optional(db)
    .await?
    .filter(|n: &i64| *n > 0))
}

/// Releases per second observed over the last [`RATE_WINDOW_MINUTES`] up to
/// `now`: the releases of the minutes (database time) starting in that
/// window, from the per-minute counters a trigger keeps on every release
/// ([`crate::platform::load::releases_between`]), so a read costs a few
/// rows whatever the traffic. The minute under way counts as far as it went.
pub async fn release_rate(db: &PgPool, now: DateTime<Utc>) -> Result<f64> {
    let n = crate::platform::load::releases_between(
        db,
        now - Duration::minutes(RATE_WINDOW_MINUTES),
        now,
    )
    .await?;
    Ok(n as f64 / (RATE_WINDOW_MINUTES * 60) as f64)
}

/// Estimated wait for the entry at `position` given `rate` releases per
/// second; `None` when no release was observed (no honest estimate exists).
pub fn estimate_wait_ms(position: i64, rate: f64) -> Option<i64> {
    (rate > 0.0).then(|| ((position as f64) / rate * 1000.0).round() as i64)
}

/// Reference 004's `getQueueStats`. Times serialize as
/// [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    /// Entries waiting.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub length: i64,
    /// The oldest entry's queue time.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub oldest_queued_at: Option<DateTime<Utc>>,
    /// Mean time the current entries have waited so far.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub avg_wait_ms: i64,
    /// Releases per minute observed recently.
    pub releases_per_minute: f64,
    /// The moment the statistics are of (the `now` they were read at).
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub now: DateTime<Utc>,
}

/// The queue's depth by where its entries wait: per platform (entries
/// waiting on one platform, stage >= 0), and the rest (the global queue and
/// requests whose router is between platforms) as `global`. The counts add
/// up to the queue's length. Reads only.
pub async fn depth_per_platform(db: &PgPool) -> Result<QueueDepth> {
    let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT CASE WHEN stage >= 0 THEN stage_platform END, count(*)
           FROM deployment_queue GROUP BY 1",
    )
    .fetch_all(db)
    .await?;
    let mut depth = QueueDepth::default();
    for (platform, n) in rows {
        match platform
            .as_deref()
            .and_then(|p| p.parse::<PlatformKind>().ok())
        {
            Some(kind) => depth.platforms.push((kind, n)),
            None => depth.global += n,
        }
    }
    Ok(depth)
}

/// See [`depth_per_platform`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Entries waiting on each platform (platforms with none left out).
    pub platforms: Vec<(PlatformKind, i64)>,
    /// Entries in the global queue or between platforms.
    pub global: i64,
}

impl QueueDepth {
    /// Entries waiting on `kind`.
    pub fn on(&self, kind: PlatformKind) -> i64 {
        self.platforms
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }
}

/// Queue statistics as of `now`.
pub async fn stats(db: &PgPool, now: DateTime<Utc>) -> Result<QueueStats> {
    let entries = async {
        let row: (i64, Option<DateTime<Utc>>, Option<f64>) = sqlx::query_as(
            "SELECT count(*), min(queued_at), avg(EXTRACT(EPOCH FROM ($1 - queued_at)) * 1000)::float8 FROM deployment_queue",
        )
        .bind(now)
        .fetch_one(db)
        .await?;
        Ok::<_, crate::Error>(row)
    };
    // Both at once, on the pool's connections.
    let ((length, oldest, avg), rate) = tokio::try_join!(entries, release_rate(db, now))?;
    Ok(QueueStats {
        length,
        oldest_queued_at: oldest,
        avg_wait_ms: avg.unwrap_or(0.0).max(0.0) as i64,
        releases_per_minute: rate * 60.0,
        now,
    })
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
