//! The router: platforms in priority order, limits, queue timeouts that are
//! really waited on, failover, the global queue, and releases.
//!
//! Waiting is durable: a request waiting on a full platform is a queue
//! entry naming that platform and the end of its wait, so any instance's
//! dispatcher can hand it capacity (or move it on when the wait is over),
//! and no caller has to stay connected while it waits.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::account;
use crate::bot::{self, Decision, TraceEntry};
use crate::clock::Clock;
use crate::config::MAX_REQUEST_QUEUE_TIMEOUT_MS;
use crate::description;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::{Feed, Topic};
use crate::meeting::{BotStatus, MeetingPlatform, PlatformKind};
use crate::platform::image::ImageGate;
use crate::platform::{
    self as platform, BotAccount, BotSpec, Health, PlatformError, PlatformState, Platforms,
};
use crate::pool::{self, Pool};
use crate::queue::{self, Stage};
use crate::settings::{self, PlatformSettings, Settings};
use crate::slot::{self, Lease};

/// A request for a bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBot {
    /// Meeting platform.
    pub meeting_platform: MeetingPlatform,
    /// Meeting URL.
    pub meeting_url: String,
    /// Priority, lower first (default: the pool's `queue.priority`, else 100).
    pub priority: Option<i32>,
    /// How long it may wait in the global queue (default: the pool's
    /// `queue.timeout`, else 5 min; at most 10 min).
    pub queue_timeout_ms: Option<i32>,
    /// The pool to use (it must serve the meeting platform); `None`: the
    /// meeting platform's pool (the one named after it, else the first by name).
    pub pool: Option<String>,
}

/// What became of a request (reference 004's `HybridDeployResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum DeployOutcome {
    /// Running (or starting) on a platform.
    #[serde(rename_all = "camelCase")]
    Deployed {
        /// Bot id.
        bot_id: i64,
        /// Deployment platform.
        platform: PlatformKind,
        /// Slot name.
        slot_name: String,
        /// Slot's platform identifier.
        platform_identifier: Option<String>,
    },
    /// Queued: waiting on a full platform, or in the global queue.
    #[serde(rename_all = "camelCase")]
    Queued {
        /// Bot id.
        bot_id: i64,
        /// The platform it waits on; `None` in the global queue.
        waiting_on: Option<PlatformKind>,
        /// 1-based queue position.
        queue_position: i64,
        /// Estimated wait from the observed release rate; `None` if no release was seen.
        estimated_wait_ms: Option<i64>,
        /// End of the current wait.
        until: DateTime<Utc>,
    },
    /// Another instance is handling the request right now, or it ended.
    #[serde(rename_all = "camelCase")]
    Skipped {
        /// Bot id.
        bot_id: i64,
    },
}

/// The most slots one request may have created for it. A request whose
/// deploys keep failing leaves each slot it tried in `error`; without a cap
/// it would fill its pool with broken slots (and platform resources). One
/// fresh slot per platform of a three-platform priority list; past it the
/// request only takes idle slots.
pub const MAX_SLOTS_CREATED_PER_REQUEST: i32 = 3;

/// What a reservation attempt found.
#[derive(Debug)]
enum Reservation {
    Reserved(Lease),
    Full(String),
    PoolFull(String),
    /// Deploys there failed lately: no new one before the backoff has passed.
    BackingOff(String),
    /// The pool's bots need an account and none is available.
    NoAccount,
    /// The bot is no longer this caller's to route (claimed elsewhere or ended).
    Skip,
}

/// Why a workload did not start.
#[derive(Debug)]
enum StartError {
    /// The platform (or its image pull) failed: counts towards its backoff.
    Platform(PlatformError),
    /// Berth's own bookkeeping failed (the database).
    Internal(String),
    /// The lease is no longer this deploy's (recovered, released, or a
    /// newer lease holds the slot): nothing was started.
    Stale,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Platform(e) => write!(f, "{e}"),
            StartError::Internal(m) => f.write_str(m),
            StartError::Stale => f.write_str("the lease moved on"),
        }
    }
}

type BoxedOutcome<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<DeployOutcome>> + Send + 'a>>;

/// Platforms known full during one drain pass, so later entries skip them
/// without another query.
#[derive(Debug, Default)]
pub struct Pass {
    full: HashSet<PlatformKind>,
    pool_full: HashSet<(String, PlatformKind)>,
    no_account: HashSet<String>,
    backing_off: HashMap<PlatformKind, String>,
    /// The platforms' shared state, read once per pass.
    states: Option<HashMap<PlatformKind, PlatformState>>,
}

/// A queued request as the dispatcher sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Waiting {
    /// Bot id.
    pub bot_id: i64,
    /// Its pool.
    pub pool: String,
    /// Priority.
    pub priority: i32,
    /// Requested timeout.
    pub queue_timeout_ms: i32,
    /// When it was first queued.
    pub queued_at: DateTime<Utc>,
    /// Deadline of the current stage.
    pub timeout_at: DateTime<Utc>,
    /// The platform it waits on, if any.
    pub stage_platform: Option<String>,
    /// The end of the request's whole wait for capacity: no platform wait
    /// and no global queue stay lasts past it.
    pub deadline: DateTime<Utc>,
    /// While the router that created it still owns it (a `Routing` entry):
    /// until when. Dispatchers leave it alone until then.
    pub routing_until: Option<DateTime<Utc>>,
}

/// Routes bots onto platforms. Shared by the CLI, the dispatcher and jobs.
#[derive(Clone)]
pub struct Router {
    pub(crate) db: PgPool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) feed: Feed,
    pub(crate) platforms: Platforms,
    pub(crate) images: Arc<ImageGate>,
    /// Whether resumed requests' deploys run in their own tasks (the
    /// dispatcher's mode: one slow start must not hold up the queue).
    detach: bool,
    inflight: Arc<Inflight>,
    /// The leader lease (`BERTH_LEADER_LEASE_MS`): how long a request or a
    /// deploy may go without a sign of life from its router before another
    /// instance takes it over.
    lease_ms: u32,
}

/// The lease a router assumes until told ([`Router::with_lease`]): the
/// production default of `BERTH_LEADER_LEASE_MS`.
pub const DEFAULT_LEASE_MS: u32 = 15_000;

/// Counts deploys running in their own tasks, so shutdown can wait for them.
#[derive(Debug, Default)]
pub struct Inflight {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

impl Inflight {
    fn enter(self: &Arc<Self>) -> InflightGuard {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InflightGuard(self.clone())
    }

