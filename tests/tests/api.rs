//! The HTTP API for products, end to end: a real server on 127.0.0.1:0 over
//! a harness instance on a real PostgreSQL, called with a real HTTP client.
//! Tokens, idempotent creates, paging, refusals (status and code, nothing
//! written), probes, the served OpenAPI document, and queued bots
//! dispatched as capacity frees.

#[path = "support/logs.rs"]
mod logs;
#[path = "support/served.rs"]
mod served;

use berth_api::{Api, ApiState};
use berth_core::actor::Actor;
use berth_core::lifecycle;
use berth_core::meeting::BotStatus;
use berth_core::token::{self, Scope};
use berth_core::ErrorCode;
use berth_tests::harness;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use served::{code, read, small, zoom, Served};
use sqlx::PgPool;
use std::net::SocketAddr;

/// A bot with every optional field given; on `small()` (one bot per
/// platform) the first goes to k8s.
async fn create_notetaker(s: &Served, w: &str) -> Value {
    let mut body = zoom(1);
    body["displayName"] = json!("Notetaker");
    body["metadata"] = json!({"customer": "acme", "n": [1, 2]});
    body["priority"] = json!(5);
    s.create(w, &body).await
}

/// The notetaker and two more bots running (`small()` has room for three),
/// then a fourth queued: the first and the queued one.
async fn three_running_one_queued(s: &Served, w: &str) -> (Value, Value) {
    let first = create_notetaker(s, w).await;
    for n in 2..=3 {
        assert_eq!(s.create(w, &zoom(n)).await["queued"], false);
    }
    let queued = s.create(w, &zoom(4)).await;
    (first, queued)
}

