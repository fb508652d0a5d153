//! Priority tiers with a controlled clock: tiers resolve to priorities (the
//! request's, its token's default, its pool's), a token's highest tier is
//! enforced with nothing written, the settings are checked, and ageing
//! serves a low tier within its bound under a flood of higher tiers.

use berth_core::actor::Actor;
use berth_core::clock::Clock;
use berth_core::meeting::BotStatus;
use berth_core::router::NewBot;
use berth_core::settings::{self, SettingsPlan};
use berth_core::tier::{Tier, TierSettings};
use berth_core::token::{self, Scope};
use berth_core::{bot, definition, lifecycle, queue, ErrorCode};
use berth_tests::{bots, harness, Harness};
use chrono::Duration;
use sqlx::PgPool;

/// One platform (k8s) with room for `limit` bots and no platform wait:
/// whatever does not fit goes to the global queue.
async fn one_platform(db: PgPool, limit: &'static str) -> Harness {
    let env = [
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", limit),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ];
    harness(db, &env, false).await
}

/// The default tiers with `batch` ageing after `max_wait_ms`.
fn tiers(batch_max_wait_ms: Option<i32>) -> TierSettings {
    let mut t = TierSettings::default();
    t.tiers[2].max_wait_ms = batch_max_wait_ms;
    t
}

async fn save_tiers(h: &Harness, t: TierSettings) -> berth_core::Result<settings::Settings> {
    let plan = SettingsPlan {
        tiers: Some(t),
        ..SettingsPlan::default()
    };
    settings::save(&h.db, h.router.feed(), &plan, &Actor::cli()).await
}

async fn tier_of(h: &Harness, id: i64) -> (Option<String>, i32) {
    let b = bot::get(&h.db, id).await.unwrap();
    (b.tier, b.priority)
}

async fn count(h: &Harness, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&h.db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn tiers_resolve_to_priorities_from_the_request_the_token_and_the_pool(db: PgPool) {
    let h = one_platform(db, "100").await;
    let h = &h;
    let create = |req: NewBot| async move { h.router.create_bot(&req).await.unwrap().bot_id() };
    let named = create(bots::zoom(1).tier("batch".to_string())).await;
    assert_eq!(tier_of(h, named).await, (Some("batch".into()), 500));
    let numeric = create(bots::zoom(1).priority(10)).await;
    assert_eq!(
        tier_of(h, numeric).await,
        (Some("critical".into()), 10),
        "a tier's priority is that tier"
    );
    let custom = create(bots::zoom(1).priority(42)).await;
    assert_eq!(
        tier_of(h, custom).await,
        (None, 42),
        "a priority no tier has: no tier"
    );
    let plain = create(bots::zoom(1)).await;
    assert_eq!(
        tier_of(h, plain).await,
        (Some("standard".into()), 100),
        "the default tier"
    );

    // A pool's tier, checked when its definition is applied.
    let vip =
        "name: vip\nmeeting_platform: zoom\nimage: bot\nmax_size: 3\nqueue:\n  tier: critical\n";
    definition::apply(&h.db, h.router.feed(), vip, &Actor::cli())
        .await
        .unwrap();
    let pooled = create(bots::zoom(1).pool("vip")).await;
    assert_eq!(tier_of(h, pooled).await, (Some("critical".into()), 10));
    let gold =
        "name: gold\nmeeting_platform: zoom\nimage: bot\nmax_size: 3\nqueue:\n  tier: gold\n";
    let e = definition::apply(&h.db, h.router.feed(), gold, &Actor::cli())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::DefinitionInvalid, "{e}");
    assert!(
        e.to_string().contains("queue.tier") && e.to_string().contains("critical, standard, batch"),
        "{e}"
    );

    // A token's default tier comes before the pool's; the request's own before both.
    let t = token::Tiers {
        default_tier: Some("batch".into()),
        max_tier: None,
    };
    token::create_with_tiers(&h.db, "nightly", Scope::BotsWrite, &t, &Actor::cli())
        .await
        .unwrap();
    let api = Actor::api("nightly");
    let via_token = lifecycle::deploy(&h.router, &api, &bots::zoom(1).pool("vip"))
        .await
        .unwrap();
    assert_eq!(
        tier_of(h, via_token.outcome.bot_id()).await,
        (Some("batch".into()), 500)
    );
    let asked = lifecycle::deploy(&h.router, &api, &bots::zoom(1).tier("standard".to_string()))
        .await
        .unwrap();
    assert_eq!(
        tier_of(h, asked.outcome.bot_id()).await,
        (Some("standard".into()), 100)
    );
    let listed = token::list(&h.db).await.unwrap();
    assert_eq!(listed[0].default_tier.as_deref(), Some("batch"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_request_above_its_token_s_highest_tier_is_refused_with_nothing_written(db: PgPool) {
    let h = one_platform(db, "1").await;
    let t = token::Tiers {
        default_tier: None,
        max_tier: Some("standard".into()),
    };
    token::create_with_tiers(&h.db, "free", Scope::BotsWrite, &t, &Actor::cli())
        .await
        .unwrap();
    let api = Actor::api("free");
    let before = (
        count(&h, "bots").await,
        count(&h, "deployment_queue").await,
        count(&h, "pool_slots").await,
    );
    for req in [
        bots::zoom(1).tier("critical".to_string()),
        bots::zoom(1).priority(5),
    ] {
        let e = lifecycle::deploy(&h.router, &api, &req).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::TierNotAllowed, "{e}");
        assert!(
            e.to_string().contains("the highest token free may ask for"),
            "{e}"
        );
    }
    let batch = berth_core::lifecycle::BatchRequest {
        pool: "zoom".into(),
        meeting_url: "https://zoom.us/j/3".into(),
        count: 3,
        tier: Some("critical".into()),
        priority: None,
        queue_timeout_ms: None,
        join_at: None,
        if_full: None,
        stagger_ms: None,
    };
    let e = lifecycle::deploy_batch(&h.router, &api, &batch)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::TierNotAllowed);
    // Bad tiers are refused the same way, for every caller.
    let both = bots::zoom(1).tier("batch".to_string()).priority(1);
    let e = h.router.create_bot(&both).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let e = h
        .router
        .create_bot(&bots::zoom(1).tier("gold".to_string()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let after = (
        count(&h, "bots").await,
        count(&h, "deployment_queue").await,
        count(&h, "pool_slots").await,
    );
    assert_eq!(after, before, "nothing written");

    // At or below its highest tier: served.
    let ok = lifecycle::deploy(&h.router, &api, &bots::zoom(1).tier("standard".to_string())).await;
    assert!(ok.unwrap().outcome.is_deployed());
    // A token's tiers must be configured, the default not above the highest.
    let bad = token::Tiers {
        default_tier: Some("critical".into()),
        max_tier: Some("batch".into()),
    };
    let e = token::create_with_tiers(&h.db, "x", Scope::BotsWrite, &bad, &Actor::cli())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let unknown = token::Tiers {
        default_tier: Some("gold".into()),
        max_tier: None,
    };
    let e = token::create_with_tiers(&h.db, "y", Scope::BotsWrite, &unknown, &Actor::cli())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert_eq!(token::list(&h.db).await.unwrap().len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn tier_settings_are_checked_saved_recorded_and_used(db: PgPool) {
    let h = one_platform(db, "1").await;
    let loaded = settings::load(&h.db).await.unwrap();
    assert_eq!(
        loaded.tiers,
        TierSettings::default(),
        "the defaults before any save"
    );
    let mut twice = TierSettings::default();
    twice.tiers[2].name = "critical".into();
    let mut slow = TierSettings::default();
    slow.tiers[2].max_wait_ms = Some(999);
    let nameless = TierSettings {
        default_tier: "gold".into(),
        ..TierSettings::default()
    };
    for bad in [twice, slow, nameless] {
        let e = save_tiers(&h, bad).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::ConfigInvalid, "{e}");
    }
    assert_eq!(
        count(&h, "settings_history WHERE field = 'tiers'").await,
        0,
        "a refused save records nothing"
    );

    let mut mine = tiers(Some(60_000));
    mine.tiers.push(Tier {
        name: "bulk".into(),
        priority: 900,
        max_wait_ms: None,
    });
    mine.default_tier = "batch".into();
    let saved = save_tiers(&h, mine.clone()).await.unwrap();
    assert_eq!(saved.tiers, mine);
    assert_eq!(count(&h, "settings_history WHERE field = 'tiers'").await, 1);
    // A tier a live token still names cannot go.
    let t = token::Tiers {
        default_tier: Some("bulk".into()),
        max_tier: None,
    };
    token::create_with_tiers(&h.db, "bulk-jobs", Scope::BotsWrite, &t, &Actor::cli())
        .await
        .unwrap();
    let e = save_tiers(&h, tiers(None)).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    assert!(e.to_string().contains("token bulk-jobs"), "{e}");
    assert_eq!(
        settings::load(&h.db).await.unwrap().tiers,
        mine,
        "unchanged"
    );
    let b = h.router.create_bot(&bots::zoom(1)).await.unwrap().bot_id();
    assert_eq!(
        tier_of(&h, b).await,
        (Some("batch".into()), 500),
        "the new default tier"
    );
    let bulk = h
        .router
        .create_bot(&bots::zoom(1).tier("bulk".to_string()))
        .await
        .unwrap();
    assert_eq!(tier_of(&h, bulk.bot_id()).await, (Some("bulk".into()), 900));
}

/// A `batch` request among a steady flood of `critical` ones on a platform
/// that runs 2 bots: every 10 s two more critical requests arrive (queued:
/// the platform is full), the two running bots end, and a dispatcher pass
/// hands their capacity on. Returns how long the batch request waited
/// before it was served, or `None` if it was still queued after `horizon`.
/// With ageing, also checks that the listing, positions and the
/// dispatcher's order put it first once it aged.
async fn batch_wait_under_a_critical_flood(h: &Harness, horizon: Duration) -> Option<Duration> {
    let critical = || bots::zoom(1).tier("critical".to_string());
    let running = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM bots WHERE status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL') ORDER BY id",
        )
        .fetch_all(&h.db)
        .await
        .unwrap()
    };
    for _ in 0..4 {
        h.router.create_bot(&critical()).await.unwrap();
    }
    let batch = h
        .router
        .create_bot(&bots::zoom(1).tier("batch".to_string()))
        .await
        .unwrap();
    assert!(batch.is_queued());
    let batch = batch.bot_id();
    let start = h.clock.now();
    let step = Duration::seconds(10);
    while h.clock.now() - start < horizon {
        h.clock.advance(step);
        for _ in 0..2 {
            assert!(h.router.create_bot(&critical()).await.unwrap().is_queued());
        }
        let now = h.clock.now();
        let listed = queue::list(&h.db, now).await.unwrap();
        let aged = listed
            .iter()
            .any(|e| e.bot_id == batch && e.aged_at.is_some_and(|at| at <= now));
        if aged {
            assert_eq!(listed[0].bot_id, batch, "an aged entry is listed first");
            assert_eq!(queue::position(&h.db, batch, now).await.unwrap(), Some(1));
            let waiting = queue::waiting(&h.db, now).await.unwrap();
            assert_eq!(waiting[0].bot_id, batch, "and offered capacity first");
        }
        for id in running().await {
            h.router.report(id, BotStatus::Done, None).await.unwrap();
        }
        let pass = h.dispatcher.drain().await.unwrap();
        assert_eq!(pass.deployed, 2, "the platform's two places are handed on");
        let queued = queue::list(&h.db, now).await.unwrap();
        let critical = queued
            .iter()
            .filter(|e| e.tier.as_deref() == Some("critical"));
        assert!(critical.count() >= 2, "the flood never runs dry");
        if bot::get(&h.db, batch).await.unwrap().status != BotStatus::Queued {
            return Some(h.clock.now() - start);
        }
    }
    None
}

#[sqlx::test(migrations = "../migrations")]
async fn with_ageing_a_batch_request_is_served_within_its_bound_under_a_critical_flood(db: PgPool) {
    let h = one_platform(db, "2").await;
    let bound = Duration::seconds(60);
    save_tiers(&h, tiers(Some(bound.num_milliseconds() as i32)))
        .await
        .unwrap();
    let waited = batch_wait_under_a_critical_flood(&h, bound * 4).await;
    let waited = waited.expect("served with ageing");
    assert!(
        waited <= bound + Duration::seconds(10),
        "served within its bound plus one dispatch step, after {waited}"
    );
    assert!(
        waited >= bound,
        "not before it aged (critical goes first until then): {waited}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn without_ageing_a_batch_request_starves_under_a_critical_flood(db: PgPool) {
    let h = one_platform(db, "2").await;
    save_tiers(&h, tiers(None)).await.unwrap();
    let waited = batch_wait_under_a_critical_flood(&h, Duration::seconds(240)).await;
    assert_eq!(
        waited, None,
        "still queued after four times the bound the other test meets"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bot_keeps_the_ageing_bound_it_was_admitted_with(db: PgPool) {
    let h = one_platform(db, "1").await;
    save_tiers(&h, tiers(Some(30_000))).await.unwrap();
    h.router.create_bot(&bots::zoom(1)).await.unwrap();
    let queued = h
        .router
        .create_bot(&bots::zoom(2).tier("batch".to_string()))
        .await
        .unwrap();
    save_tiers(&h, tiers(None)).await.unwrap();
    let entry = queue::list(&h.db, h.clock.now()).await.unwrap();
    let e = entry.iter().find(|e| e.bot_id == queued.bot_id()).unwrap();
    assert_eq!(e.tier.as_deref(), Some("batch"));
    assert_eq!(e.aged_at, Some(e.queued_at + Duration::seconds(30)));

    // An operator's new priority brings the tier that has it.
    berth_core::bot::action::priority(&h.router, &Actor::cli(), queued.bot_id(), 10, None)
        .await
        .unwrap();
    assert_eq!(
        tier_of(&h, queued.bot_id()).await,
        (Some("critical".into()), 10)
    );
    berth_core::bot::action::priority(&h.router, &Actor::cli(), queued.bot_id(), 11, None)
        .await
        .unwrap();
    assert_eq!(tier_of(&h, queued.bot_id()).await, (None, 11));
}
