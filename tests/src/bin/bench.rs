//! Acquire→release throughput: berth-core (change feed off and on) against
//! the issue's minimal raw `SKIP LOCKED` table ([`minimal`]) and the same
//! table writing a history row per transition ([`cycle`]); whether slot
//! updates are HOT ([`hot`]); then the statistics ([`stats`]) and the
//! dispatch figures ([`dispatch`]: grants per second against the raw grant
//! cycle, release → `DEPLOYING` latency, an idle instance's transactions).
//!
//! ```text
//! DATABASE_URL=postgres://... cargo run --release -p berth-tests --bin bench -- \
//!     [--quick] [--only slots|dispatch] [--lock-mode skip-locked|blocking] [--rounds N]
//! ```
//!
//! A fresh database `berth_bench_<random>` is created, migrated, given one
//! pool of 100 idle `local` slots, a minimal table of 100 idle rows and one
//! bot per worker, and dropped at the end. For 1, 8, 32 and 64 concurrent
//! workers (each holding its own pooled connection) four configurations run
//! back to back — the minimal table, the minimal table with history,
//! berth-core with the feed off, berth-core with the feed on — for a fixed duration after a
//! warm-up, and the completed cycles per second are compared.
//!
//! Then the statistics at 100,000 slots against a bare `GROUP BY status`
//! in the same database ([`stats`]).
//!
//! Exits non-zero only on errors; a missed target is a warning, since shared
//! machines are noisy.

// A crate root looks for modules beside it, not in src/bin/ (where cargo
// would take them for binaries): these live in `bench/`.
#[path = "bench/args.rs"]
mod args;
#[path = "bench/cycle.rs"]
mod cycle;
#[path = "bench/dispatch.rs"]
mod dispatch;
#[path = "bench/hot.rs"]
mod hot;
#[path = "bench/minimal.rs"]
mod minimal;
#[path = "bench/stats.rs"]
mod stats;

use args::{Args, Lock, Only};
use berth_core::meeting::PlatformKind;
use berth_core::slot::{self, LockMode};
use cycle::{Bench, Measured, Mode, POOL};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

const SLOTS: usize = 100;
/// Slot lifecycles run transition by transition for the HOT figures.
const HOT_LIFECYCLES: usize = 20;
const PRIMING: Duration = Duration::from_millis(500);
const TARGET_WORKERS: usize = 32;
const TARGET_CORE_OVER_MINIMAL: f64 = 0.70;
const TARGET_FEED_COST: f64 = 0.05;
const MODES: [Mode; 4] = [
    Mode::Minimal,
    Mode::MinimalHistory,
    Mode::CoreFeedOff,
    Mode::CoreFeedOn,
];

