//! Acquire→release throughput through berth-core against raw SQL doing the
//! same cycle, with the change feed on and off; then the dispatch figures
//! ([`dispatch`]: grants per second against the raw grant cycle, release →
//! `DEPLOYING` latency, an idle instance's transactions).
//!
//! ```text
//! DATABASE_URL=postgres://... cargo run --release -p berth-tests --bin bench -- \
//!     [--quick] [--only slots|dispatch] [--lock-mode skip-locked|blocking] [--rounds N]
//! ```
//!
//! A fresh database `berth_bench_<random>` is created, migrated, given one
//! pool of 100 idle `local` slots and one bot per worker, and dropped at the
//! end. For 1, 8, 32 and 64 concurrent workers (each holding its own pooled
//! connection) three configurations run back to back — raw SQL, berth-core
//! with the feed off, berth-core with the feed on — for a fixed duration
//! after a warm-up, and the completed cycles per second are compared.
//!
//! Then the statistics at 100,000 slots against a bare `GROUP BY status`
//! in the same database ([`stats`]).
//!
//! Exits non-zero only on errors; a missed target is a warning, since shared
//! machines are noisy.

// Beside this file, not in src/bin/ (where cargo would take it for a binary).
#[path = "bench/stats.rs"]
mod stats;

use berth_core::feed::{ChangeEvent, Feed, Topic};
use berth_core::meeting::PlatformKind;
use berth_core::slot::{self, LockMode};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;
use uuid::Uuid;

// A crate root looks for modules beside it; this one lives in `bench/`.
#[path = "bench/dispatch.rs"]
mod dispatch;

const POOL: &str = "bench";
/// The release reason written to the history.
const REASON: &str = "bench";
const SLOTS: usize = 100;
const WORKER_COUNTS: [usize; 4] = [1, 8, 32, 64];
const MAX_WORKERS: usize = 96;
const WARM_UP: Duration = Duration::from_millis(500);
const PRIMING: Duration = Duration::from_millis(500);
const TARGET_WORKERS: usize = 32;
const TARGET_CORE_OVER_RAW: f64 = 0.70;
const TARGET_FEED_COST: f64 = 0.05;

// The raw baseline: the exact statements of `berth_core::slot` (ACQUIRE and
// `transition_to_idle`), executed directly, with no retry loop and no wrapper.
// The lock clause goes between head and tail, as in the core.
const RAW_ACQUIRE_HEAD: &str = "WITH cand AS (
    SELECT id FROM pool_slots
    WHERE pool = $1 AND deployment_platform = $2 AND status = 'idle' AND NOT draining
    ORDER BY last_used_at ASC NULLS FIRST, id
    LIMIT 1 ";
const RAW_ACQUIRE_TAIL: &str = "), upd AS (
    UPDATE pool_slots s
    SET status = 'deploying', assigned_bot_id = $3, epoch = s.epoch + 1, last_used_at = now(),
        status_changed_at = now(), error_message = NULL, description = $4
    FROM cand WHERE s.id = cand.id
    RETURNING s.id, s.uuid, s.slot_name, s.pool, s.epoch, s.platform_ref
), hist AS (
    INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
    SELECT id, slot_name, epoch, 'idle', 'deploying', $3, 'acquire' FROM upd
)
SELECT id AS slot_id, uuid, slot_name, pool, epoch, platform_ref FROM upd";
const RAW_RELEASE: &str = "WITH old AS (
            SELECT id, status, assigned_bot_id FROM pool_slots
            WHERE id = $1 AND epoch = $2 AND status = ANY($3) FOR UPDATE
         ), upd AS (
            UPDATE pool_slots s SET status = 'idle', assigned_bot_id = NULL, recovery_attempts = 0,
                error_message = NULL, status_changed_at = now(),
                description = CASE WHEN s.last_used_at IS NULL THEN $5::text
                    ELSE $6::text ||
                        to_char(s.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END
            FROM old WHERE s.id = old.id
            RETURNING s.id, s.slot_name, s.epoch, s.pool, old.status AS from_status, old.assigned_bot_id, s.draining
         ), hist AS (
            INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
            SELECT id, slot_name, epoch, from_status, 'idle', assigned_bot_id, $4 FROM upd
         )
         SELECT id AS slot_id, pool, assigned_bot_id AS bot_id, draining FROM upd";
const RELEASE_FROM: &[&str] = &["deploying", "busy"];

type RawLease = (i64, Uuid, String, String, i64, Option<String>);
type RawReleased = (i64, String, Option<i64>, bool);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lock {
    SkipLocked,
    Blocking,
}

impl Lock {
    fn name(self) -> &'static str {
        match self {
            Lock::SkipLocked => "skip-locked",
            Lock::Blocking => "blocking",
        }
    }

    fn clause(self) -> &'static str {
        match self {
            Lock::SkipLocked => "FOR UPDATE SKIP LOCKED",
            Lock::Blocking => "FOR UPDATE",
        }
    }
}

