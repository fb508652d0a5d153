//! The Pools view's shapes of the definition use cases ([`super::catalog`]):
//! files in the pools directory, their problems, what applying them would
//! do and their account sources, as every face shows them (the desktop's
//! bridge takes them as they are, with the `specta` feature as TypeScript
//! types). Building one reads nothing and writes nothing.
//!
//! Conventions, as the other views: fields are camelCase, times are
//! [`crate::timestamp::text`], `i64` values cross as TypeScript `number`.

use serde::Serialize;

use super::account_source::AccountSource;
use super::catalog::{Deleted, Detail, Listing, Row, Trial};
use super::files::file_of;
use super::model::{PoolDefinition, Problem};
use super::reach::Reach;
use super::store::{ApplyOutcome, State};
use crate::account::lease::AccountStats;
use crate::account::query::QueryResult;
use crate::account::source::{self, RefreshFailure, RefreshReport};
use crate::error::{ErrorCode, ErrorReport};
use crate::meeting::{MeetingPlatform, PlatformKind};
use crate::timestamp;

#[cfg(feature = "specta")]
use specta_typescript::Number;

/// Rows of the account source a test shows ([`DefinitionTest::accounts`]).
pub const SAMPLE_ROWS: usize = 3;

/// One problem of a definition, located when the parser could.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
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

/// Problems as the view shows them.
pub fn problems(p: Vec<Problem>) -> Vec<DefinitionProblem> {
    p.into_iter().map(DefinitionProblem::from).collect()
}

/// The common fields of a parsed definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DefinitionSummary {
    /// Pool name.
    pub name: String,
    /// Meeting platform.
    pub meeting_platform: MeetingPlatform,
    /// Bot image without tag.
    pub image: String,
    /// Image tag.
    pub tag: String,
    /// Most slots.
    pub max_size: u32,
    /// Idle slots kept ready.
    pub prewarm: u32,
    /// Allowed platforms in order; `None` for the global priority.
    pub platforms: Option<Vec<PlatformKind>>,
    /// Account source type (`sql`, `file`), if any.
    pub source_type: Option<String>,
    /// How often the account source should be re-read, in ms, with a source.
    #[cfg_attr(feature = "specta", specta(type = Option<Number>))]
    pub refresh_interval_ms: Option<i64>,
}

