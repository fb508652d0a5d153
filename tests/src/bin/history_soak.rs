//! A simulated week of history against the hot path (issue 15, "history is
//! bounded"): in one fresh database, measures acquire→release cycles per
//! second (the core's `slot::acquire`/`slot::release`, 32 workers on 64
//! slots) and the reads of the statistics (`pool::stats`, the whole
//! `berth status` read model `overview::status`, the newest audit entries)
//! before any history exists, then generates a week of it — by default
//! 400,000 bots spread over 7 days with 5 events each, 3 slot transitions,
//! one account lease and an audit entry every other bot: 3.8 million
//! history rows in the daily partitions the leader would have made — and
//! measures again. Last, the leader's retention job drops the oldest day
//! (`history::partitions::maintain` at a clock 24 days on, retention 30)
//! while the workers run: its time, and the worst cycle during it.
//!
//!     DATABASE_URL=postgres://USER@HOST:PORT/postgres \
//!     cargo run --release -p berth-tests --bin history_soak [-- --bots N] [--secs S] [--workers W]
//!
//! Prints a table; the database is dropped at the end.

use berth_core::history::partitions;
use berth_core::meeting::PlatformKind;
use berth_core::{audit, bot, overview, pool, queue, slot};
use berth_tests::database::TestDb;
use chrono::{DateTime, Duration as Days, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POOL: &str = "soak";
const SLOTS: usize = 64;
const RETENTION_DAYS: u32 = 30;
/// Timed runs per read (the median is shown), after one warm-up.
const READS: usize = 15;

/// A week of history for `$N` bots, one every `7 days / $N`, in time order
/// per table; the bots' own triggers are off while they are inserted (they
/// would stamp each bot's first event with the present).
const SEED: &str = "
ALTER TABLE bots DISABLE TRIGGER USER;
INSERT INTO bots (pool, meeting_platform, meeting_url, status, deployment_platform, created_at, ended_at)
SELECT 'soak', 'zoom', 'https://zoom.us/j/' || c, 'DONE', 'local', t, t + interval '30 minutes'
  FROM (SELECT c, $NOW::timestamptz - interval '7 days' + c * (604800.0 / $N) * interval '1 second' AS t
          FROM generate_series(0, $N - 1) c) s;
ALTER TABLE bots ENABLE TRIGGER USER;
INSERT INTO bot_events (bot_id, at, status, detail)
SELECT b.id, b.created_at + v.d * interval '1 second', v.s, v.detail
  FROM bots b CROSS JOIN LATERAL (VALUES (0, 'QUEUED', NULL), (5, 'DEPLOYING', 'local'),
       (30, 'JOINING_CALL', NULL), (60, 'IN_CALL', NULL), (1800, 'DONE', NULL)) v(d, s, detail)
 WHERE b.pool = 'soak' AND b.meeting_url LIKE 'https://zoom.us/j/%' ORDER BY 2;
INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason, at)
SELECT 1000000 + b.id % 200, 'past-' || b.id % 200, b.id, v.f, v.t, v.bot, 'soak', b.created_at + v.d * interval '1 second'
  FROM bots b CROSS JOIN LATERAL (VALUES ('idle', 'deploying', b.id, 5), ('deploying', 'busy', b.id, 30),
       ('busy', 'idle', NULL::bigint, 1800)) v(f, t, bot, d)
 WHERE b.pool = 'soak' AND b.meeting_url LIKE 'https://zoom.us/j/%' ORDER BY 8;
INSERT INTO bot_account_leases (bot_id, pool, account_key, leased_at)
SELECT id, 'soak', 'account-' || id % 500, created_at + interval '5 seconds'
  FROM bots WHERE pool = 'soak' AND meeting_url LIKE 'https://zoom.us/j/%' ORDER BY 4;
INSERT INTO audit_log (at, actor, action, target_kind, target, reason)
SELECT created_at + interval '1 minute', 'cli', 'bot.cancel', 'bot', id::text, 'soak'
  FROM bots WHERE pool = 'soak' AND meeting_url LIKE 'https://zoom.us/j/%' AND id % 2 = 0 ORDER BY 1;
";

struct Args {
    bots: u32,
    secs: u64,
    workers: usize,
}

