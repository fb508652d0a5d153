//! The per-platform load counters the router checks limits against
//! (`platform::load`) against a recount of the active bots: after a storm
//! of concurrent bot changes from many connections (status and platform
//! changes, inserts, deletes, rolled-back transactions), with connections
//! closing midway and folds running alongside, the counters equal the
//! recount; and grants made under the platform's lock from many connections
//! at once never take a platform past its limit.

use berth_core::platform::load;
use berth_tests::{insert_bot, insert_pool, wide_pool, Dice};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

const PLATFORMS: [Option<&str>; 4] = [Some("local"), Some("k8s"), Some("aws"), None];
const STATUSES: [&str; 9] = [
    "QUEUED",
    "DEPLOYING",
    "JOINING_CALL",
    "IN_WAITING_ROOM",
    "IN_CALL",
    "LEAVING",
    "CALL_ENDED",
    "DONE",
    "FATAL",
];
const TASKS: usize = 8;
const STEPS: usize = 200;
const RECONNECT_EVERY: usize = 50;

/// One random change; `Err` when PostgreSQL aborted it (random changes to
/// the same rows in different orders can deadlock).
async fn change(conn: &mut PgConnection, dice: &mut Dice, bots: &[i64]) -> Result<(), sqlx::Error> {
    let bot = bots[dice.roll(bots.len())];
    match dice.roll(8) {
        0 => {
            sqlx::query("UPDATE bots SET deployment_platform = $2 WHERE id = $1")
                .bind(bot)
                .bind(PLATFORMS[dice.roll(PLATFORMS.len())])
                .execute(conn)
                .await?;
        }
        1 => {
            // Status and platform at once.
            sqlx::query("UPDATE bots SET status = $2, deployment_platform = $3, error = 'storm' WHERE id = $1")
                .bind(bot)
                .bind(STATUSES[dice.roll(STATUSES.len())])
                .bind(PLATFORMS[dice.roll(PLATFORMS.len())])
                .execute(conn)
                .await?;
        }
        2 => {
            // A bot born active, or deleted.
            if dice.roll(2) == 0 {
                sqlx::query(
                    "INSERT INTO bots (pool, meeting_platform, meeting_url, status, deployment_platform, error)
                     VALUES ('alpha', 'zoom', 'https://meet.example/x', $1, $2, 'storm')",
                )
                .bind(STATUSES[dice.roll(STATUSES.len())])
                .bind(PLATFORMS[dice.roll(PLATFORMS.len())])
                .execute(conn)
                .await?;
            } else {
                sqlx::query(
                    "DELETE FROM bots WHERE id = (SELECT id FROM bots WHERE id > $1 ORDER BY id LIMIT 1)",
                )
                .bind(bots[bots.len() - 1])
                .execute(conn)
                .await?;
            }
        }
        _ => {
            sqlx::query("UPDATE bots SET status = $2, error = 'storm' WHERE id = $1")
                .bind(bot)
                .bind(STATUSES[dice.roll(STATUSES.len())])
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

async fn storm_task(opts: PgConnectOptions, bots: Vec<i64>, seed: u64) {
    let mut dice = Dice(seed);
    let mut conn = PgConnection::connect_with(&opts).await.unwrap();
    for step in 0..STEPS {
        if step > 0 && step % RECONNECT_EVERY == 0 {
            conn.close().await.unwrap();
            conn = PgConnection::connect_with(&opts).await.unwrap();
        }
        // A transaction of a few changes; one in four rolls back.
        let mut tx = conn.begin().await.unwrap();
        let mut failed = false;
        for _ in 0..1 + dice.roll(3) {
            if let Err(e) = change(&mut tx, &mut dice, &bots).await {
                let code = e
                    .as_database_error()
                    .and_then(|d| d.code())
                    .unwrap_or_default();
                assert_eq!(code, "40P01", "only a deadlock may abort a change: {e}");
                failed = true;
                break;
            }
        }
        if failed || dice.roll(4) == 0 {
            tx.rollback().await.unwrap();
        } else {
            tx.commit().await.unwrap();
        }
    }
    conn.close().await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn load_counters_equal_a_recount_after_a_concurrent_storm(db: PgPool) {
    insert_pool(&db, "alpha", "zoom", 500).await;
    let db = wide_pool(&db, (TASKS + 4) as u32).await;
    let mut bots = Vec::new();
    for _ in 0..40 {
        bots.push(insert_bot(&db, "alpha").await);
    }
    let opts: PgConnectOptions = (*db.connect_options()).clone();
    let stop = Arc::new(AtomicBool::new(false));
    let folder = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut passes, mut folded) = (0, 0);
            while !stop.load(Ordering::SeqCst) || passes == 0 {
                folded += load::fold(&db, chrono::Duration::minutes(17))
                    .await
                    .unwrap();
                passes += 1;
                tokio::task::yield_now().await;
            }
            (passes, folded)
        })
    };
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            tokio::spawn(storm_task(
                opts.clone(),
                bots.clone(),
                0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1),
            ))
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let (passes, folded) = folder.await.unwrap();
    assert!(passes > 0);
    let recount = load::recount(&db).await.unwrap();
    assert!(
        recount.iter().any(|(_, n)| *n > 0),
        "the storm left some capacity in use: {recount:?}"
    );
    assert_eq!(load::per_platform(&db).await.unwrap(), recount);
    // Every connection of the storm is gone: a fold takes their rows, and
    // the sums stay.
    let folded_after = load::fold(&db, chrono::Duration::minutes(17))
        .await
        .unwrap();
    assert!(
        folded + folded_after > 0,
        "the rows of closed connections were folded"
    );
    assert_eq!(load::per_platform(&db).await.unwrap(), recount);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM platform_load WHERE backend <> 0")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(
        rows <= 3 * 4,
        "only live connections keep rows of their own: {rows}"
    );
    for (platform, n) in &recount {
        let kind = platform.parse().unwrap();
        let mut conn = db.acquire().await.unwrap();
        assert_eq!(load::on(&mut conn, kind).await.unwrap(), *n);
        let mut tx = conn.begin().await.unwrap();
        assert_eq!(load::lock(&mut tx, kind).await.unwrap(), *n);
        tx.rollback().await.unwrap();
    }
    // A truncate clears them with the bots.
    sqlx::query("TRUNCATE bots CASCADE")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(load::per_platform(&db).await.unwrap(), vec![]);
}

