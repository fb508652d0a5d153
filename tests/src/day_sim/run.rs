//! One run: a database of its own, an instance of the real engine on it
//! with the simulated platforms and the day's clock, the day, the tally.

use berth_core::clock::Clock;
use berth_core::config::EnvConfig;
use berth_core::meeting::PlatformKind;
use berth_core::platform::Platforms;
use berth_core::Berth;
use chrono::{Duration, Utc};
use sqlx::postgres::PgConnectOptions;
use std::collections::HashMap;
use std::sync::Arc;

use super::clock::DayClock;
use super::day::Day;
use super::dbtime;
use super::metrics::Tally;
use super::platform::{LatentSim, SharedLedger};
use super::policy::Policy;
use super::workload::Workload;
use crate::database::TestDb;

/// The three platforms in priority order, with their bot limits (150 in
/// all; the day's busiest moment needs about 100).
pub const LIMITS: [(PlatformKind, u32); 3] = [
    (PlatformKind::K8s, 60),
    (PlatformKind::Aws, 50),
    (PlatformKind::Coolify, 40),
];

/// The pool's max size: the platforms' limits together.
pub fn max_size() -> u32 {
    LIMITS.iter().map(|l| l.1).sum()
}

/// The instance's environment: the platforms (no platform wait: a full
/// platform is passed over at once), the pool's max size (the sum of the
/// limits), no pre-warming elsewhere, then `policy`'s own.
fn env(policy: &dyn Policy) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("PLATFORM_PRIORITY", "k8s,aws,coolify".to_string()),
        ("POOL_PREWARM_COUNT", "0".into()),
        ("POOL_ZOOM_MAX_SIZE", max_size().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (kind, limit) in LIMITS {
        let prefix = kind.as_str().to_ascii_uppercase();
        env.insert(format!("{prefix}_BOT_LIMIT"), limit.to_string());
        env.insert(format!("{prefix}_QUEUE_TIMEOUT_MS"), "0".into());
    }
    env.extend(policy.env());
    env
}

/// Runs `workload` under `policy` with the latency jitter of `seed`, on a
/// database created for the run (on `DATABASE_URL`'s server) and dropped
/// after it.
pub async fn run(workload: &Workload, policy: &dyn Policy, seed: u64) -> Result<Tally, String> {
    let wall = std::time::Instant::now();
    let db = TestDb::new("daysim").await;
    let out = run_on(&db, workload, policy, seed).await;
    db.drop_db().await;
    let mut tally = out?;
    tally.wall_s = wall.elapsed().as_secs_f64();
    Ok(tally)
}

async fn run_on(
    db: &TestDb,
    workload: &Workload,
    policy: &dyn Policy,
    seed: u64,
) -> Result<Tally, String> {
    let vars = env(policy);
    let config = EnvConfig::parse(&|k| vars.get(k).cloned(), false).map_err(|e| e.to_string())?;
    let clock = DayClock::new(Utc::now());
    berth_core::db::migrate(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    dbtime::install(&db.pool, clock.now()).await?;
    let options: PgConnectOptions = db.url.parse().map_err(|e: sqlx::Error| e.to_string())?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(32)
        .connect_with(dbtime::options(options))
        .await
        .map_err(|e| e.to_string())?;
    let ledger = SharedLedger::default();
    let mut platforms = Platforms::new();
    for (kind, _) in LIMITS {
        platforms.insert(LatentSim::new(
            kind,
            pool.clone(),
            clock.clone(),
            seed,
            ledger.clone(),
        ));
    }
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let berth = Berth::builder(config)
        .pool(pool.clone(), db.url.clone())
        .clock(dyn_clock)
        .feed(false)
        .platforms(platforms)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let router = berth.router().clone();
    policy.prepare(&router).await?;
    let tally = Day::new(workload, clock.clone(), router, ledger, policy)
        .run()
        .await;
    // Whatever still waits on the clock finishes, so nothing is left in
    // flight when the instance and its database go.
    clock.advance_to(clock.now() + Duration::days(1));
    router_idle(&berth).await;
    drop(berth);
    pool.close().await;
    tally
}

async fn router_idle(berth: &Berth) {
    let idle = berth.router().inflight().wait_idle();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), idle).await;
}
