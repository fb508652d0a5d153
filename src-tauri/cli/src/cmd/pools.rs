//! `berth pools`: pool definitions in the pools directory, and what is applied.

use std::path::{Path, PathBuf};

use berth_core::account::source;
use berth_core::definition::{self, AccountSource, Discovery, Found, Problem};
use berth_core::feed::Feed;
use berth_core::{Error, ErrorCode, Result};
use serde::Serialize;

use crate::cli::{PoolsArgs, PoolsCommand};
use crate::connect::{with_db, Db};
use crate::output::{self, Ctx, Failure};

/// Runs the command.
pub async fn run(ctx: Ctx, args: PoolsArgs) -> Result<(), Failure> {
    let dir = args
        .dir
        .unwrap_or_else(|| definition::pools_dir(|k| std::env::var_os(k)));
    let done = match args.command {
        PoolsCommand::List => list(ctx, &dir).await,
        PoolsCommand::Show { name } => show(ctx, &dir, &name).await,
        PoolsCommand::Validate { files } => return validate(ctx, &dir, files),
        PoolsCommand::Test { name } => test(ctx, &dir, &name).await,
        PoolsCommand::Apply { name } => apply(ctx, &dir, &name).await,
        PoolsCommand::Refresh { name } => refresh(ctx, &dir, &name).await,
        PoolsCommand::Delete { name } => delete(ctx, &dir, &name).await,
        PoolsCommand::Schema => output::json(&definition::schema()),
    };
    Ok(done?)
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
    state: definition::State,
    /// The last automatic account refresh's failure, if it failed.
    refresh_error: Option<&'a source::RefreshFailure>,
}

async fn list(ctx: Ctx, dir: &Path) -> Result<()> {
    let found = scan(dir)?;
    let (applied, failures) = with_db(async |db| {
        Ok((
            definition::applied(&db.pool).await?,
            source::refresh_failures(&db.pool).await?,
        ))
    })
    .await?;
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
            state: definition::State::of(f, &applied),
            refresh_error: failures.get(&f.definition.name),
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
                r.state.to_string(),
                r.file.display().to_string(),
            ]);
        }
        output::emit(t);
    }
    for f in rows.iter().filter_map(|r| r.refresh_error) {
        output::emit(format!(
            "{}: account refresh failed at {}: error[{}]: {}",
            f.pool,
            f.failed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            f.code,
            f.message
        ));
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
    let state = definition::State::of(f, &applied);
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
        state,
        f.text.trim_end()
    ));
    Ok(())
}

/// Checks files; refused (`definition_invalid`) when any has a problem.
/// With `--json` one document either way: `{"checked","problems"}`, with
/// `"error"` beside them when refused.
fn validate(ctx: Ctx, dir: &Path, files: Vec<PathBuf>) -> Result<(), Failure> {
    let (checked, problems): (usize, Vec<Problem>) = if files.is_empty() {
        let found = scan(dir)?;
        (
            found.definitions.len() + found.problems.len(),
            found.problems,
        )
    } else {
        let mut problems = Vec::new();
        for file in &files {
            // Only files of the pools directory, read as a scan reads them.
            match definition::read_file(dir, file) {
                Ok(text) => {
                    if let Err(p) = definition::parse(&text, Some(file)) {
                        problems.extend(p);
                    }
                }
                Err(e) => problems.push(Problem {
                    file: None,
                    line: None,
                    column: None,
                    field: None,
                    message: e.to_string(),
                }),
            }
        }
        (files.len(), problems)
    };
    if problems.is_empty() {
        if ctx.json {
            output::json(&serde_json::json!({ "checked": checked, "problems": problems }))?;
        } else {
            output::emit(format!(
                "{} valid",
                output::plural(checked as i64, "definition")
            ));
        }
        return Ok(());
    }
    if !ctx.json {
        for p in &problems {
            output::emit(p);
        }
    }
    let report = serde_json::json!({ "checked": checked, "problems": problems });
    Err(Failure {
        error: Error::new(
            ErrorCode::DefinitionInvalid,
            format!("{} found", output::plural(problems.len() as i64, "problem")),
        ),
        report: report.as_object().cloned().unwrap_or_default(),
    })
}

