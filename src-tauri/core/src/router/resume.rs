//! Queued requests get another go (the dispatcher's entry point), and a
//! deploy launched from the queue fails over when it does not start.

use std::collections::HashMap;

use super::{entry, DeployOutcome, Pass, Reservation, Router, Waiting};
use crate::bot::Decision;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::Topic;
use crate::meeting::PlatformKind;
use crate::pool::Pool;
use crate::queue::{self, Stage};
use crate::settings::Settings;
use crate::slot::Lease;

/// Whether a deploy made possible by a reservation is awaited by the call
/// that reserved, or runs in its own task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// The call returns once the deploy (and any failover) is settled.
    Await,
    /// The deploy runs in its own task, counted in [`super::Inflight`]; the
    /// call returns `Deployed` at once. The running dispatcher's choice: one
    /// slow start must not hold up the queue.
    Spawn,
}

/// Where a request goes when its deploy fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failover {
    /// On to the platforms after the failed one.
    WalkOn,
    /// Back into the global queue, with the request's original deadline.
    BackToGlobal,
}

impl Router {
    /// Gives one queued request another go: at its platform (moving on when
    /// its wait is over) or, in the global queue, at every platform in order.
    /// `launch` says whether a deploy it makes is awaited or runs in its own
    /// task (then `Deployed` means launched).
    pub async fn resume(
        &self,
        w: &Waiting,
        settings: &Settings,
        pools: &HashMap<String, Pool>,
        pass: &mut Pass,
        launch: Launch,
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
            let interrupted = entry(
                None,
                Decision::Interrupted,
                "the process routing it stopped before it was settled; routed again by a dispatcher",
                now,
            );
            self.trace(w.bot_id, interrupted).await?;
            return self
                .route(w, pool, settings, None, true, pass, launch)
                .await;
        }
        match w
            .stage_platform
            .as_deref()
            .map(str::parse::<PlatformKind>)
            .transpose()?
        {
            Some(kind) => {
                self.resume_wait(w, pool, settings, kind, pass, launch)
                    .await
            }
            None => self.resume_global(w, pool, settings, pass, launch).await,
        }
    }

    /// A request waiting on `kind`: a slot there if one is free; while its
    /// wait lasts it keeps waiting; after that (or when `kind` is not
    /// eligible any more) it walks on to the next platforms.
    async fn resume_wait(
        &self,
        w: &Waiting,
        pool: &Pool,
        settings: &Settings,
        kind: PlatformKind,
        pass: &mut Pass,
        launch: Launch,
    ) -> Result<DeployOutcome> {
        let now = self.clock.now();
        let limit = match settings.platform(kind) {
            Some(p) => self.eligibility(p, self.states(pass).await?).ok(),
            None => None,
        };
        if let Some(limit) = limit {
            match self
                .reserve(w.bot_id, pool, kind, limit, true, pass)
                .await?
            {
                Reservation::Reserved(lease) => {
                    return self
                        .start(w, pool, settings, (kind, lease), Failover::WalkOn, launch)
                        .await;
                }
                Reservation::Skip => return Ok(DeployOutcome::Skipped { bot_id: w.bot_id }),
                Reservation::Full(_) | Reservation::PoolFull(_) | Reservation::NoAccount
                    if now < w.timeout_at =>
                {
                    return self
                        .still_waiting(w.bot_id, Some(kind), w.timeout_at, pass)
                        .await;
                }
                // A platform whose deploys keep failing: move on at once, as
                // after a failed deploy.
                Reservation::NoAccount | Reservation::BackingOff(_) => {}
                Reservation::Full(detail) | Reservation::PoolFull(detail) => {
                    let waited = (now - w.queued_at).num_milliseconds();
                    let detail =
                        format!("{detail}; waited its queue timeout ({waited} ms since queued)");
                    self.trace(w.bot_id, entry(Some(kind), Decision::Full, detail, now))
                        .await?;
                }
            }
        }
        self.route(w, pool, settings, Some(kind), true, pass, launch)
            .await
    }

    /// A request in the global queue: any eligible platform with room, in
    /// priority order, no waiting; else it stays queued.
    async fn resume_global(
        &self,
        w: &Waiting,
        pool: &Pool,
        settings: &Settings,
        pass: &mut Pass,
        launch: Launch,
    ) -> Result<DeployOutcome> {
        for p in self.candidates(pool, settings, w.pinned()) {
            let kind = p.platform;
            let Ok(limit) = self.eligibility(p, self.states(pass).await?) else {
                continue;
            };
            match self
                .reserve(w.bot_id, pool, kind, limit, true, pass)
                .await?
            {
                Reservation::Reserved(lease) => {
                    let reserved = (kind, lease);
                    return self
                        .start(w, pool, settings, reserved, Failover::BackToGlobal, launch)
                        .await;
                }
                Reservation::Skip => return Ok(DeployOutcome::Skipped { bot_id: w.bot_id }),
                Reservation::Full(_) | Reservation::PoolFull(_) | Reservation::BackingOff(_) => {}
                // No platform can help until an account returns.
                Reservation::NoAccount => break,
            }
        }
        self.still_waiting(w.bot_id, None, w.timeout_at, pass).await
    }

    /// The outcome of a request that keeps waiting where it was: with its
    /// position and estimated wait, except in a dispatcher's pass (nothing
    /// changed for it; see [`Pass::dispatching`]).
    async fn still_waiting(
        &self,
        bot_id: i64,
        waiting_on: Option<PlatformKind>,
        until: chrono::DateTime<chrono::Utc>,
        pass: &Pass,
    ) -> Result<DeployOutcome> {
        if pass.dispatching {
            return Ok(DeployOutcome::Queued {
                bot_id,
                waiting_on,
                queue_position: 0,
                estimated_wait_ms: None,
                until,
            });
        }
        self.queued(bot_id, waiting_on, until).await
    }

    /// Deploys a resumed request into its reserved slot: awaited, or in its
    /// own task so the pass goes on to the next entry at once.
    pub(super) async fn start(
        &self,
        w: &Waiting,
        pool: &Pool,
        settings: &Settings,
        (kind, lease): (PlatformKind, Lease),
        failover: Failover,
        launch: Launch,
    ) -> Result<DeployOutcome> {
        match launch {
            Launch::Await => {
                self.deploy_or_fail_over(w, pool, settings, kind, lease, failover)
                    .await
            }
            Launch::Spawn => Ok(self.spawn_deploy(w, pool, settings, kind, lease, failover)),
        }
    }

    /// Runs [`Router::deploy_or_fail_over`] in its own task (counted in the
    /// in-flight set) and returns at once, as `Deployed` into the reserved slot.
    pub(super) fn spawn_deploy(
        &self,
        w: &Waiting,
        pool: &Pool,
        settings: &Settings,
        kind: PlatformKind,
        lease: Lease,
        failover: Failover,
    ) -> DeployOutcome {
        let outcome = DeployOutcome::Deployed {
            bot_id: w.bot_id,
            platform: kind,
            slot_name: lease.slot_name.clone(),
            platform_identifier: lease.platform_ref.clone(),
        };
        let (me, w, pool, settings) = (self.clone(), w.clone(), pool.clone(), settings.clone());
        let guard = self.inflight.enter();
        tokio::spawn(async move {
            let _guard = guard;
            let settled = me
                .deploy_or_fail_over(&w, &pool, &settings, kind, lease, failover)
                .await;
            if let Err(e) = settled {
                tracing::warn!(bot = w.bot_id, error = %e, "deploy of a queued request failed");
            }
        });
        outcome
    }

    /// Starts the workload; when that fails, records why and moves on: to
    /// the next platforms (walked here, awaited) or back into the global
    /// queue with the request's original deadline.
    async fn deploy_or_fail_over(
        &self,
        w: &Waiting,
        pool: &Pool,
        settings: &Settings,
        kind: PlatformKind,
        lease: Lease,
        failover: Failover,
    ) -> Result<DeployOutcome> {
        let error = match self.deploy(w, pool, kind, &lease).await {
            Ok(outcome) => return Ok(outcome),
            Err(e) => e,
        };
        if failover == Failover::WalkOn {
            let claimed = self.hold_after_failure(w, kind, &error).await?;
            let mut pass = Pass::default();
            return self
                .route(
                    w,
                    pool,
                    settings,
                    Some(kind),
                    claimed,
                    &mut pass,
                    Launch::Await,
                )
                .await;
        }
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let failed = entry(Some(kind), Decision::Failed, error.to_string(), now);
        crate::bot::trace(&mut tx, w.bot_id, &failed).await?;
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
        self.queued(w.bot_id, None, w.timeout_at).await
    }
}
