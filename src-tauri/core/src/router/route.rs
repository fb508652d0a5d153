//! Routing: walking a pool's platforms in priority order until one takes
//! the request, a platform wait is entered, or the global queue.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::bot::{self, Decision};
use crate::error::Result;
use crate::feed::Topic;
use crate::meeting::PlatformKind;
use crate::pool::Pool;
use crate::queue::{self, Stage};
use crate::settings::{PlatformSettings, Settings};

impl Router {
    /// The platforms a pool may use, in the global priority order (or the pool's own).
    pub(super) fn candidates<'a>(
        &self,
        pool: &Pool,
        settings: &'a Settings,
    ) -> Vec<&'a PlatformSettings> {
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
    pub(super) async fn route_from(
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

    pub(super) async fn queued(
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
}
