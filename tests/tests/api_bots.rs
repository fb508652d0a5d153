//! Products and bots through HTTP only: a product token creates 20 bots
//! (some queue), a retried create returns the same bot, and each simulated
//! bot fetches its configuration and reports `JOINING_CALL` → `IN_CALL` →
//! `CALL_ENDED` → `DONE` with the token of its own lease (read from its
//! workload's environment, as a bot reads `BERTH_BOT_TOKEN`); queued bots
//! are dispatched as capacity frees. Tokens used out of bounds are refused
//! with their status and code, and `/metrics` answers what the queue
//! statistics say. A webhook subscribed through the API (an admin token)
//! receives every state change exactly once by id, correctly signed, in
//! order per bot; the test's delivery loop stands in for the instance's
//! (the harness runs no background loops). A staggered batch spaces its
//! bots' starts (refusals write nothing), and a pool's rollout is read.

#[path = "support/receiver.rs"]
mod receiver;
#[path = "support/served.rs"]
mod served;

use berth_core::clock::Clock;
use berth_core::meeting::PlatformKind;
use berth_core::platform::sim;
use berth_core::token::Scope;
use berth_core::webhook::{Deliverer, DeliveryConfig};
use receiver::{assert_in_order_per_bot, signed_with, Receiver};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use served::{code, read, zoom, Served};
use sqlx::PgPool;
use std::collections::HashSet;

/// Two platforms, five bots at a time, no platform waits: 15 of 20 queue.
const FIVE_AT_A_TIME: [(&str, &str); 5] = [
    ("PLATFORM_PRIORITY", "k8s,aws"),
    ("K8S_BOT_LIMIT", "3"),
    ("AWS_BOT_LIMIT", "2"),
    ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ("AWS_QUEUE_TIMEOUT_MS", "0"),
];

/// The token the bot's workload was started with.
async fn bot_token(s: &Served, bot: &Value) -> String {
    let platform: PlatformKind = bot["deploymentPlatform"]
        .as_str()
        .expect("a deployed bot has a platform")
        .parse()
        .unwrap();
    let id = bot["id"].as_i64().unwrap();
    let env = sim::workload_env(&s.h.db, platform, id)
        .await
        .unwrap()
        .expect("the bot's workload runs");
    assert_eq!(env["BERTH_BOT_ID"], id.to_string());
    env["BERTH_BOT_TOKEN"].clone()
}

/// `POST` with the bot's token: the status and body.
async fn as_bot(s: &Served, token: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut r = s.req(Method::POST, path, Some(token));
    if let Some(body) = body {
        r = r.json(&body);
    }
    read(r.send().await.unwrap()).await
}

async fn report(s: &Served, token: &str, id: i64, status: &str) {
    let (code_, body) = as_bot(
        s,
        token,
        &format!("/v1/bots/{id}/status"),
        Some(json!({ "status": status })),
    )
    .await;
    assert_eq!(code_, StatusCode::OK, "{status}: {body}");
    assert_eq!(body["status"], status);
}

/// One bot's life as it reports it: configuration, heartbeat, the call.
async fn live(s: &Served, bot: &Value) -> String {
    let id = bot["id"].as_i64().unwrap();
    let token = bot_token(s, bot).await;
    let (status, config) = s.get(&format!("/v1/bots/{id}/config"), &token).await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(config["botId"], id);
    assert_eq!(config["meeting"]["url"], bot["meetingUrl"]);
    assert_eq!(config["slot"]["name"], bot["slotName"]);
    let (status, beat) = as_bot(s, &token, &format!("/v1/bots/{id}/heartbeat"), None).await;
    assert_eq!(status, StatusCode::OK, "{beat}");
    for step in ["JOINING_CALL", "IN_CALL", "CALL_ENDED", "DONE"] {
        report(s, &token, id, step).await;
    }
    token
}

