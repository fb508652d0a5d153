//! Background jobs: recovery, reconciliation, pre-warming.

use berth_core::actor::Actor;
use berth_core::clock::Clock;
use berth_core::clock::ManualClock;
use berth_core::config::JobsConfig;
use berth_core::jobs;
use berth_core::meeting::{BotStatus, PlatformKind, SlotStatus};
use berth_core::platform::sim::SimPlatform;
use berth_core::platform::sim::{self, SimKnobs};
use berth_core::platform::{Platform, PlatformError, SlotRef, Workload};
use berth_core::router::DeployOutcome;
use berth_core::router::Router;
use berth_core::{bot, slot};
use berth_tests::wrapped::{Around, Wrapped};
use berth_tests::{bots, slots};
use berth_tests::{harness, harness_on, three_platforms, Harness};
use chrono::Duration;
use sqlx::PgPool;
use std::sync::Arc;

fn jobs_cfg(h: &Harness) -> JobsConfig {
    h.config.jobs.clone()
}

async fn deploy(h: &Harness) -> i64 {
    deploy_with(&h.router).await
}

/// A slot left `deploying` by an instance that died between reservation and start.
async fn stuck_deploying(h: &Harness) -> (i64, i64) {
    let bot: i64 = sqlx::query_scalar(
        "INSERT INTO bots (pool, meeting_platform, meeting_url, status, deployment_platform)
         VALUES ('google-meet', 'google-meet', 'https://m/1', 'DEPLOYING', 'k8s') RETURNING id",
    )
    .fetch_one(&h.db)
    .await
    .unwrap();
    let lease = slots::of("google-meet", PlatformKind::K8s)
        .holding(bot)
        .create(&h.db)
        .await;
    (lease.slot_id, bot)
}

