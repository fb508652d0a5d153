//! What crosses the bridge besides the core's own views.
//!
//! The core's views (`SlotView`, `Pool`, `PoolStats`, `Settings`,
//! `SettingsChange`, `BotView`, `Health`, the `meeting` enums, `ErrorCode`)
//! derive `specta::Type` themselves (berth-core's `specta` feature) and
//! cross as they are. Defined here: the command error, the commands' inputs
//! (which refuse unknown values with `invalid_input` rather than a
//! deserialization failure), and read models the shell assembles from
//! several core calls (queue snapshot, platforms overview, connection).
//!
//! Conventions, as the core's: fields are camelCase; times are RFC 3339
//! strings (UTC, milliseconds, [`berth_core::timestamp::text`]); `i64`
//! values cross as TypeScript `number` (`#[specta(type = Number)]`: all stay
//! far below 2^53, and a `bigint` would only burden the UI).

pub mod definitions;
pub use definitions::*;

use berth_core::platform::Health;
use berth_core::settings::PlatformSettings;
use berth_core::{queue, timestamp};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use specta::Type;
use specta_typescript::Number;

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

/// RFC 3339 with milliseconds, `Z` suffix: the core's one text form of a time.
pub use berth_core::timestamp::text as time;

/// Result of every command.
pub type CommandResult<T> = Result<T, CommandError>;

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
            queued_at: timestamp::text(v.queued_at),
            timeout_at: timestamp::text(v.timeout_at),
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
            oldest_queued_at: s.oldest_queued_at.map(timestamp::text),
            avg_wait_ms: s.avg_wait_ms,
            releases_per_minute: s.releases_per_minute,
            now: timestamp::text(now),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PlatformOverview {
    /// Its settings (position, enabled, limit, timeout, pins).
    pub settings: PlatformSettings,
    /// Capacity in use: bots in active states there (`used` of `K8s used/limit`).
    #[specta(type = Number)]
    pub used: i64,
    /// Health from the shared health checks; stale or missing checks are `unknown`.
    pub health: Health,
    /// Its slots by status.
    pub slots: StatusCounts,
}

/// The infrastructure view's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
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
