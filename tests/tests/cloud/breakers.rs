//! Both adapters' circuit breakers: open when the API goes, closed once
//! it is back (real threshold, cool-down on a manual clock).

use super::*;

#[tokio::test]
async fn kubernetes_breaker_opens_when_the_api_goes_and_closes_once_it_is_back() {
    // Issue 11, item 12: the breaker opened and never closed, because the
    // health check went through the breaker's fail-fast path instead of
    // probing. Real threshold and cool-down; the cool-down on a manual clock.
    let mut kmock = emulators::kmock(&["berth"]).await;
    let port = kmock.port;
    let clock = ManualClock::starting_now();
    let k = kube_on(&kmock).with_clock(clock.clone());
    assert_eq!(k.health().await, Health::Healthy);
    assert_eq!(k.unavailable(), None);

    kmock.kill().await;
    for _ in 0..Policy::default().breaker_threshold {
        let err = k.list().await.unwrap_err();
        assert_eq!(err.kind, FailureKind::Transient, "{err}");
    }
    let why = k.unavailable().expect("five failed calls open the breaker");
    assert!(why.contains("5 consecutive failed calls"), "{why}");
    assert_eq!(k.list().await.unwrap_err().kind, FailureKind::CircuitOpen);
    assert_eq!(k.health().await, Health::Down);

    // The API server comes back where it was. During the cool-down the
    // breaker stays open (the check does not reach the API)...
    let _kmock = emulators::kmock_at(port, &["berth"]).await;
    assert_eq!(k.health().await, Health::Down);
    assert!(k.unavailable().is_some());
    // ...after it, one health check probes, succeeds and closes it.
    clock.advance(chrono::Duration::seconds(31));
    assert_eq!(k.health().await, Health::Healthy);
    assert_eq!(k.unavailable(), None, "the breaker closed");
    k.list().await.expect("calls go through again");
}

#[tokio::test]
async fn ecs_breaker_opens_when_the_api_goes_and_closes_once_it_is_back() {
    // Issue 11, item 12, for ECS on moto.
    let (mut moto, ecs, _) = moto_ecs().await;
    let port = moto.port;
    let clock = ManualClock::starting_now();
    let ecs = ecs.with_clock(clock.clone());
    assert_eq!(ecs.health().await, Health::Healthy);

    moto.kill().await;
    for _ in 0..Policy::default().breaker_threshold {
        let err = ecs.list().await.unwrap_err();
        assert_eq!(err.kind, FailureKind::Transient, "{err}");
    }
    let why = ecs
        .unavailable()
        .expect("five failed calls open the breaker");
    assert!(why.contains("5 consecutive failed calls"), "{why}");
    assert_eq!(ecs.health().await, Health::Down);

    // moto comes back where it was, without its state: the cluster is
    // created again behind the adapter's back (the SDK client directly).
    let _moto = emulators::moto_at(port).await;
    ecs.client()
        .create_cluster()
        .cluster_name("bots")
        .send()
        .await
        .expect("cluster created again");
    assert_eq!(ecs.health().await, Health::Down, "still cooling down");
    clock.advance(chrono::Duration::seconds(31));
    assert_eq!(ecs.health().await, Health::Healthy);
    assert_eq!(ecs.unavailable(), None, "the breaker closed");
    ecs.list().await.expect("calls go through again");
}
