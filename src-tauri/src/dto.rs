//! What crosses the bridge: mirror types of the core's views, each deriving
//! `specta::Type` so the TypeScript bindings are generated from them.
//!
//! Conventions, deliberate:
//! - fields are camelCase, as the core's own JSON;
//! - times are RFC 3339 strings (UTC, milliseconds);
//! - `i64` values (ids, counts, milliseconds) cross as TypeScript `number`
//!   through `#[specta(type = Number)]`: all of them stay far below 2^53, and
//!   a `bigint` would only burden the UI;
//! - statuses and platforms keep the core's text forms.

pub mod definitions;
pub use definitions::*;

use berth_core::{bot, platform::Health, pool, queue, settings, slot};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use specta::Type;
use specta_typescript::Number;
use std::collections::BTreeMap;

/// A command's failure: a machine-readable `code` (berth-core's
/// [`berth_core::ErrorCode`], a string-literal union in TypeScript) and a
/// human `message`. The UI switches on `code`, never on `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct CommandError {
    /// Machine-readable code.
    pub code: berth_core::ErrorCode,
    /// Human message.
    pub message: String,
}

impl CommandError {
    /// An error with `code` and `message`.
    pub fn new(code: berth_core::ErrorCode, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

impl From<berth_core::Error> for CommandError {
    fn from(e: berth_core::Error) -> Self {
        CommandError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

/// Result of every command.
pub type CommandResult<T> = Result<T, CommandError>;

/// RFC 3339 with milliseconds, `Z` suffix.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One pool's slot counts (reference 000's `PoolStats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PoolStats {
    /// Pool name.
    pub pool: String,
    /// Meeting platform it serves.
    pub meeting_platform: String,
    /// Slots in the pool.
    #[specta(type = Number)]
    pub total: i64,
    /// Ready for assignment.
    #[specta(type = Number)]
    pub idle: i64,
    /// Starting up.
    #[specta(type = Number)]
    pub deploying: i64,
    /// Running a bot.
    #[specta(type = Number)]
    pub busy: i64,
    /// In error.
    #[specta(type = Number)]
    pub error: i64,
    /// The pool's max size.
    #[specta(type = Number)]
    pub max_size: i64,
}

impl From<pool::PoolStats> for PoolStats {
    fn from(s: pool::PoolStats) -> Self {
        PoolStats {
            pool: s.pool,
            meeting_platform: s.meeting_platform,
            total: s.total,
            idle: s.idle,
            deploying: s.deploying,
            busy: s.busy,
            error: s.error,
            max_size: s.max_size,
        }
    }
}

/// A pool definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    /// Unique name.
    pub name: String,
    /// Meeting platform it serves (`google-meet`, `microsoft-teams`, `zoom`).
    pub meeting_platform: String,
    /// Bot image.
    pub image: String,
    /// Max slots across all deployment platforms.
    pub max_size: i32,
    /// Idle slots kept ready.
    pub prewarm_count: i32,
    /// Allowed deployment platforms in order; `null`: the global priority order.
    pub allowed_platforms: Option<Vec<String>>,
    /// Where the definition came from.
    pub source: String,
}

impl From<pool::Pool> for Pool {
    fn from(p: pool::Pool) -> Self {
        Pool {
            name: p.name,
            meeting_platform: p.meeting_platform.as_str().to_string(),
            image: p.image,
            max_size: p.max_size,
            prewarm_count: p.prewarm_count,
            allowed_platforms: p
                .allowed_platforms
                .map(|v| v.iter().map(|k| k.as_str().to_string()).collect()),
            source: p.source,
        }
    }
}

/// Which slots to list; empty/absent fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SlotFilter {
    /// Only these statuses (`idle`, `deploying`, `busy`, `error`); empty: all.
    #[serde(default)]
    pub statuses: Vec<String>,
    /// Only this pool.
    #[serde(default)]
    pub pool: Option<String>,
    /// Only this deployment platform (`k8s`, `aws`, `coolify`, `local`).
    #[serde(default)]
    pub platform: Option<String>,
}

/// A slot as the table shows it (reference 000's `PoolSlotView` plus pool and platform).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    /// Slot id.
    #[specta(type = Number)]
    pub id: i64,
    /// Slot UUID.
    pub uuid: String,
    /// Slot name (`pool-zoom-003`).
    pub slot_name: String,
    /// Pool.
    pub pool: String,
    /// Meeting platform of the pool.
    pub meeting_platform: String,
    /// Deployment platform it lives on.
    pub deployment_platform: String,
    /// `idle`, `deploying`, `busy` or `error`.
    pub status: String,
    /// The bot it holds.
    #[specta(type = Option<Number>)]
    pub assigned_bot_id: Option<i64>,
    /// Lease epoch.
    #[specta(type = Number)]
    pub epoch: i64,
    /// Platform resource identifier.
    pub platform_ref: Option<String>,
    /// Platform-side description.
    pub description: String,
    /// Last acquisition.
    pub last_used_at: Option<String>,
    /// Error message when `error`.
    pub error_message: Option<String>,
    /// Recovery attempts since the last success.
    pub recovery_attempts: i32,
    /// When the status last changed.
    pub status_changed_at: String,
    /// Created.
    pub created_at: String,
}

