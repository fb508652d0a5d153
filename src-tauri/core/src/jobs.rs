//! Background jobs, run by one leader among the instances sharing the database.
//!
//! Leadership is a row with an expiry: the holder renews it every quarter of
//! the lease, each renewal holding for three quarters; the others look again
//! exactly when it would run out. When the leader dies, another instance has
//! taken over within the lease. Jobs: slot recovery, reconciliation with the
//! platforms, pre-warming, auto-scaling ([`scale`]), the sweep of interrupted requests
//! ([`crate::sweep`]), account refreshes.

use chrono::Duration;
use std::collections::HashMap;

use crate::error::Result;
use crate::feed::Topic;
use crate::platform::SlotRef;
use crate::router::Router;
use crate::slot::{self, SlotView};

mod leadership;
pub mod prewarm;
mod reconcile;
mod recovery;
mod scale;
pub use leadership::{
    bid, heartbeat, leader, leave, prune_peers, renewal_holds_ms, renewal_interval_ms, resign,
    try_lead, Bid,
};
pub use prewarm::prewarm;
pub use reconcile::{reconcile, ReconcileReport};
pub use recovery::{recover, recover_due, recovery_intervals, RecoveryReport};
pub use scale::scale;

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
/// numbered beyond its max size, every slot of a retired pool, and every
/// slot an operator drained ([`crate::slot::drain`]); deletes
/// their platform resources first (a slot whose resource cannot be deleted
/// stays, for the next pass). Busy and deploying slots are left to finish. Returns the
/// slots removed. (A retired pool's row stays, hidden, for its bots' history.)
pub async fn trim(router: &Router) -> Result<usize> {
    let db = router.db();
    let doomed: Vec<SlotView> = sqlx::query_as(
        "SELECT s.id, s.uuid, s.slot_name, s.pool, s.meeting_platform, s.deployment_platform, s.status,
                s.assigned_bot_id, s.epoch, s.platform_ref, s.description, s.last_used_at, s.error_message,
                s.recovery_attempts, s.status_changed_at, s.created_at, s.draining
         FROM pool_slots s JOIN pools p ON p.name = s.pool
         WHERE s.status IN ('idle', 'error') AND s.assigned_bot_id IS NULL
           AND (p.retired OR s.slot_number > p.max_size OR s.draining)
         ORDER BY s.pool, s.slot_number",
    )
    .fetch_all(db)
    .await?;
    let mut removed = Vec::new();
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
        let why = match (s.status == "error", s.draining) {
            (_, true) => "drained: deleted once idle",
            (true, false) => "trimmed: its pool was retired or shrank (was in error)",
            (false, false) => "trimmed: its pool was retired or shrank",
        };
        if slot::delete(&mut conn, s.id, s.epoch, why).await? {
            removed.push(s.id);
        }
    }
    if !removed.is_empty() {
        router
            .feed()
            .publish_slots(&[Topic::Slots, Topic::Pools], &removed);
    }
    Ok(removed.len())
}
