//! Background jobs, run by one leader among the instances sharing the database.
//!
//! Leadership is a row with an expiry: the holder renews it every quarter of
//! the lease, each renewal holding for three quarters; the others look again
//! exactly when it would run out. When the leader dies, another instance has
//! taken over within the lease. Jobs: slot recovery, reconciliation with the
//! platforms, pre-warming, the sweep of interrupted requests
//! ([`crate::sweep`]), account refreshes.

use chrono::Duration;
use sqlx::PgPool;
use std::collections::HashMap;
use uuid::Uuid;

use crate::bot::Decision;
use crate::config::JobsConfig;
use crate::error::Result;
use crate::feed::Topic;
use crate::meeting::SlotStatus;
use crate::platform::SlotRef;
use crate::router::Router;
use crate::slot::{self, SlotView};
use crate::sweep;

mod prewarm;
mod reconcile;
pub use prewarm::prewarm;
pub use reconcile::{reconcile, ReconcileReport};

/// How often the leader renews its lease, and how often the others look
/// at it: a quarter of the lease.
pub fn renewal_interval_ms(lease_ms: u32) -> u32 {
    (lease_ms / 4).max(1)
}

/// How long one renewal holds: three quarters of the lease. The others wake
/// up at that expiry (see [`Bid::expires_in_ms`]), so when the leader dies
/// right after renewing, one of them has taken over within the lease; the
/// last quarter absorbs its wake-up and its query. The leader may miss one
/// renewal (plus a quarter of a lease) before it loses the lease.
pub fn renewal_holds_ms(lease_ms: u32) -> u32 {
    lease_ms - lease_ms / 4
}

/// What a bid for leadership found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bid {
    /// `me` leads now (it took the lease or renewed it).
    pub leading: bool,
    /// When another instance leads: how long until its lease runs out (in
    /// the database's time), so a bidder can look again right then.
    pub expires_in_ms: Option<i64>,
}

/// Takes or renews leadership for `me`, with a renewal that holds for
/// [`renewal_holds_ms`] of `lease_ms`. Uses the database's clock, so
/// instances never disagree about expiry.
pub async fn bid(db: &PgPool, me: Uuid, lease_ms: u32) -> Result<Bid> {
    let (leading, expires_in_ms): (bool, Option<i64>) = sqlx::query_as(
        "WITH won AS (
            INSERT INTO leader (id, holder, expires_at) VALUES (1, $1, now() + make_interval(secs => $2::float8 / 1000))
            ON CONFLICT (id) DO UPDATE SET
                holder = $1,
                term = CASE WHEN leader.holder = $1 THEN leader.term ELSE leader.term + 1 END,
                acquired_at = CASE WHEN leader.holder = $1 THEN leader.acquired_at ELSE now() END,
                expires_at = now() + make_interval(secs => $2::float8 / 1000)
            WHERE leader.holder = $1 OR leader.expires_at < now()
            RETURNING holder
         )
         SELECT EXISTS (SELECT 1 FROM won WHERE holder = $1),
                -- The row as it was before this statement: the holder we lost to.
                (SELECT ceil(EXTRACT(EPOCH FROM expires_at - now()) * 1000)::bigint FROM leader WHERE id = 1)",
    )
    .bind(me)
    .bind(f64::from(renewal_holds_ms(lease_ms)))
    .fetch_one(db)
    .await?;
    Ok(Bid {
        leading,
        expires_in_ms: if leading { None } else { expires_in_ms },
    })
}

/// [`bid`], answering only whether `me` leads now.
pub async fn try_lead(db: &PgPool, me: Uuid, lease_ms: u32) -> Result<bool> {
    Ok(bid(db, me, lease_ms).await?.leading)
}

/// Gives leadership up (on graceful shutdown) so another instance takes over at once.
pub async fn resign(db: &PgPool, me: Uuid) -> Result<()> {
    sqlx::query("UPDATE leader SET expires_at = now() - interval '1 second' WHERE holder = $1")
        .bind(me)
        .execute(db)
        .await?;
    Ok(())
}

/// The current leader, if its lease is live.
pub async fn leader(db: &PgPool) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT holder FROM leader WHERE id = 1 AND expires_at > now()")
            .fetch_optional(db)
            .await?,
    )
}

