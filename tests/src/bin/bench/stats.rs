//! The statistics at fleet scale: 100,000 slots in 102 pools on four
//! platforms (35 % idle, 10 % deploying, 50 % busy, 5 % in error), and the
//! reads every face makes of them — `pool::stats` (the desktop's and the
//! API's pool statistics), `slot::counts_per_platform` (the overview) and
//! the whole `berth status` read model (`overview::status`) — against a
//! bare `SELECT status, count(*) FROM pool_slots GROUP BY status` in the
//! same run. Also, for reference, the aggregate over every slot the
//! statistics ran before the counters (`slot::counts::recount`) and the two
//! parts of the status read model that are not slot counts (the queue's
//! release rate counts the releases the acquire→release runs just wrote;
//! capacity in use counts the 60,000 active bots).
//!
//! Rounds are interleaved (each read once per round, in turn) so drift of
//! a shared machine hits every read alike; the medians are compared.

use berth_core::{bot, overview, pool, queue, slot};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::time::{Duration, Instant};

/// Slots created, `PER_POOL` to a pool (a pool numbers its slots up to
/// 999): 102 pools.
pub const SLOTS: i64 = 100_000;
const PER_POOL: i64 = 990;
/// Target: every statistics read within this multiple of the bare GROUP BY.
const TARGET: f64 = 2.0;

/// One read the faces make, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Bare,
    PoolStats,
    PerPlatform,
    Status,
    QueueStats,
    ActiveBots,
    Recount,
}

impl Read {
    const ALL: [Read; 7] = [
        Read::Bare,
        Read::PoolStats,
        Read::PerPlatform,
        Read::Status,
        Read::QueueStats,
        Read::ActiveBots,
        Read::Recount,
    ];

    fn name(self) -> &'static str {
        match self {
            Read::Bare => "bare `GROUP BY status`",
            Read::PoolStats => "pool::stats",
            Read::PerPlatform => "slot::counts_per_platform",
            Read::Status => "overview::status (`berth status`)",
            Read::QueueStats => "… of which queue::stats (releases in the rate window)",
            Read::ActiveBots => "… of which bot::active_per_platform (capacity in use)",
            Read::Recount => "aggregate over every slot (before the counters)",
        }
    }

    /// The slot statistics the target is about (the other rows are
    /// references or parts of the status read model).
    fn is_stat(self) -> bool {
        matches!(self, Read::PoolStats | Read::PerPlatform)
    }

    async fn run(self, db: &PgPool) -> Result<(), String> {
        let e = |e: berth_core::Error| format!("{}: {e}", self.name());
        match self {
            Read::Bare => {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT status, count(*) FROM pool_slots GROUP BY status")
                        .fetch_all(db)
                        .await
                        .map_err(|e| format!("bare GROUP BY: {e}"))?;
                std::hint::black_box(rows);
            }
            Read::PoolStats => {
                std::hint::black_box(pool::stats(db).await.map_err(e)?);
            }
            Read::PerPlatform => {
                std::hint::black_box(slot::counts_per_platform(db).await.map_err(e)?);
            }
            Read::Status => {
                std::hint::black_box(
                    overview::status(db, chrono::Utc::now(), None)
                        .await
                        .map_err(e)?,
                );
            }
            Read::QueueStats => {
                std::hint::black_box(queue::stats(db, chrono::Utc::now()).await.map_err(e)?);
            }
            Read::ActiveBots => {
                std::hint::black_box(bot::active_per_platform(db).await.map_err(e)?);
            }
            Read::Recount => {
                std::hint::black_box(slot::counts::recount(db).await.map_err(e)?);
            }
        }
        Ok(())
    }
}

