//! The use cases of pool definitions, for every face: the pools directory
//! (given by the caller) against the shared database. List, read,
//! validate, test, save (and rename), apply, refresh and delete.
//!
//! Each use case that changes something takes the [`Actor`] who asked and
//! announces its own change on the [`Feed`] (`pools`); faces only map
//! arguments and format what comes back. Invalid text is data for
//! [`validate`] and [`test`] (problems), and an error (`definition_invalid`)
//! wherever something would be written from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::directory::{find, read_file, scan};
use super::files::{self, invalid, Saved};
use super::model::{Found, PoolDefinition, Problem};
use super::parse::{excerpt, locate, parse, MAX_MESSAGE_CHARS};
use super::store::{self, Applied, ApplyOutcome, Impact, Retired, State};
use super::AccountSource;
use crate::account::lease::{self, AccountStats};
use crate::account::query::QueryResult;
use crate::account::source::{self, QueryConnection, RefreshFailure, RefreshReport};
use crate::account::{filter, query};
use crate::actor::Actor;
use crate::error::Result;
use crate::feed::Feed;
use crate::pool;

/// One valid definition of the directory, with where it stands.
#[derive(Debug, Clone)]
pub struct Row {
    /// The file and its definition.
    pub found: Found,
    /// Against the applied version.
    pub state: State,
    /// Slots the pool has now.
    pub slots: i64,
    /// Account counts, when it has an account source.
    pub accounts: Option<AccountStats>,
    /// When its accounts were last refreshed, if ever.
    pub last_refresh: Option<DateTime<Utc>>,
    /// The last automatic account refresh's failure, while it is the latest outcome.
    pub refresh_error: Option<RefreshFailure>,
}

/// What [`list`] found.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The directory read.
    pub directory: PathBuf,
    /// Valid definitions, by file name.
    pub rows: Vec<Row>,
    /// Problems of the files that were skipped.
    pub problems: Vec<Problem>,
    /// Example files this call seeded the directory with (first use).
    pub seeded: Vec<PathBuf>,
}

/// Every definition of `dir` with its state against the database, slot
/// count, account counts, last account refresh and the last automatic
/// refresh's failure; broken files' problems. Seeds the directory on first
/// use. Writes nothing else.
pub async fn list(db: &PgPool, dir: &Path) -> Result<Listing> {
    let found = scan(dir)?;
    let applied = store::applied(db).await?;
    let mut failures = source::refresh_failures(db).await?;
    let slots: BTreeMap<String, i64> = pool::stats(db)
        .await?
        .into_iter()
        .map(|s| (s.pool, s.total))
        .collect();
    let mut rows = Vec::with_capacity(found.definitions.len());
    for f in found.definitions {
        let name = f.definition.name.clone();
        let accounts = match f.definition.accounts {
            Some(_) => Some(lease::stats(db, &name).await?),
            None => None,
        };
        rows.push(Row {
            state: State::of(&f, &applied),
            slots: slots.get(&name).copied().unwrap_or(0),
            accounts,
            last_refresh: source::last_refresh(db, &name).await?,
            refresh_error: failures.remove(&name),
            found: f,
        });
    }
    Ok(Listing {
        directory: dir.to_path_buf(),
        rows,
        problems: found.problems,
        seeded: found.seeded,
    })
}

/// One definition with where it stands.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The file and its definition.
    pub found: Found,
    /// Against the applied version.
    pub state: State,
    /// The applied version, if any.
    pub applied: Option<Applied>,
    /// Its pool's rolling image update, once a definition was applied.
    pub rollout: Option<crate::rollout::RolloutProgress>,
}

/// The definition of pool `name` in `dir` (`not_found`; `definition_invalid`
/// when only a broken file of that name exists), its state, applied
/// version and rollout.
pub async fn detail(db: &PgPool, dir: &Path, name: &str) -> Result<Detail> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?.clone();
    let mut applied = store::applied(db).await?;
    Ok(Detail {
        state: State::of(&f, &applied),
        applied: applied.remove(name),
        rollout: crate::rollout::progress(db, name).await?,
        found: f,
    })
}

/// Validates a definition's text without writing anything: parsed and
/// checked ([`parse`]), and its account query (an `sql` source's `query`)
/// put through the account-query filter ([`filter`]) it would meet when
/// run, so a query the filter refuses is a problem at
/// `accounts.query.select`. `file` only labels problems.
pub async fn validate(
    text: &str,
    file: Option<&Path>,
) -> std::result::Result<PoolDefinition, Vec<Problem>> {
    let def = parse(text, file)?;
    match filter_problem(&def, text, file).await {
        None => Ok(def),
        Some(p) => Err(vec![p]),
    }
}

/// The filter's refusal of `def`'s account query, as a problem. A builder
/// form is compiled (and its names checked) only against the database, by
/// [`test`]; its SQL is quoted by construction.
async fn filter_problem(def: &PoolDefinition, text: &str, file: Option<&Path>) -> Option<Problem> {
    let Some(AccountSource::Sql { query: Some(q), .. }) = &def.accounts else {
        return None;
    };
    let refused = match query::positional(q) {
        Ok((sql, _)) => filter::check_off_thread(&sql).await.err()?,
        Err(e) => e,
    };
    let field = "accounts.query.select";
    let (line, column) = locate(text, field);
    Some(Problem {
        file: file.map(Path::to_path_buf),
        line,
        column,
        field: Some(field.to_string()),
        message: excerpt(
            &format!("refused by the account-query filter: {refused}"),
            MAX_MESSAGE_CHARS,
        ),
    })
}

