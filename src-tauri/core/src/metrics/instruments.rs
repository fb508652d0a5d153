//! The instruments recorded as things happen: dispatches, their failures
//! and durations (by the router), waits for capacity (by the router) and
//! the change feed's lag (by the feed's listener).
//!
//! Each instance owns its own (a [`Router`](crate::router::Router) and its
//! clones share one set, a [`Feed`](crate::feed::Feed) and its clones
//! another), so several instances in one process never mix their counts.
//! Recording is lock-free apart from a read lock on the label set's map,
//! and never waits on I/O: it stays off the hot path's critical cost.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

use crate::meeting::PlatformKind;
use crate::platform::FailureKind;
use crate::router::DeployError;

/// One label, a name and a value known at compile time.
type Static1 = [(&'static str, &'static str); 1];
/// Two such labels.
type Static2 = [(&'static str, &'static str); 2];
/// A histogram per label set, with the family's own buckets.
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Buckets of a platform's start, in seconds: simulators answer in
/// milliseconds, Kubernetes Jobs and ECS tasks in seconds to minutes.
const DEPLOY_BUCKETS: [f64; 12] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// Buckets of a wait for capacity, in seconds, up to the longest queue
/// timeout (10 min).
const WAIT_BUCKETS: [f64; 12] = [
    0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// Buckets of the change feed's lag, in seconds.
const LAG_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

fn deploy_histogram() -> Histogram {
    Histogram::new(DEPLOY_BUCKETS)
}

fn wait_histogram() -> Histogram {
    Histogram::new(WAIT_BUCKETS)
}

fn lag_histogram() -> Histogram {
    Histogram::new(LAG_BUCKETS)
}

/// The `kind` label of a failed dispatch: the platform's [`FailureKind`]
/// (`timeout`, `unauthenticated`, ...), else `no_adapter` or `internal`
/// (Berth's own bookkeeping failed).
///
/// [`FailureKind`]: crate::platform::FailureKind
pub fn failure_label(e: &DeployError) -> &'static str {
    match e {
        DeployError::Platform(p) => p.kind.as_str(),
        DeployError::NoAdapter(_) => "no_adapter",
        DeployError::Internal(_) => "internal",
    }
}

/// The `kind` labels of Berth's own failures (beside [`FailureKind`]'s).
const OWN_FAILURES: [&str; 2] = ["no_adapter", "internal"];

/// The router's instruments. Cheap to share: every field is a handle.
#[derive(Debug)]
pub struct RouterInstruments {
    dispatches: Family<Static1, Counter>,
    failures: Family<Static2, Counter>,
    deploy_duration: Histograms<Static1>,
    queue_wait: Histograms<[(&'static str, String); 1]>,
}

impl RouterInstruments {
    /// Instruments for a router with adapters for `platforms`: their
    /// series start at 0 (Prometheus' advice: a series that appears only
    /// once something happened defeats `rate()` and alerts on it).
    pub fn new(platforms: impl IntoIterator<Item = PlatformKind>) -> Self {
        let me = RouterInstruments {
            dispatches: Family::default(),
            failures: Family::default(),
            deploy_duration: Family::new_with_constructor(deploy_histogram),
            queue_wait: Family::new_with_constructor(wait_histogram),
        };
        for kind in platforms {
            let platform = ("platform", kind.as_str());
            drop(me.dispatches.get_or_create(&[platform]));
            drop(me.deploy_duration.get_or_create(&[platform]));
            let kinds = FailureKind::ALL.iter().map(|k| k.as_str());
            for failure in kinds.chain(OWN_FAILURES) {
                drop(me.failures.get_or_create(&[platform, ("kind", failure)]));
            }
        }
        me
    }

    /// Starts the wait series of `pool` at 0 (see [`RouterInstruments::new`]).
    pub fn know_pool(&self, pool: &str) {
        drop(self.queue_wait.get_or_create(&[("pool", pool.to_string())]));
    }

    /// A deploy into a reserved slot on `kind` begins.
    pub fn dispatched(&self, kind: PlatformKind) {
        self.dispatches
            .get_or_create(&[("platform", kind.as_str())])
            .inc();
    }

    /// A deploy on `kind` failed with `error`.
    pub fn failed(&self, kind: PlatformKind, error: &DeployError) {
        self.failures
            .get_or_create(&[("platform", kind.as_str()), ("kind", failure_label(error))])
            .inc();
    }

    /// A workload started on `kind` in `took`.
    pub fn started(&self, kind: PlatformKind, took: Duration) {
        self.deploy_duration
            .get_or_create(&[("platform", kind.as_str())])
            .observe(took.as_secs_f64());
    }

    /// A bot of `pool` got its capacity after waiting `waited` since it
    /// was accepted (0 for one deployed at once; never negative).
    pub fn waited(&self, pool: &str, waited: chrono::Duration) {
        let seconds = waited.num_microseconds().unwrap_or(i64::MAX).max(0) as f64 / 1e6;
        self.queue_wait
            .get_or_create(&[("pool", pool.to_string())])
            .observe(seconds);
    }

    /// Adds the instruments (handles to the same values) to `registry`.
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "berth_dispatches",
            "Deploys started into a reserved slot, by deployment platform",
            self.dispatches.clone(),
        );
        registry.register(
            "berth_dispatch_failures",
            "Deploys that failed, by deployment platform and failure kind (the platform's FailureKind, or no_adapter, internal)",
            self.failures.clone(),
        );
        registry.register(
            "berth_deploy_duration_seconds",
            "Time a successful deploy spent starting its workload on the platform (image pull when needed, resource creation, the start call)",
            self.deploy_duration.clone(),
        );
        registry.register(
            "berth_queue_wait_seconds",
            "Time a deployed bot waited for capacity, from its request's acceptance to its slot's reservation, by pool",
            self.queue_wait.clone(),
        );
    }
}

/// Where a change-feed notice came from, relative to the instance that
/// received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// This instance sent it (its lag is read on one clock).
    Local,
    /// Another instance did (its lag includes the two hosts' clock skew).
    Peer,
}

/// The change feed's lag: from the `NOTIFY` to the delivery of its event
/// to this instance's subscribers.
#[derive(Debug)]
pub struct FeedLag {
    lag: Histograms<Static1>,
}

impl Default for FeedLag {
    fn default() -> Self {
        let lag: Histograms<Static1> = Family::new_with_constructor(lag_histogram);
        // Both series from the start (see `RouterInstruments::new`).
        for origin in ["local", "peer"] {
            drop(lag.get_or_create(&[("origin", origin)]));
        }
        FeedLag { lag }
    }
}

impl FeedLag {
    /// A notice sent at `sent_at_ms` (Unix milliseconds on its sender's
    /// wall clock) arrived at `now_ms` (on this host's); a negative lag
    /// (clock skew) counts as 0.
    pub fn observe(&self, origin: Origin, sent_at_ms: i64, now_ms: i64) {
        let label = match origin {
            Origin::Local => "local",
            Origin::Peer => "peer",
        };
        let seconds = now_ms.saturating_sub(sent_at_ms).max(0) as f64 / 1000.0;
        self.lag
            .get_or_create(&[("origin", label)])
            .observe(seconds);
    }

    /// Adds the histogram (a handle to the same values) to `registry`.
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "berth_feed_lag_seconds",
            "Change-feed lag: from the NOTIFY of a batch of changes to its delivery here, by origin (local: sent by this instance; peer: another instance, clock skew included)",
            self.lag.clone(),
        );
    }
}