impl From<&PoolDefinition> for DefinitionSummary {
    fn from(d: &PoolDefinition) -> Self {
        let (source_type, interval) = match &d.accounts {
            None => (None, None),
            Some(AccountSource::Sql { pool_config, .. }) => {
                (Some("sql"), Some(pool_config.refresh_interval))
            }
            Some(AccountSource::File { pool_config, .. }) => {
                (Some("file"), Some(pool_config.refresh_interval))
            }
        };
        DefinitionSummary {
            name: d.name.clone(),
            meeting_platform: d.meeting_platform,
            image: d.image.clone(),
            tag: d.tag.clone(),
            max_size: d.max_size,
            prewarm: d.prewarm,
            platforms: d.platforms.clone(),
            source_type: source_type.map(str::to_string),
            refresh_interval_ms: interval
                .map(|i| i64::try_from(i.0.as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

/// One definition file in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DefinitionRow {
    /// File name within the pools directory.
    pub file: String,
    /// Parsed fields.
    pub summary: DefinitionSummary,
    /// Against the applied version.
    pub state: State,
    /// Slots the pool has now.
    #[cfg_attr(feature = "specta", specta(type = Number))]
    pub slots: i64,
    /// Account counts, with an account source.
    pub accounts: Option<AccountStats>,
    /// Last account refresh, if any.
    pub last_refresh: Option<String>,
    /// The last automatic account refresh's failure, while it is the latest
    /// outcome (a later success clears it).
    pub refresh_error: Option<RefreshError>,
}

impl From<Row> for DefinitionRow {
    fn from(r: Row) -> Self {
        DefinitionRow {
            file: file_of(&r.found.path),
            summary: DefinitionSummary::from(&r.found.definition),
            state: r.state,
            slots: r.slots,
            accounts: r.accounts,
            last_refresh: r.last_refresh.map(timestamp::text),
            refresh_error: r.refresh_error.as_ref().map(Into::into),
        }
    }
}

/// Why a pool's last automatic account refresh failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct RefreshError {
    /// When.
    pub failed_at: String,
    /// The error's code (`query_refused`, `database_unavailable`, ...).
    pub code: ErrorCode,
    /// The error's message.
    pub message: String,
}

impl From<&RefreshFailure> for RefreshError {
    fn from(f: &RefreshFailure) -> Self {
        RefreshError {
            failed_at: timestamp::text(f.failed_at),
            // Stored as the code's text when the refresh failed; a code this
            // build does not know (written by a newer one) shows as internal.
            code: serde_json::from_value(serde_json::Value::String(f.code.clone()))
                .unwrap_or(ErrorCode::Internal),
            message: f.message.clone(),
        }
    }
}

/// The pools directory's definitions and the problems of broken files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DefinitionList {
    /// The directory read.
    pub directory: String,
    /// Valid definitions by file name.
    pub definitions: Vec<DefinitionRow>,
    /// Problems of the files that were skipped.
    pub problems: Vec<DefinitionProblem>,
}

impl From<Listing> for DefinitionList {
    fn from(l: Listing) -> Self {
        DefinitionList {
            directory: l.directory.display().to_string(),
            definitions: l.rows.into_iter().map(Into::into).collect(),
            problems: problems(l.problems),
        }
    }
}

/// One definition with its text and the applied text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DefinitionDetail {
    /// File name within the pools directory.
    pub file: String,
    /// The file's text.
    pub text: String,
    /// Parsed fields.
    pub summary: DefinitionSummary,
    /// Against the applied version.
    pub state: State,
    /// The applied version's text, if applied.
    pub applied_text: Option<String>,
}

impl From<Detail> for DefinitionDetail {
    fn from(d: Detail) -> Self {
        DefinitionDetail {
            file: file_of(&d.found.path),
            summary: DefinitionSummary::from(&d.found.definition),
            text: d.found.text,
            state: d.state,
            applied_text: d.applied.map(|a| a.text),
        }
    }
}

/// The outcome of validating a text: no problems means valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    /// Empty when valid.
    pub problems: Vec<DefinitionProblem>,
    /// Parsed fields when valid.
    pub summary: Option<DefinitionSummary>,
}

impl From<std::result::Result<PoolDefinition, Vec<Problem>>> for Validation {
    fn from(checked: std::result::Result<PoolDefinition, Vec<Problem>>) -> Self {
        match checked {
            Ok(def) => Validation {
                problems: Vec::new(),
                summary: Some(DefinitionSummary::from(&def)),
            },
            Err(p) => Validation {
                problems: problems(p),
                summary: None,
            },
        }
    }
}

/// What applying a definition would do to the pool's slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// Idle slots pre-warming will create.
    #[cfg_attr(feature = "specta", specta(type = Number))]
    pub creates: i64,
    /// Idle slots beyond the new max size that will be removed.
    #[cfg_attr(feature = "specta", specta(type = Number))]
    pub removes_idle: i64,
    /// Busy or deploying slots beyond the new max size (left to finish).
    #[cfg_attr(feature = "specta", specta(type = Number))]
    pub busy_affected: i64,
    /// In plain words: "creates 3 slots, removes 0 idle, 0 busy affected".
    pub text: String,
}

impl From<super::store::Impact> for Impact {
    fn from(i: super::store::Impact) -> Self {
        Impact {
            creates: i.creates,
            removes_idle: i.removes_idle,
            busy_affected: i.busy_affected,
            text: i.to_string(),
        }
    }
}

/// A preview of what the account source returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AccountPreview {
    /// Rows returned.
    pub count: u32,
    /// Whether the source hit the row cap.
    pub truncated: bool,
    /// Column names.
    pub columns: Vec<String>,
    /// The first [`SAMPLE_ROWS`] rows as JSON objects, values of
    /// secret-looking columns (password, secret, token, credential)
    /// replaced by `"***"` ([`source::redacted`]).
    pub sample: Vec<String>,
}

impl From<&QueryResult> for AccountPreview {
    fn from(r: &QueryResult) -> Self {
        AccountPreview {
            count: u32::try_from(r.rows.len()).unwrap_or(u32::MAX),
            truncated: r.truncated,
            columns: r.columns.clone(),
            sample: r
                .rows
                .iter()
                .take(SAMPLE_ROWS)
                .map(|row| serde_json::to_string(&source::redacted(row)).unwrap_or_default())
                .collect(),
        }
    }
}