/// What [`validate_files`] checked.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Files checked.
    pub checked: usize,
    /// Their problems (empty: all valid).
    pub problems: Vec<Problem>,
    /// Example files this call seeded the directory with (first use).
    pub seeded: Vec<PathBuf>,
}

/// Validates files of the pools directory as [`validate`] does: `files`
/// (paths as given on a command line, each read by [`read_file`]'s rules,
/// so only files of `dir`), or, when empty, every file a scan finds
/// (seeding the directory on first use). Writes nothing else.
pub async fn validate_files(dir: &Path, files: &[PathBuf]) -> Result<Checked> {
    let mut out = Checked::default();
    if files.is_empty() {
        let found = scan(dir)?;
        out.checked = found.definitions.len() + found.problems.len();
        out.problems = found.problems;
        out.seeded = found.seeded;
        for f in &found.definitions {
            out.problems
                .extend(filter_problem(&f.definition, &f.text, Some(&f.path)).await);
        }
        return Ok(out);
    }
    out.checked = files.len();
    for file in files {
        match read_file(dir, file) {
            Ok(text) => {
                if let Err(p) = validate(&text, Some(file)).await {
                    out.problems.extend(p);
                }
            }
            Err(e) => out.problems.push(Problem {
                file: None,
                line: None,
                column: None,
                field: None,
                message: e.to_string(),
            }),
        }
    }
    Ok(out)
}

/// What [`trial`] found: what applying a definition would do.
#[derive(Debug)]
pub struct Trial {
    /// What applying it would do to the pool's slots.
    pub impact: Impact,
    /// The SQL its account source runs (a builder form compiled), when it has one.
    pub sql: Option<String>,
    /// Its account source read as the query role (`None` without a source),
    /// or why it could not be.
    pub accounts: Result<Option<QueryResult>>,
}

/// Tries `def` against the database without writing anything: its impact
/// on the pool's slots and its account source, read as the query role
/// (account files relative to `dir`).
pub async fn trial(
    db: &PgPool,
    conn: QueryConnection<'_>,
    dir: &Path,
    def: &PoolDefinition,
) -> Result<Trial> {
    let impact = store::impact(db, def).await?;
    let reading = source::read_showing_sql(db, conn, dir, def).await;
    Ok(Trial {
        impact,
        sql: reading.sql.map(|q| q.select),
        accounts: reading.result,
    })
}

/// [`trial`] of a text: its problems when it does not parse and check.
pub async fn test(
    db: &PgPool,
    conn: QueryConnection<'_>,
    dir: &Path,
    text: &str,
) -> Result<std::result::Result<(PoolDefinition, Trial), Vec<Problem>>> {
    let def = match parse(text, None) {
        Ok(d) => d,
        Err(p) => return Ok(Err(p)),
    };
    let t = trial(db, conn, dir, &def).await?;
    Ok(Ok((def, t)))
}

/// Saves `text` in the pools directory ([`files::save`]: new, updated in
/// place, or renamed). When the text renames an applied pool, the old pool
/// is retired first ([`store::retire`]: refused while its slots are busy or
/// deploying, and then nothing is written; announces `pools`), so no
/// applied pool is left without a file.
pub async fn save(
    db: &PgPool,
    feed: &Feed,
    actor: &Actor,
    dir: &Path,
    original: Option<&str>,
    text: &str,
) -> Result<Saved> {
    if let Some(old) = files::renames(dir, original, text)? {
        if store::applied(db).await?.contains_key(&old) {
            store::retire(db, feed, &old).await?;
            tracing::info!(pool = %old, actor = %actor, "pool renamed: the old one is retired");
        }
    }
    files::save(dir, original, text)
}

/// Applies the file of pool `name` (a new version when its content
/// changed), recorded as `actor`; announces `pools`. Refused
/// (`definition_invalid`, nothing written) when the account-query filter
/// refuses its query ([`validate`]).
pub async fn apply(
    db: &PgPool,
    feed: &Feed,
    actor: &Actor,
    dir: &Path,
    name: &str,
) -> Result<ApplyOutcome> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    validate(&f.text, Some(&f.path))
        .await
        .map_err(|p| invalid(&p))?;
    store::apply(db, feed, &f.text, actor).await
}

/// Refreshes the applied pool `name`'s accounts from the source in its file
/// ([`source::refresh`]); announces `pools`.
pub async fn refresh(
    db: &PgPool,
    feed: &Feed,
    conn: QueryConnection<'_>,
    actor: &Actor,
    dir: &Path,
    name: &str,
) -> Result<RefreshReport> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let report = source::refresh(db, feed, conn, dir, &f.definition).await?;
    tracing::info!(pool = %name, actor = %actor, "accounts refreshed");
    Ok(report)
}

/// What [`delete`] did.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// Pool name.
    pub name: String,
    /// The file removed.
    pub path: PathBuf,
    /// What became of the applied pool.
    pub retired: Retired,
}

/// Deletes pool `name`'s definition file and retires its pool
/// ([`store::retire`]: no new bots, nothing pre-warmed, its idle slots
/// removed by the trim job; the pool row and its applied versions stay as
/// history; announces `pools`). Refused (`conflict`, nothing changed) while
/// the pool has busy or deploying slots.
pub async fn delete(
    db: &PgPool,
    feed: &Feed,
    actor: &Actor,
    dir: &Path,
    name: &str,
) -> Result<Deleted> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let retired = store::retire(db, feed, name).await?;
    files::remove_file(&f.path)?;
    tracing::info!(pool = %name, actor = %actor, "definition deleted");
    Ok(Deleted {
        name: name.to_string(),
        path: f.path.clone(),
        retired,
    })
}
