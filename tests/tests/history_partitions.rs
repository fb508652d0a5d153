//! Bounded history: the history tables' daily partitions, kept by the
//! leader's job (`history::partitions::maintain`) at a time the test
//! chooses — created ahead, rows never refused for want of a partition
//! (they wait in the DEFAULT partition and are moved into their day's), days
//! past retention dropped whole while rows within it stay, and two
//! maintainers at once changing each partition once.

use berth_core::history::partitions::{self, Report, TABLES};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sqlx::PgPool;

/// The test's "now": noon on 2026-11-30 (UTC).
fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The daily partitions of `table`, by name, oldest first.
async fn partitions_of(db: &PgPool, table: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = $1::regclass AND c.relname::text <> $1 || '_default' ORDER BY 1",
    )
    .bind(table)
    .fetch_all(db)
    .await
    .unwrap()
}

/// Appends a slot transition at `at`; returns its id.
async fn transition(db: &PgPool, at: DateTime<Utc>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, reason, at)
         VALUES (1, 's', 1, 'busy', 'idle', 'test', $1) RETURNING id",
    )
    .bind(at)
    .fetch_one(db)
    .await
    .unwrap()
}

/// Where the slot transition `id` is stored (its partition's name).
async fn stored_in(db: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT tableoid::regclass::text FROM slot_history WHERE id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .unwrap()
}

async fn ids(db: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM slot_history ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap()
}

async fn maintain(db: &PgPool, now: DateTime<Utc>) -> Report {
    let r = partitions::maintain(db, now, 30).await.unwrap();
    assert_eq!(r.failed, vec![], "no table failed");
    r
}

#[sqlx::test(migrations = "../migrations")]
async fn today_and_the_next_days_get_their_partitions_once(db: PgPool) {
    let r = maintain(&db, noon()).await;
    for t in TABLES {
        let want: Vec<String> = (0..=partitions::AHEAD_DAYS)
            .map(|i| partitions::partition_name(&t, day(2026, 11, 30) + Duration::days(i)))
            .collect();
        assert_eq!(partitions_of(&db, t.name).await, want, "{}", t.name);
    }
    assert_eq!(r.created.len(), 4 * (partitions::AHEAD_DAYS as usize + 1));
    assert!(r.dropped.is_empty() && r.moved_rows == 0 && r.expired_rows == 0);

    // A row of each day lands in its day's partition.
    let a = transition(&db, noon()).await;
    let b = transition(&db, noon() + Duration::days(3)).await;
    assert_eq!(stored_in(&db, a).await, "slot_history_p20261130");
    assert_eq!(stored_in(&db, b).await, "slot_history_p20261203");

    // Idempotent: the same time again changes nothing; a day later adds
    // one day per table.
    assert_eq!(maintain(&db, noon()).await, Report::default());
    let next = maintain(&db, noon() + Duration::days(1)).await;
    assert_eq!(next.created.len(), 4);
    assert!(next.created.contains(&"audit_log_p20261204".to_string()));
}

