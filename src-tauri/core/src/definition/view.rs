//! Pool definitions (the Pools view): files in the pools directory, their
//! problems, what applying them would do and their account sources.

use berth_core::account::lease::AccountStats as CoreAccountStats;
use berth_core::definition::{self, PoolDefinition, Problem};
use serde::{Deserialize, Serialize};
use specta::Type;
use specta_typescript::Number;

/// One problem of a definition, located when the parser could.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionProblem {
    /// File name within the pools directory (none for text being edited).
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// Field path (`resources.cpu`), when known.
    pub field: Option<String>,
    /// Human message.
    pub message: String,
}

impl From<Problem> for DefinitionProblem {
    fn from(p: Problem) -> Self {
        DefinitionProblem {
            file: p
                .file
                .as_deref()
                .and_then(|f| f.file_name())
                .map(|f| f.to_string_lossy().into_owned()),
            line: p.line.and_then(|l| u32::try_from(l).ok()),
            column: p.column.and_then(|c| u32::try_from(c).ok()),
            field: p.field,
            message: p.message,
        }
    }
}

/// Where a file stands against the database's applied version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum DefinitionState {
    /// Never applied.
    NotApplied,
    /// The applied version has the file's content.
    Applied {
        /// Applied version.
        version: i32,
    },
    /// The file differs from the applied version.
    Pending {
        /// Applied version the file differs from.
        version: i32,
    },
}

impl From<definition::State> for DefinitionState {
    fn from(s: definition::State) -> Self {
        match s {
            definition::State::NotApplied => DefinitionState::NotApplied,
            definition::State::Applied { version } => DefinitionState::Applied { version },
            definition::State::Pending { version } => DefinitionState::Pending { version },
        }
    }
}

/// A pool's accounts by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountStats {
    /// Ready to lease.
    #[specta(type = Number)]
    pub available: i64,
    /// Leased to a bot.
    #[specta(type = Number)]
    pub in_use: i64,
    /// Used and not to be leased again.
    #[specta(type = Number)]
    pub completed: i64,
    /// Failed too often.
    #[specta(type = Number)]
    pub failed: i64,
}

impl From<CoreAccountStats> for AccountStats {
    fn from(s: CoreAccountStats) -> Self {
        AccountStats {
            available: s.available,
            in_use: s.in_use,
            completed: s.completed,
            failed: s.failed,
        }
    }
}

/// The common fields of a parsed definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionSummary {
    /// Pool name.
    pub name: String,
    /// Meeting platform (`google-meet`, ...).
    pub meeting_platform: String,
    /// Bot image without tag.
    pub image: String,
    /// Image tag.
    pub tag: String,
    /// Most slots.
    pub max_size: u32,
    /// Idle slots kept ready.
    pub prewarm: u32,
    /// Allowed platforms in order; `None` for the global priority.
    pub platforms: Option<Vec<String>>,
    /// Account source type (`sql`, `file`), if any.
    pub source_type: Option<String>,
    /// How often the account source should be re-read, in ms, with a source.
    #[specta(type = Option<Number>)]
    pub refresh_interval_ms: Option<i64>,
}

impl From<&PoolDefinition> for DefinitionSummary {
    fn from(d: &PoolDefinition) -> Self {
        let (source_type, interval) = match &d.accounts {
            None => (None, None),
            Some(definition::AccountSource::Sql { pool_config, .. }) => {
                (Some("sql"), Some(pool_config.refresh_interval))
            }
            Some(definition::AccountSource::File { pool_config, .. }) => {
                (Some("file"), Some(pool_config.refresh_interval))
            }
        };
        DefinitionSummary {
            name: d.name.clone(),
            meeting_platform: d.meeting_platform.as_str().to_string(),
            image: d.image.clone(),
            tag: d.tag.clone(),
            max_size: d.max_size,
            prewarm: d.prewarm,
            platforms: d
                .platforms
                .as_ref()
                .map(|p| p.iter().map(|k| k.as_str().to_string()).collect()),
            source_type: source_type.map(str::to_string),
            refresh_interval_ms: interval
                .map(|i| i64::try_from(i.0.as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

/// One definition file in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionRow {
    /// File name within the pools directory.
    pub file: String,
    /// Parsed fields.
    pub summary: DefinitionSummary,
    /// Against the applied version.
    pub state: DefinitionState,
    /// Slots the pool has now.
    #[specta(type = Number)]
    pub slots: i64,
    /// Account counts, with an account source.
    pub accounts: Option<AccountStats>,
    /// Last account refresh (RFC 3339), if any.
    pub last_refresh: Option<String>,
    /// The last automatic account refresh's failure, while it is the latest
    /// outcome (a later success clears it).
    pub refresh_error: Option<RefreshError>,
}

/// Why a pool's last automatic account refresh failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RefreshError {
    /// When (RFC 3339).
    pub failed_at: String,
    /// The error's code (`query_refused`, `database_unavailable`, ...).
    pub code: berth_core::ErrorCode,
    /// The error's message.
    pub message: String,
}

impl From<&berth_core::account::source::RefreshFailure> for RefreshError {
    fn from(f: &berth_core::account::source::RefreshFailure) -> Self {
        RefreshError {
            failed_at: crate::dto::time(f.failed_at),
            // Stored as the code's text when the refresh failed; a code this
            // build does not know (written by a newer one) shows as internal.
            code: serde_json::from_value(serde_json::Value::String(f.code.clone()))
                .unwrap_or(berth_core::ErrorCode::Internal),
            message: f.message.clone(),
        }
    }
}

/// The pools directory's definitions and the problems of broken files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionList {
    /// The directory read.
    pub directory: String,
    /// Valid definitions by file name.
    pub definitions: Vec<DefinitionRow>,
    /// Problems of the files that were skipped.
    pub problems: Vec<DefinitionProblem>,
}

/// One definition with its text and the applied text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionDetail {
    /// File name within the pools directory.
    pub file: String,
    /// The file's text.
    pub text: String,
    /// Parsed fields.
    pub summary: DefinitionSummary,
    /// Against the applied version.
    pub state: DefinitionState,
    /// The applied version's text, if applied.
    pub applied_text: Option<String>,
}

/// The outcome of validating a text: no problems means valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    /// Empty when valid.
    pub problems: Vec<DefinitionProblem>,
    /// Parsed fields when valid.
    pub summary: Option<DefinitionSummary>,
}

