//! An instance's background loops besides the dispatcher: leadership, the
//! leader's jobs, and the platforms' health checks.
//!
//! Each runs until its [`StopSignal`] is set and checks it only between
//! iterations and while waiting, so a stop never cuts a transaction or a
//! pass in half (see [`crate::stop`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::config::JobsConfig;
use crate::feed::{Feed, Topic};
use crate::instance::HEALTH_INTERVAL_MS;
use crate::jobs;
use crate::platform::{self, Health};
use crate::router::Router;
use crate::stop::StopSignal;

/// Bids for leadership and keeps this instance's heartbeat. The leader
/// renews every quarter of the lease; the others look again when its
/// renewal runs out (never later than a quarter of the lease), so they
/// take over within the lease. `leading` follows the bids; `became_leader`
/// is notified on taking over.
pub(crate) struct Leadership {
    pub db: PgPool,
    pub me: Uuid,
    pub mode: &'static str,
    pub lease_ms: u32,
    pub leading: Arc<AtomicBool>,
    pub feed: Feed,
    pub became_leader: Arc<Notify>,
}

impl Leadership {
    pub async fn run(self, mut stop: StopSignal) {
        let every = jobs::renewal_interval_ms(self.lease_ms);
        while !stop.is_set() {
            let bid = jobs::bid(&self.db, self.me, self.lease_ms)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "leader election failed");
                    jobs::Bid {
                        leading: false,
                        expires_in_ms: None,
                    }
                });
            if bid.leading != self.leading.swap(bid.leading, Ordering::SeqCst) {
                tracing::info!(leading = bid.leading, "leadership changed");
                self.feed.publish(&[Topic::Peers]);
                if bid.leading {
                    self.became_leader.notify_one();
                }
            }
            let _ = jobs::heartbeat(&self.db, self.me, self.mode).await;
            if bid.leading {
                match jobs::prune_peers(&self.db, self.lease_ms.saturating_mul(3)).await {
                    Ok(n) if n > 0 => self.feed.publish(&[Topic::Peers]),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "stale peers not pruned"),
                }
                // Keeps the slot counters to a few rows per live connection.
                if let Err(e) = crate::slot::counts::fold(&self.db).await {
                    tracing::warn!(error = %e, "slot counters not folded");
                }
                // The same for the platforms' load, and drops release
                // minutes the release rate no longer reads.
                let keep = chrono::Duration::minutes(crate::queue::RATE_WINDOW_MINUTES + 2);
                if let Err(e) = crate::platform::load::fold(&self.db, keep).await {
                    tracing::warn!(error = %e, "platform load counters not folded");
                }
            }
            // Just past the current leader's expiry (it renews at the latest
            // by then if it is alive), else a quarter of the lease.
            let wait = match bid.expires_in_ms {
                Some(ms) => (ms + 5).clamp(5, i64::from(every)),
                None => i64::from(every),
            };
            stop.sleep(Duration::from_millis(wait as u64)).await;
        }
    }
}

/// The jobs only the leader runs, each at its own interval: reconciliation,
/// recovery, pre-warming, scaling, trimming, the sweep of interrupted requests,
/// account refreshes and stuck bots.
pub(crate) struct Jobs {
    pub router: Router,
    pub leading: Arc<AtomicBool>,
    pub config: JobsConfig,
    pub main_url: String,
    pub explicit_query_url: Option<String>,
    pub pools_dir: PathBuf,
    pub became_leader: Arc<Notify>,
}

/// The leader's jobs, each with the interval it runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Job {
    Reconcile,
    /// Each pool's own recovery interval decides (a definition's
    /// `recovery.interval`, else the global one); the job's interval only
    /// bounds how late a due recovery starts.
    Recover,
    Prewarm,
    /// Scaled pools' idle slots brought to their targets ([`jobs::scale`]).
    Scale,
    Trim,
    /// Requests nothing acts on any more (their process died): looked for
    /// every quarter of the lease.
    Sweep,
    /// Each pool's own `refresh_interval` decides; the job's interval only
    /// bounds how late a due refresh starts.
    RefreshAccounts,
    /// Running bots whose heartbeats stopped ([`crate::bot_lease::stuck`]),
    /// looked for at a tenth of the heartbeat timeout.
    StuckBots,
    /// Settled webhook events older than [`crate::webhook::log::KEEP_DAYS`],
    /// and idempotency keys older than [`crate::idempotency::KEEP_HOURS`].
    PruneWebhooks,
    /// The history views' closed buckets ([`crate::history::rollup`]).
    RollUpHistory,
    /// The history tables' daily partitions: created ahead, dropped past
    /// the retention ([`crate::history::partitions`]).
    HistoryPartitions,
    /// Scheduled bots whose start has come ([`crate::schedule::start`]).
    StartScheduled,
    /// Rolling image updates ([`crate::rollout::advance`]): every second,
    /// so a slot taken for its update is back in service soon.
    Rollout,
}