/// The outcome of testing a text: problems, or its impact and accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DefinitionTest {
    /// Empty when valid; then `impact` is set.
    pub problems: Vec<DefinitionProblem>,
    /// What applying would do.
    pub impact: Option<Impact>,
    /// The account source's preview, with a readable source.
    pub accounts: Option<AccountPreview>,
    /// Why the account source could not be read, if it could not.
    pub accounts_error: Option<ErrorReport>,
    /// Reachability of the platforms the pool may use, in its order.
    pub platforms: Vec<PlatformReach>,
    /// The SQL its account source runs (a builder form compiled), when it has one.
    pub sql: Option<String>,
}

impl DefinitionTest {
    /// A text that did not parse or check.
    pub fn refused(p: Vec<Problem>) -> Self {
        DefinitionTest {
            problems: problems(p),
            impact: None,
            accounts: None,
            accounts_error: None,
            platforms: Vec::new(),
            sql: None,
        }
    }

    /// A valid text's [`Trial`] and its platforms' reachability.
    pub fn tried(trial: Trial, reach: &[Reach]) -> Self {
        let (accounts, accounts_error) = match trial.accounts {
            Ok(r) => (r.as_ref().map(AccountPreview::from), None),
            Err(e) => (None, Some(ErrorReport::from(&e))),
        };
        DefinitionTest {
            problems: Vec::new(),
            impact: Some(trial.impact.into()),
            accounts,
            accounts_error,
            platforms: reach.iter().map(PlatformReach::from).collect(),
            sql: trial.sql,
        }
    }
}

/// The outcome of applying a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AppliedDefinition {
    /// Pool name.
    pub name: String,
    /// Version now applied.
    pub version: i32,
    /// False when that version already had this content.
    pub changed: bool,
}

impl AppliedDefinition {
    /// Pool `name`'s apply outcome.
    pub fn of(name: &str, outcome: &ApplyOutcome) -> Self {
        AppliedDefinition {
            name: name.to_string(),
            version: outcome.version,
            changed: outcome.changed,
        }
    }
}

/// The outcome of refreshing a pool's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AccountRefresh {
    /// Pool name.
    pub name: String,
    /// New accounts.
    #[cfg_attr(feature = "specta", specta(type = Number))]
    pub added: i64,
    /// Known accounts kept.
    #[cfg_attr(feature = "specta", specta(type = Number))]
    pub kept: i64,
    /// Available accounts no longer in the source, removed.
    #[cfg_attr(feature = "specta", specta(type = Number))]
    pub removed: i64,
    /// Whether the source hit the row cap.
    pub truncated: bool,
    /// Counts after the refresh.
    pub stats: AccountStats,
}

impl From<RefreshReport> for AccountRefresh {
    fn from(r: RefreshReport) -> Self {
        AccountRefresh {
            name: r.name,
            added: r.refreshed.added,
            kept: r.refreshed.kept,
            removed: r.refreshed.removed,
            truncated: r.truncated,
            stats: r.stats,
        }
    }
}

/// The outcome of deleting a definition file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DeletedDefinition {
    /// Pool name.
    pub name: String,
    /// File removed.
    pub file: String,
    /// What stays behind, in plain words (the database's pool and slots).
    pub note: String,
}

impl From<Deleted> for DeletedDefinition {
    fn from(d: Deleted) -> Self {
        let note = if d.retired.existed {
            format!(
                "{} is retired: it takes no new bots and its {} idle slot{} will be removed; its history stays",
                d.name,
                d.retired.slots,
                if d.retired.slots == 1 { "" } else { "s" }
            )
        } else {
            "it was never applied: nothing changed in the database".to_string()
        };
        DeletedDefinition {
            file: file_of(&d.path),
            name: d.name,
            note,
        }
    }
}

/// Whether one of a definition's deployment platforms can be reached now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PlatformReach {
    /// The platform.
    pub platform: PlatformKind,
    /// `healthy`, `degraded`, `down`, or `unavailable` (no adapter in this instance).
    pub health: String,
    /// Why, when not healthy.
    pub detail: Option<String>,
}

impl From<&Reach> for PlatformReach {
    fn from(r: &Reach) -> Self {
        PlatformReach {
            platform: r.platform,
            health: r.health_str().to_string(),
            detail: r.detail().map(str::to_string),
        }
    }
}
