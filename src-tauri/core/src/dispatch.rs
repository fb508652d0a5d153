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
use crate::router::{DeployOutcome, Launch, Pass, Router};
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
    /// Whether a pass awaits the deploys it makes, or launches them.
    launch: Launch,
    passes: Arc<AtomicU64>,
}

impl Dispatcher {
    /// A dispatcher over `router` whose passes finish their deploys (and
    /// failovers) before returning: what tests that check a pass's effects
    /// want.
    pub fn new(router: Router) -> Self {
        Dispatcher {
            router,
            launch: Launch::Await,
            passes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A dispatcher over `router` whose passes launch each deploy in its own
    /// task (counted in the router's in-flight set) and go on with the
    /// queue: a pass reserves capacity in queue order without waiting for
    /// slow starts. What running instances use.
    pub fn spawning(router: Router) -> Self {
        Dispatcher {
            launch: Launch::Spawn,
            ..Dispatcher::new(router)
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
        let entries = queue::waiting(db).await?;
        if entries.is_empty() {
            return Ok(report);
        }
        let settings = settings::load(db).await?;
        let pools: HashMap<String, pool::Pool> = pool::list(db)
            .await?
            .into_iter()
            .map(|p| (p.name.clone(), p))
            .collect();
        let mut pass = Pass::dispatching();
        for w in &entries {
            match self
                .router
                .resume(w, &settings, &pools, &mut pass, self.launch)
                .await
            {
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