fn parse_args() -> Option<Args> {
    let mut a = Args {
        bots: 400_000,
        secs: 10,
        workers: 32,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: u64 = args.next()?.parse().ok()?;
        match flag.as_str() {
            "--bots" if value > 0 => a.bots = value as u32,
            "--secs" if value > 0 => a.secs = value,
            "--workers" if (1..=SLOTS as u64).contains(&value) => a.workers = value as usize,
            _ => return None,
        }
    }
    Some(a)
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(args) = parse_args() else {
        eprintln!("usage: history_soak [--bots N] [--secs S] [--workers W (1-{SLOTS})]");
        return ExitCode::from(2);
    };
    let db = TestDb::new("history_soak").await;
    // A connection per worker, and a few for the reads and the job.
    let pool = PgPoolOptions::new()
        .max_connections(args.workers as u32 + 4)
        .connect(&db.url)
        .await;
    let outcome = match pool {
        Ok(pool) => {
            let outcome = run(&pool, &args).await;
            pool.close().await;
            outcome
        }
        Err(e) => Err(format!("connect: {e}")),
    };
    db.drop_db().await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("history_soak: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What one measurement found.
struct Figures {
    cycles_per_s: f64,
    worst_cycle_ms: f64,
    stats_ms: f64,
    status_ms: f64,
    release_rate_ms: f64,
    active_ms: f64,
    audit_ms: f64,
}

async fn run(db: &PgPool, args: &Args) -> Result<(), String> {
    let e = |what: &'static str| move |e: berth_core::Error| format!("{what}: {e}");
    berth_core::db::migrate(db).await.map_err(e("migrate"))?;
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(db)
        .await
        .map_err(|e| e.to_string())?;
    // The partitions a leader running all week would have made.
    for back in (0..=8).rev() {
        partitions::maintain(db, now - Days::days(back), RETENTION_DAYS)
            .await
            .map_err(e("partitions"))?;
    }
    sqlx::query("INSERT INTO pools (name, meeting_platform, image, max_size) VALUES ($1, 'zoom', 'img', 999)")
        .bind(POOL)
        .execute(db)
        .await
        .map_err(|e| e.to_string())?;
    let mut conn = db.acquire().await.map_err(|e| e.to_string())?;
    for _ in 0..SLOTS {
        slot::create(&mut conn, POOL, PlatformKind::Local, None)
            .await
            .map_err(e("create slot"))?;
    }
    drop(conn);
    let mut bots = Vec::new();
    for _ in 0..args.workers {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO bots (pool, meeting_platform, meeting_url) VALUES ($1, 'zoom', 'worker') RETURNING id",
        )
        .bind(POOL)
        .fetch_one(db)
        .await
        .map_err(|e| e.to_string())?;
        bots.push(id);
    }
    vacuum(db).await?;
    // An unmeasured pass: plans prepared, caches warm.
    cycles(db, &bots, Duration::from_secs(2), None).await?;

    let before = measure(db, &bots, args, now).await?;
    eprintln!("before: {:.0} cycles/s", before.cycles_per_s);

    let seeding = Instant::now();
    let seed = SEED
        .replace("$NOW", &format!("'{}'", now.to_rfc3339()))
        .replace("$N", &args.bots.to_string());
    sqlx::raw_sql(sqlx::AssertSqlSafe(seed))
        .execute(db)
        .await
        .map_err(|e| format!("seed: {e}"))?;
    vacuum(db).await?;
    let seeded = seeding.elapsed();
    let rows = history_rows(db).await?;
    let total: i64 = rows.iter().map(|(_, n)| n).sum();
    eprintln!(
        "seeded {total} history rows in {:.1} s",
        seeded.as_secs_f64()
    );

    let after = measure(db, &bots, args, now).await?;

    // The retention job drops the oldest seeded day (and makes the next day
    // ahead) while the workers run: first the days before it, untimed.
    partitions::maintain(db, now + Days::days(23), RETENTION_DAYS)
        .await
        .map_err(e("partitions"))?;
    let oldest = (now - Days::days(7)).date_naive();
    let day_rows = rows_of_day(db, oldest).await?;
    let worst = Arc::new(AtomicU64::new(0));
    let db2 = db.clone();
    let drop_job = async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t = Instant::now();
        let r = partitions::maintain(&db2, now + Days::days(24), RETENTION_DAYS).await;
        (r, t.elapsed())
    };
    let (during, (dropped, took)) = tokio::join!(
        cycles(db, &bots, Duration::from_secs(3), Some(worst.clone())),
        drop_job
    );
    let during_rate = during?;
    let report = dropped.map_err(e("drop"))?;
    let during_worst = worst.load(Ordering::Relaxed) as f64 / 1000.0;
    if !report.failed.is_empty() || report.dropped.len() != partitions::TABLES.len() {
        return Err(format!(
            "the drop did not drop one day per table: {report:?}"
        ));
    }

    let r = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    println!("## History soak: a simulated week ({total} history rows: {}), {} workers on {SLOTS} slots, {} s per rate", rows.iter().map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", "), args.workers, args.secs);
    println!();
    println!("| what | before (no history) | after a week | after / before |");
    println!("|---|---|---|---|");
    println!(
        "| acquire→release, cycles/s | {:.0} | {:.0} | {:.2} |",
        before.cycles_per_s,
        after.cycles_per_s,
        r(after.cycles_per_s, before.cycles_per_s)
    );
    println!(
        "| worst cycle, ms | {:.1} | {:.1} | — |",
        before.worst_cycle_ms, after.worst_cycle_ms
    );
    for (what, b, a) in [
        (
            "`pool::stats`, ms (median)",
            before.stats_ms,
            after.stats_ms,
        ),
        (
            "`overview::status` (`berth status`), ms",
            before.status_ms,
            after.status_ms,
        ),
        (
            "… of which `queue::release_rate` (reads `slot_history`), ms",
            before.release_rate_ms,
            after.release_rate_ms,
        ),
        (
            "… of which `bot::active_per_platform` (reads `bots`: the week's bots are not history), ms",
            before.active_ms,
            after.active_ms,
        ),
        (
            "`audit::list` newest 100, ms",
            before.audit_ms,
            after.audit_ms,
        ),
    ] {
        println!("| {what} | {b:.2} | {a:.2} | {:.2} |", r(a, b));
    }
    println!();
    println!(
        "Retention: dropping the oldest day ({day_rows} rows in {} partitions: {}) took {:.0} ms \
         (with creating the next day ahead); acquire→release during the 3 s around it: {during_rate:.0} cycles/s, worst cycle {during_worst:.1} ms. \
         Seeding took {:.1} s.",
        report.dropped.len(),
        report.dropped.join(", "),
        took.as_secs_f64() * 1000.0,
        seeded.as_secs_f64()
    );
    Ok(())
}

