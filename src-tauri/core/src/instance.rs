//! One running Berth instance: database, configuration, adapters, feed,
//! dispatcher and (when leading) the background jobs.

use chrono::Duration;
use sqlx::PgPool;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::background::{self, Jobs, Leadership};
use crate::clock::{Clock, SystemClock};
use crate::config::{CoolifyConfig, EnvConfig};
use crate::db::{self, embedded::EmbeddedPostgres};
use crate::dispatch::Dispatcher;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::{Feed, Topic};
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

/// How often each instance checks its adapters' health.
pub const HEALTH_INTERVAL_MS: u64 = 2_000;

/// How long [`Berth::shutdown`] waits for the background loops to finish the
/// iteration under way before it aborts them.
const STOP_WITHIN: std::time::Duration = std::time::Duration::from_secs(15);

/// How old a recorded health check may be before it counts as unknown.
pub const HEALTH_MAX_AGE_MS: i64 = 15_000;

/// How to start an instance.
#[derive(Debug, Clone)]
pub struct Options {
    /// Development mode: every platform on the simulator.
    pub dev: bool,
    /// `DATABASE_URL`; `None` starts the embedded cluster.
    pub database_url: Option<String>,
    /// Where the embedded cluster lives.
    pub data_dir: PathBuf,
    /// Run the background services (feed, dispatcher, jobs). One-shot CLI
    /// commands leave this off and only publish their changes.
    pub background: bool,
    /// Publish and listen to the change feed.
    pub feed: bool,
    /// Connection pool size.
    pub max_connections: u32,
    /// Prepare the database for this configuration: apply pending
    /// migrations and write the environment's configuration ([`prepare`]).
    /// Long-running instances (`serve`, `demo`, the desktop app) do. A
    /// one-shot command does not: it only checks that the schema is current
    /// ([`db::check_schema`]) and writes nothing it was not asked to, so a
    /// refused or read-only command leaves the database as it was, and a
    /// terminal's environment never overwrites a running instance's pins.
    pub prepare: bool,
}

impl Options {
    /// Options from the environment (`DATABASE_URL`, `BERTH_DATA_DIR`) for
    /// a long-running instance, which prepares the database.
    pub fn from_env(dev: bool, background: bool) -> Self {
        Options {
            dev,
            database_url: std::env::var("DATABASE_URL")
                .ok()
                .filter(|s| !s.trim().is_empty()),
            data_dir: db::embedded::default_data_dir(),
            background,
            feed: true,
            max_connections: 16,
            prepare: true,
        }
    }

    /// Options for one command on a database some instance prepared: no
    /// background services, no migrations, no configuration written.
    pub fn one_shot(dev: bool) -> Self {
        Options {
            background: false,
            max_connections: 4,
            prepare: false,
            ..Self::from_env(dev, false)
        }
    }
}

/// Writes the environment's configuration into a migrated database: the
/// platform settings (pinned values), the default pools and, in development
/// mode, the simulator's knobs where none are stored. Idempotent. Run by
/// instances that prepare the database ([`Options::prepare`]) and by
/// `berth migrate`.
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
    /// Starts an instance: database (embedded or `DATABASE_URL`), with
    /// [`Options::prepare`] migrations and the configuration written
    /// ([`prepare`]; otherwise the schema is only checked), adapters and,
    /// with `background`, the feed, dispatcher, leader election and jobs.
    /// The configuration is validated before anything is written.
    pub async fn start(options: Options) -> Result<Berth> {
        let config = EnvConfig::from_env(options.dev)?;
        Self::start_with(options, config).await
    }

    /// [`Berth::start`] with an already parsed configuration.
    pub async fn start_with(options: Options, config: EnvConfig) -> Result<Berth> {
        for w in &config.warnings {
            tracing::warn!("{w}");
        }
        let id = Uuid::new_v4();
        // Every connection of this instance carries its id, so stopping the
        // embedded server can tell this instance's connections from others'.
        let application = format!("berth {id}");
        let (url, embedded) = match &options.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let mut pg = EmbeddedPostgres::start(&options.data_dir).await?;
                pg.set_own_application(application.clone());
                (pg.url(), Some(pg))
            }
        };
        let db = db::connect_as(&url, options.max_connections, &application).await?;
        if options.prepare {
            db::migrate(&db).await?;
        } else {
            db::check_schema(&db).await?;
        }
        let clock = SystemClock::new();
        clock.calibrate(&db).await?;
        let clock: Arc<dyn Clock> = clock;
        if options.prepare {
            prepare(&db, &config).await?;
        } else if settings::load(&db).await?.platforms.is_empty() {
            return Err(Error::new(
                ErrorCode::SchemaOutdated,
                "the database has no platform settings yet: run `berth migrate` (or start `berth serve` or the app) with the deployment's configuration first",
            ));
        }
        let platforms = build_platforms(&db, clock.clone(), &config).await?;
        let feed = Feed::new(id, options.feed);
        let router = Router::new(db.clone(), clock.clone(), feed.clone(), platforms)
            .with_lease(config.jobs.leader_lease_ms);
        let dispatcher = Dispatcher::spawning(router.clone());
        let mut berth = Berth {
            id,
            config,
            router,
            dispatcher,
            tasks: Vec::new(),
            background: Vec::new(),
            stopper: Stopper::new().0,
            leading: Arc::new(AtomicBool::new(false)),
            embedded,
            database_url: url,
        };
        if options.feed {
            berth.tasks.extend(berth.router.feed().spawn(db.clone()));
        }
        if options.background {
            berth.spawn_background(if options.dev { "dev" } else { "serve" });
        }
        Ok(berth)
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
            stop,
        )));
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
        let _ = jobs::leave(&db, self.id).await;
        self.router.feed().publish(&[Topic::Peers]);
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
