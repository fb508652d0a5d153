//! What every action leaves behind: its audit row, listed and filtered,
//! and its announcements.

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn the_audit_log_lists_newest_first_with_filters(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let desktop = Actor::desktop();
    platform_drain::drain(&h.router, &cli(), PlatformKind::K8s, None)
        .await
        .unwrap();
    platform_drain::drain(&h.router, &desktop, PlatformKind::Aws, None)
        .await
        .unwrap();
    platform_drain::undrain(&h.router, &cli(), PlatformKind::K8s, None)
        .await
        .unwrap();
    let all = audit::list(&h.db, &AuditFilter::default()).await.unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["platform.undrain", "platform.drain", "platform.drain"]
    );
    let by_desktop = AuditFilter {
        actor: Some(desktop.record()),
        ..AuditFilter::default()
    };
    assert_eq!(audit::list(&h.db, &by_desktop).await.unwrap().len(), 1);
    let one = AuditFilter {
        limit: Some(1),
        ..AuditFilter::default()
    };
    assert_eq!(
        audit::list(&h.db, &one).await.unwrap()[0].action,
        "platform.undrain"
    );
    let later = AuditFilter {
        since: Some(all[0].at + chrono::Duration::seconds(1)),
        ..AuditFilter::default()
    };
    assert!(audit::list(&h.db, &later).await.unwrap().is_empty());
    let bad = AuditFilter {
        limit: Some(0),
        ..AuditFilter::default()
    };
    assert_eq!(
        audit::list(&h.db, &bad).await.unwrap_err().code(),
        ErrorCode::InvalidInput
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_slot_action_announces_the_slots_it_changed(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let mut on = announcing(&h.db, h.clock.clone(), h.router.platforms()).await;
    let router = on.router.clone();
    let a = slots::of("zoom", PlatformKind::K8s).create(&h.db).await;
    let b = slots::of("zoom", PlatformKind::K8s).create(&h.db).await;
    // Drained while idle: deleted at once; readers find its id gone.
    drain::drain(
        &router,
        &cli(),
        &names(&[&a.slot_name, &b.slot_name, "nope"]),
        None,
    )
    .await
    .unwrap();
    let named = on.slots_named(&[a.slot_id, b.slot_id], "the drain").await;
    assert_eq!(named.len(), 2, "only the drained slots: {named:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn every_action_kind_announces_its_topics_with_audit(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    // The harness's feed is off: a router on a live feed, same database and adapters.
    let mut on = announcing(&h.db, h.clock.clone(), h.router.platforms()).await;
    let router = on.router.clone();

    let idle = slots::of("zoom", PlatformKind::K8s).create(&h.db).await;
    drain::drain(&router, &cli(), &names(&[&idle.slot_name]), None)
        .await
        .unwrap();
    announced(&mut on.rx, &[Topic::Slots, Topic::Audit]).await;
    let (_, q1, _) = full_with_two_queued(&h).await;
    bots_action::priority(&router, &cli(), q1, 3, None)
        .await
        .unwrap();
    announced(&mut on.rx, &[Topic::Queue, Topic::Audit]).await;
    platform_drain::drain(&router, &cli(), PlatformKind::Aws, None)
        .await
        .unwrap();
    announced(&mut on.rx, &[Topic::Platforms, Topic::Audit]).await;
    lifecycle::cancel(&router, &cli(), q1, None).await.unwrap();
    announced(&mut on.rx, &[Topic::Bots, Topic::Audit]).await;
}
