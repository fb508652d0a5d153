//! Several instances and the database's transactions: each event
//! delivered once by two instances, nothing written for a change that
//! rolled back, deliveries surviving an instance stopped mid-way.

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn two_instances_deliver_each_event_once(db: PgPool) {
    let h = harness(db.clone(), &env(), false).await;
    let (receiver, server) = Receiver::start().await;
    subscribe(&db, "both", &server.uri(), &EventType::ALL).await;
    let config = DeliveryConfig {
        poll: Duration::from_millis(10),
        concurrency: 4,
        ..DeliveryConfig::default()
    };
    let (stopper, stop) = berth_core::stop::Stopper::new();
    let (a, b) = (deliverer(&h, config.clone()), deliverer(&h, config));
    let quiet = berth_core::feed::Feed::new(uuid::Uuid::new_v4(), false);
    let loops = [
        tokio::spawn(a.clone().run(quiet.subscribe(), stop.clone())),
        tokio::spawn(b.clone().run(quiet.subscribe(), stop)),
    ];
    let mut bots = Vec::new();
    for n in 1..=12 {
        bots.push(full_life(&h, n, None).await);
    }
    let written = count(&db, "SELECT count(*) FROM webhook_deliveries").await;
    until("every delivery made", async || {
        count(
            &db,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'",
        )
        .await
            == written
    })
    .await;
    stopper.stop();
    for l in loops {
        l.await.unwrap();
    }
    let acked = receiver.acked();
    let ids: HashSet<&str> = acked.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(acked.len() as i64, written, "no event twice");
    assert_eq!(ids.len() as i64, written);
    assert_eq!(
        (a.counters().delivered() + b.counters().delivered()) as i64,
        written
    );
    assert_in_order_per_bot(&acked, &bots);
}

#[sqlx::test(migrations = "../migrations")]
async fn nothing_is_written_for_a_change_that_rolled_back_or_was_refused(db: PgPool) {
    let h = harness(db.clone(), &env(), false).await;
    let (_receiver, server) = Receiver::start().await;
    subscribe(&db, "watch", &server.uri(), &EventType::ALL).await;
    let bot = full_life(&h, 1, None).await;
    let events = "SELECT count(*) FROM webhook_events";
    let before = count(&db, events).await;
    let mut tx = db.begin().await.unwrap();
    sqlx::query("UPDATE bots SET status = 'IN_CALL' WHERE id = $1")
        .bind(bot)
        .execute(&mut *tx)
        .await
        .unwrap();
    let inside: i64 = sqlx::query_scalar(events)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(inside, before + 1, "the trigger wrote it with the change");
    tx.rollback().await.unwrap();
    assert_eq!(
        count(&db, events).await,
        before,
        "and it rolled back with it"
    );
    // A refused request writes nothing: no bot, no event.
    let bots = count(&db, "SELECT count(*) FROM bots").await;
    let e = h
        .router
        .create_bot(&bots::zoom(2).webhook_url("ftp://example.com/hook".to_string()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert_eq!(count(&db, "SELECT count(*) FROM bots").await, bots);
    assert_eq!(count(&db, events).await, before);
    // Nobody subscribed: no event is kept at all.
    subscription::remove(&db, &Actor::system("test"), "watch")
        .await
        .unwrap();
    full_life(&h, 3, None).await;
    assert_eq!(
        count(&db, "SELECT count(*) FROM webhook_deliveries").await,
        0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn deliveries_survive_an_instance_stopped_mid_way(db: PgPool) {
    let h = harness(db.clone(), &env(), false).await;
    let (receiver, server) = Receiver::start().await;
    subscribe(&db, "late", &server.uri(), &[EventType::BotStateChanged]).await;
    // Instance A starts delivering into a receiver that hangs, and dies
    // (its task aborted, as a SIGKILL would) with attempts under way.
    receiver.hang.store(true, Ordering::SeqCst);
    let slow = DeliveryConfig {
        timeout: Duration::from_secs(3600),
        poll: Duration::from_millis(10),
        ..DeliveryConfig::default()
    };
    let a = deliverer(&h, slow);
    let quiet = berth_core::feed::Feed::new(uuid::Uuid::new_v4(), false);
    let (_stopper, stop) = berth_core::stop::Stopper::new();
    let a_loop = tokio::spawn(a.run(quiet.subscribe(), stop));
    let mut bots = vec![full_life(&h, 1, None).await, full_life(&h, 2, None).await];
    until("A's attempts under way", async || {
        count(
            &db,
            "SELECT count(*) FROM webhook_deliveries WHERE claimed_by IS NOT NULL",
        )
        .await
            == 2
    })
    .await;
    a_loop.abort();
    let _ = a_loop.await;
    // More changes while no instance delivers: kept in the outbox.
    bots.push(full_life(&h, 3, None).await);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"
        )
        .await,
        15
    );
    // Instance B starts; the receiver is back.
    receiver.hang.store(false, Ordering::SeqCst);
    let config = DeliveryConfig::default();
    let b = deliverer(&h, config.clone());
    assert_eq!(deliver_due(&b).await, 5, "the third bot's events at once");
    // A's claims run out after their lease: then B takes them over.
    h.clock.advance(chrono::Duration::seconds(3600 + 31));
    assert_eq!(deliver_due(&b).await, 10);
    let acked = receiver.acked();
    let ids: HashSet<&str> = acked.iter().map(|g| g.id.as_str()).collect();
    assert_eq!((acked.len(), ids.len()), (15, 15), "every event, once each");
    assert_in_order_per_bot(&acked, &bots);
}
