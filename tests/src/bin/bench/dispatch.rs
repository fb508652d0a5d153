//! The dispatch figures: how fast queued requests get freed capacity, against
//! the raw grant cycle measured in the same run, and what an idle instance
//! with a long queue costs the database.
//!
//! On a scratch database of its own: one pool (`disp`, Zoom) with idle
//! `k8s` slots on the simulator (zero latency, bots run until told), and
//! requests put in the global queue by SQL (as a burst of `create`s would
//! leave them). The workloads, one after the other:
//!
//! - raw grant cycle: one statement takes the queue's head (`SKIP LOCKED`),
//!   an idle slot (`SKIP LOCKED`, LRU) and marks the bot `DEPLOYING`, each in
//!   its own transaction, at 1 and 8 clients until the queue is empty;
//! - core grants: one dispatcher pass over the same queue (deploys launched
//!   in tasks, as a running instance does), grants per second;
//! - release → `DEPLOYING`: a platform at its limit of 50, 1,000 queued; 50
//!   bots end in one commit and the running dispatcher hands their capacity
//!   on; the time from that commit to each grant's commit (seen on the feed);
//! - first grant with a long queue: one bot ends, time to the head's grant;
//! - idle: a full instance (background services on) with the long queue
//!   and nothing changing; `pg_stat_database.xact_commit` over a window.

use berth_core::clock::{Clock, SystemClock};
use berth_core::config::EnvConfig;
use berth_core::dispatch::Dispatcher;
use berth_core::feed::Topic;
use berth_core::meeting::PlatformKind;
use berth_core::platform::sim::{self, SimKnobs, SimPlatform};
use berth_core::platform::Platforms;
use berth_core::slot;
use berth_core::stop::Stopper;
use berth_core::Berth;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POOL: &str = "disp";
const LIMIT: i64 = 50;
const RELEASED: usize = 50;
const POLL: Duration = Duration::from_millis(5);
const ACTIVE: &str = "('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING')";

/// Sizes of one run.
struct Sizes {
    /// Requests granted by the raw cycle and by the core's pass.
    grants: usize,
    /// Queued while 50 are released at once.
    queued: usize,
    /// Rounds of 50 releases.
    rounds: usize,
    /// Queued for the first-grant and idle figures.
    long_queue: usize,
    /// Rounds of one release with the long queue.
    first_rounds: usize,
    /// The idle window (after as long a settling time: an instance's first
    /// rounds of jobs and passes prepare their statements and catch up);
    /// not measured in a quick run, too short to settle.
    idle: Option<Duration>,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                grants: 300,
                queued: 300,
                rounds: 2,
                long_queue: 1_000,
                first_rounds: 2,
                idle: None,
            }
        } else {
            Sizes {
                grants: 900,
                queued: 1_000,
                rounds: 6,
                long_queue: 10_000,
                first_rounds: 5,
                idle: Some(Duration::from_secs(10)),
            }
        }
    }
}

/// What the dispatch workloads measured.
pub struct Figures {
    raw_1: f64,
    raw_8: f64,
    core: f64,
    release: Vec<f64>,
    release_queued: usize,
    release_out_of_order: usize,
    first: Vec<f64>,
    long_queue: usize,
    /// Transactions per second and the window, when measured.
    idle: Option<(f64, f64)>,
}