#[sqlx::test(migrations = "../migrations")]
async fn twenty_bots_live_through_http_with_their_own_tokens(db: PgPool) {
    let s = Served::start(db, &FIVE_AT_A_TIME).await;
    let product = s.token("product", Scope::BotsWrite).await;
    let reader = s.token("dashboard", Scope::BotsRead).await;
    let admin = s.token("ops", Scope::Admin).await;
    let (receiver, server) = Receiver::start().await;
    let (status, hook) = s
        .post(
            "/v1/webhooks",
            &admin,
            &json!({"name": "crm", "url": server.uri(), "events": ["bot.state_changed"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"]
        .as_str()
        .expect("the secret, shown once")
        .to_string();
    let (status, body) = s
        .post(
            "/v1/webhooks",
            &product,
            &json!({"name": "x", "url": server.uri(), "events": ["bot.queued"]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "webhooks are the admin's: {body}"
    );

    let mut queued = 0;
    for n in 0..20 {
        let r = s
            .req(Method::POST, "/v1/bots", Some(&product))
            .header("Idempotency-Key", format!("meeting-{n}"))
            .json(&zoom(n));
        let (status, bot) = read(r.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::CREATED, "{bot}");
        queued += usize::from(bot["queued"] == true);
        if n == 7 {
            // The product's retry (a lost answer): the same bot, nothing new.
            let again = s
                .req(Method::POST, "/v1/bots", Some(&product))
                .header("Idempotency-Key", "meeting-7")
                .json(&zoom(7));
            let (status, replayed) = read(again.send().await.unwrap()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(replayed["id"], bot["id"]);
        }
    }
    assert_eq!(queued, 15);
    assert_eq!(s.bots().await, 20, "the retry created nothing");

    let mut ended_token: Option<(i64, String)> = None;
    let mut rounds = 0;
    loop {
        let (_, page) = s.get("/v1/bots?limit=200", &reader).await;
        let bots = page["bots"].as_array().unwrap().clone();
        let running: Vec<&Value> = bots
            .iter()
            .filter(|b| b["status"] != "QUEUED" && b["status"] != "DONE")
            .collect();
        assert!(
            running.len() <= 5,
            "never over the limits: {}",
            running.len()
        );
        if running.is_empty() {
            assert!(bots.iter().all(|b| b["status"] == "DONE"), "{page}");
            break;
        }
        if let (Some(other), Some((_, token))) = (running.first(), &ended_token) {
            // A token whose lease ended is refused, also on a running bot.
            let id = other["id"].as_i64().unwrap();
            let (status, body) = as_bot(&s, token, &format!("/v1/bots/{id}/heartbeat"), None).await;
            assert_eq!(status, StatusCode::GONE, "{body}");
            assert_eq!(code(&body), "lease_ended");
        }
        if let [a, b, ..] = running.as_slice() {
            // A bot's token reaches only its own bot.
            let token_a = bot_token(&s, a).await;
            let b_id = b["id"].as_i64().unwrap();
            let (status, body) = as_bot(
                &s,
                &token_a,
                &format!("/v1/bots/{b_id}/status"),
                Some(json!({"status": "DONE"})),
            )
            .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
            assert_eq!(code(&body), "forbidden");
            // ... and no product route.
            let (status, body) = s.get("/v1/bots", &token_a).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        }
        for bot in running {
            let token = live(&s, bot).await;
            ended_token = Some((bot["id"].as_i64().unwrap(), token));
        }
        s.h.dispatcher.drain().await.unwrap();
        rounds += 1;
        assert!(rounds <= 4, "20 bots through 5 slots take 4 rounds");
    }
    assert_eq!(rounds, 4);

    // A read-only token can't write; the queue is empty, as /metrics says.
    let (status, body) = s.post("/v1/bots", &reader, &zoom(99)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "forbidden");
    let (_, q) = s.get("/v1/queue/stats", &reader).await;
    assert_eq!(q["length"], 0);
    let scrape = s
        .req(Method::GET, "/metrics", Some(&reader))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    let text = scrape.text().await.unwrap();
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let depth: f64 = parsed
        .samples
        .iter()
        .filter(|s| s.metric == "berth_queue_depth")
        .map(|s| match s.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => panic!("a gauge"),
        })
        .sum();
    assert_eq!(depth, 0.0);
    let dispatches: f64 = parsed
        .samples
        .iter()
        .filter(|s| s.metric == "berth_dispatches_total")
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => panic!("a counter"),
        })
        .sum();
    assert_eq!(dispatches, 20.0, "every bot dispatched once");
    // Every state change, delivered once by id, signed, in order per bot.
    let deliverer = Deliverer::new(
        s.h.db.clone(),
        s.h.clock.clone(),
        uuid::Uuid::new_v4(),
        DeliveryConfig::default(),
    )
    .unwrap();
    while deliverer.pass().await.unwrap().attempted > 0 {}
    let acked = receiver.acked();
    let ids: HashSet<&str> = acked.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids.len(), acked.len(), "no event twice by id");
    let written: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE type = 'bot.state_changed'")
            .fetch_one(&s.h.db)
            .await
            .unwrap();
    assert_eq!(acked.len() as i64, written, "every change arrived");
    assert!(
        acked.iter().all(|g| signed_with(&secret, g)),
        "every one signed"
    );
    let bot_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM bots ORDER BY id")
        .fetch_all(&s.h.db)
        .await
        .unwrap();
    assert_in_order_per_bot(&acked, &bot_ids);
    let (_, log) = s
        .get("/v1/webhook-deliveries?webhook=crm&limit=1000", &admin)
        .await;
    let log = log["deliveries"].as_array().unwrap();
    assert_eq!(log.len(), acked.len());
    assert!(log.iter().all(|d| d["state"] == "delivered"), "{log:?}");

    let (status, _) = read(s.req(Method::GET, "/metrics", None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "metrics need a token");
    s.stop().await;
}

/// A staggered batch through HTTP: the first bot deploys at once, each later
/// one is `SCHEDULED` one stagger after the one before it; the same batch
/// from a token whose highest tier is `standard` is refused when it asks for
/// `critical`, and so are a count or stagger out of range and an unknown
/// pool, each writing nothing.
#[sqlx::test(migrations = "../migrations")]
async fn a_staggered_batch_spaces_its_bots_and_refusals_write_nothing(db: PgPool) {
    let s = Served::start(db, &served::small()).await;
    let tiers = berth_core::token::Tiers {
        default_tier: None,
        max_tier: Some("standard".into()),
    };
    let actor = berth_core::actor::Actor::cli();
    let w =
        berth_core::token::create_with_tiers(&s.h.db, "batches", Scope::BotsWrite, &tiers, &actor)
            .await
            .unwrap()
            .token;
    let batch =
        json!({"pool": "zoom", "meetingUrl": "https://zoom.us/j/7", "count": 3, "staggerMs": 5000});
    let refusals = [
        (
            json!({"count": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            json!({"count": 101}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            json!({"staggerMs": 600_001}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (json!({"pool": "nope"}), StatusCode::NOT_FOUND, "not_found"),
        (
            json!({"tier": "critical"}),
            StatusCode::FORBIDDEN,
            "tier_not_allowed",
        ),
    ];
    for (change, want, want_code) in refusals {
        let mut body = batch.clone();
        body.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        let (status, got) = s.post("/v1/bots/batch", &w, &body).await;
        assert_eq!((status, code(&got)), (want, want_code), "{body}: {got}");
    }
    assert_eq!(s.bots().await, 0, "refusals write nothing");

    let (status, got) = s.post("/v1/bots/batch", &w, &batch).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    assert_eq!(
        (&got["deployed"], &got["queued"], &got["scheduled"]),
        (&json!(1), &json!(0), &json!(2)),
        "{got}"
    );
    let ids: Vec<i64> = got["botIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    // The database keeps microseconds: the first start is compared to the
    // millisecond, the spacing exactly.
    let now = s.h.clock.now();
    let mut starts = Vec::new();
    for (i, id) in ids.iter().enumerate().skip(1) {
        let (status, start): (String, chrono::DateTime<chrono::Utc>) =
            sqlx::query_as("SELECT status, start_at FROM bots WHERE id = $1")
                .bind(id)
                .fetch_one(&s.h.db)
                .await
                .unwrap();
        assert_eq!(status, "SCHEDULED", "bot {i}");
        starts.push(start);
    }
    assert_eq!((starts[0] - now).num_milliseconds(), 5_000, "{starts:?}");
    assert_eq!(starts[1] - starts[0], chrono::Duration::seconds(5));
    let (status, first) = s.get(&format!("/v1/bots/{}", ids[0]), &w).await;
    assert_eq!(
        (status, &first["queued"]),
        (StatusCode::OK, &json!(false)),
        "{first}"
    );
    s.stop().await;
}

/// A pool's rollout through HTTP: `null` before any definition set its
/// image, its progress once one did; an unknown pool is 404.
#[sqlx::test(migrations = "../migrations")]
async fn the_rollout_route_answers_a_pool_s_progress(db: PgPool) {
    let s = Served::start(db, &served::small()).await;
    let r = s.token("dashboard", Scope::BotsRead).await;
    let (status, got) = s.get("/v1/pools/zoom/rollout", &r).await;
    assert_eq!(
        (status, &got),
        (StatusCode::OK, &Value::Null),
        "no rollout ran"
    );

    let mut conn = s.h.db.acquire().await.unwrap();
    berth_core::rollout::begin(&mut conn, "zoom", "bots/zoom:v2", 2)
        .await
        .unwrap();
    drop(conn);
    let (status, got) = s.get("/v1/pools/zoom/rollout", &r).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(
        (&got["pool"], &got["image"], &got["maxUpdating"]),
        (&json!("zoom"), &json!("bots/zoom:v2"), &json!(2)),
        "{got}"
    );
    assert!(got["total"].is_i64() && got["updated"].is_i64(), "{got}");
    assert!(got["startedAt"].is_string(), "{got}");

    let (status, got) = s.get("/v1/pools/nope/rollout", &r).await;
    assert_eq!((status, code(&got)), (StatusCode::NOT_FOUND, "not_found"));
    s.stop().await;
}
