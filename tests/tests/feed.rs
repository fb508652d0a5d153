//! The change feed across instances, and the dispatcher it wakes.

use berth_core::bot;
use berth_core::clock::{Clock, ManualClock};
use berth_core::dispatch::Dispatcher;
use berth_core::feed::{ChangeEvent, Feed, Topic, MAX_SLOT_IDS};
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::platform::sim::{self, SimKnobs, SimPlatform};
use berth_core::platform::Platforms;
use berth_core::router::{DeployOutcome, Router};
use berth_tests::bots;
use berth_tests::{harness, three_platforms};
use chrono::Duration;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};
use tokio::sync::broadcast;

async fn next_change(rx: &mut broadcast::Receiver<ChangeEvent>) -> (uuid::Uuid, Vec<Topic>) {
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv())
            .await
            .expect("a change event arrives")
        {
            Ok(ChangeEvent::Changed { origin, topics, .. }) => return (origin, topics),
            Ok(_) => continue,
            Err(e) => panic!("feed closed: {e}"),
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn changes_reach_other_instances_coalesced(db: PgPool) {
    let (a, b) = (
        Feed::new(uuid::Uuid::new_v4(), true),
        Feed::new(uuid::Uuid::new_v4(), true),
    );
    let mut tasks = a.spawn(db.clone());
    tasks.extend(b.spawn(db.clone()));
    let mut rx = b.subscribe();
    // Wait until B listens (it announces a resync when its listener is up).
    loop {
        if matches!(rx.recv().await.unwrap(), ChangeEvent::Resync) {
            break;
        }
    }
    // A burst of 200 publishes inside one coalescing window.
    for i in 0..200 {
        a.publish(&[if i % 2 == 0 {
            Topic::Slots
        } else {
            Topic::Queue
        }]);
    }
    let (origin, topics) = next_change(&mut rx).await;
    assert_eq!(origin, a.origin());
    assert_eq!(
        topics,
        vec![Topic::Slots, Topic::Queue],
        "one notice carries every topic of the window"
    );
    // Nothing else was sent for that burst: the next notice is the next change.
    a.publish(&[Topic::Settings]);
    let (_, topics) = next_change(&mut rx).await;
    assert_eq!(
        topics,
        vec![Topic::Settings],
        "the burst produced a single notice"
    );
    for t in tasks {
        t.abort();
    }
}

/// The next `Changed` event's topics and slot ids.
async fn next_slot_ids(
    rx: &mut broadcast::Receiver<ChangeEvent>,
) -> (Vec<Topic>, Option<Vec<i64>>) {
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv())
            .await
            .expect("a change event arrives")
        {
            Ok(ChangeEvent::Changed {
                topics, slot_ids, ..
            }) => return (topics, slot_ids),
            Ok(_) => continue,
            Err(e) => panic!("feed closed: {e}"),
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn slot_ids_reach_other_instances_bounded_else_the_whole_list(db: PgPool) {
    let (a, b) = (
        Feed::new(uuid::Uuid::new_v4(), true),
        Feed::new(uuid::Uuid::new_v4(), true),
    );
    let mut tasks = a.spawn(db.clone());
    tasks.extend(b.spawn(db.clone()));
    let mut rx = b.subscribe();
    while !matches!(rx.recv().await.unwrap(), ChangeEvent::Resync) {}
    // Each case is published after the previous notice arrived: its own window.
    a.publish_slots(&[Topic::Audit], &[9, 4]);
    a.publish(&[Topic::Queue]);
    a.publish_slots(&[Topic::Slots], &[4, 2]);
    let got = next_slot_ids(&mut rx).await;
    if got.1 == Some(vec![4, 9]) {
        // The first publish went out at once; the rest came in the next window.
        assert_eq!(next_slot_ids(&mut rx).await.1, Some(vec![2, 4]));
    } else {
        assert_eq!(
            got.1,
            Some(vec![2, 4, 9]),
            "every id of the window, once each"
        );
        assert_eq!(got.0, vec![Topic::Slots, Topic::Queue, Topic::Audit]);
    }
    // More ids than a notice carries: the whole list (ids stay under the NOTIFY limit).
    let many: Vec<i64> = (1..=MAX_SLOT_IDS as i64 + 1)
        .map(|i| i * 1_000_000_007)
        .collect();
    a.publish_slots(&[], &many);
    assert_eq!(next_slot_ids(&mut rx).await, (vec![Topic::Slots], None));
    let most: Vec<i64> = many[..MAX_SLOT_IDS].to_vec();
    a.publish_slots(&[], &most);
    assert_eq!(next_slot_ids(&mut rx).await.1, Some(most));
    // A publisher that did not name its slots makes the window the whole list.
    a.publish_slots(&[], &[1]);
    a.publish(&[Topic::Slots]);
    let mut last = next_slot_ids(&mut rx).await;
    if last.1.is_some() {
        last = next_slot_ids(&mut rx).await;
    }
    assert_eq!(last.1, None);
    // Topics without slots carry no ids.
    a.publish(&[Topic::Bots]);
    assert_eq!(next_slot_ids(&mut rx).await, (vec![Topic::Bots], None));
    for t in tasks {
        t.abort();
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_release_in_one_instance_wakes_the_dispatcher_of_another(db: PgPool) {
    // Instance A: the harness router (creates and releases bots), with its feed on.
    let h = harness(db.clone(), &three_platforms("1", ["0", "0", "0"]), false).await;
    let feed_a = Feed::new(uuid::Uuid::new_v4(), true);
    let clock: Arc<dyn Clock> = h.clock.clone();
    let mut platforms = Platforms::new();
    for kind in PlatformKind::ALL {
        platforms.insert(Arc::new(SimPlatform::new(*kind, db.clone(), clock.clone())));
    }
    let router_a = Router::new(db.clone(), clock.clone(), feed_a.clone(), platforms.clone());
    let mut tasks = feed_a.spawn(db.clone());
    // Instance B: only a dispatcher, on a clock that never ticks — only the feed can wake it.
    let still: Arc<dyn Clock> = ManualClock::starting_now();
    let feed_b = Feed::new(uuid::Uuid::new_v4(), true);
    let mut rx = feed_b.subscribe();
    tasks.extend(feed_b.spawn(db.clone()));
    while !matches!(rx.recv().await.unwrap(), ChangeEvent::Resync) {}
    let router_b = Router::new(db.clone(), still, feed_b.clone(), platforms);
    let dispatcher_b = Dispatcher::new(router_b);
    let (_stopper, stop) = berth_core::stop::Stopper::new();
    tasks.push(tokio::spawn(
        dispatcher_b.clone().run(Duration::days(1), stop),
    ));

    let req = bots::zoom(2);
    let mut running = Vec::new();
    for _ in 0..3 {
        let DeployOutcome::Deployed { bot_id, .. } = router_a.create_bot(&req).await.unwrap()
        else {
            panic!()
        };
        running.push(bot_id);
    }
    let DeployOutcome::Queued {
        bot_id: waiting, ..
    } = router_a.create_bot(&req).await.unwrap()
    else {
        panic!()
    };
    router_a
        .report(running[0], BotStatus::Done, None)
        .await
        .unwrap();

    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        if bot::get(&db, waiting).await.unwrap().status == BotStatus::JoiningCall {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "instance B's dispatcher was not woken by A's release"
        );
        let _ = tokio::time::timeout(StdDuration::from_millis(200), rx.recv()).await;
    }
    for t in tasks {
        t.abort();
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn slow_starts_do_not_hold_up_the_queue(db: PgPool) {
    let h = harness(
        db,
        &[
            ("PLATFORM_PRIORITY", "k8s"),
            ("K8S_BOT_LIMIT", "4"),
            ("K8S_QUEUE_TIMEOUT_MS", "0"),
        ],
        false,
    )
    .await;
    let req = bots::zoom(3);
    let mut running = Vec::new();
    for _ in 0..4 {
        let DeployOutcome::Deployed { bot_id, .. } = h.router.create_bot(&req).await.unwrap()
        else {
            panic!()
        };
        running.push(bot_id);
    }
    let mut queued = Vec::new();
    for _ in 0..3 {
        queued.push(match h.router.create_bot(&req).await.unwrap() {
            DeployOutcome::Queued { bot_id, .. } => bot_id,
            other => panic!("{other:?}"),
        });
    }
    // Every start now takes 10 s of clock time.
    sim::set_knobs(
        &h.db,
        PlatformKind::K8s,
        &SimKnobs {
            deploy_latency_ms: 10_000,
            ..SimKnobs::default()
        },
    )
    .await
    .unwrap();
    for id in &running[..3] {
        h.router.report(*id, BotStatus::Done, None).await.unwrap();
    }
    let detached = Dispatcher::spawning(h.router.clone());
    let report = detached.drain().await.unwrap();
    assert_eq!(
        report.deployed, 3,
        "one pass reserves for all three without waiting for their starts"
    );
    assert_eq!(h.router.inflight().count(), 3);
    // All three starts are under way at once; one stretch of 10 s completes them.
    tokio::time::timeout(StdDuration::from_secs(10), h.clock.wait_for_sleepers(3))
        .await
        .expect("three concurrent starts");
    h.clock.advance(Duration::seconds(10));
    tokio::time::timeout(StdDuration::from_secs(10), h.router.inflight().wait_idle())
        .await
        .expect("starts finish");
    for id in queued {
        assert_eq!(
            bot::get(&h.db, id).await.unwrap().status,
            BotStatus::JoiningCall
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn requests_moving_on_after_a_platform_wait_start_concurrently(db: PgPool) {
    let h = harness(
        db,
        &[
            ("PLATFORM_PRIORITY", "k8s,aws"),
            ("K8S_BOT_LIMIT", "1"),
            ("AWS_BOT_LIMIT", "3"),
            ("K8S_QUEUE_TIMEOUT_MS", "1000"),
            ("AWS_QUEUE_TIMEOUT_MS", "0"),
        ],
        false,
    )
    .await;
    let req = bots::zoom(4);
    h.router.create_bot(&req).await.unwrap();
    let mut waiting = Vec::new();
    for _ in 0..3 {
        match h.router.create_bot(&req).await.unwrap() {
            DeployOutcome::Queued {
                bot_id,
                waiting_on: Some(PlatformKind::K8s),
                ..
            } => waiting.push(bot_id),
            other => panic!("{other:?}"),
        }
    }
    sim::set_knobs(
        &h.db,
        PlatformKind::Aws,
        &SimKnobs {
            deploy_latency_ms: 10_000,
            ..SimKnobs::default()
        },
    )
    .await
    .unwrap();
    h.clock.advance(Duration::milliseconds(1_001));
    let detached = Dispatcher::spawning(h.router.clone());
    assert_eq!(
        detached.drain().await.unwrap().deployed,
        3,
        "the pass does not wait for each start"
    );
    tokio::time::timeout(StdDuration::from_secs(10), h.clock.wait_for_sleepers(3))
        .await
        .expect("three concurrent starts on aws");
    h.clock.advance(Duration::seconds(10));
    tokio::time::timeout(StdDuration::from_secs(10), h.router.inflight().wait_idle())
        .await
        .expect("starts finish");
    for id in waiting {
        let b = bot::get(&h.db, id).await.unwrap();
        assert_eq!(
            (b.status, b.deployment_platform.map(|p| p.as_str())),
            (BotStatus::JoiningCall, Some("aws"))
        );
    }
}

#[tokio::test]
async fn an_instance_hears_its_own_changes_at_once_without_the_database() {
    // No flusher, no listener, no database: what wakes this instance's
    // dispatcher right after a release here.
    let feed = Feed::new(uuid::Uuid::new_v4(), true);
    let mut here = feed.subscribe_here();
    feed.publish(&[Topic::Bots, Topic::Slots]);
    let topics = here.try_recv().expect("delivered at once");
    assert!(topics.contains(Topic::Slots) && topics.contains(Topic::Bots));
    assert!(!topics.contains(Topic::Queue));
    // A disabled feed delivers nothing.
    let off = Feed::new(uuid::Uuid::new_v4(), false);
    let mut none = off.subscribe_here();
    off.publish(&[Topic::Slots]);
    assert!(none.try_recv().is_err());
}

/// A process that publishes and stops at once (a one-shot CLI command)
/// still announces the change: the flusher sends a first change at once,
/// and the last flush at shutdown waits for that send instead of finding
/// nothing pending while the flusher, stopped next, had the topics in hand.
#[sqlx::test(migrations = "../migrations")]
async fn a_change_published_just_before_shutdown_is_always_announced(db: PgPool) {
    let mut listener = sqlx::postgres::PgListener::connect_with(&db).await.unwrap();
    listener.listen(berth_core::feed::CHANNEL).await.unwrap();
    const ROUNDS: usize = 30;
    for _ in 0..ROUNDS {
        let feed = Feed::new(uuid::Uuid::new_v4(), true);
        let flusher = feed.spawn_flusher(db.clone()).unwrap();
        feed.publish(&[Topic::Queue]);
        // The flusher takes the topics and starts its NOTIFY.
        tokio::task::yield_now().await;
        feed.flush(&db).await.unwrap();
        flusher.abort();
    }
    for i in 0..ROUNDS {
        tokio::time::timeout(StdDuration::from_secs(10), listener.recv())
            .await
            .unwrap_or_else(|_| panic!("notice {} of {ROUNDS} never came", i + 1))
            .unwrap();
    }
}
