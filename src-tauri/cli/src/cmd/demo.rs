//! `berth demo`: development mode with simulated traffic.
//!
//! Bursts of bot requests (20 s at ~1.5/s) alternate with calm (30 s at
//! ~0.2/s), so slots cycle and a queue forms and drains; one compact
//! status line per second shows it happen.

use berth_core::meeting::MeetingPlatform;
use berth_core::router::{NewBot, Router};
use berth_core::{bot, pool, settings, Berth, Options, Result};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cli::DemoArgs;
use crate::connect::{describe, shutdown_signal};
use crate::output::{self, Ctx};

// Tuned so demand outruns the default development capacity (4 + 6 + 8
// slots, bots running 10-18 s) during a burst and the queue drains in the
// calm that follows; a burst at ~2/s repeating every 45 s outgrows it for good.
const BURST_SECS: f64 = 20.0;
const CALM_SECS: f64 = 30.0;
const BURST_RATE: f64 = 1.5;
const CALM_RATE: f64 = 0.2;

/// Where in the traffic cycle `elapsed` falls.
fn phase(elapsed: Duration) -> (&'static str, f64) {
    if elapsed.as_secs_f64() % (BURST_SECS + CALM_SECS) < BURST_SECS {
        ("burst", BURST_RATE)
    } else {
        ("calm", CALM_RATE)
    }
}

#[derive(Default)]
struct Counters {
    requested: AtomicU64,
    failed: AtomicU64,
}

fn request(n: u64) -> NewBot {
    let mut rng = rand::rng();
    let meeting_platform = MeetingPlatform::ALL[rng.random_range(0..MeetingPlatform::ALL.len())];
    let meeting_url = match meeting_platform {
        MeetingPlatform::GoogleMeet => format!("https://meet.google.com/demo-{n:04}"),
        MeetingPlatform::MicrosoftTeams => {
            format!("https://teams.microsoft.com/l/meetup-join/demo-{n:04}")
        }
        MeetingPlatform::Zoom => format!("https://zoom.us/j/9{n:09}"),
    };
    NewBot {
        meeting_platform,
        meeting_url,
        priority: Some(if rng.random_bool(0.2) { 50 } else { 100 }),
        queue_timeout_ms: None,
    }
}

/// Requests bots until told to stop, then waits (a while) for requests in flight.
async fn traffic(
    router: Router,
    started: Instant,
    mut stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
) {
    let mut inflight: JoinSet<bool> = JoinSet::new();
    let mut n = 0_u64;
    loop {
        let (_, rate) = phase(started.elapsed());
        let jitter: f64 = rand::rng().random_range(0.5..1.5);
        let pause = Duration::from_secs_f64(jitter / rate);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => break,
        }
        n += 1;
        let (router, req) = (router.clone(), request(n));
        counters.requested.fetch_add(1, Ordering::Relaxed);
        inflight.spawn(async move {
            match router.create_bot(&req).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "demo: bot request failed");
                    false
                }
            }
        });
        while let Some(done) = inflight.try_join_next() {
            count(&counters, done);
        }
    }
    let drained = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(done) = inflight.join_next().await {
            count(&counters, done);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = inflight.len(),
            "demo: requests still in flight at stop; abandoned"
        );
        inflight.abort_all();
    }
}

fn count(counters: &Counters, done: std::result::Result<bool, tokio::task::JoinError>) {
    if !matches!(done, Ok(true)) {
        counters.failed.fetch_add(1, Ordering::Relaxed);
    }
}

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
    let options = Options::from_env(true, true);
    let database = describe(options.database_url.as_deref(), &options.data_dir);
    let berth = Berth::start(options).await?;
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
    let counters = Arc::new(Counters::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let generator = tokio::spawn(traffic(
        berth.router().clone(),
        started,
        stop_rx,
        counters.clone(),
    ));
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
                        line.phase = phase(started.elapsed()).0;
                        line.requested = counters.requested.load(Ordering::Relaxed);
                        line.failed_requests = counters.failed.load(Ordering::Relaxed);
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
    let _ = stop_tx.send(true);
    let _ = generator.await;
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