const LIMIT: i64 = 5;

/// Grants on k8s from its own connection: under the platform's lock, marks
/// a queued bot `DEPLOYING` when there is room, else ends one of the active
/// bots (a release, without the lock), sometimes rolling back.
async fn grant_task(opts: PgConnectOptions, seed: u64, granted: Arc<AtomicI64>) {
    let mut dice = Dice(seed);
    let mut conn = PgConnection::connect_with(&opts).await.unwrap();
    for _ in 0..STEPS {
        let mut tx = conn.begin().await.unwrap();
        if dice.roll(2) == 0 {
            let used = load::lock(&mut tx, "k8s".parse().unwrap()).await.unwrap();
            if used < LIMIT {
                let n = sqlx::query(
                    "UPDATE bots SET status = 'DEPLOYING', deployment_platform = 'k8s'
                     WHERE id = (SELECT id FROM bots WHERE status = 'QUEUED' LIMIT 1 FOR UPDATE SKIP LOCKED)",
                )
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
                // What this transaction sees (its grant and every commit) is
                // what the next holder of the lock will see.
                let now: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM bots WHERE status = 'DEPLOYING' AND deployment_platform = 'k8s'",
                )
                .fetch_one(&mut *tx)
                .await
                .unwrap();
                assert!(now <= LIMIT, "{now} on k8s, past its limit of {LIMIT}");
                // Releases commit without the lock: never more than counted.
                assert!(now <= used + n as i64, "the lock's count missed a grant");
                if dice.roll(5) == 0 {
                    tx.rollback().await.unwrap();
                    continue;
                }
                granted.fetch_add(n as i64, Ordering::Relaxed);
            }
        } else {
            sqlx::query(
                "UPDATE bots SET status = $1
                 WHERE id = (SELECT id FROM bots WHERE status = 'DEPLOYING' LIMIT 1 FOR UPDATE SKIP LOCKED)",
            )
            .bind(if dice.roll(4) == 0 { "CALL_ENDED" } else { "QUEUED" })
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    conn.close().await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn grants_under_the_platform_lock_never_pass_its_limit(db: PgPool) {
    insert_pool(&db, "alpha", "zoom", 500).await;
    let db = wide_pool(&db, (TASKS + 4) as u32).await;
    for _ in 0..200 {
        insert_bot(&db, "alpha").await;
    }
    let opts: PgConnectOptions = (*db.connect_options()).clone();
    let granted = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Watches the committed state throughout.
    let watcher = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            let mut most = 0;
            while !stop.load(Ordering::SeqCst) {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM bots WHERE status = 'DEPLOYING' AND deployment_platform = 'k8s'",
                )
                .fetch_one(&db)
                .await
                .unwrap();
                most = most.max(n);
            }
            most
        })
    };
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            tokio::spawn(grant_task(
                opts.clone(),
                0xD1B5_4A32_D192_ED03 ^ (i as u64 + 1),
                granted.clone(),
            ))
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let most = watcher.await.unwrap();
    assert!(
        granted.load(Ordering::Relaxed) > LIMIT,
        "capacity was granted again and again"
    );
    assert!(most <= LIMIT, "at most {LIMIT} on k8s at once, saw {most}");
    assert_eq!(
        load::per_platform(&db).await.unwrap(),
        load::recount(&db).await.unwrap()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn releases_are_counted_per_minute_and_old_minutes_are_dropped(db: PgPool) {
    insert_pool(&db, "alpha", "zoom", 500).await;
    let bot = insert_bot(&db, "alpha").await;
    let now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&db)
        .await
        .unwrap();
    // A slot released twice (busy → idle, deploying → idle); other
    // transitions are not releases.
    sqlx::query(
        "INSERT INTO pool_slots (pool, meeting_platform, deployment_platform, slot_name, slot_number, status, assigned_bot_id, epoch)
         VALUES ('alpha', 'zoom', 'k8s', 'pool-alpha-001', 1, 'busy', $1, 1)",
    )
    .bind(bot)
    .execute(&db)
    .await
    .unwrap();
    for status in ["idle", "deploying", "idle", "error", "idle"] {
        sqlx::query(
            "UPDATE pool_slots SET status = $1,
                    assigned_bot_id = CASE WHEN $1 IN ('deploying', 'busy') THEN $2 END,
                    error_message = CASE WHEN $1 = 'error' THEN 'x' END",
        )
        .bind(status)
        .bind(bot)
        .execute(&db)
        .await
        .unwrap();
    }
    let window = chrono::Duration::minutes(15);
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(
        load::releases_between(&db, now - window, later)
            .await
            .unwrap(),
        2
    );
    // A minute long past is no longer read, and the leader's fold drops it.
    sqlx::query("INSERT INTO slot_release_minutes (minute, backend, releases) VALUES (date_trunc('minute', now()) - interval '30 minutes', 0, 7)")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(
        load::releases_between(&db, now - window, later)
            .await
            .unwrap(),
        2
    );
    load::fold(&db, chrono::Duration::minutes(17))
        .await
        .unwrap();
    let old: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM slot_release_minutes WHERE minute < now() - interval '17 minutes'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(old, 0, "the old minute was dropped");
    assert_eq!(
        load::releases_between(&db, now - window, later)
            .await
            .unwrap(),
        2,
        "the recent minutes stay"
    );
}
