//! The slot engine against a real PostgreSQL: atomic acquisition, LRU,
//! creation on demand without races, epochs, pool separation.

use berth_core::meeting::PlatformKind;
use berth_core::slot;
use berth_tests::slots;
use berth_tests::{apply_experiment_env, insert_bot, insert_pool, wide_pool};
use sqlx::PgPool;
use std::sync::Arc;
use tokio::sync::Barrier;

const LOCAL: PlatformKind = PlatformKind::Local;

async fn idle_slots(db: &PgPool, pool: &str, n: usize) -> Vec<i64> {
    let created = slots::of(pool, LOCAL).create_n(db, n).await;
    created.into_iter().map(|lease| lease.slot_id).collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn sixty_four_racers_on_one_idle_slot_make_exactly_one_winner(db: PgPool) {
    apply_experiment_env();
    insert_pool(&db, "zoom", "zoom", 10).await;
    idle_slots(&db, "zoom", 1).await;
    let mut bots = Vec::new();
    for _ in 0..64 {
        bots.push(insert_bot(&db, "zoom").await);
    }
    let wide = wide_pool(&db, 66).await;
    // Many rounds: each race window is short, so one round alone could
    // miss a broken lock; the winner releases between rounds.
    const ROUNDS: i64 = 25;
    for round in 1..=ROUNDS {
        let barrier = Arc::new(Barrier::new(64));
        let mut tasks = Vec::new();
        for bot in bots.clone() {
            let (db, barrier) = (wide.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                let mut conn = db.acquire().await.unwrap();
                barrier.wait().await;
                slot::acquire(&mut conn, "zoom", LOCAL, bot).await.unwrap()
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            if let Some(lease) = t.await.unwrap() {
                winners.push(lease);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one racer may win the slot: {winners:?}"
        );
        assert_eq!(winners[0].epoch, round);
        let mut conn = wide.acquire().await.unwrap();
        slot::release(
            &mut conn,
            winners[0].slot_id,
            winners[0].epoch,
            "round over",
        )
        .await
        .unwrap()
        .expect("the winner's lease is current");
    }
    let acquires: i64 =
        sqlx::query_scalar("SELECT count(*) FROM slot_history WHERE reason = 'acquire'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        acquires, ROUNDS,
        "the history records one acquisition per round"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn acquisition_is_least_recently_used_with_never_used_last(db: PgPool) {
    insert_pool(&db, "zoom", "zoom", 10).await;
    let ids = idle_slots(&db, "zoom", 3).await;
    let mut conn = db.acquire().await.unwrap();
    // Use slot 2 then slot 1 (by giving them last_used_at in that order).
    for id in [ids[1], ids[0]] {
        sqlx::query("UPDATE pool_slots SET last_used_at = clock_timestamp() WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let mut taken = Vec::new();
    for _ in 0..3 {
        let bot = insert_bot(&db, "zoom").await;
        let lease = slot::acquire(&mut conn, "zoom", LOCAL, bot)
            .await
            .unwrap()
            .unwrap();
        taken.push(lease.slot_id);
    }
    // A used slot is known to have its resource; a never-used one (a
    // pre-warmed slot) may still be having it made: used first, the least
    // recently used of them first, never-used last.
    assert_eq!(taken, vec![ids[1], ids[0], ids[2]]);
}

#[sqlx::test(migrations = "../migrations")]
async fn created_slots_fill_the_first_gap_in_names(db: PgPool) {
    insert_pool(&db, "google-meet", "google-meet", 10).await;
    let ids = idle_slots(&db, "google-meet", 4).await;
    let mut conn = db.acquire().await.unwrap();
    let s3 = slot::get(&db, ids[2]).await.unwrap();
    assert_eq!(s3.slot_name, "pool-google-meet-003");
    assert!(slot::delete(&mut conn, s3.id, s3.epoch, "test")
        .await
        .unwrap());
    let again = slots::of("google-meet", LOCAL).create_on(&mut conn).await;
    assert_eq!(
        again.slot_name, "pool-google-meet-003",
        "001, 002, 004 exist → 003"
    );
    let next = slots::of("google-meet", LOCAL).create_on(&mut conn).await;
    assert_eq!(next.slot_name, "pool-google-meet-005");
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_creators_never_overshoot_the_max_size(db: PgPool) {
    insert_pool(&db, "zoom", "zoom", 5).await;
    let barrier = Arc::new(Barrier::new(32));
    let wide = wide_pool(&db, 34).await;
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (db, barrier) = (wide.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = db.acquire().await.unwrap();
            barrier.wait().await;
            slot::create(&mut conn, "zoom", LOCAL, None).await.unwrap()
        }));
    }
    let mut created = 0;
    for t in tasks {
        created += usize::from(t.await.unwrap().is_some());
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(created, 5);
    assert_eq!(total, 5, "the size check must not race");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bot_never_lands_in_another_meeting_platforms_pool(db: PgPool) {
    insert_pool(&db, "zoom", "zoom", 5).await;
    insert_pool(&db, "google-meet", "google-meet", 5).await;
    idle_slots(&db, "google-meet", 3).await;
    let bot = insert_bot(&db, "zoom").await;
    let mut conn = db.acquire().await.unwrap();
    assert!(
        slot::acquire(&mut conn, "zoom", LOCAL, bot)
            .await
            .unwrap()
            .is_none(),
        "google-meet slots are not zoom capacity"
    );
    // Nor on another deployment platform.
    idle_slots(&db, "zoom", 1).await;
    assert!(slot::acquire(&mut conn, "zoom", PlatformKind::K8s, bot)
        .await
        .unwrap()
        .is_none());
    let lease = slot::acquire(&mut conn, "zoom", LOCAL, bot)
        .await
        .unwrap()
        .unwrap();
    assert!(lease.slot_name.starts_with("pool-zoom-"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_stale_epoch_changes_nothing(db: PgPool) {
    insert_pool(&db, "zoom", "zoom", 5).await;
    idle_slots(&db, "zoom", 1).await;
    let (a, b) = (insert_bot(&db, "zoom").await, insert_bot(&db, "zoom").await);
    let mut conn = db.acquire().await.unwrap();
    let first = slot::acquire(&mut conn, "zoom", LOCAL, a)
        .await
        .unwrap()
        .unwrap();
    slot::release(&mut conn, first.slot_id, first.epoch, "done")
        .await
        .unwrap()
        .unwrap();
    let second = slot::acquire(&mut conn, "zoom", LOCAL, b)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.epoch, first.epoch + 1);
    // The first holder's late release must not free the second holder's slot.
    assert!(slot::release(&mut conn, first.slot_id, first.epoch, "late")
        .await
        .unwrap()
        .is_none());
    assert!(
        !slot::mark_busy(&db, first.slot_id, first.epoch, chrono::Utc::now())
            .await
            .unwrap()
    );
    let view = slot::get(&db, second.slot_id).await.unwrap();
    assert_eq!(
        (view.status.as_str(), view.assigned_bot_id),
        ("deploying", Some(b))
    );
    assert!(
        slot::mark_busy(&db, second.slot_id, second.epoch, chrono::Utc::now())
            .await
            .unwrap()
    );
    assert!(slot::get(&db, second.slot_id)
        .await
        .unwrap()
        .description
        .starts_with(&format!("[BUSY] Bot #{b} - ")));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_schema_refuses_double_assignment_even_from_a_buggy_caller(db: PgPool) {
    insert_pool(&db, "zoom", "zoom", 5).await;
    let ids = idle_slots(&db, "zoom", 2).await;
    let bot = insert_bot(&db, "zoom").await;
    let mut conn = db.acquire().await.unwrap();
    slot::acquire(&mut conn, "zoom", LOCAL, bot)
        .await
        .unwrap()
        .unwrap();
    // A second slot for the same bot: refused by the constraint, mapped to a domain error.
    let err = slot::acquire(&mut conn, "zoom", LOCAL, bot)
        .await
        .unwrap_err();
    assert_eq!(err.code(), berth_core::ErrorCode::Conflict, "{err}");
    // Raw SQL that bypasses the engine is refused too.
    let raw =
        sqlx::query("UPDATE pool_slots SET status = 'busy', assigned_bot_id = $1 WHERE id = $2")
            .bind(bot)
            .bind(ids[1])
            .execute(&db)
            .await;
    assert!(raw.is_err(), "a bot holds at most one slot");
    let idle_with_bot =
        sqlx::query("UPDATE pool_slots SET assigned_bot_id = $1 WHERE status = 'idle'")
            .bind(insert_bot(&db, "zoom").await)
            .execute(&db)
            .await;
    assert!(idle_with_bot.is_err(), "an idle slot holds no bot");
}

#[sqlx::test(migrations = "../migrations")]
async fn acquire_never_reports_exhausted_while_an_idle_slot_exists(db: PgPool) {
    apply_experiment_env();
    // 20 slots, 16 workers: at every moment at least 4 slots are idle, so
    // every single acquisition must succeed even though SKIP LOCKED skips
    // rows other workers are locking.
    insert_pool(&db, "zoom", "zoom", 50).await;
    idle_slots(&db, "zoom", 20).await;
    let barrier = Arc::new(Barrier::new(16));
    let wide = wide_pool(&db, 18).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let bot = insert_bot(&db, "zoom").await;
        let (db, barrier) = (wide.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = db.acquire().await.unwrap();
            barrier.wait().await;
            let mut misses = 0;
            for _ in 0..150 {
                match slot::acquire(&mut conn, "zoom", LOCAL, bot).await.unwrap() {
                    Some(l) => {
                        slot::release(&mut conn, l.slot_id, l.epoch, "cycle")
                            .await
                            .unwrap()
                            .unwrap();
                    }
                    None => misses += 1,
                }
            }
            misses
        }));
    }
    let mut misses = 0;
    for t in tasks {
        misses += t.await.unwrap();
    }
    assert_eq!(
        misses, 0,
        "no acquisition may come back empty while idle slots exist"
    );
}