impl Job {
    /// In the order they run within a round.
    const ALL: [Job; 13] = [
        Job::StartScheduled,
        Job::Reconcile,
        Job::Recover,
        Job::Rollout,
        Job::Prewarm,
        Job::Scale,
        Job::Trim,
        Job::Sweep,
        Job::RefreshAccounts,
        Job::StuckBots,
        Job::PruneWebhooks,
        Job::RollUpHistory,
        Job::HistoryPartitions,
    ];

    fn every(self, cfg: &JobsConfig) -> Duration {
        let ms = match self {
            Job::Reconcile => cfg.reconcile_interval_ms,
            Job::Recover | Job::RefreshAccounts | Job::Rollout => 1_000,
            Job::Prewarm | Job::Scale | Job::Trim => cfg.prewarm_interval_ms,
            Job::Sweep => jobs::renewal_interval_ms(cfg.leader_lease_ms),
            Job::StuckBots => {
                crate::bot_lease::stuck::check_interval_ms(cfg.bot_heartbeat_timeout_ms)
            }
            Job::PruneWebhooks => 600_000,
            Job::RollUpHistory => 60_000,
            // Partitions are made days ahead: a round every 10 minutes has
            // hundreds of chances to get a busy table's lock in time.
            Job::HistoryPartitions => 600_000,
            Job::StartScheduled => crate::schedule::start::TICK_MS,
        };
        Duration::from_millis(u64::from(ms))
    }
}

/// What the jobs remember between rounds while leading.
#[derive(Default)]
struct Memory {
    /// When each job last started.
    last: HashMap<Job, Instant>,
    refresh_attempts: HashMap<String, chrono::DateTime<chrono::Utc>>,
    recovered: HashMap<String, chrono::DateTime<chrono::Utc>>,
}

impl Jobs {
    pub async fn run(self, mut stop: StopSignal) {
        let mut memory = Memory::default();
        while !stop.is_set() {
            if self.leading.load(Ordering::SeqCst) {
                for job in Job::ALL {
                    let due = memory
                        .last
                        .get(&job)
                        .is_none_or(|t| t.elapsed() >= job.every(&self.config));
                    if due {
                        memory.last.insert(job, Instant::now());
                        self.run_one(job, &mut memory).await;
                    }
                }
            } else {
                memory = Memory::default();
            }
            // Taking over wakes the jobs at once.
            tokio::select! {
                _ = stop.sleep(Duration::from_millis(100)) => {}
                _ = self.became_leader.notified() => {}
            }
        }
    }

    /// Runs `job` once; a failure is logged, and the job runs again at its
    /// next interval.
    async fn run_one(&self, job: Job, m: &mut Memory) {
        let router = &self.router;
        let failed = match job {
            Job::Reconcile => jobs::reconcile(router).await.err(),
            Job::Recover => jobs::recover_due(router, &self.config, &mut m.recovered)
                .await
                .err(),
            Job::Prewarm => jobs::prewarm(router).await.err(),
            Job::Scale => jobs::scale(router).await.err(),
            Job::Trim => jobs::trim(router).await.err(),
            Job::Rollout => crate::rollout::advance(router).await.err(),
            Job::Sweep => match crate::sweep::run(router).await {
                Ok(r) => {
                    if r != crate::sweep::SweepReport::default() {
                        tracing::info!(report = ?r, "sweep put requests back");
                    }
                    None
                }
                Err(e) => Some(e),
            },
            Job::StartScheduled => crate::schedule::start::run(router).await.err(),
            Job::PruneWebhooks => {
                let before =
                    router.clock().now() - chrono::Duration::days(crate::webhook::log::KEEP_DAYS);
                let events = crate::webhook::log::prune(router.db(), before).await;
                let keys = crate::idempotency::prune(router.db(), router.clock().now()).await;
                events.err().or(keys.err())
            }
            Job::RollUpHistory => {
                crate::history::rollup::roll_up(router.db(), router.clock().now())
                    .await
                    .err()
            }
            Job::HistoryPartitions => {
                history_partitions(router, self.config.history_retention_days)
                    .await
                    .err()
            }
            Job::RefreshAccounts => {
                let conn = crate::account::source::QueryConnection {
                    main_url: &self.main_url,
                    explicit: self.explicit_query_url.as_deref(),
                };
                jobs::refresh_accounts(router, conn, &self.pools_dir, &mut m.refresh_attempts)
                    .await
                    .err()
            }
            Job::StuckBots => {
                crate::bot_lease::stuck::run(router, self.config.bot_heartbeat_timeout_ms)
                    .await
                    .err()
            }
        };
        if let Some(e) = failed {
            tracing::warn!(job = ?job, error = %e, "background job failed");
        }
    }
}

