//! `berth demo`: development mode with simulated traffic.
//!
//! Bursts of bot requests (20 s at ~1.5/s) alternate with calm (30 s at
//! ~0.2/s), so slots cycle and a queue forms and drains; one compact
//! status line per second shows it happen.

use berth_core::demo::{self, Snapshot, Traffic, BURST_RATE, BURST_SECS, CALM_RATE, CALM_SECS};
use berth_core::{Berth, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant;

use crate::cli::DemoArgs;
use crate::connect::shutdown_signal;
use crate::output::{self, Ctx};

/// One status line: the core's snapshot and the traffic's counters.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    at: DateTime<Utc>,
    phase: &'static str,
    #[serde(flatten)]
    snapshot: Snapshot,
    requested: u64,
    failed_requests: u64,
}

impl Line {
    fn human(&self) -> String {
        let n = &self.snapshot;
        let caps: Vec<String> = n
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
            n.idle,
            n.deploying,
            n.busy,
            n.error,
            n.queue,
            caps.join(" "),
            self.requested,
            n.done,
            n.fatal,
        )
    }
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
    // Listening before "started" is printed (see `shutdown_signal`).
    let signal = shutdown_signal();
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
    tokio::pin!(signal);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let reason = loop {
        tokio::select! {
            s = &mut signal => break s,
            _ = sleep_until(deadline) => break "duration reached",
            _ = tick.tick() => {
                let now = Utc::now();
                match demo::snapshot(berth.db(), now, since).await {
                    Ok(snapshot) => {
                        let line = Line {
                            at: now,
                            phase: traffic.phase(),
                            snapshot,
                            requested: traffic.requested(),
                            failed_requests: traffic.failed(),
                        };
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
