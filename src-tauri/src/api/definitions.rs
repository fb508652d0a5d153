//! The Pools view's logic: pool definition files in a pools directory
//! (given by the caller, so tests use their own) against the database.
//!
//! Invalid text is data here (`problems`), never an error, except where
//! something is to be written from it (save), which is refused with
//! `definition_invalid`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use berth_core::account::query::QueryResult;
use berth_core::account::source::{self, QueryConnection};
use berth_core::account::{builder, lease};
use berth_core::definition::{self, Discovery, Found, PoolDefinition, Problem};
use berth_core::feed::Feed;
use berth_core::meeting::PlatformKind;
use berth_core::platform::{Health, Platforms};
use berth_core::settings;
use berth_core::{pool, Error, ErrorCode};
use sqlx::PgPool;

use crate::dto::{
    self, AccountPreview, AccountRefresh, AppliedDefinition, BuilderTable, CommandError,
    CommandResult, DefinitionDetail, DefinitionList, DefinitionProblem, DefinitionRow,
    DefinitionSummary, DefinitionTest, DeletedDefinition, PlatformReach, SavedDefinition,
    Validation,
};

/// Rows of the account source shown by [`test_definition`].
pub const SAMPLE_ROWS: usize = 3;

/// The pools directory, seeded with examples when it does not exist yet, and
/// what it holds.
fn scan(dir: &Path) -> CommandResult<Discovery> {
    definition::seed(dir)?;
    Ok(definition::discover(dir)?)
}

fn file_of(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The definition named `name`; `definition_invalid` when only a broken
/// file of that name exists, else `not_found`.
fn find<'a>(found: &'a Discovery, dir: &Path, name: &str) -> CommandResult<&'a Found> {
    found.get(name).ok_or_else(|| {
        let broken = found.problems.iter().any(|p| {
            p.file
                .as_ref()
                .is_some_and(|f| f.file_stem().is_some_and(|s| s == name))
        });
        if broken {
            CommandError::new(
                ErrorCode::DefinitionInvalid,
                format!("the file of {name} is invalid: fix it first"),
            )
        } else {
            CommandError::new(
                ErrorCode::NotFound,
                format!("no definition named {name:?} in {}", dir.display()),
            )
        }
    })
}

fn problems(p: Vec<Problem>) -> Vec<DefinitionProblem> {
    p.into_iter().map(DefinitionProblem::from).collect()
}

/// `definition_invalid` naming the first problem and how many there are.
fn invalid(p: &[Problem]) -> CommandError {
    let first = p
        .first()
        .map(ToString::to_string)
        .unwrap_or_else(|| "invalid".into());
    let more = match p.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    CommandError::new(ErrorCode::DefinitionInvalid, format!("{first}{more}"))
}

/// Every definition of `dir` with its state against the database, slot
/// count, account counts, last account refresh and the last automatic
/// refresh's failure; broken files' problems.
/// Seeds the directory on first use.
pub async fn list_definitions(db: &PgPool, dir: &Path) -> CommandResult<DefinitionList> {
    let found = scan(dir)?;
    let applied = definition::applied(db).await?;
    let failures = source::refresh_failures(db).await?;
    let slots: BTreeMap<String, i64> = pool::stats(db)
        .await?
        .into_iter()
        .map(|s| (s.pool, s.total))
        .collect();
    let mut definitions = Vec::with_capacity(found.definitions.len());
    for f in &found.definitions {
        let name = &f.definition.name;
        let accounts = match f.definition.accounts {
            Some(_) => Some(lease::stats(db, name).await?.into()),
            None => None,
        };
        definitions.push(DefinitionRow {
            file: file_of(&f.path),
            summary: DefinitionSummary::from(&f.definition),
            state: definition::State::of(f, &applied).into(),
            slots: slots.get(name).copied().unwrap_or(0),
            accounts,
            last_refresh: source::last_refresh(db, name).await?.map(dto::time),
            refresh_error: failures.get(name).map(Into::into),
        });
    }
    Ok(DefinitionList {
        directory: dir.display().to_string(),
        definitions,
        problems: problems(found.problems),
    })
}