impl From<slot::SlotView> for Slot {
    fn from(s: slot::SlotView) -> Self {
        Slot {
            id: s.id,
            uuid: s.uuid.to_string(),
            slot_name: s.slot_name,
            pool: s.pool,
            meeting_platform: s.meeting_platform,
            deployment_platform: s.deployment_platform,
            status: s.status,
            assigned_bot_id: s.assigned_bot_id,
            epoch: s.epoch,
            platform_ref: s.platform_ref,
            description: s.description,
            last_used_at: s.last_used_at.map(time),
            error_message: s.error_message,
            recovery_attempts: s.recovery_attempts,
            status_changed_at: time(s.status_changed_at),
            created_at: time(s.created_at),
        }
    }
}

/// One queued request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct QueueEntry {
    /// Entry id.
    #[specta(type = Number)]
    pub id: i64,
    /// The waiting bot.
    #[specta(type = Number)]
    pub bot_id: i64,
    /// Its pool.
    pub pool: String,
    /// Its meeting platform.
    pub meeting_platform: String,
    /// Priority (lower first).
    pub priority: i32,
    /// When it was queued.
    pub queued_at: String,
    /// Its deadline (global queue) or the end of its current platform wait.
    pub timeout_at: String,
    /// The deployment platform it waits on; `null` in the global queue.
    pub waiting_on: Option<String>,
    /// 1-based position.
    #[specta(type = Number)]
    pub position: i64,
    /// Estimated wait from the observed release rate; `null`: unknown (no release observed yet).
    #[specta(type = Option<Number>)]
    pub estimated_wait_ms: Option<i64>,
}

/// The queue at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct QueueSnapshot {
    /// Server time of the snapshot (the database's clock), for countdowns.
    pub now: String,
    /// Entries in queue order.
    pub entries: Vec<QueueEntry>,
    /// Releases per second observed recently (basis of the estimates).
    pub release_rate_per_sec: f64,
}

impl QueueEntry {
    /// From the core's view and the estimate.
    pub fn from_view(v: queue::QueueEntryView, estimated_wait_ms: Option<i64>) -> Self {
        QueueEntry {
            id: v.id,
            bot_id: v.bot_id,
            pool: v.pool,
            meeting_platform: v.platform,
            priority: v.priority,
            queued_at: time(v.queued_at),
            timeout_at: time(v.timeout_at),
            waiting_on: v.waiting_on,
            position: v.position,
            estimated_wait_ms,
        }
    }
}

/// Reference 004's queue statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    /// Entries waiting.
    #[specta(type = Number)]
    pub length: i64,
    /// The oldest entry's queue time.
    pub oldest_queued_at: Option<String>,
    /// Mean time the current entries have waited so far.
    #[specta(type = Number)]
    pub avg_wait_ms: i64,
    /// Releases per minute observed recently.
    pub releases_per_minute: f64,
    /// Server time of the statistics.
    pub now: String,
}

impl QueueStats {
    /// From the core's statistics at `now`.
    pub fn from_core(s: queue::QueueStats, now: DateTime<Utc>) -> Self {
        QueueStats {
            length: s.length,
            oldest_queued_at: s.oldest_queued_at.map(time),
            avg_wait_ms: s.avg_wait_ms,
            releases_per_minute: s.releases_per_minute,
            now: time(now),
        }
    }
}

/// A platform's health as its last (fresh) check saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum PlatformHealth {
    /// Answering normally.
    Healthy,
    /// Answering, with problems.
    Degraded,
    /// Not answering.
    Down,
    /// Not checked recently, or the check could not run.
    Unknown,
}

