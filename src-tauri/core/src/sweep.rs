//! The sweep: finds requests that nothing acts on any more and puts them
//! back where something does.
//!
//! An accepted request is always in the care of something that will move it
//! on: a queue entry (a dispatcher serves it; a `Routing` entry is its
//! router's for a lease, then any dispatcher's), a `deploying` slot whose
//! router keeps renewing its sign of life (the start succeeds or fails), a
//! running workload (the bot reports, or reconciliation ends it) or an end
//! (`DONE`/`FATAL`). Creating a bot writes its row and its entry in one
//! transaction, so creation leaves no gap; what can still happen is that the
//! process holding a request dies, or loses the database, between two of its
//! statements:
//!
//! - a deploy whose router stopped renewing it (the process was killed);
//! - a `QUEUED` bot without an entry, or a `DEPLOYING` bot without a slot
//!   (cut off halfway through a failed deploy's bookkeeping);
//! - a slot still held by a bot that ended (cut off between ending the bot
//!   and releasing its slot).
//!
//! The leader's sweep finds these once they have shown no sign of life for a
//! leader lease. A request whose deadline has not passed goes back to the
//! global queue, keeping its place (its creation time) and its deadline; one
//! whose deadline has passed ends `FATAL`. A slot held by an ended bot is
//! released as the bot's end would have. It also drops queue entries of bots
//! that have moved on.
//!
//! **Interrupted or slow?** A router renews the sign of life of each of its
//! deploys every quarter of a lease while the platform start runs, however
//! long the start takes (an image pull can take minutes). So a deploy without
//! a renewal for a whole lease has lost its process, and nothing will ever
//! finish it: it is taken back at once rather than after the deploying
//! timeout. A deploy still renewed is only slow: it is left alone until the
//! deploying timeout (recovery), which then routes it again the same way.
//! Right after the database server (re)starts, no router could renew
//! anything while it was down; the sweep waits for a lease of uptime before
//! judging deploys, so the routers that survived have renewed by then.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::account;
use crate::bot::{self, Decision, TraceEntry};
use crate::description;
use crate::error::Result;
use crate::feed::Topic;
use crate::queue::{self, Stage};
use crate::router::Router;
use crate::slot::{self, SlotView};

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Deploys whose router died: slot taken back, request routed again (or ended).
    pub interrupted_deploys: usize,
    /// `QUEUED` bots without an entry and `DEPLOYING` bots without a slot, put back.
    pub stray_bots: usize,
    /// Queue entries of bots that had moved on, removed.
    pub dead_entries: usize,
    /// Slots still held by bots that had ended, released.
    pub slots_of_ended_bots: usize,
}

/// What became of a request the sweep (or recovery) took back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Back in the global queue until its deadline.
    Requeued,
    /// Its deadline had passed: ended `FATAL`.
    Ended,
    /// It had moved on meanwhile (someone else acted): nothing changed.
    Moved,
}

/// One sweep, on the leader: interrupted deploys, stray bots, dead entries.
/// Safe to run from several instances at once (every change re-checks the
/// state it expects).
pub async fn run(router: &Router) -> Result<SweepReport> {
    let mut report = SweepReport {
        interrupted_deploys: interrupted_deploys(router).await?,
        stray_bots: stray_bots(router).await?,
        slots_of_ended_bots: slots_of_ended_bots(router).await?,
        ..SweepReport::default()
    };
    report.dead_entries = sqlx::query(
        "DELETE FROM deployment_queue q USING bots b WHERE b.id = q.bot_id AND b.status <> 'QUEUED'",
    )
    .execute(router.db())
    .await?
    .rows_affected() as usize;
    if report != SweepReport::default() {
        router
            .feed()
            .publish(&[Topic::Queue, Topic::Bots, Topic::Slots]);
    }
    Ok(report)
}

/// Puts `bot_id` (now `from`, holding no slot) back in the global queue until
/// its deadline, with `why` in its trace, or ends it `FATAL` with `fatal` when
/// its deadline has passed by `now`. Its account, if it held one, goes back
/// uncounted (the bot never ran with it). In the caller's transaction.
pub(crate) async fn settle(
    tx: &mut PgConnection,
    bot_id: i64,
    from: &str,
    now: DateTime<Utc>,
    why: &TraceEntry,
    fatal: &str,
) -> Result<Settled> {
    let row: Option<(i32, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT priority, created_at, COALESCE(deadline, created_at + queue_timeout_ms * interval '1 millisecond')
         FROM bots WHERE id = $1 AND status = $2 FOR UPDATE",
    )
    .bind(bot_id)
    .bind(from)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((priority, created_at, deadline)) = row else {
        return Ok(Settled::Moved);
    };
    bot::trace(&mut *tx, bot_id, why).await?;
    account::lease::give_back_in(&mut *tx, bot_id).await?;
    if deadline <= now {
        sqlx::query(
            "UPDATE bots SET status = 'FATAL', error = $2, ended_at = now(), updated_at = now() WHERE id = $1",
        )
        .bind(bot_id)
        .bind(fatal)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM deployment_queue WHERE bot_id = $1")
            .bind(bot_id)
            .execute(&mut *tx)
            .await?;
        return Ok(Settled::Ended);
    }
    sqlx::query(
        "UPDATE bots SET status = 'QUEUED', deployment_platform = NULL, updated_at = now() WHERE id = $1",
    )
    .bind(bot_id)
    .execute(&mut *tx)
    .await?;
    queue::enter(
        &mut *tx,
        bot_id,
        priority,
        created_at,
        Stage::Global(deadline),
    )
    .await?;
    Ok(Settled::Requeued)
}

