//! Slot recovery: slots in `error` (or stuck deploying) are stopped and
//! returned to `idle`, with a bounded number of attempts per slot.

use chrono::Duration;
use std::collections::HashMap;

use crate::bot::Decision;
use crate::config::JobsConfig;
use crate::error::Result;
use crate::feed::Topic;
use crate::meeting::SlotStatus;
use crate::router::Router;
use crate::slot::{self, SlotView};
use crate::sweep;

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
    // Every slot a recovery may have touched: a superset of the changed rows.
    let touched: Vec<i64> = candidates.iter().map(|s| s.id).collect();
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
            .publish_slots(&[Topic::Slots, Topic::Bots, Topic::Queue], &touched);
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
            let mut conn = router.db().acquire().await?;
            let counted = slot::count_recovery_attempt(&mut conn, s.id, s.epoch, &message).await?;
            drop(conn);
            let Some(attempts) = counted else {
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
