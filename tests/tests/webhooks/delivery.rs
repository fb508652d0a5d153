//! Delivering to a receiver: once, signed and in order per bot; retries
//! on the injected clock; giving up after 24 hours; a receiver that hangs.

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn every_change_arrives_once_signed_and_in_order_per_bot(db: PgPool) {
    let h = harness(db.clone(), &env(), false).await;
    let (receiver, server) = Receiver::start().await;
    let secret = subscribe(
        &db,
        "all",
        &format!("{}/all", server.uri()),
        &EventType::ALL,
    )
    .await;
    let mut bots = Vec::new();
    for n in 1..=6 {
        // Every other bot also has its own URL.
        let own = (n % 2 == 0).then(|| format!("{}/bot/{n}", server.uri()));
        bots.push(full_life(&h, n, own).await);
    }
    let written = count(&db, "SELECT count(*) FROM webhook_deliveries").await;
    assert!(written > 0);
    let d = deliverer(&h, DeliveryConfig::default());
    assert_eq!(deliver_due(&d).await as i64, written, "one attempt each");
    let acked = receiver.acked();
    assert_eq!(acked.len() as i64, written, "each delivered once");
    let ids: HashSet<(String, String)> = acked
        .iter()
        .map(|g| (g.path.clone(), g.id.clone()))
        .collect();
    assert_eq!(ids.len(), acked.len(), "no id twice to one receiver");
    // Every status change of every bot, and nothing else of the bot kind.
    let changes = acked
        .iter()
        .filter(|g| g.path == "/all" && g.json()["type"] == "bot.state_changed")
        .count();
    assert_eq!(
        changes,
        6 * 5,
        "QUEUED, DEPLOYING, JOINING_CALL, IN_CALL, DONE"
    );
    let dispatched = acked
        .iter()
        .filter(|g| g.path == "/all" && g.json()["type"] == "bot.dispatched")
        .count();
    assert_eq!(dispatched, 6);
    let bot_secret = webhook::secret::bot_url_secret(&db).await.unwrap();
    for g in &acked {
        let key = if g.path == "/all" {
            secret.as_str()
        } else {
            bot_secret.expose()
        };
        assert!(signed_with(key, g), "signature of {g:?}");
        assert!(!signed_with(
            webhook::secret::SigningSecret::generate().expose(),
            g
        ));
        let j = g.json();
        assert_eq!(j["id"], g.id.as_str(), "the body names its webhook-id");
        assert!(j["data"].is_object());
    }
    assert_in_order_per_bot(
        &acked
            .iter()
            .filter(|g| g.path == "/all")
            .cloned()
            .collect::<Vec<_>>(),
        &bots,
    );
    // A bot's own URL gets that bot's events, and only them.
    for (n, bot) in bots.iter().enumerate() {
        let own: Vec<Got> = acked
            .iter()
            .filter(|g| g.path == format!("/bot/{}", n + 1))
            .cloned()
            .collect();
        if (n + 1) % 2 == 0 {
            assert!(own.iter().all(|g| g.json()["data"]["botId"] == *bot));
            assert_in_order_per_bot(&own, &[*bot]);
        } else {
            assert!(own.is_empty());
        }
    }
    let backlog = webhook::backlog(&db, h.clock.now()).await.unwrap();
    assert_eq!((backlog.pending, backlog.failed), (0, 0));
    assert_eq!(d.counters().delivered() as i64, written);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_receiver_that_fails_then_recovers_gets_the_retries_in_order(db: PgPool) {
    let h = harness(db.clone(), &env(), false).await;
    let (receiver, server) = Receiver::start().await;
    subscribe(&db, "flaky", &server.uri(), &[EventType::BotStateChanged]).await;
    receiver.down.store(true, Ordering::SeqCst);
    let bot = full_life(&h, 1, None).await;
    let config = DeliveryConfig::default();
    let d = deliverer(&h, config.clone());
    // Only the first of the bot's events is tried: the rest wait behind it.
    let r = d.pass().await.unwrap();
    assert_eq!((r.attempted, r.retrying), (1, 1));
    assert_eq!(
        d.pass().await.unwrap().attempted,
        0,
        "nothing due before the backoff"
    );
    let log = webhook::log::log(&db, Some("flaky"), 100).await.unwrap();
    let head = log.last().unwrap();
    assert_eq!(
        (head.state, head.attempts, head.last_status),
        (DeliveryState::Pending, 1, Some(503))
    );
    let next = head.next_attempt_at.expect("a next try");
    assert!(next > h.clock.now() && next <= h.clock.now() + config.backoff_ceiling(1));
    // Down for a few retries, each after a longer wait.
    for failures in 2..=4 {
        h.clock.advance(config.backoff_ceiling(failures - 1));
        let r = d.pass().await.unwrap();
        assert_eq!((r.attempted, r.retrying), (1, 1), "retry {failures}");
    }
    receiver.down.store(false, Ordering::SeqCst);
    h.clock.advance(config.backoff_ceiling(4));
    assert_eq!(deliver_due(&d).await, 5);
    let acked = receiver.acked();
    assert_eq!(acked.len(), 5, "each once, none lost");
    assert_in_order_per_bot(&acked, &[bot]);
    let log = webhook::log::log(&db, Some("flaky"), 100).await.unwrap();
    assert!(log.iter().all(|l| l.state == DeliveryState::Delivered));
    assert_eq!(log.last().unwrap().attempts, 5);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_delivery_failing_for_24_hours_is_given_up_and_frees_its_successors(db: PgPool) {
    let h = harness(db.clone(), &env(), false).await;
    let (receiver, server) = Receiver::start().await;
    subscribe(&db, "gone", &server.uri(), &[EventType::BotStateChanged]).await;
    receiver.down.store(true, Ordering::SeqCst);
    full_life(&h, 1, None).await;
    let config = DeliveryConfig::default();
    let d = deliverer(&h, config.clone());
    let started = h.clock.now();
    let mut attempts = 0;
    loop {
        let r = d.pass().await.unwrap();
        attempts += r.attempted;
        if r.failed == 1 {
            break;
        }
        assert!(
            h.clock.now() - started <= chrono::Duration::hours(25),
            "given up in time"
        );
        h.clock.advance(config.max_retry);
    }
    assert!(h.clock.now() - started >= chrono::Duration::hours(24));
    assert!(attempts > 20, "{attempts} attempts over a day");
    assert_eq!(d.counters().failed(), 1);
    let backlog = webhook::backlog(&db, h.clock.now()).await.unwrap();
    assert_eq!((backlog.failed, backlog.pending), (1, 4));
    // The next event of the bot is no longer held behind it.
    receiver.down.store(false, Ordering::SeqCst);
    assert_eq!(deliver_due(&d).await, 4);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_receiver_that_hangs_never_holds_up_a_deploy(db: PgPool) {
    let h = harness(db.clone(), &env(), false).await;
    let (receiver, server) = Receiver::start().await;
    subscribe(&db, "stuck", &server.uri(), &EventType::ALL).await;
    receiver.hang.store(true, Ordering::SeqCst);
    let config = DeliveryConfig {
        timeout: Duration::from_secs(3600),
        poll: Duration::from_millis(10),
        concurrency: 2,
        ..DeliveryConfig::default()
    };
    let d = deliverer(&h, config);
    let quiet = berth_core::feed::Feed::new(uuid::Uuid::new_v4(), false);
    let (stopper, stop) = berth_core::stop::Stopper::new();
    let delivering = tokio::spawn(d.run(quiet.subscribe(), stop));
    full_life(&h, 1, None).await;
    let in_flight = "SELECT count(*) FROM webhook_deliveries WHERE claimed_by IS NOT NULL AND state = 'pending'";
    until("an attempt hangs", async || {
        count(&db, in_flight).await >= 1
    })
    .await;
    // Bots deploy, run and end while the receiver holds every attempt.
    for n in 2..=11 {
        full_life(&h, n, None).await;
    }
    assert!(count(&db, in_flight).await >= 1, "the attempts still hang");
    assert!(receiver.acked().is_empty());
    assert_eq!(
        count(&db, "SELECT count(*) FROM bots WHERE status = 'DONE'").await,
        11
    );
    stopper.stop();
    delivering.abort();
}
