//! Reconciliation: Berth's slots against each platform's workloads.

use std::collections::HashMap;

use crate::error::Result;
use crate::meeting::{BotStatus, PlatformKind};
use crate::platform::{SlotRef, WorkloadState};
use crate::router::Router;
use crate::slot;

/// What one reconciliation run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Bots whose workload exited: slot released, bot ended.
    pub finished: usize,
    /// Platforms whose listing failed (treated as unknown: nothing changed).
    pub unknown: Vec<PlatformKind>,
    /// Workloads running for no slot of ours, stopped.
    pub orphans_stopped: usize,
    /// Resources whose owner marker names a slot that had none recorded
    /// (created, then the database write was lost): recorded on the slot.
    pub adopted: usize,
    /// Resources whose owner marker names no slot of ours (or a slot that
    /// holds another resource): deleted.
    pub orphans_removed: usize,
}

/// Compares Berth's slots with each platform's workloads. A workload that
/// exited releases its slot and ends its bot `DONE` (success) or `FATAL`;
/// a busy slot whose workload vanished ends its bot `FATAL`. A listing that
/// fails means *unknown*: nothing is changed for that platform.
pub async fn reconcile(router: &Router) -> Result<ReconcileReport> {
    let db = router.db();
    let mut report = ReconcileReport::default();
    let adapters: Vec<_> = router
        .platforms()
        .iter()
        .map(|(k, a)| (k, a.clone()))
        .collect();
    for (kind, adapter) in adapters {
        // A listing speaks only for slots that were busy before it was
        // taken: a slot that turned busy while the platform answered shows
        // there in its former state (stopped, or a former lease's exit), and
        // judging it by that would end a bot whose workload just started.
        let listed_at = crate::db::now(db).await?;
        let owned = match adapter.list_owned().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(platform = %kind, error = %e, "listing failed; state unknown, nothing changed");
                report.unknown.push(kind);
                continue;
            }
        };
        let listing: Vec<_> = owned.iter().map(|o| o.workload.clone()).collect();
        let by_ref: HashMap<&str, _> = listing.iter().map(|w| (w.resource.as_str(), w)).collect();
        let held = slot::list(
            db,
            &slot::SlotFilter {
                statuses: vec![crate::meeting::SlotStatus::Busy],
                pool: None,
                platform: Some(kind),
            },
        )
        .await?;
        for s in held.iter().filter(|s| s.status_changed_at < listed_at) {
            let Some(bot_id) = s.assigned_bot_id else {
                continue;
            };
            let Some(platform_ref) = s.platform_ref.as_deref() else {
                continue;
            };
            let outcome = match by_ref.get(platform_ref) {
                Some(w) if w.epoch.is_some_and(|e| e != s.epoch) => Some((
                    BotStatus::Fatal,
                    format!("workload belongs to another lease ({})", w.raw_status),
                )),
                Some(w) => match w.state {
                    WorkloadState::Running => None,
                    WorkloadState::Succeeded => Some((BotStatus::Done, String::new())),
                    WorkloadState::Failed => Some((
                        BotStatus::Fatal,
                        format!("workload failed ({})", w.raw_status),
                    )),
                    WorkloadState::Stopped => Some((
                        BotStatus::Fatal,
                        "workload stopped outside Berth".to_string(),
                    )),
                },
                None => Some((
                    BotStatus::Fatal,
                    "workload vanished from the platform".to_string(),
                )),
            };
            if let Some((status, why)) = outcome {
                let error = (status == BotStatus::Fatal).then_some(why.as_str());
                router.finish(bot_id, status, error).await?;
                report.finished += 1;
                if !by_ref.contains_key(platform_ref) {
                    // The resource is gone: forget it so the next deploy creates a new one.
                    sqlx::query("UPDATE pool_slots SET platform_ref = NULL WHERE id = $1 AND platform_ref = $2")
                        .bind(s.id)
                        .bind(platform_ref)
                        .execute(db)
                        .await?;
                }
            }
        }
        // Orphans: running workloads whose resource no slot of ours holds.
        let known: std::collections::HashSet<String> =
            sqlx::query_scalar("SELECT platform_ref FROM pool_slots WHERE deployment_platform = $1 AND platform_ref IS NOT NULL")
                .bind(kind.as_str())
                .fetch_all(db)
                .await?
                .into_iter()
                .collect();
        // Orphans with an owner marker: adopt them into their slot if it
        // has no resource recorded, else remove them.
        let mut handled = std::collections::HashSet::new();
        for o in owned
            .iter()
            .filter(|o| !known.contains(&o.workload.resource))
        {
            let Some(slot_name) = o.slot_name.as_deref() else {
                continue;
            };
            handled.insert(o.workload.resource.clone());
            let slot: Option<(i64, i64, Option<String>, String)> = sqlx::query_as(
                "SELECT id, epoch, platform_ref, pool FROM pool_slots WHERE slot_name = $1 AND deployment_platform = $2",
            )
            .bind(slot_name)
            .bind(kind.as_str())
            .fetch_optional(db)
            .await?;
            let r = SlotRef {
                slot_id: slot.as_ref().map(|s| s.0).unwrap_or(0),
                slot_name: slot_name.to_string(),
                pool: slot.as_ref().map(|s| s.3.clone()).unwrap_or_default(),
                epoch: slot.as_ref().map(|s| s.1).unwrap_or(0),
                platform_ref: Some(o.workload.resource.clone()),
            };
            if let Some((id, _, None, _)) = &slot {
                let adopted = sqlx::query(
                    "UPDATE pool_slots SET platform_ref = $2 WHERE id = $1 AND platform_ref IS NULL",
                )
                .bind(id)
                .bind(&o.workload.resource)
                .execute(db)
                .await?;
                if adopted.rows_affected() == 1 {
                    tracing::info!(platform = %kind, slot = slot_name, resource = %o.workload.resource, "adopted a resource the database had not recorded");
                    report.adopted += 1;
                    continue;
                }
            }
            match adapter.delete_resource(&r).await {
                Ok(()) => {
                    tracing::info!(platform = %kind, slot = slot_name, resource = %o.workload.resource, "removed an orphaned resource");
                    report.orphans_removed += 1;
                }
                Err(e) => {
                    tracing::warn!(platform = %kind, resource = %o.workload.resource, error = %e, "orphan not removed")
                }
            }
        }
        for w in listing.iter().filter(|w| {
            w.state == WorkloadState::Running
                && !known.contains(&w.resource)
                && !handled.contains(&w.resource)
        }) {
            let r = SlotRef {
                slot_id: 0,
                slot_name: w.resource.clone(),
                pool: String::new(),
                epoch: w.epoch.unwrap_or(0),
                platform_ref: Some(w.resource.clone()),
            };
            match adapter.stop(&r).await {
                Ok(()) => report.orphans_stopped += 1,
                Err(e) => {
                    tracing::warn!(platform = %kind, resource = %w.resource, error = %e, "orphan not stopped")
                }
            }
        }
    }
    Ok(report)
}
