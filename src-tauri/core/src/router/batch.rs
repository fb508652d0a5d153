//! Batched grants: one transaction hands a platform's free capacity to a
//! run of queued requests, in queue order.
//!
//! A dispatcher's pass used to reserve for one entry per transaction, each
//! taking the platform's lock and counting its active bots again. A batch
//! takes the platform's lock once (its counter row, which also gives the
//! capacity in use: [`crate::platform::load::lock`]), then grants the room
//! there is a chunk of entries at a time with set-based statements
//! ([`super::grant`]): the chunk's entries locked in one statement (those
//! another caller holds are skipped), each pool's entries paired with its
//! least recently used idle slots in one statement (slot `deploying`, bot
//! `DEPLOYING`, entry removed); entries left without an idle slot take one
//! the one-by-one way (a slot created while the pool may grow). One commit
//! for the run; deploys start after it.
//!
//! Only the plain case is batched: a request in the global queue, or one
//! waiting on a platform within its wait, whose pool leases no accounts,
//! headed for a platform eligible now, not known full in this pass, and
//! whose deploys have not failed lately. Everything else (a wait that is
//! over, a request its router was interrupted with, accounts, a platform
//! whose deploys fail and that gets one trial at a time) goes the one-by-one
//! way ([`Router::resume`]), which also traces why.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use super::grant;
use super::resume::{Failover, Launch};
use super::{DeployOutcome, Pass, Router, Waiting};
use crate::bot;
use crate::error::Result;
use crate::feed::Topic;
use crate::meeting::PlatformKind;
use crate::pool::Pool;
use crate::queue;
use crate::settings::Settings;
use crate::slot::Lease;

/// The most entries one batch takes: its transaction holds their rows.
pub const MAX_BATCH: usize = 128;

/// Where a queued request goes in a batch: the platform, its limit, and
/// where the request goes if its deploy fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The platform.
    pub platform: PlatformKind,
    limit: i32,
    failover: Failover,
}

impl Router {
    /// Where `w` would get capacity in this pass without walking the
    /// platforms, if it is a plain case (see the module's docs); `None`:
    /// it goes the one-by-one way.
    pub fn batch_target(
        &self,
        w: &Waiting,
        settings: &Settings,
        pools: &HashMap<String, Pool>,
        pass: &Pass,
        now: DateTime<Utc>,
    ) -> Option<Target> {
        if w.routing_until.is_some() {
            return None;
        }
        let pool = pools.get(&w.pool)?;
        let states = pass.states.as_ref()?;
        if pool.uses_accounts {
            return None;
        }
        let open = |kind: PlatformKind| {
            states.get(&kind).is_none_or(|s| s.deploy_failures == 0)
                && !pass.full.contains(&kind)
                && !pass.pool_full.contains(&(pool.name.clone(), kind))
                && !pass.backing_off.contains_key(&kind)
        };
        match w.stage_platform.as_deref() {
            Some(stage) => {
                let kind: PlatformKind = stage.parse().ok()?;
                if now >= w.timeout_at || !open(kind) {
                    return None;
                }
                let limit = self.eligibility(settings.platform(kind)?, states).ok()?;
                Some(Target {
                    platform: kind,
                    limit,
                    failover: Failover::WalkOn,
                })
            }
            None => {
                // As `resume_global`: the first eligible platform that may
                // have room (one known full is passed over).
                let p = self
                    .candidates(pool, settings, w.pinned())
                    .into_iter()
                    .find(|p| open(p.platform) && self.eligibility(p, states).is_ok())?;
                Some(Target {
                    platform: p.platform,
                    limit: self.eligibility(p, states).ok()?,
                    failover: Failover::BackToGlobal,
                })
            }
        }
    }

