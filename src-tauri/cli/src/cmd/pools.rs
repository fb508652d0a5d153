//! `berth pools`: pool definitions in the pools directory, and what is applied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_core::account::lease::{self, AccountStats, Refreshed};
use berth_core::account::query::{self, Limits, QueryResult};
use berth_core::definition::{self, AccountSource, Applied, Discovery, Found, Problem};
use berth_core::feed::Feed;
use berth_core::{Error, ErrorCode, Result};
use serde::Serialize;

use crate::cli::{PoolsArgs, PoolsCommand};
use crate::connect::{with_db, Db};
use crate::output::{self, Ctx};

/// Runs the command.
pub async fn run(ctx: Ctx, args: PoolsArgs) -> Result<()> {
    let dir = args
        .dir
        .unwrap_or_else(|| definition::pools_dir(|k| std::env::var_os(k)));
    match args.command {
        PoolsCommand::List => list(ctx, &dir).await,
        PoolsCommand::Show { name } => show(ctx, &dir, &name).await,
        PoolsCommand::Validate { files } => validate(ctx, &dir, files),
        PoolsCommand::Test { name } => test(ctx, &dir, &name).await,
        PoolsCommand::Apply { name } => apply(ctx, &dir, &name).await,
        PoolsCommand::Refresh { name } => refresh(ctx, &dir, &name).await,
        PoolsCommand::Schema => output::json(&definition::schema()),
    }
}

/// Scans the directory, seeding examples on first use.
fn scan(dir: &Path) -> Result<Discovery> {
    let seeded = definition::seed(dir)?;
    if !seeded.is_empty() {
        eprintln!(
            "berth: created {} with {} example definitions",
            dir.display(),
            seeded.len()
        );
    }
    definition::discover(dir)
}

fn find<'a>(found: &'a Discovery, dir: &Path, name: &str) -> Result<&'a Found> {
    found.get(name).ok_or_else(|| {
        let broken = found.problems.iter().any(|p| {
            p.file
                .as_ref()
                .is_some_and(|f| f.file_stem().is_some_and(|s| s == name))
        });
        Error::new(
            if broken {
                ErrorCode::DefinitionInvalid
            } else {
                ErrorCode::NotFound
            },
            if broken {
                format!("the definition of {name} is invalid: run `berth pools validate`")
            } else {
                format!("no definition named {name:?} in {}", dir.display())
            },
        )
    })
}

/// Where a file stands against what the database has applied.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", tag = "state")]
enum State {
    /// Never applied.
    NotApplied,
    /// The applied version has the file's content.
    Applied { version: i32 },
    /// The file differs from the applied version.
    Pending { version: i32 },
}

impl State {
    fn of(found: &Found, applied: &BTreeMap<String, Applied>) -> State {
        match applied.get(&found.definition.name) {
            None => State::NotApplied,
            Some(a) if a.hash == found.hash => State::Applied { version: a.version },
            Some(a) => State::Pending { version: a.version },
        }
    }

    fn human(&self) -> String {
        match self {
            State::NotApplied => "not applied".into(),
            State::Applied { version } => format!("applied v{version}"),
            State::Pending { version } => format!("pending (file differs from v{version})"),
        }
    }
}

fn source_kind(found: &Found) -> &'static str {
    match &found.definition.accounts {
        None => "-",
        Some(AccountSource::Sql { .. }) => "sql",
        Some(AccountSource::File { .. }) => "file",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    name: &'a str,
    file: &'a Path,
    meeting_platform: &'a str,
    max_size: u32,
    prewarm: u32,
    accounts: &'static str,
    #[serde(flatten)]
    state: State,
}

