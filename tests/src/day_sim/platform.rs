//! The simulated platforms' deploy latency.
//!
//! Each of the three platforms (`k8s`, `aws`, `coolify`) is the core's
//! simulator ([`SimPlatform`], its cluster in the shared database) behind
//! this wrapper ([`crate::wrapped::Wrapped`]), which adds the latency model:
//!
//! - A resource needs [`PREPARE_MS`] ± [`PREPARE_JITTER_MS`] after its
//!   creation to be ready (image pulled, container provisioned); creating
//!   it returns at once, as a platform's API call does.
//! - A start takes [`WARM_MS`] ± [`WARM_JITTER_MS`] once its resource is
//!   ready. So a start on an idle slot made long ago (warm) takes about
//!   3 s, and a start with no idle slot (resource created, then started:
//!   cold) about 60 s ± 12 s. A start on a slot made a little earlier waits
//!   for what is left of its preparation.
//!
//! The jitter is drawn from the seed and the bot's meeting (or the
//! resource and its creation time), so it does not depend on the order in
//! which concurrent tasks happen to run. Every completed start is written
//! to the [`Ledger`]: the day's loop makes the bot report itself in the
//! call from it.

use berth_core::clock::Clock;
use berth_core::meeting::PlatformKind;
use berth_core::platform::sim::SimPlatform;
use berth_core::platform::{BotSpec, Platform, PlatformError, ResourceSpec, SlotRef};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use super::clock::DayClock;
use super::workload::mix;
use crate::wrapped::{Around, Wrapped};

/// How long a new resource takes to be ready, on average.
pub const PREPARE_MS: i64 = 57_000;
/// Its spread (uniform, ±).
pub const PREPARE_JITTER_MS: i64 = 10_000;
/// How long a start on a ready resource takes, on average.
pub const WARM_MS: i64 = 3_000;
/// Its spread (uniform, ±).
pub const WARM_JITTER_MS: i64 = 2_000;

/// A start that completed.
#[derive(Debug, Clone)]
pub struct Started {
    /// The bot.
    pub bot_id: i64,
    /// Its meeting (it names the simulated bot).
    pub meeting_url: String,
    /// When the start completed.
    pub at: DateTime<Utc>,
    /// Whether it waited for its resource to be made ready.
    pub cold: bool,
}

/// What the platforms did, shared by the three and read by the day's loop.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Starts completed since the loop last took them.
    pub started: Vec<Started>,
    /// Starts completed in all.
    pub deploys: u64,
    /// Of those, cold ones.
    pub cold_starts: u64,
    /// Of the cold ones, starts on an idle slot made earlier whose
    /// resource was still being made ready (the acquisition takes
    /// never-used slots first, ready or not).
    pub caught_preparing: u64,
}

/// A shared [`Ledger`].
pub type SharedLedger = Arc<Mutex<Ledger>>;

/// Each resource's creation and readiness times.
type Readiness = HashMap<String, (DateTime<Utc>, DateTime<Utc>)>;

/// The latency model in front of one platform's simulator.
pub struct LatentSim {
    clock: Arc<DayClock>,
    seed: u64,
    ready: Mutex<Readiness>,
    ledger: SharedLedger,
}

impl LatentSim {
    /// The simulator standing in for `kind`, on `db`'s simulated cluster,
    /// with the latency model.
    pub fn new(
        kind: PlatformKind,
        db: sqlx::PgPool,
        clock: Arc<DayClock>,
        seed: u64,
        ledger: SharedLedger,
    ) -> Arc<Wrapped<LatentSim>> {
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let sim = LatentSim {
            clock,
            seed,
            ready: Mutex::new(HashMap::new()),
            ledger,
        };
        Wrapped::new(Arc::new(SimPlatform::new(kind, db, dyn_clock)), sim)
    }

    fn ready(&self) -> std::sync::MutexGuard<'_, Readiness> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `base` ± `spread` ms, drawn from the seed and `key`.
pub fn jittered(seed: u64, key: impl Hash, base: i64, spread: i64) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    let roll = mix(seed ^ h.finish());
    Duration::milliseconds(base - spread + (roll % (2 * spread as u64 + 1)) as i64)
}

#[async_trait::async_trait]
impl Around for LatentSim {
    async fn create_resource(
        &self,
        inner: &dyn Platform,
        slot: &SlotRef,
        spec: &ResourceSpec,
    ) -> Result<String, PlatformError> {
        let resource = inner.create_resource(slot, spec).await?;
        let now = self.clock.now();
        let prepare = jittered(
            self.seed,
            (&resource, now.timestamp_micros()),
            PREPARE_MS,
            PREPARE_JITTER_MS,
        );
        self.ready().insert(resource.clone(), (now, now + prepare));
        Ok(resource)
    }

    async fn start(
        &self,
        inner: &dyn Platform,
        slot: &SlotRef,
        bot: &BotSpec,
    ) -> Result<Option<String>, PlatformError> {
        let now = self.clock.now();
        let (created, ready) = slot
            .platform_ref
            .as_ref()
            .and_then(|r| self.ready().get(r).copied())
            .unwrap_or((now, now));
        let cold = ready > now;
        let caught_preparing = cold && created < now;
        let warm = jittered(self.seed, &bot.meeting_url, WARM_MS, WARM_JITTER_MS);
        self.clock.sleep_until(ready.max(now) + warm).await;
        let out = inner.start(slot, bot).await?;
        let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        ledger.deploys += 1;
        ledger.cold_starts += u64::from(cold);
        ledger.caught_preparing += u64::from(caught_preparing);
        ledger.started.push(Started {
            bot_id: bot.bot_id,
            meeting_url: bot.meeting_url.clone(),
            at: self.clock.now(),
            cold,
        });
        Ok(out)
    }

    async fn delete_resource(
        &self,
        inner: &dyn Platform,
        slot: &SlotRef,
    ) -> Result<(), PlatformError> {
        if let Some(r) = &slot.platform_ref {
            self.ready().remove(r);
        }
        inner.delete_resource(slot).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_its_band_and_depends_only_on_seed_and_key() {
        for k in 0..1000 {
            let d = jittered(3, k, PREPARE_MS, PREPARE_JITTER_MS).num_milliseconds();
            assert!((47_000..=67_000).contains(&d), "{d}");
        }
        assert_eq!(jittered(3, "a", 100, 10), jittered(3, "a", 100, 10));
        let spread: std::collections::HashSet<i64> = (0..50)
            .map(|k| jittered(3, k, WARM_MS, WARM_JITTER_MS).num_milliseconds())
            .collect();
        assert!(spread.len() > 10, "jitter barely varies: {spread:?}");
    }
}