const TARGET_GRANTS: f64 = 0.5;
const TARGET_P99_MS: f64 = 100.0;
const TARGET_IDLE_TX: f64 = 20.0;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl Figures {
    /// The raw limit a dispatcher is held to: the better of 1 and 8 clients.
    fn raw(&self) -> f64 {
        self.raw_1.max(self.raw_8)
    }

    /// Core grants per second ÷ the raw limit.
    pub fn grant_ratio(&self) -> f64 {
        if self.raw() > 0.0 {
            self.core / self.raw()
        } else {
            0.0
        }
    }

    /// Prints the table and the targets.
    pub fn print(&self) {
        let mut release = self.release.clone();
        release.sort_by(f64::total_cmp);
        let mut first = self.first.clone();
        first.sort_by(f64::total_cmp);
        let (r50, r99) = (percentile(&release, 50.0), percentile(&release, 99.0));
        let f_max = first.last().copied().unwrap_or(f64::NAN);
        println!("## Dispatch");
        println!();
        println!("| what | figure | raw limit / target |");
        println!("|---|---:|---:|");
        println!(
            "| grants/s, one dispatcher pass | {:.0} | raw grant cycle {:.0}/s at 1 client, {:.0}/s at 8 → core/raw = **{:.2}** (target ≥ {TARGET_GRANTS:.2}) |",
            self.core,
            self.raw_1,
            self.raw_8,
            self.grant_ratio()
        );
        println!(
            "| release → DEPLOYING, {RELEASED} freed in one commit, {} queued ({} grants) | p50 {r50:.1} ms, p99 **{r99:.1} ms** | ≤ {TARGET_P99_MS:.0} ms p99; {} granted out of queue order |",
            self.release_queued,
            release.len(),
            self.release_out_of_order
        );
        println!(
            "| first grant after a release, {} queued ({} rounds) | median {:.1} ms, max **{f_max:.1} ms** | ≤ {TARGET_P99_MS:.0} ms |",
            self.long_queue,
            first.len(),
            percentile(&first, 50.0)
        );
        match self.idle {
            Some((tx, secs)) => println!(
                "| idle instance, {} queued, nothing changing ({secs:.0} s) | **{tx:.1} tx/s** | ≤ {TARGET_IDLE_TX:.0} tx/s |",
                self.long_queue
            ),
            None => println!(
                "| idle instance | not measured in a quick run | ≤ {TARGET_IDLE_TX:.0} tx/s |"
            ),
        }
        let idle_tx = self.idle.map(|(tx, _)| tx);
        println!();
        let pass = self.grant_ratio() >= TARGET_GRANTS
            && r99 <= TARGET_P99_MS
            && f_max <= TARGET_P99_MS
            && idle_tx.is_none_or(|tx| tx <= TARGET_IDLE_TX);
        println!(
            "Dispatch targets (grants core/raw ≥ {TARGET_GRANTS:.2}, release p99 and first grant ≤ {TARGET_P99_MS:.0} ms, idle ≤ {TARGET_IDLE_TX:.0} tx/s): \
             core/raw = {:.2}, p99 = {r99:.1} ms, first = {f_max:.1} ms, idle = {} → {}",
            self.grant_ratio(),
            idle_tx.map_or("not measured".to_string(), |tx| format!("{tx:.1} tx/s")),
            if pass { "PASS" } else { "WARN" }
        );
    }
}

fn config() -> Result<EnvConfig, String> {
    let vars: HashMap<&str, String> = [
        ("PLATFORM_PRIORITY", "k8s".to_string()),
        ("K8S_BOT_LIMIT", LIMIT.to_string()),
        ("K8S_QUEUE_TIMEOUT_MS", "0".to_string()),
    ]
    .into_iter()
    .collect();
    // Production mode (its job intervals, as `berth serve` runs), with the
    // simulator as the platform.
    EnvConfig::parse(&|k| vars.get(k).cloned(), false).map_err(|e| format!("config: {e}"))
}

async fn start(db: &PgPool, url: &str, background: bool) -> Result<Berth, String> {
    let clock: Arc<dyn Clock> = SystemClock::new();
    let mut platforms = Platforms::new();
    platforms.insert(Arc::new(SimPlatform::new(
        PlatformKind::K8s,
        db.clone(),
        clock.clone(),
    )));
    Berth::builder(config()?)
        .pool(db.clone(), url.to_string())
        .clock(clock)
        .platforms(platforms)
        .feed(true)
        .background(background)
        .start()
        .await
        .map_err(|e| format!("instance: {e}"))
}

fn e(what: &'static str) -> impl Fn(sqlx::Error) -> String {
    move |err| format!("{what}: {err}")
}

/// Puts `n` requests in the global queue (priorities 100, 110, 120 in turn)
/// in one statement; returns their ids in queue order.
async fn enqueue(db: &PgPool, n: usize, priority: Option<i32>) -> Result<(), String> {
    sqlx::query(
        "WITH b AS (
            INSERT INTO bots (pool, meeting_platform, meeting_url, priority, queue_timeout_ms, deadline)
            SELECT $1, 'zoom', 'https://zoom.us/j/' || i, COALESCE($3, 100 + (i % 3) * 10), 600000, now() + interval '10 minutes'
            FROM generate_series(1, $2) i
            RETURNING id, priority, created_at
         )
         INSERT INTO deployment_queue (bot_id, priority, queued_at, timeout_at, stage)
         SELECT id, priority, created_at, created_at + interval '10 minutes', -1 FROM b",
    )
    .bind(POOL)
    .bind(n as i64)
    .bind(priority)
    .execute(db)
    .await
    .map_err(e("enqueue"))?;
    Ok(())
}

