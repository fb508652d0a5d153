//! Outgoing webhooks against a real PostgreSQL and a real HTTP receiver
//! (wiremock): every change delivered once by id, signed, in order per bot;
//! retries on the injected clock; two instances sharing the work; nothing
//! written for a change that rolled back; deliveries surviving an instance
//! stopped mid-way; a receiver that hangs never holding up a deploy.

#[path = "support/receiver.rs"]
mod receiver;

use berth_core::actor::Actor;
use berth_core::clock::Clock;
use berth_core::lifecycle;
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::platform::{self, Health};
use berth_core::router::DeployOutcome;
use berth_core::webhook::{
    self, subscription, Deliverer, DeliveryConfig, DeliveryState, EventType, NewSubscription,
};
use berth_core::ErrorCode;
use berth_tests::bots;
use berth_tests::{harness, Harness};

use sqlx::PgPool;
use std::collections::HashSet;
use std::sync::atomic::Ordering;

use receiver::{assert_in_order_per_bot, signed_with, Got, Receiver};
use std::time::{Duration, Instant};

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "100"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ]
}

async fn subscribe(db: &PgPool, name: &str, url: &str, events: &[EventType]) -> String {
    let created = subscription::add(
        db,
        &Actor::system("test"),
        &NewSubscription {
            name: name.into(),
            url: url.into(),
            events: events.to_vec(),
        },
    )
    .await
    .expect("subscribed");
    created.secret.expose().to_string()
}

fn deliverer(h: &Harness, config: DeliveryConfig) -> Deliverer {
    Deliverer::new(h.db.clone(), h.clock.clone(), uuid::Uuid::new_v4(), config).unwrap()
}

/// Passes until nothing more is due now.
async fn deliver_due(d: &Deliverer) -> usize {
    let mut attempted = 0;
    loop {
        let r = d.pass().await.expect("pass");
        if r.attempted == 0 {
            return attempted;
        }
        attempted += r.attempted;
    }
}

async fn count(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(db)
        .await
        .unwrap()
}

/// A bot through its whole life: deployed, in the call, done.
async fn full_life(h: &Harness, n: u32, webhook_url: Option<String>) -> i64 {
    let out = h
        .router
        .create_bot(&bots::zoom(n).webhook_url(webhook_url))
        .await
        .unwrap();
    let DeployOutcome::Deployed { bot_id, .. } = out else {
        panic!("deployed at once: {out:?}");
    };
    let me = Actor::system("test");
    for s in [BotStatus::InCall, BotStatus::Done] {
        lifecycle::report(&h.router, &me, bot_id, s, None)
            .await
            .unwrap();
    }
    bot_id
}

/// Polls `check` (with a deadline; nothing sleeps to synchronise).
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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
