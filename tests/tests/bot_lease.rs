//! How a running bot talks back to Berth: its lease's token (issued at the
//! lease, in its workload's environment, valid only while the lease
//! lasts), its configuration, status reports through `CALL_ENDED` (which
//! gives capacity back), heartbeats, and stuck bots recovered.

use berth_core::bot_lease::{self, stuck, BotLease};
use berth_core::clock::{Clock, ManualClock};
use berth_core::dispatch::Dispatcher;
use berth_core::feed::{Feed, Topic, CHANNEL};
use berth_core::meeting::{BotStatus, PlatformKind, SlotStatus};
use berth_core::platform::sim::{self, SimPlatform};
use berth_core::platform::Platforms;
use berth_core::router::{DeployOutcome, Router};
use berth_core::{bot, jobs, lifecycle, slot, ErrorCode};
use berth_tests::bots;
use berth_tests::{harness, Harness};
use chrono::Duration;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

/// One platform (k8s) taking `limit` bots at a time, no platform wait.
fn one_platform(limit: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", limit),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ]
}

async fn deploy(router: &Router) -> i64 {
    match router.create_bot(&bots::zoom(123)).await.unwrap() {
        DeployOutcome::Deployed { bot_id, .. } => bot_id,
        other => panic!("expected a deploy, got {other:?}"),
    }
}

/// The environment the bot's simulated workload was started with.
async fn env_of(db: &PgPool, bot_id: i64) -> BTreeMap<String, String> {
    sim::workload_env(db, PlatformKind::K8s, bot_id)
        .await
        .unwrap()
        .expect("the bot's workload runs")
}

/// The token the bot's workload received.
async fn token_of(db: &PgPool, bot_id: i64) -> String {
    env_of(db, bot_id)
        .await
        .remove("BERTH_BOT_TOKEN")
        .expect("BERTH_BOT_TOKEN in the workload's environment")
}

async fn lease_of(db: &PgPool, bot_id: i64) -> BotLease {
    bot_lease::verify(db, &token_of(db, bot_id).await)
        .await
        .expect("the token of a running bot verifies")
}

