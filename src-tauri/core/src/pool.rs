//! Pools: the slots of one meeting platform's bot image, and their statistics.
//!
//! A pool is a row in `pools`; the engine only ever reads that row, so the
//! default pools (one per meeting platform, sized from the environment)
//! can later be replaced by YAML definitions without touching the engine.

use serde::Serialize;
use sqlx::PgPool;

use crate::config::PoolSizing;
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::{MeetingPlatform, PlatformKind};

/// A pool definition as the engine uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    /// Unique name; slots are named `pool-<name>-<NNN>`.
    pub name: String,
    /// The meeting platform it serves; bots of other meeting platforms never land here.
    pub meeting_platform: MeetingPlatform,
    /// The bot image.
    pub image: String,
    /// Max slots across all deployment platforms.
    pub max_size: i32,
    /// Idle slots to keep ready.
    pub prewarm_count: i32,
    /// Deployment platforms allowed, in order; `None`: the global priority order.
    pub allowed_platforms: Option<Vec<PlatformKind>>,
    /// Where the definition came from (`default`, or `definition` for an applied YAML file).
    pub source: String,
    /// Whether each bot needs an account leased from the pool's account source.
    pub uses_accounts: bool,
    /// Priority of its bot requests that name none (`queue.priority`);
    /// `None`: not given.
    pub queue_priority: Option<i32>,
    /// Priority tier of its bot requests that name none (`queue.tier`).
    pub queue_tier: Option<String>,
    /// Queue timeout of its bot requests that name none, in ms.
    pub queue_timeout_ms: i32,
    /// Its definition was deleted: no new bots; its idle slots are trimmed.
    pub retired: bool,
}

type PoolRow = (
    String,
    String,
    String,
    i32,
    i32,
    Option<Vec<String>>,
    String,
    bool,
    Option<i32>,
    i32,
    bool,
    Option<String>,
);

fn from_row(row: PoolRow) -> Result<Pool> {
    let (
        name,
        mp,
        image,
        max_size,
        prewarm_count,
        allowed,
        source,
        uses_accounts,
        queue_priority,
        queue_timeout_ms,
        retired,
        queue_tier,
    ) = row;
    let allowed_platforms = allowed
        .map(|v| v.into_iter().map(|s| s.parse()).collect::<Result<Vec<_>>>())
        .transpose()?;
    Ok(Pool {
        name,
        meeting_platform: mp.parse()?,
        image,
        max_size,
        prewarm_count,
        allowed_platforms,
        source,
        uses_accounts,
        queue_priority,
        queue_tier,
        queue_timeout_ms,
        retired,
    })
}

const COLUMNS: &str =
    "name, meeting_platform, image, max_size, prewarm_count, allowed_platforms, source, uses_accounts, queue_priority, queue_timeout_ms, retired, queue_tier";

/// Every pool, by name.
pub async fn list<'e>(db: impl sqlx::PgExecutor<'e>) -> Result<Vec<Pool>> {
    let rows: Vec<PoolRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM pools ORDER BY name"
    )))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// One pool by name.
pub async fn get(db: &PgPool, name: &str) -> Result<Pool> {
    let row: Option<PoolRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM pools WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(db)
    .await?;
    from_row(row.ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no pool named {name:?}")))?)
}

/// The pool serving `mp` (the first by name when several do).
pub async fn for_meeting_platform(db: &PgPool, mp: MeetingPlatform) -> Result<Pool> {
    let row: Option<PoolRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM pools WHERE meeting_platform = $1 AND NOT retired ORDER BY (name = $1) DESC, name LIMIT 1"
    )))
    .bind(mp.as_str())
    .fetch_optional(db)
    .await?;
    from_row(row.ok_or_else(|| {
        Error::new(
            ErrorCode::NotFound,
            format!("no pool serves {}", mp.as_str()),
        )
    })?)
}

/// Creates or updates the default pool of each meeting platform from the
/// environment's sizing. Pools defined elsewhere (source other than
/// `default`) are left alone.
pub async fn ensure_defaults(db: &PgPool, sizing: &[PoolSizing]) -> Result<()> {
    for s in sizing {
        sqlx::query(
            "INSERT INTO pools (name, meeting_platform, image, max_size, prewarm_count, source)
             VALUES ($1, $1, $2, $3, $4, 'default')
             ON CONFLICT (name) DO UPDATE SET max_size = $3, prewarm_count = $4, updated_at = now()
             WHERE pools.source = 'default'
               AND (pools.max_size, pools.prewarm_count) IS DISTINCT FROM ($3, $4)",
        )
        .bind(s.meeting_platform.as_str())
        .bind(s.meeting_platform.default_image())
        .bind(s.max_size as i32)
        .bind(s.prewarm_count as i32)
        .execute(db)
        .await?;
    }
    Ok(())
}

/// Reference 000's `PoolStats`, per pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PoolStats {
    /// Pool name.
    pub pool: String,
    /// Meeting platform.
    #[sqlx(try_from = "String")]
    pub meeting_platform: MeetingPlatform,
    /// Slots in the pool.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub total: i64,
    /// Ready for assignment.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub idle: i64,
    /// Starting up.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub deploying: i64,
    /// Running a bot.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub busy: i64,
    /// In error.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub error: i64,
    /// Max size.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub max_size: i64,
}

/// One pool's statistics; an unknown pool is `not_found`.
pub async fn stats_of(db: &PgPool, name: &str) -> Result<PoolStats> {
    stats(db)
        .await?
        .into_iter()
        .find(|s| s.pool == name)
        .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no pool named {name:?}")))
}

/// Every pool's statistics added up, with each pool's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PoolTotals {
    /// Slots in every pool.
    pub total: i64,
    /// Ready for assignment.
    pub idle: i64,
    /// Starting up.
    pub deploying: i64,
    /// Running a bot.
    pub busy: i64,
    /// In error.
    pub error: i64,
    /// Sum of the pools' max sizes.
    pub max_size: i64,
    /// Each pool, by name.
    pub pools: Vec<PoolStats>,
}

/// Every pool's statistics and their sum.
pub async fn totals(db: &PgPool) -> Result<PoolTotals> {
    let pools = stats(db).await?;
    let mut t = PoolTotals::default();
    for p in &pools {
        t.total += p.total;
        t.idle += p.idle;
        t.deploying += p.deploying;
        t.busy += p.busy;
        t.error += p.error;
        t.max_size += p.max_size;
    }
    t.pools = pools;
    Ok(t)
}

/// Statistics of every pool, by name; a retired pool only while it still
/// has slots. Read from the slot counters the database keeps with every
/// slot change ([`crate::slot::counts`]): a few rows per pool, not a scan
/// of every slot.
pub async fn stats(db: &PgPool) -> Result<Vec<PoolStats>> {
    Ok(sqlx::query_as(
        "SELECT p.name AS pool, p.meeting_platform,
                COALESCE(sum(c.idle + c.deploying + c.busy + c.error), 0)::bigint AS total,
                COALESCE(sum(c.idle), 0)::bigint AS idle,
                COALESCE(sum(c.deploying), 0)::bigint AS deploying,
                COALESCE(sum(c.busy), 0)::bigint AS busy,
                COALESCE(sum(c.error), 0)::bigint AS error,
                p.max_size::bigint AS max_size
         FROM pools p LEFT JOIN pool_slot_counts c ON c.pool = p.name
         GROUP BY p.name, p.meeting_platform, p.max_size, p.retired
         HAVING NOT p.retired OR COALESCE(sum(c.idle + c.deploying + c.busy + c.error), 0) > 0
         ORDER BY p.name",
    )
    .fetch_all(db)
    .await?)
}
