//! Reservation: under the platform's lock, check its limit, take or create a
//! slot, lease an account, and mark the bot `DEPLOYING` — all or nothing.

use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

use super::Router;
use crate::account;
use crate::bot;
use crate::error::Result;
use crate::feed::Topic;
use crate::meeting::PlatformKind;
use crate::platform::{self as platform, PlatformState};
use crate::pool::Pool;
use crate::queue;
use crate::slot::{self, Lease};

/// The most slots one request may have created for it. A request whose
/// deploys keep failing leaves each slot it tried in `error`; without a cap
/// it would fill its pool with broken slots (and platform resources). One
/// fresh slot per platform of a three-platform priority list; past it the
/// request only takes idle slots.
pub const MAX_SLOTS_CREATED_PER_REQUEST: i32 = 3;

/// What a reservation attempt found.
#[derive(Debug)]
pub(super) enum Reservation {
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

/// Platforms known full during one drain pass, so later entries skip them
/// without another query.
#[derive(Debug, Default)]
pub struct Pass {
    /// A dispatcher's pass: a request that keeps waiting is not given its
    /// queue position and estimated wait (nobody reads them, and computing
    /// them for every waiting entry on every pass made an idle instance with
    /// a long queue run two queries per entry per tick). They are computed
    /// when asked ([`crate::queue::position`], [`crate::queue::list`]) and
    /// when a request enters or moves in the queue.
    pub(super) dispatching: bool,
    pub(super) full: HashSet<PlatformKind>,
    pub(super) pool_full: HashSet<(String, PlatformKind)>,
    pub(super) no_account: HashSet<String>,
    pub(super) backing_off: HashMap<PlatformKind, String>,
    /// The platforms' shared state, read once per pass.
    pub(super) states: Option<HashMap<PlatformKind, PlatformState>>,
}

impl Pass {
    /// A dispatcher's pass (the `dispatching` field above) over the
    /// platforms' shared state `states` as it read them: outcomes of
    /// requests that keep waiting carry position 0 and no estimate.
    pub fn dispatching(states: HashMap<PlatformKind, PlatformState>) -> Pass {
        Pass {
            dispatching: true,
            states: Some(states),
            ..Pass::default()
        }
    }

    /// Whether this pass found `kind` at its limit or backing off: nothing
    /// more is granted on it in this pass.
    pub fn closed(&self, kind: PlatformKind) -> bool {
        self.full.contains(&kind) || self.backing_off.contains_key(&kind)
    }
}

impl Router {
    /// One transaction: claim the queue entry (if any), check the platform's
    /// limit under the platform's lock (its counter row, so concurrent routers cannot
    /// overshoot it), take or create a slot, and mark the bot `DEPLOYING`.
    pub(super) async fn reserve(
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
        // The platform's lock first, then the entry: a router holding an
        // entry while it waits for the platform would make the one holding
        // the platform pass over that entry (a request served out of
        // priority order). The lock is the platform's counter row
        // ([`platform::load::lock`]): it reads the capacity in use from the
        // counters rather than counting the active bots.
        let used = platform::load::lock(&mut tx, kind).await?;
        if claimed && !queue::lock_entry(&mut tx, bot_id).await? {
            tx.rollback().await?;
            return Ok(Reservation::Skip);
        }
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
        if !bot::mark_deploying(&mut tx, bot_id, kind).await? {
            tx.rollback().await?;
            return Ok(Reservation::Skip);
        }
        queue::leave(&mut tx, bot_id).await?;
        tx.commit().await?;
        self.feed
            .publish_slots(&[Topic::Slots, Topic::Bots, Topic::Queue], &[lease.slot_id]);
        Ok(Reservation::Reserved(lease))
    }

    /// Inside a reservation: the least recently used idle slot of the pool
    /// on `kind`, else a new one while the pool is under its max size and
    /// fewer than [`MAX_SLOTS_CREATED_PER_REQUEST`] were created for this
    /// request; else why not (the caller rolls back).
    pub(super) async fn take_slot(
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
        let created = bot::slots_created(&mut *tx, bot_id).await?;
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
        bot::count_slot_created(&mut *tx, bot_id).await?;
        Ok(Ok(lease))
    }

    /// Inside a reservation (under the platform's lock): when deploys onto
    /// `kind` failed lately, by any instance, either says why no new one may
    /// go there yet, or claims the one trial after the backoff: the next try
    /// moves on by the same wait, so concurrent routers make one trial, not
    /// one each. Its outcome then resets the run or lengthens the wait.
    /// The claim commits only with the reservation.
    pub(super) async fn claim_deploy_trial(
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

    /// Why a pool's bots wait for an account, with its account counts.
    pub(super) async fn no_account_detail(&self, pool: &str) -> Result<String> {
        let s = account::lease::stats(&self.db, pool).await?;
        Ok(format!(
            "no account available in {pool} ({} in use, {} completed, {} failed); waiting for one to return or a refresh",
            s.in_use, s.completed, s.failed
        ))
    }
}

pub(super) fn pool_full_detail(pool: &Pool, kind: PlatformKind) -> String {
    format!(
        "pool {} has no idle slot on {kind} and is at its max size of {}",
        pool.name, pool.max_size
    )
}
