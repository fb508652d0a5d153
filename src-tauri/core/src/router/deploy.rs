//! Starting the workload in a reserved slot, and settling the slot, the bot
//! and the platform's backoff when the start fails.

use chrono::{DateTime, Utc};

use super::{entry, DeployOutcome, Router, Waiting};
use crate::account;
use crate::bot::{self, Decision};
use crate::bot_lease::{token, BotToken};
use crate::description;
use crate::error::{Error, Result};
use crate::feed::Topic;
use crate::meeting::PlatformKind;
use crate::platform::image::Pull;
use crate::platform::{
    self as platform, BotAccount, BotSpec, FailureKind, Health, PlatformError, ResourceSpec,
};
use crate::pool::Pool;
use crate::slot::{self, Lease};

/// Why a deploy did not happen. The platform's own failure keeps its
/// [`FailureKind`], so callers (and the backoff) can tell a timeout from a
/// refused credential; the message (`Display`) is what decision traces and
/// slot descriptions show.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The platform (or its image pull) failed: counts towards its backoff.
    #[error("{0}")]
    Platform(#[from] PlatformError),
    /// No adapter for the platform is configured in this instance.
    #[error("no adapter for {0} in this instance")]
    NoAdapter(PlatformKind),
    /// Berth's own bookkeeping failed (the database).
    #[error("{0}")]
    Internal(#[from] Error),
}

impl DeployError {
    /// The platform's failure kind, when the platform failed.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        match self {
            DeployError::Platform(e) => Some(e.kind),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for DeployError {
    fn from(e: sqlx::Error) -> Self {
        DeployError::Internal(e.into())
    }
}

/// Why a workload was not started.
#[derive(Debug)]
enum StartError {
    /// It failed.
    Failed(DeployError),
    /// The lease is no longer this deploy's (recovered, released, or a
    /// newer lease holds the slot): nothing was started.
    Stale,
}

impl From<PlatformError> for StartError {
    fn from(e: PlatformError) -> Self {
        StartError::Failed(e.into())
    }
}

impl From<Error> for StartError {
    fn from(e: Error) -> Self {
        StartError::Failed(e.into())
    }
}

impl From<sqlx::Error> for StartError {
    fn from(e: sqlx::Error) -> Self {
        StartError::Failed(e.into())
    }
}

impl Router {
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
    ///
    /// Counted in the router's metrics: a dispatch on `kind`, a failure by
    /// its kind, and for a bot deployed its wait for capacity (from its
    /// acceptance to now, when its slot is reserved).
    pub(super) async fn deploy(
        &self,
        w: &Waiting,
        pool: &Pool,
        kind: PlatformKind,
        lease: &Lease,
    ) -> Result<DeployOutcome, DeployError> {
        let reserved_at = self.clock.now();
        self.instruments.dispatched(kind);
        let deployed = self.start_and_settle(w.bot_id, pool, kind, lease).await;
        match &deployed {
            Ok(DeployOutcome::Deployed { .. }) => {
                self.instruments.waited(&w.pool, reserved_at - w.queued_at)
            }
            Ok(_) => {}
            Err(e) => self.instruments.failed(kind, e),
        }
        deployed
    }

    /// [`Router::deploy`] without the counting: starts the workload and
    /// settles the slot and the bot. The start's duration is observed when
    /// the slot turns busy.
    async fn start_and_settle(
        &self,
        bot_id: i64,
        pool: &Pool,
        kind: PlatformKind,
        lease: &Lease,
    ) -> Result<DeployOutcome, DeployError> {
        let timer = tokio::time::Instant::now();
        // The lead time of scheduled bots is learned on the router's clock
        // (the start metric keeps wall time): under a simulated clock the
        // platform's latency passes on that clock, not in real time.
        let began = self.clock.now();
        let started = self
            .keeping_alive(lease, self.start_workload(bot_id, pool, kind, lease))
            .await;
        let took = timer.elapsed();
        let now = self.clock.now();
        let platform_ref = match started {
            Ok(r) => r,
            Err(StartError::Stale) => return Ok(DeployOutcome::Skipped { bot_id }),
            Err(StartError::Failed(e)) => {
                return self.deploy_failed(bot_id, kind, lease, e, now).await
            }
        };
        let busy = slot::mark_busy(&self.db, lease.slot_id, lease.epoch, now).await?;
        if !busy {
            self.abandon_stale_start(kind, lease, &platform_ref).await;
            return Ok(DeployOutcome::Skipped { bot_id });
        }
        self.instruments.started(kind, took);
        let on_clock = (now - began).to_std().unwrap_or_default();
        // What scheduled bots' lead time is learned from.
        if let Err(e) =
            crate::schedule::lead::observe(&self.db, kind, &pool.name, on_clock, now).await
        {
            tracing::warn!(platform = %kind, error = %e, "deploy duration not recorded");
        }
        // The workload runs and its slot is busy: from here on a failed
        // write is logged, never a failed deploy (which would walk on and
        // leave this workload running).
        if let Err(e) = bot::mark_joining(&self.db, bot_id).await {
            tracing::warn!(bot = bot_id, error = %e, "bot not moved to JOINING_CALL after its deploy");
        }
        let mut r = lease.slot_ref();
        r.platform_ref = Some(platform_ref.clone());
        self.describe(kind, &r, &description::busy(bot_id, now))
            .await;
        if let Err(e) = platform::record_deploy_success(&self.db, kind).await {
            tracing::warn!(platform = %kind, error = %e, "deploy success not recorded");
        }
        let deployed = entry(
            Some(kind),
            Decision::Deployed,
            format!("in {}", lease.slot_name),
            now,
        );
        if let Err(e) = self.trace(bot_id, deployed).await {
            tracing::warn!(bot = bot_id, error = %e, "deploy not traced");
        }
        self.feed
            .publish_slots(&[Topic::Slots, Topic::Bots], &[lease.slot_id]);
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
        error: DeployError,
        now: DateTime<Utc>,
    ) -> Result<DeployOutcome, DeployError> {
        let message = error.to_string();
        // Only while this deploy still holds its lease: a stale one leaves
        // the slot, the bot and its account to whoever holds them now.
        let mut tx = self.db.begin().await?;
        let held: Option<Option<String>> = sqlx::query_scalar(
            "SELECT platform_ref FROM pool_slots
             WHERE id = $1 AND epoch = $2 AND status = 'deploying' AND assigned_bot_id = $3 FOR UPDATE",
        )
        .bind(lease.slot_id)
        .bind(lease.epoch)
        .bind(bot_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(platform_ref) = held else {
            tx.rollback().await?;
            tracing::info!(bot = bot_id, slot = %lease.slot_name, error = %message, "a deploy whose lease moved on failed; nothing changed");
            return Ok(DeployOutcome::Skipped { bot_id });
        };
        slot::mark_error(&mut tx, lease.slot_id, Some(lease.epoch), &message, now).await?;
        bot::requeue_deploying(&mut tx, bot_id).await?;
        tx.commit().await?;
        // The bot never ran with its account: it returns uncounted.
        account::lease::give_back(&self.db, bot_id).await?;
        if platform_ref.is_some() {
            let mut r = lease.slot_ref();
            r.platform_ref = platform_ref;
            self.describe(kind, &r, &description::error(&message, now))
                .await;
        }
        if let Some(failure) = error.failure_kind() {
            match platform::record_deploy_failure(&self.db, kind, &message, now).await {
                Ok(n) => {
                    tracing::info!(platform = %kind, failures = n, kind = ?failure, retry_in_ms = platform::deploy_backoff(n).num_milliseconds(), "deploy failed; backing off")
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
            .publish_slots(&[Topic::Slots, Topic::Bots, Topic::Pools], &[lease.slot_id]);
        Err(error)
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
    pub(super) async fn abandon_stale_start(
        &self,
        kind: PlatformKind,
        lease: &Lease,
        platform_ref: &str,
    ) {
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
        let adapter = self
            .platforms
            .get(kind)
            .ok_or(StartError::Failed(DeployError::NoAdapter(kind)))?;
        let clock = self.clock.as_ref();
        // Where the start is the pull, the first start of an image holds
        // the gate through its start: every other deploy of that image
        // there (any instance) waits for it.
        let held = if adapter.pulls_on_start() {
            match self
                .images
                .admit(&self.db, clock, kind, &pool.image)
                .await?
            {
                Pull::Held(h) => Some(h),
                Pull::Ready => None,
            }
        } else {
            self.images
                .ensure(&self.db, clock, adapter.as_ref(), &pool.image)
                .await?;
            None
        };
        let started = self.start_on(adapter.as_ref(), bot_id, pool, lease).await;
        if let Some(h) = held {
            let outcome = match &started {
                Ok(_) => Ok(()),
                Err(StartError::Stale) => Err("the deploy holding the pull started nothing"),
                Err(StartError::Failed(_)) => Err("the first start of the image failed"),
            };
            if let Err(e) = self.images.finish(&self.db, clock, h, outcome).await {
                tracing::warn!(error = %e, "image pull not recorded; its claim lapses");
            }
        }
        started
    }

    /// [`Self::start_workload`] once the image may be started: creates the
    /// slot's resource if it has none, issues the lease's token, starts.
    async fn start_on(
        &self,
        adapter: &dyn crate::platform::Platform,
        bot_id: i64,
        pool: &Pool,
        lease: &Lease,
    ) -> Result<String, StartError> {
        let kind = adapter.kind();
        // What the slot runs is given to the platform: adapters read no
        // database.
        let made_of = ResourceSpec {
            image: pool.image.clone(),
            resources: crate::definition::resources_of(&self.db, &pool.name).await?,
            meeting_platform: Some(pool.meeting_platform),
        };
        let mut r = lease.slot_ref();
        let platform_ref = match &lease.platform_ref {
            Some(p) => p.clone(),
            None => {
                let created = adapter.create_resource(&r, &made_of).await?;
                if !slot::set_platform_ref(&self.db, lease.slot_id, lease.epoch, &created).await? {
                    return Err(StartError::Stale);
                }
                created
            }
        };
        r.platform_ref = Some(platform_ref.clone());
        let spec = BotSpec {
            bot_id,
            meeting_platform: pool.meeting_platform,
            meeting_url: bot::meeting_url(&self.db, bot_id).await?,
            image: made_of.image,
            resources: made_of.resources,
            account: account::lease::held_by(&self.db, bot_id)
                .await?
                .map(|a| BotAccount {
                    key: a.account_key,
                    data: a.data.to_string(),
                }),
            token: BotToken::generate(),
        };
        // A last look before the platform is touched for this lease: one
        // that moved on while the image was pulled or the resource created
        // starts nothing. Issuing the lease's token is that look: it is
        // stored (hashed) only while the bot still holds the lease.
        if !token::issue(&self.db, lease.slot_id, lease.epoch, bot_id, &spec.token).await? {
            return Err(StartError::Stale);
        }
        self.describe(kind, &r, &description::deploying(bot_id))
            .await;
        match adapter.start(&r, &spec).await? {
            // The workload has its own identifier (an ECS task ARN): it
            // becomes the slot's reference, so stop and reconciliation find
            // it. Not recorded for a lease that moved on: `deploy` then
            // stops that task by this identifier.
            Some(workload) if workload != platform_ref => {
                slot::set_platform_ref(&self.db, lease.slot_id, lease.epoch, &workload).await?;
                Ok(workload)
            }
            _ => Ok(platform_ref),
        }
    }
}