/// Adds the 100,000 slots (and a bot for each holding one) in a few
/// statements, and checks the counters against a recount.
async fn populate(db: &PgPool) -> Result<(), String> {
    let pools = (SLOTS + PER_POOL - 1) / PER_POOL;
    // Slot g (1..=SLOTS) is in pool 1 + (g-1)/PER_POOL, numbered
    // 1 + (g-1)%PER_POOL; in error when g%20 = 0, else deploying when
    // g%10 = 4, busy when g%10 >= 5, idle otherwise. A held slot's bot is
    // found by its URL (an indexed join would need a column of its own).
    let series = format!(
        "SELECT g, 1 + (g - 1) / {PER_POOL} AS p, 1 + (g - 1) % {PER_POOL} AS n,
                (ARRAY['google-meet','microsoft-teams','zoom'])[1 + ((1 + (g - 1) / {PER_POOL}) % 3)] AS mp,
                (ARRAY['k8s','aws','coolify','local'])[1 + g % 4] AS dp,
                CASE WHEN g % 20 = 0 THEN 'error' WHEN g % 10 = 4 THEN 'deploying'
                     WHEN g % 10 >= 5 THEN 'busy' ELSE 'idle' END AS status
         FROM generate_series(1, {SLOTS}) g"
    );
    let steps: [(&str, String); 8] = [
        (
            "insert pools",
            format!(
                "INSERT INTO pools (name, meeting_platform, image, max_size)
                 SELECT 'stats-' || g, (ARRAY['google-meet','microsoft-teams','zoom'])[1 + g % 3], 'img', 999
                 FROM generate_series(1, {pools}) g"
            ),
        ),
        (
            "insert bots",
            format!(
                "INSERT INTO bots (pool, meeting_platform, meeting_url, status, deployment_platform)
                 SELECT 'stats-' || p, mp, 'https://meet.example/stats-' || g,
                        CASE WHEN status = 'busy' THEN 'IN_CALL' ELSE 'DEPLOYING' END, dp
                 FROM ({series}) x WHERE status IN ('deploying', 'busy')"
            ),
        ),
        ("analyze bots", "ANALYZE bots".to_string()),
        // The counters are filled afterwards as the migration fills them
        // for slots that predate it: the reads are measured here, not the
        // trigger (a third of the set-up time).
        (
            "counters off",
            "ALTER TABLE pool_slots DISABLE TRIGGER pool_slot_counts_insert_delete".to_string(),
        ),
        (
            "insert slots",
            format!(
                "INSERT INTO pool_slots (pool, meeting_platform, deployment_platform, slot_name, slot_number,
                                         status, assigned_bot_id, epoch, error_message, last_used_at)
                 SELECT 'stats-' || x.p, x.mp, x.dp, 'pool-stats-' || x.p || '-' || x.n, x.n, x.status, b.id,
                        CASE WHEN b.id IS NULL THEN 0 ELSE 1 END,
                        CASE WHEN x.status = 'error' THEN 'bench' END, now() - make_interval(secs => x.g)
                 FROM ({series}) x
                 LEFT JOIN bots b ON b.meeting_url = 'https://meet.example/stats-' || x.g"
            ),
        ),
        (
            "counters on",
            "ALTER TABLE pool_slots ENABLE TRIGGER pool_slot_counts_insert_delete".to_string(),
        ),
        (
            "fill counters",
            "INSERT INTO pool_slot_counts (pool, deployment_platform, backend, idle, deploying, busy, error)
             SELECT pool, deployment_platform, 0,
                    count(*) FILTER (WHERE status = 'idle'), count(*) FILTER (WHERE status = 'deploying'),
                    count(*) FILTER (WHERE status = 'busy'), count(*) FILTER (WHERE status = 'error')
             FROM pool_slots WHERE pool LIKE 'stats-%' GROUP BY pool, deployment_platform"
                .to_string(),
        ),
        ("vacuum", "VACUUM (ANALYZE) pool_slots, bots".to_string()),
    ];
    for (what, sql) in steps {
        let t = Instant::now();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(db)
            .await
            .map_err(|e| format!("stats bench: {what}: {e}"))?;
        eprintln!(
            "  stats set-up · {what}: {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE pool LIKE 'stats-%'")
        .fetch_one(db)
        .await
        .map_err(|e| format!("stats bench: count: {e}"))?;
    if n != SLOTS {
        return Err(format!("stats bench: {n} slots created, expected {SLOTS}"));
    }
    let e = |e: berth_core::Error| format!("stats bench: counters: {e}");
    if slot::counts::maintained(db).await.map_err(e)?
        != slot::counts::recount(db).await.map_err(e)?
    {
        return Err("stats bench: the slot counters differ from a recount".to_string());
    }
    Ok(())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Creates the slots on the benchmark's database, measures every read
/// `rounds` times (after one unmeasured pass) and prints the table and
/// the target line.
pub async fn run(options: &PgConnectOptions, rounds: usize) -> Result<(), String> {
    // Four connections, as `berth status` has; the reads run one at a time.
    let db = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.clone())
        .await
        .map_err(|e| format!("stats bench: connect: {e}"))?;
    let started = Instant::now();
    populate(&db).await?;
    let populated = started.elapsed();
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); Read::ALL.len()];
    for read in Read::ALL {
        read.run(&db).await?;
    }
    for _ in 0..rounds {
        for (i, read) in Read::ALL.into_iter().enumerate() {
            let t = Instant::now();
            read.run(&db).await?;
            times[i].push(t.elapsed());
        }
    }
    db.close().await;

    let medians: Vec<Duration> = times.iter_mut().map(|t| median(t)).collect();
    let bare = medians[0].as_secs_f64();
    println!();
    println!(
        "## Statistics at {SLOTS} slots ({} pools, 4 platforms; created in {:.1} s), median of {rounds} interleaved rounds",
        (SLOTS + PER_POOL - 1) / PER_POOL,
        populated.as_secs_f64()
    );
    println!();
    println!("| read | median ms | ÷ bare GROUP BY |");
    println!("|------|----------:|----------------:|");
    for (read, m) in Read::ALL.iter().zip(&medians) {
        println!(
            "| {} | {:.2} | {:.2} |",
            read.name(),
            m.as_secs_f64() * 1000.0,
            super::ratio(m.as_secs_f64(), bare)
        );
    }
    let ratio_of = |read: Read| {
        let i = Read::ALL.iter().position(|r| *r == read).unwrap_or(0);
        super::ratio(medians[i].as_secs_f64(), bare)
    };
    let worst = Read::ALL
        .iter()
        .filter(|r| r.is_stat())
        .map(|r| ratio_of(*r))
        .fold(0.0, f64::max);
    let status = ratio_of(Read::Status);
    println!();
    println!(
        "Target (slot statistics: pool::stats and slot::counts_per_platform <= {TARGET:.1}× the bare GROUP BY in the same run): \
         worst = {worst:.2}× → {}",
        if worst <= TARGET { "PASS" } else { "WARN" }
    );
    println!(
        "`berth status` as a whole: {status:.2}× → {} (its queue statistics {:.2}× and capacity in use {:.2}× \
         are the queue's and the dispatcher's reads)",
        if status <= TARGET { "PASS" } else { "WARN" },
        ratio_of(Read::QueueStats),
        ratio_of(Read::ActiveBots),
    );
    Ok(())
}