/// Records this instance as a peer (heartbeat).
pub async fn heartbeat(db: &PgPool, me: Uuid, mode: &str) -> Result<()> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".into());
    sqlx::query(
        "INSERT INTO peers (id, hostname, pid, mode) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()",
    )
    .bind(me)
    .bind(host)
    .bind(std::process::id() as i32)
    .bind(mode)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes peers whose last heartbeat is older than `max_age_ms` (they
/// died without leaving); returns how many.
pub async fn prune_peers(db: &PgPool, max_age_ms: u32) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM peers WHERE heartbeat_at < now() - make_interval(secs => $1::float8 / 1000)",
    )
    .bind(f64::from(max_age_ms))
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Removes this instance from the peers.
pub async fn leave(db: &PgPool, me: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM peers WHERE id = $1")
        .bind(me)
        .execute(db)
        .await?;
    Ok(())
}

/// What one recovery run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Slots returned to `idle`.
    pub recovered: usize,
    /// Failed attempts counted.
    pub failed_attempts: usize,
    /// Slots deleted after too many attempts.
    pub deleted: usize,
}

/// Recovers `error` slots and slots `deploying` for longer than the
/// deploying timeout: stop the workload → `idle`. A failed stop counts an
/// attempt; after `max_attempts` the slot and its platform resource are
/// deleted (the pool refills on demand). A bot stuck in a recovered
/// `deploying` slot goes back to the global queue until its deadline, or
/// ends `FATAL` when that has passed ([`crate::sweep`] takes back deploys
/// whose process died long before this timeout). Every pool, now; the
/// leader runs [`recover_due`], which honours each pool's interval.
pub async fn recover(router: &Router, cfg: &JobsConfig) -> Result<RecoveryReport> {
    recover_pools(router, cfg, None).await
}

/// How often each pool is recovered: an applied definition's
/// `recovery.interval`, else the global `BERTH_RECOVERY_INTERVAL_MS`.
pub async fn recovery_intervals(
    router: &Router,
    cfg: &JobsConfig,
) -> Result<Vec<(String, Duration)>> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT p.name, d.definition -> 'recovery' ->> 'interval'
         FROM pools p
         LEFT JOIN LATERAL (SELECT definition FROM pool_definitions WHERE name = p.name
                            ORDER BY version DESC LIMIT 1) d ON p.source = 'definition'
         ORDER BY p.name",
    )
    .fetch_all(router.db())
    .await?;
    let global = Duration::milliseconds(cfg.recovery_interval_ms.into());
    Ok(rows
        .into_iter()
        .map(|(name, interval)| {
            // Applied definitions were validated (at least 1 s); a value
            // that no longer parses falls back to the global interval.
            let every = interval
                .and_then(|t| humantime::parse_duration(t.trim()).ok())
                .and_then(|d| Duration::from_std(d).ok())
                .unwrap_or(global);
            (name, every)
        })
        .collect())
}

/// Recovers the pools whose recovery interval ([`recovery_intervals`]) has
/// passed since `last` (the leader's memory of its runs, by pool) says they
/// were last recovered, and records these runs in it. A new leader starts
/// with an empty memory, so it recovers every pool at once.
pub async fn recover_due(
    router: &Router,
    cfg: &JobsConfig,
    last: &mut HashMap<String, chrono::DateTime<chrono::Utc>>,
) -> Result<RecoveryReport> {
    let now = router.clock().now();
    let due: Vec<String> = recovery_intervals(router, cfg)
        .await?
        .into_iter()
        .filter(|(name, every)| last.get(name).is_none_or(|t| now - *t >= *every))
        .map(|(name, _)| name)
        .collect();
    if due.is_empty() {
        return Ok(RecoveryReport::default());
    }
    for name in &due {
        last.insert(name.clone(), now);
    }
    recover_pools(router, cfg, Some(&due)).await
}

async fn recover_pools(
    router: &Router,
    cfg: &JobsConfig,
    pools: Option<&[String]>,
) -> Result<RecoveryReport> {
    let db = router.db();
    let now = router.clock().now();
    // A pool's applied definition may set its own deploying timeout and
    // attempts; the global settings apply otherwise.
    let rows: Vec<(i64, i32)> = sqlx::query_as(
        "SELECT s.id, COALESCE(p.recovery_max_attempts, $3)
         FROM pool_slots s JOIN pools p ON p.name = s.pool
         WHERE ($4::text[] IS NULL OR s.pool = ANY($4))
           AND (s.status = 'error'
                OR (s.status = 'deploying'
                    AND s.status_changed_at < $1 - make_interval(secs => COALESCE(p.deploying_timeout_ms, $2) / 1000.0)))
         ORDER BY s.id",
    )
    .bind(now)
    .bind(cfg.deploying_timeout_ms as i32)
    .bind(cfg.recovery_max_attempts as i32)
    .bind(pools)
    .fetch_all(db)
    .await?;
    let max_attempts: HashMap<i64, i32> = rows.iter().copied().collect();
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    let candidates: Vec<SlotView> = sqlx::query_as(
        "SELECT id, uuid, slot_name, pool, meeting_platform, deployment_platform, status, assigned_bot_id, epoch,
                platform_ref, description, last_used_at, error_message, recovery_attempts, status_changed_at, created_at
         FROM pool_slots WHERE id = ANY($1) ORDER BY id",
    )
    .bind(&ids)
    .fetch_all(db)
    .await?;
    let mut report = RecoveryReport::default();
    for s in candidates {
        let limit = max_attempts
            .get(&s.id)
            .copied()
            .unwrap_or(cfg.recovery_max_attempts as i32);
        recover_slot(router, &s, limit, &mut report).await?;
    }
    if report != RecoveryReport::default() {
        router
            .feed()
            .publish(&[Topic::Slots, Topic::Bots, Topic::Queue]);
    }
    Ok(report)
}