async fn test(ctx: Ctx, dir: &Path, name: &str) -> Result<()> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let explicit = std::env::var("BERTH_QUERY_DATABASE_URL").ok();
    let (impact, applied, reading) = with_db(async |db| {
        Ok((
            definition::impact(&db.pool, &f.definition).await?,
            definition::applied(&db.pool).await?,
            source::read_showing_sql(&db.pool, query_conn(db, &explicit), dir, &f.definition).await,
        ))
    })
    .await?;
    let sql = reading.sql;
    let accounts = reading.result?;
    let sample = |r: &berth_core::account::query::QueryResult| -> Vec<_> {
        r.rows.iter().take(3).map(source::redacted).collect()
    };
    let state = definition::State::of(f, &applied);
    if ctx.json {
        return output::json(&serde_json::json!({
            "name": name,
            "valid": true,
            "state": state,
            "impact": impact,
            "sql": sql.as_ref().map(|q| &q.select),
            "accounts": accounts.as_ref().map(|r| serde_json::json!({
                "count": r.rows.len(),
                "truncated": r.truncated,
                "sample": sample(r),
            })),
        }));
    }
    let mut text = format!("{name}: valid ({state})\nimpact: {impact}");
    if let Some(q) = &sql {
        text.push_str(&format!("\nsql: {}", q.select));
    }
    if let Some(r) = &accounts {
        text.push_str(&format!(
            "\naccounts: {}{} match",
            r.rows.len(),
            if r.truncated { "+" } else { "" }
        ));
        for row in sample(r) {
            text.push_str(&format!(
                "\n  {}",
                serde_json::to_string(&row).unwrap_or_default()
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

async fn delete(ctx: Ctx, dir: &Path, name: &str) -> Result<()> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let retired = with_db(async |db| {
        let feed = Feed::new(uuid::Uuid::new_v4(), true);
        let retired = definition::retire(&db.pool, &feed, name).await?;
        feed.flush(&db.pool).await?;
        Ok(retired)
    })
    .await?;
    std::fs::remove_file(&f.path).map_err(|e| {
        Error::new(
            ErrorCode::InvalidInput,
            format!("cannot remove {}: {e}", f.path.display()),
        )
    })?;
    if ctx.json {
        return output::json(&serde_json::json!({
            "name": name,
            "file": f.path,
            "retired": retired.existed,
            "slotsToRemove": retired.slots,
        }));
    }
    output::emit(if retired.existed {
        format!(
            "{name}: deleted {}; the pool is retired (no new bots; {} idle slot{} will be removed)",
            f.path.display(),
            retired.slots,
            if retired.slots == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "{name}: deleted {} (it was never applied)",
            f.path.display()
        )
    });
    Ok(())
}

/// The query role's connection: the CLI's database URL and
/// `BERTH_QUERY_DATABASE_URL` (read by the caller, when set).
fn query_conn<'a>(db: &'a Db, explicit: &'a Option<String>) -> source::QueryConnection<'a> {
    source::QueryConnection {
        main_url: &db.url,
        explicit: explicit.as_deref(),
    }
}

async fn refresh(ctx: Ctx, dir: &Path, name: &str) -> Result<()> {
    let found = scan(dir)?;
    let f = find(&found, dir, name)?;
    let explicit = std::env::var("BERTH_QUERY_DATABASE_URL").ok();
    let report = with_db(async |db| {
        let feed = Feed::new(uuid::Uuid::new_v4(), true);
        let report = source::refresh(
            &db.pool,
            &feed,
            query_conn(db, &explicit),
            dir,
            &f.definition,
        )
        .await?;
        feed.flush(&db.pool).await?;
        Ok(report)
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
