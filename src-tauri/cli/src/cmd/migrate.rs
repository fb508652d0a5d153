//! `berth migrate`: apply pending migrations and write the environment's
//! configuration, print the schema version.
//!
//! The configuration is read and validated first, so a refused `migrate`
//! (a missing or invalid variable) writes nothing.

use berth_core::config::EnvConfig;
use berth_core::Result;
use berth_core::{db, instance};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::connect::Db;
use crate::output::{self, plural, Ctx};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct Applied {
    version: i64,
    description: String,
    installed_on: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    database: String,
    /// The newest applied migration's version.
    version: Option<i64>,
    description: Option<String>,
    /// Versions applied by this run.
    applied_now: Vec<i64>,
    migrations: Vec<Applied>,
    /// The environment's configuration was written (pinned settings,
    /// default pools, in development mode the simulator's knobs).
    configured: bool,
}

async fn applied(db: &PgPool) -> Result<Vec<Applied>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(db)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(
        "SELECT version, description, installed_on FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(db)
    .await?)
}

/// Runs the command.
pub async fn run(ctx: Ctx) -> Result<()> {
    let config = EnvConfig::from_env(ctx.dev)?;
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let db = Db::open(false).await?;
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
    let before = applied(&db.pool).await?;
    db::migrate(&db.pool).await?;
    instance::prepare(&db.pool, config).await?;
    let after = applied(&db.pool).await?;
    let applied_now = after
        .iter()
        .filter(|m| !before.iter().any(|b| b.version == m.version))
        .map(|m| m.version)
        .collect();
    let last = after.last();
    Ok(Report {
        database: db.location.clone(),
        version: last.map(|m| m.version),
        description: last.map(|m| m.description.clone()),
        applied_now,
        migrations: after,
        configured: true,
    })
}
