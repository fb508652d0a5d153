//! A slot's life on Coolify: the full lifecycle, a create whose answer was
//! lost, late calls of an older lease, a create never started, and a start
//! by another instance.

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn full_lifecycle_create_env_start_status_describe_stop_delete(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    full_lifecycle(&s).await;
    // Stop and delete of what is gone already count as done.
    let gone = SlotRef {
        platform_ref: Some("app9999".into()),
        ..slot_on_coolify(&s.db).await
    };
    s.adapter.stop(&gone).await.unwrap();
    s.adapter.delete_resource(&gone).await.unwrap();
    assert_eq!(s.adapter.health().await, Health::Healthy);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_create_applied_but_unanswered_yields_exactly_one_application(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    s.fake.lock().faults.slow_create = Some(Duration::from_secs(4));
    let r = slot_on_coolify(&s.db).await;
    let uuid = s.adapter.create_resource(&r, &made_of()).await.unwrap();
    assert_eq!(
        s.fake.lock().apps.len(),
        1,
        "the retry created a second application"
    );
    assert!(s.fake.lock().apps.contains_key(&uuid));
    assert_eq!(
        requests(&s.server, "POST", "/applications/dockerimage").await,
        1
    );
    // Creating again for the same slot adopts it too.
    assert_eq!(
        s.adapter.create_resource(&r, &made_of()).await.unwrap(),
        uuid
    );
    assert_eq!(s.fake.lock().apps.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_late_start_or_stop_of_an_older_lease_leaves_the_newer_leases_application(db: PgPool) {
    // Issue 11, item 18, on Coolify: one application is a slot's only
    // workload, so the adapter itself checks the lease it was configured for.
    let s = setup(db, fast_policy()).await;
    let mut older = slot_on_coolify(&s.db).await;
    older.platform_ref = Some(s.adapter.create_resource(&older, &made_of()).await.unwrap());
    let uuid = older.platform_ref.clone().unwrap();
    older.epoch = 1;
    let newer = SlotRef {
        epoch: 2,
        ..older.clone()
    };
    s.adapter.start(&newer, &spec(22)).await.unwrap();
    let envs = |s: &Setup| s.fake.lock().apps[&uuid].envs.clone();
    assert_eq!(envs(&s)["BERTH_EPOCH"], "2");

    // The older lease's start arrives late: refused, nothing changed.
    let e = s.adapter.start(&older, &spec(11)).await.unwrap_err();
    assert_eq!(e.kind, FailureKind::Conflict, "{e}");
    assert!(e.message.contains("newer lease (epoch 2)"), "{e}");
    assert_eq!(envs(&s)["BERTH_BOT_ID"], "22");
    assert_eq!(envs(&s)["BERTH_EPOCH"], "2");
    // Its clean-up stops nothing either.
    s.adapter.stop(&older).await.unwrap();
    assert_eq!(s.fake.lock().apps[&uuid].status, "running:healthy");
    assert_eq!(requests(&s.server, "POST", "/stop").await, 0);
    // The newer lease's own stop does.
    s.adapter.stop(&newer).await.unwrap();
    assert_eq!(s.fake.lock().apps[&uuid].status, "exited");

    // A slot created again under the same name (its epochs start over)
    // is not an older lease of the former one: it starts.
    let reborn = SlotRef {
        slot_id: older.slot_id + 1000,
        epoch: 1,
        ..older.clone()
    };
    s.adapter.start(&reborn, &spec(33)).await.unwrap();
    assert_eq!(envs(&s)["BERTH_BOT_ID"], "33");
    assert_eq!(envs(&s)["BERTH_EPOCH"], "1");
}

#[sqlx::test(migrations = "../migrations")]
async fn created_but_not_started_is_recorded_for_recovery_never_leaked(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    s.fake.lock().faults.start = Some(500);
    let o = s.router.create_bot(&bots::meet()).await.unwrap();
    assert!(matches!(o, DeployOutcome::Queued { .. }), "{o:?}");
    let (status, platform_ref): (String, Option<String>) = sqlx::query_as(
        "SELECT status, platform_ref FROM pool_slots WHERE deployment_platform = 'coolify'",
    )
    .fetch_one(&s.db)
    .await
    .unwrap();
    assert_eq!(status, "error");
    let uuid = platform_ref.expect("the created application is recorded on the slot");
    assert!(s.fake.lock().apps.contains_key(&uuid));

    // Recovery stops it and returns the slot to idle, keeping the resource.
    s.fake.lock().faults.start = None;
    let cfg = berth_core::config::EnvConfig::parse(
        &|k| match k {
            "PLATFORM_PRIORITY" => Some("coolify".into()),
            "COOLIFY_BOT_LIMIT" => Some("5".into()),
            _ => None,
        },
        false,
    )
    .unwrap();
    let report = jobs::recover(&s.router, &cfg.jobs).await.unwrap();
    assert_eq!(report.recovered, 1);
    assert_eq!(
        requests(&s.server, "POST", &format!("/applications/{uuid}/stop")).await,
        1
    );
    let status: String =
        sqlx::query_scalar("SELECT status FROM pool_slots WHERE platform_ref = $1")
            .bind(&uuid)
            .fetch_one(&s.db)
            .await
            .unwrap();
    assert_eq!(status, "idle");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bot_started_by_another_instance_counts_as_starting_for_a_while(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    // Coolify says `exited` until the deployment ran the image; this
    // instance did not start these, so it knows no deployment.
    let now = chrono::Utc::now();
    let fresh = s.fake.add(
        "berth-google-meet-001",
        &berth_core::description::busy(5, now - chrono::Duration::minutes(1)),
        "exited",
    );
    let stale = s.fake.add(
        "berth-google-meet-002",
        &berth_core::description::busy(6, now - chrono::Duration::minutes(30)),
        "exited:unhealthy",
    );
    let listed = s.adapter.list().await.unwrap();
    let state = |uuid: &str| listed.iter().find(|w| w.resource == uuid).unwrap().clone();
    assert_eq!(state(&fresh).state, WorkloadState::Running);
    assert_eq!(state(&fresh).raw_status, "exited (starting)");
    assert_eq!(state(&fresh).bot_id, Some(5));
    assert_eq!(state(&stale).state, WorkloadState::Stopped);
    assert_eq!(state(&stale).raw_status, "exited:unhealthy");
}
