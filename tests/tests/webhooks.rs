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

#[path = "webhooks/delivery.rs"]
mod delivery;
#[path = "webhooks/events.rs"]
mod events;
#[path = "webhooks/instances.rs"]
mod instances;
#[path = "webhooks/subscriptions.rs"]
mod subscriptions;