/// Recovers one candidate slot. A deploy past its deploying timeout is
/// claimed first ([`sweep::claim`]: `error`, its bot routed again until its
/// deadline), so a router that was only cut off cannot mark it busy over
/// the workload stopped next; then the workload is stopped and the slot
/// reset to `idle`. A failed stop counts an attempt; the `limit`-th deletes
/// the slot and its platform resource.
async fn recover_slot(
    router: &Router,
    s: &SlotView,
    limit: i32,
    report: &mut RecoveryReport,
) -> Result<()> {
    let stuck = s.status == SlotStatus::Deploying;
    if stuck {
        let what = format!(
            "deploy in {} did not finish within the deploying timeout",
            s.slot_name
        );
        let fatal = "deploy timed out; slot recovered";
        if sweep::claim(router, s, Decision::Failed, &what, fatal)
            .await?
            .is_none()
        {
            return Ok(());
        }
    }
    let kind = s.deployment_platform;
    let r = sweep::slot_ref(s);
    match sweep::stop_workload(router, s).await {
        Ok(()) => {
            let reason = if stuck {
                "recovered: stuck deploying"
            } else {
                "recovered from error"
            };
            let mut conn = router.db().acquire().await?;
            if slot::reset(&mut conn, s.id, s.epoch, reason)
                .await?
                .is_some()
            {
                report.recovered += 1;
                drop(conn);
                // After the write: a platform call never holds a connection.
                router
                    .describe(kind, &r, &crate::description::idle(s.last_used_at))
                    .await;
            }
        }
        Err(message) => {
            let Some(attempts) =
                slot::count_recovery_attempt(router.db(), s.id, s.epoch, &message).await?
            else {
                return Ok(());
            };
            report.failed_attempts += 1;
            tracing::warn!(slot = %s.slot_name, attempts, error = %message, "slot recovery attempt failed");
            if attempts >= limit && give_up(router, s, attempts).await? {
                report.deleted += 1;
            }
        }
    }
    Ok(())
}

/// Deletes a slot that failed `attempts` recoveries, and its platform
/// resource (reconciliation finds it as an orphan if that fails). Its bot
/// was sent back to routing when the slot was claimed.
async fn give_up(router: &Router, s: &SlotView, attempts: i32) -> Result<bool> {
    let r = sweep::slot_ref(s);
    if let Some(a) = router.platforms().get(s.deployment_platform) {
        if let Err(e) = a.delete_resource(&r).await {
            tracing::warn!(slot = %s.slot_name, error = %e, "platform resource not deleted; reconciliation will find it as an orphan");
        }
    }
    let mut conn = router.db().acquire().await?;
    let reason = format!("deleted after {attempts} failed recovery attempts");
    slot::delete(&mut conn, s.id, s.epoch, &reason).await
}

/// What one pass of [`refresh_accounts`] did, per pool.
#[derive(Debug, Default)]
pub struct AccountRefreshReport {
    /// Pools refreshed, with what changed.
    pub refreshed: Vec<(String, crate::account::lease::Refreshed)>,
    /// Pools whose source could not be read, with why.
    pub failed: Vec<(String, String)>,
}