/// `deploying` slots whose router gave no sign of life for a lease (and the
/// database has been up for a lease): the workload is stopped, the slot goes
/// back to `idle` (to `error` for recovery when the stop fails), and the bot
/// is settled. Returns how many were taken back.
async fn interrupted_deploys(router: &Router) -> Result<usize> {
    let db = router.db();
    let lease = f64::from(router.lease_ms());
    let stale: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, (EXTRACT(EPOCH FROM now() - GREATEST(deploy_alive_at, status_changed_at)) * 1000)::bigint
         FROM pool_slots
         -- A deploying slot names its bot: the held slots' index
         -- (pool_slots_bot_uidx) finds them without reading idle ones.
         WHERE status = 'deploying' AND assigned_bot_id IS NOT NULL
           AND GREATEST(deploy_alive_at, status_changed_at) < now() - make_interval(secs => $1 / 1000)
           AND pg_postmaster_start_time() < now() - make_interval(secs => $1 / 1000)
         ORDER BY id",
    )
    .bind(lease)
    .fetch_all(db)
    .await?;
    let mut taken = 0;
    for (id, silent_ms) in stale {
        let Ok(s) = slot::get(db, id).await else {
            continue;
        };
        if s.status != "deploying" {
            continue;
        }
        if take_back(router, &s, silent_ms).await? {
            taken += 1;
        }
    }
    Ok(taken)
}

async fn take_back(router: &Router, s: &SlotView, silent_ms: i64) -> Result<bool> {
    let what = format!(
        "deploy in {} interrupted: no sign of its router for {silent_ms} ms",
        s.slot_name
    );
    let fatal = "deploy interrupted (its process stopped) after its queue timeout had run out";
    let Some(bot) = claim(router, s, Decision::Interrupted, &what, fatal).await? else {
        return Ok(false);
    };
    // Whatever the cut-off router may have started is stopped before the
    // slot is handed out again, so it never carries an old workload.
    let stopped = stop_workload(router, s).await;
    let now = router.clock().now();
    let mut tx = router.db().begin().await?;
    match &stopped {
        Ok(()) => {
            slot::reset(&mut tx, s.id, s.epoch, &format!("recovered: {what}")).await?;
        }
        Err(e) => {
            let message = format!("{what}; stopping its workload failed: {e}");
            slot::mark_error(&mut tx, s.id, Some(s.epoch), &message, now).await?;
        }
    }
    tx.commit().await?;
    if stopped.is_ok() {
        router
            .describe(
                s.deployment_platform,
                &slot_ref(s),
                &description::idle(s.last_used_at),
            )
            .await;
    }
    tracing::info!(slot = %s.slot_name, bot = ?bot, silent_ms, "took back an interrupted deploy");
    Ok(true)
}

/// Claims a deploy being taken back ([`slot::claim_deploying`]: `error`,
/// "`what`; stopping its workload") and sends its bot back to routing until
/// its deadline (`FATAL` with `fatal` past it), in one transaction.
/// `Some(the bot it held)` when claimed; `None` when the slot moved on
/// (nothing changed).
pub(crate) async fn claim(
    router: &Router,
    s: &SlotView,
    decision: Decision,
    what: &str,
    fatal: &str,
) -> Result<Option<Option<i64>>> {
    let now = router.clock().now();
    let mut tx = router.db().begin().await?;
    let claimed = format!("{what}; stopping its workload");
    let Some(released) = slot::claim_deploying(&mut tx, s.id, s.epoch, &claimed, now).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    if let Some(bot_id) = released.bot_id {
        let why = TraceEntry {
            platform: Some(s.deployment_platform),
            decision,
            detail: format!("{what}; routed again until its deadline"),
            at: now,
        };
        settle(&mut tx, bot_id, "DEPLOYING", now, &why, fatal).await?;
    }
    tx.commit().await?;
    Ok(Some(released.bot_id))
}

