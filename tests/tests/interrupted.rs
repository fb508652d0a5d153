//! Requests whose router is interrupted (issue 11, items 19 and 19b): every
//! accepted request ends in a state something acts on, and a deploy whose
//! process died is routed again until the request's own deadline.
//!
//! "Interrupting" a router here means dropping its future mid-flight (the
//! task is aborted), which is what a killed process does to its requests: it
//! writes nothing more. The multi-process versions are in `faults.rs`.

use berth_core::bot::{self, Decision};
use berth_core::clock::Clock;
use berth_core::meeting::{BotStatus, PlatformKind, SlotStatus};
use berth_core::platform::sim::{self, SimKnobs};
use berth_core::router::{DeployOutcome, NewBot};
use berth_core::{jobs, queue, slot, sweep};
use berth_tests::{bots, slots};
use berth_tests::{eventually, harness, three_platforms, Harness};
use chrono::Duration;
use sqlx::PgPool;
use std::time::Duration as StdDuration;

const LEASE_MS: &str = "500";

fn zoom(timeout: Option<i32>) -> NewBot {
    bots::zoom(19).queue_timeout_ms(timeout)
}

async fn env_harness(db: PgPool) -> Harness {
    let mut env = three_platforms("5", ["0", "0", "0"]);
    env.push(("BERTH_LEADER_LEASE_MS", LEASE_MS));
    harness(db, &env, false).await
}

async fn only_bot(h: &Harness) -> i64 {
    sqlx::query_scalar("SELECT id FROM bots")
        .fetch_one(&h.db)
        .await
        .unwrap()
}

/// The stage of the bot's queue entry (`None`: no entry).
async fn entry_stage(h: &Harness, bot: i64) -> Option<i32> {
    sqlx::query_scalar("SELECT stage FROM deployment_queue WHERE bot_id = $1")
        .bind(bot)
        .fetch_optional(&h.db)
        .await
        .unwrap()
}

/// With `granted = false`: the lock waits of this test's database (a
/// reservation waiting for the platform's lock waits on its holder's
/// transaction). With `granted = true`: the other connections of this
/// database in a transaction (each holds its own virtual transaction id).
async fn lock_count(h: &Harness, granted: bool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE a.datname = current_database() AND l.pid <> pg_backend_pid() AND l.granted = $1
           AND ($1 = false OR l.locktype = 'virtualxid')",
    )
    .bind(granted)
    .fetch_one(&h.db)
    .await
    .unwrap()
}