    /// Grants `run` (entries in queue order, all headed for `target`'s
    /// platform) as much of the platform's room as there is, in one
    /// transaction; then deploys (or launches, with [`Launch::Spawn`]) each
    /// granted request. Per entry: `Some` outcome when settled here
    /// (deployed, or no longer the caller's), `None` when the caller must
    /// offer it capacity the one-by-one way. Learns into `pass` which
    /// platforms (and pools there) are full or backing off. Runs on `conn`
    /// when given (a pass's own connection: a pass that took the pool's turn
    /// for each batch would queue behind the deploys it launched), else on
    /// a connection of the pool.
    #[allow(clippy::too_many_arguments)] // the run, its target, and the pass's reads
    pub async fn grant_batch(
        &self,
        conn: Option<&mut sqlx::PgConnection>,
        target: Target,
        run: &[&Waiting],
        settings: &Settings,
        pools: &HashMap<String, Pool>,
        pass: &mut Pass,
        launch: Launch,
    ) -> Result<Vec<Option<DeployOutcome>>> {
        let kind = target.platform;
        let mut out: Vec<Option<DeployOutcome>> = vec![None; run.len()];
        let mut tx = match conn {
            Some(c) => sqlx::Connection::begin(c).await?,
            None => self.db.begin().await?,
        };
        // The platform's lock and its capacity in use (from its counters),
        // once for the whole run.
        let used = crate::platform::load::lock(&mut tx, kind).await?;
        let room = i64::from(target.limit) - used;
        if room <= 0 {
            pass.full.insert(kind);
            tx.rollback().await?;
            return Ok(out);
        }
        // A platform whose deploys failed lately gets one trial at a time
        // after its backoff ([`Router::claim_deploy_trial`]): one by one.
        let failing: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM platform_health WHERE platform = $1 AND deploy_failures > 0)",
        )
        .bind(kind.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if failing {
            tx.rollback().await?;
            return Ok(out);
        }
        let Some(granted) = self
            .grant_run(&mut tx, kind, room, run, pools, pass, &mut out)
            .await?
        else {
            // A bot moved on since its entry was locked (whoever moves a
            // queued bot on removes its entry, so waits for our lock:
            // practically never); nothing of the batch is kept.
            tx.rollback().await?;
            return Ok(vec![None; run.len()]);
        };
        tx.commit().await?;
        if !granted.is_empty() {
            let slots: Vec<i64> = granted.iter().map(|(_, _, l)| l.slot_id).collect();
            self.feed
                .publish_slots(&[Topic::Slots, Topic::Bots, Topic::Queue], &slots);
        }
        for (i, pool, lease) in granted {
            let w = run[i];
            let reserved = (kind, lease);
            out[i] = Some(
                match self
                    .start(w, pool, settings, reserved, target.failover, launch)
                    .await
                {
                    Ok(outcome) => outcome,
                    // Only an awaited deploy's bookkeeping can fail here; the
                    // others of the batch still get theirs (the sweep takes
                    // this one back).
                    Err(e) => {
                        tracing::warn!(bot = w.bot_id, error = %e, "deploy of a granted request failed");
                        DeployOutcome::Skipped { bot_id: w.bot_id }
                    }
                },
            );
        }
        Ok(out)
    }

    /// Inside a batch: grants `room` of the platform's capacity to the
    /// entries of `run`, in queue order, a chunk of `room` entries at a
    /// time: locks the chunk's entries in one statement ([`grant::lock_entries`];
    /// those another caller holds are `Skipped` in `out`), pairs each
    /// pool's entries with its idle slots in one statement ([`grant::pair`]),
    /// and takes the rest the one-by-one way (a slot freed meanwhile, or a
    /// new one while the pool may grow). Returns the grants (index in
    /// `run`, pool, lease); `None` when a bot had moved on (the caller
    /// rolls back).
    #[allow(clippy::too_many_arguments)] // the batch's transaction and reads
    async fn grant_run<'p>(
        &self,
        tx: &mut sqlx::PgConnection,
        kind: PlatformKind,
        mut room: i64,
        run: &[&Waiting],
        pools: &'p HashMap<String, Pool>,
        pass: &mut Pass,
        out: &mut [Option<DeployOutcome>],
    ) -> Result<Option<Vec<(usize, &'p Pool, Lease)>>> {
        let mut granted = Vec::new();
        let mut next = 0;
        while room > 0 && next < run.len() {
            let open = |i: &usize| {
                pools
                    .get(&run[*i].pool)
                    .is_some_and(|p| !pass.pool_full.contains(&(p.name.clone(), kind)))
            };
            let chunk: Vec<usize> = (next..run.len()).filter(open).take(room as usize).collect();
            let Some(&last) = chunk.last() else { break };
            next = last + 1;
            let ids: Vec<i64> = chunk.iter().map(|&i| run[i].bot_id).collect();
            let locked = grant::lock_entries(&mut *tx, &ids).await?;
            let mut mine = Vec::new();
            for i in chunk {
                if locked.contains(&run[i].bot_id) {
                    mine.push(i);
                } else {
                    out[i] = Some(DeployOutcome::Skipped {
                        bot_id: run[i].bot_id,
                    });
                }
            }
            // Each pool's entries with its idle slots, in one statement.
            let mut rest = Vec::new();
            let mut by_pool: Vec<(&str, Vec<usize>)> = Vec::new();
            for &i in &mine {
                match by_pool.iter_mut().find(|(p, _)| *p == run[i].pool) {
                    Some((_, v)) => v.push(i),
                    None => by_pool.push((run[i].pool.as_str(), vec![i])),
                }
            }
            for (name, idx) in by_pool {
                let pool = &pools[name];
                let bots: Vec<i64> = idx.iter().map(|&i| run[i].bot_id).collect();
                let paired = grant::pair(&mut *tx, name, kind, &bots).await?;
                if !paired.all_moved {
                    return Ok(None);
                }
                let n = paired.leases.len();
                for (&i, (_, lease)) in idx.iter().zip(paired.leases) {
                    granted.push((i, pool, lease));
                }
                room -= n as i64;
                rest.extend_from_slice(&idx[n..]);
            }
            // The rest one by one, in queue order.
            rest.sort_unstable();
            for i in rest {
                if room == 0 {
                    break;
                }
                let w = run[i];
                let pool = &pools[&w.pool];
                if pass.pool_full.contains(&(pool.name.clone(), kind)) {
                    continue;
                }
                // No slot (the pool is at its max size, or this request
                // had its share created): nothing was written; the
                // one-by-one way says why (and waits or walks on).
                let Ok(lease) = self.take_slot(&mut *tx, pool, kind, w.bot_id, pass).await? else {
                    continue;
                };
                if !bot::mark_deploying(&mut *tx, w.bot_id, kind).await? {
                    return Ok(None);
                }
                queue::leave(&mut *tx, w.bot_id).await?;
                room -= 1;
                granted.push((i, pool, lease));
            }
        }
        if room == 0 {
            pass.full.insert(kind);
        }
        Ok(Some(granted))
    }
}
