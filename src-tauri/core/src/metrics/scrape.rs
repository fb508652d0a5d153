//! The gauges read at scrape time from the same read models `berth status`
//! and `berth queue` print (so a scrape and the CLI agree), and from this
//! instance's own state (its adapters' breakers, its leadership).

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use crate::error::Result;
use crate::meeting::{PlatformKind, SlotStatus};
use crate::overview::{self, PlatformOverview};
use crate::platform::Health;
use crate::router::Router;
use crate::slot;

/// A gauge's labels: names known at compile time, values read.
type Labels = Vec<(&'static str, String)>;
/// The gauges of one family, by label set.
type GaugeFamily = Family<Labels, Gauge<f64, AtomicU64>>;

/// The scrape-time gauges of one scrape, by family name. Each family is
/// exported (with its `HELP` and `TYPE`) once declared, even with no
/// sample, so dashboards and the name check see every name.
#[derive(Default)]
pub struct Gauges {
    families: BTreeMap<&'static str, (&'static str, GaugeFamily)>,
}

impl Gauges {
    /// Declares the family `name` (no sample yet). Later calls keep the
    /// first help text.
    pub fn declare(&mut self, name: &'static str, help: &'static str) -> &GaugeFamily {
        &self
            .families
            .entry(name)
            .or_insert_with(|| (help, GaugeFamily::default()))
            .1
    }

    /// Sets one sample of the gauge `name`, declaring its family on first
    /// use: the one line a new scrape-time gauge needs (e.g. the webhook
    /// backlog: `g.set("berth_webhook_backlog", "...", &[("subscription", name)], n as f64)`).
    pub fn set(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        let labels: Labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        self.declare(name, help).get_or_create(&labels).set(value);
    }

    /// Moves every family into `registry`.
    pub(super) fn register(self, registry: &mut Registry) {
        for (name, (help, family)) in self.families {
            registry.register(name, help, family);
        }
    }
}

const IDLE_TARGET_HELP: &str = "A scaled pool's idle target at its last scaling decision (no sample: the pool has a fixed prewarm)";
const BOT_LIMIT_HELP: &str =
    "A deployment platform's bot limit (no sample: no limit, the router skips it)";
const BREAKER_HELP: &str = "1 while this instance's circuit breaker for a deployment platform is open (calls fail fast), else 0 (no sample: no adapter here)";

fn flag(on: bool) -> f64 {
    if on {
        1.0
    } else {
        0.0
    }
}

/// Reads every scrape-time gauge into `g`. `leader` is this instance's
/// leadership as it knows it. Reads only.
pub(super) async fn read(router: &Router, leader: bool, g: &mut Gauges) -> Result<()> {
    let db = router.db();
    let now = router.clock().now();
    let status = overview::status(db, now, None).await?;
    let queue = overview::queue(db, now).await?;
    let slots = slot::counts_per_pool_and_platform(db).await?;

    let platforms: Vec<PlatformKind> = status
        .platforms
        .platforms
        .iter()
        .map(|p| p.settings.platform)
        .collect();
    let pools: Vec<&str> = status.pools.iter().map(|p| p.pool.as_str()).collect();
    for pool in &pools {
        router.instruments().know_pool(pool);
    }
    slot_gauges(g, &pools, &platforms, &slots);

    for p in &status.pools {
        g.set(
            "berth_pool_max_slots",
            "A pool's maximum number of slots across its deployment platforms",
            &[("pool", &p.pool)],
            p.max_size as f64,
        );
    }
    g.declare("berth_pool_idle_target", IDLE_TARGET_HELP);
    for (pool, target) in crate::scaling::decision::latest_targets(db).await? {
        g.set(
            "berth_pool_idle_target",
            IDLE_TARGET_HELP,
            &[("pool", &pool)],
            f64::from(target),
        );
    }
    queue_gauges(g, &pools, &queue);
    const SCHEDULED: &str = "Scheduled bots not started yet (no slot, no queue entry), by pool";
    let scheduled = crate::schedule::scheduled_per_pool(db).await?;
    for pool in &pools {
        let n = scheduled
            .iter()
            .find(|(p, _)| p == pool)
            .map_or(0, |(_, n)| *n);
        g.set(
            "berth_scheduled_bots",
            SCHEDULED,
            &[("pool", pool)],
            n as f64,
        );
    }
    g.set(
        "berth_queue_oldest_age_seconds",
        "How long the oldest queued request has waited (0 when the queue is empty), as berth status shows it",
        &[],
        status
            .queue
            .oldest_queued_at
            .map_or(0.0, |at| (now - at).num_milliseconds().max(0) as f64 / 1000.0),
    );
    // Declared even when no platform has a limit or an adapter here.
    g.declare("berth_platform_bot_limit", BOT_LIMIT_HELP);
    g.declare("berth_platform_breaker_open", BREAKER_HELP);
    for p in &status.platforms.platforms {
        platform_gauges(g, router, p);
    }
    g.set(
        "berth_global_queue_depth",
        "Requests in the global queue (or between platforms), waiting on no deployment platform",
        &[],
        status.platforms.global_queued as f64,
    );
    g.set(
        "berth_leader",
        "1 when this instance holds the leader lease (runs the background jobs), else 0",
        &[],
        flag(leader),
    );
    g.set(
        "berth_peers",
        "Instances sharing the database, as berth status lists them",
        &[],
        status.peers.len() as f64,
    );
    g.set(
        "berth_deploys_in_flight",
        "Deploys this instance's dispatcher runs in their own tasks now",
        &[],
        router.inflight().count() as f64,
    );
    g.set(
        "berth_instance_info",
        "This instance (always 1): its id and Berth's version",
        &[
            ("instance_id", &router.feed().origin().to_string()),
            ("version", env!("CARGO_PKG_VERSION")),
        ],
        1.0,
    );
    Ok(())
}

