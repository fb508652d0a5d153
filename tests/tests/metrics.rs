//! Prometheus metrics (issue 13): a scrape, parsed with a Prometheus
//! text-format parser, agrees with the read models `berth status` and
//! `berth queue` print; dispatches, failures (by kind), deploy durations
//! and waits for capacity are counted where they happen; leadership and
//! the change feed's lag are this instance's own. (The dashboard's names:
//! dashboard.rs.) Past 400 lines because each scenario checks a whole
//! scrape against the read models, which takes its lines.

use berth_core::clock::Clock;
use berth_core::config::EnvConfig;
use berth_core::feed::{ChangeEvent, Topic};
use berth_core::meeting::{BotStatus, MeetingPlatform, PlatformKind};
use berth_core::platform::sim::{self, SimKnobs, SimPlatform};
use berth_core::platform::{BotSpec, FailureKind, Platform, PlatformError, SlotRef};
use berth_core::router::{DeployOutcome, NewBot};
use berth_core::{overview, pool, slot, Berth, Database};
use berth_tests::bots;
use berth_tests::wrapped::{Around, Wrapped};
use berth_tests::{eventually, harness, harness_on, Harness};
use chrono::Duration;
use prometheus_parse::Value;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[path = "support/scrape.rs"]
mod scrape;

use scrape::{scrape, Scraped};

/// A Zoom bot that may wait 10 minutes.
fn zoom(n: u32) -> NewBot {
    bots::zoom(n).queue_timeout_ms(600_000)
}

/// A Google Meet bot that may wait 10 minutes.
fn meet() -> NewBot {
    bots::meet().queue_timeout_ms(600_000)
}

fn failing() -> SimKnobs {
    SimKnobs {
        failure_rate: 1.0,
        ..SimKnobs::default()
    }
}

fn deployed(o: &DeployOutcome) -> i64 {
    match o {
        DeployOutcome::Deployed { bot_id, .. } => *bot_id,
        other => panic!("not deployed: {other:?}"),
    }
}

fn queued(o: &DeployOutcome) {
    assert!(
        matches!(o, DeployOutcome::Queued { .. }),
        "not queued: {o:?}"
    );
}

/// k8s (limit 2) then aws (limit 2), no platform waits.
fn two_platforms() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PLATFORM_PRIORITY", "k8s,aws"),
        ("K8S_BOT_LIMIT", "2"),
        ("AWS_BOT_LIMIT", "2"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
        ("AWS_QUEUE_TIMEOUT_MS", "0"),
    ]
}