async fn list(ctx: Ctx, dir: &Path) -> Result<()> {
    let found = scan(dir)?;
    let applied = with_db(async |db| definition::applied(&db.pool).await).await?;
    let rows: Vec<Row> = found
        .definitions
        .iter()
        .map(|f| Row {
            name: &f.definition.name,
            file: &f.path,
            meeting_platform: f.definition.meeting_platform.as_str(),
            max_size: f.definition.max_size,
            prewarm: f.definition.prewarm,
            accounts: source_kind(f),
            state: State::of(f, &applied),
        })
        .collect();
    if ctx.json {
        return output::json(&serde_json::json!({
            "directory": dir,
            "definitions": rows,
            "problems": found.problems,
        }));
    }
    if rows.is_empty() {
        output::emit(format!("no pool definitions in {}", dir.display()));
    } else {
        let mut t = output::table([
            "pool",
            "meeting platform",
            "max",
            "prewarm",
            "accounts",
            "state",
            "file",
        ]);
        for r in &rows {
            t.add_row(vec![
                r.name.to_string(),
                r.meeting_platform.to_string(),
                r.max_size.to_string(),
                r.prewarm.to_string(),
                r.accounts.to_string(),
                r.state.human(),
                r.file.display().to_string(),
            ]);
        }
        output::emit(t);
    }
    for p in &found.problems {
        output::emit(format!("skipped: {p}"));
    }
    Ok(())
}

async fn show(ctx: Ctx, dir: &Path, name: &str) -> Result<()> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let applied = with_db(async |db| definition::applied(&db.pool).await).await?;
    let state = State::of(f, &applied);
    if ctx.json {
        return output::json(&serde_json::json!({
            "file": f.path,
            "hash": f.hash,
            "definition": f.definition,
            "applied": applied.get(name),
            "state": state,
        }));
    }
    output::emit(format!(
        "{} ({})\n{}\n{}",
        name,
        f.path.display(),
        state.human(),
        f.text.trim_end()
    ));
    Ok(())
}

fn validate(ctx: Ctx, dir: &Path, files: Vec<PathBuf>) -> Result<()> {
    let (checked, problems): (usize, Vec<Problem>) = if files.is_empty() {
        let found = scan(dir)?;
        (
            found.definitions.len() + found.problems.len(),
            found.problems,
        )
    } else {
        let mut problems = Vec::new();
        for file in &files {
            match std::fs::read_to_string(file) {
                Ok(text) => {
                    if let Err(p) = definition::parse(&text, Some(file)) {
                        problems.extend(p);
                    }
                }
                Err(e) => problems.push(Problem {
                    file: Some(file.clone()),
                    line: None,
                    column: None,
                    field: None,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        (files.len(), problems)
    };
    if ctx.json {
        output::json(&serde_json::json!({ "checked": checked, "problems": problems }))?;
    } else {
        for p in &problems {
            output::emit(p);
        }
    }
    if problems.is_empty() {
        if !ctx.json {
            output::emit(format!(
                "{} valid",
                output::plural(checked as i64, "definition")
            ));
        }
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::DefinitionInvalid,
            format!("{} found", output::plural(problems.len() as i64, "problem")),
        ))
    }
}

async fn test(ctx: Ctx, dir: &Path, name: &str) -> Result<()> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let (impact, applied, accounts) = with_db(async |db| {
        Ok((
            definition::impact(&db.pool, &f.definition).await?,
            definition::applied(&db.pool).await?,
            read_source(db, dir, f).await?,
        ))
    })
    .await?;
    let state = State::of(f, &applied);
    if ctx.json {
        return output::json(&serde_json::json!({
            "name": name,
            "valid": true,
            "state": state,
            "impact": impact,
            "accounts": accounts.as_ref().map(|r| serde_json::json!({
                "count": r.rows.len(),
                "truncated": r.truncated,
                "sample": r.rows.iter().take(3).collect::<Vec<_>>(),
            })),
        }));
    }
    let mut text = format!("{name}: valid ({})\nimpact: {impact}", state.human());
    if let Some(r) = &accounts {
        text.push_str(&format!(
            "\naccounts: {}{} match",
            r.rows.len(),
            if r.truncated { "+" } else { "" }
        ));
        for row in r.rows.iter().take(3) {
            text.push_str(&format!(
                "\n  {}",
                serde_json::to_string(row).unwrap_or_default()
            ));
        }
    }
    output::emit(text);
    Ok(())
}

async fn apply(ctx: Ctx, dir: &Path, name: &str) -> Result<()> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let who = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let outcome = with_db(async |db| {
        let feed = Feed::new(uuid::Uuid::new_v4(), true);
        let outcome = definition::apply(&db.pool, &feed, &f.text, &format!("{who} (cli)")).await?;
        feed.flush(&db.pool).await?;
        Ok(outcome)
    })
    .await?;
    if ctx.json {
        return output::json(&outcome);
    }
    output::emit(if outcome.changed {
        format!("{name}: applied as v{}", outcome.version)
    } else {
        format!(
            "{name}: v{} already has this content; nothing changed",
            outcome.version
        )
    });
    Ok(())
}

