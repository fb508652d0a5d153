//! What testing, applying, refreshing and deleting a definition answer
//! (the shapes; see the parent module's conventions).

use serde::Serialize;

use super::{problems, DefinitionProblem, Impact, SAMPLE_ROWS};
use crate::account::lease::AccountStats;
use crate::account::query::QueryResult;
use crate::account::source::{self, RefreshReport};
use crate::definition::catalog::{Deleted, Trial};
use crate::definition::files::file_of;
use crate::definition::model::Problem;
use crate::definition::reach::Reach;
use crate::definition::store::ApplyOutcome;
use crate::error::ErrorReport;
use crate::meeting::PlatformKind;

#[cfg(feature = "specta")]
use specta_typescript::Number;

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