async fn measure(
    db: &PgPool,
    bots: &[i64],
    args: &Args,
    now: DateTime<Utc>,
) -> Result<Figures, String> {
    let worst = Arc::new(AtomicU64::new(0));
    let rate = cycles(
        db,
        bots,
        Duration::from_secs(args.secs),
        Some(worst.clone()),
    )
    .await?;
    let audit = audit::AuditFilter {
        limit: Some(100),
        ..Default::default()
    };
    Ok(Figures {
        cycles_per_s: rate,
        worst_cycle_ms: worst.load(Ordering::Relaxed) as f64 / 1000.0,
        stats_ms: median(|| async { pool::stats(db).await.map(drop) }).await?,
        status_ms: median(|| async { overview::status(db, now, None).await.map(drop) }).await?,
        release_rate_ms: median(|| async { queue::release_rate(db, now).await.map(drop) }).await?,
        active_ms: median(|| async { bot::active_per_platform(db).await.map(drop) }).await?,
        audit_ms: median(|| async { audit::list(db, &audit).await.map(drop) }).await?,
    })
}

/// Acquire→release cycles per second over `run`, one worker per bot; the
/// slowest cycle (µs) into `worst`.
async fn cycles(
    db: &PgPool,
    bots: &[i64],
    run: Duration,
    worst: Option<Arc<AtomicU64>>,
) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for bot in bots.iter().copied() {
        let mut conn = match db.acquire().await {
            Ok(c) => c,
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                return Err(format!("connect: {e}"));
            }
        };
        let (stop, count, worst) = (stop.clone(), count.clone(), worst.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let lease = slot::acquire(&mut conn, POOL, PlatformKind::Local, bot)
                    .await
                    .map_err(|e| format!("acquire: {e}"))?;
                let Some(lease) = lease else {
                    tokio::task::yield_now().await;
                    continue;
                };
                slot::release(&mut conn, lease.slot_id, lease.epoch, "soak")
                    .await
                    .map_err(|e| format!("release: {e}"))?;
                if let Some(w) = &worst {
                    w.fetch_max(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                }
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), String>(())
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(run).await;
    let (n, secs) = (count.load(Ordering::Relaxed), start.elapsed().as_secs_f64());
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(n as f64 / secs)
}

/// The median of [`READS`] timed runs of `read`, in ms, after a warm-up.
async fn median<F, Fut>(mut read: F) -> Result<f64, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = berth_core::Result<()>>,
{
    read().await.map_err(|e| e.to_string())?;
    let mut times = Vec::with_capacity(READS);
    for _ in 0..READS {
        let t = Instant::now();
        read().await.map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[READS / 2])
}

async fn vacuum(db: &PgPool) -> Result<(), String> {
    for t in ["pool_slots", "bots"]
        .into_iter()
        .chain(partitions::TABLES.iter().map(|t| t.name))
    {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {t}")))
            .execute(db)
            .await
            .map_err(|e| format!("vacuum {t}: {e}"))?;
    }
    Ok(())
}

async fn history_rows(db: &PgPool) -> Result<Vec<(&'static str, i64)>, String> {
    let mut out = Vec::new();
    for t in partitions::TABLES {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {}",
            t.name
        )))
        .fetch_one(db)
        .await
        .map_err(|e| e.to_string())?;
        out.push((t.name, n));
    }
    Ok(out)
}

/// Rows of every history table on `day` (UTC).
async fn rows_of_day(db: &PgPool, day: chrono::NaiveDate) -> Result<i64, String> {
    let mut n = 0;
    for t in partitions::TABLES {
        let name = partitions::partition_name(&t, day);
        n += sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {name}"
        )))
        .fetch_one(db)
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(n)
}