/// Reads the definition's account source: runs the query as the query role,
/// or lists the directory's files. `None` without a source.
async fn read_source(db: &Db, dir: &Path, f: &Found) -> Result<Option<QueryResult>> {
    match &f.definition.accounts {
        None => Ok(None),
        Some(AccountSource::Sql { query: q, .. }) => {
            query::ensure_role(&db.pool).await.map_err(|e| {
                Error::new(
                    ErrorCode::QueryRefused,
                    format!(
                        "the query role {} is missing and could not be created ({e}); create it: CREATE ROLE {} LOGIN",
                        query::QUERY_ROLE,
                        query::QUERY_ROLE
                    ),
                )
            })?;
            let explicit = std::env::var("BERTH_QUERY_DATABASE_URL").ok();
            let options = query::role_options(&db.url, explicit.as_deref())?;
            Ok(Some(query::run(&options, q, Limits::default()).await?))
        }
        Some(AccountSource::File { directory, .. }) => {
            let path = if directory.is_absolute() {
                directory.clone()
            } else {
                dir.join(directory)
            };
            let mut names: Vec<String> = std::fs::read_dir(&path)
                .map_err(|e| {
                    Error::new(
                        ErrorCode::NotFound,
                        format!("cannot read the account directory {}: {e}", path.display()),
                    )
                })?
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect();
            names.sort();
            let rows = names
                .into_iter()
                .map(|n| BTreeMap::from([("id".to_string(), serde_json::Value::from(n))]))
                .collect();
            Ok(Some(QueryResult {
                columns: vec!["id".into()],
                rows,
                truncated: false,
            }))
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefreshReport {
    name: String,
    refreshed: Refreshed,
    truncated: bool,
    stats: AccountStats,
}

async fn refresh(ctx: Ctx, dir: &Path, name: &str) -> Result<()> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    if f.definition.accounts.is_none() {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("{name} has no account source to refresh"),
        ));
    }
    let report = with_db(async |db| {
        let applied = definition::applied(&db.pool).await?;
        if !applied.contains_key(name) {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("{name} is not applied yet: run `berth pools apply {name}` first"),
            ));
        }
        let result = read_source(db, dir, f)
            .await?
            .unwrap_or_else(|| QueryResult {
                columns: Vec::new(),
                rows: Vec::new(),
                truncated: false,
            });
        let refreshed = lease::refresh(&db.pool, name, &result).await?;
        Ok(RefreshReport {
            name: name.to_string(),
            refreshed,
            truncated: result.truncated,
            stats: lease::stats(&db.pool, name).await?,
        })
    })
    .await?;
    if ctx.json {
        return output::json(&report);
    }
    let r = &report.refreshed;
    let s = &report.stats;
    output::emit(format!(
        "{name}: {} added, {} kept, {} removed{}\naccounts: {} available, {} in use, {} completed, {} failed",
        r.added,
        r.kept,
        r.removed,
        if report.truncated { " (source truncated at the row cap)" } else { "" },
        s.available,
        s.in_use,
        s.completed,
        s.failed
    ));
    Ok(())
}
