//! Demo traffic for development mode: bursts of bot requests (20 s at
//! ~1.5/s) alternate with calm (30 s at ~0.2/s), so slots cycle and a queue
//! forms and drains. Shared by `berth demo` and the desktop app's `--demo`.

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::actor::Actor;
use crate::error::Result;
use crate::lifecycle;
use crate::meeting::MeetingPlatform;
use crate::router::{NewBot, Router};
use crate::{bot, pool, queue, settings};

// Tuned so demand outruns the default development capacity (4 + 6 + 8
// slots, bots running 10-18 s) during a burst and the queue drains in the
// calm that follows; a burst at ~2/s repeating every 45 s outgrows it for good.
/// Length of a burst.
pub const BURST_SECS: f64 = 20.0;
/// Length of the calm between bursts.
pub const CALM_SECS: f64 = 30.0;
/// Requests per second during a burst.
pub const BURST_RATE: f64 = 1.5;
/// Requests per second during the calm.
pub const CALM_RATE: f64 = 0.2;

/// Where in the traffic cycle `elapsed` falls: the phase's name and rate.
pub fn phase(elapsed: Duration) -> (&'static str, f64) {
    if elapsed.as_secs_f64() % (BURST_SECS + CALM_SECS) < BURST_SECS {
        ("burst", BURST_RATE)
    } else {
        ("calm", CALM_RATE)
    }
}

/// What the generator has done so far.
#[derive(Debug, Default)]
pub struct Counters {
    /// Bot requests made.
    pub requested: AtomicU64,
    /// Requests that returned an error.
    pub failed: AtomicU64,
}

/// A random bot request for a demo meeting on a random meeting platform.
pub fn request(n: u64) -> NewBot {
    let mut rng = rand::rng();
    let meeting_platform = MeetingPlatform::ALL[rng.random_range(0..MeetingPlatform::ALL.len())];
    let meeting_url = match meeting_platform {
        MeetingPlatform::GoogleMeet => format!("https://meet.google.com/demo-{n:04}"),
        MeetingPlatform::MicrosoftTeams => {
            format!("https://teams.microsoft.com/l/meetup-join/demo-{n:04}")
        }
        MeetingPlatform::Zoom => format!("https://zoom.us/j/9{n:09}"),
    };
    NewBot {
        meeting_platform,
        meeting_url,
        priority: Some(if rng.random_bool(0.2) { 50 } else { 100 }),
        queue_timeout_ms: None,
        pool: None,
        display_name: None,
        metadata: None,
        webhook_url: None,
        join_at: None,
        expected_duration_ms: None,
        if_full: crate::schedule::IfFull::Refuse,
        not_before: None,
    }
}

/// A running traffic generator. Dropping it without [`Traffic::stop`]
/// aborts the generator (requests in flight are abandoned).
pub struct Traffic {
    started: Instant,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Traffic {
    /// Starts requesting bots through `router` (on the current Tokio runtime).
    pub fn start(router: Router) -> Traffic {
        let started = Instant::now();
        let counters = Arc::new(Counters::default());
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(generate(router, started, stop_rx, counters.clone()));
        Traffic {
            started,
            counters,
            stop,
            task: Some(task),
        }
    }

    /// The current phase's name (`burst` or `calm`).
    pub fn phase(&self) -> &'static str {
        phase(self.started.elapsed()).0
    }

    /// Requests made so far.
    pub fn requested(&self) -> u64 {
        self.counters.requested.load(Ordering::Relaxed)
    }

    /// Requests that failed so far.
    pub fn failed(&self) -> u64 {
        self.counters.failed.load(Ordering::Relaxed)
    }

