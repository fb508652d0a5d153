//! The Kubernetes adapter against kmock: a slot's whole lifecycle.

use super::*;

#[tokio::test]
async fn kubernetes_slot_lifecycle_against_kmock() {
    let kmock = emulators::kmock(&["berth"]).await;
    let k = kube_on(&kmock);
    assert_eq!(k.health().await, Health::Healthy);

    let mut s = slot_ref(3, 5);
    let identity = k.create_resource(&s, &made_of()).await.unwrap();
    assert_eq!(identity, "berth-pool-zoom-003");
    assert_eq!(
        k.create_resource(&s, &made_of()).await.unwrap(),
        identity,
        "creating again adopts"
    );
    s.platform_ref = Some(identity.clone());
    k.describe(&s, "[DEPLOYING] Bot #9 - Starting container...")
        .await
        .unwrap();
    let cm: ConfigMap = kube_api(&kmock).get(&identity).await.unwrap();
    assert_eq!(
        cm.metadata.annotations.unwrap()["berth.dev/description"],
        "[DEPLOYING] Bot #9 - Starting container..."
    );

    assert_eq!(k.start(&s, &spec(9)).await.unwrap(), None);
    k.start(&s, &spec(9))
        .await
        .expect("a retried start adopts (409)");
    let jobs: kube::Api<Job> = kube_api(&kmock);
    let job = jobs.get("berth-pool-zoom-003-e5").await.unwrap();
    assert_eq!(job.spec.unwrap().backoff_limit, Some(0));

    // A Job Berth does not own (another tool's, with look-alike labels):
    // kmock ignores the label selector, so only the adapter's own owner
    // filter keeps it out.
    let foreign: Job = serde_json::from_value(serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "not-ours", "labels": {
            "app.kubernetes.io/managed-by": "helm",
            "berth.dev/slot": "berth-pool-zoom-003",
            "berth.dev/epoch": "99"
        }},
        "spec": {"template": {"spec": {"containers": []}}}
    }))
    .unwrap();
    jobs.create(&Default::default(), &foreign).await.unwrap();

    let listed = k.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].resource, identity);
    assert_eq!(listed[0].epoch, Some(5));
    assert_eq!(listed[0].bot_id, Some(9));
    assert_eq!(listed[0].state, WorkloadState::Running);

    // The Job completes: its status merge-patched as the job controller
    // would (kmock has no `/status` subresource; it merges into the object).
    let status = serde_json::json!({"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}});
    jobs.patch(
        "berth-pool-zoom-003-e5",
        &Default::default(),
        &kube::api::Patch::Merge(&status),
    )
    .await
    .unwrap();
    let listed = k.list().await.unwrap();
    assert_eq!(
        listed[0].state,
        WorkloadState::Succeeded,
        "{}",
        listed[0].raw_status
    );

    k.stop(&s).await.unwrap();
    assert!(gone(&jobs, "berth-pool-zoom-003-e5").await);
    k.stop(&s).await.expect("stopping nothing is success");
    k.delete_resource(&s).await.unwrap();
    assert!(gone(&kube_api::<ConfigMap>(&kmock), &identity).await);

    let mut kmock = kmock;
    kmock.kill().await;
    assert_eq!(k.health().await, Health::Down);
}
