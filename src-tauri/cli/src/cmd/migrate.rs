//! `berth migrate`: apply pending migrations and write the environment's
//! configuration, print the schema version.
//!
//! The configuration is read and validated first, so a refused `migrate`
//! (a missing or invalid variable) writes nothing.

use berth_core::config::EnvConfig;
use berth_core::db::AppliedMigration;
use berth_core::{instance, Result};
use serde::Serialize;

use crate::connect::{self, Db};
use crate::output::{self, plural, Ctx};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    database: String,
    /// The newest applied migration's version.
    version: Option<i64>,
    description: Option<String>,
    /// Versions applied by this run.
    applied_now: Vec<i64>,
    migrations: Vec<AppliedMigration>,
    /// The environment's configuration was written (pinned settings,
    /// default pools, in development mode the simulator's knobs).
    configured: bool,
}

/// Runs the command.
pub async fn run(ctx: Ctx) -> Result<()> {
    let config = EnvConfig::from_env(ctx.dev)?;
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let db = connect::open(false).await?;
    let result = migrate(&db, &config).await;
    let closed = db.close().await;
    let report = result?;
    closed?;
    if ctx.json {
        return output::json(&report);
    }
    output::emit(format!("database: {}", report.database));
    if report.applied_now.is_empty() {
        output::emit("no pending migration");
    } else {
        for m in report
            .migrations
            .iter()
            .filter(|m| report.applied_now.contains(&m.version))
        {
            output::emit(format!("applied {} {}", m.version, m.description));
        }
    }
    match (report.version, &report.description) {
        (Some(v), Some(d)) => output::emit(format!(
            "schema at version {v} ({d}); {} applied",
            plural(report.migrations.len() as i64, "migration")
        )),
        _ => output::emit("schema is empty"),
    };
    output::emit(format!(
        "configuration written from the environment{}",
        if ctx.dev { " (development mode)" } else { "" }
    ));
    Ok(())
}

async fn migrate(db: &Db, config: &EnvConfig) -> Result<Report> {
    let done = instance::migrate(&db.pool, config).await?;
    let last = done.migrations.last();
    Ok(Report {
        database: db.location.clone(),
        version: last.map(|m| m.version),
        description: last.map(|m| m.description.clone()),
        applied_now: done.applied_now,
        migrations: done.migrations,
        configured: true,
    })
}
