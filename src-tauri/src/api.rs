//! The commands' logic as plain async functions over the database, so they
//! are tested against a real PostgreSQL without a window. The
//! `#[tauri::command]` wrappers in [`crate::commands`] only fetch the running
//! core and call these.

pub mod actions;
pub mod definitions;
pub mod deploy;

use berth_core::actor::Actor;
use berth_core::bot::BotView;
use berth_core::feed::Feed;
use berth_core::history::{self, History, Span};
use berth_core::meeting::{PlatformKind, SlotStatus};
use berth_core::pool::{Pool, PoolStats};
use berth_core::settings::{Settings, SettingsChange};
use berth_core::slot::SlotView;
use berth_core::{bot, db, overview, pool, queue, settings, slot, timestamp, ErrorCode};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use berth_core::overview::{PlatformsOverview, QueueSnapshot};
use berth_core::queue::QueueStats;

use crate::dto::{CommandError, CommandResult, ConnectionStatus, Id, SettingsPlan, SlotFilter};

/// Most history rows one call returns.
pub const MAX_HISTORY: i32 = 500;

/// Per-pool slot counts.
pub async fn pool_stats(db: &PgPool) -> CommandResult<Vec<PoolStats>> {
    Ok(pool::stats(db).await?)
}

/// Every pool definition.
pub async fn list_pools(db: &PgPool) -> CommandResult<Vec<Pool>> {
    Ok(pool::list(db)
        .await?
        .into_iter()
        .filter(|p| !p.retired)
        .collect())
}

/// The queue in order, each entry with its estimated wait, as of `now`:
/// the core's [`overview::queue`].
pub async fn queue_entries(db: &PgPool, now: DateTime<Utc>) -> CommandResult<QueueSnapshot> {
    Ok(overview::queue(db, now).await?)
}

/// Queue statistics as of `now`.
pub async fn queue_stats(db: &PgPool, now: DateTime<Utc>) -> CommandResult<QueueStats> {
    Ok(queue::stats(db, now).await?)
}

/// Utilisation, queue length, waits and deploy failures over `span` ending
/// at `now`.
pub async fn history(db: &PgPool, span: Span, now: DateTime<Utc>) -> CommandResult<History> {
    Ok(history::history(db, span, now).await?)
}

/// Slots matching `filter`, by pool then name. Unknown statuses or
/// platforms are refused (`invalid_input`), never silently ignored.
pub async fn list_slots(db: &PgPool, filter: &SlotFilter) -> CommandResult<Vec<SlotView>> {
    let statuses = filter
        .statuses
        .iter()
        .map(|s| s.parse::<SlotStatus>())
        .collect::<berth_core::Result<Vec<_>>>()?;
    let platform = filter
        .platform
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(str::parse::<PlatformKind>)
        .transpose()?;
    let core_filter = slot::SlotFilter {
        statuses,
        pool: filter.pool.clone().filter(|p| !p.is_empty()),
        platform,
    };
    Ok(slot::list(db, &core_filter).await?)
}

/// The slots of `ids` that exist, as [`list_slots`] shows them
/// ([`slot::by_ids`]).
pub async fn slots_by_ids(db: &PgPool, ids: &[Id]) -> CommandResult<Vec<SlotView>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    Ok(slot::by_ids(db, &ids).await?)
}

/// The settings in force.
pub async fn get_settings(db: &PgPool) -> CommandResult<Settings> {
    Ok(settings::load(db).await?)
}

/// Every platform in priority order with its settings, capacity in use,
/// health (checks older than [`berth_core::instance::HEALTH_MAX_AGE_MS`]
/// count as unknown) and slot counts by status: the core's
/// [`overview::platforms`].
pub async fn platforms_overview(
    db: &PgPool,
    now: DateTime<Utc>,
) -> CommandResult<PlatformsOverview> {
    Ok(overview::platforms(db, now, None).await?)
}

fn parse_platform(platform: &str) -> CommandResult<PlatformKind> {
    Ok(platform.parse::<PlatformKind>()?)
}

/// Saves the settings through the core's use case ([`settings::save`]):
/// the plan's platform names mapped to the core's kinds, then the whole plan
/// checked and applied in one transaction recorded as made by `actor`, the
/// change announced on `feed`; on any refusal nothing changes. Returns the
/// settings now in force.
pub async fn save_settings(
    db: &PgPool,
    feed: &Feed,
    plan: &SettingsPlan,
    actor: &Actor,
) -> CommandResult<Settings> {
    let order = plan
        .order
        .as_ref()
        .map(|o| o.iter().map(|p| parse_platform(p)).collect())
        .transpose()?;
    let edits = plan
        .edits
        .iter()
        .map(|e| {
            Ok((
                parse_platform(&e.platform)?,
                settings::PlatformEdit {
                    enabled: e.edit.enabled,
                    bot_limit: e.edit.bot_limit,
                    queue_timeout_ms: e.edit.queue_timeout_ms,
                },
            ))
        })
        .collect::<CommandResult<Vec<_>>>()?;
    let plan = settings::SettingsPlan {
        order,
        edits,
        global_queue_timeout_ms: plan.global_queue_timeout_ms,
        tiers: plan.tiers.clone(),
    };
    Ok(settings::save(db, feed, &plan, actor).await?)
}

/// The latest `limit` settings changes (1..=[`MAX_HISTORY`]), newest first.
pub async fn settings_history(db: &PgPool, limit: i32) -> CommandResult<Vec<SettingsChange>> {
    if !(1..=MAX_HISTORY).contains(&limit) {
        return Err(CommandError::new(
            ErrorCode::InvalidInput,
            format!("limit must be from 1 to {MAX_HISTORY}, got {limit}"),
        ));
    }
    Ok(settings::history(db, i64::from(limit)).await?)
}

/// One bot with its decision trace.
pub async fn bot_details(db: &PgPool, id: i64) -> CommandResult<BotView> {
    Ok(bot::get(db, id).await?)
}

/// A page of bots matching `filter` as of `now` (the core's [`bot::browse`]).
pub async fn bots(
    db: &PgPool,
    filter: &bot::BotFilter,
    now: DateTime<Utc>,
) -> CommandResult<bot::BotPage> {
    Ok(bot::browse(db, filter, now).await?)
}

/// One bot's timeline as of `now` (the core's [`bot::timeline`]).
pub async fn bot_timeline(
    db: &PgPool,
    id: i64,
    now: DateTime<Utc>,
) -> CommandResult<bot::BotTimeline> {
    Ok(bot::timeline(db, id, now).await?)
}

/// Whether the database answers ([`db::ping`], within 3 s) and when the
/// feed last spoke.
pub async fn connection_status(
    pool: &PgPool,
    now: DateTime<Utc>,
    last_event_at: Option<DateTime<Utc>>,
    feed_connected: bool,
) -> ConnectionStatus {
    let ping = db::ping(pool, std::time::Duration::from_secs(3)).await;
    let database_ok = ping.is_ok();
    ConnectionStatus {
        database_ok,
        message: ping.err().map(|e| CommandError::from(e).message),
        last_event_at: last_event_at.map(timestamp::text),
        feed_connected: feed_connected && database_ok,
        now: timestamp::text(now),
    }
}
