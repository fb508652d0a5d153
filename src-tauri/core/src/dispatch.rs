//! The dispatcher: hands freed capacity to queued requests.
//!
//! Woken by the change feed after every release and slot creation in any
//! instance (at once by those of its own instance, without the database
//! round trip), it drains as many entries as capacity allows in one pass (in
//! queue order), skipping platforms it found full earlier in the pass. It
//! reads the queue a page at a time ([`queue::waiting_page`]) and stops
//! reading once every platform was found full: with a long queue a pass
//! reads one page, not the whole queue (what is due whatever the capacity,
//! a platform wait that is over, is still handled for every entry).
//! Consecutive entries headed for the same platform are granted in one
//! transaction ([`Router::grant_batch`]), so a pass costs a few commits,
//! not one per grant. A
//! periodic tick expires overdue entries, moves requests whose platform
//! wait is over to the next platform, and takes over requests whose router
//! was interrupted while walking the platforms for them.

use chrono::Duration;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

use crate::error::Result;
use crate::feed::{Topic, Topics};
use crate::pool;
use crate::queue;
use crate::router::{DeployOutcome, Launch, Pass, Router, Target, Waiting, MAX_BATCH};
use crate::settings::{self, Settings};
use crate::stop::StopSignal;

/// Entries a pass reads at a time ([`queue::waiting_page`]): it reads on
/// while capacity may be left, so with a long queue and full platforms a
/// pass reads one page, not the whole queue.
pub const PAGE: usize = 256;

