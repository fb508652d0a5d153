//! The core's read models the faces format: the platform overview and the
//! status, peers, the bot list, the demo's snapshot, the simulator's
//! stored knobs and the database ping.

use berth_core::clock::Clock;
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::platform::sim::{self, SimKnobs};
use berth_core::platform::{self, Health};
use berth_core::{bot, db, demo, jobs, overview, peers, ErrorCode};
use berth_tests::{bots, slots};
use berth_tests::{harness, three_platforms, Harness};
use chrono::Duration;
use sqlx::PgPool;

/// `n` zoom bots through the router; their ids in order.
async fn bots(h: &Harness, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(h.router.create_bot(&bots::zoom(1)).await.unwrap().bot_id());
    }
    ids
}

#[sqlx::test(migrations = "../migrations")]
async fn the_overview_counts_the_queue_per_platform_and_the_global_queue(db: PgPool) {
    // k8s takes one bot; a request waits up to 10 min on it before the
    // next platform.
    let h = harness(db, &three_platforms("1", ["600000", "600000", "0"]), false).await;
    let ids = bots(&h, 3).await;
    let waiting: Vec<(i64, i32)> =
        sqlx::query_as("SELECT bot_id, stage FROM deployment_queue ORDER BY id")
            .fetch_all(&h.db)
            .await
            .unwrap();
    assert_eq!(
        waiting.len(),
        2,
        "3 placed (one per platform), 2 waiting: {waiting:?}"
    );
    // Move the last one on to the global queue, as its waits running out would.
    sqlx::query("UPDATE deployment_queue SET stage = -1, stage_platform = NULL, stage_deadline = NULL WHERE bot_id = $1")
        .bind(ids[2])
        .execute(&h.db)
        .await
        .unwrap();
    let o = overview::platforms(&h.db, h.clock.now(), None)
        .await
        .unwrap();
    let queued: Vec<(PlatformKind, i64)> = o
        .platforms
        .iter()
        .map(|p| (p.settings.platform, p.queued))
        .collect();
    assert_eq!(
        queued,
        [
            (PlatformKind::K8s, 1),
            (PlatformKind::Aws, 0),
            (PlatformKind::Coolify, 0),
            (PlatformKind::Local, 0)
        ]
    );
    assert_eq!(o.global_queued, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_overview_counts_slots_capacity_and_health_per_platform(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    slots::of("google-meet", PlatformKind::Aws)
        .create(&h.db)
        .await;
    bots(&h, 2).await;
    let now = h.clock.now();
    let me = sqlx::types::Uuid::from_u128(0x5eed);
    platform::record_health(&h.db, PlatformKind::K8s, Health::Degraded, now, me)
        .await
        .unwrap();
    platform::record_health(
        &h.db,
        PlatformKind::Aws,
        Health::Healthy,
        now - Duration::minutes(5),
        me,
    )
    .await
    .unwrap();

    let o = overview::platforms(&h.db, now, None).await.unwrap();
    let order: Vec<_> = o.platforms.iter().map(|p| p.settings.platform).collect();
    assert_eq!(
        order,
        vec![
            PlatformKind::K8s,
            PlatformKind::Aws,
            PlatformKind::Coolify,
            PlatformKind::Local
        ]
    );
    let (k8s, aws) = (&o.platforms[0], &o.platforms[1]);
    assert_eq!(k8s.used, 2, "both bots run on k8s (limit 2)");
    assert_eq!(k8s.slots.total, 2);
    assert_eq!(k8s.slots.busy + k8s.slots.deploying, 2);
    assert_eq!(k8s.health, Health::Degraded);
    assert_eq!((aws.used, aws.slots.idle, aws.slots.total), (0, 1, 1));
    assert_eq!(aws.health, Health::Unknown, "a stale check is unknown");
    assert_eq!(o.now, now);

    // With adapters to ask, a platform nobody checked recently is asked;
    // a fresh shared check still wins.
    let probed = overview::platforms(&h.db, now, Some(h.router.platforms()))
        .await
        .unwrap();
    assert_eq!(probed.platforms[0].health, Health::Degraded);
    assert_eq!(
        probed.platforms[1].health,
        Health::Healthy,
        "the simulator answers"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_status_names_the_leader_and_every_peer(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let now = h.clock.now();
    let s = overview::status(&h.db, now, None).await.unwrap();
    assert_eq!((s.leader, s.peers.len()), (None, 0));
    assert_eq!(s.queue.length, 0);
    assert_eq!(s.pools.len(), 3, "the default pools");
    assert!(!peers::anyone_serving(&h.db).await.unwrap());

    let (a, b) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
    jobs::heartbeat(&h.db, a, "serve").await.unwrap();
    jobs::heartbeat(&h.db, b, "desktop").await.unwrap();
    assert!(jobs::try_lead(&h.db, b, 15_000).await.unwrap());

    let s = overview::status(&h.db, now, None).await.unwrap();
    assert_eq!(s.leader, Some(b));
    let ids: Vec<_> = s.peers.iter().map(|p| (p.id, p.mode.as_str())).collect();
    assert_eq!(ids, vec![(a, "serve"), (b, "desktop")], "oldest first");
    assert!(peers::anyone_serving(&h.db).await.unwrap());

    // A heartbeat older than the serving window does not count.
    sqlx::query("UPDATE peers SET heartbeat_at = now() - interval '2 minutes'")
        .execute(&h.db)
        .await
        .unwrap();
    assert!(!peers::anyone_serving(&h.db).await.unwrap());
    assert_eq!(
        peers::list(&h.db).await.unwrap().len(),
        2,
        "listed until pruned"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn bots_are_listed_newest_first_by_status_up_to_the_limit(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let ids = bots(&h, 3).await;
    h.router
        .report(ids[1], BotStatus::Done, None)
        .await
        .unwrap();

    let all = bot::list(&h.db, None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1], ids[0]]
    );
    assert!(all.iter().all(|b| b.meeting_platform == "zoom"));
    let done = bot::list(&h.db, Some(BotStatus::Done), 10).await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].id, done[0].status), (ids[1], BotStatus::Done));
    assert_eq!(done[0].deployment_platform.map(|p| p.as_str()), Some("k8s"));
    assert_eq!(bot::list(&h.db, None, 2).await.unwrap().len(), 2);
    for bad in [0, bot::MAX_LIST + 1] {
        let e = bot::list(&h.db, None, bad).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{bad}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_demo_snapshot_counts_slots_queue_capacity_and_ended_bots(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let since = chrono::Utc::now() - Duration::seconds(1);
    let ids = bots(&h, 4).await;
    let now = h.clock.now();

    let s = demo::snapshot(&h.db, now, since).await.unwrap();
    assert_eq!(s.busy + s.deploying, 3, "one bot on each platform");
    assert_eq!(s.queue, 1, "the fourth waits");
    let caps: Vec<_> = s
        .platforms
        .iter()
        .map(|c| (c.platform.as_str(), c.used, c.limit))
        .collect();
    assert_eq!(
        caps,
        vec![("k8s", 1, 1), ("aws", 1, 1), ("coolify", 1, 1)],
        "routable platforms only (local has no limit)"
    );
    assert_eq!((s.done, s.fatal), (0, 0));

    h.router
        .report(ids[0], BotStatus::Done, None)
        .await
        .unwrap();
    h.router
        .report(ids[1], BotStatus::Fatal, Some("crashed"))
        .await
        .unwrap();
    let s = demo::snapshot(&h.db, now, since).await.unwrap();
    assert_eq!((s.done, s.fatal), (1, 1));
    let later = chrono::Utc::now() + Duration::seconds(1);
    let s = demo::snapshot(&h.db, now, later).await.unwrap();
    assert_eq!(
        (s.done, s.fatal),
        (0, 0),
        "only bots created since the demo began"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn stored_sim_knobs_read_back_what_was_set(db: PgPool) {
    let h = harness(db, &[], true).await;
    assert_eq!(
        sim::stored_knobs(&h.db, PlatformKind::Aws).await.unwrap(),
        Some(SimKnobs::default()),
        "the harness stores the defaults"
    );
    let k = SimKnobs {
        deploy_latency_ms: 250,
        failure_rate: 0.5,
        run_ms: Some(1_000),
        stop_fails: true,
        ..SimKnobs::default()
    };
    sim::set_knobs(&h.db, PlatformKind::Aws, &k).await.unwrap();
    assert_eq!(
        sim::stored_knobs(&h.db, PlatformKind::Aws).await.unwrap(),
        Some(k)
    );
    sqlx::query("DELETE FROM sim_knobs WHERE platform = 'k8s'")
        .execute(&h.db)
        .await
        .unwrap();
    assert_eq!(
        sim::stored_knobs(&h.db, PlatformKind::K8s).await.unwrap(),
        None
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn ping_answers_and_a_closed_pool_is_refused(db: PgPool) {
    let within = std::time::Duration::from_secs(3);
    db::ping(&db, within).await.unwrap();
    let other = berth_tests::wide_pool(&db, 1).await;
    other.close().await;
    assert!(db::ping(&other, within).await.is_err());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_queue_lists_entries_in_order_with_estimates_from_releases(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let running = bots(&h, 3).await;
    let mut queued = Vec::new();
    for _ in 0..2 {
        h.clock.advance(Duration::milliseconds(5));
        queued.extend(bots(&h, 1).await);
    }
    let now = h.clock.now();
    let q = overview::queue(&h.db, now).await.unwrap();
    assert_eq!(q.now, now);
    assert_eq!(
        q.entries
            .iter()
            .map(|w| (w.entry.bot_id, w.entry.position))
            .collect::<Vec<_>>(),
        vec![(queued[0], 1), (queued[1], 2)]
    );
    assert_eq!(q.release_rate_per_sec, 0.0);
    assert!(
        q.entries.iter().all(|w| w.estimated_wait_ms.is_none()),
        "no release observed yet: no estimate"
    );

    h.router
        .report(running[0], BotStatus::Done, None)
        .await
        .unwrap();
    h.dispatcher.drain().await.unwrap();
    // Releases are stamped with database time, which runs on while the
    // manual clock stands still.
    let later = now + Duration::minutes(1);
    let q = overview::queue(&h.db, later).await.unwrap();
    assert_eq!(
        q.entries.len(),
        1,
        "the first waiting bot took the freed capacity"
    );
    assert!(q.release_rate_per_sec > 0.0);
    assert_eq!(
        q.entries[0].estimated_wait_ms,
        Some((1.0 / q.release_rate_per_sec * 1000.0).round() as i64)
    );
}