impl From<Health> for PlatformHealth {
    fn from(h: Health) -> Self {
        match h {
            Health::Healthy => PlatformHealth::Healthy,
            Health::Degraded => PlatformHealth::Degraded,
            Health::Down => PlatformHealth::Down,
            Health::Unknown => PlatformHealth::Unknown,
        }
    }
}

/// One platform's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSettings {
    /// `k8s`, `aws`, `coolify` or `local`.
    pub platform: String,
    /// Display label (`K8s`).
    pub label: String,
    /// Position in the priority order (0 first).
    pub position: i32,
    /// Whether the router may use it.
    pub enabled: bool,
    /// Max concurrent bots; `null`: no limit configured, so skipped.
    pub bot_limit: Option<i32>,
    /// How long a request waits for it before the next platform is tried.
    pub queue_timeout_ms: i32,
    /// Field (`position`, `enabled`, `botLimit`, `queueTimeoutMs`) → the
    /// environment variable that pins it (read-only in the UI).
    pub pinned: BTreeMap<String, String>,
}

impl From<&settings::PlatformSettings> for PlatformSettings {
    fn from(p: &settings::PlatformSettings) -> Self {
        PlatformSettings {
            platform: p.platform.as_str().to_string(),
            label: p.platform.label().to_string(),
            position: p.position,
            enabled: p.enabled,
            bot_limit: p.bot_limit,
            queue_timeout_ms: p.queue_timeout_ms,
            pinned: p.pinned.clone(),
        }
    }
}

/// Every platform setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Platforms in priority order.
    pub platforms: Vec<PlatformSettings>,
    /// Ceiling of every request's global queue timeout.
    pub global_queue_timeout_ms: i32,
    /// The variable pinning the global queue timeout, if any.
    pub global_queue_timeout_pinned_by: Option<String>,
}

impl From<settings::Settings> for Settings {
    fn from(s: settings::Settings) -> Self {
        Settings {
            platforms: s.platforms.iter().map(PlatformSettings::from).collect(),
            global_queue_timeout_ms: s.global_queue_timeout_ms,
            global_queue_timeout_pinned_by: s.global_queue_timeout_pinned_by,
        }
    }
}

/// An administrator's edit of one platform; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PlatformEdit {
    /// New enabled flag.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// New limit (1..=100000).
    #[serde(default)]
    pub bot_limit: Option<i32>,
    /// New queue timeout (0..=3600000 ms).
    #[serde(default)]
    pub queue_timeout_ms: Option<i32>,
}

/// One platform's edit within a save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PlatformEditEntry {
    /// `k8s`, `aws`, `coolify` or `local`.
    pub platform: String,
    /// What changes.
    pub edit: PlatformEdit,
}

/// Everything one save of the settings changes, applied in one transaction
/// (all or nothing); parts left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SettingsPlan {
    /// The priority order: every platform exactly once, first tried first.
    #[serde(default)]
    pub order: Option<Vec<String>>,
    /// Edits of single platforms (each at most once).
    #[serde(default)]
    pub edits: Vec<PlatformEditEntry>,
    /// The global queue timeout (1000..=3600000 ms).
    #[serde(default)]
    pub global_queue_timeout_ms: Option<i32>,
}

/// Slot counts of one deployment platform, by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct StatusCounts {
    /// Idle slots.
    #[specta(type = Number)]
    pub idle: i64,
    /// Deploying slots.
    #[specta(type = Number)]
    pub deploying: i64,
    /// Busy slots.
    #[specta(type = Number)]
    pub busy: i64,
    /// Slots in error.
    #[specta(type = Number)]
    pub error: i64,
    /// All slots on the platform.
    #[specta(type = Number)]
    pub total: i64,
}

/// One section of the infrastructure view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PlatformOverview {
    /// Its settings (position, enabled, limit, timeout, pins).
    pub settings: PlatformSettings,
    /// Capacity in use: bots in active states there (`used` of `K8s used/limit`).
    #[specta(type = Number)]
    pub used: i64,
    /// Health from the shared health checks; stale or missing checks are `unknown`.
    pub health: PlatformHealth,
    /// Its slots by status.
    pub slots: StatusCounts,
}

/// The infrastructure view's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PlatformsOverview {
    /// Server time.
    pub now: String,
    /// Platforms in priority order.
    pub platforms: Vec<PlatformOverview>,
    /// Ceiling of every request's global queue timeout.
    pub global_queue_timeout_ms: i32,
    /// The variable pinning it, if any.
    pub global_queue_timeout_pinned_by: Option<String>,
}

