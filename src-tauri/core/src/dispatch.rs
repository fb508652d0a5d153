//! The dispatcher: hands freed capacity to queued requests.
//!
//! Woken by the change feed after every release and slot creation in any
//! instance, it drains as many entries as capacity allows in one pass (in
//! queue order), skipping platforms it found full earlier in the pass. A
//! periodic tick expires overdue entries, moves requests whose platform
//! wait is over to the next platform, and takes over requests whose router
//! was interrupted while walking the platforms for them.

use chrono::Duration;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

use crate::error::Result;
use crate::feed::Topic;
use crate::pool;
use crate::queue;
use crate::router::{DeployOutcome, Pass, Router, Waiting};
use crate::settings;
use crate::stop::StopSignal;

/// What one drain pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DrainReport {
    /// Requests deployed.
    pub deployed: usize,
    /// Requests that expired.
    pub expired: usize,
    /// Requests still waiting.
    pub waiting: usize,
}

/// Drains the queue; shared by every trigger.
#[derive(Clone)]
pub struct Dispatcher {
    router: Router,
    passes: Arc<AtomicU64>,
}

impl Dispatcher {
    /// A dispatcher over `router`. Pass `router.detached()` to let slow
    /// starts run concurrently (as instances do); tests that want a pass to
    /// finish its deploys before returning pass the router as it is.
    pub fn new(router: Router) -> Self {
        Dispatcher {
            router,
            passes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Passes run so far (for observation).
    pub fn passes(&self) -> u64 {
        self.passes.load(Ordering::Relaxed)
    }

    /// One pass: expire what is overdue, then offer capacity to every entry
    /// in queue order until none is left.
    pub async fn drain(&self) -> Result<DrainReport> {
        self.passes.fetch_add(1, Ordering::Relaxed);
        let db = self.router.db();
        let now = self.router.clock().now();
        let mut report = DrainReport {
            expired: queue::expire(db, now).await?.len(),
            ..DrainReport::default()
        };
        if report.expired > 0 {
            self.router.feed().publish(&[Topic::Queue, Topic::Bots]);
        }
        let entries: Vec<Waiting> = sqlx::query_as(
            "SELECT q.bot_id, b.pool, q.priority, b.queue_timeout_ms, q.queued_at, q.timeout_at, q.stage_platform,
                    COALESCE(b.deadline, b.created_at + b.queue_timeout_ms * interval '1 millisecond') AS deadline,
                    CASE WHEN q.stage = -2 THEN q.stage_deadline END AS routing_until
             FROM deployment_queue q JOIN bots b ON b.id = q.bot_id
             WHERE b.status = 'QUEUED'
             ORDER BY q.priority, q.queued_at, q.id",
        )
        .fetch_all(db)
        .await?;
        if entries.is_empty() {
            return Ok(report);
        }
        let settings = settings::load(db).await?;
        let pools: HashMap<String, pool::Pool> = pool::list(db)
            .await?
            .into_iter()
            .map(|p| (p.name.clone(), p))
            .collect();
        let mut pass = Pass::default();
        for w in &entries {
            match self.router.resume(w, &settings, &pools, &mut pass).await {
                Ok(DeployOutcome::Deployed { .. }) => report.deployed += 1,
                Ok(_) => report.waiting += 1,
                Err(e) => {
                    tracing::warn!(bot = w.bot_id, error = %e, "dispatch failed for one entry");
                    report.waiting += 1;
                }
            }
        }
        Ok(report)
    }

    /// Runs until `stop` is set: a pass on every relevant change event, and
    /// on every tick. A pass under way when the stop comes is finished.
    pub async fn run(self, tick: Duration, mut stop: StopSignal) {
        let mut events = self.router.feed().subscribe();
        while !stop.is_set() {
            let woke = tokio::select! {
                _ = stop.stopped() => return,
                ev = events.recv() => match ev {
                    Ok(ev) => ev.touches(Topic::Slots) || ev.touches(Topic::Settings) || ev.touches(Topic::Queue),
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return,
                },
                _ = self.router.clock().sleep(tick) => true,
            };
            if woke {
                // Coalesce a burst of events into one pass.
                while events.try_recv().is_ok() {}
                if let Err(e) = self.drain().await {
                    tracing::warn!(error = %e, "dispatcher pass failed");
                }
            }
        }
    }
}
