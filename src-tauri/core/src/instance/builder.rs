//! Setting an instance up: the one [`Builder`] the desktop, the CLI, the
//! tests and the coming HTTP service all start their [`Berth`] with.

use sqlx::PgPool;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use uuid::Uuid;

use super::database::{Connection, Database, Schema};
use super::{build_platforms, prepare, Berth};
use crate::clock::{Clock, SystemClock};
use crate::config::EnvConfig;
use crate::dispatch::Dispatcher;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::Feed;
use crate::platform::Platforms;
use crate::router::Router;
use crate::settings;
use crate::stop::Stopper;

/// Where the instance's database comes from.
enum Source {
    /// Opened by the instance (and, when embedded, stopped by it).
    Open(Database),
    /// A pool the caller opened (a test's database), with the URL it was
    /// opened with (jobs that open their own connections derive theirs from it).
    Pool { pool: PgPool, url: String },
}

/// How to start a [`Berth`]; see [`Berth::builder`]. Every setting has a
/// default, so a face states only what differs.
#[must_use]
pub struct Builder {
    config: EnvConfig,
    source: Source,
    clock: Option<Arc<dyn Clock>>,
    platforms: Option<Platforms>,
    background: bool,
    feed: bool,
    listen: bool,
    max_connections: u32,
    prepare: bool,
}

impl Builder {
    pub(super) fn new(config: EnvConfig) -> Builder {
        Builder {
            config,
            source: Source::Open(Database::from_env()),
            clock: None,
            platforms: None,
            background: false,
            feed: true,
            listen: true,
            max_connections: 16,
            prepare: true,
        }
    }

    /// The database to open (default: [`Database::from_env`]).
    pub fn database(mut self, database: Database) -> Self {
        self.source = Source::Open(database);
        self
    }

    /// Runs on a pool the caller opened (and closes), `url` being the URL it
    /// was opened with. Nothing is started or stopped for it.
    pub fn pool(mut self, pool: PgPool, url: impl Into<String>) -> Self {
        self.source = Source::Pool {
            pool,
            url: url.into(),
        };
        self
    }

    /// Where the database is, for people (no password); `None` for a pool
    /// the caller opened.
    pub fn location(&self) -> Option<String> {
        match &self.source {
            Source::Open(d) => Some(d.location()),
            Source::Pool { .. } => None,
        }
    }

    /// The clock (default: the system clock, calibrated against the
    /// database's). A clock given here is used as it is.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The adapters (default: [`build_platforms`] from the configuration and
    /// the process environment, once the database is open). Tests give
    /// simulators or emulator-backed adapters.
    pub fn platforms(mut self, platforms: Platforms) -> Self {
        self.platforms = Some(platforms);
        self
    }

    /// Runs the background services: the dispatcher, leader election, the
    /// jobs and health checks (default: off). Long-running instances
    /// (`serve`, `demo`, the desktop app) turn them on.
    pub fn background(mut self, on: bool) -> Self {
        self.background = on;
        self
    }

    /// Publishes and listens to the change feed (default: on).
    pub fn feed(mut self, on: bool) -> Self {
        self.feed = on;
        self
    }

    /// Listens to the change feed (default: on): every instance's changes
    /// reach [`crate::feed::Feed::subscribe`] (the dispatcher, the desktop's
    /// views). Off, the instance still announces its own changes but opens
    /// no `LISTEN` connection: for a process nothing in which subscribes.
    pub fn listen(mut self, on: bool) -> Self {
        self.listen = on;
        self
    }

    /// The connection pool's size (default: 16).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Prepares the database for this configuration (default: on): applies
    /// pending migrations and writes the environment's configuration
    /// ([`prepare`]). Off, the schema is only checked
    /// ([`crate::db::check_schema`]) and nothing is written that was not
    /// asked for, so a refused or read-only command leaves the database as it
    /// was and a terminal's environment never overwrites a running
    /// instance's pins; the database must then hold settings already.
    pub fn prepare(mut self, on: bool) -> Self {
        self.prepare = on;
        self
    }

