//! Reconciliation: Berth's slots against each platform's workloads.

use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::feed::Topic;
use crate::meeting::{BotStatus, PlatformKind, SlotStatus};
use crate::platform::{OwnedWorkload as Owned, Platform, SlotRef, Workload, WorkloadState};
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
        let listed_at = crate::db::now(router.db()).await?;
        let owned = match adapter.list_owned().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(platform = %kind, error = %e, "listing failed; state unknown, nothing changed");
                report.unknown.push(kind);
                continue;
            }
        };
        let listing = Listing::of(kind, &owned);
        settle_held(router, &listing, listed_at, &mut report).await?;
        // Orphans: workloads whose resource no slot of ours holds.
        let known = slot::platform_refs(router.db(), kind).await?;
        let handled = clear_marked(router, adapter.as_ref(), &listing, &known, &mut report).await?;
        stop_unmarked(adapter.as_ref(), &listing, &known, &handled, &mut report).await;
    }
    Ok(report)
}

/// One platform's listing: its owned workloads, by resource.
struct Listing<'a> {
    kind: PlatformKind,
    owned: &'a [Owned],
    by_ref: HashMap<&'a str, &'a Workload>,
}

impl<'a> Listing<'a> {
    fn of(kind: PlatformKind, owned: &'a [Owned]) -> Self {
        let by_ref = owned
            .iter()
            .map(|o| (o.workload.resource.as_str(), &o.workload))
            .collect();
        Listing {
            kind,
            owned,
            by_ref,
        }
    }
}

/// How a busy slot's bot ends given its workload (`None`: not listed), or
/// `None` while its workload runs for its lease.
fn verdict(w: Option<&Workload>, epoch: i64) -> Option<(BotStatus, String)> {
    let Some(w) = w else {
        return Some((
            BotStatus::Fatal,
            "workload vanished from the platform".to_string(),
        ));
    };
    if w.epoch.is_some_and(|e| e != epoch) {
        return Some((
            BotStatus::Fatal,
            format!("workload belongs to another lease ({})", w.raw_status),
        ));
    }
    match w.state {
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
    }
}

/// Ends the bots of the platform's slots busy since before `listed_at`
/// whose workload exited or vanished, releasing their slots; a vanished
/// resource is forgotten so the next deploy creates a new one.
async fn settle_held(
    router: &Router,
    listing: &Listing<'_>,
    listed_at: DateTime<Utc>,
    report: &mut ReconcileReport,
) -> Result<()> {
    let held = slot::list(
        router.db(),
        &slot::SlotFilter {
            statuses: vec![SlotStatus::Busy],
            pool: None,
            platform: Some(listing.kind),
        },
    )
    .await?;
    for s in held.iter().filter(|s| s.status_changed_at < listed_at) {
        let (Some(bot_id), Some(platform_ref)) = (s.assigned_bot_id, s.platform_ref.as_deref())
        else {
            continue;
        };
        let listed = listing.by_ref.get(platform_ref).copied();
        let Some((status, why)) = verdict(listed, s.epoch) else {
            continue;
        };
        let error = (status == BotStatus::Fatal).then_some(why.as_str());
        router.finish(bot_id, status, error).await?;
        report.finished += 1;
        if listed.is_none() && slot::forget_platform_ref(router.db(), s.id, platform_ref).await? {
            // The release announced the slot before its resource was forgotten.
            router.feed().publish_slots(&[Topic::Slots], &[s.id]);
        }
    }
    Ok(())
}

/// Owned workloads no slot holds but whose owner marker names a slot: each
/// is adopted into its slot when that slot has no resource recorded, else
/// deleted. Returns the resources it dealt with.
async fn clear_marked(
    router: &Router,
    adapter: &dyn Platform,
    listing: &Listing<'_>,
    known: &HashSet<String>,
    report: &mut ReconcileReport,
) -> Result<HashSet<String>> {
    let kind = listing.kind;
    let mut handled = HashSet::new();
    for o in listing
        .owned
        .iter()
        .filter(|o| !known.contains(&o.workload.resource))
    {
        let Some(slot_name) = o.slot_name.as_deref() else {
            continue;
        };
        let resource = &o.workload.resource;
        handled.insert(resource.clone());
        let marked = slot::marked(router.db(), slot_name, kind).await?;
        if let Some(m) = marked.as_ref().filter(|m| m.platform_ref.is_none()) {
            if slot::adopt_platform_ref(router.db(), m.id, resource).await? {
                tracing::info!(platform = %kind, slot = slot_name, resource = %resource, "adopted a resource the database had not recorded");
                router.feed().publish_slots(&[Topic::Slots], &[m.id]);
                report.adopted += 1;
                continue;
            }
        }
        let r = SlotRef {
            slot_id: marked.as_ref().map_or(0, |m| m.id),
            slot_name: slot_name.to_string(),
            pool: marked.as_ref().map(|m| m.pool.clone()).unwrap_or_default(),
            epoch: marked.as_ref().map_or(0, |m| m.epoch),
            platform_ref: Some(resource.clone()),
        };
        match adapter.delete_resource(&r).await {
            Ok(()) => {
                tracing::info!(platform = %kind, slot = slot_name, resource = %resource, "removed an orphaned resource");
                report.orphans_removed += 1;
            }
            Err(e) => {
                tracing::warn!(platform = %kind, resource = %resource, error = %e, "orphan not removed")
            }
        }
    }
    Ok(handled)
}

/// Stops running workloads no slot holds and no marker claimed.
async fn stop_unmarked(
    adapter: &dyn Platform,
    listing: &Listing<'_>,
    known: &HashSet<String>,
    handled: &HashSet<String>,
    report: &mut ReconcileReport,
) {
    for w in listing.owned.iter().map(|o| &o.workload).filter(|w| {
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
                tracing::warn!(platform = %listing.kind, resource = %w.resource, error = %e, "orphan not stopped")
            }
        }
    }
}