    /// Deploys running now.
    pub fn count(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Returns once no deploy is running.
    pub async fn wait_idle(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            idle.await;
        }
    }
}

struct InflightGuard(Arc<Inflight>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if self
            .0
            .count
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
            == 1
        {
            self.0.idle.notify_waiters();
        }
    }
}

fn entry(
    platform: Option<PlatformKind>,
    decision: Decision,
    detail: impl Into<String>,
    at: DateTime<Utc>,
) -> TraceEntry {
    TraceEntry {
        platform,
        decision,
        detail: detail.into(),
        at,
    }
}

impl Router {
    /// A router over `platforms`.
    pub fn new(db: PgPool, clock: Arc<dyn Clock>, feed: Feed, platforms: Platforms) -> Self {
        Router {
            db,
            clock,
            feed,
            platforms,
            images: Arc::new(ImageGate::new()),
            detach: false,
            inflight: Arc::new(Inflight::default()),
            lease_ms: DEFAULT_LEASE_MS,
        }
    }

    /// The same router with another lease (the instance's
    /// `BERTH_LEADER_LEASE_MS`). A request it creates stays its own for a
    /// lease before dispatchers may take it over, and each of its deploys
    /// renews a sign of life every quarter of a lease.
    pub fn with_lease(self, lease_ms: u32) -> Router {
        Router {
            lease_ms: lease_ms.max(1),
            ..self
        }
    }

    /// The lease this router works with.
    pub fn lease_ms(&self) -> u32 {
        self.lease_ms
    }

    /// The same router, but resumed requests' deploys run in their own
    /// tasks: a pass reserves capacity in queue order and returns without
    /// waiting for slow starts. Used by the dispatcher.
    pub fn detached(&self) -> Router {
        Router {
            detach: true,
            ..self.clone()
        }
    }

    /// Deploys running in their own tasks.
    pub fn inflight(&self) -> &Arc<Inflight> {
        &self.inflight
    }

