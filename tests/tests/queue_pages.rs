//! The queue read a page at a time: pages walk the dispatch order exactly
//! (aged entries first, ties broken by entry id), and a dispatcher's pass
//! reads on only while capacity may be left — yet still moves every
//! request whose platform wait is over, however far down the queue.

use berth_core::clock::Clock;
use berth_core::dispatch::PAGE;
use berth_core::queue;
use berth_tests::{bots, harness, insert_pool, Harness};
use chrono::{Duration, Utc};
use sqlx::PgPool;

/// `n` queued bots of pool `q`, straight into the queue: priorities 100,
/// 110, 120 in turn, every seventh sharing its queue time with the one
/// before, and a third with an ageing time (half of them passed).
async fn enqueue(db: &PgPool, n: i64) {
    sqlx::query(
        "WITH b AS (
            INSERT INTO bots (pool, meeting_platform, meeting_url, priority, queue_timeout_ms, deadline)
            SELECT 'q', 'zoom', 'https://zoom.us/j/' || i, 100 + (i % 3) * 10, 600000, now() + interval '1 hour'
            FROM generate_series(1, $1) i
            RETURNING id, priority
         )
         INSERT INTO deployment_queue (bot_id, priority, queued_at, timeout_at, stage, aged_at)
         SELECT id, priority, now() - make_interval(secs => (id - id % 7) / 1000.0), now() + interval '1 hour', -1,
                CASE id % 6 WHEN 0 THEN now() - interval '1 minute' WHEN 3 THEN now() + interval '1 minute' END
         FROM b",
    )
    .bind(n)
    .execute(db)
    .await
    .expect("queued");
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_walk_the_queue_in_dispatch_order(db: PgPool) {
    insert_pool(&db, "q", "zoom", 999).await;
    let now = Utc::now();
    let empty = queue::waiting_page(&db, now, None, 100).await.unwrap();
    assert!(empty.entries.is_empty() && empty.last.is_none());

    enqueue(&db, 700).await;
    let whole: Vec<i64> = queue::waiting(&db, now)
        .await
        .unwrap()
        .iter()
        .map(|w| w.bot_id)
        .collect();
    assert_eq!(whole.len(), 700);
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = queue::waiting_page(&db, now, after, 64).await.unwrap();
        assert!(page.entries.len() <= 64);
        paged.extend(page.entries.iter().map(|w| w.bot_id));
        if page.entries.len() < 64 {
            break;
        }
        after = page.last;
    }
    assert_eq!(
        paged, whole,
        "the pages, one after another, are the dispatch order"
    );
    // The aged entries (a sixth, ageing passed) come first.
    let aged: i64 = sqlx::query_scalar("SELECT count(*) FROM deployment_queue WHERE aged_at <= $1")
        .bind(now)
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(aged > 64, "the aged entries span more than one page");
    let first = queue::waiting_page(&db, now, None, 64).await.unwrap();
    let aged_ids: Vec<i64> =
        sqlx::query_scalar("SELECT bot_id FROM deployment_queue WHERE aged_at <= $1")
            .bind(now)
            .fetch_all(&db)
            .await
            .unwrap();
    assert!(first.entries.iter().all(|w| aged_ids.contains(&w.bot_id)));
}

/// k8s only, limit 1 (taken), waits of 30 s on k8s before the global queue.
async fn full_platform(db: PgPool, queued: usize) -> Harness {
    let env = [
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "1"),
        ("K8S_QUEUE_TIMEOUT_MS", "30000"),
    ];
    let h = harness(db, &env, false).await;
    sqlx::query("UPDATE pools SET max_size = 999 WHERE name = 'zoom'")
        .execute(&h.db)
        .await
        .unwrap();
    let first = h.router.create_bot(&bots::zoom(0)).await.unwrap();
    assert!(!first.is_queued(), "the one place is taken");
    for i in 1..=queued {
        let o = h.router.create_bot(&bots::zoom(i as u32)).await.unwrap();
        assert!(o.is_queued());
    }
    h
}

async fn on_k8s(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM deployment_queue WHERE stage_platform = 'k8s'")
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_pass_over_full_platforms_reads_one_page_but_moves_every_wait_that_is_over(db: PgPool) {
    let queued = PAGE + 60;
    let h = full_platform(db, queued).await;
    assert_eq!(on_k8s(&h.db).await, queued as i64);

    // Nothing can be granted and nothing is due: the pass offers capacity
    // to one page only.
    let pass = h.dispatcher.drain().await.unwrap();
    assert_eq!((pass.deployed, pass.waiting), (0, PAGE));
    assert_eq!(on_k8s(&h.db).await, queued as i64);

    // The k8s wait is over for all of them: every one moves on to the
    // global queue, the ones past the first page too.
    h.clock.advance(Duration::seconds(31));
    let pass = h.dispatcher.drain().await.unwrap();
    assert_eq!((pass.deployed, pass.waiting), (0, queued));
    assert_eq!(on_k8s(&h.db).await, 0);
    let global: i64 = sqlx::query_scalar("SELECT count(*) FROM deployment_queue WHERE stage = -1")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(global, queued as i64);
}

/// k8s's limit in [`a_pass_reads_on_while_capacity_lasts`]: its grants span
/// more than one page.
const LIMIT: usize = 290;
const _: () = assert!(PAGE < LIMIT);

#[sqlx::test(migrations = "../migrations")]
async fn a_pass_reads_on_while_capacity_lasts(db: PgPool) {
    // Room for 290 on k8s, 300 in the global queue: the pass reads past its
    // first page and grants in queue order until k8s is full.
    let env = [("PLATFORM_PRIORITY", "k8s"), ("K8S_BOT_LIMIT", "290")];
    let h = harness(db, &env, false).await;
    sqlx::query("UPDATE pools SET max_size = 999 WHERE name = 'zoom'")
        .execute(&h.db)
        .await
        .unwrap();
    let queued: Vec<i64> = sqlx::query_scalar(
        "WITH b AS (
            INSERT INTO bots (pool, meeting_platform, meeting_url, priority, queue_timeout_ms, deadline)
            SELECT 'zoom', 'zoom', 'https://zoom.us/j/' || i, 100, 600000, $1::timestamptz + interval '1 hour'
            FROM generate_series(1, 300) i
            RETURNING id
         ), q AS (
            INSERT INTO deployment_queue (bot_id, priority, queued_at, timeout_at, stage)
            SELECT id, 100, $1, $1::timestamptz + interval '1 hour', -1 FROM b
         )
         SELECT id FROM b ORDER BY id",
    )
    .bind(h.clock.now())
    .fetch_all(&h.db)
    .await
    .unwrap();
    let pass = h.dispatcher.drain().await.unwrap();
    assert_eq!(pass.deployed, LIMIT);
    let left: Vec<i64> = queue::waiting(&h.db, h.clock.now())
        .await
        .unwrap()
        .iter()
        .map(|w| w.bot_id)
        .collect();
    assert_eq!(
        left,
        queued[LIMIT..],
        "the last ten in queue order are left"
    );
}
