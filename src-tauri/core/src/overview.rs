//! The platform overview and the status read model: what every face shows
//! of the engine at a glance (the desktop's infrastructure view, `berth
//! status`), built once here so the faces only format it.
//!
//! Read-only: nothing here writes or publishes.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

use crate::clock::{Clock, SystemClock};
use crate::config::EnvConfig;
use crate::error::Result;
use crate::instance::{self, HEALTH_MAX_AGE_MS};
use crate::meeting::{PlatformKind, SlotStatus};
use crate::peers::{self, Peer};
use crate::platform::{self, Health, Platforms};
use crate::pool::{self, PoolStats};
use crate::queue::{self, QueueEntryView, QueueStats};
use crate::settings::{self, PlatformSettings};
use crate::{bot, jobs, slot};

/// Slot counts of one deployment platform, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct StatusCounts {
    /// Idle slots.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub idle: i64,
    /// Deploying slots.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub deploying: i64,
    /// Busy slots.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub busy: i64,
    /// Slots in error.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub error: i64,
    /// All slots on the platform.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub total: i64,
}

impl StatusCounts {
    /// Adds `count` slots in `status`.
    fn add(&mut self, status: SlotStatus, count: i64) {
        match status {
            SlotStatus::Idle => self.idle += count,
            SlotStatus::Deploying => self.deploying += count,
            SlotStatus::Busy => self.busy += count,
            SlotStatus::Error => self.error += count,
        }
        self.total += count;
    }
}

/// One platform: its settings, capacity in use, health and slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PlatformOverview {
    /// Its settings (position, enabled, limit, timeout, pins).
    pub settings: PlatformSettings,
    /// Capacity in use: bots in active states there (`used` of `K8s used/limit`).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub used: i64,
    /// Requests waiting for capacity on it (its queue depth).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub queued: i64,
    /// Health as the shared checks last saw it (see [`platforms`]).
    pub health: Health,
    /// Its slots by status.
    pub slots: StatusCounts,
    /// Drained by an operator (no new bots there), if it is.
    pub drain: Option<platform::drain::Drained>,
}

/// Every platform in priority order, with the global queue timeout. Times
/// serialize as [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PlatformsOverview {
    /// When it was read.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub now: DateTime<Utc>,
    /// Platforms in priority order.
    pub platforms: Vec<PlatformOverview>,
    /// Requests in the global queue (or between platforms), on none of them.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub global_queued: i64,
    /// Ceiling of every request's global queue timeout.
    pub global_queue_timeout_ms: i32,
    /// The variable pinning it, if any.
    pub global_queue_timeout_pinned_by: Option<String>,
}

/// Every platform with settings, in priority order, as of `now`.
///
/// Health is what running instances last recorded; a check older than
/// [`HEALTH_MAX_AGE_MS`] (or none) is `unknown`, unless `probe` holds an
/// adapter for that platform: then the adapter is asked here (development
/// mode's simulator, so `berth status --dev` shows health with no instance
/// running). Reads only.
pub async fn platforms(
    db: &PgPool,
    now: DateTime<Utc>,
    probe: Option<&Platforms>,
) -> Result<PlatformsOverview> {
    // Independent reads, each a few rows: at once, on the pool's connections.
    let (s, used, queued, shared, counts, drains) = tokio::try_join!(
        settings::load(db),
        bot::active_per_platform(db),
        queue::depth_per_platform(db),
        platform::shared_health(db, now, Duration::milliseconds(HEALTH_MAX_AGE_MS)),
        slot::counts_per_platform(db),
        platform::drain::drains(db),
    )?;
    let used: HashMap<String, i64> = used.into_iter().collect();
    let mut slots: HashMap<PlatformKind, StatusCounts> = HashMap::new();
    for c in counts {
        slots
            .entry(c.deployment_platform)
            .or_default()
            .add(c.status, c.count);
    }
    let mut drains: HashMap<PlatformKind, platform::drain::Drained> = drains.into_iter().collect();
    let mut out = Vec::with_capacity(s.platforms.len());
    for p in s.platforms {
        let health = match (
            shared.get(&p.platform).copied(),
            probe.and_then(|a| a.get(p.platform)),
        ) {
            (Some(h), _) if h != Health::Unknown => h,
            (_, Some(adapter)) => adapter.health().await,
            _ => Health::Unknown,
        };
        out.push(PlatformOverview {
            used: used.get(p.platform.as_str()).copied().unwrap_or(0),
            queued: queued.on(p.platform),
            health,
            slots: slots.get(&p.platform).copied().unwrap_or_default(),
            drain: drains.remove(&p.platform),
            settings: p,
        });
    }
    Ok(PlatformsOverview {
        now,
        platforms: out,
        global_queued: queued.global,
        global_queue_timeout_ms: s.global_queue_timeout_ms,
        global_queue_timeout_pinned_by: s.global_queue_timeout_pinned_by,
    })
}

/// The simulator of every platform (development mode's adapters, with no
/// environment read), to pass as [`platforms`]' `probe` when no instance
/// is running to check health. Builds adapters only; starts nothing.
pub async fn dev_probe(db: &PgPool) -> Result<Platforms> {
    let clock: Arc<dyn Clock> = SystemClock::new();
    instance::build_platforms(db, clock, &EnvConfig::parse(&|_| None, true)?).await
}

/// The whole engine at a glance: pools, queue, platforms, leader and peers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Slot counts of every pool.
    pub pools: Vec<PoolStats>,
    /// The queue's length and waits.
    pub queue: QueueStats,
    /// Every platform (see [`platforms`]).
    pub platforms: PlatformsOverview,
    /// The instance holding the leader lease, if any holds it now.
    pub leader: Option<Uuid>,
    /// Instances sharing the database (see [`peers::list`]).
    pub peers: Vec<Peer>,
}

/// [`Status`] as of `now`; `probe` as in [`platforms`]. Reads only.
pub async fn status(db: &PgPool, now: DateTime<Utc>, probe: Option<&Platforms>) -> Result<Status> {
    // Independent reads: at once, on the pool's connections.
    let (pools, queue, platforms, leader, peers) = tokio::try_join!(
        pool::stats(db),
        queue::stats(db, now),
        platforms(db, now, probe),
        jobs::leader(db),
        peers::list(db),
    )?;
    Ok(Status {
        pools,
        queue,
        platforms,
        leader,
        peers,
    })
}

/// One queued request with its estimated wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    /// The entry (position, pool, priority, what it waits on, deadlines).
    #[serde(flatten)]
    pub entry: QueueEntryView,
    /// From the observed release rate; `None` when no release was seen
    /// (no honest estimate exists).
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub estimated_wait_ms: Option<i64>,
}

/// The queue in order as of a moment, with the release rate its
/// estimates come from. Times serialize as [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct QueueSnapshot {
    /// When it was read (the server's time, for countdowns).
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub now: DateTime<Utc>,
    /// Entries in queue order.
    pub entries: Vec<Waiting>,
    /// Releases per second over the last [`queue::RATE_WINDOW_MINUTES`].
    pub release_rate_per_sec: f64,
}

/// The queue as of `now`, each entry with its estimated wait. Reads only.
pub async fn queue(db: &PgPool, now: DateTime<Utc>) -> Result<QueueSnapshot> {
    let rate = queue::release_rate(db, now).await?;
    let entries = queue::list(db, now)
        .await?
        .into_iter()
        .map(|entry| Waiting {
            estimated_wait_ms: queue::estimate_wait_ms(entry.position, rate),
            entry,
        })
        .collect();
    Ok(QueueSnapshot {
        now,
        entries,
        release_rate_per_sec: rate,
    })
}