#[sqlx::test(migrations = "../migrations")]
async fn a_scrape_counts_slots_queue_and_platforms_as_berth_status_does(db: PgPool) {
    let h = harness(db, &two_platforms(), false).await;
    // Two zoom bots run on k8s; aws fails every start: the meet bot's slot
    // there ends in error and the bot queues, as does a third zoom bot.
    deployed(&h.router.create_bot(&zoom(1)).await.unwrap());
    deployed(&h.router.create_bot(&zoom(2)).await.unwrap());
    sim::set_knobs(&h.db, PlatformKind::Aws, &failing())
        .await
        .unwrap();
    queued(&h.router.create_bot(&meet()).await.unwrap());
    queued(&h.router.create_bot(&zoom(3)).await.unwrap());

    let m = scrape(&h.instance).await;
    let now = h.clock.now();
    let status = overview::status(&h.db, now, None).await.unwrap();
    let queue = overview::queue(&h.db, now).await.unwrap();

    // Pools: every state, as berth status' Pools table counts it.
    assert!(status.pools.len() >= 2, "{:?}", status.pools);
    for p in &status.pools {
        let pool = p.pool.as_str();
        for (state, n) in [
            ("idle", p.idle),
            ("deploying", p.deploying),
            ("busy", p.busy),
            ("error", p.error),
        ] {
            let got = m.sum("berth_slots", &[("pool", pool), ("state", state)]);
            assert_eq!(got, n as f64, "pool {pool} {state}");
        }
        assert_eq!(m.sum("berth_slots", &[("pool", pool)]), p.total as f64);
        assert_eq!(
            m.value("berth_pool_max_slots", &[("pool", pool)]),
            p.max_size as f64
        );
    }
    // Platforms: slots, used capacity, limit and health.
    for o in &status.platforms.platforms {
        let platform = o.settings.platform.as_str();
        for (state, n) in [
            ("idle", o.slots.idle),
            ("deploying", o.slots.deploying),
            ("busy", o.slots.busy),
            ("error", o.slots.error),
        ] {
            let got = m.sum("berth_slots", &[("platform", platform), ("state", state)]);
            assert_eq!(got, n as f64, "platform {platform} {state}");
        }
        let queued = m.value("berth_platform_queue_depth", &[("platform", platform)]);
        assert_eq!(queued, o.queued as f64, "{platform}");
        let used = m.value("berth_platform_active_bots", &[("platform", platform)]);
        assert_eq!(used, o.used as f64, "{platform}");
        if let Some(limit) = o.settings.bot_limit {
            let got = m.value("berth_platform_bot_limit", &[("platform", platform)]);
            assert_eq!(got, f64::from(limit));
        }
        let health = [("platform", platform), ("state", o.health.as_str())];
        assert_eq!(m.value("berth_platform_health", &health), 1.0);
        assert_eq!(
            m.sum("berth_platform_health", &[("platform", platform)]),
            1.0
        );
    }
    // The queue, as berth status' length and berth queue's entries.
    assert_eq!(m.sum("berth_queue_depth", &[]), status.queue.length as f64);
    let mut per_pool: HashMap<&str, f64> = HashMap::new();
    for w in &queue.entries {
        *per_pool.entry(w.entry.pool.as_str()).or_default() += 1.0;
    }
    for p in &status.pools {
        let want = per_pool.get(p.pool.as_str()).copied().unwrap_or(0.0);
        let got = m.value("berth_queue_depth", &[("pool", &p.pool)]);
        assert_eq!(got, want, "queue of {}", p.pool);
    }

    // And the numbers this scenario makes, so both sides cannot agree on nonsense.
    let zoom_pool = pool::for_meeting_platform(&h.db, MeetingPlatform::Zoom)
        .await
        .unwrap()
        .name;
    let meet_pool = pool::for_meeting_platform(&h.db, MeetingPlatform::GoogleMeet)
        .await
        .unwrap()
        .name;
    let busy = [
        ("pool", zoom_pool.as_str()),
        ("platform", "k8s"),
        ("state", "busy"),
    ];
    assert_eq!(m.value("berth_slots", &busy), 2.0);
    let error = [
        ("pool", meet_pool.as_str()),
        ("platform", "aws"),
        ("state", "error"),
    ];
    assert_eq!(m.value("berth_slots", &error), 1.0);
    let idle = [
        ("pool", meet_pool.as_str()),
        ("platform", "k8s"),
        ("state", "idle"),
    ];
    assert_eq!(m.value("berth_slots", &idle), 0.0, "zeros are exported");
    assert_eq!(m.sum("berth_queue_depth", &[]), 2.0);
    // No platform waits here: both in the global queue.
    assert_eq!(m.sum("berth_platform_queue_depth", &[]), 0.0);
    assert_eq!(m.value("berth_global_queue_depth", &[]), 2.0);
    assert_eq!(m.value("berth_queue_depth", &[("pool", &zoom_pool)]), 1.0);
    assert_eq!(m.value("berth_queue_depth", &[("pool", &meet_pool)]), 1.0);
    assert_eq!(
        m.value("berth_platform_active_bots", &[("platform", "k8s")]),
        2.0
    );
    assert_eq!(
        m.value("berth_leader", &[]),
        0.0,
        "no background: not leading"
    );
    let id = h.instance.id.to_string();
    assert_eq!(
        m.value("berth_instance_info", &[("instance_id", id.as_str())]),
        1.0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn dispatches_failures_deploy_durations_and_waits_are_counted(db: PgPool) {
    let env = [
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "1"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ];
    let h = harness(db, &env, false).await;
    let m = scrape(&h.instance).await;
    let families = m.families();
    for (name, kind) in [
        ("berth_dispatches_total", "counter"),
        ("berth_dispatch_failures_total", "counter"),
        ("berth_deploy_duration_seconds", "histogram"),
        ("berth_queue_wait_seconds", "histogram"),
    ] {
        assert_eq!(families.get(name).map(String::as_str), Some(kind), "{name}");
    }
    assert_eq!(m.sum("berth_dispatches_total", &[]), 0.0);
    let pool = pool::for_meeting_platform(&h.db, MeetingPlatform::Zoom)
        .await
        .unwrap()
        .name;
    let k8s = [("platform", "k8s")];
    let in_pool = [("pool", pool.as_str())];

    // Deployed at once: one dispatch, one start, a wait of 0.
    let first = deployed(&h.router.create_bot(&zoom(1)).await.unwrap());
    let m = scrape(&h.instance).await;
    assert_eq!(m.value("berth_dispatches_total", &k8s), 1.0);
    assert_eq!(m.value("berth_deploy_duration_seconds_count", &k8s), 1.0);
    assert_eq!(m.value("berth_queue_wait_seconds_count", &in_pool), 1.0);
    assert_eq!(m.value("berth_queue_wait_seconds_sum", &in_pool), 0.0);
    assert_eq!(m.sum("berth_dispatch_failures_total", &[]), 0.0);

    // Queued for 30 s (on the test's clock) until the first one ends.
    queued(&h.router.create_bot(&zoom(2)).await.unwrap());
    h.clock.advance(Duration::seconds(30));
    h.router.finish(first, BotStatus::Done, None).await.unwrap();
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 1);
    let m = scrape(&h.instance).await;
    assert_eq!(m.value("berth_dispatches_total", &k8s), 2.0);
    assert_eq!(m.value("berth_deploy_duration_seconds_count", &k8s), 2.0);
    assert_eq!(m.value("berth_queue_wait_seconds_count", &in_pool), 2.0);
    assert_eq!(m.value("berth_queue_wait_seconds_sum", &in_pool), 30.0);
    let buckets = m
        .matching("berth_queue_wait_seconds", &in_pool)
        .map(|s| match &s.value {
            Value::Histogram(b) => b.clone(),
            other => panic!("{other:?}"),
        })
        .next()
        .expect("the pool's histogram");
    let le = |bound: f64| buckets.iter().find(|c| c.less_than == bound).unwrap().count;
    assert_eq!(
        (le(0.01), le(10.0), le(30.0)),
        (1.0, 1.0, 2.0),
        "{buckets:?}"
    );

    // A failed start: counted by its kind (the simulator's is `other`),
    // not observed as a deploy duration.
    let running = slot::list(&h.db, &slot::SlotFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find_map(|s| s.assigned_bot_id)
        .expect("the second bot runs");
    h.router
        .finish(running, BotStatus::Done, None)
        .await
        .unwrap();
    sim::set_knobs(&h.db, PlatformKind::K8s, &failing())
        .await
        .unwrap();
    let before = scrape(&h.instance).await;
    let _ = h.router.create_bot(&zoom(3)).await.unwrap();
    let m = scrape(&h.instance).await;
    assert_eq!(
        m.value("berth_dispatches_total", &k8s),
        before.value("berth_dispatches_total", &k8s) + 1.0
    );
    let other = [("platform", "k8s"), ("kind", "other")];
    assert_eq!(m.value("berth_dispatch_failures_total", &other), 1.0);
    assert_eq!(m.sum("berth_dispatch_failures_total", &[]), 1.0);
    assert_eq!(m.value("berth_deploy_duration_seconds_count", &k8s), 2.0);
}

/// The simulator, except that every start is refused as an unauthenticated
/// call and, once one was, the breaker reads open (as a real adapter's
/// would after its threshold).
struct Refusing {
    refused: AtomicBool,
}

#[async_trait::async_trait]
impl Around for Refusing {
    async fn start(
        &self,
        inner: &dyn Platform,
        _: &SlotRef,
        _: &BotSpec,
    ) -> Result<Option<String>, PlatformError> {
        self.refused.store(true, Ordering::SeqCst);
        Err(PlatformError {
            platform: inner.kind(),
            operation: "start",
            kind: FailureKind::Unauthenticated,
            message: "401: the token was refused".into(),
        })
    }
    fn unavailable(&self, _inner: &dyn Platform) -> Option<String> {
        self.refused
            .load(Ordering::SeqCst)
            .then(|| "401: the token was refused".to_string())
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_platform_failure_is_counted_by_its_kind_and_its_breaker_shows(db: PgPool) {
    let refusing = Wrapped::new(
        Arc::new(SimPlatform::new(
            PlatformKind::Aws,
            db.clone(),
            berth_core::clock::ManualClock::starting_now(),
        )),
        Refusing {
            refused: AtomicBool::new(false),
        },
    );
    let adapter: Arc<dyn Platform> = refusing.clone();
    let h: Harness = harness_on(db, &two_platforms(), false, |kind| {
        (kind == PlatformKind::Aws).then(|| adapter.clone())
    })
    .await;
    let m = scrape(&h.instance).await;
    assert_eq!(
        m.value("berth_platform_breaker_open", &[("platform", "aws")]),
        0.0
    );
    // k8s is full: the third bot goes to aws, which refuses it.
    deployed(&h.router.create_bot(&zoom(1)).await.unwrap());
    deployed(&h.router.create_bot(&zoom(2)).await.unwrap());
    queued(&h.router.create_bot(&zoom(3)).await.unwrap());

    let m = scrape(&h.instance).await;
    let refused = [("platform", "aws"), ("kind", "unauthenticated")];
    assert_eq!(m.value("berth_dispatch_failures_total", &refused), 1.0);
    assert_eq!(m.sum("berth_dispatch_failures_total", &[]), 1.0);
    assert_eq!(
        m.value("berth_dispatches_total", &[("platform", "aws")]),
        1.0
    );
    assert_eq!(
        m.value("berth_dispatches_total", &[("platform", "k8s")]),
        2.0
    );
    assert_eq!(
        m.sum(
            "berth_deploy_duration_seconds_count",
            &[("platform", "aws")]
        ),
        0.0
    );
    assert_eq!(
        m.value("berth_platform_breaker_open", &[("platform", "aws")]),
        1.0
    );
    assert_eq!(
        m.value("berth_platform_breaker_open", &[("platform", "k8s")]),
        0.0
    );
    // The open breaker was recorded for every instance: aws reads down.
    let down = [("platform", "aws"), ("state", "down")];
    assert_eq!(m.value("berth_platform_health", &down), 1.0);
}

/// An instance with its background services (leadership) and feed, on
/// the simulator with starts that always succeed.
async fn serving(url: &str) -> Berth {
    let vars: HashMap<&str, &str> = [
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "5"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
        ("POOL_PREWARM_COUNT", "0"),
        ("BERTH_LEADER_LEASE_MS", "3000"),
    ]
    .into_iter()
    .collect();
    let config = EnvConfig::parse(&|k| vars.get(k).map(|v| v.to_string()), true).unwrap();
    Berth::builder(config)
        .database(Database::Url(url.to_string()))
        .background(true)
        .max_connections(8)
        .start()
        .await
        .unwrap()
}

/// Waits for the feed event of `origin`'s notice on `rx` (the listener
/// observes a notice's lag before it delivers its event).
/// Waits for `origin`'s notice of `Topic::Settings` (a topic nothing else
/// in these tests publishes, so an earlier notice still buffered, such as
/// a deploy's, can't stand in for it).
async fn delivered(rx: &mut tokio::sync::broadcast::Receiver<ChangeEvent>, origin: uuid::Uuid) {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(ChangeEvent::Changed {
                    origin: o, topics, ..
                }) if o == origin => {
                    if topics.contains(&Topic::Settings) {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("feed closed: {e}"),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(15), wait)
        .await
        .expect("the notice arrives");
}

#[sqlx::test(migrations = "../migrations")]
async fn leadership_feed_lag_and_counts_are_each_instances_own(db: PgPool) {
    let url = berth_tests::database_url_of(&db);
    sim::set_knobs(&db, PlatformKind::K8s, &SimKnobs::default())
        .await
        .unwrap();
    let a = serving(&url).await;
    let b = serving(&url).await;
    let (mut on_a, mut on_b) = (a.router().feed().subscribe(), b.router().feed().subscribe());
    eventually(
        "one instance leads",
        std::time::Duration::from_secs(15),
        || async { a.is_leader() || b.is_leader() },
    )
    .await;
    let (leader, other) = if a.is_leader() { (&a, &b) } else { (&b, &a) };
    assert_eq!(scrape(leader).await.value("berth_leader", &[]), 1.0);
    assert_eq!(scrape(other).await.value("berth_leader", &[]), 0.0);

    // A deploy through one instance's router counts there only.
    deployed(&a.router().create_bot(&zoom(1)).await.unwrap());
    let (ma, mb) = (scrape(&a).await, scrape(&b).await);
    assert_eq!(
        ma.value("berth_dispatches_total", &[("platform", "k8s")]),
        1.0
    );
    assert_eq!(mb.sum("berth_dispatches_total", &[]), 0.0);
    let id_a = a.id.to_string();
    assert_eq!(
        ma.value("berth_instance_info", &[("instance_id", id_a.as_str())]),
        1.0
    );
    assert_eq!(
        mb.sum("berth_instance_info", &[("instance_id", &id_a)]),
        0.0
    );

    // A's notice: local lag on A, peer lag on B.
    let lag =
        |m: &Scraped, origin: &str| m.sum("berth_feed_lag_seconds_count", &[("origin", origin)]);
    let (local_before, peer_before) = (lag(&ma, "local"), lag(&mb, "peer"));
    a.router().feed().publish(&[Topic::Settings]);
    delivered(&mut on_a, a.id).await;
    delivered(&mut on_b, a.id).await;
    let (ma, mb) = (scrape(&a).await, scrape(&b).await);
    assert!(lag(&ma, "local") > local_before, "{}", ma.text);
    assert!(lag(&mb, "peer") > peer_before, "{}", mb.text);

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