#[sqlx::test(migrations = "../migrations")]
async fn rows_past_the_last_partition_are_kept_and_moved_into_their_day(db: PgPool) {
    maintain(&db, noon()).await;
    // The leader stopped; the clock passes the last partition (12-03).
    let late = noon() + Duration::days(10);
    let id = transition(&db, late).await;
    assert_eq!(stored_in(&db, id).await, "slot_history_default", "accepted");
    // Real inserts through the triggers too: a bot's creation writes its
    // first event whatever the database's own clock says.
    berth_tests::insert_pool(&db, "p", "zoom", 10).await;
    let bot: i64 = sqlx::query_scalar(
        "INSERT INTO bots (pool, meeting_platform, meeting_url, status) VALUES ('p', 'zoom', 'https://zoom.us/j/1', 'QUEUED') RETURNING id",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM bot_events WHERE bot_id = $1")
        .bind(bot)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(events, 1);

    // The leader is back: the day gets its partition, with the row in it.
    let r = maintain(&db, late).await;
    assert!(r.moved_rows >= 1, "{r:?}");
    assert!(r.created.contains(&"slot_history_p20261210".to_string()));
    assert_eq!(stored_in(&db, id).await, "slot_history_p20261210");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM slot_history_default")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(ids(&db).await, vec![id], "ids kept");
    // A later insert on that day goes straight to the partition.
    let next = transition(&db, late + Duration::hours(1)).await;
    assert_eq!(stored_in(&db, next).await, "slot_history_p20261210");
    assert_eq!(maintain(&db, late).await, Report::default(), "idempotent");
}

#[sqlx::test(migrations = "../migrations")]
async fn days_past_retention_are_dropped_and_rows_within_it_kept(db: PgPool) {
    // Rows before any partition exists (they wait in DEFAULT): one far past
    // the 30 days, one on the day that straddles the cut-off (2026-10-31
    // 12:00), one within.
    let old = transition(&db, noon() - Duration::days(40)).await;
    let straddling = transition(&db, noon() - Duration::days(30) + Duration::hours(1)).await;
    let within = transition(&db, noon() - Duration::days(29)).await;
    let r = maintain(&db, noon()).await;
    assert_eq!(r.expired_rows, 1, "the row past retention is deleted");
    assert_eq!(ids(&db).await, vec![straddling, within]);
    assert_eq!(stored_in(&db, straddling).await, "slot_history_p20261031");
    assert_eq!(stored_in(&db, within).await, "slot_history_p20261101");
    assert!(!ids(&db).await.contains(&old));

    // Eleven hours later the cut-off is 10-31 23:00: 10-31's partition holds
    // a row within retention and stays.
    let r = maintain(&db, noon() + Duration::hours(11)).await;
    assert!(r.dropped.is_empty(), "{r:?}");
    // A day later its whole day is past: dropped, and only it.
    let r = maintain(&db, noon() + Duration::days(1)).await;
    assert_eq!(r.dropped, vec!["slot_history_p20261031".to_string()]);
    assert_eq!(ids(&db).await, vec![within]);
    assert_eq!(
        partitions_of(&db, "slot_history")
            .await
            .first()
            .map(String::as_str),
        Some("slot_history_p20261101")
    );
    // Partitions of the other tables made at noon are all within retention.
    assert!(r.dropped.iter().all(|d| d.starts_with("slot_history_")));
    assert_eq!(
        maintain(&db, noon() + Duration::days(1)).await,
        Report::default()
    );

    // A month on, everything but the days ahead is gone, and inserts still
    // land.
    let later = noon() + Duration::days(45);
    let r = maintain(&db, later).await;
    assert!(r.dropped.contains(&"slot_history_p20261101".to_string()));
    assert!(ids(&db).await.is_empty());
    let id = transition(&db, later).await;
    assert_eq!(stored_in(&db, id).await, "slot_history_p20270114");
}

#[sqlx::test(migrations = "../migrations")]
async fn two_maintainers_at_once_change_each_partition_once(db: PgPool) {
    transition(&db, noon() - Duration::days(2)).await;
    let (a, b) = tokio::join!(
        partitions::maintain(&db, noon(), 30),
        partitions::maintain(&db, noon(), 30)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.failed, vec![]);
    assert_eq!(b.failed, vec![]);
    let mut created: Vec<String> = a.created.iter().chain(&b.created).cloned().collect();
    created.sort();
    let before = created.len();
    created.dedup();
    assert_eq!(before, created.len(), "no partition created twice");
    assert_eq!(created.len(), 4 * 4 + 1, "{a:?} {b:?}");
    assert_eq!(a.moved_rows + b.moved_rows, 1);

    // A table whose lock another maintainer holds is left to it.
    let mut other = db.acquire().await.unwrap();
    sqlx::query("BEGIN").execute(&mut *other).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth.history.partitions.audit_log'))")
        .execute(&mut *other)
        .await
        .unwrap();
    let r = maintain(&db, noon() + Duration::days(1)).await;
    assert_eq!(r.skipped, vec!["audit_log"]);
    assert_eq!(r.created.len(), 3, "the others' next day: {r:?}");
    sqlx::query("COMMIT").execute(&mut *other).await.unwrap();
    let r = maintain(&db, noon() + Duration::days(1)).await;
    assert_eq!(r.created, vec!["audit_log_p20261204".to_string()]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_table_busy_past_the_lock_timeout_is_left_for_the_next_round(db: PgPool) {
    // A reader holds the audit log (a long export, say): the maintenance
    // waits at most LOCK_TIMEOUT and leaves the table, the others go on.
    let mut reader = db.acquire().await.unwrap();
    sqlx::query("BEGIN").execute(&mut *reader).await.unwrap();
    sqlx::query("SELECT count(*) FROM audit_log")
        .execute(&mut *reader)
        .await
        .unwrap();
    let r = partitions::maintain(&db, noon(), 30).await.unwrap();
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert_eq!(r.failed[0].0, "audit_log");
    assert_eq!(r.created.len(), 3 * 4);
    assert!(partitions_of(&db, "audit_log").await.is_empty());
    sqlx::query("COMMIT").execute(&mut *reader).await.unwrap();
    let r = maintain(&db, noon()).await;
    assert_eq!(r.created.len(), 4);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_leader_keeps_the_partitions_at_its_clock_and_retention(db: PgPool) {
    // History older than the configured 8 days, and within it, both in the
    // DEFAULT partition before any leader ran.
    let old = transition(&db, noon() - Duration::days(20)).await;
    let recent = transition(&db, noon() - Duration::days(2)).await;
    let berth = berth_tests::leader(
        &db,
        &[("BERTH_HISTORY_RETENTION_DAYS", "8")],
        Some(berth_core::clock::ManualClock::new(noon())),
    )
    .await;
    // Its first round as leader runs the job at once.
    berth_tests::eventually(
        "the leader made the partitions of its clock's days",
        std::time::Duration::from_secs(15),
        || {
            let db = db.clone();
            async move { partitions_of(&db, "audit_log").await.len() == 4 }
        },
    )
    .await;
    berth.shutdown().await.unwrap();
    assert_eq!(ids(&db).await, vec![recent], "{old} is past the 8 days");
    assert_eq!(stored_in(&db, recent).await, "slot_history_p20261128");
    assert_eq!(
        partitions_of(&db, "slot_history").await,
        [
            "slot_history_p20261128",
            "slot_history_p20261130",
            "slot_history_p20261201",
            "slot_history_p20261202",
            "slot_history_p20261203"
        ]
    );
}

#[sqlx::test(migrations = false)]
async fn the_migration_keeps_existing_history_with_its_ids(db: PgPool) {
    // The schema before partitioning, with history in it.
    let all = &berth_core::db::MIGRATOR;
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| m.version < 20261201000110)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&db).await.unwrap();
    berth_tests::insert_pool(&db, "p", "zoom", 10).await;
    sqlx::raw_sql(
        "INSERT INTO bots (pool, meeting_platform, meeting_url, status) VALUES ('p', 'zoom', 'https://zoom.us/j/1', 'QUEUED');
         UPDATE bots SET status = 'DEPLOYING';
         INSERT INTO slot_history (slot_id, slot_name, epoch, to_status, reason, at)
             VALUES (1, 's', 1, 'idle', 'x', '2026-11-20 10:00:00+00'), (1, 's', 2, 'busy', 'x', '2026-11-29 23:59:59+00');
         INSERT INTO audit_log (actor, action, target_kind, target) VALUES ('cli:a', 'slot.drain', 'slot', 's');",
    )
    .execute(&db)
    .await
    .unwrap();

    all.run(&db).await.unwrap();
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, tableoid::regclass::text FROM slot_history ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (1, "slot_history_p20261120".to_string()),
            (2, "slot_history_p20261129".to_string())
        ],
        "each existing day got its partition"
    );
    // The sequences carry on.
    assert_eq!(transition(&db, noon()).await, 3);
    let events: Vec<String> = sqlx::query_scalar("SELECT status FROM bot_events ORDER BY id")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(events, ["QUEUED", "DEPLOYING"]);
    sqlx::query("UPDATE bots SET status = 'JOINING_CALL'")
        .execute(&db)
        .await
        .unwrap();
    let next: i64 = sqlx::query_scalar("SELECT max(id) FROM bot_events")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(next, 3, "the trigger writes on into the new table");
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE actor = 'cli:a'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(audit, 1);
}
