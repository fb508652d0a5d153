//! The bot use cases every face calls: deploy, deploy a batch, report a
//! status, cancel — and the outcome helpers the faces share.

use berth_core::actor::Actor;
use berth_core::lifecycle::{self, Batch, BatchRequest};
use berth_core::meeting::{BotStatus, MeetingPlatform, PlatformKind};
use berth_core::router::{DeployOutcome, NewBot};
use berth_core::{bot, queue, ErrorCode};
use berth_tests::bots;
use berth_tests::{harness, three_platforms};
use sqlx::PgPool;

fn batch(pool: &str, count: u32) -> BatchRequest {
    BatchRequest {
        pool: pool.into(),
        meeting_url: "https://zoom.us/j/2".into(),
        count,
        priority: None,
        queue_timeout_ms: None,
        join_at: None,
        if_full: None,
        stagger_ms: None,
    }
}

async fn bot_count(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(db)
        .await
        .unwrap()
}

#[test]
fn outcomes_name_their_bot_and_a_batch_counts_them() {
    let now = chrono::Utc::now();
    let outcomes = [
        DeployOutcome::Deployed {
            bot_id: 1,
            platform: PlatformKind::K8s,
            slot_name: "s".into(),
            platform_identifier: None,
        },
        DeployOutcome::Queued {
            bot_id: 2,
            waiting_on: None,
            queue_position: 1,
            estimated_wait_ms: None,
            until: now,
        },
        DeployOutcome::Skipped { bot_id: 3 },
        DeployOutcome::Deployed {
            bot_id: 4,
            platform: PlatformKind::Aws,
            slot_name: "t".into(),
            platform_identifier: None,
        },
    ];
    assert_eq!(
        outcomes
            .iter()
            .map(DeployOutcome::bot_id)
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert!(outcomes[0].is_deployed() && !outcomes[0].is_queued());
    assert!(outcomes[1].is_queued() && !outcomes[1].is_deployed());
    assert!(!outcomes[2].is_queued() && !outcomes[2].is_deployed());
    let b: Batch = outcomes.iter().collect();
    assert_eq!(
        b,
        Batch {
            bot_ids: vec![1, 2, 3, 4],
            deployed: 2,
            queued: 1,
            scheduled: 0,
        },
        "a skipped bot is listed, not counted"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn deploy_returns_the_outcome_and_the_status_after_routing(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let d = lifecycle::deploy(&h.router, &Actor::cli(), &bots::zoom(1))
        .await
        .unwrap();
    assert!(d.outcome.is_deployed());
    assert_eq!(
        d.status,
        bot::get(&h.db, d.outcome.bot_id()).await.unwrap().status
    );
    for _ in 0..2 {
        lifecycle::deploy(&h.router, &Actor::cli(), &bots::zoom(1))
            .await
            .unwrap();
    }
    let q = lifecycle::deploy(&h.router, &Actor::cli(), &bots::zoom(1))
        .await
        .unwrap();
    assert!(q.outcome.is_queued(), "every platform is full");
    assert_eq!(q.status, BotStatus::Queued);

    let bad = NewBot::new(MeetingPlatform::Zoom, "https://evil.example/j/1");
    let before = bot_count(&h.db).await;
    let e = lifecycle::deploy(&h.router, &Actor::cli(), &bad)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert_eq!(bot_count(&h.db).await, before, "refused before writing");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_batch_deploys_what_fits_queues_the_rest_and_refuses_bad_requests(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let actor = Actor::desktop();
    let b = lifecycle::deploy_batch(&h.router, &actor, &batch("zoom", 5))
        .await
        .unwrap();
    assert_eq!((b.deployed, b.queued, b.bot_ids.len()), (3, 2, 5));
    assert!(b.bot_ids.windows(2).all(|w| w[0] < w[1]), "in order");
    for id in &b.bot_ids {
        assert_eq!(bot::get(&h.db, *id).await.unwrap().pool, "zoom");
    }

    let before = bot_count(&h.db).await;
    for count in [0, lifecycle::MAX_BATCH + 1] {
        let e = lifecycle::deploy_batch(&h.router, &actor, &batch("zoom", count))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{count}");
    }
    let e = lifecycle::deploy_batch(&h.router, &actor, &batch("nope", 1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(bot_count(&h.db).await, before, "refusals write nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_report_says_what_moved_and_which_slot_an_end_freed(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let id = h.router.create_bot(&bots::zoom(1)).await.unwrap().bot_id();
    let started = bot::get(&h.db, id).await.unwrap();
    let slot_name = started.slot_name.clone().expect("holds a slot");

    let r = lifecycle::report(&h.router, &Actor::cli(), id, BotStatus::InCall, None)
        .await
        .unwrap();
    assert_eq!(
        (r.before, r.bot.status),
        (started.status, BotStatus::InCall)
    );
    assert_eq!(r.released, None, "still running");

    let r = lifecycle::report(&h.router, &Actor::cli(), id, BotStatus::Done, None)
        .await
        .unwrap();
    assert_eq!(
        (r.before, r.bot.status),
        (BotStatus::InCall, BotStatus::Done)
    );
    let freed = r.released.expect("the slot it held");
    assert_eq!(freed.slot_name, slot_name);
    assert_eq!(freed.now.as_deref(), Some("idle"));

    let e = lifecycle::report(&h.router, &Actor::cli(), id, BotStatus::InCall, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::StaleTransition);
    let e = lifecycle::report(&h.router, &Actor::cli(), 999_999, BotStatus::Done, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_cancel_ends_the_bot_naming_who_and_frees_what_it_held(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let b = lifecycle::deploy_batch(&h.router, &Actor::cli(), &batch("zoom", 4))
        .await
        .unwrap();
    let (running, waiting) = (b.bot_ids[0], b.bot_ids[3]);
    assert!(queue::position(&h.db, waiting).await.unwrap().is_some());

    let api = Actor::api("billing");
    let r = lifecycle::cancel(&h.router, &api, waiting, None)
        .await
        .unwrap();
    assert_eq!(r.bot.status, BotStatus::Fatal);
    assert_eq!(r.bot.error.as_deref(), Some("cancelled by api:billing"));
    assert_eq!(r.released, None, "it held no slot");
    assert_eq!(queue::position(&h.db, waiting).await.unwrap(), None);

    let r = lifecycle::cancel(&h.router, &api, running, None)
        .await
        .unwrap();
    assert!(matches!(
        r.before,
        BotStatus::Deploying | BotStatus::JoiningCall
    ));
    assert_eq!(
        r.released.and_then(|s| s.now).as_deref(),
        Some("idle"),
        "its workload stopped and its slot returned"
    );

    let e = lifecycle::cancel(&h.router, &api, running, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::StaleTransition, "already ended");
}
