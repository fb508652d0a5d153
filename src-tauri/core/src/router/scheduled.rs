//! Scheduled requests in the router: admitting one (`SCHEDULED`, with its
//! booking, no queue entry) and starting one when its time has come (it
//! becomes `QUEUED` with a `Routing` entry and is routed like any fresh
//! request).

use chrono::{DateTime, Duration, Utc};

use super::admit::{Checked, Link};
use super::{DeployOutcome, Launch, NewBot, Pass, Router, Waiting};
use crate::bot;
use crate::error::Result;
use crate::feed::Topic;
use crate::idempotency::{self, IdempotencyKey};
use crate::meeting::PlatformKind;
use crate::pool::{self, Pool};
use crate::queue::{self, Stage};
use crate::schedule::{booking, lead, IfFull, LeadPolicy, Planned};
use crate::settings::{self, Settings};

/// A started bot: pool, priority, queue timeout, pin, queue deadline.
type Started = (String, i32, i32, Option<String>, DateTime<Utc>);

/// What a booking counts against ([`Router::booking_scope`]).
pub(crate) struct Scope {
    /// The total limit of the pool's platforms.
    capacity: i64,
    /// The pools whose bookings share those platforms.
    pools: Vec<String>,
}

impl Router {
    /// The platforms a pool's scheduled bots may run on: those it may use
    /// that are enabled with a limit, in its order.
    pub(crate) fn schedule_platforms(&self, pool: &Pool, settings: &Settings) -> Vec<PlatformKind> {
        self.candidates(pool, settings, None)
            .into_iter()
            .filter(|p| p.enabled && p.bot_limit.is_some())
            .map(|p| p.platform)
            .collect()
    }

    /// The pools whose bots share capacity with `platforms` (they may use
    /// one of them): their bookings count against the same limits.
    pub(crate) async fn sharing_pools(
        &self,
        platforms: &[PlatformKind],
        settings: &Settings,
    ) -> Result<Vec<String>> {
        Ok(pool::list(&self.db)
            .await?
            .into_iter()
            .filter(|p| {
                self.schedule_platforms(p, settings)
                    .iter()
                    .any(|k| platforms.contains(k))
            })
            .map(|p| p.name)
            .collect())
    }

    /// [`Router::plan`] for `req`'s join time, expected duration and
    /// not-before.
    async fn plan_request(
        &self,
        req: &NewBot,
        pool: &Pool,
        settings: &Settings,
    ) -> Result<Planned> {
        self.plan(
            pool,
            settings,
            req.join_at,
            req.expected_duration_ms,
            req.not_before,
        )
        .await
    }

    /// When a request of `pool` starts and what it books: join time minus
    /// the pool's lead (never before now nor the request's not-before), to
    /// join time plus its expected duration. Checks the join time and the
    /// duration.
    pub(crate) async fn plan(
        &self,
        pool: &Pool,
        settings: &Settings,
        join_at: Option<DateTime<Utc>>,
        duration_ms: Option<i32>,
        not_before: Option<DateTime<Utc>>,
    ) -> Result<Planned> {
        let now = self.clock.now();
        let floor = not_before.unwrap_or(now).max(now);
        let Some(join_at) = join_at else {
            return Ok(Planned {
                join_at: None,
                start_at: floor,
                booked_until: None,
                expected_duration_ms: None,
            });
        };
        booking::check_join_at(join_at, now)?;
        let duration = booking::expected_duration(duration_ms)?;
        let platforms = self.schedule_platforms(pool, settings);
        let lead =
            lead::pool_lead(&self.db, &pool.name, &platforms, &LeadPolicy::from_env()?).await?;
        Ok(Planned {
            join_at: Some(join_at),
            start_at: (join_at - lead).max(floor),
            booked_until: Some(join_at + duration),
            expected_duration_ms: Some(duration.num_milliseconds() as i32),
        })
    }

