//! Alerts on the simulator: every platform full makes one "exhausted"
//! alert however many bots queue, and one "back to normal" when capacity
//! returns; bots expiring in the queue are counted in one notice.

use berth_core::actor::Actor;
use berth_core::alert::{AlertKind, Watch};
use berth_core::clock::Clock;
use berth_core::lifecycle;
use berth_core::meeting::BotStatus;
use berth_core::queue;
use berth_tests::{bot_id, bots, harness};
use chrono::Duration;
use sqlx::PgPool;

/// One platform with room for one bot; the rest wait in the global queue.
const FULL: [(&str, &str); 4] = [
    ("PLATFORM_PRIORITY", "k8s"),
    ("K8S_BOT_LIMIT", "1"),
    ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ("GLOBAL_QUEUE_TIMEOUT_MS", "60000"),
];

#[sqlx::test(migrations = "../migrations")]
async fn every_platform_full_is_one_alert_until_capacity_returns(db: PgPool) {
    let h = harness(db.clone(), &FULL, false).await;
    let now = || h.clock.now();
    let mut watch = Watch::new();
    assert!(watch.check(&db, now()).await.unwrap().is_empty());

    let running = bot_id(&h.router.create_bot(&bots::zoom(1)).await.unwrap());
    assert!(
        watch.check(&db, now()).await.unwrap().is_empty(),
        "room for one"
    );
    h.router.create_bot(&bots::zoom(2)).await.unwrap();
    let pool = berth_core::bot::get(&db, running).await.unwrap().pool;
    let raised = watch.check(&db, now()).await.unwrap();
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].kind, AlertKind::Exhausted);
    assert!(raised[0].raised);
    assert_eq!(raised[0].key, pool);
    assert_eq!(
        raised[0].body,
        "1 bot queuing: every platform is at its limit."
    );
    // More bots queue: still one alert.
    for n in 3..8 {
        h.router.create_bot(&bots::zoom(n)).await.unwrap();
    }
    assert!(watch.check(&db, now()).await.unwrap().is_empty());

    // Capacity returns: the running bot ends, the queue drains one by one.
    let mut current = running;
    for _ in 0..6 {
        lifecycle::report(&h.router, &Actor::cli(), current, BotStatus::Done, None)
            .await
            .unwrap();
        h.dispatcher.drain().await.unwrap();
        current = sqlx::query_scalar(
            "SELECT id FROM bots WHERE status NOT IN ('DONE', 'FATAL', 'QUEUED') ORDER BY id LIMIT 1",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM deployment_queue")
            .fetch_one(&db)
            .await
            .unwrap();
        let notices = watch.check(&db, now()).await.unwrap();
        if queued > 0 {
            assert!(notices.is_empty(), "{queued} still queued: {notices:?}");
        } else {
            assert_eq!(notices.len(), 1, "{notices:?}");
            assert!(!notices[0].raised);
            assert_eq!(notices[0].title, format!("Pool {pool} back to normal"));
            return;
        }
    }
    panic!("the queue never drained");
}

#[sqlx::test(migrations = "../migrations")]
async fn bots_expiring_in_the_queue_are_counted_in_one_notice(db: PgPool) {
    let h = harness(db.clone(), &FULL, false).await;
    let now = || h.clock.now();
    h.router.create_bot(&bots::zoom(1)).await.unwrap();
    let mut watch = Watch::new();
    for n in 2..5 {
        h.router.create_bot(&bots::zoom(n)).await.unwrap();
    }
    assert_eq!(watch.check(&db, now()).await.unwrap().len(), 1, "exhausted");
    h.clock.advance(Duration::seconds(61));
    let expired = queue::expire(&db, now()).await.unwrap();
    assert_eq!(expired.len(), 3);
    let notices = watch.check(&db, now()).await.unwrap();
    let titles: Vec<&str> = notices.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(
        titles.contains(&"3 bots expired in the queue"),
        "{titles:?}"
    );
    assert!(notices
        .iter()
        .any(|n| n.kind == AlertKind::Exhausted && !n.raised));
    // Counted once.
    assert!(watch.check(&db, now()).await.unwrap().is_empty());
}
