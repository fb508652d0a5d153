//! Shared harness for Berth's integration tests: a router over simulated
//! platforms on a real PostgreSQL database, with a manual clock.

pub mod announcing;
pub mod bots;
pub mod cluster;
pub mod database;
pub mod day_sim;
pub mod emulators;
pub mod process;
pub mod slots;
pub mod wrapped;

pub use database::database_url_of;

use berth_core::clock::{Clock, ManualClock};
use berth_core::config::EnvConfig;
use berth_core::dispatch::Dispatcher;
use berth_core::meeting::PlatformKind;
use berth_core::platform::sim::{self, SimKnobs, SimPlatform};
use berth_core::platform::Platforms;
use berth_core::router::Router;
use berth_core::slot::LockMode;
use berth_core::Berth;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;

/// A router, its dispatcher and the manual clock they run on.
pub struct Harness {
    /// The database (one per test).
    pub db: PgPool,
    /// Moves only when a test advances it.
    pub clock: Arc<ManualClock>,
    /// The router under test.
    pub router: Router,
    /// Its dispatcher (tests call `drain` directly).
    pub dispatcher: Dispatcher,
    /// The parsed configuration.
    pub config: EnvConfig,
    /// The instance the router belongs to (feed and background services
    /// off), set up like every other instance ([`Berth::builder`]).
    pub instance: Berth,
}

/// Applies `BERTH_EXPERIMENT_LOCK_MODE` (`unlocked` | `blocking`) so the
/// concurrency tests can be run against a weakened acquisition query to
/// show that they fail without the row lock.
pub fn apply_experiment_env() {
    match std::env::var("BERTH_EXPERIMENT_LOCK_MODE").as_deref() {
        Ok("unlocked") => berth_core::slot::set_lock_mode(LockMode::Unlocked),
        Ok("blocking") => berth_core::slot::set_lock_mode(LockMode::Blocking),
        _ => {}
    }
}

/// Builds a harness: configuration from `env` (a test's variables only), an
/// instance on the test's database through [`Berth::builder`] (settings and
/// default pools written, the manual clock, the simulator for every platform
/// with zero latency and bots that run until told). The feed and background
/// services are off: tests drive the dispatcher themselves.
pub async fn harness(db: PgPool, env: &[(&str, &str)], dev: bool) -> Harness {
    harness_on(db, env, dev, |_| None).await
}

/// [`harness`] with some platforms' adapters chosen by the test (`pick`
/// returns `None` for the simulator): real adapters on emulators next to
/// simulated ones.
pub async fn harness_on(
    db: PgPool,
    env: &[(&str, &str)],
    dev: bool,
    pick: impl Fn(PlatformKind) -> Option<Arc<dyn berth_core::platform::Platform>>,
) -> Harness {
    apply_experiment_env();
    let vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config =
        EnvConfig::parse(&|k| vars.get(k).cloned(), dev).expect("test configuration is valid");
    let clock = ManualClock::starting_now();
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let mut platforms = Platforms::new();
    for kind in PlatformKind::ALL {
        match pick(*kind) {
            Some(adapter) => platforms.insert(adapter),
            None => platforms.insert(Arc::new(SimPlatform::new(
                *kind,
                db.clone(),
                dyn_clock.clone(),
            ))),
        }
    }
    let berth = Berth::builder(config)
        .pool(db.clone(), database_url_of(&db))
        .clock(dyn_clock)
        .feed(false)
        .platforms(platforms)
        .start()
        .await
        .expect("test instance started");
    for kind in PlatformKind::ALL {
        sim::set_knobs(&db, *kind, &SimKnobs::default())
            .await
            .expect("knobs");
    }
    // The tests drive deploys step by step: this dispatcher deploys inline
    // (the instance's own one hands slow deploys to tasks).
    let router = berth.router().clone();
    let dispatcher = Dispatcher::new(router.clone());
    Harness {
        db,
        clock,
        router,
        dispatcher,
        config: berth.config.clone(),
        instance: berth,
    }
}

/// Three limited platforms, each `limit` bots, with the given queue timeouts.
pub fn three_platforms(
    limit: &'static str,
    timeouts: [&'static str; 3],
) -> Vec<(&'static str, &'static str)> {
    vec![
        ("PLATFORM_PRIORITY", "k8s,aws,coolify"),
        ("K8S_BOT_LIMIT", limit),
        ("AWS_BOT_LIMIT", limit),
        ("COOLIFY_BOT_LIMIT", limit),
        ("K8S_QUEUE_TIMEOUT_MS", timeouts[0]),
        ("AWS_QUEUE_TIMEOUT_MS", timeouts[1]),
        ("COOLIFY_QUEUE_TIMEOUT_MS", timeouts[2]),
    ]
}

/// Inserts a bot row directly (for engine-level tests that bypass the router).
pub async fn insert_bot(db: &PgPool, pool: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO bots (pool, meeting_platform, meeting_url) SELECT name, meeting_platform, 'https://meet.example/x' FROM pools WHERE name = $1 RETURNING id",
    )
    .bind(pool)
    .fetch_one(db)
    .await
    .expect("bot inserted")
}