    /// What a booking of `pool` counts against: the pools sharing its
    /// platforms, and those platforms' capacity. Read before the booking's
    /// transaction (it holds a connection while it waits for the lock).
    pub(crate) async fn booking_scope(&self, pool: &Pool, settings: &Settings) -> Result<Scope> {
        let platforms = self.schedule_platforms(pool, settings);
        Ok(Scope {
            capacity: booking::capacity(settings, &platforms),
            pools: self.sharing_pools(&platforms, settings).await?,
        })
    }

    /// Under the booking lock (taken here, in `tx`): whether `planned`'s
    /// window has room among the bookings of `scope` (`except`: a bot being
    /// moved). `Err(window_full)` when not; `Ok(false)` when not but
    /// `if_full` says queue, or when `planned` books nothing.
    pub(crate) async fn book(
        &self,
        tx: &mut sqlx::PgConnection,
        scope: &Scope,
        planned: &Planned,
        if_full: IfFull,
        except: Option<i64>,
    ) -> Result<bool> {
        let Some(until) = planned.booked_until else {
            return Ok(false);
        };
        booking::lock(&mut *tx).await?;
        let booked = booking::peak(&mut *tx, &scope.pools, planned.start_at, until, except).await?;
        if booked < scope.capacity {
            return Ok(true);
        }
        match if_full {
            IfFull::Refuse => Err(booking::full(
                planned.start_at,
                until,
                booked,
                scope.capacity,
            )),
            IfFull::Queue => Ok(false),
        }
    }