    /// Stops requesting and waits (up to 15 s) for requests in flight.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Requests bots until told to stop, then waits (a while) for requests in flight.
async fn generate(
    router: Router,
    started: Instant,
    mut stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
) {
    let mut inflight: JoinSet<bool> = JoinSet::new();
    let mut n = 0_u64;
    loop {
        let (_, rate) = phase(started.elapsed());
        let jitter: f64 = rand::rng().random_range(0.5..1.5);
        let pause = Duration::from_secs_f64(jitter / rate);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => break,
        }
        n += 1;
        let (router, req) = (router.clone(), request(n));
        counters.requested.fetch_add(1, Ordering::Relaxed);
        inflight.spawn(async move {
            match lifecycle::deploy(&router, &Actor::system("demo"), &req).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "demo: bot request failed");
                    false
                }
            }
        });
        while let Some(done) = inflight.try_join_next() {
            count(&counters, done);
        }
    }
    let drained = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(done) = inflight.join_next().await {
            count(&counters, done);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = inflight.len(),
            "demo: requests still in flight at stop; abandoned"
        );
        inflight.abort_all();
    }
}

fn count(counters: &Counters, done: std::result::Result<bool, tokio::task::JoinError>) {
    if !matches!(done, Ok(true)) {
        counters.failed.fetch_add(1, Ordering::Relaxed);
    }
}

/// One platform's capacity in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    /// The deployment platform.
    pub platform: String,
    /// Bots in active states there.
    pub used: i64,
    /// Its limit (a routable platform always has one).
    pub limit: i32,
}

/// What the demo shows every second: slots by status over every pool, the
/// queue's length, capacity of every routable platform, and the bots
/// created since the demo began that ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Idle slots.
    pub idle: i64,
    /// Deploying slots.
    pub deploying: i64,
    /// Busy slots.
    pub busy: i64,
    /// Slots in error.
    pub error: i64,
    /// Requests waiting in the queue.
    pub queue: i64,
    /// Routable platforms in priority order.
    pub platforms: Vec<Capacity>,
    /// Bots created since `since` that are `DONE`.
    pub done: i64,
    /// Bots created since `since` that are `FATAL`.
    pub fatal: i64,
}

/// The [`Snapshot`] as of `now`, counting bots created since `since`. Reads only.
pub async fn snapshot(db: &PgPool, now: DateTime<Utc>, since: DateTime<Utc>) -> Result<Snapshot> {
    let pools = pool::stats(db).await?;
    let queue = queue::stats(db, now).await?.length;
    let used: HashMap<String, i64> = bot::active_per_platform(db).await?.into_iter().collect();
    let platforms = settings::load(db)
        .await?
        .routable()
        .map(|p| Capacity {
            platform: p.platform.as_str().to_string(),
            used: used.get(p.platform.as_str()).copied().unwrap_or(0),
            limit: p.bot_limit.unwrap_or(0),
        })
        .collect();
    let ended = bot::ended_since(db, since).await?;
    Ok(Snapshot {
        idle: pools.iter().map(|p| p.idle).sum(),
        deploying: pools.iter().map(|p| p.deploying).sum(),
        busy: pools.iter().map(|p| p.busy).sum(),
        error: pools.iter().map(|p| p.error).sum(),
        queue,
        platforms,
        done: ended.done,
        fatal: ended.fatal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_alternate_burst_then_calm() {
        assert_eq!(phase(Duration::from_secs(0)).0, "burst");
        assert_eq!(phase(Duration::from_secs_f64(BURST_SECS - 0.1)).0, "burst");
        assert_eq!(phase(Duration::from_secs_f64(BURST_SECS + 0.1)).0, "calm");
        assert_eq!(
            phase(Duration::from_secs_f64(BURST_SECS + CALM_SECS + 0.1)).0,
            "burst"
        );
    }

    #[test]
    fn requests_name_a_meeting_of_their_platform() {
        for n in 0..50 {
            let r = request(n);
            let host = match r.meeting_platform {
                MeetingPlatform::GoogleMeet => "meet.google.com",
                MeetingPlatform::MicrosoftTeams => "teams.microsoft.com",
                MeetingPlatform::Zoom => "zoom.us",
            };
            assert!(r.meeting_url.contains(host), "{}", r.meeting_url);
            assert!(matches!(r.priority, Some(50 | 100)));
        }
    }
}
