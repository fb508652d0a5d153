//! `berth demo`: development mode with simulated traffic.
//!
//! Bursts of bot requests (20 s at ~1.5/s) alternate with calm (30 s at
//! ~0.2/s), so slots cycle and a queue forms and drains; one compact
//! status line per second shows it happen.

use berth_core::demo::{Traffic, BURST_RATE, BURST_SECS, CALM_RATE, CALM_SECS};
use berth_core::{bot, pool, settings, Berth, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

use crate::cli::DemoArgs;
use crate::connect::shutdown_signal;
use crate::output::{self, Ctx};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Capacity {
    platform: String,
    used: i64,
    limit: i32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    at: DateTime<Utc>,
    phase: &'static str,
    idle: i64,
    deploying: i64,
    busy: i64,
    error: i64,
    queue: i64,
    platforms: Vec<Capacity>,
    requested: u64,
    failed_requests: u64,
    done: i64,
    fatal: i64,
}

impl Line {
    fn human(&self) -> String {
        let caps: Vec<String> = self
            .platforms
            .iter()
            .map(|c| format!("{} {}/{}", c.platform, c.used, c.limit))
            .collect();
        let failed = if self.failed_requests > 0 {
            format!(" ({} failed)", self.failed_requests)
        } else {
            String::new()
        };
        format!(
            "{} {:<5} | slots idle {:>2} deploying {:>2} busy {:>2} error {:>2} | queue {:>3} | {} | requested {}{failed} done {} fatal {}",
            output::clock(self.at),
            self.phase,
            self.idle,
            self.deploying,
            self.busy,
            self.error,
            self.queue,
            caps.join(" "),
            self.requested,
            self.done,
            self.fatal,
        )
    }
}

async fn snapshot(db: &PgPool, since: DateTime<Utc>) -> Result<Line> {
    let pools = pool::stats(db).await?;
    let queue: i64 = sqlx::query_scalar("SELECT count(*) FROM deployment_queue")
        .fetch_one(db)
        .await?;
    let used: HashMap<String, i64> = bot::active_per_platform(db).await?.into_iter().collect();
    let platforms = settings::load(db)
        .await?
        .routable()
        .map(|p| Capacity {
            platform: p.platform.as_str().to_string(),
            used: used.get(p.platform.as_str()).copied().unwrap_or(0),
            limit: p.bot_limit.unwrap_or(0),
        })
        .collect();
    let (done, fatal): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'DONE'), count(*) FILTER (WHERE status = 'FATAL')
         FROM bots WHERE created_at >= $1",
    )
    .bind(since)
    .fetch_one(db)
    .await?;
    Ok(Line {
        at: Utc::now(),
        phase: "",
        idle: pools.iter().map(|p| p.idle).sum(),
        deploying: pools.iter().map(|p| p.deploying).sum(),
        busy: pools.iter().map(|p| p.busy).sum(),
        error: pools.iter().map(|p| p.error).sum(),
        queue,
        platforms,
        requested: 0,
        failed_requests: 0,
        done,
        fatal,
    })
}

fn banner(berth: &Berth, database: &str) -> String {
    let platforms: Vec<String> = berth
        .config
        .platforms
        .iter()
        .map(|p| format!("{} (limit {})", p.kind, p.bot_limit.value))
        .collect();
    format!(
        "berth demo: instance {} on {database}\n  simulated platforms by priority: {}\n  traffic: {BURST_SECS} s at ~{BURST_RATE} bots/s, then {CALM_SECS} s at ~{CALM_RATE} bots/s, repeating; Ctrl-C stops",
        berth.id,
        platforms.join(", "),
    )
}

/// Runs the command.
pub async fn run(ctx: Ctx, args: DemoArgs) -> Result<()> {
    let builder = Berth::from_env(true)?.background(true);
    let database = builder.location().unwrap_or_default();
    let berth = builder.start().await?;
    let result = drive(ctx, &berth, &database, args).await;
    let stopped = berth.shutdown().await;
    result?;
    stopped
}

async fn drive(ctx: Ctx, berth: &Berth, database: &str, args: DemoArgs) -> Result<()> {
    if ctx.json {
        output::json_line(
            &serde_json::json!({ "event": "started", "instance": berth.id, "database": database }),
        )?;
    } else {
        output::emit(banner(berth, database));
    }
    let started = Instant::now();
    let since = Utc::now();
    let traffic = Traffic::start(berth.router().clone());
    let deadline = args.duration_secs.map(|s| started + Duration::from_secs(s));
    let signal = shutdown_signal();
    tokio::pin!(signal);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let reason = loop {
        tokio::select! {
            s = &mut signal => break s,
            _ = sleep_until(deadline) => break "duration reached",
            _ = tick.tick() => {
                match snapshot(berth.db(), since).await {
                    Ok(mut line) => {
                        line.phase = traffic.phase();
                        line.requested = traffic.requested();
                        line.failed_requests = traffic.failed();
                        let shown = if ctx.json { output::json_line(&line)? } else { output::emit(line.human()) };
                        if !shown {
                            break "output closed";
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "demo: status not read"),
                }
            }
        }
    };
    tracing::info!(reason, "demo stopping");
    traffic.stop().await;
    if ctx.json {
        output::json_line(&serde_json::json!({ "event": "stopped", "reason": reason }))?;
    } else {
        output::emit(format!("berth demo: stopped ({reason})"));
    }
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
