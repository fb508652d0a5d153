//! The Coolify adapter against a stateful fake of Coolify's API (wiremock;
//! see `support/coolify_fake.rs`) and a real PostgreSQL: the full slot
//! lifecycle, and the faults a real Coolify produces — lost answers, 5xx
//! storms, rate limits with every form of `Retry-After`, refused tokens, a
//! failing listing, a crash between Coolify's success and the database
//! write — through the adapter alone and through the router and jobs.
//! Logs are captured at TRACE to prove the token never appears.

#[path = "support/coolify_fake.rs"]
mod coolify_fake;
#[path = "support/logs.rs"]
mod logs;

use berth_core::bot::{self, Decision};
use berth_core::clock::ManualClock;
use berth_core::config::EnvConfig;
use berth_core::feed::Feed;
use berth_core::jobs;
use berth_core::meeting::{MeetingPlatform, PlatformKind};
use berth_core::platform::call::Policy;
use berth_core::platform::coolify::CoolifyPlatform;
use berth_core::platform::{
    BotSpec, FailureKind, Health, Platform, Platforms, ResourceSpec, SlotRef, WorkloadState,
};
use berth_core::router::{DeployOutcome, Router};
use berth_core::{pool, settings};
use berth_tests::announcing::announcing;
use berth_tests::{bots, slots};
use coolify_fake::{config, FakeCoolify};
use secrecy::SecretString;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use wiremock::{matchers::any, Mock, MockServer};

const TOKEN: &str = "tok-3f9a1c-SECRET-do-not-log";

fn fast_policy() -> Policy {
    Policy {
        attempt_timeout: Duration::from_secs(2),
        max_attempts: 3,
        base_backoff: Duration::from_millis(4),
        max_backoff: Duration::from_millis(16),
        max_retry_after: Duration::from_millis(200),
        breaker_threshold: 5,
        breaker_cooldown: Duration::from_secs(600),
        ..Policy::default()
    }
}

struct Setup {
    server: MockServer,
    fake: FakeCoolify,
    adapter: Arc<CoolifyPlatform>,
    router: Router,
    db: PgPool,
    clock: Arc<ManualClock>,
}

/// Settings and pools (only Coolify enabled), the fake, the adapter and a
/// router over it alone.
async fn setup(db: PgPool, policy: Policy) -> Setup {
    let vars: HashMap<&str, &str> = [
        ("PLATFORM_PRIORITY", "coolify"),
        ("COOLIFY_BOT_LIMIT", "5"),
        ("COOLIFY_QUEUE_TIMEOUT_MS", "0"),
    ]
    .into_iter()
    .collect();
    let cfg = EnvConfig::parse(&|k| vars.get(k).map(|v| v.to_string()), false).unwrap();
    settings::apply_env(&db, &cfg).await.unwrap();
    pool::ensure_defaults(&db, &cfg.pools).await.unwrap();
    let server = MockServer::start().await;
    let fake = FakeCoolify::new(TOKEN);
    Mock::given(any())
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let clock = ManualClock::starting_now();
    let adapter = Arc::new(
        CoolifyPlatform::new(config(&server.uri()), SecretString::from(TOKEN), policy)
            .unwrap()
            .with_clock(clock.clone()),
    );
    let mut platforms = Platforms::new();
    platforms.insert(adapter.clone());
    let router = Router::new(
        db.clone(),
        clock.clone(),
        Feed::new(uuid::Uuid::new_v4(), false),
        platforms,
    );
    Setup {
        server,
        fake,
        adapter,
        router,
        db,
        clock,
    }
}

/// What the slots under test are made of (the router passes the pool's).
fn made_of() -> ResourceSpec {
    ResourceSpec {
        image: "ghcr.io/payme-works/meeboter-google-meet-bot:latest".into(),
        resources: Default::default(),
        meeting_platform: Some(MeetingPlatform::Zoom),
    }
}

async fn slot_on_coolify(db: &PgPool) -> SlotRef {
    slots::of("google-meet", PlatformKind::Coolify)
        .create(db)
        .await
        .slot_ref()
}

async fn requests(server: &MockServer, method: &str, path_part: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == method && r.url.path().contains(path_part))
        .count()
}

fn spec(bot_id: i64) -> BotSpec {
    BotSpec {
        bot_id,
        meeting_platform: MeetingPlatform::GoogleMeet,
        meeting_url: "https://meet.google.com/abc-defg-hij".into(),
        image: "ghcr.io/payme-works/meeboter-google-meet-bot:latest".into(),
        resources: Default::default(),
        account: None,
        token: berth_core::bot_lease::BotToken::generate(),
    }
}

async fn full_lifecycle(s: &Setup) {
    let mut r = slot_on_coolify(&s.db).await;
    let uuid = s.adapter.create_resource(&r, &made_of()).await.unwrap();
    {
        let st = s.fake.lock();
        let app = &st.apps[&uuid];
        assert_eq!(app.name, format!("berth-{}", r.slot_name));
        assert_eq!(
            app.image,
            "ghcr.io/payme-works/meeboter-google-meet-bot:latest"
        );
        assert_eq!(app.description, "[IDLE] Available - Never used");
    }
    r.platform_ref = Some(uuid.clone());
    s.adapter.start(&r, &spec(41)).await.unwrap();
    {
        let st = s.fake.lock();
        let app = &st.apps[&uuid];
        assert_eq!(app.envs["BERTH_BOT_ID"], "41");
        assert!(berth_core::bot_lease::token::well_formed(
            &app.envs["BERTH_BOT_TOKEN"]
        ));
        assert_eq!(
            app.envs["BERTH_MEETING_URL"],
            "https://meet.google.com/abc-defg-hij"
        );
        assert_eq!(app.envs["BERTH_SLOT"], r.slot_name);
    }
    assert_eq!(
        s.adapter.last_deployment(&r).as_deref(),
        Some(format!("dep-{uuid}").as_str())
    );
    assert_eq!(
        s.adapter
            .deployment_status(&format!("dep-{uuid}"))
            .await
            .unwrap(),
        "finished"
    );
    let (state, raw) = s.adapter.status(&r).await.unwrap();
    assert_eq!(
        (state, raw.as_str()),
        (WorkloadState::Running, "running:healthy")
    );
    s.adapter
        .describe(&r, "[BUSY] Bot #41 - 2026-11-23T16:00:00Z")
        .await
        .unwrap();
    let listed = s.adapter.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].resource, uuid);
    assert_eq!(listed[0].bot_id, Some(41));
    assert_eq!(listed[0].state, WorkloadState::Running);
    s.adapter.stop(&r).await.unwrap();
    assert_eq!(
        s.adapter.status(&r).await.unwrap().0,
        WorkloadState::Stopped
    );
    s.adapter.delete_resource(&r).await.unwrap();
    let st = s.fake.lock();
    assert!(st.apps.is_empty());
    assert_eq!(
        st.deletes,
        vec!["delete_configurations=true&delete_volumes=true&docker_cleanup=true&delete_connected_networks=true"]
    );
}

#[path = "coolify/faults.rs"]
mod faults;
#[path = "coolify/lifecycle.rs"]
mod lifecycle;
#[path = "coolify/reconcile.rs"]
mod reconcile;
