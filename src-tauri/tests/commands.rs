//! The desktop commands' logic against a real PostgreSQL (one database per
//! test), seeded through berth-core's own APIs.

use berth_core::actor::Actor;
use berth_core::clock::Clock;
use berth_core::feed::Feed;
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::platform::{self, Health};
use berth_core::settings::Settings;
use berth_core::slot;
use berth_desktop::api;
use berth_desktop::dto::{
    CommandError, CommandResult, PlatformEdit, PlatformEditEntry, SettingsPlan, SlotFilter,
};
use berth_tests::{bots, slots};
use berth_tests::{harness, insert_bot, three_platforms, Harness};
use chrono::Duration;
use sqlx::PgPool;

/// `value` as the UI receives it (the bridge serializes with serde).
fn wire(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).expect("serializes")
}

/// The person the tests' saves are recorded as (`api:ada`).
fn ada() -> Actor {
    Actor::api("ada")
}

/// A feed that announces nothing (the harness's instance has its feed off too).
fn disabled_feed() -> Feed {
    Feed::new(Default::default(), false)
}

fn refused<T: std::fmt::Debug>(r: Result<T, CommandError>) -> CommandError {
    r.expect_err("expected the command to refuse")
}

/// A save of one platform's edit, through the one save command.
async fn edit_platform(
    db: &PgPool,
    platform: &str,
    edit: &PlatformEdit,
    who: &Actor,
) -> CommandResult<Settings> {
    let plan = SettingsPlan {
        edits: vec![PlatformEditEntry {
            platform: platform.into(),
            edit: edit.clone(),
        }],
        ..Default::default()
    };
    api::save_settings(db, &disabled_feed(), &plan, who).await
}

/// A save of the priority order alone.
async fn set_priority(db: &PgPool, order: &[String], who: &Actor) -> CommandResult<Settings> {
    let plan = SettingsPlan {
        order: Some(order.to_vec()),
        ..Default::default()
    };
    api::save_settings(db, &disabled_feed(), &plan, who).await
}

/// A save of the global queue timeout alone.
async fn set_global_queue_timeout(db: &PgPool, ms: i32, who: &Actor) -> CommandResult<Settings> {
    let plan = SettingsPlan {
        global_queue_timeout_ms: Some(ms),
        ..Default::default()
    };
    api::save_settings(db, &disabled_feed(), &plan, who).await
}

/// Idle slots on k8s and aws, one in error on aws, and two deployed bots.
async fn seeded(db: PgPool) -> (Harness, Vec<i64>) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let mut conn = h.db.acquire().await.unwrap();
    for (kind, n) in [(PlatformKind::K8s, 2), (PlatformKind::Aws, 1)] {
        for _ in 0..n {
            slots::of("google-meet", kind).create_on(&mut conn).await;
        }
    }
    let b = insert_bot(&h.db, "google-meet").await;
    let lease = slots::of("google-meet", PlatformKind::Aws)
        .holding(b)
        .create_on(&mut conn)
        .await;
    slot::mark_error(
        &mut conn,
        lease.slot_id,
        Some(lease.epoch),
        "image pull failed",
        h.clock.now(),
    )
    .await
    .unwrap();
    drop(conn);
    let mut bots = Vec::new();
    for _ in 0..2 {
        bots.push(h.router.create_bot(&bots::zoom(1)).await.unwrap().bot_id());
    }
    (h, bots)
}

#[sqlx::test(migrations = "../migrations")]
async fn pool_stats_match_the_database(db: PgPool) {
    let (h, _) = seeded(db).await;
    let stats = api::pool_stats(&h.db).await.unwrap();
    assert_eq!(
        stats.iter().map(|s| s.pool.as_str()).collect::<Vec<_>>(),
        vec!["google-meet", "microsoft-teams", "zoom"]
    );
    for s in &stats {
        let (total, idle, deploying, busy, error): (i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE status = 'idle'), count(*) FILTER (WHERE status = 'deploying'),
                    count(*) FILTER (WHERE status = 'busy'), count(*) FILTER (WHERE status = 'error')
             FROM pool_slots WHERE pool = $1",
        )
        .bind(&s.pool)
        .fetch_one(&h.db)
        .await
        .unwrap();
        assert_eq!(
            (s.total, s.idle, s.deploying, s.busy, s.error),
            (total, idle, deploying, busy, error),
            "{}",
            s.pool
        );
        assert_eq!(s.idle + s.deploying + s.busy + s.error, s.total);
    }
    let meet = &stats[0];
    assert_eq!((meet.idle, meet.error, meet.total), (3, 1, 4));
    let zoom = &stats[2];
    assert_eq!(zoom.busy + zoom.deploying, 2, "two zoom bots deployed");
    assert_eq!(zoom.max_size, 100);

    let pools = api::list_pools(&h.db).await.unwrap();
    assert_eq!(pools.len(), 3);
    assert_eq!(pools[2].meeting_platform, "zoom");
}

