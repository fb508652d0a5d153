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
use super::catalog::{Detail, Listing, Row};
use super::files::file_of;
use super::model::{PoolDefinition, Problem};
use super::store::State;
use crate::account::lease::AccountStats;
use crate::account::source::RefreshFailure;
use crate::error::ErrorCode;
use crate::meeting::{MeetingPlatform, PlatformKind};
use crate::timestamp;

#[cfg(feature = "specta")]
use specta_typescript::Number;

mod outcome;

pub use outcome::{
    AccountPreview, AccountRefresh, AppliedDefinition, DefinitionTest, DeletedDefinition,
    PlatformReach,
};

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
    /// The auto-scaling policy, if any (then `prewarm` is 0).
    pub scaling: Option<ScalingSummary>,
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
            scaling: d.scaling.as_ref().map(|s| ScalingSummary {
                min_idle: s.min_idle,
                max_idle: s.max_idle,
                scale_down_after_ms: i64::try_from(s.scale_down_after.0.as_millis())
                    .unwrap_or(i64::MAX),
            }),
            source_type: source_type.map(str::to_string),
            refresh_interval_ms: interval
                .map(|i| i64::try_from(i.0.as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

/// A definition's `scaling:` policy, as the view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ScalingSummary {
    /// Idle slots always kept.
    pub min_idle: u32,
    /// Most idle slots the target reaches.
    pub max_idle: u32,
    /// Idle time before a slot above the target is removed, in ms.
    #[cfg_attr(feature = "specta", specta(type = Number))]
    pub scale_down_after_ms: i64,
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
