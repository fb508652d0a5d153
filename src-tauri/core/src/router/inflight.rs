//! The waiting set (queued requests as the dispatcher sees them) and the
//! in-flight set (deploys running in their own tasks, awaited at shutdown).

use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A queued request as the dispatcher sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Waiting {
    /// Bot id.
    pub bot_id: i64,
    /// Its pool.
    pub pool: String,
    /// Priority.
    pub priority: i32,
    /// Requested timeout.
    pub queue_timeout_ms: i32,
    /// When it was first queued.
    pub queued_at: DateTime<Utc>,
    /// Deadline of the current stage.
    pub timeout_at: DateTime<Utc>,
    /// The platform it waits on, if any.
    pub stage_platform: Option<String>,
    /// The end of the request's whole wait for capacity: no platform wait
    /// and no global queue stay lasts past it.
    pub deadline: DateTime<Utc>,
    /// While the router that created it still owns it (a `Routing` entry):
    /// until when. Dispatchers leave it alone until then.
    pub routing_until: Option<DateTime<Utc>>,
    /// The platform an operator pinned the request to, if any: it is
    /// routed there only.
    pub pinned_platform: Option<String>,
}

impl Waiting {
    /// [`Waiting::pinned_platform`] parsed (a value naming no platform,
    /// impossible under the column's check, reads as no pin).
    pub fn pinned(&self) -> Option<crate::meeting::PlatformKind> {
        self.pinned_platform.as_deref().and_then(|p| p.parse().ok())
    }
}

/// Counts deploys running in their own tasks, so shutdown can wait for them.
#[derive(Debug, Default)]
pub struct Inflight {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

impl Inflight {
    pub(super) fn enter(self: &Arc<Self>) -> InflightGuard {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InflightGuard(self.clone())
    }

    /// Deploys running now.
    pub fn count(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Returns once no deploy is running.
    pub async fn wait_idle(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            idle.await;
        }
    }
}

pub(super) struct InflightGuard(Arc<Inflight>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if self
            .0
            .count
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
            == 1
        {
            self.0.idle.notify_waiters();
        }
    }
}
