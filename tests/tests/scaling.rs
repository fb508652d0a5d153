//! Auto-scaling (issue 16): a scaled pool's idle target follows demand;
//! scale-down removes only idle slots, never below the minimum, and loses
//! no race with an acquisition; every decision is recorded with its reason.

use berth_core::actor::Actor;
use berth_core::clock::Clock;
use berth_core::definition;
use berth_core::error::ErrorCode;
use berth_core::jobs;
use berth_core::meeting::PlatformKind;
use berth_core::router::DeployOutcome;
use berth_core::scaling::{self, Action, Decision};
use berth_core::schedule::lead;
use berth_core::slot;
use berth_tests::{bots, harness, slots, three_platforms, wide_pool, Harness};
use chrono::Duration;
use sqlx::PgPool;
use std::sync::Arc;

#[path = "support/scrape.rs"]
mod scrape;
#[path = "support/served.rs"]
mod served;

/// The zoom pool's definition, scaled between `min` and `max` idle slots.
fn scaled(min: u32, max: u32, after: &str) -> String {
    format!(
        "name: zoom\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: 20\n\
         scaling:\n  min_idle: {min}\n  max_idle: {max}\n  scale_down_after: {after}\n"
    )
}

async fn apply(h: &Harness, text: &str) {
    definition::apply(&h.db, h.router.feed(), text, &Actor::system("test"))
        .await
        .unwrap();
}

/// Three simulated platforms of 10 bots each, and the zoom pool scaled.
async fn scaled_harness(db: PgPool, min: u32, max: u32, after: &str) -> Harness {
    let h = harness(db, &three_platforms("10", ["0", "0", "0"]), false).await;
    apply(&h, &scaled(min, max, after)).await;
    h
}