    /// The set-up of one CLI command that routes or releases bots on a
    /// database some instance prepared: no background services, nothing
    /// prepared (no migration, no environment written, so no settings lock),
    /// no `LISTEN` connection, a small pool. What it still does: the schema
    /// check, the clock calibration (deadlines are database time) and a
    /// check that settings were written. Its changes are still announced
    /// (the feed's flusher runs, and [`Berth::shutdown`] flushes the rest).
    ///
    /// Skipping the rest is safe because none of it serves a command: the
    /// router reads the settings and pools from the database on every
    /// request (so the environment's settings apply once `berth migrate` or
    /// a running instance wrote them, never a terminal's own), nothing in a
    /// one-shot subscribes to the feed (waits are rows, served by running
    /// instances' dispatchers), and the instance never joins the peers.
    pub fn one_shot(self) -> Self {
        self.background(false)
            .prepare(false)
            .listen(false)
            .max_connections(4)
    }

    /// Starts the instance: the database opened (migrated when preparing,
    /// else its schema checked), the clock calibrated, the environment's
    /// configuration written (when preparing), the adapters built, the feed
    /// started and, with [`Builder::background`], the background services.
    /// The configuration was validated before anything is written.
    pub async fn start(self) -> Result<Berth> {
        for w in &self.config.warnings {
            tracing::warn!("{w}");
        }
        let id = Uuid::new_v4();
        // Every connection of this instance carries its id, so stopping the
        // embedded server can tell this instance's connections from others'.
        let application = format!("berth {id}");
        let schema = if self.prepare {
            Schema::Migrate
        } else {
            Schema::Check
        };
        // A pool the caller opened is the caller's to close.
        let owned = matches!(self.source, Source::Open(_));
        let (db, url, embedded) = match self.source {
            Source::Open(database) => database
                .open(self.max_connections, Some(&application), schema)
                .await?
                .into_parts(),
            Source::Pool { pool, url } => {
                let done = match schema {
                    Schema::Migrate => crate::db::migrate(&pool).await,
                    _ => crate::db::check_schema(&pool).await,
                };
                done?;
                (pool, url, None)
            }
        };
        match assemble(
            &self.config,
            &db,
            self.clock,
            self.platforms,
            self.prepare,
            id,
            self.feed,
        )
        .await
        {
            Ok((router, dispatcher)) => {
                let mut berth = Berth {
                    id,
                    config: self.config,
                    router,
                    dispatcher,
                    tasks: Vec::new(),
                    background: Vec::new(),
                    stopper: Stopper::new().0,
                    leading: Arc::new(AtomicBool::new(false)),
                    embedded,
                    database_url: url,
                    joined: self.background,
                    webhook_counters: Default::default(),
                };
                if self.feed && self.listen {
                    berth.tasks.extend(berth.router.feed().spawn(db));
                } else if self.feed {
                    berth.tasks.extend(berth.router.feed().spawn_flusher(db));
                }
                if self.background {
                    berth.spawn_background(if berth.config.dev { "dev" } else { "serve" });
                }
                Ok(berth)
            }
            Err(e) => {
                if owned {
                    // Leave an embedded cluster this call started as it was.
                    let _ = Connection::from_parts(db, url, embedded).close().await;
                }
                Err(e)
            }
        }
    }
}

/// The clock, the configuration written (when preparing, else checked to be
/// there), the adapters, the router and its dispatcher.
async fn assemble(
    config: &EnvConfig,
    db: &PgPool,
    clock: Option<Arc<dyn Clock>>,
    platforms: Option<Platforms>,
    prepare_db: bool,
    id: Uuid,
    feed: bool,
) -> Result<(Router, Dispatcher)> {
    let clock: Arc<dyn Clock> = match clock {
        Some(clock) => clock,
        None => {
            let clock = SystemClock::new();
            clock.calibrate(db).await?;
            clock
        }
    };
    if prepare_db {
        prepare(db, config).await?;
    } else if !settings::written(db).await? {
        return Err(Error::new(
            ErrorCode::SchemaOutdated,
            "the database has no platform settings yet: run `berth migrate` (or start `berth serve` or the app) with the deployment's configuration first",
        ));
    }
    let platforms = match platforms {
        Some(platforms) => platforms,
        None => build_platforms(db, clock.clone(), config).await?,
    };
    let router = Router::new(db.clone(), clock, Feed::new(id, feed), platforms)
        .with_lease(config.jobs.leader_lease_ms);
    let dispatcher = Dispatcher::spawning(router.clone());
    Ok((router, dispatcher))
}
