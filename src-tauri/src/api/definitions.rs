//! The Pools view's commands over the core's definition use cases
//! ([`berth_core::definition::catalog`]): argument mapping; the view's
//! shapes are the core's ([`berth_core::definition::view`]). The pools directory is given by the caller, so tests use their
//! own. No file or database logic lives here.
//!
//! Invalid text is data here (`problems`), never an error, except where
//! something is to be written from it (save), which is refused with
//! `definition_invalid`.

use std::path::Path;

use berth_core::account::builder::{self, TableColumns};
use berth_core::account::source::{self, QueryConnection};
use berth_core::actor::Actor;
use berth_core::definition::view::{
    AccountRefresh, AppliedDefinition, DefinitionDetail, DefinitionList, DefinitionTest,
    DeletedDefinition, Validation,
};
use berth_core::definition::{self, catalog, Saved};
use berth_core::feed::Feed;
use berth_core::platform::Platforms;
use berth_core::scaling;
use berth_core::{Error, ErrorCode};
use sqlx::PgPool;

use crate::dto::CommandResult;

/// Every definition of `dir` with its state against the database, slot
/// count, account counts, last account refresh and the last automatic
/// refresh's failure; broken files' problems. Seeds the directory on first use.
pub async fn list_definitions(db: &PgPool, dir: &Path) -> CommandResult<DefinitionList> {
    Ok(catalog::list(db, dir).await?.into())
}

/// A pool's scaling: its policy, the target now with its parts, and the
/// recent decisions (not scaled: `scaled: false`).
pub async fn pool_scaling(db: &PgPool, pool: &str) -> CommandResult<scaling::ScalingView> {
    Ok(scaling::view(db, pool).await?)
}

/// One definition's text, parsed fields, state and applied text.
pub async fn get_definition(
    db: &PgPool,
    dir: &Path,
    name: &str,
) -> CommandResult<DefinitionDetail> {
    Ok(catalog::detail(db, dir, name).await?.into())
}

/// Validates `text` (not saved anywhere): its problems, or its fields.
pub async fn validate_definition(text: &str) -> Validation {
    catalog::validate(text, None).await.into()
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
    Ok(match catalog::test(db, conn, dir, text).await? {
        Ok((def, trial)) => {
            let reach = definition::reachability(db, platforms, &def).await?;
            DefinitionTest::tried(trial, &reach)
        }
        Err(p) => DefinitionTest::refused(p),
    })
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
) -> CommandResult<TableColumns> {
    Ok(builder::columns(&source::role(db, conn).await?, table).await?)
}

/// The raw text of `file` in the pools directory, valid or not (to fix a
/// broken file in the editor): [`definition::read_raw`].
pub fn read_definition_file(dir: &Path, file: &str) -> CommandResult<String> {
    Ok(definition::read_raw(dir, file)?)
}

/// Replaces the broken `file` with valid `text`: [`definition::repair`].
pub fn repair_definition(dir: &Path, file: &str, text: &str) -> CommandResult<Saved> {
    Ok(definition::repair(dir, file, text)?)
}

/// Saves `text` in the pools directory without touching the database
/// ([`definition::save`]; tests set up files with it).
pub fn save_definition(dir: &Path, original: Option<&str>, text: &str) -> CommandResult<Saved> {
    Ok(definition::save(dir, original, text)?)
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
) -> CommandResult<Saved> {
    Ok(catalog::save(db, feed, &Actor::desktop(), dir, original, text).await?)
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
    Ok(AppliedDefinition::of(name, &outcome))
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
    Ok(
        catalog::refresh(db, feed, conn, &Actor::desktop(), dir, name)
            .await?
            .into(),
    )
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
    Ok(catalog::delete(db, feed, &Actor::desktop(), dir, name)
        .await?
        .into())
}

/// The definitions' JSON Schema, as JSON text.
pub fn definition_schema() -> CommandResult<String> {
    serde_json::to_string_pretty(&definition::schema())
        .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()).into())
}
