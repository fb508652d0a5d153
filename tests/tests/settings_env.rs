//! The environment's configuration written into the shared settings, start
//! after start: a platform left out of `PLATFORM_PRIORITY` is disabled by
//! the environment (and says so in decision traces), and listing it again
//! enables it again; an administrator's own disabling stays; applying the
//! same configuration twice writes nothing.

use berth_core::actor::Actor;
use berth_core::bot::{self, Decision};
use berth_core::config::EnvConfig;
use berth_core::meeting::PlatformKind;
use berth_core::router::DeployOutcome;
use berth_core::settings::{self, PlatformEdit};
use berth_tests::bots;
use berth_tests::harness;
use sqlx::PgPool;
use std::collections::HashMap;

fn config(env: &[(&str, &str)]) -> EnvConfig {
    let vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    EnvConfig::parse(&|k| vars.get(k).cloned(), false).expect("valid configuration")
}

const LIMITS: [(&str, &str); 4] = [
    ("K8S_BOT_LIMIT", "1"),
    ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ("AWS_BOT_LIMIT", "2"),
    ("COOLIFY_BOT_LIMIT", "2"),
];

fn with_priority(priority: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![("PLATFORM_PRIORITY", priority)];
    env.extend(LIMITS);
    env
}

async fn enabled(db: &PgPool, kind: PlatformKind) -> bool {
    let s = settings::load(db).await.unwrap();
    s.platform(kind).unwrap().enabled
}

/// Every settings row with its `xmin`: any write shows, even one that
/// leaves the values as they were.
async fn snapshot(db: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT xmin::text || ' ' || to_jsonb(s)::text FROM platform_settings s
         UNION ALL SELECT xmin::text || ' ' || to_jsonb(g)::text FROM global_settings g
         UNION ALL SELECT xmin::text || ' ' || to_jsonb(h)::text FROM settings_history h
         UNION ALL SELECT xmin::text || ' ' || to_jsonb(p)::text FROM pools p
         ORDER BY 1",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_platform_listed_again_is_enabled_again(db: PgPool) {
    let h = harness(db, &with_priority("k8s"), false).await;
    assert!(!enabled(&h.db, PlatformKind::Aws).await);

    // The trace names the variable, not an administrator: the second bot
    // finds k8s full and walks on past the platforms left out.
    let request = bots::zoom(5550100);
    let first = h.router.create_bot(&request).await.unwrap();
    assert!(matches!(first, DeployOutcome::Deployed { .. }), "{first:?}");
    let second = h.router.create_bot(&request).await.unwrap();
    let DeployOutcome::Queued { bot_id, .. } = second else {
        panic!("k8s is full, the rest disabled: {second:?}")
    };
    let trace = bot::get(&h.db, bot_id).await.unwrap().decision_trace;
    let aws = trace
        .iter()
        .find(|e| e.platform == Some(PlatformKind::Aws))
        .expect("aws in the trace");
    assert_eq!(aws.decision, Decision::Disabled);
    assert_eq!(aws.detail, "disabled: not listed in PLATFORM_PRIORITY");

    // Next start lists aws again: enabled, recorded as the environment's change.
    settings::apply_env(&h.db, &config(&with_priority("k8s,aws")))
        .await
        .unwrap();
    assert!(enabled(&h.db, PlatformKind::Aws).await);
    let s = settings::load(&h.db).await.unwrap();
    assert_eq!(
        s.platform(PlatformKind::Aws).unwrap().pinned.get("enabled"),
        None,
        "no longer pinned: an administrator may disable it"
    );
    let change = settings::history(&h.db, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.subject == "platform:aws" && c.field == "enabled")
        .expect("recorded");
    assert_eq!(
        (
            change.old_value,
            change.new_value,
            change.changed_by.as_str()
        ),
        (
            Some(serde_json::json!(false)),
            Some(serde_json::json!(true)),
            "environment"
        )
    );
    // Coolify is still left out, so still disabled by the environment.
    assert!(!enabled(&h.db, PlatformKind::Coolify).await);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_administrators_disabling_survives_a_restart(db: PgPool) {
    let h = harness(db, &with_priority("k8s,aws"), false).await;
    settings::edit_platform(
        &h.db,
        h.router.feed(),
        PlatformKind::Aws,
        &PlatformEdit {
            enabled: Some(false),
            ..Default::default()
        },
        &Actor::api("ada"),
    )
    .await
    .unwrap();
    settings::apply_env(&h.db, &config(&with_priority("k8s,aws")))
        .await
        .unwrap();
    assert!(!enabled(&h.db, PlatformKind::Aws).await);
    let s = settings::load(&h.db).await.unwrap();
    assert_eq!(
        s.platform(PlatformKind::Aws).unwrap().disabled_reason(),
        "disabled by an administrator"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn applying_the_same_configuration_again_writes_nothing(db: PgPool) {
    let env = with_priority("aws,k8s");
    let h = harness(db, &env, false).await;
    let before = snapshot(&h.db).await;
    let cfg = config(&env);
    settings::apply_env(&h.db, &cfg).await.unwrap();
    berth_core::pool::ensure_defaults(&h.db, &cfg.pools)
        .await
        .unwrap();
    assert_eq!(snapshot(&h.db).await, before);
}
