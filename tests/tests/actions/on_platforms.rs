//! Actions on platforms: drain and undrain.

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn a_drained_platform_takes_no_new_bot_until_undrained(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let d = platform_drain::drain(&h.router, &cli(), PlatformKind::K8s, Some("upgrade"))
        .await
        .unwrap();
    assert_eq!(
        (d.drain.by.clone(), d.drain.reason.as_deref()),
        (cli().record(), Some("upgrade"))
    );
    let (id, _) = running(&h, 1).await;
    let b = bot::get(&h.db, id).await.unwrap();
    assert_eq!(
        b.deployment_platform,
        Some(PlatformKind::Aws),
        "k8s skipped"
    );
    assert!(b
        .decision_trace
        .iter()
        .any(|e| e.decision == Decision::Drained && e.platform == Some(PlatformKind::K8s)));
    let view = overview::platforms(&h.db, h.clock_now(), None)
        .await
        .unwrap();
    let k8s = view
        .platforms
        .iter()
        .find(|p| p.settings.platform == PlatformKind::K8s)
        .unwrap();
    assert_eq!(
        k8s.drain.as_ref().map(|d| d.by.clone()),
        Some(cli().record())
    );
    assert_eq!(
        last_audit(&h.db, TargetKind::Platform, "k8s").await.action,
        "platform.drain"
    );

    let before = audit_count(&h.db).await;
    let e = platform_drain::drain(&h.router, &cli(), PlatformKind::K8s, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotApplicable);
    assert_eq!(audit_count(&h.db).await, before);

    platform_drain::undrain(&h.router, &cli(), PlatformKind::K8s, None)
        .await
        .unwrap();
    assert_eq!(
        last_audit(&h.db, TargetKind::Platform, "k8s").await.action,
        "platform.undrain"
    );
    let (id, _) = running(&h, 2).await;
    assert_eq!(
        bot::get(&h.db, id).await.unwrap().deployment_platform,
        Some(PlatformKind::K8s)
    );
    let e = platform_drain::undrain(&h.router, &cli(), PlatformKind::K8s, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotApplicable);
}
