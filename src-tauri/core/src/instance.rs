//! One running Berth instance: database, configuration, adapters, feed,
//! dispatcher and (when leading) the background jobs.
//!
//! Every face sets an instance up through one [`Builder`] (the desktop,
//! `berth serve`, a CLI command that routes bots, the tests' harness), and
//! a command that only reads or writes rows opens a [`Database`] directly.

mod builder;
mod database;

pub use builder::Builder;
pub use database::{Connection, Database, Schema};

use chrono::Duration;
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::background::{self, Jobs, Leadership};
use crate::clock::Clock;
use crate::config::{CoolifyConfig, EnvConfig};
use crate::db::{self, embedded::EmbeddedPostgres};
use crate::dispatch::Dispatcher;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::Topic;
use crate::jobs;
use crate::meeting::PlatformKind;
use crate::platform::call::Policy;
use crate::platform::coolify::CoolifyPlatform;
#[cfg(feature = "cloud")]
use crate::platform::ecs::{EcsPlatform, EcsSettings};
#[cfg(feature = "cloud")]
use crate::platform::kube::{KubePlatform, KubeSettings};
use crate::platform::sim::{SimKnobs, SimPlatform};
use crate::platform::{self, Platforms};
use crate::pool;
use crate::router::Router;
use crate::settings;
use crate::stop::{StopSignal, Stopper};
use crate::webhook;

/// How often each instance checks its adapters' health.
pub const HEALTH_INTERVAL_MS: u64 = 2_000;

/// How long [`Berth::shutdown`] waits for the background loops to finish the
/// iteration under way before it aborts them.
const STOP_WITHIN: std::time::Duration = std::time::Duration::from_secs(15);

/// How old a recorded health check may be before it counts as unknown.
pub const HEALTH_MAX_AGE_MS: i64 = 15_000;

/// Writes the environment's configuration into a migrated database: the
/// platform settings (pinned values), the default pools and, in development
/// mode, the simulator's knobs where none are stored. Idempotent. Run by
/// instances that prepare the database ([`Builder::prepare`]) and by
/// [`migrate`] (`berth migrate`).
pub async fn prepare(db: &PgPool, config: &EnvConfig) -> Result<()> {
    settings::apply_env(db, config).await?;
    pool::ensure_defaults(db, &config.pools).await?;
    if config.dev {
        for kind in PlatformKind::ALL {
            let k = dev_knobs(*kind);
            sqlx::query(
                "INSERT INTO sim_knobs (platform, deploy_latency_ms, pull_latency_ms, failure_rate, run_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform) DO NOTHING",
            )
            .bind(kind.as_str())
            .bind(k.deploy_latency_ms)
            .bind(k.pull_latency_ms)
            .bind(k.failure_rate)
            .bind(k.run_ms)
            .execute(db)
            .await?;
        }
    }
    Ok(())
}

/// What [`migrate`] did.
#[derive(Debug, Clone)]
pub struct Migrated {
    /// Every migration applied now, oldest first (the last is the schema's version).
    pub migrations: Vec<db::AppliedMigration>,
    /// The versions this run applied.
    pub applied_now: Vec<i64>,
}

/// `berth migrate`: applies pending migrations and writes the environment's
/// configuration ([`prepare`]), reporting what was applied. The caller
/// validated `config` before opening the database, so a refused migrate
/// writes nothing.
pub async fn migrate(pool: &PgPool, config: &EnvConfig) -> Result<Migrated> {
    let before = db::applied_migrations(pool).await?;
    db::migrate(pool).await?;
    prepare(pool, config).await?;
    let migrations = db::applied_migrations(pool).await?;
    let applied_now = migrations
        .iter()
        .filter(|m| !before.iter().any(|b| b.version == m.version))
        .map(|m| m.version)
        .collect();
    Ok(Migrated {
        migrations,
        applied_now,
    })
}

/// A running instance. Dropping it aborts its tasks; call
/// [`Berth::shutdown`] for a graceful stop.
pub struct Berth {
    /// This instance's id.
    pub id: Uuid,
    /// Validated environment configuration.
    pub config: EnvConfig,
    router: Router,
    dispatcher: Dispatcher,
    /// The change feed's tasks (aborted on stop).
    tasks: Vec<JoinHandle<()>>,
    /// The loops that stop at [`Berth::stop_signal`] (awaited on stop).
    background: Vec<JoinHandle<()>>,
    stopper: Stopper,
    leading: Arc<AtomicBool>,
    embedded: Option<EmbeddedPostgres>,
    database_url: String,
    /// Whether its background services ran (it joined the peers and may
    /// have led): only then does it leave on shutdown.
    joined: bool,
    /// This instance's webhook delivery counters (zero without background
    /// services, which run the delivery loop).
    webhook_counters: Arc<webhook::Counters>,
}