/// Which parts of the benchmark run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Only {
    All,
    Slots,
    Dispatch,
}

struct Args {
    only: Only,
    quick: bool,
    lock: Lock,
    duration: Duration,
    /// Interleaved rounds of the statistics reads ([`stats`]).
    stats_rounds: usize,
    rounds: u32,
    workers: Vec<usize>,
}

const USAGE: &str =
    "usage: bench [--quick] [--lock-mode skip-locked|blocking] [--rounds N] [--workers LIST]
  --quick        measure 1.5 s per configuration instead of 5 s, smaller dispatch workloads, 10 rounds of the statistics (not 50)
  --only PART    slots (acquire→release, then the statistics) or dispatch (default: both)
  --lock-mode    acquisition lock of both the core and the raw SQL (default skip-locked)
  --rounds N     repeat the interleaved runs N times and pool the counts (default 1)
  --workers LIST worker counts to measure, e.g. 1,32 (default 1,8,32,64)
  DATABASE_URL   server to benchmark on; a scratch database is created and dropped";

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        only: Only::All,
        quick: false,
        lock: Lock::SkipLocked,
        duration: Duration::from_secs(5),
        stats_rounds: 50,
        rounds: 1,
        workers: WORKER_COUNTS.to_vec(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--quick" => {
                args.quick = true;
                args.duration = Duration::from_millis(1500);
                args.stats_rounds = 10;
            }
            "--only" => {
                args.only = match value("--only")?.as_str() {
                    "slots" => Only::Slots,
                    "dispatch" => Only::Dispatch,
                    other => return Err(format!("unknown part {other:?}\n{USAGE}")),
                }
            }
            "--lock-mode" => {
                args.lock = match value("--lock-mode")?.as_str() {
                    "skip-locked" => Lock::SkipLocked,
                    "blocking" => Lock::Blocking,
                    other => return Err(format!("unknown lock mode {other:?}\n{USAGE}")),
                }
            }
            "--rounds" => {
                args.rounds = value("--rounds")?
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("--rounds needs a whole number >= 1\n{USAGE}"))?
            }
            "--workers" => {
                args.workers = value("--workers")?
                    .split(',')
                    .map(|w| {
                        w.trim()
                            .parse()
                            .ok()
                            .filter(|n| (1..=MAX_WORKERS).contains(n))
                    })
                    .collect::<Option<Vec<usize>>>()
                    .ok_or_else(|| {
                        format!("--workers needs a list of counts from 1 to {MAX_WORKERS}\n{USAGE}")
                    })?
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Some(args))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Raw,
    CoreFeedOff,
    CoreFeedOn,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Raw => "raw",
            Mode::CoreFeedOff => "core feed-off",
            Mode::CoreFeedOn => "core feed-on",
        }
    }
}

/// What one run measured inside its window.
#[derive(Debug, Default, Clone, Copy)]
struct Measured {
    cycles: u64,
    misses: u64,
    deadlocks: u64,
    secs: f64,
    notices: u64,
}

impl Measured {
    fn add(&mut self, other: Measured) {
        self.cycles += other.cycles;
        self.misses += other.misses;
        self.deadlocks += other.deadlocks;
        self.secs += other.secs;
        self.notices += other.notices;
    }

    fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.cycles as f64 / self.secs
        } else {
            0.0
        }
    }
}

#[derive(Default)]
struct Counters {
    cycles: AtomicU64,
    misses: AtomicU64,
    deadlocks: AtomicU64,
    stop: AtomicBool,
}

/// PostgreSQL's `deadlock_detected`.
const DEADLOCK: &str = "40P01";