/// One definition's text, parsed fields, state and applied text.
pub async fn get_definition(
    db: &PgPool,
    dir: &Path,
    name: &str,
) -> CommandResult<DefinitionDetail> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let applied = definition::applied(db).await?;
    Ok(DefinitionDetail {
        file: file_of(&f.path),
        text: f.text.clone(),
        summary: DefinitionSummary::from(&f.definition),
        state: definition::State::of(f, &applied).into(),
        applied_text: applied.get(name).map(|a| a.text.clone()),
    })
}

/// Validates `text` (not saved anywhere): its problems, or its fields.
pub fn validate_definition(text: &str) -> Validation {
    match definition::parse(text, None) {
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
            .map(|row| {
                let shown = source::redacted(row);
                serde_json::to_string(&shown).unwrap_or_default()
            })
            .collect(),
    }
}

/// Tests `text` against the database without writing anything: problems,
/// or what applying it would do and a preview of its account source (read
/// as the query role; a source that cannot be read is reported in
/// `accounts_error`). Account files are looked up relative to `dir`.
pub async fn test_definition(
    db: &PgPool,
    conn: QueryConnection<'_>,
    platforms: &Platforms,
    dir: &Path,
    text: &str,
) -> CommandResult<DefinitionTest> {
    let def = match definition::parse(text, None) {
        Ok(d) => d,
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
    let impact = definition::impact(db, &def).await?;
    let reading = source::read_showing_sql(db, conn, dir, &def).await;
    let sql = reading.sql.map(|q| q.select);
    let (accounts, accounts_error) = match reading.result {
        Ok(r) => (r.as_ref().map(preview), None),
        Err(e) => (None, Some(CommandError::from(e))),
    };
    Ok(DefinitionTest {
        problems: Vec::new(),
        impact: Some(impact.into()),
        accounts,
        accounts_error,
        platforms: reachability(db, platforms, &def).await?,
        sql,
    })
}

/// Probes each platform `def` may use (its own list, else the routable
/// platforms in the global priority order) with its adapter's health
/// check, now.
async fn reachability(
    db: &PgPool,
    platforms: &Platforms,
    def: &PoolDefinition,
) -> CommandResult<Vec<PlatformReach>> {
    let order: Vec<PlatformKind> = match &def.platforms {
        Some(list) => list.clone(),
        // The platforms the router would try: enabled, with a limit.
        None => settings::load(db)
            .await?
            .routable()
            .map(|p| p.platform)
            .collect(),
    };
    let mut out = Vec::with_capacity(order.len());
    for kind in order {
        let reach = match platforms.get(kind) {
            None => PlatformReach {
                platform: kind.as_str().to_string(),
                health: "unavailable".into(),
                detail: Some("no adapter is configured for it in this instance".into()),
            },
            Some(adapter) => {
                let health = adapter.health().await;
                PlatformReach {
                    platform: kind.as_str().to_string(),
                    health: health.as_str().to_string(),
                    detail: match health {
                        Health::Healthy => None,
                        Health::Degraded => Some("answering, with problems".into()),
                        Health::Down => Some("not answering its health check".into()),
                        Health::Unknown => Some("the health check could not run".into()),
                    },
                }
            }
        };
        out.push(reach);
    }
    Ok(out)
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

/// The path of `file` in `dir`: a plain `*.yaml` file name, never a path
/// that leaves the directory.
fn definition_file(dir: &Path, file: &str) -> CommandResult<PathBuf> {
    let plain = !file.is_empty()
        && !file.starts_with('.')
        && file.ends_with(".yaml")
        && !file.contains(['/', '\\'])
        && Path::new(file).file_name().is_some_and(|f| f == file);
    if !plain {
        return Err(CommandError::new(
            ErrorCode::InvalidInput,
            format!("{file:?} is not a definition file name (name.yaml, in the pools directory)"),
        ));
    }
    Ok(dir.join(file))
}

/// The raw text of `file` in the pools directory, valid or not (to fix a
/// broken file in the editor), read by the core's rules
/// ([`definition::read_file`]: never through a link out of the directory,
/// at most [`definition::MAX_FILE_BYTES`]).
pub fn read_definition_file(dir: &Path, file: &str) -> CommandResult<String> {
    let path = definition_file(dir, file)?;
    definition::read_file(dir, &path).map_err(|e| match e.code() {
        ErrorCode::NotFound if dir.is_dir() => CommandError::new(
            ErrorCode::NotFound,
            format!("no file {file} in {}", dir.display()),
        ),
        _ => CommandError::from(e),
    })
}

/// Replaces the broken `file` with `text`, which must be valid
/// (`definition_invalid`, nothing written). The result is saved as
/// `<name>.yaml`: in place when that is `file`, else as a new file (refused,
/// `conflict`, when that name is taken) and `file` is removed.
pub fn repair_definition(dir: &Path, file: &str, text: &str) -> CommandResult<SavedDefinition> {
    let path = definition_file(dir, file)?;
    let def = definition::parse(text, None).map_err(|p| invalid(&p))?;
    if !path.is_file() {
        return Err(CommandError::new(
            ErrorCode::NotFound,
            format!("no file {file} in {}", dir.display()),
        ));
    }
    let target_name = definition::file_name(&def.name)?;
    let found = scan(dir)?;
    if let Some(other) = found.get(&def.name) {
        if other.path != path {
            return Err(CommandError::new(
                ErrorCode::Conflict,
                format!(
                    "a pool named {} is already defined in {}",
                    def.name,
                    file_of(&other.path)
                ),
            ));
        }
    }
    if target_name == file {
        replace_file(&path, text)?;
        return Ok(SavedDefinition {
            name: def.name,
            file: file.to_string(),
            renamed_from: None,
        });
    }
    create_file(&dir.join(&target_name), text)?;
    std::fs::remove_file(&path).map_err(|e| io("remove", &path, e))?;
    Ok(SavedDefinition {
        name: def.name,
        file: target_name,
        renamed_from: Some(file.to_string()),
    })
}

fn io(what: &str, path: &Path, e: std::io::Error) -> CommandError {
    CommandError::new(
        ErrorCode::InvalidInput,
        format!("cannot {what} {}: {e}", path.display()),
    )
}

/// Writes `text` to a fresh temporary file next to `target` and returns it.
fn write_temp(target: &Path, text: &str) -> CommandResult<PathBuf> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = target.parent().unwrap_or(Path::new("."));
    // Not `.yaml`, so discovery never reads a half-written file.
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        file_of(target),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, text).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("write", &tmp, e)
    })?;
    Ok(tmp)
}

