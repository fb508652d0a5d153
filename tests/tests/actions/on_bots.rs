//! Actions on bots: priority, re-route, cancel, redeploy.

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn a_queued_bots_priority_changes_its_place_and_only_a_queued_bots(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (runs, q1, q2) = full_with_two_queued(&h).await;
    assert_eq!(
        queue::position(&h.db, q2, h.clock_now()).await.unwrap(),
        Some(2)
    );
    let c = bots_action::priority(&h.router, &cli(), q2, 5, Some("vip"))
        .await
        .unwrap();
    assert_eq!((c.from, c.to, c.position), (100, 5, Some(1)));
    let order: Vec<i64> = queue::list(&h.db, h.clock_now())
        .await
        .unwrap()
        .iter()
        .map(|e| e.bot_id)
        .collect();
    assert_eq!(order, vec![q2, q1], "the queue's order follows");
    assert_eq!(bot::get(&h.db, q2).await.unwrap().priority, 5);
    let row = last_audit(&h.db, TargetKind::Bot, &q2.to_string()).await;
    assert_eq!(
        (
            row.action.as_str(),
            row.detail["from"].clone(),
            row.detail["to"].clone()
        ),
        ("bot.priority", 100.into(), 5.into())
    );

    let before = audit_count(&h.db).await;
    let e = bots_action::priority(&h.router, &cli(), runs[0], 1, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotApplicable, "not queued");
    let e = bots_action::priority(&h.router, &cli(), q1, -1, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let e = bots_action::priority(&h.router, &cli(), 999_999, 1, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(audit_count(&h.db).await, before, "refusals write nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rerouted_bot_waits_for_its_pinned_platform_only(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (runs, q1, q2) = full_with_two_queued(&h).await;
    let r = bots_action::reroute(
        &h.router,
        &cli(),
        q1,
        Some(PlatformKind::Aws),
        Some("near the data"),
    )
    .await
    .unwrap();
    assert_eq!((r.from, r.to), (None, Some(PlatformKind::Aws)));
    assert_eq!(
        bot::get(&h.db, q1).await.unwrap().pinned_platform,
        Some(PlatformKind::Aws)
    );
    assert_eq!(
        last_audit(&h.db, TargetKind::Bot, &q1.to_string())
            .await
            .action,
        "bot.reroute"
    );
    // k8s frees up: q1 (first in line) is pinned elsewhere, q2 takes it.
    h.router
        .finish(runs[0], BotStatus::Done, None)
        .await
        .unwrap();
    h.dispatcher.drain().await.unwrap();
    assert_eq!(bot::get(&h.db, q1).await.unwrap().status, BotStatus::Queued);
    let b2 = bot::get(&h.db, q2).await.unwrap();
    assert_eq!(b2.deployment_platform, Some(PlatformKind::K8s));
    // aws frees up: q1 goes there.
    h.router
        .finish(runs[1], BotStatus::Done, None)
        .await
        .unwrap();
    h.dispatcher.drain().await.unwrap();
    assert_eq!(
        bot::get(&h.db, q1).await.unwrap().deployment_platform,
        Some(PlatformKind::Aws)
    );

    let before = audit_count(&h.db).await;
    let e = bots_action::reroute(&h.router, &cli(), q1, None, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotApplicable, "no longer queued");
    assert_eq!(audit_count(&h.db).await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn cancel_records_the_reason_and_refuses_an_ended_bot(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (_, q1, _) = full_with_two_queued(&h).await;
    let r = lifecycle::cancel(&h.router, &cli(), q1, Some("duplicate"))
        .await
        .unwrap();
    assert_eq!(r.bot.status, BotStatus::Fatal);
    assert_eq!(
        r.bot.error.as_deref(),
        Some(format!("cancelled by {}: duplicate", cli().record()).as_str())
    );
    assert_eq!(
        queue::position(&h.db, q1, h.clock_now()).await.unwrap(),
        None,
        "left the queue"
    );
    let row = last_audit(&h.db, TargetKind::Bot, &q1.to_string()).await;
    assert_eq!(
        (row.action.as_str(), row.reason.as_deref()),
        ("bot.cancel", Some("duplicate"))
    );
    let e = lifecycle::cancel(&h.router, &cli(), q1, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::StaleTransition);
    assert_eq!(audit_count(&h.db).await, 1, "the refusal wrote nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_bot_is_deployed_again_as_a_new_linked_bot(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (old, _) = running(&h, 7).await;
    let e = bots_action::redeploy(&h.router, &cli(), old, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotApplicable, "it has not failed");
    assert_eq!(audit_count(&h.db).await, 0);
    h.router
        .finish(old, BotStatus::Fatal, Some("crashed"))
        .await
        .unwrap();
    let r = bots_action::redeploy(&h.router, &cli(), old, Some("retry"))
        .await
        .unwrap();
    assert_ne!(r.bot_id, old);
    assert_eq!(r.from_bot_id, old);
    let (new, prev) = (
        bot::get(&h.db, r.bot_id).await.unwrap(),
        bot::get(&h.db, old).await.unwrap(),
    );
    assert_eq!(
        (new.meeting_url.as_str(), new.pool.as_str()),
        (prev.meeting_url.as_str(), "zoom")
    );
    assert_eq!(
        prev.status,
        BotStatus::Fatal,
        "the old bot stays as it ended"
    );
    let link: Option<i64> = sqlx::query_scalar("SELECT redeploy_of FROM bots WHERE id = $1")
        .bind(r.bot_id)
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(link, Some(old));
    assert_eq!(new.redeploy_of, Some(old), "the bot view names it too");
    let row = last_audit(&h.db, TargetKind::Bot, &old.to_string()).await;
    assert_eq!(
        (row.action.as_str(), row.detail["newBotId"].clone()),
        ("bot.redeploy", r.bot_id.into())
    );
}
