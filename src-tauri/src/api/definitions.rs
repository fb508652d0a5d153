//! The Pools view's commands over the core's definition use cases
//! ([`berth_core::definition::catalog`]): argument mapping and the view's
//! shapes. The pools directory is given by the caller, so tests use their
//! own. No file or database logic lives here.
//!
//! Invalid text is data here (`problems`), never an error, except where
//! something is to be written from it (save), which is refused with
//! `definition_invalid`.

use std::path::Path;

use berth_core::account::builder;
use berth_core::account::query::QueryResult;
use berth_core::account::source::{self, QueryConnection};
use berth_core::actor::Actor;
use berth_core::definition::{self, catalog, PoolDefinition, Problem};
use berth_core::feed::Feed;
use berth_core::platform::Platforms;
use berth_core::{Error, ErrorCode};
use sqlx::PgPool;

use crate::dto::{
    self, AccountPreview, AccountRefresh, AppliedDefinition, BuilderTable, CommandError,
    CommandResult, DefinitionDetail, DefinitionList, DefinitionProblem, DefinitionRow,
    DefinitionSummary, DefinitionTest, DeletedDefinition, PlatformReach, SavedDefinition,
    Validation,
};

/// Rows of the account source shown by [`test_definition`].
pub const SAMPLE_ROWS: usize = 3;

fn problems(p: Vec<Problem>) -> Vec<DefinitionProblem> {
    p.into_iter().map(DefinitionProblem::from).collect()
}

fn saved(s: definition::Saved) -> SavedDefinition {
    SavedDefinition {
        name: s.name,
        file: s.file,
        renamed_from: s.renamed_from,
    }
}

/// Every definition of `dir` with its state against the database, slot
/// count, account counts, last account refresh and the last automatic
/// refresh's failure; broken files' problems. Seeds the directory on first use.
pub async fn list_definitions(db: &PgPool, dir: &Path) -> CommandResult<DefinitionList> {
    let listing = catalog::list(db, dir).await?;
    let definitions = listing
        .rows
        .into_iter()
        .map(|r| DefinitionRow {
            file: definition::file_of(&r.found.path),
            summary: DefinitionSummary::from(&r.found.definition),
            state: r.state.into(),
            slots: r.slots,
            accounts: r.accounts.map(Into::into),
            last_refresh: r.last_refresh.map(dto::time),
            refresh_error: r.refresh_error.as_ref().map(Into::into),
        })
        .collect();
    Ok(DefinitionList {
        directory: listing.directory.display().to_string(),
        definitions,
        problems: problems(listing.problems),
    })
}

/// One definition's text, parsed fields, state and applied text.
pub async fn get_definition(
    db: &PgPool,
    dir: &Path,
    name: &str,
) -> CommandResult<DefinitionDetail> {
    let d = catalog::detail(db, dir, name).await?;
    Ok(DefinitionDetail {
        file: definition::file_of(&d.found.path),
        summary: DefinitionSummary::from(&d.found.definition),
        text: d.found.text,
        state: d.state.into(),
        applied_text: d.applied.map(|a| a.text),
    })
}

