//! Platform health is shared through the database (issue 11, item 13): a
//! one-shot router in another process than the instance that checked a
//! platform routes exactly as that instance would.

use berth_core::bot::{self, Decision};
use berth_core::clock::{Clock, SystemClock};
use berth_core::config::EnvConfig;
use berth_core::feed::Feed;
use berth_core::meeting::PlatformKind;
use berth_core::platform::sim::{self, SimKnobs};
use berth_core::platform::Health;
use berth_core::router::{DeployOutcome, Router};
use berth_core::{instance, settings};
use berth_tests::bots;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `berth serve --dev`-like instance in its own process; killed on drop.
struct Instance(Child);

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(url: &str) -> (Instance, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_instance"))
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("instance starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let id = line
        .trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("instance said {line:?}"))
        .to_string();
    (Instance(child), id)
}

async fn recorded(db: &PgPool, kind: PlatformKind) -> Option<(String, String)> {
    sqlx::query_as("SELECT health, checked_by::text FROM platform_health WHERE platform = $1")
        .bind(kind.as_str())
        .fetch_optional(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_one_shot_router_skips_a_platform_a_running_instance_found_down(db: PgPool) {
    // `berth sim set k8s --list-fails true`: k8s's health check fails. Every
    // simulator answers deploys at once and never fails them.
    for kind in PlatformKind::ALL {
        let knobs = SimKnobs {
            list_fails: *kind == PlatformKind::K8s,
            ..SimKnobs::default()
        };
        sim::set_knobs(&db, *kind, &knobs).await.unwrap();
    }
    let opts: PgConnectOptions = (*db.connect_options()).clone();
    let (_serve, serve_id) = spawn(opts.to_url_lossy().as_ref());

    // The running instance checks its platforms and records what it found.
    let start = Instant::now();
    loop {
        if let Some((health, by)) = recorded(&db, PlatformKind::K8s).await {
            if health == "down" {
                assert_eq!(by, serve_id);
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the instance never recorded k8s down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await; // polling another process, not synchronisation
    }

    // A one-shot command (`berth bots create`): its own adapters, no health
    // checks of its own, in this process.
    let config = EnvConfig::parse(&|_| None, true).unwrap();
    settings::apply_env(&db, &config).await.unwrap();
    let clock: Arc<dyn Clock> = SystemClock::new();
    let platforms = instance::build_platforms(&db, clock.clone(), &config)
        .await
        .unwrap();
    let one_shot = Router::new(
        db.clone(),
        clock,
        Feed::new(uuid::Uuid::new_v4(), false),
        platforms,
    );
    let o = one_shot.create_bot(&bots::zoom(1)).await.unwrap();
    let DeployOutcome::Deployed {
        bot_id, platform, ..
    } = o
    else {
        panic!("{o:?}")
    };
    assert_eq!(platform, PlatformKind::Aws, "not onto k8s, which is down");
    let trace = bot::get(&db, bot_id).await.unwrap().decision_trace;
    assert_eq!(
        (trace[0].platform, trace[0].decision),
        (Some(PlatformKind::K8s), Decision::Unhealthy),
        "{trace:?}"
    );
    assert!(
        trace[0]
            .detail
            .contains(&format!("recorded by instance {}", &serve_id[..8])),
        "{trace:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_down_verdict_counts_for_the_health_maximum_age_and_no_longer(db: PgPool) {
    // Another instance recorded k8s down, then died: its verdict counts while
    // it is fresh (live instances re-check every 2 s), never forever.
    let h = berth_tests::harness(
        db,
        &berth_tests::three_platforms("5", ["0", "0", "0"]),
        false,
    )
    .await;
    let other = uuid::Uuid::new_v4();
    berth_core::platform::record_health_detail(
        &h.db,
        PlatformKind::K8s,
        Health::Down,
        Some("circuit breaker open: 5 consecutive failed calls"),
        h.clock.now(),
        other,
    )
    .await
    .unwrap();
    let why = h
        .router
        .unhealthy(PlatformKind::K8s)
        .await
        .unwrap()
        .expect("skipped while fresh");
    assert!(
        why.contains("circuit breaker open: 5 consecutive failed calls")
            && why.contains(&format!("recorded by instance {}", &other.to_string()[..8])),
        "{why}"
    );
    h.clock
        .advance(chrono::Duration::milliseconds(instance::HEALTH_MAX_AGE_MS));
    assert!(h
        .router
        .unhealthy(PlatformKind::K8s)
        .await
        .unwrap()
        .is_some());
    h.clock.advance(chrono::Duration::milliseconds(1));
    assert_eq!(
        h.router.unhealthy(PlatformKind::K8s).await.unwrap(),
        None,
        "an old verdict no longer counts"
    );
}
