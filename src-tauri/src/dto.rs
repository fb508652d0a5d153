//! What crosses the bridge besides the core's own views.
//!
//! The core's views (`SlotView`, `Pool`, `PoolStats`, `Settings`,
//! `SettingsChange`, `BotView`, `Health`, the `meeting` enums, `ErrorCode`,
//! the queue and platform overviews)
//! derive `specta::Type` themselves (berth-core's `specta` feature) and
//! cross as they are. Defined here: the command error, the commands' inputs
//! (which refuse unknown values with `invalid_input` rather than a
//! deserialization failure), and the connection status (the database's
//! answer and the window's feed, which only the shell knows).
//!
//! Conventions, as the core's: fields are camelCase; times are RFC 3339
//! strings (UTC, milliseconds, [`berth_core::timestamp::text`]); `i64`
//! values cross as TypeScript `number` (`#[specta(type = Number)]`: all stay
//! far below 2^53, and a `bigint` would only burden the UI).

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
    /// The priority tiers and the default one, replaced as a whole.
    #[serde(default)]
    pub tiers: Option<berth_core::tier::TierSettings>,
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

/// An action on slots by name ([`crate::commands::actions::slot_action`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum SlotAction {
    /// Stop the workload, back to idle.
    Restart,
    /// Take no new bot; deleted once idle.
    Drain,
    /// Take bots again.
    Undrain,
    /// Delete the slot and its platform resource.
    Delete,
    /// Retry the recovery of a slot in `error` now.
    Recover,
}

/// Which audit rows to list; absent fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    /// `slot`, `bot`, `platform` or `settings`.
    #[serde(default)]
    pub target_kind: Option<String>,
    /// A slot name, a bot id, a platform.
    #[serde(default)]
    pub target: Option<String>,
    /// `desktop:alice`, `cli:bob`, `api:billing`, ...
    #[serde(default)]
    pub actor: Option<String>,
    /// Only rows at or after this RFC 3339 time.
    #[serde(default)]
    pub since: Option<String>,
    /// At most this many (1 to 1000; default 1000).
    #[serde(default)]
    pub limit: Option<u32>,
}
