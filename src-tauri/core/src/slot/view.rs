//! The read side: slots as the CLI and UI show them, and their counts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{Error, ErrorCode, Result};
use crate::meeting::{MeetingPlatform, PlatformKind, SlotStatus};

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
    /// Drained by an operator: takes no new bot, deleted once idle.
    /// (Queries that do not select it read `false`.)
    #[sqlx(default)]
    pub draining: bool,
}

/// The `SELECT … FROM pool_slots` of a [`SlotView`]: every read of the
/// view shares it, so a row read by id is the row the list shows.
macro_rules! view_select {
    () => {
        "SELECT id, uuid, slot_name, pool, meeting_platform, deployment_platform, status, assigned_bot_id, epoch,
                platform_ref, description, last_used_at, error_message, recovery_attempts, status_changed_at, created_at,
                draining
         FROM pool_slots"
    };
}

/// Most ids one [`by_ids`] call reads.
pub const MAX_BY_IDS: usize = 1000;

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
    let rows = sqlx::query_as(concat!(
        view_select!(),
        " WHERE (cardinality($1::text[]) = 0 OR status = ANY($1))
           AND ($2::text IS NULL OR pool = $2)
           AND ($3::text IS NULL OR deployment_platform = $3)
         ORDER BY pool, slot_number"
    ))
    .bind(&statuses)
    .bind(filter.pool.as_deref())
    .bind(filter.platform.map(|p| p.as_str()))
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// The slots of `ids` that exist, as [`list`] shows them, in its order
/// (by pool then name): what a reader of the change feed reads for the
/// slot ids of an event ([`crate::feed::ChangeEvent::Changed`]) instead of
/// the whole list; an id missing from the answer was deleted. More than
/// [`MAX_BY_IDS`] ids are refused (`invalid_input`).
pub async fn by_ids(db: &PgPool, ids: &[i64]) -> Result<Vec<SlotView>> {
    if ids.len() > MAX_BY_IDS {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!(
                "{} slot ids asked for; at most {MAX_BY_IDS} at a time (read the list instead)",
                ids.len()
            ),
        ));
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(concat!(
        view_select!(),
        " WHERE id = ANY($1) ORDER BY pool, slot_number"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?)
}

/// One slot by id.
pub async fn get(db: &PgPool, slot_id: i64) -> Result<SlotView> {
    sqlx::query_as(concat!(view_select!(), " WHERE id = $1"))
        .bind(slot_id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no slot #{slot_id}")))
}

/// One slot by name (`not_found` when there is none).
pub async fn by_name(db: &PgPool, name: &str) -> Result<SlotView> {
    sqlx::query_as(concat!(view_select!(), " WHERE slot_name = $1"))
        .bind(name)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no slot named {name:?}")))
}

/// The slot a bot holds, if any.
pub async fn of_bot(db: &PgPool, bot_id: i64) -> Result<Option<SlotView>> {
    Ok(
        sqlx::query_as(concat!(view_select!(), " WHERE assigned_bot_id = $1"))
            .bind(bot_id)
            .fetch_optional(db)
            .await?,
    )
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

/// Slot counts per deployment platform and status (only non-zero counts),
/// by platform then status (their text forms, as the database sorts them).
/// From the maintained counters ([`super::counts`]): a few rows per
/// platform, summed in the database.
pub async fn counts_per_platform(db: &PgPool) -> Result<Vec<PlatformStatusCount>> {
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT deployment_platform, sum(idle)::bigint, sum(deploying)::bigint, sum(busy)::bigint,
                sum(error)::bigint
         FROM pool_slot_counts GROUP BY deployment_platform ORDER BY deployment_platform",
    )
    .fetch_all(db)
    .await?;
    let mut out = Vec::new();
    for (platform, idle, deploying, busy, error) in rows {
        let deployment_platform: PlatformKind = platform.parse()?;
        // Text order: busy, deploying, error, idle.
        for (status, count) in [
            (SlotStatus::Busy, busy),
            (SlotStatus::Deploying, deploying),
            (SlotStatus::Error, error),
            (SlotStatus::Idle, idle),
        ] {
            if count != 0 {
                out.push(PlatformStatusCount {
                    deployment_platform,
                    status,
                    count,
                });
            }
        }
    }
    Ok(out)
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
/// From the maintained counters ([`super::counts::maintained`]); ordered by
/// pool, platform and status (their text forms, as the database sorts them).
pub async fn counts_per_pool_and_platform(db: &PgPool) -> Result<Vec<PoolPlatformStatusCount>> {
    let mut by_text = SlotStatus::ALL.to_vec();
    by_text.sort_by_key(|s| s.as_str());
    let mut out = Vec::new();
    // Already by pool and platform (the database's order, as before).
    for c in super::counts::maintained(db).await? {
        for &status in &by_text {
            let count = c.of(status);
            if count != 0 {
                out.push(PoolPlatformStatusCount {
                    pool: c.pool.clone(),
                    deployment_platform: c.deployment_platform,
                    status,
                    count,
                });
            }
        }
    }
    Ok(out)
}
