//! The desktop's alert watcher on a real database and the simulator, with
//! a recording notifier in place of the notification plugin: what the app
//! asks the plugin to show.

use berth_core::actor::Actor;
use berth_core::alert::AlertKind;
use berth_core::clock::Clock;
use berth_core::lifecycle;
use berth_core::meeting::BotStatus;
use berth_desktop::alerts::{AlertKinds, Recording, Watcher};
use berth_tests::{bot_id, bots, harness, Harness};
use sqlx::PgPool;
use std::sync::Arc;

/// One platform with room for one bot; the rest wait in the global queue.
const FULL: [(&str, &str); 4] = [
    ("PLATFORM_PRIORITY", "k8s"),
    ("K8S_BOT_LIMIT", "1"),
    ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ("GLOBAL_QUEUE_TIMEOUT_MS", "60000"),
];

fn watcher(kinds: Arc<AlertKinds>) -> (Watcher, Arc<Recording>) {
    let recording = Arc::new(Recording::default());
    (Watcher::new(kinds, recording.clone()), recording)
}

/// Fills the one platform: a running bot and `queued` more in the queue.
/// Returns the running bot.
async fn fill(h: &Harness, queued: u32) -> i64 {
    let running = bot_id(&h.router.create_bot(&bots::zoom(1)).await.unwrap());
    for n in 0..queued {
        h.router.create_bot(&bots::zoom(2 + n)).await.unwrap();
    }
    running
}

#[sqlx::test(migrations = "../migrations")]
async fn every_platform_full_shows_one_notification_and_one_when_it_ends(db: PgPool) {
    let h = harness(db.clone(), &FULL, false).await;
    let (mut w, shown) = watcher(Arc::default());
    assert!(w.check(&db, h.clock.now()).await.unwrap().is_empty());
    let running = fill(&h, 1).await;
    let pool = berth_core::bot::get(&db, running).await.unwrap().pool;

    let notices = w.check(&db, h.clock.now()).await.unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(
        shown.shown(),
        vec![(
            format!("Pool {pool} exhausted"),
            "1 bot queuing: every platform is at its limit.".to_string()
        )]
    );
    // Checks while it holds show nothing more.
    assert!(w.check(&db, h.clock.now()).await.unwrap().is_empty());
    assert_eq!(shown.shown().len(), 1);

    // Capacity returns: the running bot ends and the queued one deploys.
    lifecycle::report(&h.router, &Actor::cli(), running, BotStatus::Done, None)
        .await
        .unwrap();
    h.dispatcher.drain().await.unwrap();
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM deployment_queue")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(queued, 0, "the queue drained");
    let notices = w.check(&db, h.clock.now()).await.unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    let shown = shown.shown();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert_eq!(shown[1].0, format!("Pool {pool} back to normal"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_kind_switched_off_shows_and_lists_nothing(db: PgPool) {
    let h = harness(db.clone(), &FULL, false).await;
    let kinds = Arc::new(AlertKinds::default());
    kinds.set([AlertKind::PlatformDown, AlertKind::BotsExpired]);
    let (mut w, shown) = watcher(kinds.clone());
    fill(&h, 2).await;
    assert!(w.check(&db, h.clock.now()).await.unwrap().is_empty());
    assert!(shown.shown().is_empty());
    // Switched back on while it holds: already seen, not announced again.
    kinds.set([AlertKind::Exhausted]);
    assert!(w.check(&db, h.clock.now()).await.unwrap().is_empty());
    assert!(shown.shown().is_empty());
}
