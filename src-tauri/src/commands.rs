//! The `#[tauri::command]` wrappers: fetch the running core, call the logic
//! in [`crate::api`]. Nothing else: the core's use cases announce their own
//! changes on the feed.

pub mod actions;
pub mod schedule;

use berth_core::account::source::QueryConnection;
use berth_core::actor::Actor;
use berth_core::definition;
use berth_core::settings::rules::SettingsRules;
use berth_core::Berth;
use tauri::State;

use crate::api;
use berth_core::bot::{BotFilter, BotPage, BotTimeline, BotView};
use berth_core::history::{History, Span};
use berth_core::overview::{PlatformsOverview, QueueSnapshot};
use berth_core::pool::{Pool, PoolStats};
use berth_core::queue::QueueStats;
use berth_core::settings::{Settings, SettingsChange};
use berth_core::slot::SlotView;

use berth_core::account::builder::TableColumns as BuilderTable;
use berth_core::definition::view::{
    AccountRefresh, AppliedDefinition, DefinitionDetail, DefinitionList, DefinitionTest,
    DeletedDefinition, Validation,
};
use berth_core::definition::Saved as SavedDefinition;
use berth_core::lifecycle::{Batch as DeployBatch, BatchRequest as DeployRequest};
use berth_core::scaling::ScalingView;

use crate::dto::{CommandResult, ConnectionStatus, Id, SettingsPlan, SlotFilter};
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

/// The pool's history over the last hour, day or week.
#[tauri::command]
#[specta::specta]
pub async fn history(core: State<'_, Core>, span: Span) -> CommandResult<History> {
    let b = core.get().await?;
    api::history(b.db(), span, now(&b)).await
}

/// Slots matching the filter.
#[tauri::command]
#[specta::specta]
pub async fn list_slots(core: State<'_, Core>, filter: SlotFilter) -> CommandResult<Vec<SlotView>> {
    api::list_slots(core.get().await?.db(), &filter).await
}

