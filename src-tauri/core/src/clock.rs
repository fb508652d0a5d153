//! Time as Berth sees it.
//!
//! Everything that compares times (queue deadlines, stuck-deploying checks,
//! simulated run times) asks a [`Clock`] and passes the answer into SQL, so
//! tests move time instead of sleeping. The production clock is the local
//! clock corrected by the database server's offset, measured at start-up, so
//! instances on different machines agree with the database's `now()`.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// A source of "now" and a way to wait until a later time.
#[async_trait::async_trait]
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Returns once `now() >= at`.
    async fn sleep_until(&self, at: DateTime<Utc>);
    /// Returns once `d` has passed on this clock.
    async fn sleep(&self, d: Duration) {
        let at = self.now() + d;
        self.sleep_until(at).await
    }
}

/// The local clock plus the database server's offset (in microseconds).
#[derive(Debug, Default)]
pub struct SystemClock {
    offset_us: AtomicI64,
}

impl SystemClock {
    /// A clock with no offset until [`SystemClock::calibrate`] runs.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Measures the database server's clock against ours and adopts its
    /// offset, so comparisons agree with `now()` on the server.
    pub async fn calibrate(&self, db: &sqlx::PgPool) -> crate::Result<()> {
        let before = Utc::now();
        let server: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
            .fetch_one(db)
            .await?;
        let after = Utc::now();
        let local_mid = before + (after - before) / 2;
        let offset = (server - local_mid).num_microseconds().unwrap_or(0);
        self.offset_us.store(offset, Ordering::Relaxed);
        Ok(())
    }
}

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Microseconds, as PostgreSQL stores them: a time written and read
        // back compares equal to the one in hand.
        (Utc::now() + Duration::microseconds(self.offset_us.load(Ordering::Relaxed)))
            .trunc_subsecs(6)
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        let left = at - self.now();
        if let Ok(std) = left.to_std() {
            tokio::time::sleep(std).await;
        }
    }
}

/// A clock that only moves when told to; for tests.
///
/// Sleepers wake as soon as [`ManualClock::advance`] moves time past their deadline.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    moved: Notify,
    sleepers: std::sync::atomic::AtomicUsize,
    slept: Notify,
}

impl ManualClock {
    /// A manual clock starting at `start`, kept to microseconds as
    /// PostgreSQL stores times (advance it by whole microseconds).
    pub fn new(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self {
            now: Mutex::new(start.trunc_subsecs(6)),
            moved: Notify::new(),
            sleepers: std::sync::atomic::AtomicUsize::new(0),
            slept: Notify::new(),
        })
    }

    /// A manual clock starting at the real current time (so it agrees with
    /// timestamps the database writes with `now()`).
    pub fn starting_now() -> Arc<Self> {
        Self::new(Utc::now())
    }

    /// How many tasks are sleeping on this clock now.
    pub fn sleepers(&self) -> usize {
        self.sleepers.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Returns once at least `n` tasks sleep on this clock: tests wait on
    /// this event before moving time, instead of guessing with real sleeps.
    pub async fn wait_for_sleepers(&self, n: usize) {
        loop {
            let slept = self.slept.notified();
            tokio::pin!(slept);
            slept.as_mut().enable();
            if self.sleepers() >= n {
                return;
            }
            slept.await;
        }
    }

    /// Moves time forward by `d` and wakes every sleeper whose deadline passed.
    pub fn advance(&self, d: Duration) {
        {
            let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
            *now += d;
        }
        self.moved.notify_waiters();
    }
}

#[async_trait::async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        struct Sleeping<'a>(&'a ManualClock);
        impl Drop for Sleeping<'_> {
            fn drop(&mut self) {
                self.0
                    .sleepers
                    .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        self.sleepers
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _sleeping = Sleeping(self);
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            if self.now() >= at {
                return;
            }
            self.slept.notify_waiters();
            moved.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_only_past_their_deadline() {
        let clock = ManualClock::starting_now();
        let start = clock.now();
        let c2 = clock.clone();
        let sleeper = tokio::spawn(async move {
            c2.sleep(Duration::seconds(10)).await;
            c2.now()
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::seconds(5));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "woke before its deadline");
        clock.advance(Duration::seconds(5));
        let woke_at = sleeper.await.unwrap();
        assert_eq!(woke_at - start, Duration::seconds(10));
    }
}