/// Validates `text` (not saved anywhere): its problems, or its fields.
pub async fn validate_definition(text: &str) -> Validation {
    match catalog::validate(text, None).await {
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

fn preview(r: &QueryResult) -> AccountPreview {
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

/// Tests `text` against the database without writing anything: problems,
/// or what applying it would do, a preview of its account source (read as
/// the query role; a source that cannot be read is reported in
/// `accounts_error`) and whether its platforms answer. Account files are
/// looked up relative to `dir`.
pub async fn test_definition(
    db: &PgPool,
    conn: QueryConnection<'_>,
    platforms: &Platforms,
    dir: &Path,
    text: &str,
) -> CommandResult<DefinitionTest> {
    let (def, trial) = match catalog::test(db, conn, dir, text).await? {
        Ok(tried) => tried,
        Err(p) => {
            return Ok(DefinitionTest {
                problems: problems(p),
                impact: None,
                accounts: None,
                accounts_error: None,
                platforms: Vec::new(),
                sql: None,
            })
        }
    };
    let (accounts, accounts_error) = match trial.accounts {
        Ok(r) => (r.as_ref().map(preview), None),
        Err(e) => (None, Some(CommandError::from(e))),
    };
    Ok(DefinitionTest {
        problems: Vec::new(),
        impact: Some(trial.impact.into()),
        accounts,
        accounts_error,
        platforms: reachability(db, platforms, &def).await?,
        sql: trial.sql,
    })
}

async fn reachability(
    db: &PgPool,
    platforms: &Platforms,
    def: &PoolDefinition,
) -> CommandResult<Vec<PlatformReach>> {
    Ok(definition::reachability(db, platforms, def)
        .await?
        .into_iter()
        .map(|r| PlatformReach {
            platform: r.platform.as_str().to_string(),
            health: r.health_str().to_string(),
            detail: r.detail().map(str::to_string),
        })
        .collect())
}

/// Tables the query role can read, for the visual query builder.
pub async fn query_tables(db: &PgPool, conn: QueryConnection<'_>) -> CommandResult<Vec<String>> {
    Ok(builder::tables(&source::role(db, conn).await?).await?)
}

/// The columns of `table` the query role can read (`query_refused` when
/// none), for the visual query builder.
pub async fn table_columns(
    db: &PgPool,
    conn: QueryConnection<'_>,
    table: &str,
) -> CommandResult<BuilderTable> {
    Ok(builder::columns(&source::role(db, conn).await?, table)
        .await?
        .into())
}

/// The raw text of `file` in the pools directory, valid or not (to fix a
/// broken file in the editor): [`definition::read_raw`].
pub fn read_definition_file(dir: &Path, file: &str) -> CommandResult<String> {
    Ok(definition::read_raw(dir, file)?)
}

/// Replaces the broken `file` with valid `text`: [`definition::repair`].
pub fn repair_definition(dir: &Path, file: &str, text: &str) -> CommandResult<SavedDefinition> {
    Ok(saved(definition::repair(dir, file, text)?))
}

/// Saves `text` in the pools directory without touching the database
/// ([`definition::save`]; tests set up files with it).
pub fn save_definition(
    dir: &Path,
    original: Option<&str>,
    text: &str,
) -> CommandResult<SavedDefinition> {
    Ok(saved(definition::save(dir, original, text)?))
}

/// Saves `text` for the app ([`catalog::save`]): a rename of an applied
/// pool retires the old one first (refused while its slots are busy or
/// deploying, and then nothing is written). Announces `pools` then.
pub async fn save_definition_retiring(
    db: &PgPool,
    feed: &Feed,
    dir: &Path,
    original: Option<&str>,
    text: &str,
) -> CommandResult<SavedDefinition> {
    let s = catalog::save(db, feed, &Actor::desktop(), dir, original, text).await?;
    Ok(saved(s))
}

/// Applies the saved file of `name` as the desktop's user
/// ([`catalog::apply`]); announces `pools` on `feed`.
pub async fn apply_definition(
    db: &PgPool,
    feed: &Feed,
    dir: &Path,
    name: &str,
) -> CommandResult<AppliedDefinition> {
    let outcome = catalog::apply(db, feed, &Actor::desktop(), dir, name).await?;
    Ok(AppliedDefinition {
        name: name.to_string(),
        version: outcome.version,
        changed: outcome.changed,
    })
}

/// Refreshes the applied pool `name`'s accounts from its source
/// ([`catalog::refresh`]); announces `pools` on `feed`.
pub async fn refresh_accounts(
    db: &PgPool,
    feed: &Feed,
    conn: QueryConnection<'_>,
    dir: &Path,
    name: &str,
) -> CommandResult<AccountRefresh> {
    let r = catalog::refresh(db, feed, conn, &Actor::desktop(), dir, name).await?;
    Ok(AccountRefresh {
        name: r.name,
        added: r.refreshed.added,
        kept: r.refreshed.kept,
        removed: r.refreshed.removed,
        truncated: r.truncated,
        stats: r.stats.into(),
    })
}

/// Deletes `name`'s definition file and retires its pool
/// ([`catalog::delete`]; refused while its slots are busy or deploying).
/// Announces `pools`.
pub async fn delete_definition(
    db: &PgPool,
    feed: &Feed,
    dir: &Path,
    name: &str,
) -> CommandResult<DeletedDefinition> {
    let d = catalog::delete(db, feed, &Actor::desktop(), dir, name).await?;
    let note = if d.retired.existed {
        format!(
            "{name} is retired: it takes no new bots and its {} idle slot{} will be removed; its history stays",
            d.retired.slots,
            if d.retired.slots == 1 { "" } else { "s" }
        )
    } else {
        "it was never applied: nothing changed in the database".to_string()
    };
    Ok(DeletedDefinition {
        name: d.name,
        file: definition::file_of(&d.path),
        note,
    })
}

/// The definitions' JSON Schema, as JSON text.
pub fn definition_schema() -> CommandResult<String> {
    serde_json::to_string_pretty(&definition::schema())
        .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()).into())
}