/// The slots of `ids` that exist, as `list_slots` shows them: what the UI
/// reads for a change event's `slotIds` (at most `MAX_SLOTS_BY_IDS`).
#[tauri::command]
#[specta::specta]
pub async fn slots_by_ids(core: State<'_, Core>, ids: Vec<Id>) -> CommandResult<Vec<SlotView>> {
    api::slots_by_ids(core.get().await?.db(), &ids).await
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

/// Saves the settings: the whole plan (priority order, platform edits,
/// global queue timeout) in one transaction, so a refused save
/// (`config_invalid`, `conflict` for a value pinned by the environment,
/// `invalid_input`, `not_found`) changes nothing. Returns the new settings.
#[tauri::command]
#[specta::specta]
pub async fn save_settings(core: State<'_, Core>, plan: SettingsPlan) -> CommandResult<Settings> {
    let b = core.get().await?;
    api::save_settings(b.db(), b.router().feed(), &plan, &Actor::desktop()).await
}

/// The ranges the settings are checked against (the core's
/// [`berth_core::settings::rules`]), so the settings page checks a value
/// before saving by the same rules the core applies. Needs no running core.
#[tauri::command]
#[specta::specta]
pub fn settings_rules() -> CommandResult<SettingsRules> {
    // A Result like every command, so the UI's wrapper treats all alike.
    Ok(berth_core::settings::rules::RULES)
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
pub async fn bot_details(core: State<'_, Core>, id: Id) -> CommandResult<BotView> {
    api::bot_details(core.get().await?.db(), id.0).await
}

/// A page of bots, newest first: filtered by status, deployment platform,
/// pool and creation time, searched by id (`123`, `#123`) or meeting URL;
/// `invalid_input` for a limit outside 1..=1000. Read-only.
#[tauri::command]
#[specta::specta]
pub async fn bots(core: State<'_, Core>, filter: BotFilter) -> CommandResult<BotPage> {
    let b = core.get().await?;
    api::bots(b.db(), &filter, now(&b)).await
}

/// One bot's timeline: states with times, decision trace, slot, account,
/// actions, redeploys; `not_found` for an unknown id. Read-only.
#[tauri::command]
#[specta::specta]
pub async fn bot_timeline(core: State<'_, Core>, id: Id) -> CommandResult<BotTimeline> {
    let b = core.get().await?;
    api::bot_timeline(b.db(), id.0, now(&b)).await
}

/// Whether the database answers and when the live feed last spoke.
#[tauri::command]
#[specta::specta]
pub async fn connection_status(core: State<'_, Core>) -> CommandResult<ConnectionStatus> {
    let b = core.get().await?;
    let (last, connected) = core.feed.get();
    Ok(api::connection_status(b.db(), now(&b), last, connected).await)
}

/// The pools directory: `BERTH_POOLS_DIR`, else the user's config directory.
fn pools_dir() -> std::path::PathBuf {
    definition::pools_dir(|k| std::env::var_os(k))
}

/// `BERTH_QUERY_DATABASE_URL`, when set.
fn explicit_query_url() -> Option<String> {
    std::env::var("BERTH_QUERY_DATABASE_URL").ok()
}

fn query_conn<'a>(b: &'a Berth, explicit: &'a Option<String>) -> QueryConnection<'a> {
    QueryConnection {
        main_url: b.database_url(),
        explicit: explicit.as_deref(),
    }
}

/// The pool definitions in the pools directory (seeded on first use) with
/// their state, slots and accounts; broken files' problems.
#[tauri::command]
#[specta::specta]
pub async fn list_definitions(core: State<'_, Core>) -> CommandResult<DefinitionList> {
    api::definitions::list_definitions(core.get().await?.db(), &pools_dir()).await
}

/// One definition's text, fields, state and applied text.
#[tauri::command]
#[specta::specta]
pub async fn get_definition(
    core: State<'_, Core>,
    name: String,
) -> CommandResult<DefinitionDetail> {
    api::definitions::get_definition(core.get().await?.db(), &pools_dir(), &name).await
}

/// A pool's scaling: the target now with its parts and the recent decisions.
#[tauri::command]
#[specta::specta]
pub async fn pool_scaling(core: State<'_, Core>, pool: String) -> CommandResult<ScalingView> {
    api::definitions::pool_scaling(core.get().await?.db(), &pool).await
}

/// Validates a definition's text: its problems (located), or its fields.
#[tauri::command]
#[specta::specta]
pub async fn validate_definition(text: String) -> CommandResult<Validation> {
    Ok(api::definitions::validate_definition(&text).await)
}

/// Tests a definition's text: problems, or its impact and account preview.
#[tauri::command]
#[specta::specta]
pub async fn test_definition(core: State<'_, Core>, text: String) -> CommandResult<DefinitionTest> {
    let b = core.get().await?;
    let explicit = explicit_query_url();
    api::definitions::test_definition(
        b.db(),
        query_conn(&b, &explicit),
        b.router().platforms(),
        &pools_dir(),
        &text,
    )
    .await
}

/// Saves a definition (new with `originalName: null`; a rename moves the
/// file and retires the old applied pool, refused while its slots are busy).
#[tauri::command]
#[specta::specta]
pub async fn save_definition(
    core: State<'_, Core>,
    original_name: Option<String>,
    text: String,
) -> CommandResult<SavedDefinition> {
    let b = core.get().await?;
    api::definitions::save_definition_retiring(
        b.db(),
        b.router().feed(),
        &pools_dir(),
        original_name.as_deref(),
        &text,
    )
    .await
}

/// Applies a saved definition; announces `pools`.
#[tauri::command]
#[specta::specta]
pub async fn apply_definition(
    core: State<'_, Core>,
    name: String,
) -> CommandResult<AppliedDefinition> {
    let b = core.get().await?;
    api::definitions::apply_definition(b.db(), b.router().feed(), &pools_dir(), &name).await
}

/// Refreshes an applied pool's accounts from its source; announces `pools`.
#[tauri::command]
#[specta::specta]
pub async fn refresh_accounts(
    core: State<'_, Core>,
    name: String,
) -> CommandResult<AccountRefresh> {
    let b = core.get().await?;
    let explicit = explicit_query_url();
    api::definitions::refresh_accounts(
        b.db(),
        b.router().feed(),
        query_conn(&b, &explicit),
        &pools_dir(),
        &name,
    )
    .await
}

/// Deletes a definition file (refused while slots are busy or deploying).
#[tauri::command]
#[specta::specta]
pub async fn delete_definition(
    core: State<'_, Core>,
    name: String,
) -> CommandResult<DeletedDefinition> {
    let b = core.get().await?;
    api::definitions::delete_definition(b.db(), b.router().feed(), &pools_dir(), &name).await
}

/// The definitions' JSON Schema as JSON text.
#[tauri::command]
#[specta::specta]
pub async fn definition_schema() -> CommandResult<String> {
    api::definitions::definition_schema()
}

/// Tables the account query role can read (for the visual query builder).
#[tauri::command]
#[specta::specta]
pub async fn query_tables(core: State<'_, Core>) -> CommandResult<Vec<String>> {
    let b = core.get().await?;
    let explicit = explicit_query_url();
    api::definitions::query_tables(b.db(), query_conn(&b, &explicit)).await
}

/// The columns of a table the account query role can read (`query_refused` when none).
#[tauri::command]
#[specta::specta]
pub async fn table_columns(core: State<'_, Core>, table: String) -> CommandResult<BuilderTable> {
    let b = core.get().await?;
    let explicit = explicit_query_url();
    api::definitions::table_columns(b.db(), query_conn(&b, &explicit), &table).await
}

/// The raw text of a file in the pools directory (to fix a broken one).
#[tauri::command]
#[specta::specta]
pub async fn read_definition_file(file: String) -> CommandResult<String> {
    api::definitions::read_definition_file(&pools_dir(), &file)
}

/// Replaces a broken file with valid text (saved as `<name>.yaml`).
#[tauri::command]
#[specta::specta]
pub async fn repair_definition(file: String, text: String) -> CommandResult<SavedDefinition> {
    api::definitions::repair_definition(&pools_dir(), &file, &text)
}

/// Creates and routes a batch of bots in one pool.
#[tauri::command]
#[specta::specta]
pub async fn deploy_bots(
    core: State<'_, Core>,
    request: DeployRequest,
) -> CommandResult<DeployBatch> {
    let b = core.get().await?;
    api::deploy::deploy_bots(b.router(), &request).await
}