/// Runs [`crate::history::partitions::maintain`] and says what it did:
/// what it dropped at `info` (history is gone for good), the rest at
/// `debug`, and tables it could not lock at `warn`. Also deletes the bots
/// ended past retention ([`crate::bot::retention`]), announcing `bots` when
/// it did; the partitions are announced nowhere (no view shows them, and
/// the days it drops are older than any view).
async fn history_partitions(router: &Router, retention_days: u32) -> crate::Result<()> {
    let actor = crate::actor::Actor::system("history");
    let r = crate::history::partitions::maintain(router.db(), router.clock().now(), retention_days)
        .await?;
    if !r.dropped.is_empty() || r.expired_rows > 0 {
        tracing::info!(actor = %actor, retention_days, dropped = ?r.dropped, expired_rows = r.expired_rows, "history past retention dropped");
    }
    // Scaling decisions are history too, kept as long (not partitioned:
    // a few rows per pool and hour, deleted by age here).
    let retention = chrono::Duration::days(i64::from(retention_days));
    let pruned =
        crate::scaling::decision::prune(router.db(), router.clock().now(), retention).await?;
    if pruned > 0 {
        tracing::info!(actor = %actor, retention_days, pruned, "scaling decisions past retention deleted");
    }
    let bots =
        crate::bot::retention::prune_ended(router.db(), router.clock().now(), retention).await?;
    if bots > 0 {
        tracing::info!(actor = %actor, retention_days, bots, "bots ended past retention deleted");
        router.feed().publish(&[crate::feed::Topic::Bots]);
    }
    if !r.created.is_empty() {
        tracing::debug!(actor = %actor, created = ?r.created, moved_rows = r.moved_rows, "history partitions created");
    }
    for (table, error) in &r.failed {
        tracing::warn!(actor = %actor, table, error = %error, "history partitions not maintained; tried again next round");
    }
    Ok(())
}

/// Checks every adapter's health every [`HEALTH_INTERVAL_MS`] and records
/// it in the database, where every instance's router reads it.
pub(crate) async fn check_health(router: Router, me: Uuid, mut stop: StopSignal) {
    while !stop.is_set() {
        let adapters: Vec<_> = router
            .platforms()
            .iter()
            .map(|(k, a)| (k, a.clone()))
            .collect();
        let mut changed = false;
        for (kind, adapter) in adapters {
            let h = adapter.health().await;
            // Why it is not healthy, for every instance's decision traces.
            let detail = match (h, adapter.unavailable()) {
                (Health::Healthy, _) => None,
                (_, Some(why)) => Some(format!("circuit breaker open: {why}")),
                (Health::Down, None) => Some("not answering its health check".into()),
                _ => None,
            };
            let recorded = platform::record_health_detail(
                router.db(),
                kind,
                h,
                detail.as_deref(),
                router.clock().now(),
                me,
            )
            .await;
            match recorded {
                Ok(c) => {
                    if c {
                        // Once per change, with the breaker's reason if it is open.
                        let why = adapter.unavailable().unwrap_or_default();
                        tracing::info!(platform = %kind, health = h.as_str(), breaker = %why, "platform health changed");
                    }
                    changed |= c
                }
                Err(e) => tracing::warn!(platform = %kind, error = %e, "health not recorded"),
            }
        }
        if changed {
            router.feed().publish(&[Topic::Platforms]);
        }
        stop.sleep(Duration::from_millis(HEALTH_INTERVAL_MS)).await;
    }
}