async fn slow_starts_on_k8s(h: &Harness, ms: i32) {
    sim::set_knobs(
        &h.db,
        PlatformKind::K8s,
        &SimKnobs {
            deploy_latency_ms: ms,
            ..SimKnobs::default()
        },
    )
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn a_create_interrupted_right_after_its_commit_is_routed_by_a_dispatcher(db: PgPool) {
    let h = env_harness(db).await;
    // Hold the lock a reservation on k8s takes, so the create stops right
    // after committing its bot, inside its walk over the platforms.
    let mut blocker = h.db.begin().await.unwrap();
    sqlx::query("SELECT platform_load_lock('k8s')")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let create = tokio::spawn({
        let r = h.router.clone();
        async move { r.create_bot(&zoom(None)).await }
    });
    eventually(
        "the create waits for the k8s lock",
        StdDuration::from_secs(10),
        || async { lock_count(&h, false).await == 1 },
    )
    .await;
    create.abort();
    assert!(create.await.unwrap_err().is_cancelled());
    blocker.rollback().await.unwrap();
    // The aborted transaction rolls back once its connection is cleaned up.
    eventually(
        "the aborted create's locks are gone",
        StdDuration::from_secs(10),
        || async { lock_count(&h, true).await == 0 },
    )
    .await;

    let id = only_bot(&h).await;
    assert_eq!(bot::get(&h.db, id).await.unwrap().status, BotStatus::Queued);
    assert_eq!(
        entry_stage(&h, id).await,
        Some(-2),
        "the accepted request kept the entry it was created with"
    );
    // Within its router's hold, dispatchers leave it to that router.
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 0);
    h.clock.advance(Duration::milliseconds(499));
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 0);
    // The hold has passed without a word from its router: taken over.
    h.clock.advance(Duration::milliseconds(1));
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 1);
    let b = bot::get(&h.db, id).await.unwrap();
    assert_eq!(
        (b.status, b.deployment_platform.map(|p| p.as_str())),
        (BotStatus::JoiningCall, Some("k8s"))
    );
    assert_eq!(b.decision_trace[0].decision, Decision::Interrupted);
    assert!(queue::list(&h.db, h.clock.now()).await.unwrap().is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn an_interrupted_create_past_its_deadline_fails_with_queue_timeout(db: PgPool) {
    let h = env_harness(db).await;
    let mut blocker = h.db.begin().await.unwrap();
    sqlx::query("SELECT platform_load_lock('k8s')")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let create = tokio::spawn({
        let r = h.router.clone();
        async move { r.create_bot(&zoom(Some(200))).await }
    });
    eventually(
        "the create waits for the k8s lock",
        StdDuration::from_secs(10),
        || async { lock_count(&h, false).await == 1 },
    )
    .await;
    create.abort();
    let _ = create.await;
    blocker.rollback().await.unwrap();
    eventually(
        "the aborted create's locks are gone",
        StdDuration::from_secs(10),
        || async { lock_count(&h, true).await == 0 },
    )
    .await;
    let id = only_bot(&h).await;
    // Its deadline (200 ms) passes while its router still holds it: nothing
    // happens until the hold is over, then it expires.
    h.clock.advance(Duration::milliseconds(300));
    assert_eq!(h.dispatcher.drain().await.unwrap().expired, 0);
    h.clock.advance(Duration::milliseconds(200));
    assert_eq!(h.dispatcher.drain().await.unwrap().expired, 1);
    let b = bot::get(&h.db, id).await.unwrap();
    assert_eq!(
        (b.status, b.error.as_deref()),
        (BotStatus::Fatal, Some("queue timeout"))
    );
}

/// A bot as a process cut off halfway through a failed deploy's bookkeeping
/// leaves it (or an older version's create): `status`, no entry, no slot,
/// last touched `age_ms` ago.
async fn stray(h: &Harness, status: &str, age_ms: i32) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO bots (pool, meeting_platform, meeting_url, status, deployment_platform, updated_at)
         VALUES ('zoom', 'zoom', 'https://zoom.us/j/s', $1,
                 CASE WHEN $1 = 'DEPLOYING' THEN 'k8s' END, now() - make_interval(secs => $2 / 1000.0))
         RETURNING id",
    )
    .bind(status)
    .bind(age_ms)
    .fetch_one(&h.db)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_sweep_puts_back_bots_that_nothing_acts_on(db: PgPool) {
    let h = env_harness(db).await;
    let queued = stray(&h, "QUEUED", 10_000).await;
    let deploying = stray(&h, "DEPLOYING", 10_000).await;
    let recent = stray(&h, "QUEUED", 0).await;
    // An entry of a bot that has moved on would be skipped forever.
    let done = stray(&h, "DONE", 10_000).await;
    sqlx::query(
        "INSERT INTO deployment_queue (bot_id, queued_at, timeout_at) VALUES ($1, now(), now() + interval '1 minute')",
    )
    .bind(done)
    .execute(&h.db)
    .await
    .unwrap();

    let report = sweep::run(&h.router).await.unwrap();
    assert_eq!(
        report,
        sweep::SweepReport {
            interrupted_deploys: 0,
            stray_bots: 2,
            dead_entries: 1,
            slots_of_ended_bots: 0
        }
    );
    assert_eq!(entry_stage(&h, queued).await, Some(-1));
    assert_eq!(entry_stage(&h, deploying).await, Some(-1));
    assert_eq!(
        entry_stage(&h, recent).await,
        None,
        "a bot touched less than a lease ago may still be in its router's hands"
    );
    assert_eq!(entry_stage(&h, done).await, None);
    let d = bot::get(&h.db, deploying).await.unwrap();
    assert_eq!(
        (d.status, d.deployment_platform),
        (BotStatus::Queued, None),
        "no longer counted against k8s's limit"
    );
    assert_eq!(
        d.decision_trace.last().unwrap().decision,
        Decision::Interrupted
    );
    // Both are served like any queued request.
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 2);
    for id in [queued, deploying] {
        assert_eq!(
            bot::get(&h.db, id).await.unwrap().status,
            BotStatus::JoiningCall
        );
    }
}

