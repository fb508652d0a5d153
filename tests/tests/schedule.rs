//! Scheduled bots (issue 16): lead time learned from observed deploys, a
//! bot started at `join_at - lead` and not before, bookings against the
//! platforms' limits (a full window refused with nothing written, or
//! queued as asked; concurrent requests never overbook), cancel and move,
//! the timeline's read model, and staggered batches — on a manual clock
//! and a real PostgreSQL.

use berth_core::actor::Actor;
use berth_core::clock::Clock;
use berth_core::lifecycle::{self, BatchRequest};
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::router::DeployOutcome;
use berth_core::schedule::{self, lead, IfFull, LeadPolicy};
use berth_core::{bot, ErrorCode};
use berth_tests::{bots, harness, three_platforms, Harness};
use chrono::{DateTime, Duration, DurationRound, Utc};
use sqlx::PgPool;
use std::sync::Arc;

/// Three platforms of one bot each: three bots at a time.
async fn three(db: PgPool) -> Harness {
    harness(db, &three_platforms("1", ["0", "0", "0"]), false).await
}

async fn bot_count(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(db)
        .await
        .unwrap()
}

async fn status(h: &Harness, id: i64) -> BotStatus {
    bot::get(&h.db, id).await.unwrap().status
}

/// A scheduled Zoom bot joining at `join_at`.
async fn schedule_at(
    h: &Harness,
    join_at: DateTime<Utc>,
    if_full: IfFull,
) -> berth_core::Result<DeployOutcome> {
    let req = bots::zoom(1).join_at(join_at).if_full(if_full);
    lifecycle::deploy(&h.router, &Actor::cli(), &req)
        .await
        .map(|d| d.outcome)
}

fn start_of(o: &DeployOutcome) -> DateTime<Utc> {
    match o {
        DeployOutcome::Scheduled { start_at, .. } => *start_at,
        other => panic!("not scheduled: {other:?}"),
    }
}

fn booked(o: &DeployOutcome) -> bool {
    matches!(o, DeployOutcome::Scheduled { booked: true, .. })
}

