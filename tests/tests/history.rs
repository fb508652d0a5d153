//! The history views: a handwritten hour of slot transitions and bots, and
//! the exact utilisation, queue length, waits and failures per 1-minute
//! bucket that follow from it.

use berth_core::history::{self, rollup, Span};
use berth_tests::insert_pool;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::PgPool;

/// The window's end: the hour is 11:00–12:00.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

/// `hh:mm:ss` on the test's day.
fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, h, m, s).unwrap()
}

async fn slot(db: &PgPool, pool: &str, platform: &str, number: i32) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO pool_slots (pool, meeting_platform, deployment_platform, slot_name, slot_number, status)
         VALUES ($1, 'zoom', $2, $1 || '-' || $2 || '-' || $3, $3, 'idle') RETURNING id",
    )
    .bind(pool)
    .bind(platform)
    .bind(number)
    .fetch_one(db)
    .await
    .unwrap()
}

async fn moved(
    db: &PgPool,
    slot: i64,
    from: &str,
    to: &str,
    bot: Option<i64>,
    when: DateTime<Utc>,
) {
    sqlx::query(
        "INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason, at)
         VALUES ($1, 's', 0, $2, $3, $4, 'test', $5)",
    )
    .bind(slot)
    .bind(from)
    .bind(to)
    .bind(bot)
    .bind(when)
    .execute(db)
    .await
    .unwrap();
}

async fn bot(db: &PgPool, created: DateTime<Utc>, ended: Option<DateTime<Utc>>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO bots (pool, meeting_platform, meeting_url, status, error, created_at, ended_at)
         VALUES ('p', 'zoom', 'https://zoom.us/j/1', CASE WHEN $2::timestamptz IS NULL THEN 'QUEUED' ELSE 'FATAL' END,
                 CASE WHEN $2::timestamptz IS NULL THEN NULL ELSE 'expired' END, $1, $2) RETURNING id",
    )
    .bind(created)
    .bind(ended)
    .fetch_one(db)
    .await
    .unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// Only the listed buckets are non-zero, with those values.