/// What applying a definition would do to the pool's slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// Idle slots pre-warming will create.
    #[specta(type = Number)]
    pub creates: i64,
    /// Idle slots beyond the new max size that will be removed.
    #[specta(type = Number)]
    pub removes_idle: i64,
    /// Busy or deploying slots beyond the new max size (left to finish).
    #[specta(type = Number)]
    pub busy_affected: i64,
    /// In plain words: "creates 3 slots, removes 0 idle, 0 busy affected".
    pub text: String,
}

impl From<definition::Impact> for Impact {
    fn from(i: definition::Impact) -> Self {
        Impact {
            creates: i.creates,
            removes_idle: i.removes_idle,
            busy_affected: i.busy_affected,
            text: i.to_string(),
        }
    }
}

/// A preview of what the account source returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountPreview {
    /// Rows returned.
    pub count: u32,
    /// Whether the source hit the row cap.
    pub truncated: bool,
    /// Column names.
    pub columns: Vec<String>,
    /// The first rows as JSON objects, values of secret-looking columns
    /// (password, secret, token, credential) replaced by `"***"`.
    pub sample: Vec<String>,
}

/// The outcome of testing a text: problems, or its impact and accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionTest {
    /// Empty when valid; then `impact` is set.
    pub problems: Vec<DefinitionProblem>,
    /// What applying would do.
    pub impact: Option<Impact>,
    /// The account source's preview, with a readable source.
    pub accounts: Option<AccountPreview>,
    /// Why the account source could not be read, if it could not.
    pub accounts_error: Option<super::CommandError>,
    /// Reachability of the platforms the pool may use, in its order.
    pub platforms: Vec<PlatformReach>,
    /// The SQL its account source runs (a builder form compiled), when it has one.
    pub sql: Option<String>,
}

/// Where a saved definition went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SavedDefinition {
    /// Pool name.
    pub name: String,
    /// File name within the pools directory.
    pub file: String,
    /// The file it replaced when the pool was renamed.
    pub renamed_from: Option<String>,
}

/// The outcome of applying a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AppliedDefinition {
    /// Pool name.
    pub name: String,
    /// Version now applied.
    pub version: i32,
    /// False when that version already had this content.
    pub changed: bool,
}

/// The outcome of refreshing a pool's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountRefresh {
    /// Pool name.
    pub name: String,
    /// New accounts.
    #[specta(type = Number)]
    pub added: i64,
    /// Known accounts kept.
    #[specta(type = Number)]
    pub kept: i64,
    /// Available accounts no longer in the source, removed.
    #[specta(type = Number)]
    pub removed: i64,
    /// Whether the source hit the row cap.
    pub truncated: bool,
    /// Counts after the refresh.
    pub stats: AccountStats,
}

/// The outcome of deleting a definition file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DeletedDefinition {
    /// Pool name.
    pub name: String,
    /// File removed.
    pub file: String,
    /// What stays behind, in plain words (the database's pool and slots).
    pub note: String,
}

/// A column the visual query builder may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BuilderColumn {
    /// Column name, exactly as in the database.
    pub name: String,
    /// Its type (`integer`, `text`, `timestamp with time zone`).
    pub data_type: String,
}

/// A table the query role can read, with its readable columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BuilderTable {
    /// Schema.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Columns, in table order.
    pub columns: Vec<BuilderColumn>,
}

impl From<berth_core::account::builder::TableColumns> for BuilderTable {
    fn from(t: berth_core::account::builder::TableColumns) -> Self {
        BuilderTable {
            schema: t.schema,
            table: t.table,
            columns: t
                .columns
                .into_iter()
                .map(|c| BuilderColumn {
                    name: c.name,
                    data_type: c.data_type,
                })
                .collect(),
        }
    }
}

/// Whether one of a definition's deployment platforms can be reached now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PlatformReach {
    /// Platform (`k8s`, `aws`, `coolify`).
    pub platform: String,
    /// `healthy`, `degraded`, `down`, or `unavailable` (no adapter in this instance).
    pub health: String,
    /// Why, when not healthy.
    pub detail: Option<String>,
}

/// A batch of bots to deploy into one pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DeployRequest {
    /// The pool (its meeting platform is the bots').
    pub pool: String,
    /// The meeting every bot joins.
    pub meeting_url: String,
    /// How many bots (1 to 100).
    pub count: u32,
    /// Priority (lower first); `null`: the pool's default.
    pub priority: Option<i32>,
    /// Queue timeout in ms; `null`: the pool's default.
    pub queue_timeout_ms: Option<i32>,
}

/// What became of a deploy batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DeployBatch {
    /// The bots created, in order.
    #[specta(type = Vec<Number>)]
    pub bot_ids: Vec<i64>,
    /// Deployed at once.
    pub deployed: u32,
    /// Waiting in a queue.
    pub queued: u32,
}