/// Idle (acquirable) slots of the zoom pool.
async fn idle(db: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pool_slots WHERE pool = 'zoom' AND status = 'idle' AND NOT draining",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

/// `n` ad-hoc requests of the zoom pool made just now (queued rows: they
/// count as arrivals and hold no capacity).
async fn arrivals(h: &Harness, n: usize) {
    for _ in 0..n {
        berth_tests::insert_bot(&h.db, "zoom").await;
    }
}

/// Moves every bot's request time a day back: out of the arrival window.
async fn forget_arrivals(db: &PgPool) {
    sqlx::query("UPDATE bots SET created_at = created_at - interval '1 day'")
        .execute(db)
        .await
        .unwrap();
}

/// The one decision of a pass on zoom.
fn only(decisions: Vec<Decision>) -> Decision {
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    decisions.into_iter().next().unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_target_follows_the_arrival_rate_and_is_clamped_to_the_maximum(db: PgPool) {
    let h = scaled_harness(db, 2, 6, "5m").await;
    // No demand: the minimum.
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!((d.action, d.target.target, d.created), (Action::Up, 2, 2));
    assert_eq!((d.target.buffer, d.target.scheduled), (0, 0));
    assert_eq!(idle(&h.db).await, 2);
    assert!(
        jobs::scale(&h.router).await.unwrap().is_empty(),
        "at the target, same target as last time: nothing recorded"
    );

    // 15 requests over the 15-minute window: 1 a minute × the 90 s lead
    // time (the floor: no deploy observed yet) = a buffer of 2 (1.5 up).
    arrivals(&h, 15).await;
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!(d.arrivals_per_minute, 1.0);
    assert_eq!(d.lead_time_ms, i64::from(lead::DEFAULT_LEAD_FLOOR_MS));
    assert_eq!((d.target.buffer, d.target.target), (2, 4));
    assert_eq!((d.action, d.idle_before, d.created), (Action::Up, 2, 2));
    assert!(
        d.reason
            .contains("target 4 = min 2 + scheduled 0 + buffer 2"),
        "{}",
        d.reason
    );
    assert_eq!(idle(&h.db).await, 4);

    // A burst: 5 a minute would want 2 + 8 (7.5 up), clamped to the maximum of 6.
    arrivals(&h, 60).await;
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!((d.target.buffer, d.target.target), (8, 6));
    assert_eq!(d.created, 2);
    assert_eq!(idle(&h.db).await, 6);

    // The burst passes out of the window: back to the minimum, once the
    // slots made for it have been idle for scale_down_after.
    forget_arrivals(&h.db).await;
    h.clock.advance(Duration::minutes(6));
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!((d.action, d.target.target, d.removed), (Action::Down, 2, 4));
    assert_eq!(idle(&h.db).await, 2);

    // Recorded, newest first, with their reasons; the view agrees.
    let v = scaling::view(&h.db, "zoom").await.unwrap();
    assert!(v.scaled);
    let actions: Vec<Action> = v.decisions.iter().map(|d| d.action).collect();
    assert_eq!(
        actions,
        [Action::Down, Action::Up, Action::Up, Action::Up],
        "{:?}",
        v.decisions
    );
    assert!(v.decisions[0]
        .reason
        .starts_with("idle 6 above the target: removed 4"));
    assert_eq!(v.current.map(|t| t.target), Some(2));
    assert_eq!(v.idle, 2);
}

/// A scheduled zoom bot the starter will start at `start_at`.
async fn scheduled_bot(db: &PgPool, start_at: chrono::DateTime<chrono::Utc>) {
    sqlx::query(
        "INSERT INTO bots (pool, meeting_platform, meeting_url, status, join_at, start_at)
         VALUES ('zoom', 'zoom', 'https://zoom.us/j/9', 'SCHEDULED', $1 + interval '90 seconds', $1)",
    )
    .bind(start_at)
    .execute(db)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn the_target_covers_the_scheduled_bots_starting_within_the_learned_lead_time(db: PgPool) {
    let h = scaled_harness(db, 1, 10, "5m").await;
    let now = h.clock.now();
    // Within the 90 s floor: one; at 3 minutes: not yet.
    scheduled_bot(&h.db, now + Duration::seconds(30)).await;
    scheduled_bot(&h.db, now + Duration::minutes(3)).await;
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!(
        (d.target.scheduled, d.target.buffer, d.target.target),
        (1, 0, 2),
        "{}",
        d.reason
    );
    assert_eq!(d.created, 2);
    // Deploys on k8s were seen taking 200 s: the lead becomes 240 s (p95
    // plus 20 %), and the bot starting at 3 minutes is within it.
    lead::observe(
        &h.db,
        PlatformKind::K8s,
        "zoom",
        std::time::Duration::from_secs(200),
        now,
    )
    .await
    .unwrap();
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!(d.lead_time_ms, 240_000);
    assert_eq!((d.target.scheduled, d.target.target, d.created), (2, 3, 1));
    assert!(d.reason.contains("scheduled 2"), "{}", d.reason);
    // Scheduled bots are not arrivals: no buffer from them.
    assert_eq!(d.arrivals_per_minute, 0.0);
}

#[sqlx::test(migrations = "../migrations")]
async fn scaling_up_uses_every_allowed_platform_with_room_in_priority_order(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    apply(&h, &scaled(5, 5, "5m")).await;
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!(d.created, 5);
    let platforms: Vec<String> = sqlx::query_scalar(
        "SELECT deployment_platform FROM pool_slots WHERE pool = 'zoom' ORDER BY id",
    )
    .fetch_all(&h.db)
    .await
    .unwrap();
    assert_eq!(platforms, ["k8s", "k8s", "aws", "aws", "coolify"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_pool_without_room_holds_and_says_why(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    apply(&h, &scaled(2, 4, "5m")).await;
    // Every platform is at its limit of one bot.
    for platform in ["k8s", "aws", "coolify"] {
        let bot = berth_tests::insert_bot(&h.db, "google-meet").await;
        sqlx::query("UPDATE bots SET status = 'IN_CALL', deployment_platform = $2 WHERE id = $1")
            .bind(bot)
            .bind(platform)
            .execute(&h.db)
            .await
            .unwrap();
    }
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!((d.action, d.created), (Action::Hold, 0));
    assert!(
        d.reason.contains("no allowed platform has room"),
        "{}",
        d.reason
    );
    assert!(
        jobs::scale(&h.router).await.unwrap().is_empty(),
        "the same hold is not recorded again"
    );
}

/// A zoom bot deployed (busy on the simulator); its slot id.
async fn busy_bot(h: &Harness, n: u32) -> i64 {
    match h.router.create_bot(&bots::zoom(n)).await.unwrap() {
        DeployOutcome::Deployed { bot_id, .. } => {
            slot::of_bot(&h.db, bot_id)
                .await
                .unwrap()
                .expect("a slot")
                .id
        }
        other => panic!("expected a deploy, got {other:?}"),
    }
}

/// A slot's status and bot; fails the test when the slot is gone.
async fn status_and_bot(db: &PgPool, id: i64) -> (String, Option<i64>) {
    sqlx::query_as("SELECT status, assigned_bot_id FROM pool_slots WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("slot {id} was deleted"))
}

async fn sim_resources(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sim_workloads WHERE resource LIKE 'sim-%-pool-zoom-%'")
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn scale_down_never_touches_a_busy_or_deploying_slot_nor_goes_below_the_minimum(db: PgPool) {
    let h = scaled_harness(db, 6, 6, "5m").await;
    assert_eq!(only(jobs::scale(&h.router).await.unwrap()).created, 6);
    // Two bots take two warm slots (busy); a third holds a new slot, deploying.
    let busy = [busy_bot(&h, 1).await, busy_bot(&h, 2).await];
    let bot = berth_tests::insert_bot(&h.db, "zoom").await;
    let deploying = slots::of("zoom", PlatformKind::Aws)
        .holding(bot)
        .create(&h.db)
        .await
        .slot_id;
    forget_arrivals(&h.db).await;
    // The minimum drops to 1: 4 idle slots, 3 above it.
    apply(&h, &scaled(1, 6, "5m")).await;
    h.clock.advance(Duration::minutes(6));
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!(
        (d.action, d.target.target, d.idle_before, d.removed),
        (Action::Down, 1, 4, 3),
        "{}",
        d.reason
    );
    assert_eq!(idle(&h.db).await, 1, "the minimum stays");
    for id in busy {
        assert_eq!(status_and_bot(&h.db, id).await.0, "busy");
    }
    assert_eq!(
        status_and_bot(&h.db, deploying).await,
        ("deploying".to_string(), Some(bot))
    );
    // The removed slots' resources are gone from their platform, their rows
    // from the pool (with a last history row saying why).
    assert_eq!(sim_resources(&h.db).await, 3, "2 busy + 1 idle");
    let gone: Vec<String> = sqlx::query_scalar(
        "SELECT reason FROM slot_history WHERE to_status = 'deleted' ORDER BY id",
    )
    .fetch_all(&h.db)
    .await
    .unwrap();
    assert_eq!(gone.len(), 3);
    assert!(
        gone.iter().all(|r| r.starts_with("scaled down")),
        "{gone:?}"
    );

    // Nothing more goes, however long it waits.
    h.clock.advance(Duration::hours(2));
    assert!(jobs::scale(&h.router).await.unwrap().is_empty());
    assert_eq!(idle(&h.db).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn idle_slots_younger_than_scale_down_after_stay(db: PgPool) {
    let h = scaled_harness(db, 4, 6, "5m").await;
    jobs::scale(&h.router).await.unwrap();
    apply(&h, &scaled(0, 6, "5m")).await;
    h.clock.advance(Duration::minutes(4));
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!((d.action, d.removed), (Action::Hold, 0));
    assert!(
        d.reason.contains("idle for scale_down_after"),
        "{}",
        d.reason
    );
    assert_eq!(idle(&h.db).await, 4);
    // One slot came back to idle a minute ago (a bot ended on it).
    let recent: i64 = sqlx::query_scalar(
        "UPDATE pool_slots SET status_changed_at = $1
         WHERE id = (SELECT min(id) FROM pool_slots WHERE pool = 'zoom') RETURNING id",
    )
    .bind(h.clock.now() + Duration::minutes(1))
    .fetch_one(&h.db)
    .await
    .unwrap();
    h.clock.advance(Duration::minutes(2));
    let d = only(jobs::scale(&h.router).await.unwrap());
    assert_eq!((d.action, d.removed), (Action::Down, 3));
    let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM pool_slots WHERE pool = 'zoom'")
        .fetch_all(&h.db)
        .await
        .unwrap();
    assert_eq!(
        left,
        [recent],
        "the slot idle for less than 5 minutes stays"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_acquisition_racing_with_scale_down_keeps_its_slot(db: PgPool) {
    const SLOTS: usize = 6;
    const TAKERS: usize = 3;
    let h = scaled_harness(db, 0, 10, "1m").await;
    let wide = wide_pool(&h.db, (TAKERS + 4) as u32).await;
    for round in 0..10 {
        sqlx::query("DELETE FROM pool_slots WHERE pool = 'zoom'")
            .execute(&h.db)
            .await
            .unwrap();
        slots::of("zoom", PlatformKind::K8s)
            .create_n(&h.db, SLOTS)
            .await;
        h.clock.advance(Duration::minutes(2));
        let barrier = Arc::new(tokio::sync::Barrier::new(TAKERS + 1));
        let mut takers = Vec::new();
        for _ in 0..TAKERS {
            let (db, barrier) = (wide.clone(), barrier.clone());
            let bot = berth_tests::insert_bot(&h.db, "zoom").await;
            takers.push(tokio::spawn(async move {
                let mut conn = db.acquire().await.unwrap();
                barrier.wait().await;
                let lease = slot::acquire(&mut conn, "zoom", PlatformKind::K8s, bot)
                    .await
                    .unwrap();
                (bot, lease)
            }));
        }
        let (router, b, now) = (h.router.clone(), barrier.clone(), h.clock.now());
        let down = tokio::spawn(async move {
            b.wait().await;
            scaling::down::remove_above(&router, "zoom", 0, Duration::minutes(1), now).await
        });
        let removed = down.await.unwrap().unwrap() as usize;
        let mut acquired = 0;
        for t in takers {
            let (bot, lease) = t.await.unwrap();
            let Some(lease) = lease else {
                continue;
            };
            acquired += 1;
            let (status, holder) = status_and_bot(&h.db, lease.slot_id).await;
            assert_eq!(
                (status.as_str(), holder),
                ("deploying", Some(bot)),
                "round {round}: the acquired slot is kept"
            );
        }
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE pool = 'zoom'")
            .fetch_one(&h.db)
            .await
            .unwrap();
        assert_eq!(rows as usize, SLOTS - removed, "round {round}");
        assert!(acquired + removed <= SLOTS, "round {round}: no slot both");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_idle_target_is_a_metric_of_each_scaled_pool(db: PgPool) {
    let h = scaled_harness(db, 3, 5, "5m").await;
    let m = scrape::scrape(&h.instance).await;
    assert_eq!(
        m.matching("berth_pool_idle_target", &[]).count(),
        0,
        "no decision yet"
    );
    jobs::scale(&h.router).await.unwrap();
    let m = scrape::scrape(&h.instance).await;
    assert_eq!(m.value("berth_pool_idle_target", &[("pool", "zoom")]), 3.0);
    assert_eq!(
        m.matching("berth_pool_idle_target", &[]).count(),
        1,
        "only the scaled pool"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_http_api_shows_a_pool_s_scaling(db: PgPool) {
    let s = served::Served::start(db, &three_platforms("10", ["0", "0", "0"])).await;
    apply(&s.h, &scaled(2, 4, "5m")).await;
    jobs::scale(&s.h.router).await.unwrap();
    let read = s.token("reader", berth_core::token::Scope::BotsRead).await;
    let (status, v) = s.get("/v1/pools/zoom/scaling", &read).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{v}");
    assert_eq!(
        (v["scaled"].as_bool(), v["current"]["target"].as_i64()),
        (Some(true), Some(2))
    );
    assert_eq!(v["decisions"][0]["action"], "up", "{v}");
    assert_eq!(v["decisions"][0]["target"]["minIdle"], 2, "{v}");
    let (status, nothing) = s.get("/v1/pools/nope/scaling", &read).await;
    assert_eq!(
        (status, served::code(&nothing)),
        (reqwest::StatusCode::NOT_FOUND, "not_found")
    );
    s.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn decisions_past_the_retention_are_pruned(db: PgPool) {
    let h = scaled_harness(db, 1, 2, "5m").await;
    jobs::scale(&h.router).await.unwrap();
    let now = h.clock.now();
    let retention = Duration::days(8);
    assert_eq!(
        scaling::decision::prune(&h.db, now, retention)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        scaling::decision::prune(&h.db, now + Duration::days(9), retention)
            .await
            .unwrap(),
        1
    );
    assert!(scaling::view(&h.db, "zoom")
        .await
        .unwrap()
        .decisions
        .is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_policy_is_projected_into_the_pool_and_a_fixed_pool_is_not_scaled(db: PgPool) {
    let h = scaled_harness(db, 1, 3, "90s").await;
    let row: (i32, Option<i32>, Option<i32>, Option<i64>) = sqlx::query_as(
        "SELECT prewarm_count, scaling_min_idle, scaling_max_idle, scaling_scale_down_after_ms
         FROM pools WHERE name = 'zoom'",
    )
    .fetch_one(&h.db)
    .await
    .unwrap();
    assert_eq!(row, (0, Some(1), Some(3), Some(90_000)));
    // What applying would make: the minimum (the rest follows demand).
    let def = definition::parse(&scaled(3, 5, "90s"), None).unwrap();
    assert_eq!(definition::impact(&h.db, &def).await.unwrap().creates, 3);
    // Back to a fixed pre-warm: the scaling job leaves the pool alone.
    apply(
        &h,
        "name: zoom\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: 20\nprewarm: 2\n",
    )
    .await;
    assert!(jobs::scale(&h.router).await.unwrap().is_empty());
    assert_eq!(idle(&h.db).await, 0);
    assert_eq!(jobs::prewarm(&h.router).await.unwrap(), 2);
    let v = scaling::view(&h.db, "zoom").await.unwrap();
    assert!(!v.scaled && v.current.is_none());
    assert_eq!(
        scaling::view(&h.db, "nope").await.unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[test]
fn scaling_keys_are_validated_with_their_fields_and_code() {
    let base = "name: zoom\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: 10\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "scaling:\n  min_idle: 5\n  max_idle: 3\n",
            "scaling.min_idle",
            "exceeds scaling.max_idle 3",
        ),
        (
            "scaling:\n  max_idle: 11\n",
            "scaling.max_idle",
            "exceeds max_size 10",
        ),
        (
            "scaling:\n  max_idle: 3\n  scale_down_after: 10s\n",
            "scaling.scale_down_after",
            "must be from 1m to 24h, got 10s",
        ),
        (
            "scaling:\n  max_idle: 3\n  scale_down_after: 2days\n",
            "scaling.scale_down_after",
            "must be from 1m to 24h",
        ),
        (
            "prewarm: 2\nscaling:\n  max_idle: 3\n",
            "prewarm",
            "leave prewarm out and set scaling.min_idle",
        ),
    ];
    for (extra, field, message) in cases {
        let text = format!("{base}{extra}");
        let problems = definition::parse(&text, None).unwrap_err();
        assert_eq!(problems.len(), 1, "{text}: {problems:?}");
        let p = &problems[0];
        assert_eq!(p.field.as_deref(), Some(*field), "{text}");
        assert!(p.message.contains(message), "{text}: {}", p.message);
        assert!(p.line.is_some(), "located: {p:?}");
        let e = berth_core::error::Error::from(p.clone());
        assert_eq!(e.code(), ErrorCode::DefinitionInvalid);
    }
    // Unknown keys, and a missing max_idle, are the parser's problems.
    for extra in [
        "scaling:\n  max_idle: 3\n  scale_up_after: 1m\n",
        "scaling:\n  min_idle: 1\n",
        "scaling:\n  max_idle: 3\n  scale_down_after: soon\n",
    ] {
        let text = format!("{base}{extra}");
        let problems = definition::parse(&text, None).unwrap_err();
        assert_eq!(problems.len(), 1, "{text}: {problems:?}");
        assert!(problems[0].line.is_some(), "{problems:?}");
    }
    let ok = definition::parse(&format!("{base}scaling:\n  max_idle: 3\n"), None).unwrap();
    let s = ok.scaling.expect("scaling");
    assert_eq!((s.min_idle, s.max_idle), (0, 3));
    assert_eq!(s.scale_down_after.0, std::time::Duration::from_secs(600));
    // The schema knows the key and refuses unknown ones under it.
    let schema = definition::schema();
    let text = schema.to_string();
    assert!(text.contains("scale_down_after") && text.contains("max_idle"));
}