/// Auto-refresh: re-reads the account source of every applied definition
/// whose `refresh_interval` (not `0s`, which means manual only) has passed
/// since its last refresh, or since the last failed attempt (recorded in
/// the database by any instance, or in `attempts`), so a broken source is
/// retried once per interval, not on every tick. A failure is recorded on
/// the pool ([`crate::account::source::record_failure`]); a refused query
/// is such a failure, never a crash. Uses the applied version, not the
/// file. Announces `pools` when any account list changed or failed.
pub async fn refresh_accounts(
    router: &Router,
    conn: crate::account::source::QueryConnection<'_>,
    dir: &std::path::Path,
    attempts: &mut HashMap<String, chrono::DateTime<chrono::Utc>>,
) -> Result<AccountRefreshReport> {
    use crate::account::source;
    let db = router.db();
    let now = router.clock().now();
    let rows: Vec<(
        String,
        serde_json::Value,
        Option<chrono::DateTime<chrono::Utc>>,
    )> = sqlx::query_as(
        "SELECT d.name, d.definition, GREATEST(r.refreshed_at, f.failed_at)
             FROM (SELECT DISTINCT ON (name) name, definition FROM pool_definitions
                   ORDER BY name, version DESC) d
             LEFT JOIN pool_account_refreshes r ON r.pool = d.name
             LEFT JOIN pool_account_refresh_failures f ON f.pool = d.name
             WHERE d.definition -> 'accounts' IS NOT NULL
             ORDER BY d.name",
    )
    .fetch_all(db)
    .await?;
    let mut report = AccountRefreshReport::default();
    for (name, value, refreshed_at) in rows {
        let def: crate::definition::PoolDefinition = match serde_json::from_value(value) {
            Ok(d) => d,
            Err(e) => {
                report
                    .failed
                    .push((name, format!("unreadable applied definition: {e}")));
                continue;
            }
        };
        let Some(source) = &def.accounts else {
            continue;
        };
        let interval = source.pool_config().refresh_interval.0;
        if interval.is_zero() {
            continue;
        }
        let interval = Duration::from_std(interval).unwrap_or(Duration::MAX);
        let last = match (refreshed_at, attempts.get(&name)) {
            (Some(a), Some(b)) => Some(a.max(*b)),
            (a, b) => a.or(b.copied()),
        };
        if last.is_some_and(|t| now - t < interval) {
            continue;
        }
        attempts.insert(name.clone(), now);
        match source::refresh(db, router.feed(), conn, dir, &def).await {
            Ok(r) => report.refreshed.push((name, r.refreshed)),
            Err(e) => {
                tracing::warn!(pool = %name, error = %e, "account refresh failed");
                if let Err(not_recorded) = source::record_failure(db, &name, &e).await {
                    tracing::warn!(pool = %name, error = %not_recorded, "account refresh failure not recorded");
                }
                report.failed.push((name, e.to_string()));
            }
        }
    }
    // A refresh announces itself; a recorded failure is this job's news.
    if !report.failed.is_empty() {
        router.feed().publish(&[Topic::Pools]);
    }
    Ok(report)
}

/// Removes idle (and errored, unheld) slots a pool may no longer have: those
/// numbered beyond its max size, and every slot of a retired pool; deletes
/// their platform resources first (a slot whose resource cannot be deleted
/// stays, for the next pass). Busy and deploying slots are left to finish. Returns the
/// slots removed. (A retired pool's row stays, hidden, for its bots' history.)
pub async fn trim(router: &Router) -> Result<usize> {
    let db = router.db();
    let doomed: Vec<SlotView> = sqlx::query_as(
        "SELECT s.id, s.uuid, s.slot_name, s.pool, s.meeting_platform, s.deployment_platform, s.status,
                s.assigned_bot_id, s.epoch, s.platform_ref, s.description, s.last_used_at, s.error_message,
                s.recovery_attempts, s.status_changed_at, s.created_at
         FROM pool_slots s JOIN pools p ON p.name = s.pool
         WHERE s.status IN ('idle', 'error') AND s.assigned_bot_id IS NULL
           AND (p.retired OR s.slot_number > p.max_size)
         ORDER BY s.pool, s.slot_number",
    )
    .fetch_all(db)
    .await?;
    let mut removed = 0;
    for s in &doomed {
        let kind = s.deployment_platform;
        if let (Some(adapter), Some(_)) = (router.platforms().get(kind), &s.platform_ref) {
            let r = SlotRef {
                slot_id: s.id,
                slot_name: s.slot_name.clone(),
                pool: s.pool.clone(),
                epoch: s.epoch,
                platform_ref: s.platform_ref.clone(),
            };
            if let Err(e) = adapter.delete_resource(&r).await {
                tracing::warn!(slot = %s.slot_name, error = %e, "resource of a trimmed slot not deleted");
                continue;
            }
        }
        let mut conn = db.acquire().await?;
        let why = if s.status == "error" {
            "trimmed: its pool was retired or shrank (was in error)"
        } else {
            "trimmed: its pool was retired or shrank"
        };
        if slot::delete(&mut conn, s.id, s.epoch, why).await? {
            removed += 1;
        }
    }
    if removed > 0 {
        router.feed().publish(&[Topic::Slots, Topic::Pools]);
    }
    Ok(removed)
}