/// Whether every platform the router may use was found full (or backing
/// off) in `pass`: then no entry further down the queue can be granted.
fn no_room(settings: &Settings, pass: &Pass) -> bool {
    settings.routable().all(|p| pass.closed(p.platform))
}

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
        let now = self.router.clock().now();
        // What a pass reads before it offers capacity, in one transaction:
        // an idle instance's passes then cost the database one commit each.
        // A pass that launches its deploys keeps one connection for its
        // reads and batches: the deploys take the pool's other connections,
        // and a pass that asked the pool again for each batch would queue
        // behind them. (One that awaits its deploys needs the pool's other
        // connections meanwhile: it takes one per transaction.)
        let mut held = match self.launch {
            Launch::Spawn => Some(self.router.db().acquire().await?),
            Launch::Await => None,
        };
        let mut tx = match held.as_deref_mut() {
            Some(c) => sqlx::Connection::begin(c).await?,
            None => self.router.db().begin().await?,
        };
        let mut report = DrainReport {
            expired: queue::expire(&mut *tx, now).await?.len(),
            ..DrainReport::default()
        };
        let mut page = queue::waiting_page(&mut *tx, now, None, PAGE).await?;
        // What is due whatever the capacity (a platform wait over, a
        // router's hold passed), for when the pass stops reading early: read
        // here, in the pass's one read transaction, when there is more
        // than a page.
        let due = if page.entries.len() < PAGE {
            Vec::new()
        } else {
            queue::due(&mut *tx, now).await?
        };
        let read = if page.entries.is_empty() {
            None
        } else {
            let settings = settings::load_on(&mut tx).await?;
            let pools: HashMap<String, pool::Pool> = pool::list(&mut *tx)
                .await?
                .into_iter()
                .map(|p| (p.name.clone(), p))
                .collect();
            let states = self.router.platform_states_on(&mut *tx).await?;
            Some((settings, pools, states))
        };
        tx.commit().await?;
        if report.expired > 0 {
            self.router.feed().publish(&[Topic::Queue, Topic::Bots]);
        }
        let Some((settings, pools, states)) = read else {
            return Ok(report);
        };
        let mut pass = Pass::dispatching(states);
        let mut offered: HashSet<i64> = HashSet::new();
        loop {
            let ctx = (&settings, &pools, &mut pass);
            self.offer(held.as_deref_mut(), &page.entries, ctx, now, &mut report)
                .await;
            offered.extend(page.entries.iter().map(|w| w.bot_id));
            if page.entries.len() < PAGE {
                break;
            }
            if no_room(&settings, &pass) {
                // Nothing further can be granted in this pass; what is due
                // whatever the capacity still is, as if the pass had read on.
                for w in due.iter().filter(|w| !offered.contains(&w.bot_id)) {
                    self.one(w, &settings, &pools, &mut pass, &mut report).await;
                }
                break;
            }
            page = match held.as_deref_mut() {
                Some(c) => queue::waiting_page(c, now, page.last, PAGE).await?,
                None => queue::waiting_page(self.router.db(), now, page.last, PAGE).await?,
            };
        }
        Ok(report)
    }

    /// Offers capacity to `entries` in their order: runs headed for the
    /// same platform are granted in one transaction each
    /// ([`Router::grant_batch`]); the others, and those a batch left, one
    /// by one.
    async fn offer(
        &self,
        mut held: Option<&mut sqlx::PgConnection>,
        entries: &[Waiting],
        (settings, pools, pass): (&Settings, &HashMap<String, pool::Pool>, &mut Pass),
        now: chrono::DateTime<chrono::Utc>,
        report: &mut DrainReport,
    ) {
        let mut run: Vec<&Waiting> = Vec::new();
        let mut run_target: Option<Target> = None;
        for w in entries {
            let mut target = self.router.batch_target(w, settings, pools, pass, now);
            let joins = match (target, run_target) {
                (Some(t), Some(r)) => t.platform == r.platform && run.len() < MAX_BATCH,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !joins {
                if let Some(r) = run_target.take() {
                    let ctx = (settings, pools, &mut *pass);
                    self.flush(
                        held.as_deref_mut(),
                        r,
                        std::mem::take(&mut run),
                        ctx,
                        report,
                    )
                    .await;
                    // What the batch learnt (a platform full) holds for the
                    // rest of the pass: capacity freed meanwhile goes to the
                    // entries before this one, in the next pass.
                    target = self.router.batch_target(w, settings, pools, pass, now);
                }
            }
            match target {
                Some(t) => {
                    run_target = Some(t);
                    run.push(w);
                }
                None => self.one(w, settings, pools, pass, report).await,
            }
        }
        if let Some(r) = run_target {
            let ctx = (settings, pools, &mut *pass);
            self.flush(held, r, run, ctx, report).await;
        }
    }

    /// Grants a run in one batch; what the batch left goes one by one.
    async fn flush(
        &self,
        conn: Option<&mut sqlx::PgConnection>,
        target: Target,
        run: Vec<&Waiting>,
        (settings, pools, pass): (&Settings, &HashMap<String, pool::Pool>, &mut Pass),
        report: &mut DrainReport,
    ) {
        let outcomes = match self
            .router
            .grant_batch(conn, target, &run, settings, pools, pass, self.launch)
            .await
        {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::warn!(error = %e, "a batch of grants failed; offering its entries one by one");
                vec![None; run.len()]
            }
        };
        for (w, outcome) in run.into_iter().zip(outcomes) {
            match outcome {
                Some(DeployOutcome::Deployed { .. }) => report.deployed += 1,
                Some(_) => report.waiting += 1,
                None => self.one(w, settings, pools, pass, report).await,
            }
        }
    }

    /// Offers capacity to one entry the one-by-one way ([`Router::resume`]).
    async fn one(
        &self,
        w: &Waiting,
        settings: &Settings,
        pools: &HashMap<String, pool::Pool>,
        pass: &mut Pass,
        report: &mut DrainReport,
    ) {
        match self
            .router
            .resume(w, settings, pools, pass, self.launch)
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

    /// Runs until `stop` is set: a pass on every relevant change event, and
    /// on every tick. A pass under way when the stop comes is finished.
    pub async fn run(self, tick: Duration, mut stop: StopSignal) {
        let mut events = self.router.feed().subscribe();
        // This instance's own changes wake it at once, without waiting for
        // their notice to come back from the database.
        let mut here = self.router.feed().subscribe_here();
        let wakes = |t: Topics| {
            t.contains(Topic::Slots) || t.contains(Topic::Settings) || t.contains(Topic::Queue)
        };
        while !stop.is_set() {
            let woke = tokio::select! {
                _ = stop.stopped() => return,
                t = here.recv() => match t {
                    Ok(t) => wakes(t),
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return,
                },
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
                while here.try_recv().is_ok() {}
                if let Err(e) = self.drain().await {
                    tracing::warn!(error = %e, "dispatcher pass failed");
                }
            }
        }
    }
}
