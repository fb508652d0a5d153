//! The slot counters the statistics read (`slot::counts`) against a recount
//! of the slots: after a storm of concurrent transitions from many
//! connections (acquire, busy, release, error, reset, delete, create, moves
//! between platforms, rolled-back transactions), with connections closing
//! midway and folds running alongside, every pool/platform/status count
//! equals the recount, and so do the pools' statistics and the per-platform
//! counts built on them.

use berth_core::meeting::PlatformKind::{self, Aws, K8s, Local};
use berth_core::slot::counts::{self, PoolPlatformCounts};
use berth_core::{pool, slot};
use berth_tests::{eventually, insert_bot, insert_pool, slots, wide_pool, Dice};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const POOLS: [&str; 2] = ["alpha", "beta"];
const PLATFORMS: [PlatformKind; 3] = [Local, K8s, Aws];
const TASKS: usize = 8;
const STEPS: usize = 150;
/// A task closes its connection and opens a new one every this many steps,
/// so counter rows of gone connections pile up for the folds.
const RECONNECT_EVERY: usize = 40;

/// What a task holds: a slot under an epoch, deploying, busy or in error.
struct Held {
    slot_id: i64,
    epoch: i64,
    busy: bool,
    error: bool,
}

async fn storm_task(db: PgPool, opts: PgConnectOptions, bot: i64, seed: u64, done: Arc<AtomicU64>) {
    let mut dice = Dice(seed);
    let mut conn = PgConnection::connect_with(&opts).await.unwrap();
    let mut held: Option<Held> = None;
    for step in 0..STEPS {
        if step > 0 && step % RECONNECT_EVERY == 0 {
            conn.close().await.unwrap();
            conn = PgConnection::connect_with(&opts).await.unwrap();
        }
        let pool = POOLS[dice.roll(POOLS.len())];
        let platform = PLATFORMS[dice.roll(PLATFORMS.len())];
        match (held.as_mut(), dice.roll(10)) {
            (None, 0) => {
                // A transaction that acquires and marks in error, then
                // rolls back: it must leave no trace in the counters.
                let mut tx = conn.begin().await.unwrap();
                if let Some(l) = slot::acquire(&mut tx, pool, platform, bot).await.unwrap() {
                    slot::mark_error(&mut tx, l.slot_id, Some(l.epoch), "x", chrono::Utc::now())
                        .await
                        .unwrap();
                }
                tx.rollback().await.unwrap();
            }
            (None, 1) => {
                // Delete an idle slot of this pool and platform, or create one.
                let idle: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT id, epoch FROM pool_slots WHERE pool = $1 AND deployment_platform = $2
                       AND status = 'idle' ORDER BY random() LIMIT 1",
                )
                .bind(pool)
                .bind(platform.as_str())
                .fetch_optional(&mut conn)
                .await
                .unwrap();
                match idle {
                    Some((id, epoch)) if dice.roll(2) == 0 => {
                        slot::delete(&mut conn, id, epoch, "storm").await.unwrap();
                    }
                    _ => {
                        slot::create(&mut conn, pool, platform, None).await.unwrap();
                    }
                }
            }
            (None, 2) => {
                // Move an idle slot to another platform (a change of place,
                // not of status).
                let to = PLATFORMS[dice.roll(PLATFORMS.len())];
                sqlx::query(
                    "UPDATE pool_slots SET deployment_platform = $3
                     WHERE id = (SELECT id FROM pool_slots WHERE pool = $1 AND deployment_platform = $2
                                   AND status = 'idle' LIMIT 1 FOR UPDATE SKIP LOCKED)",
                )
                .bind(pool)
                .bind(platform.as_str())
                .bind(to.as_str())
                .execute(&mut conn)
                .await
                .unwrap();
            }
            (None, _) => {
                if let Some(l) = slot::acquire(&mut conn, pool, platform, bot).await.unwrap() {
                    held = Some(Held {
                        slot_id: l.slot_id,
                        epoch: l.epoch,
                        busy: false,
                        error: false,
                    });
                }
            }
            (Some(h), r) if h.error => {
                if r < 7 {
                    slot::reset(&mut conn, h.slot_id, h.epoch, "storm reset")
                        .await
                        .unwrap()
                        .expect("reset");
                    held = None;
                }
            }
            (Some(h), 0..=3) if !h.busy => {
                assert!(slot::mark_busy(&db, h.slot_id, h.epoch, chrono::Utc::now())
                    .await
                    .unwrap());
                h.busy = true;
            }
            (Some(h), 4) => {
                slot::mark_error(
                    &mut conn,
                    h.slot_id,
                    Some(h.epoch),
                    "storm",
                    chrono::Utc::now(),
                )
                .await
                .unwrap()
                .expect("marked in error");
                h.error = true;
            }
            (Some(h), _) => {
                slot::release(&mut conn, h.slot_id, h.epoch, "storm release")
                    .await
                    .unwrap()
                    .expect("released");
                held = None;
            }
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    conn.close().await.unwrap();
}

/// Per (pool, platform, status): the pools' statistics and the
/// per-platform counts, as the faces read them, against the recount.
async fn assert_reads_match(db: &PgPool, recount: &[PoolPlatformCounts]) {
    let stats = pool::stats(db).await.unwrap();
    for name in POOLS {
        let s = stats.iter().find(|s| s.pool == name).expect("pool listed");
        let mine: Vec<_> = recount.iter().filter(|c| c.pool == name).collect();
        let sum = |f: fn(&PoolPlatformCounts) -> i64| mine.iter().map(|c| f(c)).sum::<i64>();
        assert_eq!(
            (s.total, s.idle, s.deploying, s.busy, s.error),
            (
                sum(PoolPlatformCounts::total),
                sum(|c| c.idle),
                sum(|c| c.deploying),
                sum(|c| c.busy),
                sum(|c| c.error)
            ),
            "pool::stats of {name}"
        );
    }
    let per_platform: Vec<(String, String, i64)> = slot::counts_per_platform(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                c.deployment_platform.to_string(),
                c.status.to_string(),
                c.count,
            )
        })
        .collect();
    let expected: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT deployment_platform, status, count(*) FROM pool_slots
         GROUP BY deployment_platform, status ORDER BY deployment_platform, status",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(per_platform, expected, "slot::counts_per_platform");
    let finest: Vec<(String, String, String, i64)> = slot::counts_per_pool_and_platform(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                c.pool,
                c.deployment_platform.to_string(),
                c.status.to_string(),
                c.count,
            )
        })
        .collect();
    let expected: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT pool, deployment_platform, status, count(*) FROM pool_slots
         GROUP BY pool, deployment_platform, status ORDER BY pool, deployment_platform, status",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(finest, expected, "slot::counts_per_pool_and_platform");
}