/// One recorded settings change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SettingsChange {
    /// Change id.
    #[specta(type = Number)]
    pub id: i64,
    /// `platform:<kind>` or `global`.
    pub subject: String,
    /// Field changed.
    pub field: String,
    /// Value before, as JSON text (`30`, `true`, `null`).
    pub old_value: Option<String>,
    /// Value after, as JSON text.
    pub new_value: Option<String>,
    /// Who made it (`environment`, `desktop:<user>`, ...).
    pub changed_by: String,
    /// When.
    pub at: String,
}

impl From<settings::SettingsChange> for SettingsChange {
    fn from(c: settings::SettingsChange) -> Self {
        SettingsChange {
            id: c.id,
            subject: c.subject,
            field: c.field,
            old_value: c.old_value.map(|v| v.to_string()),
            new_value: c.new_value.map(|v| v.to_string()),
            changed_by: c.changed_by,
            at: time(c.at),
        }
    }
}

/// One line of a bot's decision trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TraceEntry {
    /// The deployment platform considered (`null` for queue events).
    pub platform: Option<String>,
    /// What happened: `deployed`, `full`, `waiting`, `poolFull`, `failed`,
    /// `disabled`, `unhealthy`, `noLimit`, `notAllowed`, `unavailable`,
    /// `queued`, `expired`, `noAccount`, `backingOff`, `omitted`,
    /// `interrupted` (`berth_core::bot::Decision`).
    pub decision: String,
    /// Details (`limit 30/30`, the failure message, ...).
    pub detail: String,
    /// When.
    pub at: String,
}

impl From<bot::TraceEntry> for TraceEntry {
    fn from(t: bot::TraceEntry) -> Self {
        TraceEntry {
            platform: t.platform.map(|p| p.as_str().to_string()),
            decision: serde_json::to_value(t.decision)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            detail: t.detail,
            at: time(t.at),
        }
    }
}

/// A bot with its decision trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BotDetails {
    /// Bot id.
    #[specta(type = Number)]
    pub id: i64,
    /// Pool it draws from.
    pub pool: String,
    /// Meeting platform.
    pub meeting_platform: String,
    /// Meeting URL.
    pub meeting_url: String,
    /// Lifecycle status (`QUEUED`, `DEPLOYING`, ..., `DONE`, `FATAL`).
    pub status: String,
    /// Queue priority (lower first).
    pub priority: i32,
    /// Requested queue timeout.
    pub queue_timeout_ms: i32,
    /// Where it runs (or ran last).
    pub deployment_platform: Option<String>,
    /// The slot it holds.
    pub slot_name: Option<String>,
    /// Failure reason when `FATAL`.
    pub error: Option<String>,
    /// Every routing decision, in order.
    pub decision_trace: Vec<TraceEntry>,
    /// Created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Ended.
    pub ended_at: Option<String>,
}

impl From<bot::BotView> for BotDetails {
    fn from(b: bot::BotView) -> Self {
        BotDetails {
            id: b.id,
            pool: b.pool,
            meeting_platform: b.meeting_platform,
            meeting_url: b.meeting_url,
            status: b.status.as_str().to_string(),
            priority: b.priority,
            queue_timeout_ms: b.queue_timeout_ms,
            deployment_platform: b.deployment_platform,
            slot_name: b.slot_name,
            error: b.error,
            decision_trace: b.decision_trace.into_iter().map(TraceEntry::from).collect(),
            created_at: time(b.created_at),
            updated_at: time(b.updated_at),
            ended_at: b.ended_at.map(time),
        }
    }
}

/// Whether the database answers, and how fresh the live feed is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStatus {
    /// The database answered `SELECT 1`.
    pub database_ok: bool,
    /// Why not, when it did not.
    pub message: Option<String>,
    /// When the last change-feed event arrived (any kind); `null`: none yet.
    pub last_event_at: Option<String>,
    /// Whether the change feed is connected (its last event was not `disconnected`).
    pub feed_connected: bool,
    /// Server time (local clock when the database is unreachable).
    pub now: String,
}

/// A database id passed to a command (a bot's id): an `i64` in Rust, a
/// TypeScript `number` on the other side (ids stay far below 2^53).
// A newtype struct is its inner value in JSON already; `serde(transparent)`
// is left out because specta refuses it together with `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[specta(type = Number)]
pub struct Id(pub i64);
