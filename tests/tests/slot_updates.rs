//! What a slot transition costs the table: the updates of a slot that leave
//! every indexed column alone — `deploying` → `busy`, the deploy's sign of
//! life, the platform resource — are HOT (heap-only: no index entry), as
//! `pg_stat_user_tables.n_tup_hot_upd` counts them. An index on `status`
//! (or a partial index whose predicate names it) would make every one of
//! them write an entry into every index of `pool_slots` again.

use berth_core::meeting::PlatformKind;
use berth_core::slot;
use berth_tests::{insert_bot, insert_pool, slots};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

const SLOTS: usize = 4;
/// Bounded rounds of asking the server to publish this backend's counts.
const FLUSH_ATTEMPTS: usize = 1_000;

/// `pool_slots`' (updates, HOT updates) once they include at least
/// `at_least` updates. `db` has one connection, so the backend that made
/// the updates is the one asked to flush its statistics (PostgreSQL 15
/// publishes them when the backend is idle, at most once a second unless
/// forced): each round forces the flush, ends its transaction, and reads.
async fn updates(db: &PgPool, at_least: i64) -> (i64, i64) {
    let mut seen = (0, 0);
    for _ in 0..FLUSH_ATTEMPTS {
        sqlx::query("SELECT pg_stat_force_next_flush()")
            .execute(db)
            .await
            .unwrap();
        seen = sqlx::query_as(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'pool_slots'",
        )
        .fetch_one(db)
        .await
        .unwrap();
        if seen.0 >= at_least {
            return seen;
        }
    }
    panic!("pool_slots' statistics never reached {at_least} updates: {seen:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn status_changes_in_place_and_deploy_bookkeeping_are_hot_updates(db: PgPool) {
    insert_pool(&db, "zoom", "zoom", 10).await;
    slots::of("zoom", PlatformKind::Local)
        .create_n(&db, SLOTS)
        .await;
    let mut bots = Vec::new();
    for _ in 0..SLOTS {
        bots.push(insert_bot(&db, "zoom").await);
    }
    let one = PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*db.connect_options()).clone())
        .await
        .unwrap();
    let (start, _) = updates(&one, 0).await;

    let mut leases = Vec::new();
    for bot in &bots {
        let mut conn = one.acquire().await.unwrap();
        let lease = slot::acquire(&mut conn, "zoom", PlatformKind::Local, *bot)
            .await
            .unwrap()
            .expect("an idle slot");
        leases.push(lease);
    }
    let n = SLOTS as i64;
    let (acquired, hot_acquired) = updates(&one, start + n).await;
    assert_eq!(acquired, start + n, "one update per acquisition");

    // The updates under test: no indexed column changes in any of them.
    let now = chrono::Utc::now();
    for lease in &leases {
        assert!(slot::touch_deploying(&one, lease.slot_id, lease.epoch)
            .await
            .unwrap());
        assert!(
            slot::set_platform_ref(&one, lease.slot_id, lease.epoch, "ref")
                .await
                .unwrap()
        );
        assert!(slot::mark_busy(&one, lease.slot_id, lease.epoch, now)
            .await
            .unwrap());
    }
    let (changed, hot_changed) = updates(&one, acquired + 3 * n).await;
    assert_eq!(changed, acquired + 3 * n, "three updates per slot");
    assert_eq!(
        hot_changed - hot_acquired,
        3 * n,
        "every busy transition, sign of life and resource update is HOT"
    );

    // Releases work as before, and the slots can be taken again.
    for lease in &leases {
        let mut conn = one.acquire().await.unwrap();
        let released = slot::release(&mut conn, lease.slot_id, lease.epoch, "done")
            .await
            .unwrap()
            .expect("released");
        assert_eq!(released.slot_id, lease.slot_id);
    }
    let mut conn = one.acquire().await.unwrap();
    assert!(
        slot::acquire(&mut conn, "zoom", PlatformKind::Local, bots[0])
            .await
            .unwrap()
            .is_some()
    );
}