#[sqlx::test(migrations = "../migrations")]
async fn counters_equal_a_recount_after_a_concurrent_storm(db: PgPool) {
    for name in POOLS {
        insert_pool(&db, name, "zoom", 500).await;
    }
    let db = wide_pool(&db, (TASKS + 4) as u32).await;
    for name in POOLS {
        for platform in PLATFORMS {
            slots::of(name, platform).create_n(&db, 6).await;
        }
    }
    let opts: PgConnectOptions = (*db.connect_options()).clone();
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Folds run alongside the storm, over rows being written.
    let folder = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            let mut folded = 0;
            let mut passes = 0;
            while !stop.load(Ordering::SeqCst) || passes == 0 {
                folded += counts::fold(&db).await.unwrap();
                passes += 1;
                tokio::task::yield_now().await;
            }
            (passes, folded)
        })
    };
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let bot = insert_bot(&db, POOLS[i % POOLS.len()]).await;
        tasks.push(tokio::spawn(storm_task(
            db.clone(),
            opts.clone(),
            bot,
            0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1),
            done.clone(),
        )));
    }
    for t in tasks {
        t.await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let (passes, folded) = folder.await.unwrap();
    assert_eq!(done.load(Ordering::Relaxed), (TASKS * STEPS) as u64);
    assert!(passes > 1, "folds ran during the storm");

    let recount = counts::recount(&db).await.unwrap();
    // The storm went through every status (its end state depends on how the
    // tasks interleaved: they may all have let go of their slots).
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT to_status FROM slot_history ORDER BY 1")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        statuses,
        ["busy", "deleted", "deploying", "error", "idle"],
        "the storm's transitions"
    );
    assert_eq!(counts::maintained(&db).await.unwrap(), recount);
    assert_reads_match(&db, &recount).await;

    // Folds once every storm connection is gone (the server ends a closed
    // connection's backend shortly after): the same figures, and no row
    // left of a connection that is gone.
    let folded = Arc::new(AtomicU64::new(folded));
    eventually("rows of closed connections folded", Duration::from_secs(10), || {
        let (db, folded) = (db.clone(), folded.clone());
        async move {
            folded.fetch_add(counts::fold(&db).await.unwrap(), Ordering::SeqCst);
            let stale: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pool_slot_counts
                 WHERE backend <> 0 AND backend NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)",
            )
            .fetch_one(&db)
            .await
            .unwrap();
            stale == 0
        }
    })
    .await;
    assert!(folded.load(Ordering::SeqCst) > 0, "some rows were folded");
    assert_eq!(counts::maintained(&db).await.unwrap(), recount);
    assert_reads_match(&db, &recount).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn deleted_truncated_and_renamed_slots_count_where_they_are(db: PgPool) {
    insert_pool(&db, "alpha", "zoom", 10).await;
    let leases = slots::of("alpha", Local).create_n(&db, 3).await;
    let mut conn = db.acquire().await.unwrap();
    for l in &leases {
        assert!(slot::delete(&mut conn, l.slot_id, l.epoch, "gone")
            .await
            .unwrap());
    }
    assert_eq!(counts::maintained(&db).await.unwrap(), vec![]);
    let s = pool::stats(&db).await.unwrap();
    assert_eq!((s[0].pool.as_str(), s[0].total), ("alpha", 0));
    counts::fold(&db).await.unwrap();
    slots::of("alpha", K8s).create_n(&db, 2).await;
    sqlx::query("TRUNCATE pool_slots")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(counts::maintained(&db).await.unwrap(), vec![]);
    slots::of("alpha", Aws).create_n(&db, 1).await;
    let recount = counts::recount(&db).await.unwrap();
    assert_eq!(recount.len(), 1);
    assert_eq!(counts::maintained(&db).await.unwrap(), recount);
    // A renamed pool takes its slots along (ON UPDATE CASCADE): they count
    // under the new name only.
    sqlx::query("UPDATE pools SET name = 'gamma' WHERE name = 'alpha'")
        .execute(&db)
        .await
        .unwrap();
    let recount = counts::recount(&db).await.unwrap();
    assert_eq!(recount[0].pool, "gamma");
    assert_eq!(counts::maintained(&db).await.unwrap(), recount);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_leader_folds_the_counters_of_closed_connections(db: PgPool) {
    insert_pool(&db, "alpha", "zoom", 10).await;
    // Slots made on a connection that then closes: its counter row is left
    // behind for the leader to fold.
    let opts: PgConnectOptions = (*db.connect_options()).clone();
    let mut conn = PgConnection::connect_with(&opts).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    for _ in 0..3 {
        slots::of("alpha", K8s).create_on(&mut conn).await;
    }
    conn.close().await.unwrap();

    let berth = berth_tests::leader(&db, &[], None).await;
    eventually(
        "the leader folded the closed connection's row",
        Duration::from_secs(15),
        || {
            let db = db.clone();
            async move {
                let left: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM pool_slot_counts WHERE backend = $1")
                        .bind(pid)
                        .fetch_one(&db)
                        .await
                        .unwrap();
                left == 0
            }
        },
    )
    .await;
    berth.shutdown().await.unwrap();
    assert_eq!(
        counts::maintained(&db).await.unwrap(),
        counts::recount(&db).await.unwrap()
    );
    assert_eq!(counts::maintained(&db).await.unwrap()[0].idle, 3);
}
