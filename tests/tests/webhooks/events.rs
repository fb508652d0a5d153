//! The events no bot's change makes: pool exhaustion, queue expiry,
//! platform health.

use super::*;

/// A pool at its max size whose idle slots cannot be acquired (draining,
/// being updated) is exhausted: the check asks for an acquirable slot, as
/// the acquisition does (and as its index is built), not for any idle one.
#[sqlx::test(migrations = "../migrations")]
async fn a_pool_whose_idle_slots_cannot_be_acquired_is_exhausted(db: PgPool) {
    berth_tests::insert_pool(&db, "full", "zoom", 1).await;
    let lease = berth_tests::slots::of("full", PlatformKind::K8s)
        .create(&db)
        .await;
    let bot = berth_tests::insert_bot(&db, "full").await;
    let exhausted = |db: PgPool| async move {
        let mut tx = db.begin().await.unwrap();
        let began =
            berth_core::webhook::event::pool_exhausted(&mut tx, "full", PlatformKind::K8s, bot)
                .await
                .unwrap();
        tx.rollback().await.unwrap();
        began
    };
    assert!(
        !exhausted(db.clone()).await,
        "an acquirable idle slot is capacity"
    );
    let set = |flag: &str, on: bool| {
        let sql = format!("UPDATE pool_slots SET {flag} = {on} WHERE id = $1");
        let db = db.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(lease.slot_id)
                .execute(&db)
                .await
                .unwrap();
        }
    };
    for flag in ["draining", "updating"] {
        set(flag, true).await;
        assert!(
            exhausted(db.clone()).await,
            "an idle slot {flag} is no capacity"
        );
        set(flag, false).await;
    }
    assert!(!exhausted(db).await);
}

#[sqlx::test(migrations = "../migrations")]
async fn queue_expiry_pool_exhaustion_and_health_send_their_events(db: PgPool) {
    let mut vars = env();
    vars.push(("POOL_MAX_SIZE", "1"));
    let h = harness(db.clone(), &vars, false).await;
    let (receiver, server) = Receiver::start().await;
    subscribe(
        &db,
        "ops",
        &server.uri(),
        &[
            EventType::BotQueued,
            EventType::BotDispatched,
            EventType::BotExpired,
            EventType::PlatformHealthChanged,
            EventType::PoolExhausted,
        ],
    )
    .await;
    let first = h.router.create_bot(&bots::zoom(1)).await.unwrap();
    assert!(matches!(first, DeployOutcome::Deployed { .. }));
    // The pool's one slot is taken: the next requests find it exhausted
    // (one event for the episode) and queue.
    let waiting = bots::zoom(2).queue_timeout_ms(1_000);
    let second = h.router.create_bot(&waiting).await.unwrap();
    assert!(matches!(second, DeployOutcome::Queued { .. }), "{second:?}");
    let third = h.router.create_bot(&bots::zoom(3)).await.unwrap();
    assert!(matches!(third, DeployOutcome::Queued { .. }));
    h.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(h.dispatcher.drain().await.unwrap().expired, 1);
    // Capacity comes back: the episode ends; the third bot is dispatched.
    lifecycle::report(
        &h.router,
        &Actor::system("test"),
        first.bot_id(),
        BotStatus::Done,
        None,
    )
    .await
    .unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM pool_exhaustion").await, 0);
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 1);
    platform::record_health_detail(
        &db,
        PlatformKind::K8s,
        Health::Down,
        Some("not answering"),
        h.clock.now(),
        uuid::Uuid::new_v4(),
    )
    .await
    .unwrap();
    let d = deliverer(&h, DeliveryConfig::default());
    deliver_due(&d).await;
    let types: Vec<String> = receiver
        .acked()
        .iter()
        .map(|g| g.json()["type"].as_str().unwrap().to_string())
        .collect();
    let n = |t: &str| types.iter().filter(|x| *x == t).count();
    assert_eq!(n("pool.exhausted"), 1, "{types:?}");
    assert_eq!(n("bot.queued"), 2, "{types:?}");
    assert_eq!(n("bot.expired"), 1, "{types:?}");
    assert_eq!(n("bot.dispatched"), 2, "{types:?}");
    assert_eq!(n("platform.health_changed"), 1, "{types:?}");
    assert_eq!(n("bot.state_changed"), 0, "not subscribed");
    let health = receiver
        .acked()
        .into_iter()
        .find(|g| g.json()["type"] == "platform.health_changed")
        .unwrap()
        .json();
    assert_eq!(health["data"]["platform"], "k8s");
    assert_eq!(health["data"]["to"], "down");
    assert_eq!(health["data"]["detail"], "not answering");
}
