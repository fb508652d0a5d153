//! Router and queue with a controlled clock: priority order, limits, queue
//! timeouts that are really waited on, failover, the global queue, expiry.

use berth_core::bot::{self, Decision};
use berth_core::clock::Clock;
use berth_core::meeting::{BotStatus, MeetingPlatform, PlatformKind};
use berth_core::platform::sim::{self, SimKnobs};
use berth_core::platform::Health;
use berth_core::router::{DeployOutcome, NewBot};
use berth_core::{queue, settings, slot};
use berth_tests::bots;
use berth_tests::{harness, three_platforms, Harness};
use chrono::Duration;
use sqlx::PgPool;

async fn create(h: &Harness, req: NewBot) -> DeployOutcome {
    h.router.create_bot(&req).await.expect("create_bot")
}

fn bot_id(o: &DeployOutcome) -> i64 {
    match o {
        DeployOutcome::Deployed { bot_id, .. }
        | DeployOutcome::Queued { bot_id, .. }
        | DeployOutcome::Scheduled { bot_id, .. }
        | DeployOutcome::Skipped { bot_id } => *bot_id,
    }
}

fn deployed_on(o: &DeployOutcome) -> Option<PlatformKind> {
    match o {
        DeployOutcome::Deployed { platform, .. } => Some(*platform),
        _ => None,
    }
}

async fn decisions(h: &Harness, id: i64) -> Vec<(Option<PlatformKind>, Decision)> {
    bot::get(&h.db, id)
        .await
        .unwrap()
        .decision_trace
        .into_iter()
        .map(|e| (e.platform, e.decision))
        .collect()
}

async fn status(h: &Harness, id: i64) -> BotStatus {
    bot::get(&h.db, id).await.unwrap().status
}

