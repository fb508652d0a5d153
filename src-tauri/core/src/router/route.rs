//! Routing: walking a pool's platforms in priority order until one takes
//! the request, a platform wait is entered, or the global queue.
//!
//! The walk is one explicit loop: find the next platform that reserves a
//! slot ([`Router::reserve_next`]), deploy there, and on a failed deploy go
//! round again from the platform after it. Nothing recurses.

use chrono::{DateTime, Duration, Utc};

use super::resume::{Failover, Launch};
use super::{entry, DeployOutcome, Pass, Reservation, Router, Waiting};
use crate::bot::{self, Decision};
use crate::error::Result;
use crate::feed::Topic;
use crate::meeting::PlatformKind;
use crate::pool::Pool;
use crate::queue::{self, Stage};
use crate::settings::{PlatformSettings, Settings};
use crate::slot::Lease;

/// Where one scan of the platforms ended.
enum Walk {
    /// A platform reserved a slot for the request.
    Reserved(PlatformKind, Lease),
    /// The request is settled without a deploy here: waiting on a platform,
    /// in the global queue, or no longer this caller's.
    Settled(DeployOutcome),
}

impl Router {
    /// Walks the platforms after `after` (or from the first), as a fresh or
    /// resumed request, until it is deployed (or its deploy launched, with
    /// [`Launch::Spawn`]), waits on a platform, or enters the global queue.
    /// `claimed` says the request has a queue entry that reservations must
    /// lock. A failed deploy puts the request back in the router's hands (a
    /// `Routing` entry) and the walk goes on from the next platform.
    #[allow(clippy::too_many_arguments)] // the request, its pool and settings, where and how to walk
    pub(super) async fn route(
        &self,
        w: &Waiting,
        pool: &Pool,
        settings: &Settings,
        mut after: Option<PlatformKind>,
        mut claimed: bool,
        pass: &mut Pass,
        launch: Launch,
    ) -> Result<DeployOutcome> {
        loop {
            let (kind, lease) = match self
                .reserve_next(w, pool, settings, after, claimed, pass)
                .await?
            {
                Walk::Settled(outcome) => return Ok(outcome),
                Walk::Reserved(kind, lease) => (kind, lease),
            };
            if launch == Launch::Spawn {
                // In the dispatcher: start in its own task, go on with the queue.
                return Ok(self.spawn_deploy(w, pool, settings, kind, lease, Failover::WalkOn));
            }
            match self.deploy(w, pool, kind, &lease).await {
                Ok(outcome) => return Ok(outcome),
                Err(e) => claimed = self.hold_after_failure(w, kind, &e).await?,
            }
            after = Some(kind);
        }
    }

