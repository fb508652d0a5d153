//! Subscriptions checked, listed and removed; settled events pruned.

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn subscriptions_are_checked_listed_and_removed(db: PgPool) {
    let _h = harness(db.clone(), &env(), false).await;
    let me = Actor::system("test");
    let good = NewSubscription {
        name: "billing".into(),
        url: "https://hooks.example.com/berth".into(),
        events: vec![EventType::BotExpired, EventType::BotExpired],
    };
    let created = subscription::add(&db, &me, &good).await.unwrap();
    assert!(created.secret.expose().starts_with("whsec_"));
    assert_eq!(created.subscription.events, vec![EventType::BotExpired]);
    assert_eq!(created.subscription.created_by, "system:test");
    assert!(
        !format!("{created:?}").contains(created.secret.expose()),
        "Debug redacts it"
    );
    let before = count(&db, "SELECT count(*) FROM webhook_subscriptions").await;
    for (bad, code) in [
        (
            NewSubscription {
                name: "Bad Name".into(),
                ..good.clone()
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewSubscription {
                url: "ftp://x/y".into(),
                ..good.clone()
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewSubscription {
                events: vec![],
                ..good.clone()
            },
            ErrorCode::InvalidInput,
        ),
        (good.clone(), ErrorCode::Conflict),
    ] {
        assert_eq!(
            subscription::add(&db, &me, &bad).await.unwrap_err().code(),
            code
        );
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM webhook_subscriptions").await,
        before
    );
    let listed = subscription::list(&db).await.unwrap();
    assert_eq!(listed, vec![created.subscription.clone()]);
    assert_eq!(
        subscription::remove(&db, &me, "nope")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        webhook::log::log(&db, Some("nope"), 10)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
    subscription::remove(&db, &me, "billing").await.unwrap();
    assert!(subscription::list(&db).await.unwrap().is_empty());
    // Every type the core names is one the schema accepts.
    let all = NewSubscription {
        name: "all".into(),
        events: EventType::ALL.to_vec(),
        ..good
    };
    subscription::add(&db, &me, &all).await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn settled_events_are_pruned_after_a_week_and_pending_ones_kept(db: PgPool) {
    let h = harness(db.clone(), &env(), false).await;
    let (receiver, server) = Receiver::start().await;
    subscribe(&db, "kept", &server.uri(), &[EventType::BotStateChanged]).await;
    full_life(&h, 1, None).await;
    let d = deliverer(&h, DeliveryConfig::default());
    assert_eq!(deliver_due(&d).await, 5);
    receiver.down.store(true, Ordering::SeqCst);
    full_life(&h, 2, None).await;
    deliver_due(&d).await;
    let week = chrono::Duration::days(webhook::log::KEEP_DAYS);
    assert_eq!(
        webhook::log::prune(&db, h.clock.now() - week)
            .await
            .unwrap(),
        0,
        "too young"
    );
    h.clock.advance(week + chrono::Duration::days(1));
    assert_eq!(
        webhook::log::prune(&db, h.clock.now() - week)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM webhook_deliveries").await,
        5
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"
        )
        .await,
        5,
        "undelivered events stay"
    );
}
