//! The operator's actions as commands (see [`crate::api::actions`]); each
//! acts as the desktop's user and announces its change (with `audit`) on
//! the feed.

use berth_core::audit::AuditEntry;
use berth_core::bot::action::{PriorityChange, Redeploy, Reroute};
use berth_core::bot::BotView;
use berth_core::platform::drain::PlatformDrain;
use berth_core::slot::action::SlotOutcome;
use tauri::State;

use crate::api::actions as api;
use crate::dto::{AuditQuery, CommandResult, Id, SlotAction};
use crate::state::Core;

/// Acts on slots by name (`restart`, `drain`, `undrain`, `delete`,
/// `recover`), each on its own: one outcome per name, in order (a refused
/// slot has `error` and nothing was written for it). `force` lets restart
/// and delete end the bot a slot holds (`FATAL` with the reason); without
/// it such a slot is refused with `slot_busy`. A bad reason refuses the
/// whole call (`invalid_input`).
#[tauri::command]
#[specta::specta]
pub async fn slot_action(
    core: State<'_, Core>,
    action: SlotAction,
    names: Vec<String>,
    force: bool,
    reason: Option<String>,
) -> CommandResult<Vec<SlotOutcome>> {
    let b = core.get().await?;
    api::slots(b.router(), action, &names, force, reason.as_deref()).await
}

/// Cancels a bot that has not ended (`FATAL`, "cancelled by desktop:USER:
/// REASON"); returns it as it is after. `stale_transition` once ended.
#[tauri::command]
#[specta::specta]
pub async fn cancel_bot(
    core: State<'_, Core>,
    id: Id,
    reason: Option<String>,
) -> CommandResult<BotView> {
    let b = core.get().await?;
    api::cancel_bot(b.router(), id.0, reason.as_deref()).await
}

/// Changes a queued bot's priority (lower first); `not_applicable` when it
/// is not queued.
#[tauri::command]
#[specta::specta]
pub async fn set_bot_priority(
    core: State<'_, Core>,
    id: Id,
    priority: i32,
    reason: Option<String>,
) -> CommandResult<PriorityChange> {
    let b = core.get().await?;
    api::set_bot_priority(b.router(), id.0, priority, reason.as_deref()).await
}

/// Pins a queued bot to `platform` (`k8s`, `aws`, `coolify`, `local`), or
/// clears the pin (`null`).
#[tauri::command]
#[specta::specta]
pub async fn reroute_bot(
    core: State<'_, Core>,
    id: Id,
    platform: Option<String>,
    reason: Option<String>,
) -> CommandResult<Reroute> {
    let b = core.get().await?;
    api::reroute_bot(b.router(), id.0, platform.as_deref(), reason.as_deref()).await
}

/// Deploys a failed (`FATAL`) bot again as a new bot linked to it.
#[tauri::command]
#[specta::specta]
pub async fn redeploy_bot(
    core: State<'_, Core>,
    id: Id,
    reason: Option<String>,
) -> CommandResult<Redeploy> {
    let b = core.get().await?;
    api::redeploy_bot(b.router(), id.0, reason.as_deref()).await
}

/// Drains a platform: no new bots there (running ones finish).
#[tauri::command]
#[specta::specta]
pub async fn drain_platform(
    core: State<'_, Core>,
    platform: String,
    reason: Option<String>,
) -> CommandResult<PlatformDrain> {
    let b = core.get().await?;
    api::drain_platform(b.router(), &platform, true, reason.as_deref()).await
}

/// Lifts a platform's drain.
#[tauri::command]
#[specta::specta]
pub async fn undrain_platform(
    core: State<'_, Core>,
    platform: String,
    reason: Option<String>,
) -> CommandResult<PlatformDrain> {
    let b = core.get().await?;
    api::drain_platform(b.router(), &platform, false, reason.as_deref()).await
}

/// The audit log of operator actions, newest first, filtered.
#[tauri::command]
#[specta::specta]
pub async fn audit_log(core: State<'_, Core>, query: AuditQuery) -> CommandResult<Vec<AuditEntry>> {
    api::audit_log(core.get().await?.db(), &query).await
}