    /// Admits a scheduled request (see [`crate::schedule`]): books its
    /// window (or is refused, writing nothing), writes it `SCHEDULED`
    /// (claiming `key`, linking the bot it deploys again), and starts it at
    /// once when its start has already come.
    pub(super) async fn admit_scheduled(
        &self,
        req: &NewBot,
        c: Checked,
        key: Option<(&IdempotencyKey, &[u8])>,
        link: Option<&Link<'_>>,
    ) -> Result<Option<DeployOutcome>> {
        let settings = settings::load(&self.db).await?;
        let now = self.clock.now();
        let mut planned = self.plan_request(req, &c.pool, &settings).await?;
        let scope = self.booking_scope(&c.pool, &settings).await?;
        let mut tx = self.db.begin().await?;
        if !self
            .book(&mut tx, &scope, &planned, req.if_full, None)
            .await?
        {
            planned.booked_until = None;
        }
        let bot_id = bot::insert(&mut tx, &scheduled_row(req, &c, &planned)).await?;
        if let Some((key, fingerprint)) = key {
            if !idempotency::claim(&mut tx, key, fingerprint, bot_id, now).await? {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        if let Some(link) = link {
            link.write(&mut tx, bot_id).await?;
        }
        tx.commit().await?;
        self.feed.publish(&[Topic::Bots]);
        self.started_if_due(bot_id, &planned, now).await.map(Some)
    }

    /// Admits scheduled requests of one pool all or nothing (a scheduled
    /// batch, [`crate::lifecycle::deploy_batch`]): every request is checked
    /// (with `token`'s tier bounds) and planned, then all are booked and
    /// written in one transaction under the booking lock, each booking
    /// counting the batch's earlier ones. One refused (`window_full`, or any
    /// check) and nothing is written. Those whose start has come are
    /// started after the commit. Publishes `bots`.
    pub(crate) async fn admit_scheduled_batch(
        &self,
        reqs: &[NewBot],
        token: &crate::tier::TokenTiers,
    ) -> Result<Vec<DeployOutcome>> {
        let settings = settings::load(&self.db).await?;
        let now = self.clock.now();
        let mut admitted = Vec::with_capacity(reqs.len());
        for req in reqs {
            let c = self.check(req, &settings, token).await?;
            let planned = self.plan_request(req, &c.pool, &settings).await?;
            admitted.push((req, c, planned));
        }
        let Some((_, first, _)) = admitted.first() else {
            return Ok(Vec::new());
        };
        let scope = self.booking_scope(&first.pool, &settings).await?;
        let mut tx = self.db.begin().await?;
        let mut written = Vec::with_capacity(admitted.len());
        for (req, c, mut planned) in admitted {
            if !self
                .book(&mut tx, &scope, &planned, req.if_full, None)
                .await?
            {
                planned.booked_until = None;
            }
            let bot_id = bot::insert(&mut tx, &scheduled_row(req, &c, &planned)).await?;
            written.push((bot_id, planned));
        }
        tx.commit().await?;
        self.feed.publish(&[Topic::Bots]);
        let mut outcomes = Vec::with_capacity(written.len());
        for (bot_id, planned) in written {
            outcomes.push(self.started_if_due(bot_id, &planned, now).await?);
        }
        Ok(outcomes)
    }

    /// A scheduled bot just written: started at once when its start has
    /// already come, else `Scheduled`.
    async fn started_if_due(
        &self,
        bot_id: i64,
        planned: &Planned,
        now: DateTime<Utc>,
    ) -> Result<DeployOutcome> {
        if planned.start_at <= now {
            if let Some(outcome) = self.start_scheduled(bot_id, Launch::Await).await? {
                return Ok(outcome);
            }
        }
        Ok(DeployOutcome::Scheduled {
            bot_id,
            join_at: planned.join_at,
            start_at: planned.start_at,
            booked: planned.booked_until.is_some(),
        })
    }

    /// Starts a `SCHEDULED` bot: in one transaction it becomes `QUEUED`
    /// (its queue deadline counted from now) with a `Routing` entry this
    /// router holds for a lease, then it is routed like a fresh request.
    /// `None` when it is no longer `SCHEDULED` (cancelled, or another
    /// starter took it): nothing written.
    pub async fn start_scheduled(
        &self,
        bot_id: i64,
        launch: Launch,
    ) -> Result<Option<DeployOutcome>> {
        let settings = settings::load(&self.db).await?;
        let now = self.clock.now();
        let held_until = self.routing_hold(now);
        let mut tx = self.db.begin().await?;
        let row: Option<Started> = sqlx::query_as(
            "UPDATE bots SET status = 'QUEUED', updated_at = now(),
                 deadline = $2 + LEAST(queue_timeout_ms, $3) * interval '1 millisecond'
             WHERE id = $1 AND status = 'SCHEDULED'
             RETURNING pool, priority, queue_timeout_ms, pinned_platform, deadline",
        )
        .bind(bot_id)
        .bind(now)
        .bind(settings.global_queue_timeout_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((pool_name, priority, timeout, pinned_platform, deadline)) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let stage = Stage::Routing {
            held_until,
            deadline,
        };
        queue::enter(&mut tx, bot_id, priority, now, stage).await?;
        tx.commit().await?;
        self.feed.publish(&[Topic::Bots, Topic::Queue]);
        let pool = pool::get(&self.db, &pool_name).await?;
        let waiting = Waiting {
            bot_id,
            pool: pool_name,
            priority,
            queue_timeout_ms: timeout,
            queued_at: now,
            timeout_at: deadline,
            stage_platform: None,
            deadline,
            routing_until: Some(held_until),
            pinned_platform,
        };
        let outcome = self
            .route(
                &waiting,
                &pool,
                &settings,
                None,
                true,
                &mut Pass::default(),
                launch,
            )
            .await?;
        Ok(Some(outcome))
    }
}

/// The row of a scheduled request that passed its checks: `SCHEDULED`,
/// its queue deadline counted from its start.
fn scheduled_row<'a>(req: &'a NewBot, c: &'a Checked, planned: &'a Planned) -> bot::NewRow<'a> {
    bot::NewRow {
        pool: &c.pool.name,
        meeting_platform: req.meeting_platform,
        meeting_url: &c.url,
        priority: c.tier.priority,
        tier: c.tier.tier.as_deref(),
        max_wait_ms: c.tier.max_wait_ms,
        queue_timeout_ms: c.timeout,
        deadline: planned.start_at + Duration::milliseconds(c.timeout.into()),
        display_name: req.display_name.as_deref(),
        metadata: req.metadata.as_ref(),
        webhook_url: c.webhook_url.as_deref(),
        planned: Some(planned),
    }
}