/// Inserts a pool directly.
pub async fn insert_pool(db: &PgPool, name: &str, meeting_platform: &str, max_size: i32) {
    sqlx::query(
        "INSERT INTO pools (name, meeting_platform, image, max_size) VALUES ($1, $2, 'img:1', $3)",
    )
    .bind(name)
    .bind(meeting_platform)
    .bind(max_size)
    .execute(db)
    .await
    .expect("pool inserted");
}

/// A second pool on the test's database, wide enough for `n` concurrent
/// holders (the pool `#[sqlx::test]` hands out is small).
pub async fn wide_pool(db: &PgPool, n: u32) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(n)
        .connect_with((*db.connect_options()).clone())
        .await
        .expect("wide pool")
}

/// A table `accounts` of 16 rows, readable by the account query role
/// (created if missing, with its login role), and connection options for
/// the login role on `db`'s database. Row `i` (1..=16): status
/// `ARRAY['available','in_use','failed','completed'][1 + i % 4]`, failures
/// `i % 5`, credits `10 i`, premium when `i % 3 = 0`, email `user<i>@example.com`.
pub async fn accounts_fixture(db: &PgPool) -> sqlx::postgres::PgConnectOptions {
    use berth_core::account::query::{self, LOGIN_ROLE, QUERY_ROLE};
    sqlx::raw_sql(
        "CREATE TABLE accounts (
             id INTEGER PRIMARY KEY, email TEXT NOT NULL, status TEXT NOT NULL,
             failures INTEGER NOT NULL, credits INTEGER NOT NULL, premium BOOLEAN NOT NULL);
         INSERT INTO accounts
         SELECT i, 'user' || i || '@example.com',
                (ARRAY['available', 'in_use', 'failed', 'completed'])[1 + i % 4],
                i % 5, i * 10, i % 3 = 0
         FROM generate_series(1, 16) AS i;",
    )
    .execute(db)
    .await
    .expect("accounts fixture");
    query::ensure_role(db).await.expect("query role");
    query::ensure_login_role(db).await.expect("login role");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "GRANT SELECT ON accounts TO {QUERY_ROLE}"
    )))
    .execute(db)
    .await
    .expect("grant to the query role");
    db.connect_options()
        .as_ref()
        .clone()
        .username(LOGIN_ROLE)
        .password("")
}

/// How the account query role connects next to an instance on `url`.
pub fn query_connection(url: &str) -> berth_core::account::source::QueryConnection<'_> {
    berth_core::account::source::QueryConnection {
        main_url: url,
        explicit: None,
    }
}

/// Polls `check` every 20 ms until it answers `true`, failing the test with
/// `what` once `limit` has passed. For conditions that another task or
/// process brings about; the interval only paces the polling.
pub async fn eventually<F, Fut>(what: &str, limit: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    loop {
        if check().await {
            return;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The bot a [`berth_core::router::DeployOutcome`] is about.
pub fn bot_id(o: &berth_core::router::DeployOutcome) -> i64 {
    o.bot_id()
}

/// xorshift64: a reproducible sequence per seed, no dependency (the storm
/// tests give each task its own seed).
pub struct Dice(pub u64);

impl Dice {
    /// The next roll, in `0..n`.
    pub fn roll(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Starts an instance with its background services on the test's database
/// (k8s only, no pre-warming, a 2 s leader lease, plus `env`), on `clock`
/// if given: it becomes the leader and runs the leader's jobs.
pub async fn leader(db: &PgPool, env: &[(&str, &str)], clock: Option<Arc<dyn Clock>>) -> Berth {
    let vars: HashMap<&str, &str> = [
        ("PLATFORM_PRIORITY", "k8s"),
        ("POOL_PREWARM_COUNT", "0"),
        ("BERTH_LEADER_LEASE_MS", "2000"),
    ]
    .into_iter()
    .chain(env.iter().copied())
    .collect();
    let config = EnvConfig::parse(&|k| vars.get(k).map(|v| v.to_string()), true)
        .expect("test configuration is valid");
    let mut builder = Berth::builder(config)
        .database(berth_core::instance::Database::Url(database_url_of(db)))
        .background(true);
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    builder.start().await.expect("leader started")
}