#[sqlx::test(migrations = "../migrations")]
async fn a_full_platform_is_waited_on_for_its_timeout_then_the_next_is_tried(db: PgPool) {
    let h = harness(
        db,
        &three_platforms("1", ["60000", "30000", "300000"]),
        false,
    )
    .await;
    let first = create(&h, bots::zoom(1)).await;
    assert_eq!(deployed_on(&first), Some(PlatformKind::K8s));

    let second = create(&h, bots::zoom(1)).await;
    let DeployOutcome::Queued {
        waiting_on, until, ..
    } = &second
    else {
        panic!("{second:?}")
    };
    assert_eq!(
        *waiting_on,
        Some(PlatformKind::K8s),
        "waits on k8s before trying aws"
    );
    assert_eq!(*until - h.clock.now(), Duration::milliseconds(60_000));
    let id = bot_id(&second);

    // Half-way through the wait: still waiting on k8s, aws untouched.
    h.clock.advance(Duration::seconds(30));
    h.dispatcher.drain().await.unwrap();
    assert_eq!(status(&h, id).await, BotStatus::Queued);
    assert_eq!(
        bot::active_per_platform(&h.db).await.unwrap(),
        vec![("k8s".to_string(), 1)]
    );

    // The wait is over: k8s still full → aws.
    h.clock.advance(Duration::milliseconds(30_001));
    let report = h.dispatcher.drain().await.unwrap();
    assert_eq!(report.deployed, 1);
    let view = bot::get(&h.db, id).await.unwrap();
    assert_eq!(view.deployment_platform.map(|p| p.as_str()), Some("aws"));
    assert_eq!(
        decisions(&h, id).await,
        vec![
            (Some(PlatformKind::K8s), Decision::Waiting),
            (Some(PlatformKind::K8s), Decision::Full),
            (Some(PlatformKind::Aws), Decision::Deployed),
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn capacity_freed_during_the_wait_goes_to_the_waiting_request(db: PgPool) {
    let h = harness(
        db,
        &three_platforms("1", ["60000", "30000", "300000"]),
        false,
    )
    .await;
    let first = bot_id(&create(&h, bots::zoom(1)).await);
    let second = bot_id(&create(&h, bots::zoom(1)).await);
    h.clock.advance(Duration::seconds(10));
    h.router.report(first, BotStatus::Done, None).await.unwrap();
    h.dispatcher.drain().await.unwrap();
    assert_eq!(
        bot::get(&h.db, second).await.unwrap().deployment_platform,
        Some(PlatformKind::K8s)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_deploy_moves_on_at_once_and_records_why(db: PgPool) {
    let h = harness(
        db,
        &three_platforms("5", ["60000", "30000", "300000"]),
        false,
    )
    .await;
    sim::set_knobs(
        &h.db,
        PlatformKind::K8s,
        &SimKnobs {
            failure_rate: 1.0,
            ..SimKnobs::default()
        },
    )
    .await
    .unwrap();
    let o = create(&h, bots::zoom(1)).await;
    assert_eq!(
        deployed_on(&o),
        Some(PlatformKind::Aws),
        "no waiting after a failure"
    );
    let trace = bot::get(&h.db, bot_id(&o)).await.unwrap().decision_trace;
    assert_eq!(trace[0].decision, Decision::Failed);
    assert!(
        trace[0].detail.contains("simulated deploy failure"),
        "{trace:?}"
    );
    assert_eq!(trace[1].decision, Decision::Deployed);
    // The failed slot is kept in error (with its resource) for recovery.
    let errors = slot::list(
        &h.db,
        &slot::SlotFilter {
            statuses: vec![berth_core::meeting::SlotStatus::Error],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].deployment_platform, "k8s");
    assert!(
        errors[0].platform_ref.is_some(),
        "the created resource is recorded, not leaked"
    );
    assert!(errors[0].description.starts_with("[ERROR] "));
}

#[sqlx::test(migrations = "../migrations")]
async fn disabled_and_unhealthy_platforms_are_passed_over_with_the_reason(db: PgPool) {
    let h = harness(db, &three_platforms("5", ["0", "0", "0"]), false).await;
    settings::edit_platform(
        &h.db,
        h.router.feed(),
        PlatformKind::K8s,
        &settings::PlatformEdit {
            enabled: Some(false),
            ..Default::default()
        },
        &berth_core::actor::Actor::api("test"),
    )
    .await
    .unwrap();
    h.router
        .record_health(PlatformKind::Aws, Health::Down, None)
        .await
        .unwrap();
    let o = create(&h, bots::zoom(1)).await;
    assert_eq!(deployed_on(&o), Some(PlatformKind::Coolify));
    assert_eq!(
        decisions(&h, bot_id(&o)).await,
        vec![
            (Some(PlatformKind::K8s), Decision::Disabled),
            (Some(PlatformKind::Aws), Decision::Unhealthy),
            (Some(PlatformKind::Coolify), Decision::Deployed),
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn limits_hold_under_concurrent_requests(db: PgPool) {
    let h = harness(db, &three_platforms("3", ["0", "0", "0"]), false).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let router = h.router.clone();
        tasks.push(tokio::spawn(async move {
            router.create_bot(&bots::zoom(1)).await.unwrap()
        }));
    }
    let mut deployed = 0;
    for t in tasks {
        deployed += usize::from(deployed_on(&t.await.unwrap()).is_some());
    }
    assert_eq!(deployed, 9, "3 platforms × limit 3");
    let mut used = bot::active_per_platform(&h.db).await.unwrap();
    used.sort();
    assert_eq!(
        used,
        vec![("aws".into(), 3), ("coolify".into(), 3), ("k8s".into(), 3)]
    );
    assert_eq!(queue::list(&h.db).await.unwrap().len(), 11);
}

#[sqlx::test(migrations = "../migrations")]
async fn global_queue_orders_by_priority_then_arrival_and_reports_positions(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let mut running = Vec::new();
    for _ in 0..3 {
        running.push(bot_id(&create(&h, bots::zoom(1)).await));
    }
    let a = create(&h, bots::zoom(1).priority(100)).await;
    h.clock.advance(Duration::milliseconds(10));
    let b = create(&h, bots::zoom(1).priority(50)).await;
    h.clock.advance(Duration::milliseconds(10));
    let c = create(&h, bots::zoom(1).priority(100)).await;
    let DeployOutcome::Queued {
        queue_position,
        waiting_on,
        estimated_wait_ms,
        ..
    } = &c
    else {
        panic!("{c:?}")
    };
    assert_eq!((*queue_position, *waiting_on), (3, None));
    assert_eq!(
        *estimated_wait_ms, None,
        "no release observed yet: no made-up estimate"
    );
    let order: Vec<i64> = queue::list(&h.db)
        .await
        .unwrap()
        .iter()
        .map(|e| e.bot_id)
        .collect();
    assert_eq!(order, vec![bot_id(&b), bot_id(&a), bot_id(&c)]);
    assert_eq!(queue::position(&h.db, bot_id(&b)).await.unwrap(), Some(1));

    // One release → the priority-50 request gets it; then first come first served.
    h.router
        .report(running[0], BotStatus::Done, None)
        .await
        .unwrap();
    h.dispatcher.drain().await.unwrap();
    assert_eq!(status(&h, bot_id(&b)).await, BotStatus::JoiningCall);
    assert_eq!(status(&h, bot_id(&a)).await, BotStatus::Queued);
    h.router
        .report(running[1], BotStatus::Done, None)
        .await
        .unwrap();
    h.dispatcher.drain().await.unwrap();
    assert_eq!(
        status(&h, bot_id(&a)).await,
        BotStatus::JoiningCall,
        "first come first served within a priority: {:?}",
        bot::get(&h.db, bot_id(&a)).await.unwrap().decision_trace
    );
    assert_eq!(status(&h, bot_id(&c)).await, BotStatus::Queued);

    // Releases were observed: the estimate now comes from their rate.
    let rate = queue::release_rate(&h.db, h.clock.now() + Duration::seconds(1))
        .await
        .unwrap();
    assert!(rate > 0.0);
    assert_eq!(
        queue::estimate_wait_ms(1, rate),
        Some((1.0 / rate * 1000.0).round() as i64)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn one_wake_up_drains_as_many_entries_as_capacity_allows(db: PgPool) {
    let h = harness(
        db,
        &[
            ("PLATFORM_PRIORITY", "k8s"),
            ("K8S_BOT_LIMIT", "5"),
            ("K8S_QUEUE_TIMEOUT_MS", "0"),
        ],
        false,
    )
    .await;
    let mut running = Vec::new();
    for _ in 0..5 {
        running.push(bot_id(&create(&h, bots::zoom(1)).await));
    }
    let mut queued = Vec::new();
    for _ in 0..4 {
        queued.push(bot_id(&create(&h, bots::zoom(1)).await));
    }
    for id in &running[..3] {
        h.router.report(*id, BotStatus::Done, None).await.unwrap();
    }
    let report = h.dispatcher.drain().await.unwrap();
    assert_eq!(
        (report.deployed, report.waiting),
        (3, 1),
        "one pass takes every freed slot"
    );
    assert_eq!(h.dispatcher.passes(), 1);
    for id in &queued[..3] {
        assert_eq!(status(&h, *id).await, BotStatus::JoiningCall);
    }
    assert_eq!(status(&h, queued[3]).await, BotStatus::Queued);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_expired_request_fails_with_queue_timeout(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    for _ in 0..3 {
        create(&h, bots::zoom(1)).await;
    }
    let o = create(&h, bots::zoom(1).queue_timeout_ms(90_000)).await;
    let DeployOutcome::Queued { until, .. } = &o else {
        panic!("{o:?}")
    };
    assert_eq!(*until - h.clock.now(), Duration::milliseconds(90_000));
    h.clock.advance(Duration::milliseconds(89_999));
    assert_eq!(h.dispatcher.drain().await.unwrap().expired, 0);
    h.clock.advance(Duration::milliseconds(1));
    assert_eq!(h.dispatcher.drain().await.unwrap().expired, 1);
    let view = bot::get(&h.db, bot_id(&o)).await.unwrap();
    assert_eq!(view.status, BotStatus::Fatal);
    assert_eq!(view.error.as_deref(), Some("queue timeout"));
    assert_eq!(
        view.decision_trace.last().unwrap().decision,
        Decision::Expired
    );
    assert!(queue::list(&h.db).await.unwrap().is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_global_ceiling_caps_a_requests_timeout(db: PgPool) {
    let mut env = three_platforms("1", ["0", "0", "0"]);
    env.push(("GLOBAL_QUEUE_TIMEOUT_MS", "2000"));
    let h = harness(db, &env, false).await;
    for _ in 0..3 {
        create(&h, bots::zoom(1)).await;
    }
    let o = create(&h, bots::zoom(1).queue_timeout_ms(300_000)).await;
    let DeployOutcome::Queued { until, .. } = &o else {
        panic!("{o:?}")
    };
    assert_eq!(*until - h.clock.now(), Duration::milliseconds(2_000));
    assert_eq!(
        settings::load(&h.db)
            .await
            .unwrap()
            .global_queue_timeout_pinned_by
            .as_deref(),
        Some("GLOBAL_QUEUE_TIMEOUT_MS")
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_request_waits_five_minutes_by_default(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    for _ in 0..3 {
        create(&h, bots::zoom(1)).await;
    }
    let o = create(&h, bots::zoom(1)).await;
    let DeployOutcome::Queued { until, .. } = &o else {
        panic!("{o:?}")
    };
    assert_eq!(*until - h.clock.now(), Duration::minutes(5));
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_requests_are_refused_before_anything_is_written(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    for req in [
        bots::zoom(1).queue_timeout_ms(600_001),
        bots::zoom(1).priority(-1),
        NewBot::new(MeetingPlatform::Zoom, "  "),
    ] {
        let err = h.router.create_bot(&req).await.unwrap_err();
        assert_eq!(err.code(), berth_core::ErrorCode::InvalidInput, "{err}");
    }
    let bots: i64 = sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(bots, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn done_releases_the_slot_and_resets_it(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let o = create(&h, bots::zoom(1)).await;
    let id = bot_id(&o);
    let s = slot::of_bot(&h.db, id).await.unwrap().unwrap();
    assert_eq!(s.status, "busy");
    let platform_side = || async {
        sqlx::query_scalar::<_, String>("SELECT description FROM sim_workloads WHERE resource = $1")
            .bind(&s.platform_ref)
            .fetch_one(&h.db)
            .await
            .unwrap()
    };
    assert!(
        platform_side()
            .await
            .starts_with(&format!("[BUSY] Bot #{id} - ")),
        "the platform-side description follows the slot (reference 003)"
    );
    sqlx::query("UPDATE pool_slots SET recovery_attempts = 2 WHERE id = $1")
        .bind(s.id)
        .execute(&h.db)
        .await
        .unwrap();
    h.router.report(id, BotStatus::InCall, None).await.unwrap();
    h.router.report(id, BotStatus::Done, None).await.unwrap();
    assert!(platform_side()
        .await
        .starts_with("[IDLE] Available - Last used: "));
    let after = slot::get(&h.db, s.id).await.unwrap();
    assert_eq!(
        (
            after.status.as_str(),
            after.assigned_bot_id,
            after.recovery_attempts
        ),
        ("idle", None, 0)
    );
    assert!(after
        .description
        .starts_with("[IDLE] Available - Last used: "));
    let workload: String =
        sqlx::query_scalar("SELECT state FROM sim_workloads WHERE resource = $1")
            .bind(&after.platform_ref)
            .fetch_one(&h.db)
            .await
            .unwrap();
    assert_eq!(workload, "created", "the workload was stopped");
    // A final bot cannot report again.
    let err = h
        .router
        .report(id, BotStatus::InCall, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), berth_core::ErrorCode::StaleTransition);
}

#[sqlx::test(migrations = "../migrations")]
async fn only_the_first_deploy_of_an_image_waits_for_the_pull(db: PgPool) {
    let h = harness(db, &three_platforms("10", ["0", "0", "0"]), false).await;
    sim::set_knobs(
        &h.db,
        PlatformKind::K8s,
        &SimKnobs {
            pull_latency_ms: 60_000,
            ..SimKnobs::default()
        },
    )
    .await
    .unwrap();
    let first = tokio::spawn({
        let r = h.router.clone();
        async move { r.create_bot(&bots::zoom(1)).await.unwrap() }
    });
    let second = tokio::spawn({
        let r = h.router.clone();
        async move { r.create_bot(&bots::zoom(1)).await.unwrap() }
    });
    // Both reach the image gate (their slots are reserved first), then wait
    // on the one pull: time must pass on the clock before either deploys.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let deploying: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE status = 'deploying'")
                .fetch_one(&h.db)
                .await
                .unwrap();
        if deploying == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "both requests reserve a slot"
        );
        tokio::task::yield_now().await;
    }
    assert!(
        !first.is_finished() && !second.is_finished(),
        "the first pull is waited for"
    );
    while !(first.is_finished() && second.is_finished()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the pull ends once its time has passed"
        );
        h.clock.advance(Duration::seconds(60));
        tokio::task::yield_now().await;
    }
    assert_eq!(deployed_on(&first.await.unwrap()), Some(PlatformKind::K8s));
    assert_eq!(deployed_on(&second.await.unwrap()), Some(PlatformKind::K8s));
    // Later deploys of the same image go straight through: the clock is not moved.
    let third = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        h.router.create_bot(&bots::zoom(1)),
    )
    .await
    .expect("a later deploy does not wait for a pull")
    .unwrap();
    assert_eq!(deployed_on(&third), Some(PlatformKind::K8s));
    let pulls: i64 =
        sqlx::query_scalar("SELECT count(*) FROM platform_images WHERE platform = 'k8s'")
            .fetch_one(&h.db)
            .await
            .unwrap();
    assert_eq!(pulls, 1);
}