/// The first `n` queued bots in queue order.
async fn head(db: &PgPool, n: usize) -> Result<Vec<i64>, String> {
    sqlx::query_scalar(
        "SELECT bot_id FROM deployment_queue ORDER BY priority, queued_at, id LIMIT $1",
    )
    .bind(n as i64)
    .fetch_all(db)
    .await
    .map_err(e("queue head"))
}

/// Every request ended, the queue emptied, every slot idle again.
async fn reset(db: &PgPool) -> Result<(), String> {
    sqlx::raw_sql(
        "UPDATE bots SET status = 'DONE', ended_at = now() WHERE status NOT IN ('DONE', 'FATAL');
         DELETE FROM deployment_queue;
         UPDATE pool_slots SET status = 'idle', assigned_bot_id = NULL, error_message = NULL WHERE status <> 'idle';
         UPDATE sim_workloads SET state = 'created', bot_id = NULL, epoch = NULL, started_at = NULL, run_until = NULL;",
    )
    .execute(db)
    .await
    .map_err(e("reset"))?;
    vacuum(db).await
}

/// Clears the dead rows the previous workload left (each `VACUUM` in its own
/// transaction, as it must be).
async fn vacuum(db: &PgPool) -> Result<(), String> {
    for table in ["bots", "deployment_queue", "pool_slots"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {table}")))
            .execute(db)
            .await
            .map_err(e("vacuum"))?;
    }
    Ok(())
}

async fn set_limit(db: &PgPool, limit: i64) -> Result<(), String> {
    sqlx::query("UPDATE platform_settings SET bot_limit = $1 WHERE platform = 'k8s'")
        .bind(limit as i32)
        .execute(db)
        .await
        .map_err(e("limit"))?;
    Ok(())
}

/// The raw grant cycle over the whole queue at `clients`; grants per second.
async fn raw_grants(db: &PgPool, clients: usize) -> Result<f64, String> {
    const GRANT: &str = "WITH q AS (
            DELETE FROM deployment_queue WHERE id = (
                SELECT id FROM deployment_queue ORDER BY priority, queued_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING bot_id
         ), s AS (
            UPDATE pool_slots s SET status = 'deploying', assigned_bot_id = q.bot_id, epoch = s.epoch + 1,
                last_used_at = now(), status_changed_at = now()
            FROM q, (SELECT id FROM pool_slots
                     WHERE pool = $1 AND deployment_platform = 'k8s' AND status = 'idle' AND assigned_bot_id IS NULL AND error_message IS NULL AND NOT draining
                     ORDER BY last_used_at ASC NULLS LAST, id LIMIT 1 FOR UPDATE SKIP LOCKED) c
            WHERE s.id = c.id
            RETURNING q.bot_id
         )
         UPDATE bots b SET status = 'DEPLOYING', deployment_platform = 'k8s', updated_at = now()
         FROM s WHERE b.id = s.bot_id RETURNING b.id";
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = db.acquire().await.map_err(e("connect"))?;
            let mut n = 0_u64;
            while sqlx::query_scalar::<_, i64>(GRANT)
                .bind(POOL)
                .fetch_optional(&mut *conn)
                .await
                .map_err(e("raw grant"))?
                .is_some()
            {
                n += 1;
            }
            Ok::<u64, String>(n)
        }));
    }
    let mut granted = 0;
    for t in tasks {
        granted += t.await.map_err(|e| format!("raw client: {e}"))??;
    }
    Ok(granted as f64 / started.elapsed().as_secs_f64())
}

/// Ends `bots` in one commit (their capacity returns) and announces it.
async fn release(berth: &Berth, bots: &[i64]) -> Result<(), String> {
    // What a bot's end and its slot's release leave, done in one commit
    // (nothing left for the leader's sweep or reconciliation to tidy up).
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "UPDATE bots SET status = 'DONE', ended_at = now(), updated_at = now() WHERE id IN ({ids});
         UPDATE pool_slots SET status = 'idle', assigned_bot_id = NULL, error_message = NULL, status_changed_at = now() WHERE assigned_bot_id IN ({ids});
         UPDATE sim_workloads SET state = 'created', bot_id = NULL, epoch = NULL, started_at = NULL, run_until = NULL
         WHERE bot_id IN ({ids});",
        ids = bots.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    )))
    .execute(berth.db())
    .await
    .map_err(e("release"))?;
    berth
        .router()
        .feed()
        .publish(&[Topic::Bots, Topic::Slots, Topic::Queue]);
    Ok(())
}

