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
use std::sync::{Arc, RwLock};

use crate::account;
use crate::bot::{self, Decision, TraceEntry};
use crate::clock::Clock;
use crate::config::MAX_REQUEST_QUEUE_TIMEOUT_MS;
use crate::description;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::{Feed, Topic};
use crate::meeting::{BotStatus, MeetingPlatform, PlatformKind};
use crate::platform::image::ImageGate;
use crate::platform::{BotAccount, BotSpec, Health, Platforms};
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

/// What a reservation attempt found.
#[derive(Debug)]
enum Reservation {
    Reserved(Lease),
    Full(String),
    PoolFull(String),
    /// The pool's bots need an account and none is available.
    NoAccount,
    /// The bot is no longer this caller's to route (claimed elsewhere or ended).
    Skip,
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
}

/// Per-instance view of platform health (from the adapters' checks).
#[derive(Debug, Default)]
pub struct HealthBoard {
    map: RwLock<HashMap<PlatformKind, Health>>,
}

impl HealthBoard {
    /// Records a check's result.
    pub fn set(&self, kind: PlatformKind, health: Health) {
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kind, health);
    }
    /// The last known health (`Unknown` before any check).
    pub fn get(&self, kind: PlatformKind) -> Health {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&kind)
            .copied()
            .unwrap_or(Health::Unknown)
    }
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
}

