//! An idempotency key names its bot for 24 hours (as Stripe's and
//! Recall.ai's do), then the same key is a new request, and the leader's
//! pruning job deletes it. A router on a manual clock.

use berth_core::actor::Actor;
use berth_core::clock::Clock;
use berth_core::error::ErrorCode;
use berth_core::idempotency::{self, IdempotencyKey, KEEP_HOURS};
use berth_core::lifecycle::{self, Created};
use berth_core::meeting::MeetingPlatform;
use berth_core::router::NewBot;
use berth_tests::harness;
use chrono::Duration;
use sqlx::PgPool;

fn request(url: &str) -> NewBot {
    NewBot::new(MeetingPlatform::Zoom, url)
}

async fn keys(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM idempotency_keys")
        .fetch_one(db)
        .await
        .unwrap()
}

const ENV: [(&str, &str); 2] = [("PLATFORM_PRIORITY", "k8s"), ("K8S_BOT_LIMIT", "10")];

#[sqlx::test(migrations = "../migrations")]
async fn a_key_replays_its_bot_until_it_ends_then_makes_a_new_one(db: PgPool) {
    let h = harness(db.clone(), &ENV, false).await;
    let actor = Actor::api("product");
    let key = IdempotencyKey::new("token-1", "order-42").unwrap();
    let first = lifecycle::deploy_once(&h.router, &actor, &request("https://zoom.us/j/1"), &key)
        .await
        .unwrap();
    assert!(matches!(first, Created::New(_)), "{first:?}");

    // A second short of the end: the same bot, and nothing written.
    h.clock
        .advance(Duration::hours(KEEP_HOURS) - Duration::seconds(1));
    let again = lifecycle::deploy_once(&h.router, &actor, &request("https://zoom.us/j/1"), &key)
        .await
        .unwrap();
    assert_eq!(
        again,
        Created::Replayed {
            bot_id: first.bot_id()
        }
    );
    // Another request under the live key is refused.
    let other = lifecycle::deploy_once(&h.router, &actor, &request("https://zoom.us/j/2"), &key)
        .await
        .unwrap_err();
    assert_eq!(other.code(), ErrorCode::IdempotencyKeyReused, "{other}");

    // Past the end the key is free: a new bot, even for another request.
    h.clock.advance(Duration::seconds(2));
    let later = lifecycle::deploy_once(&h.router, &actor, &request("https://zoom.us/j/2"), &key)
        .await
        .unwrap();
    match &later {
        Created::New(d) => assert_ne!(d.outcome.bot_id(), first.bot_id()),
        other => panic!("an ended key makes a new bot: {other:?}"),
    }
    // ... which the key names from then on.
    let replay = lifecycle::deploy_once(&h.router, &actor, &request("https://zoom.us/j/2"), &key)
        .await
        .unwrap();
    assert_eq!(
        replay,
        Created::Replayed {
            bot_id: later.bot_id()
        }
    );
    assert_eq!(keys(&db).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn pruning_deletes_only_keys_that_ended(db: PgPool) {
    let h = harness(db.clone(), &ENV, false).await;
    let actor = Actor::api("product");
    let old = IdempotencyKey::new("token-1", "old").unwrap();
    lifecycle::deploy_once(&h.router, &actor, &request("https://zoom.us/j/1"), &old)
        .await
        .unwrap();
    h.clock.advance(Duration::hours(KEEP_HOURS) / 2);
    let young = IdempotencyKey::new("token-1", "young").unwrap();
    lifecycle::deploy_once(&h.router, &actor, &request("https://zoom.us/j/2"), &young)
        .await
        .unwrap();

    h.clock
        .advance(Duration::hours(KEEP_HOURS) / 2 + Duration::seconds(1));
    let pruned = idempotency::prune(&db, h.clock.now()).await.unwrap();
    assert_eq!(pruned, 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT key FROM idempotency_keys")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(left, ["young"]);
}