async fn active(db: &PgPool, n: usize) -> Result<Vec<i64>, String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM bots WHERE status IN {ACTIVE} ORDER BY id LIMIT $1"
    )))
    .bind(n as i64)
    .fetch_all(db)
    .await
    .map_err(e("active"))
}

/// Polls until every bot of `expected` has left the queue;
/// returns the milliseconds from `t0` at which each was seen granted, and
/// how many of `next` (the entries queued after them) were granted too.
async fn granted_times(
    berth: &Berth,
    t0: Instant,
    (expected, next): (&[i64], &[i64]),
) -> Result<(Vec<f64>, usize), String> {
    let mut seen: HashSet<i64> = HashSet::new();
    let mut times = Vec::new();
    let limit = Duration::from_secs(30);
    loop {
        let granted: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM bots WHERE id = ANY($1) AND status <> 'QUEUED'")
                .bind(expected)
                .fetch_all(berth.db())
                .await
                .map_err(e("granted"))?;
        let now = t0.elapsed().as_secs_f64() * 1000.0;
        for id in granted {
            if seen.insert(id) {
                times.push(now);
            }
        }
        if seen.len() == expected.len() {
            break;
        }
        let left = limit.checked_sub(t0.elapsed()).ok_or_else(|| {
            format!(
                "{} of {} not granted within {limit:?}",
                expected.len() - seen.len(),
                expected.len()
            )
        })?;
        // Polled: the feed's announcements are coalesced (40 ms), too
        // coarse for these figures; a 5 ms poll of an indexed lookup is not.
        tokio::time::sleep(left.min(POLL)).await;
    }
    let extra: i64 =
        sqlx::query_scalar("SELECT count(*) FROM bots WHERE id = ANY($1) AND status <> 'QUEUED'")
            .bind(next)
            .fetch_one(berth.db())
            .await
            .map_err(e("out of order"))?;
    Ok((times, extra as usize))
}