#[tokio::main]
async fn main() -> ExitCode {
    let args = match args::parse_args() {
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
    let bots = prepare(&setup, max_workers).await?;
    let show = |name: &'static str| {
        let setup = setup.clone();
        async move {
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!("SHOW {name}")))
                .fetch_one(&setup)
                .await
                .map_err(|e| format!("{name}: {e}"))
        }
    };
    let (version, fsync, sync_commit) = (
        show("server_version").await?,
        show("fsync").await?,
        show("synchronous_commit").await?,
    );
    let bench = Bench {
        options,
        bots,
        lock: args.lock,
        duration: args.duration,
    };

    println!(
        "## Berth acquire→release benchmark — lock mode: {} (`{}` in the core and the minimal workloads)",
        args.lock.name(),
        args.lock.clause()
    );
    println!();
    println!(
        "{} s per configuration after a warm-up (and one unmeasured priming pass), {} round(s), interleaved \
         minimal → minimal+history → feed-off → feed-on per worker count; {SLOTS} idle slots (and {SLOTS} minimal rows); \
         PostgreSQL {version} (fsync={fsync}, synchronous_commit={sync_commit}); {} CPU(s)",
        args.duration.as_secs_f64(),
        args.rounds,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    );
    println!();

    // Every cycle of a mode, priming and warm-ups included: two updates each.
    let mut all = [0_u64; 4];
    // The first run of a process is markedly slower (cold server caches and
    // statement plans); prime every path once, unmeasured.
    for (i, mode) in MODES.into_iter().enumerate() {
        vacuum(&setup).await?;
        all[i] += bench
            .run_for(mode, 8.min(max_workers), PRIMING)
            .await?
            .all_cycles;
        check_all_idle(&setup, mode).await?;
    }
    let mut results: Vec<(usize, [Measured; 4])> = args
        .workers
        .iter()
        .map(|w| (*w, [Measured::default(); 4]))
        .collect();
    for round in 0..args.rounds {
        for (workers, totals) in results.iter_mut() {
            // Alternate the order between rounds so slow drift cancels out.
            let mut order = [0, 1, 2, 3];
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                vacuum(&setup).await?;
                let m = bench.run(MODES[i], *workers).await?;
                check_all_idle(&setup, MODES[i]).await?;
                eprintln!(
                    "  round {} · {:>2} workers · {:<14} {:>9.0} cycles/s ({} misses, {} deadlocks{})",
                    round + 1,
                    workers,
                    MODES[i].name(),
                    m.rate(),
                    m.misses,
                    m.deadlocks,
                    if MODES[i] == Mode::CoreFeedOn {
                        format!(", {} notices", m.notices)
                    } else {
                        String::new()
                    }
                );
                all[i] += m.all_cycles;
                totals[i].add(m);
            }
        }
    }
    print_results(&results);
    let core_updates = 2 * (all[2] + all[3]) as i64;
    let slots = hot::updates(&setup, "pool_slots", core_updates).await?;
    let min = hot::updates(&setup, minimal::TABLE, 2 * (all[0] + all[1]) as i64).await?;
    setup.close().await;
    print_hot(slots, all[2] + all[3], min, all[0] + all[1]);
    let lifecycles = &bench.bots[..bench.bots.len().min(HOT_LIFECYCLES)];
    print_transitions(&hot::transitions(&bench.options, POOL, lifecycles).await?);
    stats::run(&bench.options, args.stats_rounds).await
}

/// Migrates, creates the pool's slots, the minimal table and the bots.
async fn prepare(setup: &PgPool, bots: usize) -> Result<Vec<i64>, String> {
    berth_core::db::migrate(setup)
        .await
        .map_err(|e| format!("migrate: {e}"))?;
    sqlx::query("INSERT INTO pools (name, meeting_platform, image, max_size) VALUES ('bench','zoom','img',999)")
        .execute(setup)
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
    minimal::create(setup, SLOTS).await?;
    sqlx::query_scalar(
        "INSERT INTO bots (pool, meeting_platform, meeting_url)
         SELECT 'bench', 'zoom', 'u' FROM generate_series(1, $1::int) RETURNING id",
    )
    .bind(bots as i32)
    .fetch_all(setup)
    .await
    .map_err(|e| format!("insert bots: {e}"))
}