/// Routes bots onto platforms. Shared by the CLI, the dispatcher and jobs.
#[derive(Clone)]
pub struct Router {
    pub(crate) db: PgPool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) feed: Feed,
    pub(crate) platforms: Platforms,
    pub(crate) images: Arc<ImageGate>,
    pub(crate) health: Arc<HealthBoard>,
    /// Whether resumed requests' deploys run in their own tasks (the
    /// dispatcher's mode: one slow start must not hold up the queue).
    detach: bool,
    inflight: Arc<Inflight>,
}

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
            health: Arc::new(HealthBoard::default()),
            detach: false,
            inflight: Arc::new(Inflight::default()),
        }
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

    /// Platform health as last checked.
    pub fn health(&self) -> &HealthBoard {
        &self.health
    }

    /// The adapters.
    pub fn platforms(&self) -> &Platforms {
        &self.platforms
    }

    /// Why `kind` must be skipped now, if it must: its adapter fails fast
    /// (circuit breaker open; known at once, before any health check) or
    /// its last health check found it down.
    pub fn unhealthy(&self, kind: PlatformKind) -> Option<String> {
        if let Some(why) = self.platforms.get(kind).and_then(|a| a.unavailable()) {
            return Some(format!("circuit breaker open: {why}"));
        }
        (self.health.get(kind) == Health::Down).then(|| "failing its health checks".to_string())
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
        let bot_id: i64 = sqlx::query_scalar(
            "INSERT INTO bots (pool, meeting_platform, meeting_url, priority, queue_timeout_ms)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&pool.name)
        .bind(req.meeting_platform.as_str())
        .bind(url)
        .bind(priority)
        .bind(timeout)
        .fetch_one(&self.db)
        .await?;
        self.feed.publish(&[Topic::Bots]);
        let waiting = Waiting {
            bot_id,
            pool: pool.name.clone(),
            priority,
            queue_timeout_ms: timeout,
            queued_at: self.clock.now(),
            timeout_at: self.clock.now(),
            stage_platform: None,
        };
        let settings = settings::load(&self.db).await?;
        self.route_from(
            &waiting,
            &pool,
            &settings,
            None,
            false,
            &mut Pass::default(),
        )
        .await
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
            if let Some(why) = self.unhealthy(kind) {
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
                    claimed = false;
                    match self.deploy(w.bot_id, pool, kind, &lease).await {
                        Ok(outcome) => return Ok(outcome),
                        Err(message) => {
                            let now = self.clock.now();
                            self.trace(w.bot_id, entry(Some(kind), Decision::Failed, message, now))
                                .await?;
                        }
                    }
                }
                Reservation::PoolFull(detail) => {
                    self.trace(w.bot_id, entry(Some(kind), Decision::PoolFull, detail, now))
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
                    if p.queue_timeout_ms > 0 {
                        let until = now + Duration::milliseconds(p.queue_timeout_ms.into());
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
                                format!("{detail}; waiting up to {} ms", p.queue_timeout_ms),
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
        // Every platform exhausted: the global queue.
        let now = self.clock.now();
        let until = match &w.stage_platform {
            // Already in the global queue: keep its deadline.
            None if claimed => w.timeout_at,
            _ => {
                let ms = w.queue_timeout_ms.min(settings.global_queue_timeout_ms);
                now + Duration::milliseconds(ms.into())
            }
        };
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
        let lease = match slot::acquire(&mut tx, &pool.name, kind, bot_id).await? {
            Some(l) => l,
            None => match slot::create(&mut tx, &pool.name, kind, Some(bot_id)).await? {
                Some(l) => l,
                None => {
                    pass.pool_full.insert((pool.name.clone(), kind));
                    tx.rollback().await?;
                    return Ok(Reservation::PoolFull(pool_full_detail(pool, kind)));
                }
            },
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

    /// Starts the bot's workload in its reserved slot. On failure the slot
    /// goes to `error` (its resource stays recorded for recovery) and the
    /// bot returns to `QUEUED`; the message says why.
    async fn deploy(
        &self,
        bot_id: i64,
        pool: &Pool,
        kind: PlatformKind,
        lease: &Lease,
    ) -> Result<DeployOutcome, String> {
        let result = self.start_workload(bot_id, pool, kind, lease).await;
        match result {
            Ok(platform_ref) => {
                let now = self.clock.now();
                let busy = slot::mark_busy(&self.db, lease.slot_id, lease.epoch, now)
                    .await
                    .map_err(|e| e.to_string())?;
                if busy {
                    let _ = sqlx::query("UPDATE bots SET status = 'JOINING_CALL', updated_at = now() WHERE id = $1 AND status = 'DEPLOYING'")
                        .bind(bot_id)
                        .execute(&self.db)
                        .await;
                    if let Some(adapter) = self.platforms.get(kind) {
                        let mut r = lease.slot_ref();
                        r.platform_ref = Some(platform_ref.clone());
                        if let Err(e) = adapter.describe(&r, &description::busy(bot_id, now)).await
                        {
                            tracing::warn!(error = %e, slot = %lease.slot_name, "description not updated");
                        }
                    }
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
            Err(message) => {
                let now = self.clock.now();
                let mut conn = self.db.acquire().await.map_err(|e| e.to_string())?;
                slot::mark_error(&mut conn, lease.slot_id, Some(lease.epoch), &message, now)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query("UPDATE bots SET status = 'QUEUED', deployment_platform = NULL, updated_at = now() WHERE id = $1 AND status = 'DEPLOYING'")
                    .bind(bot_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| e.to_string())?;
                drop(conn);
                // The bot never ran with its account: it returns uncounted.
                account::lease::give_back(&self.db, bot_id)
                    .await
                    .map_err(|e| e.to_string())?;
                self.feed
                    .publish(&[Topic::Slots, Topic::Bots, Topic::Pools]);
                Err(message)
            }
        }
    }

    async fn start_workload(
        &self,
        bot_id: i64,
        pool: &Pool,
        kind: PlatformKind,
        lease: &Lease,
    ) -> Result<String, String> {
        let adapter = self
            .platforms
            .get(kind)
            .ok_or_else(|| format!("no adapter for {kind}"))?;
        self.images
            .ensure(&self.db, adapter.as_ref(), &pool.image)
            .await
            .map_err(|e| e.to_string())?;
        let mut r = lease.slot_ref();
        let platform_ref = match &lease.platform_ref {
            Some(p) => p.clone(),
            None => {
                let created = adapter
                    .create_resource(&r)
                    .await
                    .map_err(|e| e.to_string())?;
                slot::set_platform_ref(&self.db, lease.slot_id, lease.epoch, &created)
                    .await
                    .map_err(|e| e.to_string())?;
                created
            }
        };
        r.platform_ref = Some(platform_ref.clone());
        if let Err(e) = adapter.describe(&r, &description::deploying(bot_id)).await {
            tracing::warn!(error = %e, slot = %lease.slot_name, "description not updated");
        }
        let spec = BotSpec {
            bot_id,
            meeting_platform: pool.meeting_platform,
            meeting_url: sqlx::query_scalar("SELECT meeting_url FROM bots WHERE id = $1")
                .bind(bot_id)
                .fetch_one(&self.db)
                .await
                .map_err(|e| e.to_string())?,
            image: pool.image.clone(),
            resources: crate::definition::resources_of(&self.db, &pool.name)
                .await
                .map_err(|e| e.to_string())?,
            account: account::lease::held_by(&self.db, bot_id)
                .await
                .map_err(|e| e.to_string())?
                .map(|a| BotAccount {
                    key: a.account_key,
                    data: a.data.to_string(),
                }),
        };
        match adapter.start(&r, &spec).await.map_err(|e| e.to_string())? {
            // The workload has its own identifier (an ECS task ARN): it
            // becomes the slot's reference, so stop and reconciliation find it.
            Some(workload) if workload != platform_ref => {
                slot::set_platform_ref(&self.db, lease.slot_id, lease.epoch, &workload)
                    .await
                    .map_err(|e| e.to_string())?;
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
        match w
            .stage_platform
            .as_deref()
            .map(str::parse::<PlatformKind>)
            .transpose()?
        {
            Some(kind) => {
                let p = settings.platform(kind);
                let usable = p.is_some_and(|p| p.enabled && p.bot_limit.is_some())
                    && self.unhealthy(kind).is_none();
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
                        Reservation::NoAccount => {}
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
                    if !p.enabled
                        || self.platforms.get(kind).is_none()
                        || self.unhealthy(kind).is_some()
                    {
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
                        Reservation::Full(_) | Reservation::PoolFull(_) => {}
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

    /// Ends a bot (`DONE` or `FATAL`) and frees what it held.
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
        if ended.rows_affected() == 0 {
            return Ok(());
        }
        if let Some(s) = slot::of_bot(&self.db, bot_id).await? {
            self.release_slot(&s, &format!("bot #{bot_id} {status}"))
                .await?;
        }
        self.end_account(bot_id, status, error).await?;
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
        let kind: PlatformKind = s.deployment_platform.parse()?;
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
        let changed = match stopped {
            Ok(()) => {
                let released = slot::release(&mut conn, s.id, s.epoch, reason)
                    .await?
                    .is_some();
                if released {
                    if let (Some(adapter), Some(_)) = (self.platforms.get(kind), &s.platform_ref) {
                        let _ = adapter
                            .describe(&r, &description::idle(s.last_used_at))
                            .await;
                    }
                }
                released
            }
            Err(message) => slot::mark_error(
                &mut conn,
                s.id,
                Some(s.epoch),
                &format!("stop failed: {message}"),
                self.clock.now(),
            )
            .await?
            .is_some(),
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