fn sqlx_deadlock(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some(DEADLOCK))
}

fn core_deadlock(e: &berth_core::Error) -> bool {
    matches!(e, berth_core::Error::Database(se) if sqlx_deadlock(se))
}

struct Bench {
    options: PgConnectOptions,
    bots: Vec<i64>,
    lock: Lock,
    raw_acquire: Arc<str>,
    duration: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::from(2);
        }
    };
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("bench: DATABASE_URL is not set (e.g. postgres://berth@127.0.0.1:5432/postgres)");
        return ExitCode::from(2);
    };
    let base = match PgConnectOptions::from_str(&url) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: DATABASE_URL is not a valid PostgreSQL URL: {e}");
            return ExitCode::from(2);
        }
    };
    let mut code = ExitCode::SUCCESS;
    if args.only != Only::Dispatch {
        if let Err(e) = scratch(&base, "bench", |o| run(&args, o)).await {
            eprintln!("bench: {e}");
            code = ExitCode::FAILURE;
        }
    }
    if args.only != Only::Slots {
        let quick = args.quick;
        match scratch(&base, "bench_dispatch", |o| dispatch::run(o, quick)).await {
            Ok(figures) => {
                println!();
                figures.print();
            }
            Err(e) => {
                eprintln!("bench: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    code
}

/// Runs `work` on a fresh database `berth_<prefix>_<random>`, dropped
/// afterwards (on Ctrl-C too).
async fn scratch<T, F, Fut>(base: &PgConnectOptions, prefix: &str, work: F) -> Result<T, String>
where
    F: FnOnce(PgConnectOptions) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let name = format!(
        "berth_{prefix}_{}",
        &Uuid::new_v4().simple().to_string()[..12]
    );
    let mut admin = PgConnection::connect_with(base)
        .await
        .map_err(|e| format!("cannot reach the database: {e}"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("cannot create database {name}: {e}"))?;
    // On Ctrl-C the run is abandoned but the scratch database still dropped.
    let outcome = tokio::select! {
        outcome = work(base.clone().database(&name)) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    let _ = admin.close().await;
    let value = outcome.map_err(|e| format!("error: {e}"))?;
    dropped.map_err(|e| format!("could not drop database {name}: {e}"))?;
    Ok(value)
}

async fn run(args: &Args, options: PgConnectOptions) -> Result<(), String> {
    if args.lock == Lock::Blocking {
        berth_core::slot::set_lock_mode(LockMode::Blocking);
    }
    let max_workers = *args.workers.iter().max().unwrap_or(&1);
    let setup = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    berth_core::db::migrate(&setup)
        .await
        .map_err(|e| format!("migrate: {e}"))?;
    sqlx::query("INSERT INTO pools (name, meeting_platform, image, max_size) VALUES ('bench','zoom','img',999)")
        .execute(&setup)
        .await
        .map_err(|e| format!("insert pool: {e}"))?;
    {
        let mut conn = setup.acquire().await.map_err(|e| format!("connect: {e}"))?;
        for _ in 0..SLOTS {
            slot::create(&mut conn, POOL, PlatformKind::Local, None)
                .await
                .map_err(|e| format!("create slot: {e}"))?
                .ok_or("create slot: the pool is full")?;
        }
    }
    let mut bots = Vec::with_capacity(max_workers);
    for _ in 0..max_workers {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO bots (pool, meeting_platform, meeting_url) VALUES ('bench','zoom','u') RETURNING id",
        )
        .fetch_one(&setup)
        .await
        .map_err(|e| format!("insert bot: {e}"))?;
        bots.push(id);
    }
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&setup)
        .await
        .map_err(|e| format!("server version: {e}"))?;
    let fsync: String = sqlx::query_scalar("SHOW fsync")
        .fetch_one(&setup)
        .await
        .map_err(|e| format!("fsync: {e}"))?;
    let sync_commit: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&setup)
        .await
        .map_err(|e| format!("synchronous_commit: {e}"))?;

    let bench = Bench {
        options,
        bots,
        lock: args.lock,
        raw_acquire: format!("{RAW_ACQUIRE_HEAD}{}{RAW_ACQUIRE_TAIL}", args.lock.clause()).into(),
        duration: args.duration,
    };

    println!(
        "## Berth acquire→release benchmark — lock mode: {} (`{}` in core and raw SQL)",
        args.lock.name(),
        args.lock.clause()
    );
    println!();
    println!(
        "{} s per configuration after a {} ms warm-up (and one unmeasured priming pass), {} round(s), interleaved raw → feed-off → feed-on per worker count; \
         {SLOTS} idle slots; PostgreSQL {version} (fsync={fsync}, synchronous_commit={sync_commit}); {} CPU(s)",
        args.duration.as_secs_f64(),
        WARM_UP.as_millis(),
        args.rounds,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    );
    println!();

    let modes = [Mode::Raw, Mode::CoreFeedOff, Mode::CoreFeedOn];
    // The first run of a process is markedly slower (cold server caches and
    // statement plans); prime every path once, unmeasured.
    for mode in modes {
        vacuum(&setup).await?;
        bench.run_for(mode, 8.min(max_workers), PRIMING).await?;
        check_all_idle(&setup).await?;
    }
    let mut results: Vec<(usize, [Measured; 3])> = args
        .workers
        .iter()
        .map(|w| (*w, [Measured::default(); 3]))
        .collect();
    for round in 0..args.rounds {
        for (workers, totals) in results.iter_mut() {
            // Alternate the order between rounds so slow drift cancels out.
            let order: Vec<usize> = if round % 2 == 0 {
                vec![0, 1, 2]
            } else {
                vec![2, 1, 0]
            };
            for i in order {
                vacuum(&setup).await?;
                let m = bench.run(modes[i], *workers).await?;
                check_all_idle(&setup).await?;
                eprintln!(
                    "  round {} · {:>2} workers · {:<13} {:>9.0} cycles/s ({} misses, {} deadlocks{})",
                    round + 1,
                    workers,
                    modes[i].name(),
                    m.rate(),
                    m.misses,
                    m.deadlocks,
                    if modes[i] == Mode::CoreFeedOn {
                        format!(", {} notices", m.notices)
                    } else {
                        String::new()
                    }
                );
                totals[i].add(m);
            }
        }
    }
    setup.close().await;

    println!("| workers | raw cycles/s | core feed-off cycles/s | core feed-on cycles/s | core/raw | feed cost (1 - on/off) |");
    println!("|--------:|-------------:|-----------------------:|----------------------:|---------:|-----------------------:|");
    for (workers, [raw, off, on]) in &results {
        println!(
            "| {workers} | {:.0} | {:.0} | {:.0} | {:.2} | {:+.1}% |",
            raw.rate(),
            off.rate(),
            on.rate(),
            ratio(on.rate(), raw.rate()),
            (1.0 - ratio(on.rate(), off.rate())) * 100.0
        );
    }
    println!();
    println!("| workers | misses raw / off / on | deadlocks raw / off / on | NOTIFYs received (feed on) | NOTIFYs/s |");
    println!("|--------:|----------------------:|-------------------------:|---------------------------:|----------:|");
    for (workers, [raw, off, on]) in &results {
        println!(
            "| {workers} | {} / {} / {} | {} / {} / {} | {} | {:.1} |",
            raw.misses,
            off.misses,
            on.misses,
            raw.deadlocks,
            off.deadlocks,
            on.deadlocks,
            on.notices,
            if on.secs > 0.0 {
                on.notices as f64 / on.secs
            } else {
                0.0
            }
        );
    }
    println!();
    println!(
        "core/raw = core feed-on ÷ raw; off/on = core with the feed off/on. A miss is an acquire that returned no slot; \
         a deadlock is an acquire or release PostgreSQL aborted (counted, then retried; only possible without SKIP LOCKED)."
    );
    if let Some((_, [raw, off, on])) = results.iter().find(|(w, _)| *w == TARGET_WORKERS) {
        let core_over_raw = ratio(on.rate(), raw.rate());
        let feed_cost = 1.0 - ratio(on.rate(), off.rate());
        let pass = core_over_raw >= TARGET_CORE_OVER_RAW && feed_cost <= TARGET_FEED_COST;
        println!();
        println!(
            "Target at {TARGET_WORKERS} workers (core feed-on/raw >= {TARGET_CORE_OVER_RAW:.2}, feed cost <= {:.0}%): \
             core/raw = {core_over_raw:.2}, feed cost = {:+.1}% → {}",
            TARGET_FEED_COST * 100.0,
            feed_cost * 100.0,
            if pass { "PASS" } else { "WARN" }
        );
    }
    stats::run(&bench.options, args.stats_rounds).await
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Clears dead tuples left by the previous run so every run starts alike.
async fn vacuum(db: &PgPool) -> Result<(), String> {
    sqlx::query("VACUUM (ANALYZE) pool_slots")
        .execute(db)
        .await
        .map_err(|e| format!("vacuum: {e}"))?;
    Ok(())
}

/// After a run every worker has released what it held.
async fn check_all_idle(db: &PgPool) -> Result<(), String> {
    let (idle, total): (i64, i64) =
        sqlx::query_as("SELECT count(*) FILTER (WHERE status = 'idle' AND assigned_bot_id IS NULL), count(*) FROM pool_slots")
            .fetch_one(db)
            .await
            .map_err(|e| format!("check: {e}"))?;
    if idle != SLOTS as i64 || total != SLOTS as i64 {
        return Err(format!(
            "after a run {idle} of {total} slots are idle; expected all {SLOTS}"
        ));
    }
    Ok(())
}

impl Bench {
    async fn run(&self, mode: Mode, workers: usize) -> Result<Measured, String> {
        self.run_for(mode, workers, self.duration).await
    }

    async fn run_for(
        &self,
        mode: Mode,
        workers: usize,
        duration: Duration,
    ) -> Result<Measured, String> {
        let db = PgPoolOptions::new()
            .max_connections(workers as u32 + 4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(self.options.clone())
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let origin = Uuid::new_v4();
        let feed = Feed::new(origin, mode == Mode::CoreFeedOn);
        let notices = Arc::new(AtomicU64::new(0));
        let mut background = Vec::new();
        if mode == Mode::CoreFeedOn {
            let mut rx = feed.subscribe();
            let count = notices.clone();
            background.push(tokio::spawn(async move {
                loop {
                    match rx.recv().await {
                        Ok(ChangeEvent::Changed { origin: o, topics })
                            if o == origin && topics.contains(&Topic::Slots) =>
                        {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            }));
            background.extend(feed.spawn(db.clone()));
        }

        let counters = Arc::new(Counters::default());
        let ready = Arc::new(Barrier::new(workers + 1));
        let mut tasks = Vec::with_capacity(workers);
        for bot in self.bots.iter().take(workers) {
            let conn = db.acquire().await.map_err(|e| format!("connect: {e}"))?;
            let worker = Worker {
                mode,
                lock: self.lock,
                bot: *bot,
                feed: feed.clone(),
                raw_acquire: self.raw_acquire.clone(),
                counters: counters.clone(),
                ready: ready.clone(),
            };
            tasks.push(tokio::spawn(worker.run(conn)));
        }
        ready.wait().await;
        tokio::time::sleep(WARM_UP).await;
        let (c0, m0, d0, n0, t0) = (
            counters.cycles.load(Ordering::Relaxed),
            counters.misses.load(Ordering::Relaxed),
            counters.deadlocks.load(Ordering::Relaxed),
            notices.load(Ordering::Relaxed),
            Instant::now(),
        );
        tokio::time::sleep(duration).await;
        let (c1, m1, d1, n1, t1) = (
            counters.cycles.load(Ordering::Relaxed),
            counters.misses.load(Ordering::Relaxed),
            counters.deadlocks.load(Ordering::Relaxed),
            notices.load(Ordering::Relaxed),
            Instant::now(),
        );
        counters.stop.store(true, Ordering::Relaxed);
        let mut first_error = None;
        for t in tasks {
            let outcome = t
                .await
                .map_err(|e| format!("worker panicked: {e}"))
                .and_then(|r| r);
            if let (Err(e), None) = (outcome, &first_error) {
                first_error = Some(e);
            }
        }
        for h in background {
            h.abort();
        }
        db.close().await;
        if let Some(e) = first_error {
            return Err(format!(
                "{} run with {workers} workers ({} lock): {e}",
                mode.name(),
                self.lock.name()
            ));
        }
        Ok(Measured {
            cycles: c1 - c0,
            misses: m1 - m0,
            deadlocks: d1 - d0,
            secs: (t1 - t0).as_secs_f64(),
            notices: n1 - n0,
        })
    }
}

/// One worker: its bot, and what it shares with the run.
struct Worker {
    mode: Mode,
    lock: Lock,
    bot: i64,
    feed: Feed,
    raw_acquire: Arc<str>,
    counters: Arc<Counters>,
    ready: Arc<Barrier>,
}

impl Worker {
    /// Runs cycles on its own connection until the run stops it.
    async fn run(self, mut conn: PoolConnection<Postgres>) -> Result<(), String> {
        let Worker {
            mode,
            lock,
            bot,
            feed,
            raw_acquire,
            counters,
            ready,
        } = self;
        let desc = format!("[DEPLOYING] Bot #{bot} - Starting container...");
        ready.wait().await;
        while !counters.stop.load(Ordering::Relaxed) {
            // Only acquisition can deadlock, and only without SKIP LOCKED: a
            // blocking `FOR UPDATE` keeps the locks of rows that failed its
            // re-check while it waits for the next. The statement is rolled back
            // and nothing is held, so the cycle is counted and tried again.
            let acquired = match mode {
                Mode::Raw => {
                    sqlx::query_as::<_, RawLease>(sqlx::AssertSqlSafe(raw_acquire.clone()))
                        .bind(POOL)
                        .bind(PlatformKind::Local.as_str())
                        .bind(bot)
                        .bind(&desc)
                        .fetch_optional(&mut *conn)
                        .await
                        .map(|lease| lease.map(|(slot_id, _, _, _, epoch, _)| (slot_id, epoch)))
                        .map_err(|e| (sqlx_deadlock(&e), format!("raw acquire: {e}")))
                }
                Mode::CoreFeedOff | Mode::CoreFeedOn => {
                    slot::acquire(&mut conn, POOL, PlatformKind::Local, bot)
                        .await
                        .map(|lease| lease.map(|l| (l.slot_id, l.epoch)))
                        .map_err(|e| {
                            (
                                core_deadlock(&e),
                                format!("slot::acquire [{}]: {e}", e.code()),
                            )
                        })
                }
            };
            let held = match acquired {
                Ok(held) => held,
                Err((true, _)) if lock == Lock::Blocking => {
                    counters.deadlocks.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Err((_, e)) => return Err(e),
            };
            let Some((slot_id, epoch)) = held else {
                counters.misses.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
                continue;
            };
            if mode != Mode::Raw {
                feed.publish(&[Topic::Slots]);
            }
            // A release can be the victim of such a deadlock too (it queues on
            // the row's tuple lock behind a blocked acquirer); it is rolled back,
            // the slot is still ours, so it is tried again.
            let released = loop {
                let outcome = match mode {
                    Mode::Raw => sqlx::query_as::<_, RawReleased>(RAW_RELEASE)
                        .bind(slot_id)
                        .bind(epoch)
                        .bind(RELEASE_FROM)
                        .bind(REASON)
                        .bind(berth_core::description::IDLE_NEVER_USED)
                        .bind(berth_core::description::IDLE_LAST_USED)
                        .fetch_optional(&mut *conn)
                        .await
                        .map(|r| r.map(|(id, _, _, _)| id))
                        .map_err(|e| (sqlx_deadlock(&e), format!("raw release: {e}"))),
                    Mode::CoreFeedOff | Mode::CoreFeedOn => {
                        slot::release(&mut conn, slot_id, epoch, REASON)
                            .await
                            .map(|r| r.map(|r| r.slot_id))
                            .map_err(|e| {
                                (
                                    core_deadlock(&e),
                                    format!("slot::release [{}]: {e}", e.code()),
                                )
                            })
                    }
                };
                match outcome {
                    Ok(released) => break released,
                    Err((true, _)) if lock == Lock::Blocking => {
                        counters.deadlocks.fetch_add(1, Ordering::Relaxed);
                    }
                    Err((_, e)) => return Err(e),
                }
            };
            if mode != Mode::Raw {
                feed.publish(&[Topic::Slots]);
            }
            if released != Some(slot_id) {
                return Err(format!(
                "release of slot #{slot_id} at epoch {epoch} changed nothing: another worker took a held slot"
            ));
            }
            counters.cycles.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}