fn print_results(results: &[(usize, [Measured; 4])]) {
    println!("| workers | minimal raw cycles/s | minimal+history | core feed-off | core feed-on | core/minimal | core/(minimal+history) | (minimal+history)/minimal | feed cost (1 - on/off) |");
    println!("|--------:|---------------------:|----------------:|--------------:|-------------:|-------------:|-----------------------:|--------------------------:|-----------------------:|");
    for (workers, [min, hist, off, on]) in results {
        println!(
            "| {workers} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:+.1}% |",
            min.rate(),
            hist.rate(),
            off.rate(),
            on.rate(),
            ratio(on.rate(), min.rate()),
            ratio(on.rate(), hist.rate()),
            ratio(hist.rate(), min.rate()),
            (1.0 - ratio(on.rate(), off.rate())) * 100.0
        );
    }
    println!();
    println!("| workers | WAL bytes/cycle: minimal | minimal+history | core feed-off | core feed-on | core ÷ minimal+history |");
    println!("|--------:|-------------------------:|----------------:|--------------:|-------------:|-----------------------:|");
    for (workers, [min, hist, off, on]) in results {
        println!(
            "| {workers} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} |",
            min.wal_per_cycle(),
            hist.wal_per_cycle(),
            off.wal_per_cycle(),
            on.wal_per_cycle(),
            ratio(off.wal_per_cycle(), hist.wal_per_cycle())
        );
    }
    println!(
        "WAL bytes/cycle = the server's WAL written in the window ÷ its cycles: what one acquire and one release \
         write, steadier than the rates on a shared machine. A core acquire or release is not a HOT update, so it \
         also writes an entry into each `pool_slots` index it qualifies for (the key, the bot or the acquisition \
         order, the name, the pool and number)."
    );
    println!();
    println!("| workers | misses min / +hist / off / on | deadlocks min / +hist / off / on | NOTIFYs received (feed on) | NOTIFYs/s |");
    println!("|--------:|------------------------------:|---------------------------------:|---------------------------:|----------:|");
    for (workers, [min, hist, off, on]) in results {
        println!(
            "| {workers} | {} / {} / {} / {} | {} / {} / {} / {} | {} | {:.1} |",
            min.misses,
            hist.misses,
            off.misses,
            on.misses,
            min.deadlocks,
            hist.deadlocks,
            off.deadlocks,
            on.deadlocks,
            on.notices,
            ratio(on.notices as f64, on.secs)
        );
    }
    println!();
    println!(
        "core/minimal = core feed-on ÷ the minimal table; minimal+history = the minimal table writing one `slot_history` \
         row per transition in the same statement, the floor of any design that records every transition; off/on = core \
         with the feed off/on. A miss is an acquire that returned no slot; a deadlock is an acquire or release PostgreSQL \
         aborted (counted, then retried; only possible without SKIP LOCKED)."
    );
    if let Some((_, [min, _, off, on])) = results.iter().find(|(w, _)| *w == TARGET_WORKERS) {
        let core_over_min = ratio(on.rate(), min.rate());
        let feed_cost = 1.0 - ratio(on.rate(), off.rate());
        let pass = core_over_min >= TARGET_CORE_OVER_MINIMAL && feed_cost <= TARGET_FEED_COST;
        println!();
        println!(
            "Target at {TARGET_WORKERS} workers (core feed-on/minimal >= {TARGET_CORE_OVER_MINIMAL:.2}, feed cost <= {:.0}%): \
             acquire/release core/minimal = {core_over_min:.2}, feed cost = {:+.1}% → {}",
            TARGET_FEED_COST * 100.0,
            feed_cost * 100.0,
            if pass { "PASS" } else { "WARN" }
        );
    }
}

fn print_hot(slots: hot::Updates, slot_cycles: u64, min: hot::Updates, min_cycles: u64) {
    println!();
    println!(
        "| table (every run, priming included) | cycles | n_tup_upd | n_tup_hot_upd | HOT % |"
    );
    println!("|------|-------:|----------:|--------------:|------:|");
    for (table, cycles, u) in [
        ("pool_slots (core)", slot_cycles, slots),
        (
            "bench_minimal_slots (minimal, with and without history)",
            min_cycles,
            min,
        ),
    ] {
        println!(
            "| {table} | {cycles} | {} | {} | {:.1}% |",
            u.updates,
            u.hot,
            u.hot_percent()
        );
    }
}

fn print_transitions(steps: &[hot::Transition]) {
    println!();
    println!(
        "| core transition ({} slots, one by one) | n_tup_upd | n_tup_hot_upd | HOT % |",
        steps.first().map_or(0, |t| t.updates)
    );
    println!("|------|----------:|--------------:|------:|");
    for t in steps {
        let u = hot::Updates {
            updates: t.updates,
            hot: t.hot,
        };
        println!(
            "| {} | {} | {} | {:.0}% |",
            t.name,
            t.updates,
            t.hot,
            u.hot_percent()
        );
    }
    println!();
    println!(
        "An update is HOT when no indexed column (nor a partial index's predicate) changes: acquire and release \
         change the bot (`pool_slots_bot_uidx`) and the acquisition order, as the minimal table's updates change its one index."
    );
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
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "VACUUM (ANALYZE) pool_slots, {}",
        minimal::TABLE
    )))
    .execute(db)
    .await
    .map_err(|e| format!("vacuum: {e}"))?;
    Ok(())
}

/// After a run every worker has released what it held.
async fn check_all_idle(db: &PgPool, mode: Mode) -> Result<(), String> {
    if matches!(mode, Mode::Minimal | Mode::MinimalHistory) {
        return minimal::check_all_idle(db, SLOTS).await;
    }
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
