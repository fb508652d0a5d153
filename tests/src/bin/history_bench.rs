//! How long the history views' queries take on a busy day: seeds a fresh
//! database with a day of generated history (by default 100,000
//! `slot_history` rows: 200 slots on three platforms in two pools, each
//! cycling `idle → deploying → busy → idle` with a bot that waited first,
//! about one deploy in twenty failing), then times `history::history` for
//! each span against the physical limit: one raw scan of the same window's
//! rows (`SELECT count(*) … WHERE at >= start`), first from the raw rows
//! alone, then after the leader's rollup job has caught up.
//!
//!     DATABASE_URL=postgres://USER@HOST:PORT/postgres \
//!     cargo run --release -p berth-tests --bin history_bench [-- --rows N] [--days N]
//!
//! `--days 7 --rows 700000` spreads a busy week instead. Prints the median of five runs per query, in milliseconds, and the
//! ratio to the baseline. The database is dropped at the end.

use berth_core::history::{self, rollup, Span};
use berth_tests::database::TestDb;
use chrono::Utc;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `$DAYS` days of history: `rows / 3` deploy cycles spread over them on 200
/// slots; a bot is created 0–90 s before its deploy; one cycle in twenty
/// fails (`deploying → error`, then recovered to idle a minute later).
const SEED: &str = "
INSERT INTO pools (name, meeting_platform, image, max_size)
VALUES ('meet', 'google-meet', 'img:1', 500), ('zoom', 'zoom', 'img:1', 500);
INSERT INTO pool_slots (pool, meeting_platform, deployment_platform, slot_name, slot_number, status)
SELECT CASE WHEN i % 2 = 0 THEN 'meet' ELSE 'zoom' END,
       CASE WHEN i % 2 = 0 THEN 'google-meet' ELSE 'zoom' END,
       (ARRAY['k8s', 'aws', 'coolify'])[1 + i % 3], 'slot-' || i, 1 + i / 2, 'idle'
  FROM generate_series(0, 199) i;
CREATE TEMP TABLE cycles AS
SELECT c, (SELECT min(id) FROM pool_slots) + c % 200 AS slot_id,
       now() - $DAYS * interval '1 day' + (c * ($DAYS * 86400.0 / $CYCLES))::float8 * interval '1 second' AS deployed,
       (c * 7919) % 90 AS waited, c % 20 = 0 AS failed
  FROM generate_series(0, $CYCLES - 1) c;
ALTER TABLE cycles ADD COLUMN bot_id BIGINT;
WITH b AS (
    INSERT INTO bots (pool, meeting_platform, meeting_url, status, error, created_at, ended_at)
    SELECT 'zoom', 'zoom', 'https://zoom.us/j/' || c, CASE WHEN failed THEN 'FATAL' ELSE 'DONE' END,
           CASE WHEN failed THEN 'deploy failed' END,
           deployed - waited * interval '1 second', deployed + interval '5 minutes'
      FROM cycles ORDER BY c
    RETURNING id, meeting_url
)
UPDATE cycles SET bot_id = b.id FROM b WHERE b.meeting_url = 'https://zoom.us/j/' || cycles.c;
INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason, at)
SELECT slot_id, 's', c, f, t, bot, 'seed', deployed + d * interval '1 second'
  FROM cycles CROSS JOIN LATERAL (VALUES
       ('idle', 'deploying', bot_id, 0),
       ('deploying', CASE WHEN failed THEN 'error' ELSE 'busy' END, bot_id, 20),
       (CASE WHEN failed THEN 'error' ELSE 'busy' END, 'idle', NULL, 80)) v(f, t, bot, d)
 ORDER BY 8;
ANALYZE;
";

const BASELINE: &str = "SELECT count(*) FROM slot_history WHERE at >= $1";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let (mut rows, mut days): (u32, u32) = (100_000, 1);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--rows", Some(n)) => rows = n,
            ("--days", Some(n)) if n > 0 => days = n,
            _ => {
                eprintln!("usage: history_bench [--rows N] [--days N]");
                return ExitCode::from(2);
            }
        }
    }
    let db = TestDb::new("history_bench").await;
    if let Err(e) = berth_core::db::migrate(&db.pool).await {
        eprintln!("history_bench: {e}");
        return ExitCode::FAILURE;
    }
    // The day partitions a leader running all along would have made, so
    // the rows land where they would in production (not in DEFAULT).
    for back in (0..=i64::from(days)).rev() {
        let at = Utc::now() - chrono::Duration::days(back);
        if let Err(e) = history::partitions::maintain(&db.pool, at, 3_650).await {
            eprintln!("history_bench: {e}");
            return ExitCode::FAILURE;
        }
    }
    let seed = SEED
        .replace("$CYCLES", &(rows / 3).to_string())
        .replace("$DAYS", &days.to_string());
    let seeded = Instant::now();
    sqlx::raw_sql(sqlx::AssertSqlSafe(seed))
        .execute(&db.pool)
        .await
        .expect("seeded");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM slot_history")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    println!(
        "seeded {count} slot_history rows in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    time_spans(&db.pool, "raw rows").await;
    // What the leader's job does every minute, caught up from nothing.
    let rolling = Instant::now();
    let mut passes = 0;
    while rollup::roll_up(&db.pool, Utc::now())
        .await
        .expect("rolled up")
        > 0
    {
        passes += 1;
    }
    println!(
        "rolled up in {passes} passes, {:.1} s in all",
        rolling.elapsed().as_secs_f64()
    );
    time_spans(&db.pool, "rolled up").await;
    db.drop_db().await;
    ExitCode::SUCCESS
}

/// Times the three spans against the raw scan of the same window.
async fn time_spans(db: &sqlx::PgPool, what: &str) {
    for span in [Span::Hour, Span::Day, Span::Week] {
        let now = Utc::now();
        let baseline = median(|| async {
            sqlx::query_scalar::<_, i64>(BASELINE)
                .bind(now - span.length())
                .fetch_one(db)
                .await
                .unwrap();
        })
        .await;
        let query = median(|| async {
            history::history(db, span, now).await.unwrap();
        })
        .await;
        println!(
            "{span:?} ({what}): history {:.1} ms, raw window scan {:.1} ms, ratio {:.1}",
            ms(query),
            ms(baseline),
            query.as_secs_f64() / baseline.as_secs_f64().max(1e-6),
        );
    }
}

/// The median of five timed runs, after one warm-up.
async fn median<F, Fut>(mut run: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    run().await;
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        run().await;
        times.push(t.elapsed());
    }
    times.sort();
    times[2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
