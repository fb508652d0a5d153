//! `berth pools`: pool definitions in the pools directory, and what is
//! applied. Argument mapping and output only: every use case is the core's
//! ([`berth_core::definition::catalog`], [`berth_core::scaling`]), as for
//! the desktop app.

use std::path::{Path, PathBuf};

use berth_core::account::source;
use berth_core::actor::Actor;
use berth_core::definition::{self, catalog, AccountSource, Found};
use berth_core::feed::Feed;
use berth_core::scaling;
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
        PoolsCommand::Validate { files } => return validate(ctx, &dir, files).await,
        PoolsCommand::Test { name } => test(ctx, &dir, &name).await,
        PoolsCommand::Apply { name } => apply(ctx, &dir, &name).await,
        PoolsCommand::Refresh { name } => refresh(ctx, &dir, &name).await,
        PoolsCommand::Delete { name } => delete(ctx, &dir, &name).await,
        PoolsCommand::Schema => output::json(&definition::schema()),
    };
    Ok(done?)
}

/// Says so when a scan seeded the directory with the examples (first use).
fn seeded(dir: &Path, files: &[PathBuf]) {
    if !files.is_empty() {
        eprintln!(
            "berth: created {} with {} example definitions",
            dir.display(),
            files.len()
        );
    }
}

/// Runs `f` with the database and a feed whose announcements are sent
/// before the connection closes (so an open app hears of the change).
async fn with_feed<T>(f: impl AsyncFnOnce(&Db, &Feed) -> Result<T>) -> Result<T> {
    with_db(async |db| {
        let feed = Feed::new(uuid::Uuid::new_v4(), true);
        let out = f(db, &feed).await?;
        feed.flush(&db.pool).await?;
        Ok(out)
    })
    .await
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
    let listing = with_db(async |db| catalog::list(&db.pool, dir).await).await?;
    seeded(dir, &listing.seeded);
    let rows: Vec<Row> = listing
        .rows
        .iter()
        .map(|r| Row {
            name: &r.found.definition.name,
            file: &r.found.path,
            meeting_platform: r.found.definition.meeting_platform.as_str(),
            max_size: r.found.definition.max_size,
            prewarm: r.found.definition.prewarm,
            accounts: source_kind(&r.found),
            state: r.state,
            refresh_error: r.refresh_error.as_ref(),
        })
        .collect();
    if ctx.json {
        return output::json(&serde_json::json!({
            "directory": dir,
            "definitions": rows,
            "problems": listing.problems,
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
    for p in &listing.problems {
        output::emit(format!("skipped: {p}"));
    }
    Ok(())
}

async fn show(ctx: Ctx, dir: &Path, name: &str) -> Result<()> {
    let (d, scaling) = with_db(async |db| {
        let d = catalog::detail(&db.pool, dir, name).await?;
        // Only an applied pool has slots to scale.
        let scaling = match &d.applied {
            Some(_) => Some(scaling::view(&db.pool, name).await?),
            None => None,
        };
        Ok((d, scaling))
    })
    .await?;
    let f = &d.found;
    if ctx.json {
        return output::json(&serde_json::json!({
            "file": f.path,
            "hash": f.hash,
            "definition": f.definition,
            "applied": d.applied,
            "state": d.state,
            "scaling": scaling,
        }));
    }
    let mut text = format!(
        "{} ({})\n{}\n{}",
        name,
        f.path.display(),
        d.state,
        f.text.trim_end()
    );
    if let Some(v) = scaling.filter(|v| v.scaled) {
        text.push_str(&scaling_text(&v));
    }
    output::emit(text);
    Ok(())
}

/// The "Scaling" section of `pools show`: the target now with its parts,
/// then the recent decisions, newest first.
fn scaling_text(v: &scaling::ScalingView) -> String {
    let mut out = String::from("\n\nScaling\n");
    if let Some(t) = &v.current {
        out.push_str(&format!(
            "  target {} = min {} + scheduled {} + buffer {} ({:.2}/min over {}s lead), within [{}, {}]; idle {}\n",
            t.target,
            t.min_idle,
            t.scheduled,
            t.buffer,
            v.arrivals_per_minute.unwrap_or(0.0),
            v.lead_time_ms.unwrap_or(0) / 1000,
            t.min_idle,
            t.max_idle,
            v.idle
        ));
    }
    if v.decisions.is_empty() {
        out.push_str("  no decisions yet\n");
    }
    for d in &v.decisions {
        out.push_str(&format!(
            "  {}  {:<4}  {}\n",
            berth_core::timestamp::text(d.at),
            d.action.as_str(),
            d.reason
        ));
    }
    out.trim_end().to_string()
}

/// Checks files; refused (`definition_invalid`) when any has a problem.
/// With `--json` one document either way: `{"checked","problems"}`, with
/// `"error"` beside them when refused.
async fn validate(ctx: Ctx, dir: &Path, files: Vec<PathBuf>) -> Result<(), Failure> {
    let catalog::Checked {
        checked,
        problems,
        seeded: written,
    } = catalog::validate_files(dir, &files).await?;
    seeded(dir, &written);
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
    let explicit = std::env::var("BERTH_QUERY_DATABASE_URL").ok();
    let (d, trial) = with_db(async |db| {
        let d = catalog::detail(&db.pool, dir, name).await?;
        let conn = query_conn(db, &explicit);
        let trial = catalog::trial(&db.pool, conn, dir, &d.found.definition).await?;
        Ok((d, trial))
    })
    .await?;
    let (impact, sql, state) = (trial.impact, trial.sql, d.state);
    let accounts = trial.accounts?;
    let sample = |r: &berth_core::account::query::QueryResult| -> Vec<_> {
        r.rows.iter().take(3).map(source::redacted).collect()
    };
    if ctx.json {
        return output::json(&serde_json::json!({
            "name": name,
            "valid": true,
            "state": state,
            "impact": impact,
            "sql": sql,
            "accounts": accounts.as_ref().map(|r| serde_json::json!({
                "count": r.rows.len(),
                "truncated": r.truncated,
                "sample": sample(r),
            })),
        }));
    }
    let mut text = format!("{name}: valid ({state})\nimpact: {impact}");
    if let Some(q) = &sql {
        text.push_str(&format!("\nsql: {q}"));
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
    let actor = Actor::cli();
    let outcome =
        with_feed(async |db, feed| catalog::apply(&db.pool, feed, &actor, dir, name).await).await?;
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
    let actor = Actor::cli();
    let deleted =
        with_feed(async |db, feed| catalog::delete(&db.pool, feed, &actor, dir, name).await)
            .await?;
    let (path, retired) = (&deleted.path, deleted.retired);
    if ctx.json {
        return output::json(&serde_json::json!({
            "name": name,
            "file": path,
            "retired": retired.existed,
            "slotsToRemove": retired.slots,
        }));
    }
    output::emit(if retired.existed {
        format!(
            "{name}: deleted {}; the pool is retired (no new bots; {} idle slot{} will be removed)",
            path.display(),
            retired.slots,
            if retired.slots == 1 { "" } else { "s" }
        )
    } else {
        format!("{name}: deleted {} (it was never applied)", path.display())
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
    let explicit = std::env::var("BERTH_QUERY_DATABASE_URL").ok();
    let actor = Actor::cli();
    let report = with_feed(async |db, feed| {
        let conn = query_conn(db, &explicit);
        catalog::refresh(&db.pool, feed, conn, &actor, dir, name).await
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