#[sqlx::test(migrations = "../migrations")]
async fn the_lead_is_the_floor_without_observations_then_p95_plus_the_margin(db: PgPool) {
    let h = three(db).await;
    let floor = Duration::milliseconds(lead::DEFAULT_LEAD_FLOOR_MS.into());
    assert_eq!(
        schedule::lead_time(&h.db, "zoom", PlatformKind::K8s)
            .await
            .unwrap(),
        floor,
        "nothing observed: the floor"
    );
    let now = h.clock.now();
    // 100 s .. 199 s, of which the window keeps the last 50: 150 s .. 199 s.
    for s in 100..200u64 {
        lead::observe(
            &h.db,
            PlatformKind::K8s,
            "zoom",
            std::time::Duration::from_secs(s),
            now,
        )
        .await
        .unwrap();
    }
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM deploy_durations")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(kept, lead::LEAD_WINDOW, "only the recent window is kept");
    // p95 of 150..=199 s (continuous) = 150 + 0.95 × 49 = 196.55 s; +20 %.
    let lead = schedule::lead_time(&h.db, "zoom", PlatformKind::K8s)
        .await
        .unwrap();
    assert_eq!(lead, Duration::milliseconds(235_860));
    assert_eq!(
        schedule::lead_time(&h.db, "zoom", PlatformKind::Aws)
            .await
            .unwrap(),
        floor,
        "learned per platform"
    );
    assert_eq!(
        schedule::lead_time(&h.db, "meet", PlatformKind::K8s)
            .await
            .unwrap(),
        floor,
        "and per pool"
    );
    // A pool's lead is the longest of its platforms'.
    let policy = LeadPolicy::default();
    let all = [PlatformKind::K8s, PlatformKind::Aws, PlatformKind::Coolify];
    assert_eq!(
        lead::pool_lead(&h.db, "zoom", &all, &policy).await.unwrap(),
        lead
    );
    // A scheduled bot starts that lead before its join time.
    let join_at = now + Duration::minutes(30);
    let o = schedule_at(&h, join_at, IfFull::Refuse).await.unwrap();
    assert_eq!(start_of(&o), join_at - lead);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_deploy_berth_observes_is_recorded_for_its_platform_and_pool(db: PgPool) {
    let h = three(db).await;
    lifecycle::deploy(&h.router, &Actor::cli(), &bots::zoom(1))
        .await
        .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT platform, pool FROM deploy_durations")
        .fetch_all(&h.db)
        .await
        .unwrap();
    assert_eq!(rows, vec![("k8s".to_string(), "zoom".to_string())]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_scheduled_bot_starts_at_join_minus_lead_and_not_before(db: PgPool) {
    let h = three(db).await;
    let now = h.clock.now();
    let join_at = now + Duration::minutes(10);
    let o = schedule_at(&h, join_at, IfFull::Refuse).await.unwrap();
    let id = o.bot_id();
    let start = start_of(&o);
    assert_eq!(start, join_at - Duration::seconds(90), "the floor");
    assert_eq!(status(&h, id).await, BotStatus::Scheduled);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM deployment_queue")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(queued, 0, "no queue entry");
    let slots: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE assigned_bot_id IS NOT NULL")
            .fetch_one(&h.db)
            .await
            .unwrap();
    assert_eq!(slots, 0, "no slot");
    assert_eq!(
        schedule::starting_within(&h.db, "zoom", now, start + Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        schedule::starting_within(&h.db, "zoom", now, start)
            .await
            .unwrap(),
        0,
        "[from, to)"
    );

    h.clock.advance(start - now - Duration::seconds(1));
    let r = schedule::start::run(&h.router).await.unwrap();
    assert!(r.started.is_empty(), "a second early: {r:?}");
    assert_eq!(status(&h, id).await, BotStatus::Scheduled);

    h.clock.advance(Duration::seconds(1));
    let r = schedule::start::run(&h.router).await.unwrap();
    assert_eq!(r.started, vec![id]);
    h.router.inflight().wait_idle().await;
    let s = status(&h, id).await;
    assert!(
        matches!(s, BotStatus::Deploying | BotStatus::JoiningCall),
        "routed like any request: {s}"
    );
    let again = schedule::start::run(&h.router).await.unwrap();
    assert!(again.started.is_empty(), "started once");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_full_window_is_refused_with_nothing_written_or_queued_as_asked(db: PgPool) {
    let h = three(db).await;
    let join_at = h.clock.now() + Duration::hours(2);
    for _ in 0..3 {
        assert!(booked(
            &schedule_at(&h, join_at, IfFull::Refuse).await.unwrap()
        ));
    }
    let before = bot_count(&h.db).await;
    let e = schedule_at(&h, join_at + Duration::minutes(30), IfFull::Refuse)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::WindowFull);
    assert!(e.to_string().contains("fully booked (3 of 3"), "{e}");
    assert_eq!(bot_count(&h.db).await, before, "nothing written");

    let q = schedule_at(&h, join_at, IfFull::Queue).await.unwrap();
    assert!(!booked(&q), "accepted without a booking: {q:?}");
    assert_eq!(status(&h, q.bot_id()).await, BotStatus::Scheduled);
    // It books nothing: a window after the others' is still free.
    let later = join_at + Duration::minutes(62) + Duration::seconds(90);
    assert!(booked(
        &schedule_at(&h, later, IfFull::Refuse).await.unwrap()
    ));

    let past = schedule_at(&h, h.clock.now() - Duration::seconds(1), IfFull::Refuse).await;
    assert_eq!(past.unwrap_err().code(), ErrorCode::InvalidInput);
    let far = schedule_at(&h, h.clock.now() + Duration::days(31), IfFull::Refuse).await;
    assert_eq!(far.unwrap_err().code(), ErrorCode::InvalidInput);
    let short = bots::zoom(1).join_at(join_at).expected_duration_ms(1_000);
    let e = lifecycle::deploy(&h.router, &Actor::cli(), &short)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
}

/// A scheduled batch is booked all or nothing: four bots in one window of
/// three places is refused with nothing written (not three written and the
/// fourth refused); three fit and are all booked; with `ifFull: queue` the
/// batch's overflow is accepted without a booking.
#[sqlx::test(migrations = "../migrations")]
async fn a_scheduled_batch_is_booked_all_or_nothing(db: PgPool) {
    let h = three(db).await;
    let batch = |count: u32, if_full: Option<IfFull>| BatchRequest {
        pool: "zoom".into(),
        meeting_url: "https://zoom.us/j/4".into(),
        count,
        tier: None,
        priority: None,
        queue_timeout_ms: None,
        join_at: Some(h.clock.now() + Duration::hours(2)),
        if_full,
        stagger_ms: None,
    };
    let e = lifecycle::deploy_batch(&h.router, &Actor::cli(), &batch(4, None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::WindowFull, "{e}");
    assert_eq!(bot_count(&h.db).await, 0, "nothing written");

    let fits = lifecycle::deploy_batch(&h.router, &Actor::cli(), &batch(3, None))
        .await
        .unwrap();
    assert_eq!(fits.bot_ids.len(), 3);
    for id in &fits.bot_ids {
        assert_eq!(status(&h, *id).await, BotStatus::Scheduled);
    }
    let queued = lifecycle::deploy_batch(&h.router, &Actor::cli(), &batch(2, Some(IfFull::Queue)))
        .await
        .unwrap();
    assert_eq!(queued.bot_ids.len(), 2, "accepted without bookings");
    assert_eq!(bot_count(&h.db).await, 5);
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_requests_never_overbook_a_window(db: PgPool) {
    let h = three(db).await;
    let join_at = h.clock.now() + Duration::hours(1);
    let n = 8;
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let router = h.router.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let req = bots::zoom(1).join_at(join_at);
            barrier.wait().await;
            lifecycle::deploy(&router, &Actor::cli(), &req).await
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(d) => {
                assert!(d.outcome.is_scheduled());
                accepted += 1;
            }
            Err(e) => assert_eq!(e.code(), ErrorCode::WindowFull),
        }
    }
    assert_eq!(accepted, 3, "exactly the capacity");
    assert_eq!(bot_count(&h.db).await, 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_scheduled_bot_can_be_cancelled_or_moved(db: PgPool) {
    let h = three(db).await;
    let actor = Actor::cli();
    let join_at = h.clock.now() + Duration::hours(2);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            schedule_at(&h, join_at, IfFull::Refuse)
                .await
                .unwrap()
                .bot_id(),
        );
    }
    // Cancel: nothing to release; its booking is free again.
    let r = lifecycle::cancel(&h.router, &actor, ids[0], None)
        .await
        .unwrap();
    assert_eq!(r.before, BotStatus::Scheduled);
    assert_eq!(r.bot.status, BotStatus::Fatal);
    assert!(r.released.is_none());
    let replacement = schedule_at(&h, join_at, IfFull::Refuse).await.unwrap();
    assert!(booked(&replacement));

    // Move into the full window: refused, nothing changed.
    let other = schedule_at(&h, join_at + Duration::hours(3), IfFull::Refuse)
        .await
        .unwrap();
    let e = lifecycle::reschedule(&h.router, &actor, other.bot_id(), join_at)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::WindowFull);
    let (kept,): (DateTime<Utc>,) = sqlx::query_as("SELECT join_at FROM bots WHERE id = $1")
        .bind(other.bot_id())
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(kept, join_at + Duration::hours(3));

    // Move to a free window: done, audited.
    let to = join_at + Duration::hours(5);
    let m = lifecycle::reschedule(&h.router, &actor, ids[1], to)
        .await
        .unwrap();
    assert_eq!(
        (m.join_at, m.start_at, m.booked),
        (to, to - Duration::seconds(90), true)
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'bot.reschedule' AND target = $1",
    )
    .bind(ids[1].to_string())
    .fetch_one(&h.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    // Its old window has room now.
    assert!(booked(
        &schedule_at(&h, join_at, IfFull::Refuse).await.unwrap()
    ));

    // A bot no longer scheduled cannot be moved.
    let e = lifecycle::reschedule(&h.router, &actor, ids[0], to)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::StaleTransition);
    let e = lifecycle::reschedule(&h.router, &actor, 999_999, to)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_timeline_shows_scheduled_bots_and_bookings_per_window(db: PgPool) {
    let h = three(db).await;
    // Windows are aligned on the minute.
    let now = h.clock.now().duration_trunc(Duration::minutes(1)).unwrap();
    let join_at = h.clock.now() + Duration::hours(1);
    for _ in 0..2 {
        schedule_at(&h, join_at, IfFull::Refuse).await.unwrap();
    }
    let u = schedule::upcoming(&h.db, now, now + Duration::hours(3))
        .await
        .unwrap();
    assert_eq!(u.bots.len(), 2);
    assert_eq!(u.windows.len(), 12, "15-minute windows");
    assert!(u.windows.iter().all(|w| w.capacity == 3));
    assert_eq!(u.windows[0].booked, 0, "before the starts");
    assert_eq!(u.windows[4].booked, 2, "around the join time");
    assert_eq!(u.windows[11].booked, 0, "after the expected end");
    let bad = schedule::upcoming(&h.db, now, now).await.unwrap_err();
    assert_eq!(bad.code(), ErrorCode::InvalidInput);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_staggered_batch_spaces_its_starts_through_the_starter(db: PgPool) {
    let h = three(db).await;
    let req = BatchRequest {
        pool: "zoom".into(),
        meeting_url: "https://zoom.us/j/2".into(),
        count: 3,
        tier: None,
        priority: None,
        queue_timeout_ms: None,
        join_at: None,
        if_full: None,
        stagger_ms: Some(5_000),
    };
    let b = lifecycle::deploy_batch(&h.router, &Actor::cli(), &req)
        .await
        .unwrap();
    assert_eq!((b.deployed, b.scheduled), (1, 2), "returns at once: {b:?}");
    let (second, third) = (b.bot_ids[1], b.bot_ids[2]);
    assert_eq!(status(&h, second).await, BotStatus::Scheduled);

    h.clock.advance(Duration::milliseconds(4_999));
    assert!(schedule::start::run(&h.router)
        .await
        .unwrap()
        .started
        .is_empty());
    h.clock.advance(Duration::milliseconds(1));
    assert_eq!(
        schedule::start::run(&h.router).await.unwrap().started,
        vec![second]
    );
    assert_eq!(status(&h, third).await, BotStatus::Scheduled);
    h.clock.advance(Duration::seconds(5));
    assert_eq!(
        schedule::start::run(&h.router).await.unwrap().started,
        vec![third]
    );

    let bots_before = bot_count(&h.db).await;
    let bad = BatchRequest {
        stagger_ms: Some(schedule::stagger::MAX_STAGGER_MS + 1),
        ..req.clone()
    };
    let e = lifecycle::deploy_batch(&h.router, &Actor::cli(), &bad)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    // The first bot may join 30 days ahead, the third (two staggers later)
    // may not: refused before the first is written.
    let too_far = BatchRequest {
        join_at: Some(
            h.clock.now() + Duration::days(schedule::booking::MAX_AHEAD_DAYS)
                - Duration::seconds(1),
        ),
        stagger_ms: Some(60_000),
        ..req
    };
    let e = lifecycle::deploy_batch(&h.router, &Actor::cli(), &too_far)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
    assert_eq!(bot_count(&h.db).await, bots_before, "nothing written");
}

#[path = "support/served.rs"]
mod served;

/// Through HTTP: `joinAt` and `ifFull` in the create body, a full window
/// refused (409 `window_full`, nothing written) or queued as asked, a move
/// (`POST /v1/bots/{id}/reschedule`) and its refusals.
#[sqlx::test(migrations = "../migrations")]
async fn the_api_schedules_refuses_a_full_window_and_moves_a_bot(db: PgPool) {
    use berth_core::token::Scope;
    use reqwest::StatusCode;
    use serde_json::json;
    let s = served::Served::start(db, &served::small()).await;
    let product = s.token("product", Scope::BotsWrite).await;
    let join = s.h.clock.now() + Duration::hours(2);
    let body = |n: u32, extra: serde_json::Value| {
        let mut b = served::zoom(n);
        b["joinAt"] = json!(join.to_rfc3339());
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let mut ids = Vec::new();
    for n in 0..3 {
        let bot = s.create(&product, &body(n, json!({}))).await;
        assert_eq!(bot["status"], "SCHEDULED", "{bot}");
        assert!(
            bot["joinAt"].is_string() && bot["startAt"].is_string(),
            "{bot}"
        );
        ids.push(bot["id"].as_i64().unwrap());
    }
    let before = s.bots().await;
    let (status, refused) = s.post("/v1/bots", &product, &body(3, json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(served::code(&refused), "window_full");
    assert_eq!(s.bots().await, before, "nothing written");
    let queued = s
        .create(&product, &body(4, json!({"ifFull": "queue"})))
        .await;
    assert_eq!(queued["status"], "SCHEDULED");

    let to = join + Duration::hours(4);
    let path = format!("/v1/bots/{}/reschedule", ids[0]);
    let (status, moved) = s
        .post(&path, &product, &json!({"joinAt": to.to_rfc3339()}))
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["booked"], true);
    let past = json!({"joinAt": (s.h.clock.now() - Duration::hours(1)).to_rfc3339()});
    let (status, bad) = s.post(&path, &product, &past).await;
    assert_eq!(
        (status, served::code(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    let (status, _) = s
        .post(&format!("/v1/bots/{}/cancel", ids[0]), &product, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, stale) = s
        .post(&path, &product, &json!({"joinAt": to.to_rfc3339()}))
        .await;
    assert_eq!(
        (status, served::code(&stale)),
        (StatusCode::CONFLICT, "stale_transition")
    );
    s.stop().await;
}

/// The starter runs among the leader's jobs: a bot is started once the
/// leader's clock reaches its start.
#[sqlx::test(migrations = "../migrations")]
async fn the_leader_starts_a_scheduled_bot_when_its_clock_reaches_the_start(db: PgPool) {
    let clock = berth_core::clock::ManualClock::starting_now();
    let berth = berth_tests::leader(&db, &[("K8S_BOT_LIMIT", "5")], Some(clock.clone())).await;
    // Deploys that take no time: the clock only moves when told.
    let instant = berth_core::platform::sim::SimKnobs::default();
    berth_core::platform::sim::set_knobs(&db, PlatformKind::K8s, &instant)
        .await
        .unwrap();
    let join_at = clock.now() + Duration::minutes(10);
    let req = bots::zoom(1).join_at(join_at).if_full(IfFull::Queue);
    let d = lifecycle::deploy(berth.router(), &Actor::cli(), &req)
        .await
        .unwrap();
    let id = d.outcome.bot_id();
    assert_eq!(d.status, BotStatus::Scheduled);
    clock.advance(join_at - clock.now() - Duration::seconds(90));
    berth_tests::eventually(
        "the leader started the bot",
        std::time::Duration::from_secs(15),
        || {
            let db = db.clone();
            async move { bot::get(&db, id).await.unwrap().status != BotStatus::Scheduled }
        },
    )
    .await;
    berth.shutdown().await.unwrap();
}