#[sqlx::test(migrations = "../migrations")]
async fn a_slot_stuck_deploying_is_recovered_after_the_timeout(db: PgPool) {
    let h = harness(db, &three_platforms("5", ["0", "0", "0"]), false).await;
    let (slot_id, bot_id) = stuck_deploying(&h).await;
    let cfg = jobs_cfg(&h);
    assert_eq!(cfg.deploying_timeout_ms, 300_000, "5 minutes by default");

    h.clock.advance(Duration::minutes(4));
    assert_eq!(
        jobs::recover(&h.router, &cfg).await.unwrap().recovered,
        0,
        "not stuck yet"
    );
    h.clock.advance(Duration::minutes(1) + Duration::seconds(1));
    assert_eq!(jobs::recover(&h.router, &cfg).await.unwrap().recovered, 1);
    let s = slot::get(&h.db, slot_id).await.unwrap();
    assert_eq!((s.status.as_str(), s.assigned_bot_id), ("idle", None));
    let b = bot::get(&h.db, bot_id).await.unwrap();
    assert_eq!(b.status, BotStatus::Fatal);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_error_slot_is_recovered_and_three_failures_delete_it(db: PgPool) {
    let h = harness(db, &three_platforms("5", ["0", "0", "0"]), false).await;
    // Two failing slots: one recovers once the platform answers, one never does.
    let bot = deploy(&h).await;
    let s = slot::of_bot(&h.db, bot).await.unwrap().unwrap();
    let mut conn = h.db.acquire().await.unwrap();
    slot::mark_error(
        &mut conn,
        s.id,
        Some(s.epoch),
        "Container crashed",
        h.clock.now(),
    )
    .await
    .unwrap()
    .unwrap();
    sim::set_knobs(
        &h.db,
        PlatformKind::K8s,
        &SimKnobs {
            stop_fails: true,
            ..SimKnobs::default()
        },
    )
    .await
    .unwrap();
    let cfg = jobs_cfg(&h);
    for attempt in 1..=2 {
        let r = jobs::recover(&h.router, &cfg).await.unwrap();
        assert_eq!((r.failed_attempts, r.deleted), (1, 0));
        assert_eq!(
            slot::get(&h.db, s.id).await.unwrap().recovery_attempts,
            attempt
        );
    }
    let r = jobs::recover(&h.router, &cfg).await.unwrap();
    assert_eq!(r.deleted, 1, "the third failed attempt deletes the slot");
    assert_eq!(
        slot::get(&h.db, s.id).await.unwrap_err().code(),
        berth_core::ErrorCode::NotFound
    );
    let resources: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sim_workloads WHERE resource = $1")
            .bind(&s.platform_ref)
            .fetch_one(&h.db)
            .await
            .unwrap();
    assert_eq!(resources, 0, "its platform resource is deleted too");
    let last: String = sqlx::query_scalar(
        "SELECT reason FROM slot_history WHERE slot_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(s.id)
    .fetch_one(&h.db)
    .await
    .unwrap();
    assert!(last.contains("3 failed recovery attempts"), "{last}");

    // A recoverable one: stop works again → idle, attempts reset.
    sim::set_knobs(&h.db, PlatformKind::K8s, &SimKnobs::default())
        .await
        .unwrap();
    let bot2 = deploy(&h).await;
    let s2 = slot::of_bot(&h.db, bot2).await.unwrap().unwrap();
    slot::mark_error(
        &mut conn,
        s2.id,
        Some(s2.epoch),
        "Container crashed",
        h.clock.now(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(jobs::recover(&h.router, &cfg).await.unwrap().recovered, 1);
    let after = slot::get(&h.db, s2.id).await.unwrap();
    assert_eq!(
        (after.status.as_str(), after.recovery_attempts),
        ("idle", 0)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_listing_is_unknown_and_deletes_nothing(db: PgPool) {
    let h = harness(db, &three_platforms("5", ["0", "0", "0"]), false).await;
    let bots = [deploy(&h).await, deploy(&h).await];
    sim::set_knobs(
        &h.db,
        PlatformKind::K8s,
        &SimKnobs {
            list_fails: true,
            ..SimKnobs::default()
        },
    )
    .await
    .unwrap();
    let report = jobs::reconcile(&h.router).await.unwrap();
    assert_eq!(report.unknown, vec![PlatformKind::K8s]);
    assert_eq!(report.finished, 0);
    for b in bots {
        assert_eq!(
            bot::get(&h.db, b).await.unwrap().status,
            BotStatus::JoiningCall
        );
        assert_eq!(
            slot::of_bot(&h.db, b).await.unwrap().unwrap().status,
            "busy"
        );
    }
    let slots: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(slots, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_exited_workload_releases_its_slot_and_ends_its_bot(db: PgPool) {
    let h = harness(db, &three_platforms("5", ["0", "0", "0"]), false).await;
    sim::set_knobs(
        &h.db,
        PlatformKind::K8s,
        &SimKnobs {
            run_ms: Some(60_000),
            ..SimKnobs::default()
        },
    )
    .await
    .unwrap();
    let finished = deploy(&h).await;
    let crashed = deploy(&h).await;
    let vanished = deploy(&h).await;
    assert_eq!(
        jobs::reconcile(&h.router).await.unwrap().finished,
        0,
        "still running"
    );

    assert!(sim::exit_workload(&h.db, PlatformKind::K8s, crashed, false)
        .await
        .unwrap());
    let gone = slot::of_bot(&h.db, vanished).await.unwrap().unwrap();
    sqlx::query("DELETE FROM sim_workloads WHERE resource = $1")
        .bind(&gone.platform_ref)
        .execute(&h.db)
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(61));
    let report = jobs::reconcile(&h.router).await.unwrap();
    assert_eq!(report.finished, 3);
    assert_eq!(
        bot::get(&h.db, finished).await.unwrap().status,
        BotStatus::Done
    );
    let c = bot::get(&h.db, crashed).await.unwrap();
    assert_eq!(c.status, BotStatus::Fatal);
    assert!(c.error.unwrap().contains("workload failed"));
    let v = bot::get(&h.db, vanished).await.unwrap();
    assert_eq!(
        v.error.as_deref(),
        Some("workload vanished from the platform")
    );
    let idle = slot::list(
        &h.db,
        &slot::SlotFilter {
            statuses: vec![SlotStatus::Idle],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(idle.len(), 3, "every released slot is idle");
    let forgotten = slot::get(&h.db, gone.id).await.unwrap();
    assert_eq!(
        forgotten.platform_ref, None,
        "a vanished resource is forgotten, to be recreated on next use"
    );
    // The slot is usable again: the next deploys recreate its resource.
    for _ in 0..3 {
        deploy(&h).await;
    }
    assert!(slot::get(&h.db, gone.id)
        .await
        .unwrap()
        .platform_ref
        .is_some());
}

#[sqlx::test(migrations = "../migrations")]
async fn pre_warming_keeps_the_configured_idle_slots(db: PgPool) {
    let mut env = three_platforms("5", ["0", "0", "0"]);
    env.push(("POOL_ZOOM_PREWARM_COUNT", "3"));
    let h = harness(db, &env, false).await;
    assert_eq!(jobs::prewarm(&h.router).await.unwrap(), 3);
    assert_eq!(jobs::prewarm(&h.router).await.unwrap(), 0, "already warm");
    let zoom = slot::list(
        &h.db,
        &slot::SlotFilter {
            pool: Some("zoom".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(zoom.len(), 3);
    assert!(zoom
        .iter()
        .all(|s| s.status == "idle" && s.platform_ref.is_some() && s.deployment_platform == "k8s"));
    let pulled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM platform_images WHERE image LIKE '%zoom%'")
            .fetch_one(&h.db)
            .await
            .unwrap();
    assert_eq!(pulled, 1, "the image is pulled ahead of demand");
}

#[sqlx::test(migrations = "../migrations")]
async fn leadership_is_exclusive_and_passes_on_when_the_lease_expires(db: PgPool) {
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    assert!(jobs::try_lead(&db, a, 60_000).await.unwrap());
    assert!(
        !jobs::try_lead(&db, b, 60_000).await.unwrap(),
        "a live lease is exclusive"
    );
    assert!(
        jobs::try_lead(&db, a, 60_000).await.unwrap(),
        "the holder renews"
    );
    sqlx::query("UPDATE leader SET expires_at = now() - interval '1 millisecond'")
        .execute(&db)
        .await
        .unwrap();
    assert!(
        jobs::try_lead(&db, b, 60_000).await.unwrap(),
        "an expired lease is taken over"
    );
    assert!(!jobs::try_lead(&db, a, 60_000).await.unwrap());
    let term: i64 = sqlx::query_scalar("SELECT term FROM leader")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(term, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn recorded_health_is_shared_and_a_stale_check_is_unknown(db: PgPool) {
    use berth_core::platform::{record_health, shared_health, Health};
    let me = uuid::Uuid::new_v4();
    let t0 = chrono::Utc::now();
    assert!(
        record_health(&db, PlatformKind::K8s, Health::Healthy, t0, me)
            .await
            .unwrap(),
        "first record is a change"
    );
    assert!(
        !record_health(&db, PlatformKind::K8s, Health::Healthy, t0, me)
            .await
            .unwrap(),
        "same health: no change"
    );
    assert!(record_health(&db, PlatformKind::Aws, Health::Down, t0, me)
        .await
        .unwrap());
    let max_age = Duration::seconds(15);
    let now = shared_health(&db, t0 + Duration::seconds(5), max_age)
        .await
        .unwrap();
    assert_eq!(now.get(&PlatformKind::K8s), Some(&Health::Healthy));
    assert_eq!(now.get(&PlatformKind::Aws), Some(&Health::Down));
    assert_eq!(now.get(&PlatformKind::Coolify), None, "never checked");
    let later = shared_health(&db, t0 + Duration::seconds(16), max_age)
        .await
        .unwrap();
    assert_eq!(
        later.get(&PlatformKind::K8s),
        Some(&Health::Unknown),
        "an old check is not 'healthy'"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn peers_that_stopped_heartbeating_are_pruned(db: PgPool) {
    let (alive, dead) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    jobs::heartbeat(&db, alive, "serve").await.unwrap();
    jobs::heartbeat(&db, dead, "serve").await.unwrap();
    sqlx::query("UPDATE peers SET heartbeat_at = now() - interval '1 minute' WHERE id = $1")
        .bind(dead)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(jobs::prune_peers(&db, 45_000).await.unwrap(), 1);
    let left: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM peers")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(left, vec![alive]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_pools_definition_sets_its_own_deploying_timeout_and_attempts(db: PgPool) {
    let h = harness(db, &three_platforms("5", ["0", "0", "0"]), false).await;
    // google-meet's definition: stuck after 1 minute, deleted after 1 failed attempt.
    berth_core::definition::apply(
        &h.db,
        h.router.feed(),
        "name: google-meet\nmeeting_platform: google-meet\nimage: bots/meet\nmax_size: 10\nrecovery:\n  deploying_timeout: 1m\n  max_attempts: 1\n",
        &Actor::system("test"),
    )
    .await
    .unwrap();
    let (stuck, _) = stuck_deploying(&h).await;
    let cfg = jobs_cfg(&h);
    assert_eq!(
        cfg.deploying_timeout_ms, 300_000,
        "the global timeout is 5 minutes"
    );
    h.clock.advance(Duration::seconds(59));
    assert_eq!(jobs::recover(&h.router, &cfg).await.unwrap().recovered, 0);
    h.clock.advance(Duration::seconds(2));
    assert_eq!(
        jobs::recover(&h.router, &cfg).await.unwrap().recovered,
        1,
        "the pool's 1 minute, not the global 5"
    );
    assert_eq!(slot::get(&h.db, stuck).await.unwrap().status, "idle");

    // One failed stop is enough to delete an error slot of this pool.
    let bot = deploy(&h).await;
    let s = slot::of_bot(&h.db, bot).await.unwrap().unwrap();
    let mut conn = h.db.acquire().await.unwrap();
    slot::mark_error(&mut conn, s.id, Some(s.epoch), "crashed", h.clock.now())
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    sim::set_knobs(
        &h.db,
        PlatformKind::K8s,
        &SimKnobs {
            stop_fails: true,
            ..SimKnobs::default()
        },
    )
    .await
    .unwrap();
    let r = jobs::recover(&h.router, &cfg).await.unwrap();
    assert_eq!((r.failed_attempts, r.deleted), (1, 1), "{r:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn pre_warming_skips_a_platform_that_fails_its_checks(db: PgPool) {
    let mut env = three_platforms("5", ["0", "0", "0"]);
    env.push(("POOL_ZOOM_PREWARM_COUNT", "2"));
    let h = harness(db, &env, false).await;
    h.router
        .record_health(PlatformKind::K8s, berth_core::platform::Health::Down, None)
        .await
        .unwrap();
    assert_eq!(jobs::prewarm(&h.router).await.unwrap(), 2);
    let platforms: Vec<String> =
        sqlx::query_scalar("SELECT deployment_platform FROM pool_slots WHERE pool = 'zoom'")
            .fetch_all(&h.db)
            .await
            .unwrap();
    assert_eq!(
        platforms,
        ["aws", "aws"],
        "the next healthy platform, not k8s"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn pre_warming_fills_the_next_platforms_when_the_first_is_at_its_limit(db: PgPool) {
    let mut env = three_platforms("2", ["0", "0", "0"]);
    env.push(("POOL_ZOOM_PREWARM_COUNT", "3"));
    let h = harness(db, &env, false).await;
    // k8s, first in priority order, is at its limit of 2 bots.
    for _ in 0..2 {
        let bot = berth_tests::insert_bot(&h.db, "zoom").await;
        sqlx::query(
            "UPDATE bots SET status = 'IN_CALL', deployment_platform = 'k8s' WHERE id = $1",
        )
        .bind(bot)
        .execute(&h.db)
        .await
        .unwrap();
    }
    assert_eq!(jobs::prewarm(&h.router).await.unwrap(), 3);
    let platforms: Vec<String> = sqlx::query_scalar(
        "SELECT deployment_platform FROM pool_slots WHERE pool = 'zoom' ORDER BY deployment_platform",
    )
    .fetch_all(&h.db)
    .await
    .unwrap();
    assert_eq!(
        platforms,
        ["aws", "aws", "coolify"],
        "aws takes what its limit of 2 allows, coolify the rest; nothing on the full k8s"
    );
    assert_eq!(jobs::prewarm(&h.router).await.unwrap(), 0, "already warm");
}

#[test]
fn a_pre_warm_plan_takes_each_platform_s_room_in_priority_order() {
    use jobs::prewarm::{plan, Room};
    let room = |platform, room, idle| Room {
        platform,
        room,
        idle,
    };
    let (k8s, aws, coolify) = (PlatformKind::K8s, PlatformKind::Aws, PlatformKind::Coolify);
    // Room everywhere: all on the first platform.
    assert_eq!(plan(3, [room(k8s, 10, 0), room(aws, 10, 0)]), [(k8s, 3)]);
    // The pool's idle slots already on a platform use its room.
    assert_eq!(
        plan(4, [room(k8s, 3, 1), room(aws, 1, 0), room(coolify, 9, 0)]),
        [(k8s, 2), (aws, 1), (coolify, 1)]
    );
    // Over its limit (a lowered limit): no room, and no negative take.
    assert_eq!(plan(2, [room(k8s, -1, 0), room(aws, 5, 0)]), [(aws, 2)]);
    // No room anywhere: nothing made.
    assert_eq!(plan(2, [room(k8s, 0, 0), room(aws, 1, 1)]), []);
    assert_eq!(plan(0, [room(k8s, 5, 0)]), []);
}

/// A slot of `pool` in `error` (no bot, no resource).
async fn error_slot(h: &Harness, pool: &str) -> i64 {
    let mut conn = h.db.acquire().await.unwrap();
    let lease = slots::of(pool, PlatformKind::K8s)
        .create_on(&mut conn)
        .await;
    slot::mark_error(
        &mut conn,
        lease.slot_id,
        Some(lease.epoch),
        "crashed",
        h.clock.now(),
    )
    .await
    .unwrap()
    .unwrap();
    lease.slot_id
}

#[sqlx::test(migrations = "../migrations")]
async fn each_pool_is_recovered_on_its_own_recovery_interval(db: PgPool) {
    // Issue 11, item 15: a definition's `recovery.interval` was validated
    // and documented, but every pool recovered on the global interval.
    let h = harness(db, &three_platforms("5", ["0", "0", "0"]), false).await;
    berth_core::definition::apply(
        &h.db,
        h.router.feed(),
        "name: google-meet\nmeeting_platform: google-meet\nimage: bots/meet\nmax_size: 10\nrecovery:\n  interval: 10s\n",
        &Actor::system("test"),
    )
    .await
    .unwrap();
    let cfg = jobs_cfg(&h);
    assert_eq!(
        cfg.recovery_interval_ms, 300_000,
        "zoom's: the global 5 minutes"
    );
    let intervals: std::collections::HashMap<_, _> = jobs::recovery_intervals(&h.router, &cfg)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(intervals["google-meet"], Duration::seconds(10));
    assert_eq!(intervals["zoom"], Duration::minutes(5));

    // The leader's first run covers every pool.
    let mut last = std::collections::HashMap::new();
    jobs::recover_due(&h.router, &cfg, &mut last).await.unwrap();
    let meet = error_slot(&h, "google-meet").await;
    let zoom = error_slot(&h, "zoom").await;
    let status = |id| {
        let db = h.db.clone();
        async move { slot::get(&db, id).await.unwrap().status }
    };

    h.clock.advance(Duration::seconds(9));
    let r = jobs::recover_due(&h.router, &cfg, &mut last).await.unwrap();
    assert_eq!(r.recovered, 0, "not due yet");
    h.clock.advance(Duration::seconds(1));
    let r = jobs::recover_due(&h.router, &cfg, &mut last).await.unwrap();
    assert_eq!(r.recovered, 1, "google-meet's 10 s");
    assert_eq!(status(meet).await, "idle");
    assert_eq!(
        status(zoom).await,
        "error",
        "zoom waits for the global interval"
    );

    h.clock.advance(Duration::seconds(289));
    assert_eq!(
        jobs::recover_due(&h.router, &cfg, &mut last)
            .await
            .unwrap()
            .recovered,
        0
    );
    assert_eq!(status(zoom).await, "error");
    h.clock.advance(Duration::seconds(1));
    assert_eq!(
        jobs::recover_due(&h.router, &cfg, &mut last)
            .await
            .unwrap()
            .recovered,
        1
    );
    assert_eq!(status(zoom).await, "idle");
}

/// The simulator, whose listing is taken *before* a hook runs: what a slow
/// platform answer looks like when a router deploys into a slot meanwhile.
/// (A wrapper, not a mock: every call reaches the real simulator.)
struct SlowListing {
    /// Runs once, after the listing was read and before it is returned.
    meanwhile: std::sync::Mutex<Option<Router>>,
    /// Once, as a stop begins: a router that was only cut off tries to
    /// mark the stopped slot busy (its start just finished); whether it could.
    during_stop: std::sync::Mutex<Option<PgPool>>,
    marked_busy: std::sync::Mutex<Option<bool>>,
}

impl SlowListing {
    fn new(db: &PgPool) -> Arc<Wrapped<SlowListing>> {
        Wrapped::new(
            Arc::new(SimPlatform::new(
                PlatformKind::K8s,
                db.clone(),
                ManualClock::starting_now(),
            )),
            SlowListing {
                meanwhile: std::sync::Mutex::new(None),
                during_stop: std::sync::Mutex::new(None),
                marked_busy: std::sync::Mutex::new(None),
            },
        )
    }
}

#[async_trait::async_trait]
impl Around for SlowListing {
    async fn stop(&self, inner: &dyn Platform, slot: &SlotRef) -> Result<(), PlatformError> {
        let db = self.during_stop.lock().unwrap().take();
        if let Some(db) = db {
            let busy = slot::mark_busy(&db, slot.slot_id, slot.epoch, chrono::Utc::now())
                .await
                .unwrap();
            *self.marked_busy.lock().unwrap() = Some(busy);
        }
        inner.stop(slot).await
    }
    async fn list(&self, inner: &dyn Platform) -> Result<Vec<Workload>, PlatformError> {
        let listing = inner.list().await?;
        let router = self.meanwhile.lock().unwrap().take();
        if let Some(router) = router {
            deploy_with(&router).await;
        }
        Ok(listing)
    }
}

async fn deploy_with(router: &Router) -> i64 {
    let o = router.create_bot(&bots::meet()).await.unwrap();
    match o {
        DeployOutcome::Deployed { bot_id, .. } => bot_id,
        other => panic!("expected a deploy, got {other:?}"),
    }
}

/// The fault test's "workload stopped outside Berth": a slot that turned
/// busy while the platform was being listed shows there in its former state
/// (its last bot's workload, stopped). Judged by that listing, the new bot
/// would end FATAL a moment after it started.
#[sqlx::test(migrations = "../migrations")]
async fn a_slot_that_turns_busy_during_a_listing_is_not_judged_by_it(db: PgPool) {
    let slow = SlowListing::new(&db);
    let adapter: Arc<dyn Platform> = slow.clone();
    let h = harness_on(db, &three_platforms("1", ["0", "0", "0"]), false, |kind| {
        (kind == PlatformKind::K8s).then(|| adapter.clone())
    })
    .await;
    // The first bot runs and ends: its slot is idle, its workload stopped.
    let first = deploy(&h).await;
    h.router.finish(first, BotStatus::Done, None).await.unwrap();
    let slots = slot::list(&h.db, &slot::SlotFilter::default())
        .await
        .unwrap();
    assert_eq!(slots.len(), 1, "one slot: {slots:?}");
    assert_eq!(slots[0].status, "idle");

    // While reconciliation waits for the listing, a router deploys into it.
    *slow.meanwhile.lock().unwrap() = Some(h.router.clone());
    let report = jobs::reconcile(&h.router).await.unwrap();
    assert!(
        slow.meanwhile.lock().unwrap().is_none(),
        "the deploy ran during the listing"
    );
    let second = slot::list(&h.db, &slot::SlotFilter::default())
        .await
        .unwrap()[0]
        .clone();
    assert_eq!(second.status, "busy", "{second:?}");
    let bot_id = second.assigned_bot_id.expect("the new bot holds the slot");
    assert_ne!(bot_id, first);
    assert_eq!(report.finished, 0, "{report:?}");
    let bot = bot::get(&h.db, bot_id).await.unwrap();
    assert_ne!(bot.status, BotStatus::Fatal, "{:?}", bot.error);

    // The next listing, taken after the slot turned busy, sees it running.
    assert_eq!(jobs::reconcile(&h.router).await.unwrap().finished, 0);
    assert_eq!(slot::get(&h.db, second.id).await.unwrap().status, "busy");
}

/// Recovery of a deploy past its deploying timeout claims the slot before
/// stopping its workload: the router that started it, only cut off, can no
/// longer mark it busy over the stopped workload (it could when the stop
/// came first, leaving a busy slot with nothing running).
#[sqlx::test(migrations = "../migrations")]
async fn a_recovered_deploy_cannot_be_marked_busy_while_its_workload_stops(db: PgPool) {
    let slow = SlowListing::new(&db);
    let adapter: Arc<dyn Platform> = slow.clone();
    let h = harness_on(db, &three_platforms("5", ["0", "0", "0"]), false, |kind| {
        (kind == PlatformKind::K8s).then(|| adapter.clone())
    })
    .await;
    let (slot_id, bot_id) = stuck_deploying(&h).await;
    // Its start created a resource, so recovery has a workload to stop.
    sqlx::query("UPDATE pool_slots SET platform_ref = 'sim-k8s-stuck' WHERE id = $1")
        .bind(slot_id)
        .execute(&h.db)
        .await
        .unwrap();
    *slow.during_stop.lock().unwrap() = Some(h.db.clone());
    h.clock.advance(Duration::minutes(5) + Duration::seconds(1));
    let report = jobs::recover(&h.router, &jobs_cfg(&h)).await.unwrap();

    assert_eq!(
        *slow.marked_busy.lock().unwrap(),
        Some(false),
        "the cut-off router could mark the slot busy while its workload was being stopped"
    );
    assert_eq!(report.recovered, 1, "{report:?}");
    let s = slot::get(&h.db, slot_id).await.unwrap();
    assert_eq!((s.status.as_str(), s.assigned_bot_id), ("idle", None));
    let history: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT from_status, to_status FROM slot_history WHERE slot_id = $1 ORDER BY id",
    )
    .bind(slot_id)
    .fetch_all(&h.db)
    .await
    .unwrap();
    assert!(
        history.ends_with(&[
            (Some("deploying".into()), "error".into()),
            (Some("error".into()), "idle".into())
        ]),
        "claimed, then reset: {history:?}"
    );
    assert_eq!(
        bot::get(&h.db, bot_id).await.unwrap().status,
        BotStatus::Fatal
    );
}