    /// Back to `QUEUED` after a failed deploy: the router owns the request
    /// again (a `Routing` entry) before it walks on, so an interruption from
    /// here leaves it to a dispatcher; the failure is traced in the same
    /// transaction. Returns whether the entry was made (the bot is `QUEUED`).
    pub(super) async fn hold_after_failure(
        &self,
        w: &Waiting,
        kind: PlatformKind,
        error: &impl std::fmt::Display,
    ) -> Result<bool> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let claimed = queue::enter(
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
        let failed = entry(Some(kind), Decision::Failed, error.to_string(), now);
        bot::trace(&mut tx, w.bot_id, &failed).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// One scan of the platforms after `after`: each is checked
    /// ([`Router::eligibility`]) and asked for a reservation; every platform
    /// passed over is traced with why. Ends at the first reservation, at a
    /// platform wait, or in the global queue.
    async fn reserve_next(
        &self,
        w: &Waiting,
        pool: &Pool,
        settings: &Settings,
        after: Option<PlatformKind>,
        claimed: bool,
        pass: &mut Pass,
    ) -> Result<Walk> {
        let list = self.candidates(pool, settings, w.pinned());
        let start = match after {
            Some(k) => list
                .iter()
                .position(|p| p.platform == k)
                .map(|i| i + 1)
                .unwrap_or(0),
            None => 0,
        };
        for p in &list[start..] {
            let now = self.clock.now();
            let kind = p.platform;
            let eligible = self.eligibility(p, self.states(pass).await?);
            let limit = match eligible {
                Ok(limit) => limit,
                Err(why) => {
                    self.trace(w.bot_id, entry(Some(kind), why.decision, why.detail, now))
                        .await?;
                    continue;
                }
            };
            let passed_over = match self
                .reserve(w.bot_id, pool, kind, limit, claimed, pass)
                .await?
            {
                Reservation::Skip => {
                    return Ok(Walk::Settled(DeployOutcome::Skipped { bot_id: w.bot_id }))
                }
                Reservation::Reserved(lease) => return Ok(Walk::Reserved(kind, lease)),
                Reservation::PoolFull(detail) => {
                    self.pool_full(w.bot_id, pool, kind, detail, now).await?;
                    continue;
                }
                Reservation::BackingOff(detail) => {
                    entry(Some(kind), Decision::BackingOff, detail, now)
                }
                Reservation::NoAccount => {
                    // No platform can help: wait in the global queue for a
                    // returned account or a refresh of the source.
                    let detail = self.no_account_detail(&pool.name).await?;
                    self.trace(w.bot_id, entry(None, Decision::NoAccount, detail, now))
                        .await?;
                    break;
                }
                Reservation::Full(detail) => match self.wait_on(w, p, detail, now).await? {
                    Ok(outcome) => return Ok(Walk::Settled(outcome)),
                    Err(passed_over) => passed_over,
                },
            };
            self.trace(w.bot_id, passed_over).await?;
        }
        Ok(Walk::Settled(self.enter_global(w).await?))
    }

    /// A request passed over because its pool has no idle slot on `kind`:
    /// traced, and `pool.exhausted` written in the same transaction when
    /// this begins an episode ([`crate::webhook::event::pool_exhausted`]).
    async fn pool_full(
        &self,
        bot_id: i64,
        pool: &Pool,
        kind: PlatformKind,
        detail: String,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        bot::trace(
            &mut tx,
            bot_id,
            &entry(Some(kind), Decision::PoolFull, detail, now),
        )
        .await?;
        crate::webhook::event::pool_exhausted(&mut tx, &pool.name, kind, bot_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A full platform: the request waits on it for the platform's queue
    /// timeout (never past the request's deadline), or — when the platform
    /// has none, or the deadline has come — it is passed over (the trace
    /// entry to write is returned).
    async fn wait_on(
        &self,
        w: &Waiting,
        p: &PlatformSettings,
        detail: String,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<DeployOutcome, bot::TraceEntry>> {
        let kind = p.platform;
        let until = (now + Duration::milliseconds(p.queue_timeout_ms.into())).min(w.deadline);
        if p.queue_timeout_ms <= 0 {
            return Ok(Err(entry(Some(kind), Decision::Full, detail, now)));
        }
        if until <= now {
            let detail =
                format!("{detail}; not waited on: the request's queue timeout has run out");
            return Ok(Err(entry(Some(kind), Decision::Full, detail, now)));
        }
        let waited = (until - now).num_milliseconds();
        let waiting = format!("{detail}; waiting up to {waited} ms");
        let trace = entry(Some(kind), Decision::Waiting, waiting, now);
        Ok(Ok(self.enter_queue(w, Some(kind), until, trace).await?))
    }

    /// Every platform exhausted: the global queue, until the request's
    /// deadline (counted from its creation, not from now: the request's
    /// timeout bounds its whole wait for capacity).
    async fn enter_global(&self, w: &Waiting) -> Result<DeployOutcome> {
        let queued = entry(
            None,
            Decision::Queued,
            "every platform exhausted; in the global queue",
            self.clock.now(),
        );
        self.enter_queue(w, None, w.deadline, queued).await
    }

    /// Puts the request in the queue — waiting on `waiting_on`, or the
    /// global queue — until `until`, with `trace` in the same transaction;
    /// publishes the queue and bots topics.
    async fn enter_queue(
        &self,
        w: &Waiting,
        waiting_on: Option<PlatformKind>,
        until: DateTime<Utc>,
        trace: bot::TraceEntry,
    ) -> Result<DeployOutcome> {
        let stage = match waiting_on {
            Some(kind) => Stage::Platform(kind, until),
            None => Stage::Global(until),
        };
        let mut tx = self.db.begin().await?;
        queue::enter(&mut tx, w.bot_id, w.priority, w.queued_at, stage).await?;
        bot::trace(&mut tx, w.bot_id, &trace).await?;
        tx.commit().await?;
        self.feed.publish(&[Topic::Queue, Topic::Bots]);
        self.queued(w.bot_id, waiting_on, until).await
    }

    /// The outcome of a request that waits (on `waiting_on`, or in the
    /// global queue) until `until`, with its position and estimated wait.
    pub(super) async fn queued(
        &self,
        bot_id: i64,
        waiting_on: Option<PlatformKind>,
        until: DateTime<Utc>,
    ) -> Result<DeployOutcome> {
        let position = queue::position(&self.db, bot_id, self.clock.now())
            .await?
            .unwrap_or(1);
        let rate = queue::release_rate(&self.db, self.clock.now()).await?;
        Ok(DeployOutcome::Queued {
            bot_id,
            waiting_on,
            queue_position: position,
            estimated_wait_ms: queue::estimate_wait_ms(position, rate),
            until,
        })
    }
}
