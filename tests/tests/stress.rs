//! 4 processes × 16 workers doing 20,000 acquire/hold/release cycles on 20
//! slots: the slot history must show no overlapping holds, and as many
//! releases as acquisitions.

use berth_core::meeting::PlatformKind;
use berth_tests::insert_pool;
use berth_tests::slots;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use std::process::Command;

const PROCESSES: usize = 4;
const WORKERS: usize = 16;
const CYCLES: i64 = 20_000;
const SLOTS: usize = 20;

#[sqlx::test(migrations = "../migrations")]
async fn four_processes_share_twenty_slots_without_overlapping_holds(db: PgPool) {
    insert_pool(&db, "stress", "zoom", 100).await;
    slots::of("stress", PlatformKind::Local)
        .create_n(&db, SLOTS)
        .await;
    let opts: PgConnectOptions = (*db.connect_options()).clone();
    let url = opts.to_url_lossy().to_string();
    let per_process = CYCLES / PROCESSES as i64;
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_stress"))
                .args([&url, &WORKERS.to_string(), &per_process.to_string()])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("stress process starts")
        })
        .collect();
    let mut acquired = 0_i64;
    for child in children {
        let out = child.wait_with_output().expect("stress process ends");
        assert!(out.status.success(), "a stress process failed: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let n: i64 = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix("acquired="))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected output {text:?}"));
        acquired += n;
    }
    assert_eq!(acquired, CYCLES);

    let (acquires, releases): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE reason = 'acquire'), count(*) FILTER (WHERE reason = 'stress release') FROM slot_history",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        (acquires, releases),
        (CYCLES, CYCLES),
        "acquires = releases = cycles"
    );

    // Per slot, in history order, transitions must alternate
    // acquire(idle→deploying, epoch e) / release(deploying→idle, same e),
    // with e increasing by one per acquisition: any overlap breaks this.
    let broken: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
            SELECT from_status, to_status, epoch, bot_id,
                   lag(to_status) OVER w AS prev_to, lag(epoch) OVER w AS prev_epoch, lag(bot_id) OVER w AS prev_bot
            FROM slot_history WHERE reason <> 'create'
            WINDOW w AS (PARTITION BY slot_id ORDER BY id)
         ) t
         WHERE (to_status = 'deploying' AND (from_status <> 'idle' OR (prev_to IS NOT NULL AND (prev_to <> 'idle' OR epoch <> prev_epoch + 1))))
            OR (to_status = 'idle' AND (prev_to IS DISTINCT FROM 'deploying' OR epoch <> prev_epoch OR bot_id IS DISTINCT FROM prev_bot))",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        broken, 0,
        "overlapping or out-of-order holds found in the slot history"
    );
    // Intervals too: no two holds of one slot overlap in time.
    let overlaps: i64 = sqlx::query_scalar(
        "WITH holds AS (
            SELECT a.slot_id, a.at AS from_t, r.at AS to_t
            FROM slot_history a JOIN slot_history r
              ON r.slot_id = a.slot_id AND r.epoch = a.epoch AND r.reason = 'stress release'
            WHERE a.reason = 'acquire'
         )
         SELECT count(*) FROM holds h1 JOIN holds h2
           ON h1.slot_id = h2.slot_id AND h1.from_t < h2.from_t AND h2.from_t < h1.to_t",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(overlaps, 0, "holds of one slot overlap in time");
    let busy: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE status <> 'idle'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(busy, 0, "every slot is idle at the end");
    // The counters the statistics read, written by 64 connections at once,
    // add up to the slots.
    assert_eq!(
        berth_core::slot::counts::maintained(&db).await.unwrap(),
        berth_core::slot::counts::recount(&db).await.unwrap()
    );
}