/// The simulator's knobs used in development mode until someone changes them.
pub fn dev_knobs(kind: PlatformKind) -> SimKnobs {
    let (deploy, run) = match kind {
        PlatformKind::K8s => (600, 12_000),
        PlatformKind::Aws => (1_200, 15_000),
        PlatformKind::Coolify => (2_000, 18_000),
        PlatformKind::Local => (300, 10_000),
    };
    SimKnobs {
        deploy_latency_ms: deploy,
        pull_latency_ms: 3_000,
        failure_rate: 0.05,
        run_ms: Some(run),
        ..SimKnobs::default()
    }
}

/// Builds the adapters for `config`: in development mode the simulator for
/// every platform; otherwise the real adapter of every platform in the
/// priority list (that has a limit), configured from the process
/// environment. Missing or invalid configuration of a listed platform is an
/// error naming the variable; platforms not listed need none. Coolify's API
/// token is read here (keychain or environment, as configured).
pub async fn build_platforms(
    db: &PgPool,
    clock: Arc<dyn Clock>,
    config: &EnvConfig,
) -> Result<Platforms> {
    build_platforms_with(db, clock, config, &|k| std::env::var(k).ok()).await
}

/// [`build_platforms`] with a variable lookup (for tests).
pub async fn build_platforms_with(
    db: &PgPool,
    clock: Arc<dyn Clock>,
    config: &EnvConfig,
    get: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Platforms> {
    let mut platforms = Platforms::new();
    if config.dev {
        for kind in PlatformKind::ALL {
            platforms.insert(Arc::new(SimPlatform::new(*kind, db.clone(), clock.clone())));
        }
        return Ok(platforms);
    }
    for p in &config.platforms {
        match p.kind {
            PlatformKind::Coolify => {
                let cfg = CoolifyConfig::parse(get)?;
                let token = platform::secret::load(PlatformKind::Coolify, cfg.token_source, get)?;
                let adapter = CoolifyPlatform::new(cfg, token, Policy::default())?
                    .with_clock(clock.clone());
                platforms.insert(Arc::new(adapter));
            }
            #[cfg(feature = "cloud")]
            PlatformKind::K8s => {
                let settings = KubeSettings::parse(get)?;
                let adapter = KubePlatform::connect(settings, Policy::default())
                    .await?
                    .with_clock(clock.clone());
                platforms.insert(Arc::new(adapter));
            }
            #[cfg(feature = "cloud")]
            PlatformKind::Aws => {
                let settings = EcsSettings::parse(get)?;
                let adapter = EcsPlatform::connect(settings, None, Policy::default())
                    .await
                    .with_clock(clock.clone());
                platforms.insert(Arc::new(adapter));
            }
            other => {
                return Err(Error::new(
                    ErrorCode::PlatformRefused,
                    format!(
                        "no {other} adapter in this build (Kubernetes and ECS need the `cloud` feature); remove it from PLATFORM_PRIORITY (or unset {}_BOT_LIMIT), or run with --dev to use the simulator",
                        other.env_prefix()
                    ),
                ))
            }
        }
    }
    Ok(platforms)
}

impl Berth {
    /// A builder of an instance running `config`: by default on
    /// [`Database::from_env`], preparing the database, with the system
    /// clock, the adapters [`build_platforms`] makes, the change feed on and
    /// no background services.
    pub fn builder(config: EnvConfig) -> Builder {
        Builder::new(config)
    }

    /// [`Berth::builder`] with the configuration read from the process
    /// environment ([`EnvConfig::from_env`]); refused, naming the variable,
    /// when it is invalid.
    pub fn from_env(dev: bool) -> Result<Builder> {
        Ok(Builder::new(EnvConfig::from_env(dev)?))
    }

    fn spawn_background(&mut self, mode: &'static str) {
        let jobs_cfg = self.config.jobs.clone();
        let tick = Duration::milliseconds(jobs_cfg.dispatch_tick_ms.into());
        let stop = self.stopper.signal();
        self.background.push(tokio::spawn(
            self.dispatcher.clone().run(tick, stop.clone()),
        ));
        let became_leader = Arc::new(tokio::sync::Notify::new());
        let leadership = Leadership {
            db: self.router.db().clone(),
            me: self.id,
            mode,
            lease_ms: jobs_cfg.leader_lease_ms,
            leading: self.leading.clone(),
            feed: self.router.feed().clone(),
            became_leader: became_leader.clone(),
        };
        self.background
            .push(tokio::spawn(leadership.run(stop.clone())));
        let jobs = Jobs {
            router: self.router.clone(),
            leading: self.leading.clone(),
            config: jobs_cfg,
            main_url: self.database_url.clone(),
            explicit_query_url: std::env::var("BERTH_QUERY_DATABASE_URL").ok(),
            pools_dir: crate::definition::pools_dir(|k| std::env::var_os(k)),
            became_leader,
        };
        self.background.push(tokio::spawn(jobs.run(stop.clone())));
        self.background.push(tokio::spawn(background::check_health(
            self.router.clone(),
            self.id,
            stop.clone(),
        )));
        // Every instance delivers webhooks (not only the leader): the
        // deliveries are shared out with SKIP LOCKED, and a receiver that is
        // down then costs no single instance all its attempts.
        match webhook::Deliverer::new(
            self.router.db().clone(),
            self.router.clock().clone(),
            self.id,
            webhook::DeliveryConfig::default(),
        ) {
            Ok(deliverer) => {
                self.webhook_counters = deliverer.counters();
                let wake = self.router.feed().subscribe();
                self.background
                    .push(tokio::spawn(deliverer.run(wake, stop)));
            }
            Err(e) => tracing::warn!(error = %e, "webhook delivery not started"),
        }
    }

    /// This instance's webhook delivery counters, by outcome (for the
    /// metrics; the backlog is [`webhook::backlog`]).
    pub fn webhook_counters(&self) -> Arc<webhook::Counters> {
        self.webhook_counters.clone()
    }

    /// A signal set when [`Berth::shutdown`] begins (for work that should
    /// end with the instance).
    pub fn stop_signal(&self) -> StopSignal {
        self.stopper.signal()
    }

    /// The router (create bots, report status, release).
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The dispatcher.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// The database pool.
    pub fn db(&self) -> &PgPool {
        self.router.db()
    }

    /// The URL this instance connected with (`DATABASE_URL` or the embedded
    /// server's), e.g. to derive the account query role's connection
    /// ([`crate::account::role::role_options`]). It may hold a password:
    /// never log it or send it to a UI.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Whether the embedded database stops when this instance exits
    /// (`None`: not embedded). See [`crate::departure`].
    pub async fn embedded_stops_on_exit(&self) -> Option<bool> {
        match &self.embedded {
            None => None,
            Some(pg) => Some(pg.would_stop().await),
        }
    }

    /// Whether this instance leads the background jobs now.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// The flag [`Berth::is_leader`] reads, shared: for a face that holds
    /// the instance's router rather than the instance (the HTTP API's
    /// `/metrics`). Only the instance's leadership loop sets it.
    pub fn leader_flag(&self) -> Arc<AtomicBool> {
        self.leading.clone()
    }

    /// Graceful stop: background tasks end, pending changes are announced,
    /// leadership is handed over, the embedded database (if started here) stops.
    pub async fn shutdown(mut self) -> Result<()> {
        // Stop starting new work, but let the loops finish the iteration
        // under way (see `crate::stop`) and deploys already under way finish
        // (aborting one would strand its slot in `deploying` until recovery).
        self.stopper.stop();
        let deadline = tokio::time::Instant::now() + STOP_WITHIN;
        for mut t in self.background.drain(..) {
            if tokio::time::timeout_at(deadline, &mut t).await.is_err() {
                tracing::warn!(
                    "shutdown: a background loop still busy after {STOP_WITHIN:?}; stopped"
                );
                t.abort();
            }
        }
        let inflight = self.router.inflight().clone();
        if tokio::time::timeout(std::time::Duration::from_secs(30), inflight.wait_idle())
            .await
            .is_err()
        {
            tracing::warn!(
                deploys = inflight.count(),
                "shutdown: deploys still running after 30 s; recovery will handle their slots"
            );
        }
        let db = self.router.db().clone();
        if self.leading.load(Ordering::SeqCst) {
            let _ = jobs::resign(&db, self.id).await;
        }
        if self.joined {
            let _ = jobs::leave(&db, self.id).await;
            self.router.feed().publish(&[Topic::Peers]);
        }
        if let Err(e) = self.router.feed().flush(&db).await {
            tracing::warn!(error = %e, "shutdown: last changes not announced");
        }
        // The change feed's own tasks hold no transaction.
        for t in self.tasks.drain(..) {
            t.abort();
        }
        db.close().await;
        if let Some(mut pg) = self.embedded.take() {
            pg.stop().await?;
        }
        Ok(())
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        for t in self.tasks.iter().chain(&self.background) {
            t.abort();
        }
    }
}
