//! A request's queue timeout bounds its whole wait for capacity (issue 11,
//! item 21): platform waits included, counted from its creation, capped by
//! the global ceiling. On the manual clock.

use berth_core::bot::{self, Decision};
use berth_core::clock::Clock;
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::router::{DeployOutcome, NewBot};
use berth_tests::bots;
use berth_tests::{harness, Harness};
use chrono::Duration;
use sqlx::PgPool;

fn zoom(timeout: i32) -> NewBot {
    bots::zoom(21).queue_timeout_ms(timeout)
}

fn bot_id(o: &DeployOutcome) -> i64 {
    match o {
        DeployOutcome::Deployed { bot_id, .. }
        | DeployOutcome::Queued { bot_id, .. }
        | DeployOutcome::Scheduled { bot_id, .. }
        | DeployOutcome::Skipped { bot_id } => *bot_id,
    }
}

/// k8s (limit 1, waited on for 1,500 ms) then aws (limit `aws_limit`, no
/// wait); k8s already full.
async fn k8s_full(db: PgPool, aws_limit: &'static str) -> Harness {
    let h = harness(
        db,
        &[
            ("PLATFORM_PRIORITY", "k8s,aws"),
            ("K8S_BOT_LIMIT", "1"),
            ("K8S_QUEUE_TIMEOUT_MS", "1500"),
            ("AWS_BOT_LIMIT", aws_limit),
            ("AWS_QUEUE_TIMEOUT_MS", "0"),
        ],
        false,
    )
    .await;
    let first = h.router.create_bot(&zoom(0)).await.unwrap();
    assert!(matches!(
        first,
        DeployOutcome::Deployed {
            platform: PlatformKind::K8s,
            ..
        }
    ));
    h
}

#[sqlx::test(migrations = "../migrations")]
async fn a_platform_wait_ends_at_the_requests_deadline(db: PgPool) {
    // aws has a limit of 1 too, and is filled: nothing anywhere.
    let h = k8s_full(db, "1").await;
    let on_aws = h.router.create_bot(&zoom(0)).await.unwrap();
    assert!(matches!(
        on_aws,
        DeployOutcome::Deployed {
            platform: PlatformKind::Aws,
            ..
        }
    ));
    let o = h.router.create_bot(&zoom(1_000)).await.unwrap();
    let DeployOutcome::Queued {
        waiting_on, until, ..
    } = &o
    else {
        panic!("{o:?}")
    };
    assert_eq!(*waiting_on, Some(PlatformKind::K8s));
    assert_eq!(
        *until - h.clock.now(),
        Duration::milliseconds(1_000),
        "k8s's 1,500 ms wait is cut to the request's 1,000 ms"
    );
    let listed = berth_core::queue::list(&h.db).await.unwrap();
    assert_eq!(
        listed[0].waiting_on,
        Some(PlatformKind::K8s),
        "the queue view decodes the platform waited on"
    );
    let id = bot_id(&o);
    h.clock.advance(Duration::milliseconds(999));
    h.dispatcher.drain().await.unwrap();
    assert_eq!(bot::get(&h.db, id).await.unwrap().status, BotStatus::Queued);
    // At its deadline: one last look at aws (full, and no time left to
    // wait anywhere), then it has waited all it may.
    h.clock.advance(Duration::milliseconds(1));
    h.dispatcher.drain().await.unwrap();
    assert_eq!(h.dispatcher.drain().await.unwrap().expired, 1);
    let b = bot::get(&h.db, id).await.unwrap();
    assert_eq!(
        (b.status, b.error.as_deref()),
        (BotStatus::Fatal, Some("queue timeout"))
    );
    let last = b.decision_trace.last().unwrap();
    assert_eq!(last.decision, Decision::Expired);
    assert_eq!(last.detail, "queue timeout after 1000 ms");
}

#[sqlx::test(migrations = "../migrations")]
async fn at_its_deadline_a_request_still_takes_room_on_the_next_platform(db: PgPool) {
    let h = k8s_full(db, "5").await;
    // aws has room, but k8s comes first and is waited on: the wait is cut
    // to the request's deadline, and then aws takes it.
    let o = h.router.create_bot(&zoom(1_000)).await.unwrap();
    let DeployOutcome::Queued { until, .. } = &o else {
        panic!("{o:?}")
    };
    assert_eq!(*until - h.clock.now(), Duration::milliseconds(1_000));
    h.clock.advance(Duration::milliseconds(1_000));
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 1);
    let b = bot::get(&h.db, bot_id(&o)).await.unwrap();
    assert_eq!(
        (b.status, b.deployment_platform.map(|p| p.as_str())),
        (BotStatus::JoiningCall, Some("aws"))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_global_queue_deadline_counts_from_the_requests_creation(db: PgPool) {
    let h = k8s_full(db, "1").await;
    h.router.create_bot(&zoom(0)).await.unwrap();
    let created = h.clock.now();
    let o = h.router.create_bot(&zoom(4_000)).await.unwrap();
    h.clock.advance(Duration::milliseconds(1_500));
    h.dispatcher.drain().await.unwrap();
    let entry = berth_core::queue::list(&h.db).await.unwrap();
    assert_eq!(entry.len(), 1);
    assert_eq!(entry[0].waiting_on, None, "in the global queue");
    assert_eq!(
        entry[0].timeout_at - created,
        Duration::milliseconds(4_000),
        "4 s from creation, not from entering the global queue"
    );
    h.clock.advance(Duration::milliseconds(2_500));
    assert_eq!(h.dispatcher.drain().await.unwrap().expired, 1);
    assert_eq!(
        bot::get(&h.db, bot_id(&o)).await.unwrap().status,
        BotStatus::Fatal
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_global_ceiling_caps_the_whole_wait(db: PgPool) {
    let h = harness(
        db,
        &[
            ("PLATFORM_PRIORITY", "k8s"),
            ("K8S_BOT_LIMIT", "1"),
            ("K8S_QUEUE_TIMEOUT_MS", "60000"),
            ("GLOBAL_QUEUE_TIMEOUT_MS", "2000"),
        ],
        false,
    )
    .await;
    h.router.create_bot(&zoom(0)).await.unwrap();
    let o = h.router.create_bot(&zoom(300_000)).await.unwrap();
    let DeployOutcome::Queued {
        waiting_on, until, ..
    } = &o
    else {
        panic!("{o:?}")
    };
    assert_eq!(
        (*waiting_on, *until - h.clock.now()),
        (Some(PlatformKind::K8s), Duration::milliseconds(2_000)),
        "the 60 s platform wait ends at the 2 s ceiling"
    );
}