/// Writes `text` as `target`, which must not exist: the complete file
/// appears at once (hard link of a temporary file), and a file created
/// meanwhile is never overwritten (`conflict`).
fn create_file(target: &Path, text: &str) -> CommandResult<()> {
    let tmp = write_temp(target, text)?;
    let linked = std::fs::hard_link(&tmp, target);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(CommandError::new(
            ErrorCode::Conflict,
            format!("{} already exists", target.display()),
        )),
        Err(e) => Err(io("create", target, e)),
    }
}

/// Replaces `target` with `text` at once (temporary file, then rename).
fn replace_file(target: &Path, text: &str) -> CommandResult<()> {
    let tmp = write_temp(target, text)?;
    std::fs::rename(&tmp, target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("replace", target, e)
    })
}

/// Saves `text` after validating it (`definition_invalid`, nothing written).
/// `original: None` creates `<name>.yaml`, refused (`conflict`) when the
/// name or file exists. `Some(old)` updates pool `old`'s file in place, or,
/// when the text renames the pool, writes `<new name>.yaml` (refused when
/// taken) and removes the old file. Files are written atomically.
pub fn save_definition(
    dir: &Path,
    original: Option<&str>,
    text: &str,
) -> CommandResult<SavedDefinition> {
    let def = definition::parse(text, None).map_err(|p| invalid(&p))?;
    let found = scan(dir)?;
    let name = def.name.clone();
    let taken = |name: &str| {
        found.get(name).map(|f| {
            CommandError::new(
                ErrorCode::Conflict,
                format!(
                    "a pool named {name} is already defined in {}",
                    file_of(&f.path)
                ),
            )
        })
    };
    let target = dir.join(definition::file_name(&name)?);
    match original {
        None => {
            if let Some(e) = taken(&name) {
                return Err(e);
            }
            create_file(&target, text)?;
            Ok(SavedDefinition {
                file: file_of(&target),
                name,
                renamed_from: None,
            })
        }
        Some(old) => {
            let f = find(&found, dir, old)?;
            if old == name {
                replace_file(&f.path, text)?;
                return Ok(SavedDefinition {
                    file: file_of(&f.path),
                    name,
                    renamed_from: None,
                });
            }
            if let Some(e) = taken(&name) {
                return Err(e);
            }
            create_file(&target, text)?;
            std::fs::remove_file(&f.path).map_err(|e| io("remove", &f.path, e))?;
            Ok(SavedDefinition {
                file: file_of(&target),
                name,
                renamed_from: Some(file_of(&f.path)),
            })
        }
    }
}