fn id(bot: &Value) -> i64 {
    bot["id"].as_i64().unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_created_bot_shows_what_was_asked_and_where_it_runs(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let first = create_notetaker(&s, &w).await;
    assert_eq!(first["meetingPlatform"], "zoom");
    assert_eq!(first["displayName"], "Notetaker");
    assert_eq!(first["metadata"], json!({"customer": "acme", "n": [1, 2]}));
    assert_eq!(first["priority"], 5);
    assert_eq!(first["queued"], false);
    assert!(
        first["slotName"].is_string() && first["deploymentPlatform"] == "k8s",
        "{first}"
    );
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bot_past_the_limit_is_queued_and_shows_its_place_and_decisions(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let (_, queued) = three_running_one_queued(&s, &w).await;
    assert_eq!(queued["status"], "QUEUED");
    assert_eq!(queued["queued"], true);
    assert_eq!(queued["queuePosition"], 1);
    let qid = id(&queued);

    // One bot: status, platform, slot, queue place, decision trace.
    let (status, shown) = s.get(&format!("/v1/bots/{qid}"), &w).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["queuePosition"], 1);
    let decisions: Vec<&str> = shown["decisionTrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions.iter().filter(|d| **d == "full").count(),
        3,
        "{shown}"
    );
    assert_eq!(decisions.last(), Some(&"queued"), "{shown}");
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn deploying_a_queued_bot_again_keeps_its_one_place(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let (_, queued) = three_running_one_queued(&s, &w).await;
    let qid = id(&queued);
    let (status, again) = s
        .post(&format!("/v1/bots/{qid}/deploy"), &w, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["queuePosition"], 1);
    let entries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deployment_queue WHERE bot_id = $1")
            .bind(qid)
            .fetch_one(&s.h.db)
            .await
            .unwrap();
    assert_eq!(entries, 1);
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn pool_and_queue_stats_have_reference_001s_shapes(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    three_running_one_queued(&s, &w).await;
    let (_, pools) = s.get("/v1/pools/stats", &w).await;
    assert_eq!(
        (pools["total"].as_i64(), pools["busy"].as_i64()),
        (Some(3), Some(3)),
        "{pools}"
    );
    assert!(pools["maxSize"].as_i64().unwrap() > 0 && pools["idle"] == 0 && pools["error"] == 0);
    let (_, zoom_pool) = s.get("/v1/pools/zoom/stats", &w).await;
    assert_eq!(
        (zoom_pool["total"].as_i64(), zoom_pool["busy"].as_i64()),
        (Some(3), Some(3))
    );
    let (status, nothing) = s.get("/v1/pools/nope/stats", &w).await;
    assert_eq!(
        (status, code(&nothing)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (_, q) = s.get("/v1/queue/stats", &w).await;
    assert_eq!(q["length"], 1);
    assert!(
        q["oldestQueuedAt"].is_string() && q["avgWaitMs"].is_i64(),
        "{q}"
    );
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn cancelling_an_active_bot_frees_its_slot_for_the_queued_one(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let (first, queued) = three_running_one_queued(&s, &w).await;
    let (fid, qid) = (id(&first), id(&queued));
    // No body at all: a cancel without a reason.
    let (status, cancelled) = read(
        s.req(Method::POST, &format!("/v1/bots/{fid}/cancel"), Some(&w))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "FATAL");
    assert_eq!(cancelled["error"], "cancelled by api:product");
    assert!(cancelled["slotName"].is_null());
    s.h.dispatcher.drain().await.unwrap();
    let (_, moved) = s.get(&format!("/v1/bots/{qid}"), &w).await;
    assert_eq!(moved["queued"], false, "{moved}");
    assert_eq!(moved["deploymentPlatform"], "k8s");
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn cancelling_a_queued_bot_takes_it_out_of_the_queue(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let (_, queued) = three_running_one_queued(&s, &w).await;
    let q2 = id(&queued);
    // A reason too long is refused, and the bot stays queued, unaudited.
    let (status, refused) = s
        .post(
            &format!("/v1/bots/{q2}/cancel"),
            &w,
            &json!({ "reason": "x".repeat(501) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_input", "{refused}");
    let (status, unknown) = s
        .post(&format!("/v1/bots/{q2}/cancel"), &w, &json!({ "why": "x" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{unknown}");
    let (_, still) = s.get(&format!("/v1/bots/{q2}"), &w).await;
    assert_eq!(still["queued"], true, "{still}");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'bot.cancel'")
            .fetch_one(&s.h.db)
            .await
            .unwrap();
    assert_eq!(audited, 0);

    let (_, gone) = s
        .post(
            &format!("/v1/bots/{q2}/cancel"),
            &w,
            &json!({ "reason": "meeting moved" }),
        )
        .await;
    assert_eq!(
        (gone["status"].as_str(), gone["queued"].as_bool()),
        (Some("FATAL"), Some(false))
    );
    assert_eq!(gone["error"], "cancelled by api:product: meeting moved");
    let (actor, reason): (String, Option<String>) = sqlx::query_as(
        "SELECT actor, reason FROM audit_log WHERE action = 'bot.cancel' AND target = $1",
    )
    .bind(q2.to_string())
    .fetch_one(&s.h.db)
    .await
    .unwrap();
    assert_eq!(
        (actor.as_str(), reason.as_deref()),
        ("api:product", Some("meeting moved"))
    );
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn an_ended_bot_cannot_be_deployed_or_cancelled_again(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let fid = id(&create_notetaker(&s, &w).await);
    let (status, _) = s
        .post(&format!("/v1/bots/{fid}/cancel"), &w, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        format!("/v1/bots/{fid}/deploy"),
        format!("/v1/bots/{fid}/cancel"),
    ] {
        let (status, body) = s.post(&path, &w, &json!({})).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "stale_transition"),
            "{path}"
        );
    }
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn unknown_and_malformed_bot_ids_are_refused(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let (status, body) = s.get("/v1/bots/999999", &w).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = s.get("/v1/bots/abc", &w).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_retried_create_returns_the_same_bot(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let send = |key: &str, body: Value, token: String| {
        s.req(Method::POST, "/v1/bots", Some(&token))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let r = send("order-1", zoom(1), w.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("idempotent-replayed").is_none());
    let (_, first) = read(r).await;
    let r = send("order-1", zoom(1), w.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    let (_, again) = read(r).await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(s.bots().await, 1, "the retry created nothing");

    // The same key with another request: refused, nothing written.
    let (status, body) = read(send("order-1", zoom(2), w.clone()).await.unwrap()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    assert_eq!(s.bots().await, 1);
    // A bad key: refused, nothing written.
    let (status, body) = read(send(&"k".repeat(256), zoom(3), w.clone()).await.unwrap()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    assert_eq!(s.bots().await, 1);
    // Keys are each token's own.
    let other = s.token("other", Scope::BotsWrite).await;
    let (status, theirs) = read(send("order-1", zoom(1), other).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(theirs["id"], first["id"]);
    assert_eq!(s.bots().await, 2);

    // Eight racing requests with one new key: one bot, the same for all.
    let racing = futures::future::join_all((0..8).map(|_| send("race", zoom(9), w.clone()))).await;
    let mut ids = Vec::new();
    let mut created = 0;
    for r in racing {
        let r = r.unwrap();
        created += usize::from(r.status() == StatusCode::CREATED);
        let (status, body) = read(r).await;
        assert!(status.is_success(), "{status} {body}");
        ids.push(body["id"].as_i64().unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every racer got the same bot");
    assert_eq!(created, 1, "exactly one racer created it");
    assert_eq!(s.bots().await, 3);
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn cursor_paging_lists_every_bot_once(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let mut all = Vec::new();
    for n in 0..23 {
        all.push(s.create(&w, &zoom(n)).await["id"].as_i64().unwrap());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/v1/bots?limit=5".to_string(),
            Some(c) => format!("/v1/bots?limit=5&cursor={c}"),
        };
        let (status, page) = s.get(&path, &w).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        let bots = page["bots"].as_array().unwrap();
        assert!(bots.len() <= 5);
        seen.extend(bots.iter().map(|b| b["id"].as_i64().unwrap()));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        // A bot created while paging never shifts a page.
        if pages == 2 {
            s.create(&w, &zoom(99)).await;
        }
    }
    assert_eq!(pages, 5);
    all.reverse();
    assert_eq!(seen, all, "newest first, each once");

    // Filters.
    let (_, queued) = s.get("/v1/bots?status=QUEUED&limit=200", &w).await;
    let queued = queued["bots"].as_array().unwrap();
    assert_eq!(queued.len(), 21);
    assert!(queued.iter().all(|b| b["status"] == "QUEUED"));
    let (_, meet) = s.get("/v1/bots?meetingPlatform=google-meet", &w).await;
    assert!(meet["bots"].as_array().unwrap().is_empty());
    let (_, pool) = s.get("/v1/bots?pool=zoom&limit=1", &w).await;
    assert_eq!(pool["bots"].as_array().unwrap().len(), 1);

    for bad in [
        "/v1/bots?limit=0",
        "/v1/bots?limit=201",
        "/v1/bots?cursor=nope",
        "/v1/bots?status=SLEEPING",
        "/v1/bots?colour=red",
    ] {
        let (status, body) = s.get(bad, &w).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            "{bad}"
        );
    }
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn refusals_have_their_status_and_code_and_write_nothing(db: PgPool) {
    let (logs, _guard) = logs::capture();
    let s = Served::start(db, &small()).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let r = s.token("reader", Scope::BotsRead).await;
    let revoked = s.token("old", Scope::Admin).await;
    token::revoke(&s.h.db, "old", &Actor::cli()).await.unwrap();
    let unknown = format!("{}{}", token::PREFIX, "0".repeat(64));

    let post = |token: Option<&str>| s.req(Method::POST, "/v1/bots", token);
    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode, &str)> = vec![
        ("no token", post(None).json(&zoom(1)), StatusCode::UNAUTHORIZED, "unauthorized"),
        ("unknown token", post(Some(&unknown)).json(&zoom(1)), StatusCode::UNAUTHORIZED, "unauthorized"),
        ("not a berth token", post(Some("hunter2")).json(&zoom(1)), StatusCode::UNAUTHORIZED, "unauthorized"),
        (
            "basic auth",
            s.req(Method::POST, "/v1/bots", None).basic_auth("a", Some("b")).json(&zoom(1)),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        ("revoked token", post(Some(&revoked)).json(&zoom(1)), StatusCode::UNAUTHORIZED, "unauthorized"),
        ("read-only token", post(Some(&r)).json(&zoom(1)), StatusCode::FORBIDDEN, "forbidden"),
        (
            "2 MB body",
            post(Some(&w)).json(&json!({"meetingPlatform": "zoom", "meetingUrl": "https://zoom.us/j/1",
                "metadata": {"blob": "x".repeat(2 * 1024 * 1024)}})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "unknown field",
            post(Some(&w)).json(&json!({"meetingPlatform": "zoom", "meetingUrl": "https://zoom.us/j/1", "colour": "red"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "malformed JSON",
            post(Some(&w)).header("content-type", "application/json").body("{\"meetingPlatform\": "),
            StatusCode::BAD_REQUEST,
            "malformed_request",
        ),
        ("not JSON", post(Some(&w)).body("meetingPlatform=zoom"), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (
            "not a meeting link",
            post(Some(&w)).json(&json!({"meetingPlatform": "zoom", "meetingUrl": "https://evil.example/j/1"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "metadata not an object",
            post(Some(&w)).json(&json!({"meetingPlatform": "zoom", "meetingUrl": "https://zoom.us/j/1", "metadata": [1]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "metadata over 16 KiB",
            post(Some(&w)).json(&json!({"meetingPlatform": "zoom", "meetingUrl": "https://zoom.us/j/1",
                "metadata": {"blob": "x".repeat(17 * 1024)}})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "unknown meeting platform",
            post(Some(&w)).json(&json!({"meetingPlatform": "webex", "meetingUrl": "https://zoom.us/j/1"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        ("no such route", s.req(Method::GET, "/v1/nothing", Some(&w)), StatusCode::NOT_FOUND, "not_found"),
        ("wrong method", s.req(Method::DELETE, "/v1/bots", Some(&w)), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        ("reads need a token too", s.req(Method::GET, "/v1/queue/stats", None), StatusCode::UNAUTHORIZED, "unauthorized"),
    ];
    for (what, request, want_status, want_code) in cases {
        let response = request.send().await.unwrap();
        if want_status == StatusCode::UNAUTHORIZED {
            assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
        }
        let (status, body) = read(response).await;
        assert_eq!(
            (status, code(&body)),
            (want_status, want_code),
            "{what}: {body}"
        );
    }
    assert_eq!(s.bots().await, 0, "no refused request wrote a bot");
    // A read-only token reads.
    let (status, _) = s.get("/v1/queue/stats", &r).await;
    assert_eq!(status, StatusCode::OK);
    s.stop().await;

    // No token reached the logs (the requests above were logged).
    let text = logs.text();
    assert!(
        text.contains("route=/v1/bots status=413") && text.contains("route=/v1/bots status=401"),
        "requests are logged by route and status:\n{text}"
    );
    for secret in [&w, &r, &revoked, &unknown] {
        assert!(!text.contains(secret.as_str()), "a token was logged");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn probes_and_the_served_document(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let plain = |path: &str| s.req(Method::GET, path, None).send();
    let (status, body) = read(plain("/healthz").await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = read(plain("/readyz").await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ready"})));

    let r = s.token("reader", Scope::BotsRead).await;
    let (status, doc) = s.get("/v1/openapi.json", &r).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        doc,
        berth_api::openapi::value(),
        "the served document is the generated one"
    );
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../src-tauri/api/openapi.json"
        ))
        .expect("openapi.json is committed"),
    )
    .unwrap();
    assert_eq!(
        doc, committed,
        "openapi.json is current: run `cargo test -p berth-api export_openapi`"
    );

    // Migrations not current: not ready (the process is still up).
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&s.h.db)
    .await
    .unwrap();
    let (status, body) = read(plain("/readyz").await.unwrap()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "schema_outdated"),
        "{body}"
    );
    let (status, _) = read(plain("/healthz").await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_product_token_creates_20_bots_and_queued_ones_are_dispatched(db: PgPool) {
    let env = [
        ("PLATFORM_PRIORITY", "k8s,aws"),
        ("K8S_BOT_LIMIT", "3"),
        ("AWS_BOT_LIMIT", "2"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
        ("AWS_QUEUE_TIMEOUT_MS", "0"),
    ];
    let s = Served::start(db, &env).await;
    let w = s.token("product", Scope::BotsWrite).await;
    let mut ids = Vec::new();
    let mut queued = 0;
    for n in 0..20 {
        let bot = s.create(&w, &zoom(n)).await;
        queued += usize::from(bot["queued"] == true);
        ids.push(bot["id"].as_i64().unwrap());
    }
    assert_eq!(
        queued, 15,
        "five platforms' worth deployed, the rest queued"
    );
    let (_, q) = s.get("/v1/queue/stats", &w).await;
    assert_eq!(q["length"], 15);

    // Bots finish (as they would report it), capacity frees, the queue drains.
    let mut rounds = 0;
    loop {
        let (_, page) = s.get("/v1/bots?limit=200", &w).await;
        let bots = page["bots"].as_array().unwrap();
        let active: Vec<i64> = bots
            .iter()
            .filter(|b| b["status"] != "QUEUED" && b["status"] != "DONE")
            .map(|b| b["id"].as_i64().unwrap())
            .collect();
        assert!(
            active.len() <= 5,
            "never more than the platforms' limits: {}",
            active.len()
        );
        if active.is_empty() {
            assert!(bots.iter().all(|b| b["status"] == "DONE"), "{page}");
            break;
        }
        for id in active {
            lifecycle::report(
                &s.h.router,
                &Actor::system("test"),
                id,
                BotStatus::Done,
                None,
            )
            .await
            .unwrap();
        }
        s.h.dispatcher.drain().await.unwrap();
        rounds += 1;
        assert!(rounds <= 4, "20 bots through 5 slots take 4 rounds");
    }
    assert_eq!(rounds, 4);
    for id in ids {
        let (_, bot) = s.get(&format!("/v1/bots/{id}"), &w).await;
        assert_eq!(bot["status"], "DONE");
        assert!(
            bot["decisionTrace"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["decision"] == "deployed"),
            "{bot}"
        );
    }
    let (_, q) = s.get("/v1/queue/stats", &w).await;
    assert_eq!(q["length"], 0);
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn tokens_are_stored_hashed_listed_and_revoked(db: PgPool) {
    let actor = Actor::cli();
    let created = token::create(&db, "billing", Scope::BotsWrite, &actor)
        .await
        .unwrap();
    let t = created.token.clone();
    assert!(t.starts_with("berth_") && t.len() == 6 + 64, "{t}");
    assert!(t[6..].bytes().all(|b| b.is_ascii_hexdigit()));
    let (hashed, plain_anywhere): (bool, bool) = sqlx::query_as(
        "SELECT token_hash = sha256(convert_to($1, 'UTF8')), position($1 in t::text) > 0
         FROM api_tokens t WHERE name = 'billing'",
    )
    .bind(&t)
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(hashed, "its SHA-256 is stored");
    assert!(!plain_anywhere, "the token itself is stored nowhere");

    let who = token::verify(&db, &t).await.unwrap();
    assert_eq!(
        (who.name.as_str(), who.scope),
        ("billing", Scope::BotsWrite)
    );
    assert_eq!(who.actor().record(), "api:billing");
    let other = token::create(&db, "reader", Scope::BotsRead, &actor)
        .await
        .unwrap();
    assert_ne!(other.token, t, "tokens are random");
    let e = token::create(&db, "billing", Scope::Admin, &actor)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "one live token per name");
    let e = token::create(&db, "bad name", Scope::Admin, &actor)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);

    let listed = token::list(&db).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["billing", "reader"]);
    assert_eq!(listed[0].scope, "bots:write");
    assert!(!serde_json::to_string(&listed).unwrap().contains(&t));

    token::revoke(&db, "billing", &actor).await.unwrap();
    let e = token::verify(&db, &t).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unauthorized);
    assert!(
        !e.to_string().contains(&t),
        "the refusal does not repeat the token"
    );
    let e = token::revoke(&db, "billing", &actor).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    // The name is free again; the revoked row stays, listed after the live ones.
    let again = token::create(&db, "billing", Scope::Admin, &actor)
        .await
        .unwrap();
    assert_eq!(
        token::verify(&db, &again.token).await.unwrap().scope,
        Scope::Admin
    );
    let listed = token::list(&db).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed[2].revoked_at.is_some()
            && listed[2].revoked_by.as_deref() == Some(actor.record().as_str())
    );
}

/// A self-signed certificate for 127.0.0.1 and its key, as PEM files in
/// `dir` (made by the `openssl` command line).
fn self_signed(dir: &std::path::Path) -> berth_api::TlsFiles {
    let config = dir.join("openssl.cnf");
    std::fs::write(
        &config,
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = 127.0.0.1\n\
         [leaf]\nbasicConstraints = critical, CA:FALSE\nsubjectAltName = IP:127.0.0.1\n",
    )
    .unwrap();
    let files = berth_api::TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
        ])
        .arg("-config")
        .arg(&config)
        .args(["-extensions", "leaf", "-keyout"])
        .arg(&files.key)
        .arg("-out")
        .arg(&files.cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    files
}

#[sqlx::test(migrations = "../migrations")]
async fn the_api_serves_https_from_pem_files(db: PgPool) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let h = harness(db, &small(), false).await;
    let dir = std::env::temp_dir().join(format!("berth-api-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = self_signed(&dir);
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();

    // A key that is not PEM is refused before anything is served.
    let broken = berth_api::TlsFiles {
        cert: files.cert.clone(),
        key: files.cert.clone(),
    };
    let e = Api::bind(ApiState::new(h.router.clone()), any, Some(&broken))
        .await
        .err()
        .expect("refused");
    assert_eq!(e.code(), ErrorCode::ConfigInvalid, "{e}");

    let api = Api::bind(ApiState::new(h.router.clone()), any, Some(&files))
        .await
        .expect("bound");
    assert_eq!(api.scheme(), "https");
    let addr = api.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(api.run(async move {
        let _ = stopped.await;
    }));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&files.cert).unwrap())
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::IpAddress(addr.ip().into());
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(r#"{"status":"ok"}"#), "{answer}");

    // Plain HTTP on the TLS port gets no answer.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got).await;
    assert!(
        !String::from_utf8_lossy(&got).contains("200"),
        "plain HTTP is not served"
    );

    let _ = stop.send(());
    task.await.unwrap().expect("stopped cleanly");
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_token_s_tiers_apply_to_its_requests_and_a_tier_above_its_highest_is_403(db: PgPool) {
    let s = Served::start(db, &small()).await;
    let tiers = token::Tiers {
        default_tier: Some("batch".into()),
        max_tier: Some("standard".into()),
    };
    let w = token::create_with_tiers(&s.h.db, "nightly", Scope::BotsWrite, &tiers, &Actor::cli())
        .await
        .unwrap()
        .token;
    let post = |body: Value| s.req(Method::POST, "/v1/bots", Some(&w)).json(&body).send();
    let (status, body) = read(
        post(
            json!({"meetingPlatform": "zoom", "meetingUrl": "https://zoom.us/j/1",
        "tier": "critical"}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "tier_not_allowed"),
        "{body}"
    );
    let (status, body) = read(
        post(
            json!({"meetingPlatform": "zoom", "meetingUrl": "https://zoom.us/j/1",
        "priority": 10}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "tier_not_allowed"),
        "{body}"
    );
    let bots: i64 = sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(&s.h.db)
        .await
        .unwrap();
    assert_eq!(bots, 0, "nothing written");

    let (status, body) = read(post(zoom(1)).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["tier"].as_str(), body["priority"].as_i64()),
        (Some("batch"), Some(500))
    );
    let (status, body) = read(
        post(
            json!({"meetingPlatform": "zoom", "meetingUrl": "https://zoom.us/j/2",
        "tier": "standard"}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["tier"].as_str()),
        (StatusCode::CREATED, Some("standard"))
    );
}