    /// The database pool.
    pub fn db(&self) -> &PgPool {
        &self.db
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The change feed.
    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// The adapters.
    pub fn platforms(&self) -> &Platforms {
        &self.platforms
    }

    /// Records a health check's result (with why, when it is not healthy)
    /// in the database, where every instance's router reads it. Returns
    /// whether the recorded health changed.
    pub async fn record_health(
        &self,
        kind: PlatformKind,
        health: Health,
        detail: Option<&str>,
    ) -> Result<bool> {
        platform::record_health_detail(
            &self.db,
            kind,
            health,
            detail,
            self.clock.now(),
            self.feed.origin(),
        )
        .await
    }

    /// Every platform's shared state (health checks older than
    /// [`crate::instance::HEALTH_MAX_AGE_MS`] read as unknown).
    pub async fn platform_states(&self) -> Result<HashMap<PlatformKind, PlatformState>> {
        platform::shared_state(
            &self.db,
            self.clock.now(),
            Duration::milliseconds(crate::instance::HEALTH_MAX_AGE_MS),
        )
        .await
    }

    /// Why `kind` must be skipped now, if it must: its adapter here fails
    /// fast (circuit breaker open; known at once), or the state every
    /// instance shares says it is down (its last health check, by any
    /// instance, failed, or that instance's breaker is open). A one-shot
    /// command therefore routes exactly as a running instance would. A
    /// verdict older than the health maximum age no longer counts: the
    /// instance that made it may be gone, and live ones re-check far more
    /// often than that.
    pub fn skip_reason(
        &self,
        kind: PlatformKind,
        states: &HashMap<PlatformKind, PlatformState>,
    ) -> Option<String> {
        if let Some(why) = self.platforms.get(kind).and_then(|a| a.unavailable()) {
            return Some(format!("circuit breaker open: {why}"));
        }
        let s = states.get(&kind)?;
        if s.health != Health::Down {
            return None;
        }
        let (at, by) = s.checked?;
        let ago = (self.clock.now() - at).num_milliseconds().max(0) as f64 / 1000.0;
        let who = if by == self.feed.origin() {
            "this instance".to_string()
        } else {
            let id = by.to_string();
            format!("instance {}", &id[..8])
        };
        Some(format!(
            "failing its health checks: {} (recorded by {who} {ago:.1} s ago)",
            s.detail.as_deref().unwrap_or("not answering")
        ))
    }

    /// [`Router::skip_reason`] with the shared state read now.
    pub async fn unhealthy(&self, kind: PlatformKind) -> Result<Option<String>> {
        let states = self.platform_states().await?;
        Ok(self.skip_reason(kind, &states))
    }

    /// The shared state for this pass, read on first use.
    async fn states<'p>(
        &self,
        pass: &'p mut Pass,
    ) -> Result<&'p HashMap<PlatformKind, PlatformState>> {
        if pass.states.is_none() {
            pass.states = Some(self.platform_states().await?);
        }
        Ok(pass.states.get_or_insert_with(HashMap::new))
    }

    async fn trace(&self, bot_id: i64, e: TraceEntry) -> Result<()> {
        let mut conn = self.db.acquire().await?;
        bot::trace(&mut conn, bot_id, &e).await
    }

    /// Creates a bot and routes it: deployed, waiting on a full platform,
    /// or in the global queue. Bad input is refused before anything is written.
    pub async fn create_bot(&self, req: &NewBot) -> Result<DeployOutcome> {
        let url = crate::meeting_url::check(req.meeting_platform, &req.meeting_url)?;
        let pool = match &req.pool {
            Some(name) => {
                let pool = pool::get(&self.db, name).await?;
                if pool.retired {
                    return Err(Error::new(
                        ErrorCode::InvalidInput,
                        format!("pool {name} was retired (its definition was deleted)"),
                    ));
                }
                if pool.meeting_platform != req.meeting_platform {
                    return Err(Error::new(
                        ErrorCode::InvalidInput,
                        format!(
                            "pool {name} serves {}, not {}",
                            pool.meeting_platform.as_str(),
                            req.meeting_platform.as_str()
                        ),
                    ));
                }
                pool
            }
            None => pool::for_meeting_platform(&self.db, req.meeting_platform).await?,
        };
        let priority = req.priority.unwrap_or(pool.queue_priority);
        if priority < 0 {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("priority must be 0 or more, got {priority}"),
            ));
        }
        let timeout = req.queue_timeout_ms.unwrap_or(pool.queue_timeout_ms);
        if !(0..=MAX_REQUEST_QUEUE_TIMEOUT_MS as i32).contains(&timeout) {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("queue timeout must be from 0 to {MAX_REQUEST_QUEUE_TIMEOUT_MS} ms (10 min), got {timeout}"),
            ));
        }
        let settings = settings::load(&self.db).await?;
        let now = self.clock.now();
        let deadline =
            now + Duration::milliseconds(timeout.min(settings.global_queue_timeout_ms).into());
        // The bot and its queue entry commit together: from the moment the
        // request is accepted, something owns it — this router for a lease
        // (the `Routing` entry), then any dispatcher. A router killed or cut
        // off from the database mid-walk can no longer lose it.
        let mut tx = self.db.begin().await?;
        let bot_id: i64 = sqlx::query_scalar(
            "INSERT INTO bots (pool, meeting_platform, meeting_url, priority, queue_timeout_ms, deadline)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&pool.name)
        .bind(req.meeting_platform.as_str())
        .bind(url)
        .bind(priority)
        .bind(timeout)
        .bind(deadline)
        .fetch_one(&mut *tx)
        .await?;
        let held_until = self.routing_hold(now);
        queue::enter(
            &mut tx,
            bot_id,
            priority,
            now,
            Stage::Routing {
                held_until,
                deadline,
            },
        )
        .await?;
        tx.commit().await?;
        self.feed.publish(&[Topic::Bots]);
        let waiting = Waiting {
            bot_id,
            pool: pool.name.clone(),
            priority,
            queue_timeout_ms: timeout,
            queued_at: now,
            timeout_at: deadline,
            stage_platform: None,
            deadline,
            routing_until: Some(held_until),
        };
        self.route_from(&waiting, &pool, &settings, None, true, &mut Pass::default())
            .await
            .map_err(|e| {
                Error::new(
                    e.code(),
                    format!("bot #{bot_id} was accepted but routing it failed ({e}); it stays queued for any running instance to route"),
                )
            })
    }

    /// Until when a router owns a request it is walking the platforms for.
    fn routing_hold(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::milliseconds(self.lease_ms.into())
    }

    /// The platforms a pool may use, in the global priority order (or the pool's own).
    fn candidates<'a>(&self, pool: &Pool, settings: &'a Settings) -> Vec<&'a PlatformSettings> {
        match &pool.allowed_platforms {
            Some(allowed) => allowed
                .iter()
                .filter_map(|k| settings.platform(*k))
                .collect(),
            None => settings.platforms.iter().collect(),
        }
    }

    /// Walks the platforms after `after` (or from the first), as a fresh or
    /// resumed request. `claimed` says the request has a queue entry that
    /// reservations must lock.
    async fn route_from(
        &self,
        w: &Waiting,
        pool: &Pool,
        settings: &Settings,
        after: Option<PlatformKind>,
        claimed: bool,
        pass: &mut Pass,
    ) -> Result<DeployOutcome> {
        let list = self.candidates(pool, settings);
        let start = match after {
            Some(k) => list
                .iter()
                .position(|p| p.platform == k)
                .map(|i| i + 1)
                .unwrap_or(0),
            None => 0,
        };
        let mut claimed = claimed;
        for p in &list[start..] {
            let now = self.clock.now();
            let kind = p.platform;
            if !p.enabled {
                self.trace(
                    w.bot_id,
                    entry(Some(kind), Decision::Disabled, p.disabled_reason(), now),
                )
                .await?;
                continue;
            }
            let Some(limit) = p.bot_limit else {
                self.trace(
                    w.bot_id,
                    entry(
                        Some(kind),
                        Decision::NoLimit,
                        format!("{}_BOT_LIMIT not set", kind.env_prefix()),
                        now,
                    ),
                )
                .await?;
                continue;
            };
            if self.platforms.get(kind).is_none() {
                self.trace(
                    w.bot_id,
                    entry(
                        Some(kind),
                        Decision::Unavailable,
                        "no adapter configured in this instance",
                        now,
                    ),
                )
                .await?;
                continue;
            }
            let unhealthy = {
                let states = self.states(pass).await?;
                self.skip_reason(kind, states)
            };
            if let Some(why) = unhealthy {
                self.trace(w.bot_id, entry(Some(kind), Decision::Unhealthy, why, now))
                    .await?;
                continue;
            }
            match self
                .reserve(w.bot_id, pool, kind, limit, claimed, pass)
                .await?
            {
                Reservation::Skip => return Ok(DeployOutcome::Skipped { bot_id: w.bot_id }),
                Reservation::Reserved(lease) if self.detach => {
                    // In the dispatcher: start in its own task, go on with the queue.
                    return self.launch(w, pool, settings, kind, lease, false).await;
                }
                Reservation::Reserved(lease) => {
                    match self.deploy(w.bot_id, pool, kind, &lease).await {
                        Ok(outcome) => return Ok(outcome),
                        Err(message) => {
                            let now = self.clock.now();
                            // Back to `QUEUED`: own it again before walking on, so
                            // an interruption from here leaves it to a dispatcher.
                            let mut tx = self.db.begin().await?;
                            claimed = queue::enter(
                                &mut tx,
                                w.bot_id,
                                w.priority,
                                w.queued_at,
                                Stage::Routing {
                                    held_until: self.routing_hold(now),
                                    deadline: w.deadline,
                                },
                            )
                            .await?;
                            bot::trace(
                                &mut tx,
                                w.bot_id,
                                &entry(Some(kind), Decision::Failed, message, now),
                            )
                            .await?;
                            tx.commit().await?;
                        }
                    }
                }
                Reservation::PoolFull(detail) => {
                    self.trace(w.bot_id, entry(Some(kind), Decision::PoolFull, detail, now))
                        .await?;
                }
                Reservation::BackingOff(detail) => {
                    self.trace(
                        w.bot_id,
                        entry(Some(kind), Decision::BackingOff, detail, now),
                    )
                    .await?;
                }
                Reservation::NoAccount => {
                    // No platform can help: wait in the global queue for a
                    // returned account or a refresh of the source.
                    let detail = self.no_account_detail(&pool.name).await?;
                    self.trace(w.bot_id, entry(None, Decision::NoAccount, detail, now))
                        .await?;
                    break;
                }
                Reservation::Full(detail) => {
                    // A platform wait never outlasts the request's deadline.
                    let until =
                        (now + Duration::milliseconds(p.queue_timeout_ms.into())).min(w.deadline);
                    if p.queue_timeout_ms > 0 && until <= now {
                        let detail = format!(
                            "{detail}; not waited on: the request's queue timeout has run out"
                        );
                        self.trace(w.bot_id, entry(Some(kind), Decision::Full, detail, now))
                            .await?;
                        continue;
                    }
                    if p.queue_timeout_ms > 0 {
                        let waited = (until - now).num_milliseconds();
                        let mut tx = self.db.begin().await?;
                        queue::enter(
                            &mut tx,
                            w.bot_id,
                            w.priority,
                            w.queued_at,
                            Stage::Platform(kind, until),
                        )
                        .await?;
                        bot::trace(
                            &mut tx,
                            w.bot_id,
                            &entry(
                                Some(kind),
                                Decision::Waiting,
                                format!("{detail}; waiting up to {waited} ms"),
                                now,
                            ),
                        )
                        .await?;
                        tx.commit().await?;
                        self.feed.publish(&[Topic::Queue, Topic::Bots]);
                        return self.queued(w.bot_id, Some(kind), until).await;
                    }
                    self.trace(w.bot_id, entry(Some(kind), Decision::Full, detail, now))
                        .await?;
                }
            }
        }
        // Every platform exhausted: the global queue, until the request's
        // deadline (counted from its creation, not from now: the request's
        // timeout bounds its whole wait for capacity).
        let now = self.clock.now();
        let until = w.deadline;
        let mut tx = self.db.begin().await?;
        queue::enter(
            &mut tx,
            w.bot_id,
            w.priority,
            w.queued_at,
            Stage::Global(until),
        )
        .await?;
        bot::trace(
            &mut tx,
            w.bot_id,
            &entry(
                None,
                Decision::Queued,
                "every platform exhausted; in the global queue",
                now,
            ),
        )
        .await?;
        tx.commit().await?;
        self.feed.publish(&[Topic::Queue, Topic::Bots]);
        self.queued(w.bot_id, None, until).await
    }

    async fn queued(
        &self,
        bot_id: i64,
        waiting_on: Option<PlatformKind>,
        until: DateTime<Utc>,
    ) -> Result<DeployOutcome> {
        let position = queue::position(&self.db, bot_id).await?.unwrap_or(1);
        let rate = queue::release_rate(&self.db, self.clock.now()).await?;
        Ok(DeployOutcome::Queued {
            bot_id,
            waiting_on,
            queue_position: position,
            estimated_wait_ms: queue::estimate_wait_ms(position, rate),
            until,
        })
    }

    /// One transaction: claim the queue entry (if any), check the platform's
    /// limit under a per-platform advisory lock (so concurrent routers cannot
    /// overshoot it), take or create a slot, and mark the bot `DEPLOYING`.
    async fn reserve(
        &self,
        bot_id: i64,
        pool: &Pool,
        kind: PlatformKind,
        limit: i32,
        claimed: bool,
        pass: &mut Pass,
    ) -> Result<Reservation> {
        if pass.full.contains(&kind) {
            return Ok(Reservation::Full(format!("at its limit of {limit}")));
        }
        if pass.pool_full.contains(&(pool.name.clone(), kind)) {
            return Ok(Reservation::PoolFull(pool_full_detail(pool, kind)));
        }
        if pass.no_account.contains(&pool.name) {
            return Ok(Reservation::NoAccount);
        }
        if let Some(detail) = pass.backing_off.get(&kind) {
            return Ok(Reservation::BackingOff(detail.clone()));
        }
        // Every path that does not commit rolls back explicitly: a rollback
        // left to the transaction's drop runs lazily, and would keep this
        // request's queue row locked while it tries the next platform on
        // another connection (which would then skip its own request).
        let mut tx = self.db.begin().await?;
        if claimed {
            let mine: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM deployment_queue WHERE bot_id = $1 FOR UPDATE SKIP LOCKED",
            )
            .bind(bot_id)
            .fetch_optional(&mut *tx)
            .await?;
            if mine.is_none() {
                tx.rollback().await?;
                return Ok(Reservation::Skip);
            }
        }
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth.platform.' || $1))")
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
        let used: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM bots WHERE deployment_platform = $1
               AND status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING')",
        )
        .bind(kind.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if used >= i64::from(limit) {
            pass.full.insert(kind);
            tx.rollback().await?;
            return Ok(Reservation::Full(format!("at its limit ({used}/{limit})")));
        }
        if let Some(detail) = self.claim_deploy_trial(&mut tx, kind).await? {
            pass.backing_off.insert(kind, detail.clone());
            tx.rollback().await?;
            return Ok(Reservation::BackingOff(detail));
        }
        // The account is leased in the same transaction as the slot: both
        // are taken, or neither.
        if pool.uses_accounts
            && account::lease::lease_in(&mut tx, &pool.name, bot_id)
                .await?
                .is_none()
        {
            pass.no_account.insert(pool.name.clone());
            tx.rollback().await?;
            return Ok(Reservation::NoAccount);
        }
        let lease = match self.take_slot(&mut tx, pool, kind, bot_id, pass).await? {
            Ok(lease) => lease,
            Err(full) => {
                tx.rollback().await?;
                return Ok(full);
            }
        };
        let moved = sqlx::query(
            "UPDATE bots SET status = 'DEPLOYING', deployment_platform = $2, updated_at = now()
             WHERE id = $1 AND status = 'QUEUED'",
        )
        .bind(bot_id)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Reservation::Skip);
        }
        sqlx::query("DELETE FROM deployment_queue WHERE bot_id = $1")
            .bind(bot_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.feed
            .publish(&[Topic::Slots, Topic::Bots, Topic::Queue]);
        Ok(Reservation::Reserved(lease))
    }

    /// Inside a reservation: the least recently used idle slot of the pool
    /// on `kind`, else a new one while the pool is under its max size and
    /// fewer than [`MAX_SLOTS_CREATED_PER_REQUEST`] were created for this
    /// request; else why not (the caller rolls back).
    async fn take_slot(
        &self,
        tx: &mut sqlx::PgConnection,
        pool: &Pool,
        kind: PlatformKind,
        bot_id: i64,
        pass: &mut Pass,
    ) -> Result<std::result::Result<Lease, Reservation>> {
        if let Some(lease) = slot::acquire(&mut *tx, &pool.name, kind, bot_id).await? {
            return Ok(Ok(lease));
        }
        let created: i32 = sqlx::query_scalar("SELECT slots_created FROM bots WHERE id = $1")
            .bind(bot_id)
            .fetch_one(&mut *tx)
            .await?;
        if created >= MAX_SLOTS_CREATED_PER_REQUEST {
            return Ok(Err(Reservation::PoolFull(format!(
                "pool {} has no idle slot on {kind}, and {created} slots were already created for this request (the most one request may have); waiting for an idle one",
                pool.name
            ))));
        }
        let Some(lease) = slot::create(&mut *tx, &pool.name, kind, Some(bot_id)).await? else {
            pass.pool_full.insert((pool.name.clone(), kind));
            return Ok(Err(Reservation::PoolFull(pool_full_detail(pool, kind))));
        };
        sqlx::query("UPDATE bots SET slots_created = slots_created + 1 WHERE id = $1")
            .bind(bot_id)
            .execute(&mut *tx)
            .await?;
        Ok(Ok(lease))
    }

    /// Inside a reservation (under the platform's lock): when deploys onto
    /// `kind` failed lately, by any instance, either says why no new one may
    /// go there yet, or claims the one trial after the backoff: the next try
    /// moves on by the same wait, so concurrent routers make one trial, not
    /// one each. Its outcome then resets the run or lengthens the wait.
    /// The claim commits only with the reservation.
    async fn claim_deploy_trial(
        &self,
        tx: &mut sqlx::PgConnection,
        kind: PlatformKind,
    ) -> Result<Option<String>> {
        let failing: Option<(i32, Option<DateTime<Utc>>, Option<String>)> = sqlx::query_as(
            "SELECT deploy_failures, deploy_retry_at, last_deploy_error FROM platform_health
             WHERE platform = $1 AND deploy_failures > 0",
        )
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((failures, retry_at, last)) = failing else {
            return Ok(None);
        };
        let now = self.clock.now();
        if let Some(at) = retry_at.filter(|at| *at > now) {
            return Ok(Some(format!(
                "backing off: {failures} deploys in a row failed here (last: {}); next try after {}",
                last.as_deref().unwrap_or("unknown"),
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            )));
        }
        sqlx::query("UPDATE platform_health SET deploy_retry_at = $2 WHERE platform = $1")
            .bind(kind.as_str())
            .bind(now + platform::deploy_backoff(failures))
            .execute(&mut *tx)
            .await?;
        Ok(None)
    }

    /// Starts the bot's workload in its reserved slot and records how that went.
    ///
    /// On failure the slot goes to `error` (its resource stays recorded for
    /// recovery; the platform-side description says why), the bot returns
    /// to `QUEUED`, its account goes back uncounted, and a platform failure
    /// counts towards the platform's deploy backoff (and, when it opened
    /// the adapter's breaker, the platform is recorded down for every
    /// instance at once). The message says why.
    ///
    /// A deploy whose lease moved on while it ran (recovery took the slot
    /// back, the bot ended, a newer lease holds the slot) changes nothing of
    /// the bot or the slot: it stops only the workload it started itself,
    /// never a newer lease's, and returns `Skipped`.
    async fn deploy(
        &self,
        bot_id: i64,
        pool: &Pool,
        kind: PlatformKind,
        lease: &Lease,
    ) -> Result<DeployOutcome, String> {
        let started = self
            .keeping_alive(lease, self.start_workload(bot_id, pool, kind, lease))
            .await;
        let now = self.clock.now();
        let platform_ref = match started {
            Ok(r) => r,
            Err(StartError::Stale) => return Ok(DeployOutcome::Skipped { bot_id }),
            Err(e) => return self.deploy_failed(bot_id, kind, lease, e, now).await,
        };
        let busy = slot::mark_busy(&self.db, lease.slot_id, lease.epoch, now)
            .await
            .map_err(|e| e.to_string())?;
        if !busy {
            self.abandon_stale_start(kind, lease, &platform_ref).await;
            return Ok(DeployOutcome::Skipped { bot_id });
        }
        let _ = sqlx::query("UPDATE bots SET status = 'JOINING_CALL', updated_at = now() WHERE id = $1 AND status = 'DEPLOYING'")
            .bind(bot_id)
            .execute(&self.db)
            .await;
        let mut r = lease.slot_ref();
        r.platform_ref = Some(platform_ref.clone());
        self.describe(kind, &r, &description::busy(bot_id, now))
            .await;
        if let Err(e) = platform::record_deploy_success(&self.db, kind).await {
            tracing::warn!(platform = %kind, error = %e, "deploy success not recorded");
        }
        let _ = self
            .trace(
                bot_id,
                entry(
                    Some(kind),
                    Decision::Deployed,
                    format!("in {}", lease.slot_name),
                    now,
                ),
            )
            .await;
        self.feed.publish(&[Topic::Slots, Topic::Bots]);
        Ok(DeployOutcome::Deployed {
            bot_id,
            platform: kind,
            slot_name: lease.slot_name.clone(),
            platform_identifier: Some(platform_ref),
        })
    }

    /// The failure side of [`Router::deploy`].
    async fn deploy_failed(
        &self,
        bot_id: i64,
        kind: PlatformKind,
        lease: &Lease,
        error: StartError,
        now: DateTime<Utc>,
    ) -> Result<DeployOutcome, String> {
        let message = error.to_string();
        let internal = |e: sqlx::Error| e.to_string();
        // Only while this deploy still holds its lease: a stale one leaves
        // the slot, the bot and its account to whoever holds them now.
        let mut tx = self.db.begin().await.map_err(internal)?;
        let held: Option<Option<String>> = sqlx::query_scalar(
            "SELECT platform_ref FROM pool_slots
             WHERE id = $1 AND epoch = $2 AND status = 'deploying' AND assigned_bot_id = $3 FOR UPDATE",
        )
        .bind(lease.slot_id)
        .bind(lease.epoch)
        .bind(bot_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?;
        let Some(platform_ref) = held else {
            tx.rollback().await.map_err(internal)?;
            tracing::info!(bot = bot_id, slot = %lease.slot_name, error = %message, "a deploy whose lease moved on failed; nothing changed");
            return Ok(DeployOutcome::Skipped { bot_id });
        };
        slot::mark_error(&mut tx, lease.slot_id, Some(lease.epoch), &message, now)
            .await
            .map_err(|e| e.to_string())?;
        sqlx::query("UPDATE bots SET status = 'QUEUED', deployment_platform = NULL, updated_at = now() WHERE id = $1 AND status = 'DEPLOYING'")
            .bind(bot_id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        // The bot never ran with its account: it returns uncounted.
        account::lease::give_back(&self.db, bot_id)
            .await
            .map_err(|e| e.to_string())?;
        if platform_ref.is_some() {
            let mut r = lease.slot_ref();
            r.platform_ref = platform_ref;
            self.describe(kind, &r, &description::error(&message, now))
                .await;
        }
        if let StartError::Platform(_) = &error {
            match platform::record_deploy_failure(&self.db, kind, &message, now).await {
                Ok(n) => {
                    tracing::info!(platform = %kind, failures = n, retry_in_ms = platform::deploy_backoff(n).num_milliseconds(), "deploy failed; backing off")
                }
                Err(e) => {
                    tracing::warn!(platform = %kind, error = %e, "deploy failure not recorded")
                }
            }
            if let Some(why) = self.platforms.get(kind).and_then(|a| a.unavailable()) {
                // Every instance skips it from now on, not after the next health check.
                let detail = format!("circuit breaker open: {why}");
                if let Err(e) = self.record_health(kind, Health::Down, Some(&detail)).await {
                    tracing::warn!(platform = %kind, error = %e, "open breaker not recorded");
                }
            }
        }
        self.feed
            .publish(&[Topic::Slots, Topic::Bots, Topic::Pools]);
        Err(message)
    }

    /// Writes a slot's description on the platform side (reference 003);
    /// a failure is logged, never fatal: the database keeps the same text.
    pub(crate) async fn describe(
        &self,
        kind: PlatformKind,
        slot: &crate::platform::SlotRef,
        text: &str,
    ) {
        let Some(adapter) = self.platforms.get(kind) else {
            return;
        };
        if slot.platform_ref.is_none() {
            return;
        }
        if let Err(e) = adapter.describe(slot, text).await {
            tracing::warn!(error = %e, slot = %slot.slot_name, "description not updated");
        }
    }

    /// Stops the workload a deploy started for a lease that moved on while
    /// it ran: that lease's own only (its epoch's Job, its task; platforms
    /// with one workload per slot refuse to stop a newer lease's).
    async fn abandon_stale_start(&self, kind: PlatformKind, lease: &Lease, platform_ref: &str) {
        tracing::warn!(slot = %lease.slot_name, epoch = lease.epoch, "the lease moved on while its workload started; stopping that workload only");
        let Some(adapter) = self.platforms.get(kind) else {
            return;
        };
        let mut r = lease.slot_ref();
        r.platform_ref = Some(platform_ref.to_string());
        if let Err(e) = adapter.stop(&r).await {
            tracing::warn!(slot = %lease.slot_name, error = %e, "stale workload not stopped; reconciliation will find it");
        }
    }

    /// Whether `bot_id` still holds `lease` (its slot deploying at that epoch).
    async fn holds(&self, lease: &Lease, bot_id: i64) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pool_slots
                            WHERE id = $1 AND epoch = $2 AND status = 'deploying' AND assigned_bot_id = $3)",
        )
        .bind(lease.slot_id)
        .bind(lease.epoch)
        .bind(bot_id)
        .fetch_one(&self.db)
        .await?)
    }

    /// Runs `work` (a start on the platform) while renewing the slot's sign
    /// of life every quarter of the lease, so the sweep can tell this live,
    /// if slow, deploy from one whose process died. The renewals run beside
    /// the start, never in its way (a renewal stuck on an unreachable
    /// database does not hold the start up).
    async fn keeping_alive<T>(
        &self,
        lease: &Lease,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let period = std::time::Duration::from_millis(u64::from(self.lease_ms / 4).max(10));
        let beat = async {
            loop {
                tokio::time::sleep(period).await;
                if let Err(e) = slot::touch_deploying(&self.db, lease.slot_id, lease.epoch).await {
                    tracing::debug!(error = %e, slot = %lease.slot_name, "deploy's sign of life not renewed");
                }
            }
        };
        tokio::pin!(work, beat);
        tokio::select! {
            biased;
            out = &mut work => out,
            _ = &mut beat => unreachable!("the renewals never end"),
        }
    }

    async fn start_workload(
        &self,
        bot_id: i64,
        pool: &Pool,
        kind: PlatformKind,
        lease: &Lease,
    ) -> Result<String, StartError> {
        let internal = |e: Error| StartError::Internal(e.to_string());
        let adapter = self
            .platforms
            .get(kind)
            .ok_or_else(|| StartError::Internal(format!("no adapter for {kind}")))?;
        self.images
            .ensure(&self.db, adapter.as_ref(), &pool.image)
            .await
            .map_err(StartError::Platform)?;
        let mut r = lease.slot_ref();
        let platform_ref = match &lease.platform_ref {
            Some(p) => p.clone(),
            None => {
                let created = adapter
                    .create_resource(&r)
                    .await
                    .map_err(StartError::Platform)?;
                if !slot::set_platform_ref(&self.db, lease.slot_id, lease.epoch, &created)
                    .await
                    .map_err(internal)?
                {
                    return Err(StartError::Stale);
                }
                created
            }
        };
        r.platform_ref = Some(platform_ref.clone());
        let spec = BotSpec {
            bot_id,
            meeting_platform: pool.meeting_platform,
            meeting_url: sqlx::query_scalar("SELECT meeting_url FROM bots WHERE id = $1")
                .bind(bot_id)
                .fetch_one(&self.db)
                .await
                .map_err(|e| StartError::Internal(e.to_string()))?,
            image: pool.image.clone(),
            resources: crate::definition::resources_of(&self.db, &pool.name)
                .await
                .map_err(internal)?,
            account: account::lease::held_by(&self.db, bot_id)
                .await
                .map_err(internal)?
                .map(|a| BotAccount {
                    key: a.account_key,
                    data: a.data.to_string(),
                }),
        };
        // A last look before the platform is touched for this lease: one
        // that moved on while the image was pulled or the resource created
        // starts nothing.
        if !self.holds(lease, bot_id).await.map_err(internal)? {
            return Err(StartError::Stale);
        }
        self.describe(kind, &r, &description::deploying(bot_id))
            .await;
        match adapter
            .start(&r, &spec)
            .await
            .map_err(StartError::Platform)?
        {
            // The workload has its own identifier (an ECS task ARN): it
            // becomes the slot's reference, so stop and reconciliation find
            // it. Not recorded for a lease that moved on: `deploy` then
            // stops that task by this identifier.
            Some(workload) if workload != platform_ref => {
                slot::set_platform_ref(&self.db, lease.slot_id, lease.epoch, &workload)
                    .await
                    .map_err(internal)?;
                Ok(workload)
            }
            _ => Ok(platform_ref),
        }
    }

    /// Gives one queued request another go: at its platform (moving on when
    /// its wait is over) or, in the global queue, at every platform in order.
    pub async fn resume(
        &self,
        w: &Waiting,
        settings: &Settings,
        pools: &HashMap<String, Pool>,
        pass: &mut Pass,
    ) -> Result<DeployOutcome> {
        let Some(pool) = pools.get(&w.pool) else {
            return Err(Error::new(
                ErrorCode::NotFound,
                format!("no pool named {:?}", w.pool),
            ));
        };
        let now = self.clock.now();
        if let Some(held_until) = w.routing_until {
            // Its router still walks the platforms for it; once its hold
            // has passed without a word, that router was interrupted: take
            // the request over (one dispatcher wins) and walk it afresh.
            if now < held_until
                || !queue::take_over(&self.db, w.bot_id, now, self.routing_hold(now)).await?
            {
                return Ok(DeployOutcome::Skipped { bot_id: w.bot_id });
            }
            self.trace(
                w.bot_id,
                entry(
                    None,
                    Decision::Interrupted,
                    "the process routing it stopped before it was settled; routed again by a dispatcher",
                    now,
                ),
            )
            .await?;
            return self.route_from(w, pool, settings, None, true, pass).await;
        }
        match w
            .stage_platform
            .as_deref()
            .map(str::parse::<PlatformKind>)
            .transpose()?
        {
            Some(kind) => {
                let p = settings.platform(kind);
                let healthy = {
                    let states = self.states(pass).await?;
                    self.skip_reason(kind, states).is_none()
                };
                let usable = p.is_some_and(|p| p.enabled && p.bot_limit.is_some()) && healthy;
                if usable {
                    let limit = p.and_then(|p| p.bot_limit).unwrap_or(0);
                    match self
                        .reserve(w.bot_id, pool, kind, limit, true, pass)
                        .await?
                    {
                        Reservation::Reserved(lease) => {
                            return self.launch(w, pool, settings, kind, lease, false).await;
                        }
                        Reservation::Skip => {
                            return Ok(DeployOutcome::Skipped { bot_id: w.bot_id })
                        }
                        Reservation::Full(_)
                        | Reservation::PoolFull(_)
                        | Reservation::NoAccount
                            if now < w.timeout_at =>
                        {
                            return self.queued(w.bot_id, Some(kind), w.timeout_at).await;
                        }
                        // A platform whose deploys keep failing: move on at
                        // once, as after a failed deploy.
                        Reservation::NoAccount | Reservation::BackingOff(_) => {}
                        Reservation::Full(detail) | Reservation::PoolFull(detail) => {
                            let waited = (now - w.queued_at).num_milliseconds();
                            self.trace(w.bot_id, entry(Some(kind), Decision::Full, format!("{detail}; waited its queue timeout ({waited} ms since queued)"), now)).await?;
                        }
                    }
                }
                self.route_from(w, pool, settings, Some(kind), true, pass)
                    .await
            }
            None => {
                // Global queue: any platform with room, in priority order, no waiting.
                for p in self.candidates(pool, settings) {
                    let kind = p.platform;
                    let Some(limit) = p.bot_limit else { continue };
                    if !p.enabled || self.platforms.get(kind).is_none() {
                        continue;
                    }
                    let unhealthy = {
                        let states = self.states(pass).await?;
                        self.skip_reason(kind, states).is_some()
                    };
                    if unhealthy {
                        continue;
                    }
                    match self
                        .reserve(w.bot_id, pool, kind, limit, true, pass)
                        .await?
                    {
                        Reservation::Reserved(lease) => {
                            return self.launch(w, pool, settings, kind, lease, true).await;
                        }
                        Reservation::Skip => {
                            return Ok(DeployOutcome::Skipped { bot_id: w.bot_id })
                        }
                        Reservation::Full(_)
                        | Reservation::PoolFull(_)
                        | Reservation::BackingOff(_) => {}
                        // No platform can help until an account returns.
                        Reservation::NoAccount => break,
                    }
                }
                self.queued(w.bot_id, None, w.timeout_at).await
            }
        }
    }

    /// Deploys a resumed request into its reserved slot — in its own task
    /// when detached, so the pass goes on to the next entry at once.
    fn launch<'a>(
        &'a self,
        w: &'a Waiting,
        pool: &'a Pool,
        settings: &'a Settings,
        kind: PlatformKind,
        lease: Lease,
        from_global: bool,
    ) -> BoxedOutcome<'a> {
        // Boxed with an explicit `Send` type: failing over re-enters
        // `route_from`, which may launch again (a recursive future).
        Box::pin(async move {
            if !self.detach {
                return self
                    .deploy_or_fail_over(
                        w.clone(),
                        pool.clone(),
                        settings.clone(),
                        kind,
                        lease,
                        from_global,
                    )
                    .await;
            }
            let outcome = DeployOutcome::Deployed {
                bot_id: w.bot_id,
                platform: kind,
                slot_name: lease.slot_name.clone(),
                platform_identifier: lease.platform_ref.clone(),
            };
            let (me, w, pool, settings) = (self.clone(), w.clone(), pool.clone(), settings.clone());
            let guard = self.inflight.enter();
            let task: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
                Box::pin(async move {
                    let _guard = guard;
                    if let Err(e) = me
                        .deploy_or_fail_over(w, pool, settings, kind, lease, from_global)
                        .await
                    {
                        tracing::warn!(error = %e, "deploy of a queued request failed");
                    }
                });
            tokio::spawn(task);
            Ok(outcome)
        })
    }

    /// Starts the workload; when that fails, records why and moves on: to
    /// the next platform (after a platform wait) or back into the global
    /// queue with the request's original deadline.
    async fn deploy_or_fail_over(
        &self,
        w: Waiting,
        pool: Pool,
        settings: Settings,
        kind: PlatformKind,
        lease: Lease,
        from_global: bool,
    ) -> Result<DeployOutcome> {
        match self.deploy(w.bot_id, &pool, kind, &lease).await {
            Ok(o) => Ok(o),
            Err(message) => {
                self.trace(
                    w.bot_id,
                    entry(Some(kind), Decision::Failed, message, self.clock.now()),
                )
                .await?;
                if from_global {
                    let mut tx = self.db.begin().await?;
                    queue::enter(
                        &mut tx,
                        w.bot_id,
                        w.priority,
                        w.queued_at,
                        Stage::Global(w.timeout_at),
                    )
                    .await?;
                    tx.commit().await?;
                    self.feed.publish(&[Topic::Queue]);
                    return self.queued(w.bot_id, None, w.timeout_at).await;
                }
                let fresh = Waiting {
                    stage_platform: None,
                    ..w
                };
                self.route_from(
                    &fresh,
                    &pool,
                    &settings,
                    Some(kind),
                    false,
                    &mut Pass::default(),
                )
                .await
            }
        }
    }

    /// A bot reports its status. `DONE`/`FATAL` end it: its queue entry goes,
    /// its workload is stopped and its slot released (or put in `error` if
    /// the stop fails, for recovery to handle).
    pub async fn report(&self, bot_id: i64, status: BotStatus, reason: Option<&str>) -> Result<()> {
        let current: Option<String> = sqlx::query_scalar("SELECT status FROM bots WHERE id = $1")
            .bind(bot_id)
            .fetch_optional(&self.db)
            .await?;
        let current: BotStatus = current
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no bot #{bot_id}")))?
            .parse()?;
        if !bot::may_report(current, status) {
            return Err(Error::new(
                ErrorCode::StaleTransition,
                format!("bot #{bot_id} is {current}; it cannot report {status}"),
            ));
        }
        if !status.is_final() {
            let moved = sqlx::query(
                "UPDATE bots SET status = $2, updated_at = now() WHERE id = $1 AND status = $3",
            )
            .bind(bot_id)
            .bind(status.as_str())
            .bind(current.as_str())
            .execute(&self.db)
            .await?;
            if moved.rows_affected() == 0 {
                return Err(Error::new(
                    ErrorCode::StaleTransition,
                    format!("bot #{bot_id} changed status while reporting {status}; read it and try again"),
                ));
            }
            self.feed.publish(&[Topic::Bots]);
            return Ok(());
        }
        let error = (status == BotStatus::Fatal)
            .then(|| reason.unwrap_or("reported FATAL by the bot").to_string());
        self.finish(bot_id, status, error.as_deref()).await
    }

    /// Ends a bot (`DONE` or `FATAL`) and frees what it held. Finishing a
    /// bot that already ended frees whatever it still holds (a finish cut
    /// off halfway is completed by the next one), and changes nothing else.
    pub async fn finish(&self, bot_id: i64, status: BotStatus, error: Option<&str>) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let ended = sqlx::query(
            "UPDATE bots SET status = $2, error = $3, ended_at = now(), updated_at = now()
             WHERE id = $1 AND status NOT IN ('DONE', 'FATAL')",
        )
        .bind(bot_id)
        .bind(status.as_str())
        .bind(error)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM deployment_queue WHERE bot_id = $1")
            .bind(bot_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let (status, error) = if ended.rows_affected() == 1 {
            (status, error.map(str::to_string))
        } else {
            // Already ended — by another caller, or by a finish cut off
            // before it freed what the bot held: free what is left, as the
            // status it ended with says.
            let stored: Option<(String, Option<String>)> =
                sqlx::query_as("SELECT status, error FROM bots WHERE id = $1")
                    .bind(bot_id)
                    .fetch_optional(&self.db)
                    .await?;
            match stored {
                Some((s, e)) => (s.parse()?, e),
                None => return Ok(()),
            }
        };
        if let Some(s) = slot::of_bot(&self.db, bot_id).await? {
            self.release_slot(&s, &format!("bot #{bot_id} {status}"))
                .await?;
        }
        self.end_account(bot_id, status, error.as_deref()).await?;
        self.feed
            .publish(&[Topic::Bots, Topic::Queue, Topic::Slots]);
        Ok(())
    }

    /// Ends the account lease of a bot that ended: `DONE` completes the
    /// account, `FATAL` counts a failure (the pool's `retry_failed` and
    /// `max_failures` decide whether it returns).
    async fn end_account(&self, bot_id: i64, status: BotStatus, error: Option<&str>) -> Result<()> {
        let Some(held) = account::lease::held_by(&self.db, bot_id).await? else {
            return Ok(());
        };
        let config = account::lease::config_of(&self.db, &held.pool)
            .await?
            .unwrap_or_default();
        let outcome = match status {
            BotStatus::Done => account::lease::Outcome::Completed,
            _ => account::lease::Outcome::Failed(error.unwrap_or("the bot failed").to_string()),
        };
        account::lease::finish(&self.db, bot_id, &outcome, &config).await?;
        self.feed.publish(&[Topic::Pools]);
        Ok(())
    }

    /// Why a pool's bots wait for an account, with its account counts.
    async fn no_account_detail(&self, pool: &str) -> Result<String> {
        let s = account::lease::stats(&self.db, pool).await?;
        Ok(format!(
            "no account available in {pool} ({} in use, {} completed, {} failed); waiting for one to return or a refresh",
            s.in_use, s.completed, s.failed
        ))
    }

    /// Stops a held slot's workload and returns the slot to `idle` (or
    /// `error` when the stop fails). A stale epoch changes nothing.
    pub async fn release_slot(&self, s: &slot::SlotView, reason: &str) -> Result<bool> {
        let kind = s.deployment_platform;
        let r = crate::platform::SlotRef {
            slot_id: s.id,
            slot_name: s.slot_name.clone(),
            pool: s.pool.clone(),
            epoch: s.epoch,
            platform_ref: s.platform_ref.clone(),
        };
        let stopped = match self.platforms.get(kind) {
            Some(adapter) if s.platform_ref.is_some() => {
                adapter.stop(&r).await.map_err(|e| e.to_string())
            }
            Some(_) => Ok(()),
            None => Err(format!("no adapter for {kind} in this instance")),
        };
        let mut conn = self.db.acquire().await?;
        // The platform-side description follows the state the database
        // records, in the same words.
        let changed = match stopped {
            Ok(()) => {
                let released = slot::release(&mut conn, s.id, s.epoch, reason)
                    .await?
                    .is_some();
                drop(conn);
                if released {
                    self.describe(kind, &r, &description::idle(s.last_used_at))
                        .await;
                }
                released
            }
            Err(message) => {
                let message = format!("stop failed: {message}");
                let now = self.clock.now();
                let errored = slot::mark_error(&mut conn, s.id, Some(s.epoch), &message, now)
                    .await?
                    .is_some();
                drop(conn);
                if errored {
                    self.describe(kind, &r, &description::error(&message, now))
                        .await;
                }
                errored
            }
        };
        self.feed.publish(&[Topic::Slots]);
        Ok(changed)
    }
}

fn pool_full_detail(pool: &Pool, kind: PlatformKind) -> String {
    format!(
        "pool {} has no idle slot on {kind} and is at its max size of {}",
        pool.name, pool.max_size
    )
}