/// Starts a create whose deploy on k8s hangs on the manual clock, and
/// returns it once its slot is `deploying` and the start is under way.
async fn hanging_deploy(
    h: &Harness,
    timeout: Option<i32>,
) -> (tokio::task::JoinHandle<()>, i64, slot::SlotView) {
    slow_starts_on_k8s(h, 3_600_000).await;
    let create = tokio::spawn({
        let r = h.router.clone();
        async move {
            r.create_bot(&zoom(timeout)).await.unwrap();
        }
    });
    tokio::time::timeout(StdDuration::from_secs(10), h.clock.wait_for_sleepers(1))
        .await
        .expect("the start is under way");
    let id = only_bot(h).await;
    let s = slot::of_bot(&h.db, id).await.unwrap().unwrap();
    assert_eq!(s.status, "deploying");
    (create, id, s)
}

async fn alive_at(h: &Harness, slot: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar("SELECT deploy_alive_at FROM pool_slots WHERE id = $1")
        .bind(slot)
        .fetch_one(&h.db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_deploy_whose_process_died_is_routed_again_not_failed(db: PgPool) {
    let h = env_harness(db).await;
    let (create, id, s) = hanging_deploy(&h, None).await;
    // The process dies mid-start.
    create.abort();
    let _ = create.await;
    slow_starts_on_k8s(&h, 0).await;
    // No sign of life for a lease (in the database's time): taken back.
    eventually(
        "the sweep takes the deploy back",
        StdDuration::from_secs(10),
        || async { sweep::run(&h.router).await.unwrap().interrupted_deploys == 1 },
    )
    .await;
    let after = slot::get(&h.db, s.id).await.unwrap();
    assert_eq!(
        (after.status.as_str(), after.assigned_bot_id),
        ("idle", None)
    );
    let b = bot::get(&h.db, id).await.unwrap();
    assert_eq!(b.status, BotStatus::Queued, "routed again, not failed");
    let last = b.decision_trace.last().unwrap();
    assert_eq!(
        (last.platform, last.decision),
        (Some(PlatformKind::K8s), Decision::Interrupted)
    );
    assert_eq!(entry_stage(&h, id).await, Some(-1));
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 1);
    assert_eq!(
        bot::get(&h.db, id).await.unwrap().status,
        BotStatus::JoiningCall
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_interrupted_deploy_past_the_requests_deadline_ends_it(db: PgPool) {
    let h = env_harness(db).await;
    let (create, id, _) = hanging_deploy(&h, Some(1_000)).await;
    create.abort();
    let _ = create.await;
    h.clock.advance(Duration::milliseconds(1_000));
    eventually(
        "the sweep takes the deploy back",
        StdDuration::from_secs(10),
        || async { sweep::run(&h.router).await.unwrap().interrupted_deploys == 1 },
    )
    .await;
    let b = bot::get(&h.db, id).await.unwrap();
    assert_eq!(b.status, BotStatus::Fatal);
    assert!(
        b.error.as_deref().unwrap().contains("queue timeout"),
        "{:?}",
        b.error
    );
    assert_eq!(entry_stage(&h, id).await, None);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_slow_deploy_that_its_router_keeps_renewing_is_left_alone(db: PgPool) {
    let h = env_harness(db).await;
    let (create, id, s) = hanging_deploy(&h, None).await;
    // The router renews the deploy's sign of life every quarter of a lease;
    // wait until the start has run for well over a lease.
    eventually(
        "the deploy outlives a lease",
        StdDuration::from_secs(10),
        || async {
            alive_at(&h, s.id)
                .await
                .is_some_and(|t| t - s.status_changed_at > Duration::milliseconds(1_000))
        },
    )
    .await;
    assert_eq!(sweep::run(&h.router).await.unwrap().interrupted_deploys, 0);
    assert_eq!(
        slot::get(&h.db, s.id).await.unwrap().status,
        "deploying",
        "a live deploy is not taken away"
    );
    // The slow start completes.
    h.clock.advance(Duration::hours(1));
    tokio::time::timeout(StdDuration::from_secs(10), create)
        .await
        .expect("the create returns")
        .unwrap();
    assert_eq!(
        bot::get(&h.db, id).await.unwrap().status,
        BotStatus::JoiningCall
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_deploy_past_the_deploying_timeout_is_routed_again_within_the_deadline(db: PgPool) {
    let h = env_harness(db).await;
    // Left `deploying` by a start that never returned (the request may wait 10 min).
    let bot: i64 = sqlx::query_scalar(
        "INSERT INTO bots (pool, meeting_platform, meeting_url, status, deployment_platform, queue_timeout_ms)
         VALUES ('zoom', 'zoom', 'https://zoom.us/j/t', 'DEPLOYING', 'k8s', 600000) RETURNING id",
    )
    .fetch_one(&h.db)
    .await
    .unwrap();
    slots::of("zoom", PlatformKind::K8s)
        .holding(bot)
        .create(&h.db)
        .await;
    let cfg = h.config.jobs.clone();
    h.clock
        .advance(Duration::milliseconds(cfg.deploying_timeout_ms.into()) + Duration::seconds(1));
    assert_eq!(jobs::recover(&h.router, &cfg).await.unwrap().recovered, 1);
    let b = bot::get(&h.db, bot).await.unwrap();
    assert_eq!(b.status, BotStatus::Queued, "5 min into a 10 min wait");
    assert_eq!(b.decision_trace.last().unwrap().decision, Decision::Failed);
    assert_eq!(entry_stage(&h, bot).await, Some(-1));
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 1);
    assert_eq!(
        bot::get(&h.db, bot).await.unwrap().status,
        BotStatus::JoiningCall
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_end_cut_off_before_it_released_the_slot_is_completed(db: PgPool) {
    let h = env_harness(db).await;
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
    let mut bots = Vec::new();
    for _ in 0..2 {
        bots.push(match h.router.create_bot(&zoom(None)).await.unwrap() {
            DeployOutcome::Deployed { bot_id, .. } => bot_id,
            other => panic!("{other:?}"),
        });
    }
    // Both bots were ended, but the process ending them stopped before it
    // released their slots (the end commits first).
    sqlx::query(
        "UPDATE bots SET status = 'DONE', ended_at = now() - interval '1 minute' WHERE id = ANY($1)",
    )
    .bind(&bots)
    .execute(&h.db)
    .await
    .unwrap();
    // Reconciliation finds the first one's workload exited and ends it
    // again: that completes the end.
    sim::exit_workload(&h.db, PlatformKind::K8s, bots[0], true)
        .await
        .unwrap();
    jobs::reconcile(&h.router).await.unwrap();
    assert_eq!(slot::of_bot(&h.db, bots[0]).await.unwrap(), None);
    // The other one's workload is still running: the sweep completes it.
    let held = slot::of_bot(&h.db, bots[1]).await.unwrap();
    assert_eq!(held.map(|s| s.status), Some(SlotStatus::Busy));
    assert_eq!(sweep::run(&h.router).await.unwrap().slots_of_ended_bots, 1);
    assert_eq!(slot::of_bot(&h.db, bots[1]).await.unwrap(), None);
    let busy: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE status <> 'idle'")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(busy, 0, "both slots are free again");
}
