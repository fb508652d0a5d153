//! Ended bots past the history retention are deleted (with their events),
//! a batch at a time, by the leader's history job: `bots` is bounded like
//! the history tables. Running bots, bots within the retention and a bot a
//! slot still names are kept.

use berth_core::bot::retention::{prune_ended, PRUNE_BATCH};
use berth_core::meeting::PlatformKind;
use berth_tests::{eventually, insert_pool, slots};
use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::PgPool;

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

/// `n` bots of pool `p` in `status`, created and (unless running) ended at
/// `at`; their ids.
async fn bots(db: &PgPool, n: i64, status: &str, at: DateTime<Utc>) -> Vec<i64> {
    sqlx::query_scalar(
        "INSERT INTO bots (pool, meeting_platform, meeting_url, status, error, created_at, updated_at, ended_at)
         SELECT 'p', 'zoom', 'https://zoom.us/j/' || i, $2, CASE WHEN $2 = 'FATAL' THEN 'lost' END, $3, $3,
                CASE WHEN $2 IN ('DONE', 'FATAL') THEN $3 END
         FROM generate_series(1, $1) i RETURNING id",
    )
    .bind(n)
    .bind(status)
    .bind(at)
    .fetch_all(db)
    .await
    .unwrap()
}

async fn left(db: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM bots ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn ended_bots_past_retention_go_a_batch_at_a_time_with_their_events(db: PgPool) {
    insert_pool(&db, "p", "zoom", 10).await;
    let old = noon() - Duration::days(31);
    let many = PRUNE_BATCH * 2 + 500;
    let gone = bots(&db, many - 1, "DONE", old).await;
    let gone_fatal = bots(&db, 1, "FATAL", old).await;
    let running = bots(&db, 1, "IN_CALL", old).await;
    let recent = bots(&db, 1, "DONE", noon() - Duration::days(29)).await;
    let held = bots(&db, 1, "FATAL", old).await;
    slots::of("p", PlatformKind::K8s)
        .holding(held[0])
        .create(&db)
        .await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM bot_events WHERE bot_id = ANY($1)")
        .bind(&gone)
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(events >= gone.len() as i64, "each bot has its events");

    let pruned = prune_ended(&db, noon(), Duration::days(30)).await.unwrap();
    assert_eq!(
        pruned,
        many as u64,
        "{} batches' worth",
        many / PRUNE_BATCH + 1
    );
    let mut kept = [running, recent, held].concat();
    kept.sort();
    assert_eq!(left(&db).await, kept);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM bot_events WHERE bot_id = ANY($1)")
        .bind([gone, gone_fatal].concat())
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(events, 0, "the events went with their bots");
    assert_eq!(
        prune_ended(&db, noon(), Duration::days(30)).await.unwrap(),
        0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_leader_deletes_them_at_its_clock_and_retention(db: PgPool) {
    insert_pool(&db, "p", "zoom", 10).await;
    let old = bots(&db, 3, "DONE", noon() - Duration::days(9)).await;
    let recent = bots(&db, 2, "DONE", noon() - Duration::days(7)).await;
    let berth = berth_tests::leader(
        &db,
        &[("BERTH_HISTORY_RETENTION_DAYS", "8")],
        Some(berth_core::clock::ManualClock::new(noon())),
    )
    .await;
    eventually(
        "the leader's history job deleted the bots ended 9 days ago",
        std::time::Duration::from_secs(15),
        || {
            let db = db.clone();
            let old = old.clone();
            async move { left(&db).await.iter().all(|id| !old.contains(id)) }
        },
    )
    .await;
    berth.shutdown().await.unwrap();
    assert_eq!(left(&db).await, recent);
}
