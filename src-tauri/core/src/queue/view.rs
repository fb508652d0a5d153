//! The queue as it is shown: entries with their places, a bot's position,
//! estimated waits (from the releases observed per minute, never from a
//! constant) and the statistics. Read-only.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::error::Result;
use crate::meeting::{MeetingPlatform, PlatformKind};

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
