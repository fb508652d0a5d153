//! The simulation's clock: a [`ManualClock`] that also knows who waits on it.
//!
//! The engine's waits (a simulated deploy's latency, anything else that
//! sleeps on the clock) register their wake-up time here, so the day's loop
//! can tell when everything in flight is waiting on a later time — the
//! state is settled — and jump straight to the next wake-up instead of
//! stepping through empty seconds. Nothing sleeps in real time.

use berth_core::clock::{Clock, ManualClock};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, Notify};

/// Waiting tasks by wake-up time (and arrival, for ties), each woken
/// through its sender.
type Timers = BTreeMap<(DateTime<Utc>, u64), oneshot::Sender<()>>;

/// A manual clock whose sleepers are known by their wake-up times.
pub struct DayClock {
    manual: Arc<ManualClock>,
    timers: Mutex<Timers>,
    seq: AtomicU64,
    /// Signalled whenever a task starts waiting.
    slept: Notify,
}

impl DayClock {
    /// A clock at `start` (see [`ManualClock::new`]).
    pub fn new(start: DateTime<Utc>) -> Arc<DayClock> {
        Arc::new(DayClock {
            manual: ManualClock::new(start),
            timers: Mutex::new(BTreeMap::new()),
            seq: AtomicU64::new(0),
            slept: Notify::new(),
        })
    }

    fn timers(&self) -> std::sync::MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tasks waiting on this clock now (a wait whose future was dropped
    /// no longer counts).
    pub fn sleeping(&self) -> usize {
        let mut t = self.timers();
        t.retain(|_, tx| !tx.is_closed());
        t.len()
    }

    /// The earliest time a waiting task wakes at.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        let mut t = self.timers();
        t.retain(|_, tx| !tx.is_closed());
        t.keys().next().map(|(at, _)| *at)
    }

    /// Returns once at least `n` tasks wait on this clock.
    pub async fn wait_for_sleepers(&self, n: usize) {
        loop {
            let slept = self.slept.notified();
            tokio::pin!(slept);
            slept.as_mut().enable();
            if self.sleeping() >= n {
                return;
            }
            slept.await;
        }
    }

    /// Moves time to `at` (never back) and wakes every task due by then.
    pub fn advance_to(&self, at: DateTime<Utc>) {
        let now = self.manual.now();
        if at > now {
            self.manual.advance(at - now);
        }
        let due: Vec<oneshot::Sender<()>> = {
            let mut t = self.timers();
            let later = t.split_off(&(at, u64::MAX));
            std::mem::replace(&mut *t, later).into_values().collect()
        };
        for tx in due {
            let _ = tx.send(());
        }
    }
}

#[async_trait::async_trait]
impl Clock for DayClock {
    fn now(&self) -> DateTime<Utc> {
        self.manual.now()
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        if self.now() >= at {
            return;
        }
        let (tx, rx) = oneshot::channel();
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        self.timers().insert((at, n), tx);
        self.slept.notify_waiters();
        let _ = rx.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[tokio::test]
    async fn sleepers_are_counted_and_woken_only_when_due() {
        let clock = DayClock::new(Utc::now());
        let start = clock.now();
        let c = clock.clone();
        let sleeper = tokio::spawn(async move {
            c.sleep(Duration::seconds(60)).await;
            c.now()
        });
        clock.wait_for_sleepers(1).await;
        assert_eq!(clock.next_wake(), Some(start + Duration::seconds(60)));
        clock.advance_to(start + Duration::seconds(59));
        tokio::task::yield_now().await;
        assert_eq!(clock.sleeping(), 1, "woke before its time");
        clock.advance_to(start + Duration::seconds(61));
        assert_eq!(clock.sleeping(), 0);
        assert_eq!(sleeper.await.unwrap() - start, Duration::seconds(61));
    }
}