/// `berth_slots{pool, platform, state}`: every live pool × platform with
/// settings × state, zeros included (a series that vanishes reads as "no
/// data", not 0), plus any other combination that has slots.
fn slot_gauges(
    g: &mut Gauges,
    pools: &[&str],
    platforms: &[PlatformKind],
    counts: &[slot::PoolPlatformStatusCount],
) {
    const NAME: &str = "berth_slots";
    const HELP: &str = "Slots by pool, deployment platform and state (idle, deploying, busy, error), as berth status counts them";
    let mut values: BTreeMap<(String, PlatformKind, SlotStatus), i64> = BTreeMap::new();
    for pool in pools {
        for platform in platforms {
            for state in SlotStatus::ALL {
                values.insert((pool.to_string(), *platform, *state), 0);
            }
        }
    }
    for c in counts {
        *values
            .entry((c.pool.clone(), c.deployment_platform, c.status))
            .or_default() += c.count;
    }
    g.declare(NAME, HELP);
    for ((pool, platform, state), n) in values {
        let labels = [
            ("pool", pool.as_str()),
            ("platform", platform.as_str()),
            ("state", state.as_str()),
        ];
        g.set(NAME, HELP, &labels, n as f64);
    }
}

/// `berth_queue_depth{pool}`: the queue's entries (as `berth queue` lists
/// them) by pool, zeros included for every live pool.
fn queue_gauges(g: &mut Gauges, pools: &[&str], queue: &overview::QueueSnapshot) {
    let mut depth: BTreeMap<&str, i64> = pools.iter().map(|p| (*p, 0)).collect();
    for w in &queue.entries {
        *depth.entry(w.entry.pool.as_str()).or_default() += 1;
    }
    const HELP: &str = "Requests waiting for capacity (platform waits and the global queue), by pool, as berth queue lists them";
    g.declare("berth_queue_depth", HELP);
    for (pool, n) in depth {
        g.set("berth_queue_depth", HELP, &[("pool", pool)], n as f64);
    }
}

/// One platform's health (shared: the last check by any instance, as
/// `berth status` shows it), capacity and this instance's breaker.
fn platform_gauges(g: &mut Gauges, router: &Router, p: &PlatformOverview) {
    let platform = p.settings.platform.as_str();
    for health in [
        Health::Healthy,
        Health::Degraded,
        Health::Down,
        Health::Unknown,
    ] {
        g.set(
            "berth_platform_health",
            "1 for a deployment platform's current health state (healthy, degraded, down, unknown), as berth status shows it; 0 for the others",
            &[("platform", platform), ("state", health.as_str())],
            flag(p.health == health),
        );
    }
    g.set(
        "berth_platform_active_bots",
        "Bots in active states on a deployment platform (the used capacity berth status shows)",
        &[("platform", platform)],
        p.used as f64,
    );
    g.set(
        "berth_platform_queue_depth",
        "Requests waiting for capacity on a deployment platform (berth status's queued column; the global queue is berth_global_queue_depth)",
        &[("platform", platform)],
        p.queued as f64,
    );
    if let Some(limit) = p.settings.bot_limit {
        g.set(
            "berth_platform_bot_limit",
            BOT_LIMIT_HELP,
            &[("platform", platform)],
            limit as f64,
        );
    }
    // Only platforms with an adapter in this instance have a breaker here.
    if let Some(adapter) = router.platforms().get(p.settings.platform) {
        g.set(
            "berth_platform_breaker_open",
            BREAKER_HELP,
            &[("platform", platform)],
            flag(adapter.unavailable().is_some()),
        );
    }
}
