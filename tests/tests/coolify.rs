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
use berth_core::config::{CoolifyConfig, EnvConfig, DEFAULT_COOLIFY_APP_PREFIX};
use berth_core::feed::Feed;
use berth_core::jobs;
use berth_core::meeting::{MeetingPlatform, PlatformKind};
use berth_core::platform::call::Policy;
use berth_core::platform::coolify::CoolifyPlatform;
use berth_core::platform::secret::TokenSource;
use berth_core::platform::{
    BotSpec, FailureKind, Health, Platform, Platforms, ResourceSpec, SlotRef, WorkloadState,
};
use berth_core::router::{DeployOutcome, Router};
use berth_core::{pool, settings};
use berth_tests::announcing::announcing;
use berth_tests::{bots, slots};
use coolify_fake::FakeCoolify;
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

fn config(url: &str) -> CoolifyConfig {
    CoolifyConfig {
        api_url: url.to_string(),
        project_uuid: "proj-1".into(),
        server_uuid: "srv-1".into(),
        destination_uuid: None,
        environment_name: Some("production".into()),
        environment_uuid: None,
        token_source: TokenSource::Env,
        app_prefix: DEFAULT_COOLIFY_APP_PREFIX.into(),
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

#[sqlx::test(migrations = "../migrations")]
async fn full_lifecycle_create_env_start_status_describe_stop_delete(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    full_lifecycle(&s).await;
    // Stop and delete of what is gone already count as done.
    let gone = SlotRef {
        platform_ref: Some("app9999".into()),
        ..slot_on_coolify(&s.db).await
    };
    s.adapter.stop(&gone).await.unwrap();
    s.adapter.delete_resource(&gone).await.unwrap();
    assert_eq!(s.adapter.health().await, Health::Healthy);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_create_applied_but_unanswered_yields_exactly_one_application(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    s.fake.lock().faults.slow_create = Some(Duration::from_secs(4));
    let r = slot_on_coolify(&s.db).await;
    let uuid = s.adapter.create_resource(&r, &made_of()).await.unwrap();
    assert_eq!(
        s.fake.lock().apps.len(),
        1,
        "the retry created a second application"
    );
    assert!(s.fake.lock().apps.contains_key(&uuid));
    assert_eq!(
        requests(&s.server, "POST", "/applications/dockerimage").await,
        1
    );
    // Creating again for the same slot adopts it too.
    assert_eq!(
        s.adapter.create_resource(&r, &made_of()).await.unwrap(),
        uuid
    );
    assert_eq!(s.fake.lock().apps.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_5xx_storm_is_bounded_and_through_the_router_slots_end_in_error(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    s.fake.lock().faults.all = Some(503);
    let r = slot_on_coolify(&s.db).await;
    let e = s.adapter.create_resource(&r, &made_of()).await.unwrap_err();
    assert_eq!(e.kind, FailureKind::Transient);
    assert!(e.message.contains("503"), "{e}");
    assert_eq!(
        s.server.received_requests().await.unwrap().len(),
        3,
        "max_attempts bounds the calls"
    );

    // Through the router: each deploy fails, its slot ends in `error`
    // (never stuck `deploying`) and the bot waits in the global queue. No
    // new deploy goes to Coolify until its backoff after the last failed
    // one has passed.
    for failed in 0..4 {
        if failed > 0 {
            s.clock
                .advance(berth_core::platform::deploy_backoff(failed));
        }
        let o = s.router.create_bot(&bots::meet()).await.unwrap();
        assert!(
            matches!(
                o,
                DeployOutcome::Queued {
                    waiting_on: None,
                    ..
                }
            ),
            "{o:?}"
        );
    }
    let statuses: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM pool_slots WHERE deployment_platform = 'coolify' ORDER BY id",
    )
    .fetch_all(&s.db)
    .await
    .unwrap();
    assert_eq!(statuses.len(), 4);
    assert!(statuses.iter().all(|st| st == "error"), "{statuses:?}");

    // Five failed calls opened the breaker: the next request skips Coolify
    // at once, with the reason in its trace, and Coolify sees no call.
    assert!(s.adapter.caller().breaker_open());
    let before = s.server.received_requests().await.unwrap().len();
    let o = s.router.create_bot(&bots::meet()).await.unwrap();
    let bot_id = match o {
        DeployOutcome::Queued { bot_id, .. } => bot_id,
        other => panic!("{other:?}"),
    };
    assert_eq!(s.server.received_requests().await.unwrap().len(), before);
    let trace = bot::get(&s.db, bot_id).await.unwrap().decision_trace;
    assert_eq!(trace[0].decision, Decision::Unhealthy, "{trace:?}");
    assert!(
        trace[0].detail.contains("circuit breaker open"),
        "{trace:?}"
    );
    // The health check counts it as down too, without calling Coolify.
    assert_eq!(s.adapter.health().await, Health::Down);
    assert_eq!(s.server.received_requests().await.unwrap().len(), before);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_breaker_one_instance_opened_is_honoured_by_another_instance(db: PgPool) {
    // Issue 11, item 13: breaker state is shared through the database, not
    // kept per process. Instance A's deploys fail until its breaker opens.
    let s = setup(db, fast_policy()).await;
    s.fake.lock().faults.all = Some(503);
    let mut failed = 0;
    while !s.adapter.caller().breaker_open() {
        assert!(failed < 5, "five failed deploys did not open the breaker");
        if failed > 0 {
            s.clock
                .advance(berth_core::platform::deploy_backoff(failed));
        }
        let o = s.router.create_bot(&bots::meet()).await.unwrap();
        assert!(matches!(o, DeployOutcome::Queued { .. }), "{o:?}");
        failed += 1;
    }
    // Instance B: its own adapter (its breaker closed: it never called
    // Coolify) and router, on the same database, while Coolify would answer.
    s.fake.lock().faults.all = None;
    let b_adapter = Arc::new(
        CoolifyPlatform::new(
            config(&s.server.uri()),
            SecretString::from(TOKEN),
            fast_policy(),
        )
        .unwrap()
        .with_clock(s.clock.clone()),
    );
    assert!(!b_adapter.caller().breaker_open());
    let mut platforms = Platforms::new();
    platforms.insert(b_adapter);
    let b = Router::new(
        s.db.clone(),
        s.clock.clone(),
        Feed::new(uuid::Uuid::new_v4(), false),
        platforms,
    );
    let before = s.server.received_requests().await.unwrap().len();
    let o = b.create_bot(&bots::meet()).await.unwrap();
    let DeployOutcome::Queued { bot_id, .. } = o else {
        panic!("{o:?}")
    };
    assert_eq!(
        s.server.received_requests().await.unwrap().len(),
        before,
        "B called a platform every instance must see as down"
    );
    let trace = bot::get(&s.db, bot_id).await.unwrap().decision_trace;
    assert_eq!(trace[0].decision, Decision::Unhealthy, "{trace:?}");
    assert!(
        trace[0].detail.contains("circuit breaker open")
            && trace[0].detail.contains("recorded by instance"),
        "{trace:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_late_start_or_stop_of_an_older_lease_leaves_the_newer_leases_application(db: PgPool) {
    // Issue 11, item 18, on Coolify: one application is a slot's only
    // workload, so the adapter itself checks the lease it was configured for.
    let s = setup(db, fast_policy()).await;
    let mut older = slot_on_coolify(&s.db).await;
    older.platform_ref = Some(s.adapter.create_resource(&older, &made_of()).await.unwrap());
    let uuid = older.platform_ref.clone().unwrap();
    older.epoch = 1;
    let newer = SlotRef {
        epoch: 2,
        ..older.clone()
    };
    s.adapter.start(&newer, &spec(22)).await.unwrap();
    let envs = |s: &Setup| s.fake.lock().apps[&uuid].envs.clone();
    assert_eq!(envs(&s)["BERTH_EPOCH"], "2");

    // The older lease's start arrives late: refused, nothing changed.
    let e = s.adapter.start(&older, &spec(11)).await.unwrap_err();
    assert_eq!(e.kind, FailureKind::Conflict, "{e}");
    assert!(e.message.contains("newer lease (epoch 2)"), "{e}");
    assert_eq!(envs(&s)["BERTH_BOT_ID"], "22");
    assert_eq!(envs(&s)["BERTH_EPOCH"], "2");
    // Its clean-up stops nothing either.
    s.adapter.stop(&older).await.unwrap();
    assert_eq!(s.fake.lock().apps[&uuid].status, "running:healthy");
    assert_eq!(requests(&s.server, "POST", "/stop").await, 0);
    // The newer lease's own stop does.
    s.adapter.stop(&newer).await.unwrap();
    assert_eq!(s.fake.lock().apps[&uuid].status, "exited");

    // A slot created again under the same name (its epochs start over)
    // is not an older lease of the former one: it starts.
    let reborn = SlotRef {
        slot_id: older.slot_id + 1000,
        epoch: 1,
        ..older.clone()
    };
    s.adapter.start(&reborn, &spec(33)).await.unwrap();
    assert_eq!(envs(&s)["BERTH_BOT_ID"], "33");
    assert_eq!(envs(&s)["BERTH_EPOCH"], "1");
}

#[sqlx::test(migrations = "../migrations")]
async fn created_but_not_started_is_recorded_for_recovery_never_leaked(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    s.fake.lock().faults.start = Some(500);
    let o = s.router.create_bot(&bots::meet()).await.unwrap();
    assert!(matches!(o, DeployOutcome::Queued { .. }), "{o:?}");
    let (status, platform_ref): (String, Option<String>) = sqlx::query_as(
        "SELECT status, platform_ref FROM pool_slots WHERE deployment_platform = 'coolify'",
    )
    .fetch_one(&s.db)
    .await
    .unwrap();
    assert_eq!(status, "error");
    let uuid = platform_ref.expect("the created application is recorded on the slot");
    assert!(s.fake.lock().apps.contains_key(&uuid));

    // Recovery stops it and returns the slot to idle, keeping the resource.
    s.fake.lock().faults.start = None;
    let cfg = berth_core::config::EnvConfig::parse(
        &|k| match k {
            "PLATFORM_PRIORITY" => Some("coolify".into()),
            "COOLIFY_BOT_LIMIT" => Some("5".into()),
            _ => None,
        },
        false,
    )
    .unwrap();
    let report = jobs::recover(&s.router, &cfg.jobs).await.unwrap();
    assert_eq!(report.recovered, 1);
    assert_eq!(
        requests(&s.server, "POST", &format!("/applications/{uuid}/stop")).await,
        1
    );
    let status: String =
        sqlx::query_scalar("SELECT status FROM pool_slots WHERE platform_ref = $1")
            .bind(&uuid)
            .fetch_one(&s.db)
            .await
            .unwrap();
    assert_eq!(status, "idle");
}

#[sqlx::test(migrations = "../migrations")]
async fn rate_limits_honour_every_form_of_retry_after(db: PgPool) {
    let (buf, _guard) = logs::capture();
    let s = setup(db, fast_policy()).await;
    let future = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
    // (Retry-After, whether it is honoured: capped at 200 ms; else normal backoff <= 16 ms)
    let cases: [(&str, Option<u64>); 6] = [
        ("3", Some(200)),
        (future.as_str(), Some(200)),
        ("0", Some(0)),
        ("-5", None),
        ("99999999999999999999999", Some(200)),
        ("soon-ish", None),
    ];
    // Each listing meets one 429, then succeeds; the retry's wait is logged.
    for (value, expect) in cases {
        s.fake
            .lock()
            .faults
            .next
            .push_back((429, Some(value.to_string())));
        let mark = buf.text().len();
        s.adapter.list().await.unwrap();
        let logs = buf.text()[mark..].to_string();
        let wait: u64 = logs
            .split("wait_ms=")
            .nth(1)
            .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no retry logged for {value:?}: {logs}"));
        match expect {
            Some(ms) => assert_eq!(wait, ms, "Retry-After {value:?}"),
            None => assert!(
                wait <= 16,
                "Retry-After {value:?} should be ignored, waited {wait} ms"
            ),
        }
    }
    assert!(!buf.text().contains(TOKEN));
}

#[sqlx::test(migrations = "../migrations")]
async fn refused_tokens_are_not_retried_and_say_what_to_do(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    let r = slot_on_coolify(&s.db).await;
    for (status, kind, words) in [
        (401, FailureKind::Unauthenticated, "re-authenticate"),
        (403, FailureKind::Forbidden, "insufficient permission"),
    ] {
        s.fake.lock().faults.all = Some(status);
        s.server.reset().await;
        Mock::given(any())
            .respond_with(s.fake.clone())
            .mount(&s.server)
            .await;
        let e = s.adapter.create_resource(&r, &made_of()).await.unwrap_err();
        assert_eq!(e.kind, kind);
        assert!(e.message.contains(words), "{e}");
        assert_eq!(
            s.server.received_requests().await.unwrap().len(),
            1,
            "{status} was retried"
        );
        assert!(!s.adapter.caller().breaker_open());
        assert_eq!(s.adapter.health().await, Health::Down);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_wrong_token_is_refused_once(db: PgPool) {
    let s = setup(db.clone(), fast_policy()).await;
    let wrong = CoolifyPlatform::new(
        config(&s.server.uri()),
        SecretString::from("not-the-token"),
        fast_policy(),
    )
    .unwrap();
    let e = wrong.list().await.unwrap_err();
    assert_eq!(e.kind, FailureKind::Unauthenticated);
    assert!(e.message.contains("re-authenticate"), "{e}");
    assert_eq!(s.server.received_requests().await.unwrap().len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failing_listing_makes_reconciliation_change_nothing(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    let o = s.router.create_bot(&bots::meet()).await.unwrap();
    assert!(matches!(o, DeployOutcome::Deployed { .. }), "{o:?}");
    s.fake.add(
        "berth-ghost-slot",
        "[IDLE] Available - Never used",
        "exited",
    );
    s.fake.lock().faults.list = Some(500);
    let report = jobs::reconcile(&s.router).await.unwrap();
    assert_eq!(report.unknown, vec![PlatformKind::Coolify]);
    assert_eq!(
        (report.finished, report.orphans_removed, report.adopted),
        (0, 0, 0)
    );
    assert_eq!(requests(&s.server, "DELETE", "/applications").await, 0);
    assert_eq!(requests(&s.server, "POST", "/stop").await, 0);
    let busy: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE status = 'busy'")
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert_eq!(busy, 1);
    assert_eq!(s.fake.lock().apps.len(), 2);
}

/// Reconciliation that records a resource on a slot announces that slot
/// (an open console shows the change without a reload): nothing else
/// announces it, since no transition comes with an adoption.
#[sqlx::test(migrations = "../migrations")]
async fn an_adopted_resource_is_announced_with_its_slot(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    let r = slot_on_coolify(&s.db).await;
    s.adapter.create_resource(&r, &made_of()).await.unwrap();
    let mut on = announcing(&s.db, s.clock.clone(), s.router.platforms()).await;
    assert_eq!(jobs::reconcile(&on.router).await.unwrap().adopted, 1);
    on.slots_named(&[r.slot_id], "the adoption").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_crash_before_the_database_write_is_healed_by_reconciliation(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    // The instance created the application, then died before recording it.
    let r = slot_on_coolify(&s.db).await;
    let created = s.adapter.create_resource(&r, &made_of()).await.unwrap();
    // An application for a slot that no longer exists, and one not Berth's.
    let ghost = s.fake.add(
        "berth-google-meet-gone",
        "[IDLE] Available - Never used",
        "running:healthy",
    );
    let foreign = s.fake.add("someone-elses-app", "", "running:healthy");

    let report = jobs::reconcile(&s.router).await.unwrap();
    assert_eq!(report.adopted, 1, "{report:?}");
    assert_eq!(report.orphans_removed, 1, "{report:?}");
    let recorded: Option<String> =
        sqlx::query_scalar("SELECT platform_ref FROM pool_slots WHERE id = $1")
            .bind(r.slot_id)
            .fetch_one(&s.db)
            .await
            .unwrap();
    assert_eq!(recorded.as_deref(), Some(created.as_str()));
    let apps = s.fake.lock().apps.clone();
    assert!(apps.contains_key(&created));
    assert!(!apps.contains_key(&ghost), "the orphan was not removed");
    assert!(
        apps.contains_key(&foreign),
        "an application Berth does not own was touched"
    );

    // A second run finds nothing more to do.
    let again = jobs::reconcile(&s.router).await.unwrap();
    assert_eq!(
        (again.adopted, again.orphans_removed, again.orphans_stopped),
        (0, 0, 0)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_token_never_reaches_the_logs(db: PgPool) {
    let (buf, _guard) = logs::capture();
    let policy = Policy {
        breaker_threshold: 1000,
        ..fast_policy()
    };
    let s = setup(db, policy).await;
    full_lifecycle(&s).await;
    let r = slot_on_coolify(&s.db).await;
    for fault in [Some(503), Some(429), Some(401), Some(403), Some(404), None] {
        s.fake.lock().faults.all = fault;
        let _ = s.adapter.create_resource(&r, &made_of()).await;
        let _ = s.adapter.list().await;
        let _ = s.adapter.health().await;
    }
    s.fake.lock().faults.all = None;
    let _ = s.router.create_bot(&bots::meet()).await;
    let _ = jobs::reconcile(&s.router).await;
    tracing::debug!(adapter_config = ?config("http://x"), token = ?SecretString::from(TOKEN), "debug forms");
    let logs = buf.text();
    assert!(
        logs.contains("platform_call"),
        "nothing was captured: {logs}"
    );
    assert!(
        logs.contains("re-authenticate"),
        "the failures were not logged"
    );
    assert!(!logs.contains(TOKEN), "the token leaked into the logs");
    assert!(
        !logs.contains("SECRET"),
        "part of the token leaked into the logs"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bot_started_by_another_instance_counts_as_starting_for_a_while(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    // Coolify says `exited` until the deployment ran the image; this
    // instance did not start these, so it knows no deployment.
    let now = chrono::Utc::now();
    let fresh = s.fake.add(
        "berth-google-meet-001",
        &berth_core::description::busy(5, now - chrono::Duration::minutes(1)),
        "exited",
    );
    let stale = s.fake.add(
        "berth-google-meet-002",
        &berth_core::description::busy(6, now - chrono::Duration::minutes(30)),
        "exited:unhealthy",
    );
    let listed = s.adapter.list().await.unwrap();
    let state = |uuid: &str| listed.iter().find(|w| w.resource == uuid).unwrap().clone();
    assert_eq!(state(&fresh).state, WorkloadState::Running);
    assert_eq!(state(&fresh).raw_status, "exited (starting)");
    assert_eq!(state(&fresh).bot_id, Some(5));
    assert_eq!(state(&stale).state, WorkloadState::Stopped);
    assert_eq!(state(&stale).raw_status, "exited:unhealthy");
}