async fn xact_commit(db: &PgPool) -> Result<i64, String> {
    sqlx::query_scalar(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(db)
    .await
    .map_err(e("pg_stat_database"))
}

/// Runs every dispatch workload on the scratch database `options` names.
pub async fn run(options: PgConnectOptions, quick: bool) -> Result<Figures, String> {
    let sizes = Sizes::new(quick);
    let url = options.to_url_lossy().to_string();
    let connect = || {
        PgPoolOptions::new()
            .max_connections(24)
            .connect_with(options.clone())
    };
    let db = connect().await.map_err(e("connect"))?;
    let berth = start(&db, &url, false).await?;
    sqlx::query("INSERT INTO pools (name, meeting_platform, image, max_size) VALUES ($1, 'zoom', 'img:1', 999)")
        .bind(POOL)
        .execute(&db)
        .await
        .map_err(e("pool"))?;
    sim::set_knobs(&db, PlatformKind::K8s, &SimKnobs::default())
        .await
        .map_err(|e| format!("knobs: {e}"))?;
    {
        let mut conn = db.acquire().await.map_err(e("connect"))?;
        for _ in 0..sizes.grants.max(RELEASED * (sizes.rounds + 2)) {
            slot::create(&mut conn, POOL, PlatformKind::K8s, None)
                .await
                .map_err(|e| format!("create slot: {e}"))?
                .ok_or("create slot: the pool is full")?;
        }
    }
    let limit_for_all = (sizes.grants as i64) * 10;

    // Raw grant cycle, then the core's pass over the same queue.
    let mut raw = [0.0; 2];
    for (i, clients) in [1, 8].into_iter().enumerate() {
        reset(&db).await?;
        enqueue(&db, sizes.grants, None).await?;
        raw[i] = raw_grants(&db, clients).await?;
        eprintln!(
            "  raw grant cycle, {clients} client(s): {:.0} grants/s",
            raw[i]
        );
    }
    reset(&db).await?;
    enqueue(&db, sizes.grants, None).await?;
    set_limit(&db, limit_for_all).await?;
    let dispatcher = Dispatcher::spawning(berth.router().clone());
    let started = Instant::now();
    let report = dispatcher
        .drain()
        .await
        .map_err(|e| format!("drain: {e}"))?;
    let core = report.deployed as f64 / started.elapsed().as_secs_f64();
    berth.router().inflight().wait_idle().await;
    if report.deployed != sizes.grants {
        return Err(format!(
            "one pass granted {} of {} with room for all",
            report.deployed, sizes.grants
        ));
    }
    eprintln!("  core pass: {core:.0} grants/s");

    // A platform at its limit, then 50 released at once, round after round.
    reset(&db).await?;
    set_limit(&db, LIMIT).await?;
    enqueue(&db, LIMIT as usize, Some(0)).await?;
    Dispatcher::new(berth.router().clone())
        .drain()
        .await
        .map_err(|e| format!("drain: {e}"))?;
    enqueue(&db, sizes.queued, None).await?;
    let (stopper, stop) = Stopper::new();
    let running = tokio::spawn(
        Dispatcher::spawning(berth.router().clone()).run(chrono::Duration::seconds(1), stop),
    );
    let mut release_ms = Vec::new();
    let mut out_of_order = 0;
    for round in 0..sizes.rounds {
        let ending = active(&db, RELEASED).await?;
        let queue = head(&db, 2 * RELEASED).await?;
        let (expected, next) = queue.split_at(RELEASED.min(queue.len()));
        release(&berth, &ending).await?;
        let t0 = Instant::now();
        let (times, extra) = granted_times(&berth, t0, (expected, next)).await?;
        out_of_order += extra;
        eprintln!(
            "  release round {}: last grant after {:.1} ms",
            round + 1,
            times.iter().copied().fold(0.0, f64::max)
        );
        release_ms.extend(times);
        berth.router().inflight().wait_idle().await;
    }

    // The long queue: one release at a time.
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM deployment_queue")
        .fetch_one(&db)
        .await
        .map_err(e("queue length"))?;
    enqueue(&db, sizes.long_queue.saturating_sub(waiting as usize), None).await?;
    vacuum(&db).await?;
    let mut first_ms = Vec::new();
    for _ in 0..sizes.first_rounds {
        let ending = active(&db, 1).await?;
        let expected = head(&db, 1).await?;
        release(&berth, &ending).await?;
        let t0 = Instant::now();
        let (times, _) = granted_times(&berth, t0, (&expected, &[])).await?;
        first_ms.extend(times);
        berth.router().inflight().wait_idle().await;
    }
    stopper.stop();
    let _ = running.await;
    berth
        .shutdown()
        .await
        .map_err(|e| format!("shutdown: {e}"))?;
    // The instance closed the pool it was given.
    let db = connect().await.map_err(e("connect"))?;
    // Nothing running and a limit of 0: nothing can change (running
    // simulated bots send no heartbeats, and the leader would end them).
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "UPDATE bots SET status = 'DONE', ended_at = now() WHERE status IN {ACTIVE};
         UPDATE pool_slots SET status = 'idle', assigned_bot_id = NULL, error_message = NULL WHERE status <> 'idle';
         UPDATE sim_workloads SET state = 'created', bot_id = NULL, epoch = NULL, started_at = NULL, run_until = NULL;"
    )))
    .execute(&db)
    .await
    .map_err(e("settle"))?;
    set_limit(&db, 0).await?;
    // Keep the long queue: nothing can expire within the run.
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM deployment_queue")
        .fetch_one(&db)
        .await
        .map_err(e("queue length"))?;
    enqueue(&db, sizes.long_queue.saturating_sub(waiting as usize), None).await?;

    // An idle instance with the long queue.
    let mut idle = None;
    if let Some(window) = sizes.idle {
        let serve = start(&db, &url, true).await?;
        tokio::time::sleep(window).await;
        let (x0, t0) = (xact_commit(&db).await?, Instant::now());
        tokio::time::sleep(window).await;
        let (x1, t1) = (xact_commit(&db).await?, Instant::now());
        let secs = (t1 - t0).as_secs_f64();
        serve
            .shutdown()
            .await
            .map_err(|e| format!("shutdown: {e}"))?;
        // The measuring reads are the window's only other transactions.
        idle = Some(((x1 - x0 - 1).max(0) as f64 / secs, secs));
    }
    Ok(Figures {
        raw_1: raw[0],
        raw_8: raw[1],
        core,
        release: release_ms,
        release_queued: sizes.queued,
        release_out_of_order: out_of_order,
        first: first_ms,
        long_queue: sizes.long_queue,
        idle,
    })
}
