//! The core functions the desktop app's settings editor and infrastructure
//! view need: priority order and global queue timeout edits (validated,
//! refused when pinned by the environment, recorded), the settings history,
//! per-platform slot counts, and the rule that an edit may not leave the
//! router without any usable platform.

use berth_core::actor::Actor;
use berth_core::meeting::PlatformKind::{self, Aws, Coolify, K8s, Local};
use berth_core::{settings, slot, ErrorCode};
use berth_tests::slots;
use berth_tests::{harness, insert_bot, three_platforms};
use sqlx::PgPool;

async fn positions(db: &PgPool) -> Vec<PlatformKind> {
    settings::load(db)
        .await
        .unwrap()
        .platforms
        .iter()
        .map(|p| p.platform)
        .collect()
}

fn err_code(r: berth_core::Result<()>) -> (ErrorCode, String) {
    let e = r.expect_err("expected a refusal");
    (e.code(), e.to_string())
}

#[sqlx::test(migrations = "../migrations")]
async fn priority_order_is_saved_and_every_move_recorded(db: PgPool) {
    let h = harness(db, &[], true).await;
    assert_eq!(positions(&h.db).await, vec![K8s, Aws, Coolify, Local]);
    let before = settings::history(&h.db, 100).await.unwrap().len();

    settings::set_priority(
        &h.db,
        h.router.feed(),
        &[Coolify, K8s, Aws, Local],
        &Actor::api("ada"),
    )
    .await
    .unwrap();
    assert_eq!(positions(&h.db).await, vec![Coolify, K8s, Aws, Local]);

    let history = settings::history(&h.db, 100).await.unwrap();
    let new: Vec<_> = history[..history.len() - before].to_vec();
    assert_eq!(new.len(), 4, "four platforms moved: {new:?}");
    assert!(new
        .iter()
        .all(|c| c.field == "position" && c.changed_by == "api:ada"));
    let coolify = new
        .iter()
        .find(|c| c.subject == "platform:coolify")
        .unwrap();
    assert_eq!(coolify.old_value, Some(serde_json::json!(2)));
    assert_eq!(coolify.new_value, Some(serde_json::json!(0)));
    assert!(
        history.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );

    // Setting the same order again changes and records nothing.
    settings::set_priority(
        &h.db,
        h.router.feed(),
        &[Coolify, K8s, Aws, Local],
        &Actor::api("ada"),
    )
    .await
    .unwrap();
    assert_eq!(
        settings::history(&h.db, 100).await.unwrap().len(),
        history.len()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bad_priority_order_is_refused_and_nothing_saved(db: PgPool) {
    let h = harness(db, &[], true).await;
    let before = settings::history(&h.db, 100).await.unwrap().len();

    let (code, msg) = err_code(
        settings::set_priority(
            &h.db,
            h.router.feed(),
            &[Aws, Aws, K8s, Local],
            &Actor::api("t"),
        )
        .await,
    );
    assert_eq!(code, ErrorCode::ConfigInvalid);
    assert!(msg.contains("twice"), "{msg}");

    let (code, msg) = err_code(
        settings::set_priority(&h.db, h.router.feed(), &[Aws, K8s], &Actor::api("t")).await,
    );
    assert_eq!(code, ErrorCode::ConfigInvalid);
    assert!(msg.contains("coolify") && msg.contains("local"), "{msg}");

    let (code, _) =
        err_code(settings::set_priority(&h.db, h.router.feed(), &[], &Actor::api("t")).await);
    assert_eq!(code, ErrorCode::ConfigInvalid);

    assert_eq!(positions(&h.db).await, vec![K8s, Aws, Coolify, Local]);
    assert_eq!(settings::history(&h.db, 100).await.unwrap().len(), before);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_priority_order_pinned_by_the_environment_cannot_be_edited(db: PgPool) {
    let h = harness(db, &three_platforms("5", ["0", "0", "0"]), false).await;
    let before = positions(&h.db).await;
    let (code, msg) = err_code(
        settings::set_priority(
            &h.db,
            h.router.feed(),
            &[Aws, K8s, Coolify, Local],
            &Actor::api("t"),
        )
        .await,
    );
    assert_eq!(code, ErrorCode::Conflict);
    assert!(msg.contains("PLATFORM_PRIORITY"), "{msg}");
    assert_eq!(positions(&h.db).await, before);
    // The unchanged order is not an edit, so it is accepted.
    settings::set_priority(&h.db, h.router.feed(), &before, &Actor::api("t"))
        .await
        .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn global_queue_timeout_is_validated_pinned_and_recorded(db: PgPool) {
    let h = harness(db, &[], true).await;
    for bad in [0, 999, 3_600_001, -5] {
        let (code, msg) = err_code(
            settings::set_global_queue_timeout(&h.db, h.router.feed(), bad, &Actor::api("t")).await,
        );
        assert_eq!(code, ErrorCode::ConfigInvalid, "{bad}");
        assert!(msg.contains("globalQueueTimeoutMs"), "{msg}");
    }
    assert_eq!(
        settings::load(&h.db).await.unwrap().global_queue_timeout_ms,
        600_000
    );

    settings::set_global_queue_timeout(&h.db, h.router.feed(), 120_000, &Actor::api("ada"))
        .await
        .unwrap();
    let s = settings::load(&h.db).await.unwrap();
    assert_eq!(s.global_queue_timeout_ms, 120_000);
    let last = &settings::history(&h.db, 1).await.unwrap()[0];
    assert_eq!(
        (
            last.subject.as_str(),
            last.field.as_str(),
            last.changed_by.as_str()
        ),
        ("global", "globalQueueTimeoutMs", "api:ada")
    );
    assert_eq!(last.new_value, Some(serde_json::json!(120_000)));

    // Pinned by GLOBAL_QUEUE_TIMEOUT_MS: refused, naming the variable.
    let pinned = harness(h.db.clone(), &[("GLOBAL_QUEUE_TIMEOUT_MS", "300000")], true).await;
    let (code, msg) = err_code(
        settings::set_global_queue_timeout(
            &pinned.db,
            pinned.router.feed(),
            200_000,
            &Actor::api("t"),
        )
        .await,
    );
    assert_eq!(code, ErrorCode::Conflict);
    assert!(msg.contains("GLOBAL_QUEUE_TIMEOUT_MS"), "{msg}");
    assert_eq!(
        settings::load(&pinned.db)
            .await
            .unwrap()
            .global_queue_timeout_ms,
        300_000
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn history_honours_its_limit(db: PgPool) {
    let h = harness(db, &[], true).await;
    for limit in [10, 20, 30] {
        settings::edit_platform(
            &h.db,
            h.router.feed(),
            K8s,
            &settings::PlatformEdit {
                bot_limit: Some(limit),
                ..Default::default()
            },
            &Actor::api("t"),
        )
        .await
        .unwrap();
    }
    let two = settings::history(&h.db, 2).await.unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].new_value, Some(serde_json::json!(30)));
    assert_eq!(two[1].new_value, Some(serde_json::json!(20)));
    assert!(settings::history(&h.db, 0).await.unwrap().is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn an_edit_may_not_leave_no_usable_platform(db: PgPool) {
    let h = harness(
        db,
        &[
            ("PLATFORM_PRIORITY", "k8s,aws"),
            ("K8S_BOT_LIMIT", "3"),
            ("AWS_BOT_LIMIT", "3"),
        ],
        false,
    )
    .await;
    let disable = settings::PlatformEdit {
        enabled: Some(false),
        ..Default::default()
    };
    settings::edit_platform(&h.db, h.router.feed(), K8s, &disable, &Actor::api("t"))
        .await
        .unwrap();
    let before = settings::history(&h.db, 100).await.unwrap().len();
    let (code, msg) = err_code(
        settings::edit_platform(&h.db, h.router.feed(), Aws, &disable, &Actor::api("t")).await,
    );
    assert_eq!(code, ErrorCode::ConfigInvalid);
    assert!(msg.contains("at least one enabled platform"), "{msg}");
    let s = settings::load(&h.db).await.unwrap();
    assert!(s.platform(Aws).unwrap().enabled, "nothing saved");
    assert_eq!(settings::history(&h.db, 100).await.unwrap().len(), before);
}

#[sqlx::test(migrations = "../migrations")]
async fn slot_counts_per_platform_and_status_match_the_rows(db: PgPool) {
    let h = harness(db, &[], true).await;
    let mut conn = h.db.acquire().await.unwrap();
    for (platform, n) in [(K8s, 3), (Aws, 2)] {
        for _ in 0..n {
            slots::of("zoom", platform).create_on(&mut conn).await;
        }
    }
    let bot = insert_bot(&h.db, "zoom").await;
    let lease = slots::of("zoom", Aws)
        .holding(bot)
        .create_on(&mut conn)
        .await;
    slot::mark_error(
        &mut conn,
        lease.slot_id,
        Some(lease.epoch),
        "boom",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    drop(conn);

    let mut counts: Vec<(String, String, i64)> = slot::counts_per_platform(&h.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                c.deployment_platform.to_string(),
                c.status.to_string(),
                c.count,
            )
        })
        .collect();
    counts.sort();
    let expected: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT deployment_platform, status, count(*) FROM pool_slots GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(&h.db)
    .await
    .unwrap();
    assert_eq!(counts, expected);
    assert!(counts.contains(&("k8s".into(), "idle".into(), 3)));
    assert!(counts.contains(&("aws".into(), "error".into(), 1)));
}