/// The platform reference of `s` as the adapters take it.
pub(crate) fn slot_ref(s: &SlotView) -> crate::platform::SlotRef {
    crate::platform::SlotRef {
        slot_id: s.id,
        slot_name: s.slot_name.clone(),
        pool: s.pool.clone(),
        epoch: s.epoch,
        platform_ref: s.platform_ref.clone(),
    }
}

/// Stops whatever runs in the slot's resource (nothing to stop without
/// one); the error as text when the platform refuses or has no adapter here.
pub(crate) async fn stop_workload(
    router: &Router,
    s: &SlotView,
) -> std::result::Result<(), String> {
    let kind = s.deployment_platform;
    match (router.platforms().get(kind), &s.platform_ref) {
        (Some(a), Some(_)) => a.stop(&slot_ref(s)).await.map_err(|e| e.to_string()),
        (Some(_), None) => Ok(()),
        (None, _) => Err(format!("no adapter for {kind} in this instance")),
    }
}

/// `QUEUED` bots without a queue entry and `DEPLOYING` bots without a slot,
/// untouched for a lease: settled. Returns how many.
async fn stray_bots(router: &Router) -> Result<usize> {
    let db = router.db();
    let stray: Vec<(i64, String)> = sqlx::query_as(
        "SELECT b.id, b.status FROM bots b
         WHERE b.status IN ('QUEUED', 'DEPLOYING')
           AND b.updated_at < now() - make_interval(secs => $1::float8 / 1000)
           AND NOT EXISTS (SELECT 1 FROM deployment_queue q WHERE q.bot_id = b.id)
           AND NOT EXISTS (SELECT 1 FROM pool_slots s WHERE s.assigned_bot_id = b.id)
         ORDER BY b.id",
    )
    .bind(f64::from(router.lease_ms()))
    .fetch_all(db)
    .await?;
    let mut settled = 0;
    for (bot_id, status) in stray {
        let now = router.clock().now();
        let what = match status.as_str() {
            "QUEUED" => "queued without a queue entry",
            _ => "deploying without a slot",
        };
        let why = TraceEntry {
            platform: None,
            decision: Decision::Interrupted,
            detail: format!(
                "found {what}: the process routing it stopped halfway; routed again until its deadline"
            ),
            at: now,
        };
        let mut tx = db.begin().await?;
        // Re-checked under the bot's row lock, which also holds off new
        // queue entries (their key takes a key-share lock on the bot) and
        // reservations (a reservation commits only with its bot moved to
        // `DEPLOYING`, an update of this row): a router that was only slow
        // has moved it on meanwhile, and then nothing changes; one that
        // took a slot but has not committed waits, then finds the bot
        // settled (ended: it rolls back; put back in the queue: it goes on,
        // and its entry is removed with its reservation).
        let locked = sqlx::query("SELECT 1 FROM bots WHERE id = $1 AND status = $2 FOR UPDATE")
            .bind(bot_id)
            .bind(&status)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        // A statement of its own, so it sees what committed while it waited.
        let still_stray = locked
            && sqlx::query_scalar(
                "SELECT NOT EXISTS (SELECT 1 FROM deployment_queue WHERE bot_id = $1)
                    AND NOT EXISTS (SELECT 1 FROM pool_slots WHERE assigned_bot_id = $1)",
            )
            .bind(bot_id)
            .fetch_one(&mut *tx)
            .await?;
        let done = if still_stray {
            settle(&mut tx, bot_id, &status, now, &why, "queue timeout").await?
        } else {
            Settled::Moved
        };
        tx.commit().await?;
        if done != Settled::Moved {
            tracing::info!(bot = bot_id, what, "put back a request nothing acted on");
            settled += 1;
        }
    }
    Ok(settled)
}

/// Slots still `deploying` or `busy` for a bot that ended more than a lease
/// ago: its end is completed (workload stopped, slot released, account
/// ended). Returns how many.
async fn slots_of_ended_bots(router: &Router) -> Result<usize> {
    let ended: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT b.id, b.status, b.error FROM pool_slots s JOIN bots b ON b.id = s.assigned_bot_id
         WHERE s.status IN ('deploying', 'busy') AND b.status IN ('DONE', 'FATAL')
           AND b.ended_at < now() - make_interval(secs => $1::float8 / 1000)
         ORDER BY b.id",
    )
    .bind(f64::from(router.lease_ms()))
    .fetch_all(router.db())
    .await?;
    for (bot_id, status, error) in &ended {
        tracing::info!(bot = bot_id, "released the slot of a bot that had ended");
        router
            .finish(*bot_id, status.parse()?, error.as_deref())
            .await?;
    }
    Ok(ended.len())
}
