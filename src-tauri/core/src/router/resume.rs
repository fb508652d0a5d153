//! Queued requests get another go (the dispatcher's entry point), and a
//! failed deploy fails over.

use std::collections::HashMap;

use super::*;
use crate::bot::Decision;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::Topic;
use crate::meeting::PlatformKind;
use crate::pool::Pool;
use crate::queue::{self, Stage};
use crate::settings::Settings;
use crate::slot::Lease;

pub(super) type BoxedOutcome<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<DeployOutcome>> + Send + 'a>>;

impl Router {
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
    pub(super) fn launch<'a>(
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
    pub(super) async fn deploy_or_fail_over(
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
}