async fn refused(db: &PgPool, token: &str) -> ErrorCode {
    bot_lease::verify(db, token)
        .await
        .expect_err("the token is refused")
        .code()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_deployed_bot_gets_its_own_token_and_it_names_its_lease(db: PgPool) {
    let h = harness(db, &one_platform("5"), false).await;
    let a = deploy(&h.router).await;
    let b = deploy(&h.router).await;
    let env = env_of(&h.db, a).await;
    assert_eq!(env["BERTH_BOT_ID"], a.to_string());
    let token = &env["BERTH_BOT_TOKEN"];
    assert!(bot_lease::token::well_formed(token), "{token:?}");
    assert_ne!(
        token,
        &token_of(&h.db, b).await,
        "every lease has a token of its own"
    );

    let lease = bot_lease::verify(&h.db, token).await.unwrap();
    let held = slot::of_bot(&h.db, a).await.unwrap().unwrap();
    assert_eq!(
        (
            lease.bot_id(),
            lease.slot_id(),
            lease.epoch(),
            lease.slot_name()
        ),
        (a, held.id, held.epoch, held.slot_name.as_str())
    );
    assert_eq!(lease.pool(), "zoom");
    assert_eq!(env["BERTH_EPOCH"], held.epoch.to_string());

    for garbage in ["", "Bearer x", "berth_bot_nothex", &token.to_uppercase()] {
        assert_eq!(refused(&h.db, garbage).await, ErrorCode::Unauthorized);
    }
    let unknown = bot_lease::BotToken::generate();
    assert_eq!(
        refused(&h.db, unknown.expose()).await,
        ErrorCode::Unauthorized,
        "a well-formed token Berth never issued"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn only_the_tokens_hash_is_stored(db: PgPool) {
    let h = harness(db, &one_platform("5"), false).await;
    let a = deploy(&h.router).await;
    let token = token_of(&h.db, a).await;
    let held = slot::of_bot(&h.db, a).await.unwrap().unwrap();
    let (bot_id, hash): (i64, Vec<u8>) = sqlx::query_as(
        "SELECT bot_id, token_hash FROM bot_tokens WHERE slot_id = $1 AND epoch = $2",
    )
    .bind(held.id)
    .bind(held.epoch)
    .fetch_one(&h.db)
    .await
    .unwrap();
    assert_eq!(bot_id, a);
    assert_eq!(hash, bot_lease::token::hash(&token).to_vec());
    // The plaintext (or its random part) is in none of Berth's own tables;
    // only the simulated platform keeps the workload's environment, as a
    // real platform would.
    let secret = &token[bot_lease::token::PREFIX.len()..];
    for table in [
        "bots",
        "pool_slots",
        "slot_history",
        "bot_tokens",
        "deployment_queue",
        "pool_accounts",
    ] {
        let hits: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} t WHERE row_to_json(t)::text LIKE '%' || $1 || '%'"
        )))
        .bind(secret)
        .fetch_one(&h.db)
        .await
        .unwrap();
        assert_eq!(hits, 0, "the token's plaintext is stored in {table}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_configuration_names_the_meeting_the_slot_and_a_leased_account(db: PgPool) {
    let h = harness(db, &one_platform("5"), false).await;
    let a = deploy(&h.router).await;
    let lease = lease_of(&h.db, a).await;
    let config = bot_lease::config(&h.db, &lease).await.unwrap();
    assert_eq!(
        serde_json::to_value(&config).unwrap(),
        serde_json::json!({
            "botId": a,
            "meeting": {"platform": "zoom", "url": "https://zoom.us/j/123"},
            "account": null,
            "slot": {"name": lease.slot_name(), "pool": "zoom", "epoch": lease.epoch()},
        })
    );
    // An account leased to the bot comes with its configuration.
    sqlx::query(
        "INSERT INTO pool_accounts (pool, account_key, data, status, bot_id, leased_at)
         VALUES ('zoom', '12', '{\"email\": \"bot12@example.com\"}', 'in_use', $1, now())",
    )
    .bind(a)
    .execute(&h.db)
    .await
    .unwrap();
    let config = bot_lease::config(&h.db, &lease).await.unwrap();
    assert_eq!(
        serde_json::to_value(&config.account).unwrap(),
        serde_json::json!({"key": "12", "data": {"email": "bot12@example.com"}})
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_token_acts_only_on_its_own_bot(db: PgPool) {
    let h = harness(db, &one_platform("5"), false).await;
    let a = deploy(&h.router).await;
    let b = deploy(&h.router).await;
    let lease_a = lease_of(&h.db, a).await;
    lease_a.check_bot(a).unwrap();
    let e = lease_a.check_bot(b).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden);
    assert_eq!(lease_a.actor().record(), format!("bot:{a}"));
    // What the token does lands on its own bot only.
    bot_lease::report(&h.router, &lease_a, BotStatus::InCall, None)
        .await
        .unwrap();
    bot_lease::heartbeat(&h.db, h.clock.as_ref(), &lease_a)
        .await
        .unwrap();
    assert_eq!(bot::get(&h.db, a).await.unwrap().status, BotStatus::InCall);
    assert_eq!(
        bot::get(&h.db, b).await.unwrap().status,
        BotStatus::JoiningCall
    );
    let lease_b = lease_of(&h.db, b).await;
    assert_eq!(
        bot_lease::last_heartbeat(&h.db, &lease_b).await.unwrap(),
        None
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn tokens_of_ended_leases_are_refused_as_lease_ended(db: PgPool) {
    // One slot on the platform: a new lease reuses the slot at a new epoch.
    let h = harness(
        db,
        &[
            ("PLATFORM_PRIORITY", "k8s"),
            ("K8S_BOT_LIMIT", "5"),
            ("K8S_QUEUE_TIMEOUT_MS", "0"),
            ("POOL_ZOOM_MAX_SIZE", "1"),
        ],
        false,
    )
    .await;

    // The bot reports DONE: its token ends with it (its slot is idle).
    let a = deploy(&h.router).await;
    let token_a = token_of(&h.db, a).await;
    let lease_a = lease_of(&h.db, a).await;
    bot_lease::report(&h.router, &lease_a, BotStatus::Done, None)
        .await
        .unwrap();
    assert_eq!(refused(&h.db, &token_a).await, ErrorCode::LeaseEnded);
    let e = bot_lease::heartbeat(&h.db, h.clock.as_ref(), &lease_a)
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        ErrorCode::LeaseEnded,
        "a verified lease that ended since"
    );
    let e = bot_lease::report(&h.router, &lease_a, BotStatus::InCall, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::LeaseEnded);

    // The same slot leased again (a new epoch): the old token stays ended,
    // the new bot's token works.
    let b = deploy(&h.router).await;
    let lease_b = lease_of(&h.db, b).await;
    assert_eq!(lease_b.slot_id(), lease_a.slot_id());
    assert!(lease_b.epoch() > lease_a.epoch());
    assert_eq!(refused(&h.db, &token_a).await, ErrorCode::LeaseEnded);

    // Cancelled (stopped and released by an operator).
    let token_b = token_of(&h.db, b).await;
    lifecycle::cancel(&h.router, &berth_core::actor::Actor::cli(), b, None)
        .await
        .unwrap();
    assert_eq!(refused(&h.db, &token_b).await, ErrorCode::LeaseEnded);

    // The slot failed (its workload crashed) and was recovered.
    let c = deploy(&h.router).await;
    let token_c = token_of(&h.db, c).await;
    let held = slot::of_bot(&h.db, c).await.unwrap().unwrap();
    let mut conn = h.db.acquire().await.unwrap();
    slot::mark_error(
        &mut conn,
        held.id,
        Some(held.epoch),
        "Container crashed",
        h.clock.now(),
    )
    .await
    .unwrap();
    drop(conn);
    assert_eq!(
        refused(&h.db, &token_c).await,
        ErrorCode::LeaseEnded,
        "a slot in error is no longer held by the bot"
    );
    jobs::recover(&h.router, &h.config.jobs).await.unwrap();
    assert_eq!(
        slot::get(&h.db, held.id).await.unwrap().status,
        SlotStatus::Idle
    );
    assert_eq!(refused(&h.db, &token_c).await, ErrorCode::LeaseEnded);
}

/// A router over the harness's database and clock with a feed of its own
/// (on, but not spawned: a test flushes it itself).
fn live(h: &Harness) -> (Router, Feed) {
    let feed = Feed::new(uuid::Uuid::new_v4(), true);
    let clock: Arc<dyn Clock> = h.clock.clone();
    let mut platforms = Platforms::new();
    for kind in PlatformKind::ALL {
        platforms.insert(Arc::new(SimPlatform::new(
            *kind,
            h.db.clone(),
            clock.clone(),
        )));
    }
    (
        Router::new(h.db.clone(), clock, feed.clone(), platforms),
        feed,
    )
}

/// Starts listening to the change feed's channel after sending whatever
/// `feed` holds so far (so only what comes next is heard).
async fn listen(feed: &Feed, db: &PgPool) -> PgListener {
    feed.flush(db).await.unwrap();
    let mut listener = PgListener::connect_with(db).await.unwrap();
    listener.listen(CHANNEL).await.unwrap();
    listener
}

/// The topics `feed` published since [`listen`].
async fn published(feed: &Feed, db: &PgPool, listener: &mut PgListener) -> Vec<Topic> {
    feed.flush(db).await.unwrap();
    let n = tokio::time::timeout(StdDuration::from_secs(10), listener.recv())
        .await
        .expect("a notice arrives")
        .unwrap();
    let payload: serde_json::Value = serde_json::from_str(n.payload()).unwrap();
    serde_json::from_value(payload["topics"].clone()).unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn call_ended_gives_capacity_to_a_queued_bot_and_done_ends_the_lease(db: PgPool) {
    let h = harness(db.clone(), &one_platform("1"), false).await;
    let (router, feed) = live(&h);
    // Another instance's dispatcher (it wakes on the `slots` topic).
    let still: Arc<dyn Clock> = ManualClock::starting_now();
    let platforms = router.platforms().clone();
    let dispatcher = Dispatcher::new(Router::new(
        db.clone(),
        still,
        Feed::new(uuid::Uuid::new_v4(), true),
        platforms,
    ));

    let a = deploy(&router).await;
    let DeployOutcome::Queued {
        bot_id: waiting, ..
    } = router.create_bot(&bots::zoom(123)).await.unwrap()
    else {
        panic!("the platform takes one bot: the second waits")
    };
    let lease = lease_of(&db, a).await;
    for status in [BotStatus::JoiningCall, BotStatus::InCall] {
        let r = bot_lease::report(&router, &lease, status, None)
            .await
            .unwrap();
        assert_eq!(r.status, status);
    }
    assert_eq!(
        dispatcher.drain().await.unwrap().deployed,
        0,
        "a bot in the call holds its platform's capacity"
    );
    let mut listener = listen(&feed, &db).await;

    let r = bot_lease::report(&router, &lease, BotStatus::CallEnded, None)
        .await
        .unwrap();
    assert_eq!(
        (r.before, r.status),
        (BotStatus::InCall, BotStatus::CallEnded)
    );
    let topics = published(&feed, &db, &mut listener).await;
    assert_eq!(
        topics,
        vec![Topic::Slots, Topic::Bots],
        "CALL_ENDED wakes the dispatchers"
    );
    assert_eq!(dispatcher.drain().await.unwrap().deployed, 1);
    assert_eq!(
        bot::get(&db, waiting).await.unwrap().status,
        BotStatus::JoiningCall,
        "the queued bot got the capacity CALL_ENDED gave back"
    );
    // The bot that left its call keeps its slot and token until it ends,
    // and cannot take capacity again by going back into a call.
    assert_eq!(
        slot::of_bot(&db, a).await.unwrap().unwrap().status,
        SlotStatus::Busy
    );
    let e = bot_lease::report(&router, &lease, BotStatus::InCall, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::StaleTransition);
    assert!(
        bot_lease::last_heartbeat(&db, &lease)
            .await
            .unwrap()
            .is_some(),
        "a report is a heartbeat"
    );

    let token = token_of(&db, a).await;
    let r = bot_lease::report(&router, &lease, BotStatus::Done, None)
        .await
        .unwrap();
    assert_eq!(
        (r.before, r.status),
        (BotStatus::CallEnded, BotStatus::Done)
    );
    assert_eq!(bot::get(&db, a).await.unwrap().status, BotStatus::Done);
    assert!(
        slot::of_bot(&db, a).await.unwrap().is_none(),
        "its slot was released"
    );
    assert_eq!(refused(&db, &token).await, ErrorCode::LeaseEnded);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_fatal_report_keeps_its_reason_and_oversized_reasons_are_refused(db: PgPool) {
    let h = harness(db, &one_platform("5"), false).await;
    let a = deploy(&h.router).await;
    let lease = lease_of(&h.db, a).await;
    let long = "x".repeat(bot_lease::MAX_REASON_CHARS + 1);
    let e = bot_lease::report(&h.router, &lease, BotStatus::Fatal, Some(&long))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert_eq!(
        bot::get(&h.db, a).await.unwrap().status,
        BotStatus::JoiningCall,
        "a refused report writes nothing"
    );
    bot_lease::report(
        &h.router,
        &lease,
        BotStatus::Fatal,
        Some("kicked from the meeting"),
    )
    .await
    .unwrap();
    let b = bot::get(&h.db, a).await.unwrap();
    assert_eq!(
        (b.status, b.error.as_deref()),
        (BotStatus::Fatal, Some("kicked from the meeting"))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bot_that_stops_sending_heartbeats_is_recovered_after_the_timeout(db: PgPool) {
    let h = harness(db.clone(), &one_platform("5"), false).await;
    let timeout = h.config.jobs.bot_heartbeat_timeout_ms;
    assert_eq!(timeout, 900_000, "15 minutes by default");
    let (router, feed) = live(&h);
    let beating = deploy(&router).await;
    let silent = deploy(&router).await;
    let token = token_of(&db, beating).await;
    let lease = lease_of(&db, beating).await;
    let held = slot::of_bot(&db, beating).await.unwrap().unwrap();

    // Both silent for 14 minutes: neither is stuck yet.
    h.clock.advance(Duration::minutes(14));
    assert_eq!(
        stuck::run(&router, timeout).await.unwrap().ended,
        Vec::<i64>::new()
    );
    // One heartbeats at 14 min; the other never does.
    bot_lease::heartbeat(&db, h.clock.as_ref(), &lease)
        .await
        .unwrap();
    h.clock.advance(Duration::minutes(1) + Duration::seconds(1));
    let mut listener = listen(&feed, &db).await;
    assert_eq!(
        stuck::run(&router, timeout).await.unwrap().ended,
        vec![silent],
        "silent since its start for 15 minutes"
    );
    let s = bot::get(&db, silent).await.unwrap();
    assert_eq!(s.status, BotStatus::Fatal);
    assert_eq!(
        s.error.as_deref(),
        Some("no heartbeat for 15m; stuck bot recovered")
    );
    assert!(slot::of_bot(&db, silent).await.unwrap().is_none());
    assert!(
        sim::workload_env(&db, PlatformKind::K8s, silent)
            .await
            .unwrap()
            .is_none(),
        "its workload was stopped"
    );
    assert_eq!(
        published(&feed, &db, &mut listener).await,
        vec![Topic::Slots, Topic::Queue, Topic::Bots],
        "what a recovered bot changed is announced"
    );

    // The other: 15 minutes after its heartbeat, not before.
    h.clock
        .advance(Duration::minutes(14) - Duration::seconds(2));
    assert_eq!(
        stuck::run(&router, timeout).await.unwrap().ended,
        Vec::<i64>::new()
    );
    assert_eq!(
        bot::get(&db, beating).await.unwrap().status,
        BotStatus::JoiningCall
    );
    h.clock.advance(Duration::seconds(2));
    assert_eq!(
        stuck::run(&router, timeout).await.unwrap().ended,
        vec![beating]
    );
    let idle = slot::get(&db, held.id).await.unwrap();
    assert_eq!(
        (idle.status, idle.assigned_bot_id),
        (SlotStatus::Idle, None)
    );
    assert_eq!(refused(&db, &token).await, ErrorCode::LeaseEnded);
    assert_eq!(
        stuck::run(&router, 0).await.unwrap(),
        stuck::StuckReport::default(),
        "0 turns the check off"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn token_rows_of_long_ended_leases_are_pruned(db: PgPool) {
    let h = harness(db, &one_platform("5"), false).await;
    let ended = deploy(&h.router).await;
    let running = deploy(&h.router).await;
    let token = token_of(&h.db, ended).await;
    lifecycle::report(
        &h.router,
        &berth_core::actor::Actor::cli(),
        ended,
        BotStatus::Done,
        None,
    )
    .await
    .unwrap();
    // Keep the running bot alive through the week.
    let lease = lease_of(&h.db, running).await;
    h.clock
        .advance(stuck::TOKEN_RETENTION + Duration::minutes(1));
    bot_lease::heartbeat(&h.db, h.clock.as_ref(), &lease)
        .await
        .unwrap();
    let r = stuck::run(&h.router, h.config.jobs.bot_heartbeat_timeout_ms)
        .await
        .unwrap();
    assert_eq!((r.ended, r.tokens_pruned), (Vec::<i64>::new(), 1));
    assert_eq!(refused(&h.db, &token).await, ErrorCode::Unauthorized);
    lease_of(&h.db, running).await;
}
