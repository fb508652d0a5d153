//! The `#[tauri::command]` wrappers: fetch the running core, call the logic
//! in [`crate::api`], announce settings changes on the feed. Nothing else.

use berth_core::feed::Topic;
use berth_core::Berth;
use tauri::State;

use crate::api;
use crate::dto::{
    BotDetails, CommandResult, ConnectionStatus, Id, PlatformEdit, PlatformsOverview, Pool,
    PoolStats, QueueSnapshot, QueueStats, Settings, SettingsChange, Slot, SlotFilter,
};
use crate::state::Core;

fn now(b: &Berth) -> chrono::DateTime<chrono::Utc> {
    b.router().clock().now()
}

/// Slot counts of every pool.
#[tauri::command]
#[specta::specta]
pub async fn pool_stats(core: State<'_, Core>) -> CommandResult<Vec<PoolStats>> {
    api::pool_stats(core.get().await?.db()).await
}

/// Every pool definition.
#[tauri::command]
#[specta::specta]
pub async fn list_pools(core: State<'_, Core>) -> CommandResult<Vec<Pool>> {
    api::list_pools(core.get().await?.db()).await
}

/// The queue in order with estimated waits, and the server time.
#[tauri::command]
#[specta::specta]
pub async fn queue_entries(core: State<'_, Core>) -> CommandResult<QueueSnapshot> {
    let b = core.get().await?;
    api::queue_entries(b.db(), now(&b)).await
}

/// Queue statistics.
#[tauri::command]
#[specta::specta]
pub async fn queue_stats(core: State<'_, Core>) -> CommandResult<QueueStats> {
    let b = core.get().await?;
    api::queue_stats(b.db(), now(&b)).await
}

/// Slots matching the filter.
#[tauri::command]
#[specta::specta]
pub async fn list_slots(core: State<'_, Core>, filter: SlotFilter) -> CommandResult<Vec<Slot>> {
    api::list_slots(core.get().await?.db(), &filter).await
}

/// Every platform in priority order with capacity, health and slot counts.
#[tauri::command]
#[specta::specta]
pub async fn platforms_overview(core: State<'_, Core>) -> CommandResult<PlatformsOverview> {
    let b = core.get().await?;
    api::platforms_overview(b.db(), now(&b)).await
}

/// The platform settings in force.
#[tauri::command]
#[specta::specta]
pub async fn get_settings(core: State<'_, Core>) -> CommandResult<Settings> {
    api::get_settings(core.get().await?.db()).await
}

/// Edits one platform's settings (refused: `config_invalid`, `conflict` for
/// a value pinned by the environment, `not_found`); returns the new settings.
#[tauri::command]
#[specta::specta]
pub async fn edit_platform(
    core: State<'_, Core>,
    platform: String,
    edit: PlatformEdit,
) -> CommandResult<Settings> {
    let b = core.get().await?;
    let out = api::edit_platform(b.db(), &platform, &edit, &api::desktop_user()).await?;
    b.router().feed().publish(&[Topic::Settings]);
    Ok(out)
}

/// Sets the priority order (every platform once); returns the new settings.
#[tauri::command]
#[specta::specta]
pub async fn set_priority(core: State<'_, Core>, order: Vec<String>) -> CommandResult<Settings> {
    let b = core.get().await?;
    let out = api::set_priority(b.db(), &order, &api::desktop_user()).await?;
    b.router().feed().publish(&[Topic::Settings]);
    Ok(out)
}

/// Sets the global queue timeout; returns the new settings.
#[tauri::command]
#[specta::specta]
pub async fn set_global_queue_timeout(core: State<'_, Core>, ms: i32) -> CommandResult<Settings> {
    let b = core.get().await?;
    let out = api::set_global_queue_timeout(b.db(), ms, &api::desktop_user()).await?;
    b.router().feed().publish(&[Topic::Settings]);
    Ok(out)
}

/// The latest settings changes, newest first.
#[tauri::command]
#[specta::specta]
pub async fn settings_history(
    core: State<'_, Core>,
    limit: i32,
) -> CommandResult<Vec<SettingsChange>> {
    api::settings_history(core.get().await?.db(), limit).await
}

/// One bot with its decision trace.
#[tauri::command]
#[specta::specta]
pub async fn bot_details(core: State<'_, Core>, id: Id) -> CommandResult<BotDetails> {
    api::bot_details(core.get().await?.db(), id.0).await
}

/// Whether the database answers and when the live feed last spoke.
#[tauri::command]
#[specta::specta]
pub async fn connection_status(core: State<'_, Core>) -> CommandResult<ConnectionStatus> {
    let b = core.get().await?;
    let (last, connected) = core.feed.get();
    Ok(api::connection_status(b.db(), now(&b), last, connected).await)
}
