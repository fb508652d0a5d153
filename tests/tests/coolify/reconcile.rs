//! Reconciliation against Coolify: a failing listing changes nothing, an
//! application the database missed is adopted (and announced), orphans go.

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn a_failing_listing_makes_reconciliation_change_nothing(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    let o = s.router.create_bot(&bots::meet()).await.unwrap();
    assert!(matches!(o, DeployOutcome::Deployed { .. }), "{o:?}");
    s.fake.add(
        "berth-ghost-slot",
        "[IDLE] Available - Never used",
        "exited",
    );
    s.fake.lock().faults.list = Some(500);
    let report = jobs::reconcile(&s.router).await.unwrap();
    assert_eq!(report.unknown, vec![PlatformKind::Coolify]);
    assert_eq!(
        (report.finished, report.orphans_removed, report.adopted),
        (0, 0, 0)
    );
    assert_eq!(requests(&s.server, "DELETE", "/applications").await, 0);
    assert_eq!(requests(&s.server, "POST", "/stop").await, 0);
    let busy: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE status = 'busy'")
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert_eq!(busy, 1);
    assert_eq!(s.fake.lock().apps.len(), 2);
}

/// Reconciliation that records a resource on a slot announces that slot
/// (an open console shows the change without a reload): nothing else
/// announces it, since no transition comes with an adoption.
#[sqlx::test(migrations = "../migrations")]
async fn an_adopted_resource_is_announced_with_its_slot(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    let r = slot_on_coolify(&s.db).await;
    s.adapter.create_resource(&r, &made_of()).await.unwrap();
    let mut on = announcing(&s.db, s.clock.clone(), s.router.platforms()).await;
    assert_eq!(jobs::reconcile(&on.router).await.unwrap().adopted, 1);
    on.slots_named(&[r.slot_id], "the adoption").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_crash_before_the_database_write_is_healed_by_reconciliation(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    // The instance created the application, then died before recording it.
    let r = slot_on_coolify(&s.db).await;
    let created = s.adapter.create_resource(&r, &made_of()).await.unwrap();
    // An application for a slot that no longer exists, and one not Berth's.
    let ghost = s.fake.add(
        "berth-google-meet-gone",
        "[IDLE] Available - Never used",
        "running:healthy",
    );
    let foreign = s.fake.add("someone-elses-app", "", "running:healthy");

    let report = jobs::reconcile(&s.router).await.unwrap();
    assert_eq!(report.adopted, 1, "{report:?}");
    assert_eq!(report.orphans_removed, 1, "{report:?}");
    let recorded: Option<String> =
        sqlx::query_scalar("SELECT platform_ref FROM pool_slots WHERE id = $1")
            .bind(r.slot_id)
            .fetch_one(&s.db)
            .await
            .unwrap();
    assert_eq!(recorded.as_deref(), Some(created.as_str()));
    let apps = s.fake.lock().apps.clone();
    assert!(apps.contains_key(&created));
    assert!(!apps.contains_key(&ghost), "the orphan was not removed");
    assert!(
        apps.contains_key(&foreign),
        "an application Berth does not own was touched"
    );

    // A second run finds nothing more to do.
    let again = jobs::reconcile(&s.router).await.unwrap();
    assert_eq!(
        (again.adopted, again.orphans_removed, again.orphans_stopped),
        (0, 0, 0)
    );
}
