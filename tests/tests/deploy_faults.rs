//! Failed and late deploys on the simulator, with a manual clock: backoff
//! per platform, the per-request slot cap, the bounded decision trace
//! (issue 11, item 14), the platform-side description following every
//! state (item 16), and a late start never touching a newer lease's
//! workload (item 18).

use berth_core::bot::{self, Decision, TRACE_HEAD, TRACE_MAX};
use berth_core::clock::Clock;
use berth_core::jobs;
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::platform::sim::{self, SimKnobs};
use berth_core::router::{DeployOutcome, NewBot, MAX_SLOTS_CREATED_PER_REQUEST};
use berth_core::slot;
use berth_tests::{bots, harness, Harness};
use chrono::Duration;
use sqlx::PgPool;

/// k8s only, limit 5, no platform wait: a failed deploy goes straight to
/// the global queue.
fn k8s_only() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "5"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ]
}

/// A Zoom bot that may wait 10 minutes.
fn zoom() -> NewBot {
    bots::zoom(1).queue_timeout_ms(600_000)
}

fn bot_id(o: &DeployOutcome) -> i64 {
    match o {
        DeployOutcome::Deployed { bot_id, .. }
        | DeployOutcome::Queued { bot_id, .. }
        | DeployOutcome::Scheduled { bot_id, .. }
        | DeployOutcome::Skipped { bot_id } => *bot_id,
    }
}

async fn knobs(h: &Harness, kind: PlatformKind, knobs: SimKnobs) {
    sim::set_knobs(&h.db, kind, &knobs).await.unwrap();
}

fn failing() -> SimKnobs {
    SimKnobs {
        failure_rate: 1.0,
        ..SimKnobs::default()
    }
}

/// Failed deploy attempts of `bot`: its slots that went to `error`.
async fn failed_attempts(h: &Harness, bot: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM slot_history WHERE bot_id = $1 AND to_status = 'error'",
    )
    .bind(bot)
    .fetch_one(&h.db)
    .await
    .unwrap()
}