fn assert_series(values: &[f64], expected: &[(usize, f64)], what: &str) {
    for (i, v) in values.iter().enumerate() {
        let want = expected
            .iter()
            .find(|(k, _)| *k == i)
            .map_or(0.0, |(_, v)| *v);
        assert!(
            close(*v, want),
            "{what}: bucket {i} is {v}, expected {want}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn an_hour_of_transitions_becomes_exact_buckets(db: PgPool) {
    insert_pool(&db, "p", "zoom", 10).await;
    insert_pool(&db, "q", "zoom", 10).await;
    let a = slot(&db, "p", "k8s", 1).await;
    let b = slot(&db, "q", "aws", 1).await;
    let c = slot(&db, "p", "aws", 2).await;

    let b1 = bot(&db, at(10, 40, 0), None).await;
    let b2 = bot(&db, at(11, 8, 0), None).await;
    let b3 = bot(&db, at(11, 59, 0), None).await;
    let b4 = bot(&db, at(11, 20, 0), None).await;
    // Waits 11:30–11:31:30 and expires; another waits from before the window until 11:01.
    bot(&db, at(11, 30, 0), Some(at(11, 31, 30))).await;
    bot(&db, at(10, 55, 0), Some(at(11, 1, 0))).await;

    // a (p, k8s): busy since before the window until 11:00:30; then 11:10–11:12.
    moved(&db, a, "deploying", "busy", Some(b1), at(10, 50, 0)).await;
    moved(&db, a, "busy", "idle", None, at(11, 0, 30)).await;
    moved(&db, a, "idle", "deploying", Some(b2), at(11, 10, 0)).await;
    moved(&db, a, "deploying", "busy", Some(b2), at(11, 10, 30)).await;
    moved(&db, a, "busy", "idle", None, at(11, 12, 0)).await;
    // c (p, aws): a deploy at 11:20 that fails after 20 s.
    moved(&db, c, "idle", "deploying", Some(b4), at(11, 20, 0)).await;
    moved(&db, c, "deploying", "error", None, at(11, 20, 20)).await;
    // b (q, aws): deploying from 11:59:15 until now.
    moved(&db, b, "idle", "deploying", Some(b3), at(11, 59, 15)).await;

    let h = history::history(&db, Span::Hour, now()).await.unwrap();
    assert_eq!(h.start, at(11, 0, 0));
    assert_eq!(h.bucket_seconds, 60);

    let keys: Vec<&str> = h.busy_by_platform.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["aws", "k8s"]);
    assert_series(
        &h.busy_by_platform[1].values,
        &[(0, 0.5), (10, 1.0), (11, 1.0)],
        "k8s",
    );
    assert_series(
        &h.busy_by_platform[0].values,
        &[(20, 1.0 / 3.0), (59, 0.75)],
        "aws",
    );
    let pools: Vec<&str> = h.busy_by_pool.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(pools, ["p", "q"]);
    assert_series(
        &h.busy_by_pool[0].values,
        &[(0, 0.5), (10, 1.0), (11, 1.0), (20, 1.0 / 3.0)],
        "pool p",
    );
    assert_series(&h.busy_by_pool[1].values, &[(59, 0.75)], "pool q");

    // b2 waited 11:08–11:10, b3 11:59–11:59:15, b4 not at all, one bot
    // 11:30–11:31:30 (then expired) and one from 10:55 until 11:01.
    assert_series(
        &h.queue_length,
        &[
            (0, 1.0),
            (8, 1.0),
            (9, 1.0),
            (30, 1.0),
            (31, 0.5),
            (59, 0.25),
        ],
        "queue length",
    );
    let waits: Vec<(usize, f64, f64)> = (0..60)
        .filter_map(|i| Some((i, h.wait_p50[i]?, h.wait_p95[i]?)))
        .collect();
    assert_eq!(
        waits,
        [(10, 120.0, 120.0), (20, 0.0, 0.0), (59, 15.0, 15.0)]
    );
    assert_series(&h.deploy_failures, &[(20, 1.0)], "deploy failures");
}

#[sqlx::test(migrations = "../migrations")]
async fn every_span_has_a_value_per_bucket_and_percentiles_split_the_waits(db: PgPool) {
    insert_pool(&db, "p", "zoom", 10).await;
    let s = slot(&db, "p", "k8s", 1).await;
    // Ten bots first deployed in the same 15-minute bucket, having waited
    // 1, 2, …, 10 s.
    let end = at(11, 45, 0);
    for wait in 1..=10 {
        let deployed = end - Duration::seconds(100 - wait);
        let id = bot(&db, deployed - Duration::seconds(wait), None).await;
        moved(&db, s, "idle", "deploying", Some(id), deployed).await;
        moved(
            &db,
            s,
            "deploying",
            "idle",
            None,
            deployed + Duration::milliseconds(10),
        )
        .await;
    }
    for span in [Span::Hour, Span::Day, Span::Week] {
        let h = history::history(&db, span, now()).await.unwrap();
        let n = span.buckets();
        assert_eq!(h.queue_length.len(), n, "{span:?}");
        assert_eq!(h.wait_p50.len(), n);
        assert_eq!(h.deploy_failures.len(), n);
        assert!(h.busy_by_platform.iter().all(|s| s.values.len() == n));
        assert_eq!(
            h.start + Duration::seconds(i64::from(h.bucket_seconds) * n as i64),
            now()
        );
    }
    let day = history::history(&db, Span::Day, now()).await.unwrap();
    // 11:43:21–11:44:30 is in the bucket 11:30–11:45, the 95th of the day.
    let i = 94;
    assert_eq!(day.wait_p50[i], Some(5.5));
    assert!(
        close(day.wait_p95[i].unwrap(), 9.55),
        "{:?}",
        day.wait_p95[i]
    );
    assert_eq!(day.wait_p50.iter().flatten().count(), 1);
}

/// Two days of deploy cycles on four slots up to `now`: one every 4 min 13 s,
/// each bot having waited 0–89 s, one deploy in eleven failing.
async fn seed_cycles(db: &PgPool, slots: &[i64], from: DateTime<Utc>, now: DateTime<Utc>) {
    // One connection: the temporary table is its own.
    let mut conn = db.acquire().await.unwrap();
    sqlx::query(
        "CREATE TEMP TABLE cycles AS
         SELECT g, $1::timestamptz + g * interval '253 seconds' AS deployed, (g * 37) % 90 AS waited,
                g % 11 = 0 AS failed, ($3::bigint[])[1 + g % cardinality($3::bigint[])] AS slot_id, NULL::bigint AS bot_id
           FROM generate_series(0, 100000) g
          WHERE $1::timestamptz + g * interval '253 seconds' + interval '80 seconds' < $2",
    )
    .bind(from)
    .bind(now)
    .bind(slots)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::raw_sql(
        "WITH b AS (
             INSERT INTO bots (pool, meeting_platform, meeting_url, status, created_at)
             SELECT 'p', 'zoom', 'https://zoom.us/j/' || g, 'DONE', deployed - waited * interval '1 second'
               FROM cycles RETURNING id, meeting_url)
         UPDATE cycles SET bot_id = b.id FROM b WHERE b.meeting_url = 'https://zoom.us/j/' || cycles.g;
         INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason, at)
         SELECT slot_id, 's', g, f, t, bot, 'seed', deployed + d * interval '1 second'
           FROM cycles CROSS JOIN LATERAL (VALUES
                ('idle', 'deploying', bot_id, 0),
                ('deploying', CASE WHEN failed THEN 'error' ELSE 'busy' END, bot_id, 20),
                (CASE WHEN failed THEN 'error' ELSE 'busy' END, 'idle', NULL, 80)) v(f, t, bot, d)
          ORDER BY 8;
         DROP TABLE cycles;",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
}

