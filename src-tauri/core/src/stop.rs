//! Cooperative stopping of an instance's background loops.
//!
//! A loop checks its [`StopSignal`] between iterations and while it waits,
//! never in the middle of one: a task aborted mid-iteration can drop a
//! transaction while its `COMMIT` is on the wire, and the `ROLLBACK` sqlx
//! then queues runs after the commit (PostgreSQL answers "there is no
//! transaction in progress"), or cut off a pass that had already taken a
//! slot. [`crate::Berth::shutdown`] sets the signal, waits for the loops,
//! and aborts only those still running after a bound.

use std::time::Duration;

use tokio::sync::watch;

/// Sets the stop signal of the [`StopSignal`]s made from it.
#[derive(Debug)]
pub struct Stopper(watch::Sender<bool>);

/// Tells a loop that its instance is stopping. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StopSignal(watch::Receiver<bool>);

impl Stopper {
    /// A stopper and the first signal it sets.
    pub fn new() -> (Stopper, StopSignal) {
        let (tx, rx) = watch::channel(false);
        (Stopper(tx), StopSignal(rx))
    }

    /// Sets the signal; every [`StopSignal::stopped`] waiting resolves.
    /// Idempotent.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// Another signal of this stopper.
    pub fn signal(&self) -> StopSignal {
        StopSignal(self.0.subscribe())
    }
}

impl StopSignal {
    /// Whether the stop was asked for.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the stop is asked for (at once if it already was, or
    /// if the stopper is gone).
    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }

    /// Sleeps `d`, cut short by the stop; `true` when stopping.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => self.is_set(),
            _ = self.stopped() => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_sleep_ends_at_the_stop_and_later_signals_see_it_at_once() {
        let (stopper, mut signal) = Stopper::new();
        let mut other = stopper.signal();
        assert!(!signal.is_set());
        let sleeper = tokio::spawn(async move { signal.sleep(Duration::from_secs(3600)).await });
        tokio::task::yield_now().await;
        stopper.stop();
        assert!(sleeper.await.unwrap(), "the sleep reports the stop");
        assert!(other.sleep(Duration::from_secs(3600)).await);
        assert!(stopper.signal().is_set());
    }

    #[tokio::test(start_paused = true)]
    async fn a_sleep_without_a_stop_runs_its_length() {
        let (_stopper, mut signal) = Stopper::new();
        let start = tokio::time::Instant::now();
        assert!(!signal.sleep(Duration::from_secs(5)).await);
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }
}