async fn slots_created(h: &Harness) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE pool = 'zoom'")
        .fetch_one(&h.db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_platform_whose_deploys_fail_is_retried_with_backoff_not_in_a_hot_loop(db: PgPool) {
    // `berth sim set k8s --failure-rate 1`: one queued bot was retried five
    // times a second. Here the dispatcher drains every 100 ms of clock time
    // for 15 s, and recovery returns the failed slots at once (so neither
    // the slot cap nor a lack of slots limits the attempts: the backoff
    // alone does), with more bots waiting.
    let h = harness(db, &k8s_only(), false).await;
    knobs(&h, PlatformKind::K8s, failing()).await;
    let first = bot_id(&h.router.create_bot(&zoom()).await.unwrap());
    for _ in 0..4 {
        let o = h.router.create_bot(&zoom()).await.unwrap();
        assert!(matches!(o, DeployOutcome::Queued { .. }), "{o:?}");
    }
    let start = h.clock.now();
    let mut attempts_at = Vec::new();
    let mut seen = 1;
    assert_eq!(failed_attempts(&h, first).await, 1);
    attempts_at.push(0);
    for step in 1..150 {
        h.clock.advance(Duration::milliseconds(100));
        jobs::recover(&h.router, &h.config.jobs).await.unwrap();
        h.dispatcher.drain().await.unwrap();
        let all: i64 =
            sqlx::query_scalar("SELECT count(*) FROM slot_history WHERE to_status = 'error'")
                .fetch_one(&h.db)
                .await
                .unwrap();
        for _ in seen..all {
            attempts_at.push(step * 100);
        }
        seen = all;
    }
    assert!(h.clock.now() - start < Duration::seconds(15));
    // 1 s, 2 s, 4 s, 8 s apart: attempts at 0, 1, 3 and 7 s, one at a time
    // however many bots wait.
    assert_eq!(
        attempts_at,
        [0, 1_000, 3_000, 7_000],
        "failed attempts (ms)"
    );
    let (failures, retry_at): (i32, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT deploy_failures, deploy_retry_at FROM platform_health WHERE platform = 'k8s'",
    )
    .fetch_one(&h.db)
    .await
    .unwrap();
    assert_eq!(failures, 4);
    assert_eq!(retry_at - start, Duration::seconds(15), "7 s + 8 s");

    // A bot routed now is told why k8s is passed over.
    let o = h.router.create_bot(&zoom()).await.unwrap();
    let trace = bot::get(&h.db, bot_id(&o)).await.unwrap().decision_trace;
    assert_eq!(trace[0].decision, Decision::BackingOff, "{trace:?}");
    assert!(
        trace[0].detail.contains("4 deploys in a row failed")
            && trace[0].detail.contains("simulated deploy failure"),
        "{trace:?}"
    );

    // The platform recovers: the next trial succeeds and ends the backoff.
    knobs(&h, PlatformKind::K8s, SimKnobs::default()).await;
    h.clock.advance(Duration::seconds(8));
    jobs::recover(&h.router, &h.config.jobs).await.unwrap();
    let report = h.dispatcher.drain().await.unwrap();
    assert_eq!(report.deployed, 5, "{report:?}");
    let failures: i32 =
        sqlx::query_scalar("SELECT deploy_failures FROM platform_health WHERE platform = 'k8s'")
            .fetch_one(&h.db)
            .await
            .unwrap();
    assert_eq!(failures, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn one_request_creates_at_most_three_slots_however_often_it_fails(db: PgPool) {
    let h = harness(db, &k8s_only(), false).await;
    knobs(&h, PlatformKind::K8s, failing()).await;
    let id = bot_id(&h.router.create_bot(&zoom()).await.unwrap());
    // Past every backoff each time, within the request's 10 minutes.
    for _ in 0..9 {
        h.clock.advance(Duration::seconds(61));
        h.dispatcher.drain().await.unwrap();
    }
    assert_eq!(
        slots_created(&h).await,
        i64::from(MAX_SLOTS_CREATED_PER_REQUEST)
    );
    assert_eq!(failed_attempts(&h, id).await, 3);
    let view = bot::get(&h.db, id).await.unwrap();
    assert_eq!(view.status, BotStatus::Queued);
    // Routed afresh, it says why it does not get a fourth.
    sqlx::query("DELETE FROM deployment_queue WHERE bot_id = $1")
        .bind(id)
        .execute(&h.db)
        .await
        .unwrap();
    let other = bot_id(&h.router.create_bot(&zoom()).await.unwrap());
    assert_eq!(
        slots_created(&h).await,
        4,
        "another request has its own cap"
    );
    assert_eq!(failed_attempts(&h, other).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_decision_trace_keeps_its_first_and_latest_entries(db: PgPool) {
    let h = harness(db, &k8s_only(), false).await;
    knobs(&h, PlatformKind::K8s, failing()).await;
    let id = bot_id(&h.router.create_bot(&zoom()).await.unwrap());
    let first = bot::get(&h.db, id).await.unwrap().decision_trace;
    // A platform that fails now and then: the queued bot fails there every
    // second, while another bot's deploy succeeds in between (so the
    // backoff never grows past 1 s) for the whole two minutes.
    let rounds = 120;
    for _ in 0..rounds {
        h.clock.advance(Duration::seconds(1));
        knobs(&h, PlatformKind::K8s, SimKnobs::default()).await;
        let other = h.router.create_bot(&zoom()).await.unwrap();
        let DeployOutcome::Deployed { bot_id: other, .. } = other else {
            panic!("{other:?}")
        };
        h.router.report(other, BotStatus::Done, None).await.unwrap();
        knobs(&h, PlatformKind::K8s, failing()).await;
        jobs::recover(&h.router, &h.config.jobs).await.unwrap();
        h.dispatcher.drain().await.unwrap();
    }
    assert_eq!(failed_attempts(&h, id).await, rounds + 1);
    let trace = bot::get(&h.db, id).await.unwrap().decision_trace;
    let (head, tail) = (TRACE_HEAD as usize, (TRACE_MAX - TRACE_HEAD) as usize);
    assert_eq!(trace.len(), head + 1 + tail, "bounded, with one marker");
    assert_eq!(trace[..first.len()], first[..], "how it was first routed");
    let marker = &trace[head];
    assert_eq!(marker.decision, Decision::Omitted);
    let stored = first.len() as i64 + rounds;
    let omitted = stored - i64::from(TRACE_MAX);
    assert!(
        marker
            .detail
            .starts_with(&format!("{omitted} earlier entries omitted")),
        "{marker:?}"
    );
    let last = trace.last().unwrap();
    assert_eq!(last.decision, Decision::Failed, "{last:?}");
    assert_eq!(last.at, h.clock.now(), "the latest attempt is kept");
    let stored_len: i32 =
        sqlx::query_scalar("SELECT jsonb_array_length(decision_trace) FROM bots WHERE id = $1")
            .bind(id)
            .fetch_one(&h.db)
            .await
            .unwrap();
    assert_eq!(stored_len, TRACE_MAX);
}

/// The slot's description in the database and on the (simulated) platform.
async fn descriptions(h: &Harness, slot_id: i64) -> (String, String) {
    let s = slot::get(&h.db, slot_id).await.unwrap();
    let on_platform: String = sqlx::query_scalar(
        "SELECT description FROM sim_workloads WHERE platform = $1 AND resource = $2",
    )
    .bind(s.deployment_platform.as_str())
    .bind(s.platform_ref.as_deref().expect("a resource"))
    .fetch_one(&h.db)
    .await
    .unwrap();
    (s.description, on_platform)
}

async fn assert_described(h: &Harness, slot_id: i64, prefix: &str) {
    let (db, platform) = descriptions(h, slot_id).await;
    assert!(db.starts_with(prefix), "database: {db:?}");
    assert_eq!(platform, db, "the platform's description follows the slot");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_platform_side_description_follows_every_state(db: PgPool) {
    let mut env = k8s_only();
    env.push(("POOL_ZOOM_PREWARM_COUNT", "1"));
    let h = harness(db, &env, false).await;

    // Pre-warmed: idle, never used.
    assert_eq!(jobs::prewarm(&h.router).await.unwrap(), 1);
    let slot_id: i64 = sqlx::query_scalar("SELECT id FROM pool_slots WHERE pool = 'zoom'")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_described(&h, slot_id, "[IDLE] Available - Never used").await;
    // Recovered before it was ever used: the same words again.
    let mut conn = h.db.acquire().await.unwrap();
    slot::mark_error(&mut conn, slot_id, None, "crashed", h.clock.now())
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    jobs::recover(&h.router, &h.config.jobs).await.unwrap();
    assert_described(&h, slot_id, "[IDLE] Available - Never used").await;

    // Deploying, while the start takes its time.
    knobs(
        &h,
        PlatformKind::K8s,
        SimKnobs {
            deploy_latency_ms: 5_000,
            ..SimKnobs::default()
        },
    )
    .await;
    let router = h.router.clone();
    let deploying = tokio::spawn(async move { router.create_bot(&zoom()).await.unwrap() });
    h.clock.wait_for_sleepers(1).await;
    assert_described(&h, slot_id, "[DEPLOYING] Bot #").await;
    h.clock.advance(Duration::seconds(5));
    let id = bot_id(&deploying.await.unwrap());
    assert_described(&h, slot_id, &format!("[BUSY] Bot #{id} - ")).await;

    // Released: idle, last used.
    h.router.report(id, BotStatus::Done, None).await.unwrap();
    assert_described(&h, slot_id, "[IDLE] Available - Last used: ").await;

    // A failed start: error, with why.
    knobs(&h, PlatformKind::K8s, failing()).await;
    let o = h.router.create_bot(&zoom()).await.unwrap();
    assert!(matches!(o, DeployOutcome::Queued { .. }), "{o:?}");
    assert_described(
        &h,
        slot_id,
        "[ERROR] k8s start: simulated deploy failure - ",
    )
    .await;

    // Recovered: idle again.
    knobs(&h, PlatformKind::K8s, SimKnobs::default()).await;
    assert_eq!(
        jobs::recover(&h.router, &h.config.jobs)
            .await
            .unwrap()
            .recovered,
        1
    );
    assert_described(&h, slot_id, "[IDLE] Available - Last used: ").await;

    // A stop that fails on release: error, with why.
    h.clock.advance(Duration::seconds(1));
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 1);
    let queued = bot_id(&o);
    assert_described(&h, slot_id, &format!("[BUSY] Bot #{queued} - ")).await;
    knobs(
        &h,
        PlatformKind::K8s,
        SimKnobs {
            stop_fails: true,
            ..SimKnobs::default()
        },
    )
    .await;
    h.router
        .report(queued, BotStatus::Done, None)
        .await
        .unwrap();
    assert_described(&h, slot_id, "[ERROR] stop failed: ").await;
}

/// The simulated workload in `resource`: (bot, epoch, state).
async fn workload(h: &Harness, resource: &str) -> (Option<i64>, Option<i64>, String) {
    sqlx::query_as(
        "SELECT bot_id, epoch, state FROM sim_workloads WHERE platform = 'k8s' AND resource = $1",
    )
    .bind(resource)
    .fetch_one(&h.db)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_late_start_from_an_old_lease_never_touches_the_newer_leases_workload(db: PgPool) {
    let h = harness(db, &k8s_only(), false).await;
    // Bot A's start hangs for ten minutes...
    knobs(
        &h,
        PlatformKind::K8s,
        SimKnobs {
            deploy_latency_ms: 600_000,
            ..SimKnobs::default()
        },
    )
    .await;
    let router = h.router.clone();
    let late = tokio::spawn(async move { router.create_bot(&zoom()).await.unwrap() });
    h.clock.wait_for_sleepers(1).await;
    let a: i64 = sqlx::query_scalar("SELECT id FROM bots ORDER BY id LIMIT 1")
        .fetch_one(&h.db)
        .await
        .unwrap();
    let lease_a = slot::of_bot(&h.db, a)
        .await
        .unwrap()
        .expect("A holds a slot");
    let resource = lease_a.platform_ref.clone().expect("resource created");

    // ...so recovery takes the slot back after the deploying timeout...
    h.clock.advance(Duration::seconds(301));
    let r = jobs::recover(&h.router, &h.config.jobs).await.unwrap();
    assert_eq!(r.recovered, 1, "{r:?}");

    // ...and bot B gets it under a newer lease and runs.
    knobs(&h, PlatformKind::K8s, SimKnobs::default()).await;
    let b_outcome = h.router.create_bot(&zoom()).await.unwrap();
    let DeployOutcome::Deployed { bot_id: b, .. } = b_outcome else {
        panic!("{b_outcome:?}")
    };
    let lease_b = slot::of_bot(&h.db, b).await.unwrap().unwrap();
    assert_eq!(lease_b.id, lease_a.id, "B has A's former slot");
    assert!(lease_b.epoch > lease_a.epoch);
    assert_eq!(
        workload(&h, &resource).await,
        (Some(b), Some(lease_b.epoch), "running".into())
    );

    // A's start finally completes: it changes nothing of B's.
    h.clock.advance(Duration::seconds(300));
    let a_outcome = late.await.unwrap();
    assert_eq!(
        workload(&h, &resource).await,
        (Some(b), Some(lease_b.epoch), "running".into()),
        "the newer lease's workload is untouched"
    );
    assert!(
        matches!(a_outcome, DeployOutcome::Skipped { bot_id } if bot_id == a),
        "{a_outcome:?}"
    );
    let s = slot::get(&h.db, lease_b.id).await.unwrap();
    assert_eq!((s.status.as_str(), s.epoch), ("busy", lease_b.epoch));
    assert_eq!(
        bot::get(&h.db, b).await.unwrap().status,
        BotStatus::JoiningCall
    );

    // Reconciliation agrees: B keeps running, not `FATAL` "workload belongs
    // to another lease".
    let report = jobs::reconcile(&h.router).await.unwrap();
    assert_eq!(report.finished, 0, "{report:?}");
    assert_eq!(
        bot::get(&h.db, b).await.unwrap().status,
        BotStatus::JoiningCall
    );
    // The late deploy counted no failure against the platform.
    let failures: Option<i32> =
        sqlx::query_scalar("SELECT deploy_failures FROM platform_health WHERE platform = 'k8s'")
            .fetch_optional(&h.db)
            .await
            .unwrap();
    assert_eq!(failures.unwrap_or(0), 0);
}