fn assert_same(a: &history::History, b: &history::History, buckets: usize) {
    let same = |x: &[f64], y: &[f64], what: &str| {
        for i in 0..buckets {
            assert!(close(x[i], y[i]), "{what}[{i}]: {} vs {}", x[i], y[i]);
        }
    };
    assert_eq!(a.start, b.start);
    same(&a.queue_length, &b.queue_length, "queue");
    same(&a.deploy_failures, &b.deploy_failures, "failures");
    assert_eq!(a.wait_p50[..buckets], b.wait_p50[..buckets]);
    assert_eq!(a.wait_p95[..buckets], b.wait_p95[..buckets]);
    for (x, y) in [
        (&a.busy_by_platform, &b.busy_by_platform),
        (&a.busy_by_pool, &b.busy_by_pool),
    ] {
        assert_eq!(x.len(), y.len());
        for (s, t) in x.iter().zip(y.iter()) {
            assert_eq!(s.key, t.key);
            same(&s.values, &t.values, &s.key);
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn rolled_up_buckets_answer_as_the_raw_rows_did(db: PgPool) {
    let now = at(12, 7, 30);
    insert_pool(&db, "p", "zoom", 10).await;
    insert_pool(&db, "r", "zoom", 10).await;
    let mut slots = Vec::new();
    for (i, platform) in ["k8s", "aws", "k8s", "coolify"].iter().enumerate() {
        slots.push(slot(&db, "p", platform, i as i32 + 1).await);
    }
    seed_cycles(&db, &slots, now - Duration::days(2), now).await;
    // Pool r's only slot holds a bot from 11:59 until now: the last day
    // bucket (12:00–12:15, 7.5 min elapsed) averages 1 over its elapsed part.
    let r = slot(&db, "r", "aws", 1).await;
    let b = bot(&db, at(11, 58, 0), None).await;
    moved(&db, r, "idle", "deploying", Some(b), at(11, 59, 0)).await;
    sqlx::query(
        "UPDATE pool_slots SET status = 'deploying', assigned_bot_id = $2, status_changed_at = $3 WHERE id = $1",
    )
    .bind(r)
    .bind(b)
    .bind(at(11, 59, 0))
    .execute(&db)
    .await
    .unwrap();

    let raw_day = history::history(&db, Span::Day, now).await.unwrap();
    let raw_week = history::history(&db, Span::Week, now).await.unwrap();
    assert_eq!(raw_day.start, at(12, 15, 0) - Duration::days(1));
    let pool_r = &raw_day.busy_by_pool[1];
    assert_eq!(pool_r.key, "r");
    assert!(close(pool_r.values[95], 1.0), "{}", pool_r.values[95]);
    assert!(
        close(pool_r.values[94], 60.0 / 900.0),
        "{}",
        pool_r.values[94]
    );
    assert!(raw_day.deploy_failures.iter().sum::<f64>() > 5.0);

    // The week rolls up a day per pass; then nothing is due.
    let mut passes = 0;
    while rollup::roll_up(&db, now).await.unwrap() > 0 {
        passes += 1;
        assert!(passes < 20, "the rollup never catches up");
    }
    assert_eq!(passes, 7);
    let until: Vec<DateTime<Utc>> =
        sqlx::query_scalar("SELECT rolled_until FROM history_rollup_progress ORDER BY width_s")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(until, [at(12, 0, 0), at(12, 0, 0)]);
    assert_same(
        &history::history(&db, Span::Day, now).await.unwrap(),
        &raw_day,
        96,
    );
    assert_same(
        &history::history(&db, Span::Week, now).await.unwrap(),
        &raw_week,
        168,
    );

    // The closed buckets come from the rollup: without the raw rows they
    // still answer the same (only the open bucket, computed raw, changes).
    sqlx::query("DELETE FROM slot_history")
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM bots WHERE id <> $1")
        .bind(b)
        .execute(&db)
        .await
        .unwrap();
    let day = history::history(&db, Span::Day, now).await.unwrap();
    assert_same(&day, &raw_day, 95);
    // The open bucket: pool r's slot has made no transition since 12:00, so
    // its current state (deploying since 11:59) held throughout.
    assert!(close(day.busy_by_pool[1].values[95], 1.0));
    assert_eq!(day.busy_by_pool[0].values[95], 0.0);
}

/// Real transitions, written by the router (not fixtures): two bots
/// deployed a moment ago show in the last hour's open bucket.
#[sqlx::test(migrations = "../migrations")]
async fn bots_deployed_by_the_router_show_in_the_last_hour(db: PgPool) {
    use berth_core::clock::Clock;
    let h = berth_tests::harness(
        db.clone(),
        &[("PLATFORM_PRIORITY", "k8s"), ("K8S_BOT_LIMIT", "5")],
        false,
    )
    .await;
    for n in 1..=2 {
        h.router
            .create_bot(&berth_tests::bots::zoom(n))
            .await
            .unwrap();
    }
    let now = h.clock.now() + Duration::seconds(1);
    let hour = history::history(&db, Span::Hour, now).await.unwrap();
    let k8s = hour
        .busy_by_platform
        .iter()
        .find(|s| s.key == "k8s")
        .expect("k8s series");
    let last = *k8s.values.last().unwrap();
    assert!(last > 0.0 && last <= 2.0, "{:?}", &k8s.values[55..]);
}