#[sqlx::test(migrations = "../migrations")]
async fn slots_are_filtered_by_status_pool_and_platform(db: PgPool) {
    let (h, _) = seeded(db).await;
    let all = api::list_slots(&h.db, &SlotFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 6);

    let errors = api::list_slots(
        &h.db,
        &SlotFilter {
            statuses: vec!["error".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].error_message.as_deref(),
        Some("image pull failed")
    );
    assert_eq!(errors[0].deployment_platform, "aws");
    let shown = wire(&errors[0]);
    assert_eq!(shown["status"], "error");
    assert_eq!(shown["deploymentPlatform"], "aws");
    assert_eq!(
        shown["createdAt"],
        berth_desktop::dto::time(errors[0].created_at),
        "RFC 3339 UTC, milliseconds"
    );

    let idle_or_error_on_aws = api::list_slots(
        &h.db,
        &SlotFilter {
            statuses: vec!["idle".into(), "error".into()],
            pool: Some("google-meet".into()),
            platform: Some("aws".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(idle_or_error_on_aws.len(), 2);

    let zoom = api::list_slots(
        &h.db,
        &SlotFilter {
            pool: Some("zoom".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(zoom.len(), 2);
    assert!(zoom.iter().all(|s| s.assigned_bot_id.is_some()));

    let e = refused(
        api::list_slots(
            &h.db,
            &SlotFilter {
                statuses: vec!["sleeping".into()],
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(e.code, "invalid_input");
    let e = refused(
        api::list_slots(
            &h.db,
            &SlotFilter {
                platform: Some("azure".into()),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(e.code, "invalid_input");
}

#[sqlx::test(migrations = "../migrations")]
async fn slots_read_by_ids_are_the_rows_the_list_shows(db: PgPool) {
    let (h, _) = seeded(db).await;
    let all = api::list_slots(&h.db, &SlotFilter::default())
        .await
        .unwrap();
    // Asked for out of order, with an id that is gone (a deleted slot).
    let ids = [all[4].id, all[1].id, i64::MAX].map(berth_desktop::dto::Id);
    let rows = api::slots_by_ids(&h.db, &ids).await.unwrap();
    assert_eq!(
        rows,
        vec![all[1].clone(), all[4].clone()],
        "the list's rows, in its order"
    );
    assert_eq!(wire(&rows[0]), wire(&all[1]));
    let every: Vec<_> = all.iter().map(|s| berth_desktop::dto::Id(s.id)).collect();
    assert_eq!(api::slots_by_ids(&h.db, &every).await.unwrap(), all);
    assert!(api::slots_by_ids(&h.db, &[]).await.unwrap().is_empty());
    let too_many = vec![berth_desktop::dto::Id(1); slot::MAX_BY_IDS + 1];
    assert_eq!(
        refused(api::slots_by_ids(&h.db, &too_many).await).code,
        "invalid_input"
    );
}

/// k8s and aws, each 5 bots; the environment pins k8s's limit and aws's
/// queue timeout.
async fn pinned_harness(db: PgPool) -> Harness {
    harness(
        db,
        &[
            ("PLATFORM_PRIORITY", "k8s,aws"),
            ("K8S_BOT_LIMIT", "5"),
            ("AWS_BOT_LIMIT", "5"),
            ("AWS_QUEUE_TIMEOUT_MS", "1000"),
        ],
        false,
    )
    .await
}

async fn history_len(h: &Harness) -> usize {
    api::settings_history(&h.db, 500).await.unwrap().len()
}

#[sqlx::test(migrations = "../migrations")]
async fn an_edit_out_of_range_is_refused_naming_the_field(db: PgPool) {
    let h = pinned_harness(db).await;
    let before = history_len(&h).await;
    for (edit, field) in [
        (
            PlatformEdit {
                bot_limit: Some(0),
                ..Default::default()
            },
            "botLimit",
        ),
        (
            PlatformEdit {
                bot_limit: Some(100_001),
                ..Default::default()
            },
            "botLimit",
        ),
        (
            PlatformEdit {
                queue_timeout_ms: Some(-1),
                ..Default::default()
            },
            "queueTimeoutMs",
        ),
    ] {
        let e = refused(edit_platform(&h.db, "k8s", &edit, &Actor::api("test")).await);
        assert_eq!(e.code, "config_invalid", "{edit:?}");
        assert!(e.message.contains(field), "{}", e.message);
    }
    assert_eq!(history_len(&h).await, before, "nothing saved by refusals");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_edit_of_a_value_the_environment_pins_is_refused_naming_the_variable(db: PgPool) {
    let h = pinned_harness(db).await;
    let before = history_len(&h).await;
    let e = refused(
        edit_platform(
            &h.db,
            "aws",
            &PlatformEdit {
                queue_timeout_ms: Some(2_000),
                ..Default::default()
            },
            &Actor::api("test"),
        )
        .await,
    );
    assert_eq!(e.code, "conflict");
    assert!(e.message.contains("AWS_QUEUE_TIMEOUT_MS"), "{}", e.message);
    let e = refused(
        edit_platform(
            &h.db,
            "k8s",
            &PlatformEdit {
                bot_limit: Some(9),
                ..Default::default()
            },
            &Actor::api("test"),
        )
        .await,
    );
    assert_eq!(e.code, "conflict", "K8S_BOT_LIMIT pins the limit");
    assert_eq!(history_len(&h).await, before, "nothing saved by refusals");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_edit_of_an_unknown_platform_or_of_nothing_is_refused(db: PgPool) {
    let h = pinned_harness(db).await;
    let before = history_len(&h).await;
    let e = refused(
        edit_platform(
            &h.db,
            "azure",
            &PlatformEdit {
                enabled: Some(true),
                ..Default::default()
            },
            &Actor::api("t"),
        )
        .await,
    );
    assert_eq!(e.code, "invalid_input");
    let e = refused(edit_platform(&h.db, "k8s", &PlatformEdit::default(), &Actor::api("t")).await);
    assert_eq!(e.code, "invalid_input");
    assert_eq!(history_len(&h).await, before, "nothing saved by refusals");
}

/// Saves k8s's queue timeout (45 s) and disables it, as ada.
async fn disable_k8s(h: &Harness) -> Settings {
    edit_platform(
        &h.db,
        "k8s",
        &PlatformEdit {
            queue_timeout_ms: Some(45_000),
            enabled: Some(false),
            ..Default::default()
        },
        &ada(),
    )
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_valid_edit_persists_and_is_recorded_with_who_made_it(db: PgPool) {
    let h = pinned_harness(db).await;
    let s = disable_k8s(&h).await;
    let k8s = s.platforms.iter().find(|p| p.platform == "k8s").unwrap();
    assert_eq!((k8s.queue_timeout_ms, k8s.enabled), (45_000, false));
    assert_eq!(
        k8s.pinned.get("botLimit").map(String::as_str),
        Some("K8S_BOT_LIMIT")
    );
    let again = api::get_settings(&h.db).await.unwrap();
    assert_eq!(again, s, "saved in the database");
    let (timeout, enabled, by): (i32, bool, String) = sqlx::query_as(
        "SELECT queue_timeout_ms, enabled, updated_by FROM platform_settings WHERE platform = 'k8s'",
    )
    .fetch_one(&h.db)
    .await
    .unwrap();
    assert_eq!((timeout, enabled, by.as_str()), (45_000, false, "api:ada"));

    let history = api::settings_history(&h.db, 2).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history
        .iter()
        .all(|c| c.subject == "platform:k8s" && c.changed_by == "api:ada"));
    let timeout_change = history
        .iter()
        .find(|c| c.field == "queueTimeoutMs")
        .unwrap();
    // The UI receives the values as JSON text.
    let shown = wire(timeout_change);
    assert_eq!(shown["newValue"], "45000");
    assert_eq!(shown["oldValue"], "60000");
}

#[sqlx::test(migrations = "../migrations")]
async fn disabling_the_last_usable_platform_is_refused(db: PgPool) {
    let h = pinned_harness(db).await;
    disable_k8s(&h).await;
    let e = refused(
        edit_platform(
            &h.db,
            "aws",
            &PlatformEdit {
                enabled: Some(false),
                ..Default::default()
            },
            &ada(),
        )
        .await,
    );
    assert_eq!(e.code, "config_invalid");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_settings_history_limit_is_checked(db: PgPool) {
    let h = pinned_harness(db).await;
    for bad in [0, 501] {
        assert_eq!(
            refused(api::settings_history(&h.db, bad).await).code,
            "invalid_input"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn priority_and_global_timeout_edits_go_through_the_commands(db: PgPool) {
    let h = harness(db, &[], true).await;
    let s = set_priority(
        &h.db,
        &["aws".into(), "local".into(), "k8s".into(), "coolify".into()],
        &ada(),
    )
    .await
    .unwrap();
    assert_eq!(
        s.platforms
            .iter()
            .map(|p| p.platform.as_str())
            .collect::<Vec<_>>(),
        vec!["aws", "local", "k8s", "coolify"]
    );
    assert_eq!(
        refused(set_priority(&h.db, &["aws".into(), "mars".into()], &Actor::api("t")).await).code,
        "invalid_input"
    );
    assert_eq!(
        refused(set_priority(&h.db, &["aws".into()], &Actor::api("t")).await).code,
        "config_invalid"
    );
    let s = set_global_queue_timeout(&h.db, 90_000, &ada())
        .await
        .unwrap();
    assert_eq!(s.global_queue_timeout_ms, 90_000);
    assert_eq!(
        refused(set_global_queue_timeout(&h.db, 10, &Actor::api("t")).await).code,
        "config_invalid"
    );
    let last = &api::settings_history(&h.db, 1).await.unwrap()[0];
    assert_eq!(
        (last.field.as_str(), wire(last)["newValue"].as_str()),
        ("globalQueueTimeoutMs", Some("90000"))
    );
}

/// Every row of the settings tables with its `xmin`, so an update that
/// leaves the values as they were still shows.
async fn settings_rows(db: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT 'p ' || xmin::text || ' ' || to_jsonb(s)::text FROM platform_settings s
         UNION ALL SELECT 'g ' || xmin::text || ' ' || to_jsonb(g)::text FROM global_settings g
         UNION ALL SELECT 'h ' || xmin::text || ' ' || to_jsonb(h)::text FROM settings_history h
         ORDER BY 1",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

fn entry(platform: &str, edit: PlatformEdit) -> PlatformEditEntry {
    PlatformEditEntry {
        platform: platform.into(),
        edit,
    }
}

fn disable() -> PlatformEdit {
    PlatformEdit {
        enabled: Some(false),
        ..Default::default()
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_save_is_all_or_nothing(db: PgPool) {
    let h = harness(
        db,
        &[
            ("PLATFORM_PRIORITY", "k8s,aws,coolify"),
            ("K8S_BOT_LIMIT", "5"),
            ("AWS_BOT_LIMIT", "5"),
            ("COOLIFY_BOT_LIMIT", "5"),
            ("AWS_QUEUE_TIMEOUT_MS", "1000"),
        ],
        false,
    )
    .await;
    let before = settings_rows(&h.db).await;
    let timeout = |ms| PlatformEdit {
        queue_timeout_ms: Some(ms),
        ..Default::default()
    };
    let refusals = [
        // Every platform unticked (the case): the last check fails
        // after k8s and aws were already written in the transaction.
        (
            SettingsPlan {
                edits: vec![
                    entry("k8s", disable()),
                    entry("aws", disable()),
                    entry("coolify", disable()),
                ],
                global_queue_timeout_ms: Some(90_000),
                ..Default::default()
            },
            "config_invalid",
        ),
        // A pinned field after valid edits.
        (
            SettingsPlan {
                edits: vec![
                    entry("coolify", timeout(45_000)),
                    entry(
                        "aws",
                        PlatformEdit {
                            queue_timeout_ms: Some(2_000),
                            ..Default::default()
                        },
                    ),
                ],
                ..Default::default()
            },
            "conflict",
        ),
        // A bad value anywhere refuses the whole save.
        (
            SettingsPlan {
                edits: vec![entry("coolify", timeout(45_000))],
                global_queue_timeout_ms: Some(10),
                ..Default::default()
            },
            "config_invalid",
        ),
        (
            SettingsPlan {
                edits: vec![entry("coolify", timeout(45_000)), entry("mars", disable())],
                ..Default::default()
            },
            "invalid_input",
        ),
        (SettingsPlan::default(), "invalid_input"),
    ];
    for (plan, code) in refusals {
        let e = refused(api::save_settings(&h.db, h.router.feed(), &plan, &ada()).await);
        assert_eq!(e.code, code, "{plan:?}: {}", e.message);
        assert_eq!(
            settings_rows(&h.db).await,
            before,
            "a refused save changed nothing: {plan:?}"
        );
    }

    // A valid save writes every part, recorded by who made it.
    let plan = SettingsPlan {
        edits: vec![entry("coolify", timeout(45_000)), entry("k8s", disable())],
        global_queue_timeout_ms: Some(90_000),
        ..Default::default()
    };
    let s = api::save_settings(&h.db, h.router.feed(), &plan, &ada())
        .await
        .unwrap();
    let coolify = s
        .platforms
        .iter()
        .find(|p| p.platform == "coolify")
        .unwrap();
    let k8s = s.platforms.iter().find(|p| p.platform == "k8s").unwrap();
    assert_eq!((coolify.queue_timeout_ms, k8s.enabled), (45_000, false));
    assert_eq!(s.global_queue_timeout_ms, 90_000);
    let recorded = api::settings_history(&h.db, 3).await.unwrap();
    assert_eq!(recorded.len(), 3);
    assert!(recorded.iter().all(|c| c.changed_by == "api:ada"));
}

#[sqlx::test(migrations = "../migrations")]
async fn platforms_overview_counts_capacity_health_and_order(db: PgPool) {
    let (h, _) = seeded(db).await;
    let now = h.clock.now();
    let me = sqlx::types::Uuid::from_u128(0x5eed); // the instance that checked
    platform::record_health(&h.db, PlatformKind::K8s, Health::Healthy, now, me)
        .await
        .unwrap();
    platform::record_health(&h.db, PlatformKind::Aws, Health::Degraded, now, me)
        .await
        .unwrap();
    // A check older than the maximum age counts as unknown, never healthy.
    platform::record_health(
        &h.db,
        PlatformKind::Coolify,
        Health::Healthy,
        now - Duration::minutes(5),
        me,
    )
    .await
    .unwrap();

    let o = api::platforms_overview(&h.db, now).await.unwrap();
    assert_eq!(
        o.platforms
            .iter()
            .map(|p| p.settings.platform.as_str())
            .collect::<Vec<_>>(),
        vec!["k8s", "aws", "coolify", "local"],
        "priority order"
    );
    let k8s = &o.platforms[0];
    assert_eq!(k8s.health, Health::Healthy);
    assert_eq!(k8s.settings.bot_limit, Some(2));
    assert_eq!(k8s.settings.label, "K8s");
    assert_eq!(k8s.used, 2, "both zoom bots run on k8s (limit 2)");
    assert_eq!(
        (
            k8s.slots.idle,
            k8s.slots.busy + k8s.slots.deploying,
            k8s.slots.total
        ),
        (2, 2, 4)
    );
    let aws = &o.platforms[1];
    assert_eq!(aws.health, Health::Degraded);
    assert_eq!(aws.used, 0);
    assert_eq!(
        (aws.slots.idle, aws.slots.error, aws.slots.total),
        (1, 1, 2)
    );
    assert_eq!(o.platforms[2].health, Health::Unknown, "stale check");
    assert_eq!(o.platforms[3].health, Health::Unknown, "never checked");
    assert_eq!(o.platforms[3].slots.total, 0);
    assert_eq!(
        o.platforms[3]
            .settings
            .pinned
            .get("enabled")
            .map(String::as_str),
        Some("PLATFORM_PRIORITY")
    );
    assert_eq!(o.global_queue_timeout_ms, 600_000);

    // Per-platform counts agree with the rows.
    for p in &o.platforms {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE deployment_platform = $1")
                .bind(p.settings.platform.as_str())
                .fetch_one(&h.db)
                .await
                .unwrap();
        assert_eq!(p.slots.total, n, "{}", p.settings.platform);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn bot_details_carry_the_decision_trace(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    h.router
        .record_health(PlatformKind::K8s, Health::Down, None)
        .await
        .unwrap();
    let o = h.router.create_bot(&bots::zoom(1)).await.unwrap();
    let d = api::bot_details(&h.db, o.bot_id()).await.unwrap();
    assert_eq!(d.meeting_platform, "zoom");
    assert_eq!(d.deployment_platform.map(|p| p.as_str()), Some("aws"));
    assert!(d.slot_name.as_deref().unwrap().starts_with("pool-zoom-"));
    // As the UI receives it: platforms and decisions as their text forms,
    // times RFC 3339 in UTC (the bot's own with milliseconds).
    let shown = wire(&d);
    let trace: Vec<(&str, &str)> = shown["decisionTrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["platform"].as_str().unwrap(),
                t["decision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(trace, vec![("k8s", "unhealthy"), ("aws", "deployed")]);
    assert!(shown["decisionTrace"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["at"].as_str().unwrap().ends_with('Z')));
    assert_eq!(
        shown["createdAt"],
        berth_desktop::dto::time(d.created_at),
        "milliseconds, Z"
    );
    assert_eq!(shown["deploymentPlatform"], "aws");
    assert_eq!(shown["status"], d.status.as_str());

    let e = refused(api::bot_details(&h.db, 999_999).await);
    assert_eq!(e.code, "not_found");
}

#[sqlx::test(migrations = "../migrations")]
async fn queue_entries_carry_positions_estimates_and_server_time(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let mut running = Vec::new();
    for _ in 0..3 {
        running.push(h.router.create_bot(&bots::zoom(1)).await.unwrap().bot_id());
    }
    let mut queued = Vec::new();
    for _ in 0..2 {
        h.clock.advance(Duration::milliseconds(5));
        queued.push(h.router.create_bot(&bots::zoom(1)).await.unwrap().bot_id());
    }
    let now = h.clock.now();
    let q = api::queue_entries(&h.db, now).await.unwrap();
    assert_eq!(q.now, now);
    let wire = serde_json::to_value(&q).unwrap();
    assert_eq!(wire["now"], berth_desktop::dto::time(now), "{wire}");
    assert_eq!(
        wire["entries"][0]["botId"], queued[0],
        "flat entries: {wire}"
    );
    assert_eq!(
        q.entries
            .iter()
            .map(|e| (e.entry.bot_id, e.entry.position))
            .collect::<Vec<_>>(),
        vec![(queued[0], 1), (queued[1], 2)]
    );
    assert!(
        q.entries.iter().all(|e| e.estimated_wait_ms.is_none()),
        "no release observed yet: no estimate"
    );
    assert!(q.entries.iter().all(|e| e.entry.waiting_on.is_none()));
    let stats = api::queue_stats(&h.db, now).await.unwrap();
    assert_eq!(stats.length, 2);

    // After a release the estimate comes from the observed rate.
    h.router
        .report(running[0], BotStatus::Done, None)
        .await
        .unwrap();
    h.dispatcher.drain().await.unwrap();
    // The release is stamped with the database's time, which runs on while
    // the manual clock stands still: a minute ahead keeps it inside the
    // rate window however slow a loaded run is.
    let later = h.clock.now() + Duration::minutes(1);
    let q = api::queue_entries(&h.db, later).await.unwrap();
    assert_eq!(q.entries.len(), 1);
    assert!(q.release_rate_per_sec > 0.0);
    assert_eq!(
        q.entries[0].estimated_wait_ms,
        Some((1.0 / q.release_rate_per_sec * 1000.0).round() as i64)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn connection_status_reports_the_database_and_the_feed(db: PgPool) {
    let h = harness(db, &[], true).await;
    let now = h.clock.now();
    let s = api::connection_status(&h.db, now, Some(now), true).await;
    assert!(s.database_ok && s.feed_connected);
    assert_eq!(s.last_event_at, Some(berth_desktop::dto::time(now)));
    h.db.close().await;
    let s = api::connection_status(&h.db, now, Some(now), true).await;
    assert!(!s.database_ok && !s.feed_connected);
    assert!(s.message.is_some());
}

/// An instance of the app on `db`'s database (feed on, no background
/// services, nothing prepared: the harness wrote the settings), as a
/// second window or a second machine would run it.
async fn app_instance(h: &Harness) -> berth_core::Berth {
    berth_core::Berth::builder(h.config.clone())
        .database(berth_core::Database::Url(berth_tests::database_url_of(
            &h.db,
        )))
        .prepare(false)
        .max_connections(4)
        .start()
        .await
        .expect("app instance started")
}

/// Settings saved in another instance of the app update an open app live:
/// the save announces itself (the core's use case publishes the settings
/// topic), the open app's feed delivers it as the window's change event, and
/// the settings it then reads show the new value.
#[sqlx::test(migrations = "../migrations")]
async fn settings_saved_in_another_instance_reach_an_open_app_live(db: PgPool) {
    let h = harness(db, &[], true).await;
    let open = app_instance(&h).await;
    let mut events = open.router().feed().subscribe();
    // The open app listens once its listener has run LISTEN (what the
    // feed's first `resync` reports; it may have gone out before we
    // subscribed, so ask the server).
    let app = format!("berth {}", open.id);
    berth_tests::eventually(
        "the open app listens",
        std::time::Duration::from_secs(10),
        || async {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                 WHERE application_name = $1 AND query LIKE 'LISTEN%')",
            )
            .bind(&app)
            .fetch_one(&h.db)
            .await
            .unwrap()
        },
    )
    .await;
    assert_ne!(
        api::get_settings(open.db())
            .await
            .unwrap()
            .global_queue_timeout_ms,
        123_000
    );

    let other = app_instance(&h).await;
    let plan = SettingsPlan {
        global_queue_timeout_ms: Some(123_000),
        ..Default::default()
    };
    api::save_settings(other.db(), other.router().feed(), &plan, &ada())
        .await
        .unwrap();

    let received = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match events.recv().await.expect("feed open") {
                berth_core::feed::ChangeEvent::Changed {
                    origin,
                    topics,
                    slot_ids,
                } if origin == other.id => {
                    break berth_desktop::events::ChangeEvent::from(
                        berth_core::feed::ChangeEvent::Changed {
                            origin,
                            topics,
                            slot_ids,
                        },
                    );
                }
                _ => continue,
            }
        }
    })
    .await
    .expect("the open app hears of the save");
    assert_eq!(received.kind, berth_desktop::events::ChangeKind::Changed);
    assert_eq!(received.slot_ids, None, "no slot changed");
    // A save is also an action of the audit log.
    assert_eq!(
        received.topics,
        [
            berth_core::feed::Topic::Settings,
            berth_core::feed::Topic::Audit
        ]
    );
    let seen = api::get_settings(open.db()).await.unwrap();
    assert_eq!(seen.global_queue_timeout_ms, 123_000);
    other.shutdown().await.unwrap();
    open.shutdown().await.unwrap();
}

/// The operator's actions from the app: mapped to the core's use cases as
/// the desktop's user, outcomes crossing the bridge in camelCase, bad
/// values refused as `invalid_input` before anything is written.
#[sqlx::test(migrations = "../migrations")]
async fn actions_act_as_the_desktop_user_and_list_in_the_audit_log(db: PgPool) {
    use berth_desktop::api::actions;
    use berth_desktop::dto::{AuditQuery, SlotAction};
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let idle = slots::of("zoom", PlatformKind::Aws).create(&h.db).await;
    let out = actions::slots(
        &h.router,
        SlotAction::Drain,
        std::slice::from_ref(&idle.slot_name),
        false,
        Some("why"),
    )
    .await
    .unwrap();
    let w = wire(&out);
    assert_eq!(w[0]["slot"], idle.slot_name.as_str());
    assert_eq!(
        w[0]["done"]["status"],
        serde_json::Value::Null,
        "deleted: it was idle"
    );
    let d = actions::drain_platform(&h.router, "k8s", true, None)
        .await
        .unwrap();
    assert_eq!(wire(&d)["drain"]["by"], Actor::desktop().record());
    let e = refused(actions::drain_platform(&h.router, "mars", true, None).await);
    assert_eq!(e.code, berth_core::ErrorCode::InvalidInput);
    let rows = actions::audit_log(&h.db, &AuditQuery::default())
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.actor.as_str()))
        .collect();
    let me = Actor::desktop().record();
    assert_eq!(
        got,
        [("platform.drain", me.as_str()), ("slot.drain", me.as_str())]
    );
    let only_slots = AuditQuery {
        target_kind: Some("slot".into()),
        ..AuditQuery::default()
    };
    assert_eq!(
        actions::audit_log(&h.db, &only_slots).await.unwrap().len(),
        1
    );
    let bad = AuditQuery {
        since: Some("yesterday".into()),
        ..AuditQuery::default()
    };
    assert_eq!(
        refused(actions::audit_log(&h.db, &bad).await).code,
        berth_core::ErrorCode::InvalidInput
    );
}
