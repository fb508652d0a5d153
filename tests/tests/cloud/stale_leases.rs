//! Both adapters: a late start of an older lease runs apart from the
//! newer one, and its stop spares the newer one.

use super::*;

#[tokio::test]
async fn kubernetes_a_late_start_of_an_older_lease_runs_apart_and_its_stop_spares_the_newer_one() {
    // Issue 11, item 18, on Kubernetes: each lease is its own Job.
    let kmock = emulators::kmock(&["berth"]).await;
    let k = kube_on(&kmock);
    let mut newer = slot_ref(4, 2);
    newer.platform_ref = Some(k.create_resource(&newer, &made_of()).await.unwrap());
    let older = SlotRef {
        epoch: 1,
        ..newer.clone()
    };
    k.start(&newer, &spec(22)).await.unwrap();
    k.start(&older, &spec(11)).await.unwrap();
    k.stop(&older).await.unwrap();
    let jobs: kube::Api<Job> = kube_api(&kmock);
    assert!(gone(&jobs, "berth-pool-zoom-004-e1").await);
    assert!(
        !gone(&jobs, "berth-pool-zoom-004-e2").await,
        "the newer Job runs on"
    );
    let listed = k.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].bot_id, listed[0].epoch), (Some(22), Some(2)));
}

#[tokio::test]
async fn ecs_a_late_start_of_an_older_lease_runs_apart_and_its_stop_spares_the_newer_one() {
    // Issue 11, item 18, on ECS: each lease is its own task.
    let (_moto, ecs, _) = moto_ecs().await;
    let newer = slot_ref(4, 2);
    let older = slot_ref(4, 1);
    let b = ecs.start(&newer, &spec(22)).await.unwrap().unwrap();
    let a = ecs.start(&older, &spec(11)).await.unwrap().unwrap();
    assert_ne!(a, b);
    // The late deploy stops what it started, by its own task.
    let mut stale = older.clone();
    stale.platform_ref = Some(a.clone());
    ecs.stop(&stale).await.unwrap();
    let listed = ecs.list().await.unwrap();
    let state = |arn: &str| listed.iter().find(|w| w.resource == arn).unwrap().state;
    assert_ne!(state(&a), WorkloadState::Running);
    assert_eq!(state(&b), WorkloadState::Running, "the newer task runs on");
}