/// [`save_definition`] for the app: when the text renames an applied pool,
/// the old pool is retired first ([`definition::retire`]: refused while its
/// slots are busy or deploying, and then nothing is written), so no applied
/// pool is left without a file. Announces `pools`.
pub async fn save_definition_retiring(
    db: &PgPool,
    feed: &Feed,
    dir: &Path,
    original: Option<&str>,
    text: &str,
) -> CommandResult<SavedDefinition> {
    if let (Some(old), Ok(def)) = (original, definition::parse(text, None)) {
        let found = scan(dir)?;
        let renames = def.name != old && found.get(old).is_some() && found.get(&def.name).is_none();
        if renames && definition::applied(db).await?.contains_key(old) {
            definition::retire(db, feed, old).await?;
        }
    }
    save_definition(dir, original, text)
}

/// Applies the saved file of `name` (a new version when its content
/// changed; the core announces `pools` on `feed`), recorded as `who`.
pub async fn apply_definition(
    db: &PgPool,
    feed: &Feed,
    dir: &Path,
    name: &str,
    who: &str,
) -> CommandResult<AppliedDefinition> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let outcome = definition::apply(db, feed, &f.text, who).await?;
    Ok(AppliedDefinition {
        name: name.to_string(),
        version: outcome.version,
        changed: outcome.changed,
    })
}

/// Refreshes the applied pool `name`'s accounts from its source; announces
/// `pools` on `feed`.
pub async fn refresh_accounts(
    db: &PgPool,
    feed: &Feed,
    conn: QueryConnection<'_>,
    dir: &Path,
    name: &str,
) -> CommandResult<AccountRefresh> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let r = source::refresh(db, feed, conn, dir, &f.definition).await?;
    Ok(AccountRefresh {
        name: r.name,
        added: r.refreshed.added,
        kept: r.refreshed.kept,
        removed: r.refreshed.removed,
        truncated: r.truncated,
        stats: r.stats.into(),
    })
}

/// Deletes `name`'s definition file and retires its pool: no new bots,
/// nothing pre-warmed, its idle slots removed by the trim job (the pool row
/// and its applied versions stay as history). Refused (`conflict`, nothing
/// changed) while the pool has busy or deploying slots. Announces `pools`.
pub async fn delete_definition(
    db: &PgPool,
    feed: &Feed,
    dir: &Path,
    name: &str,
) -> CommandResult<DeletedDefinition> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let retired = definition::retire(db, feed, name).await?;
    std::fs::remove_file(&f.path).map_err(|e| io("remove", &f.path, e))?;
    let note = if retired.existed {
        format!(
            "{name} is retired: it takes no new bots and its {} idle slot{} will be removed; its history stays",
            retired.slots,
            if retired.slots == 1 { "" } else { "s" }
        )
    } else {
        "it was never applied: nothing changed in the database".to_string()
    };
    Ok(DeletedDefinition {
        name: name.to_string(),
        file: file_of(&f.path),
        note,
    })
}

/// The definitions' JSON Schema, as JSON text.
pub fn definition_schema() -> CommandResult<String> {
    serde_json::to_string_pretty(&definition::schema())
        .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()).into())
}
