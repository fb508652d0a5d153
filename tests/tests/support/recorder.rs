//! A platform wrapper that records what the rolling-update and image-pull
//! tests count: image updates (how many at once, at most), pulls and
//! starts, with switches to make a pull fail or an update hang. Every call
//! reaches the real simulator underneath (a wrapper, not a mock:
//! [`berth_tests::wrapped::Wrapped`]).
#![allow(dead_code)] // shared by several test files; each uses part of it

use berth_core::platform::{BotSpec, Platform, PlatformError, ResourceSpec, SlotRef};
use berth_tests::wrapped::{Around, Wrapped};
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The recorder; see the module.
pub struct Recorder {
    db: PgPool,
    pulls_on_start: bool,
    /// Image updates running now.
    pub updating_now: AtomicUsize,
    /// The most image updates ever running at once.
    pub updating_max: AtomicUsize,
    /// Image updates that completed.
    pub updated: AtomicUsize,
    /// `pull_image` calls.
    pub pulls: AtomicUsize,
    /// `start` calls.
    pub starts: AtomicUsize,
    /// Starts that began while the image gate did not say their image was
    /// pulled on this platform: where the start is the pull, the pulls.
    pub first_starts: AtomicUsize,
    /// Pulls still to fail (each failing one takes one off).
    pub failing_pulls: AtomicUsize,
    /// Starts still to fail (each failing one takes one off).
    pub failing_starts: AtomicUsize,
    /// While set, an image update never returns (a leader that dies mid-update).
    pub hang_updates: AtomicBool,
}

impl Recorder {
    /// Wraps `inner`; with `pulls_on_start`, says (as Coolify and
    /// Kubernetes do) that its starts are what pull.
    pub fn new(
        inner: Arc<dyn Platform>,
        db: &PgPool,
        pulls_on_start: bool,
    ) -> Arc<Wrapped<Recorder>> {
        let recorder = Recorder {
            db: db.clone(),
            pulls_on_start,
            updating_now: AtomicUsize::new(0),
            updating_max: AtomicUsize::new(0),
            updated: AtomicUsize::new(0),
            pulls: AtomicUsize::new(0),
            starts: AtomicUsize::new(0),
            first_starts: AtomicUsize::new(0),
            failing_pulls: AtomicUsize::new(0),
            failing_starts: AtomicUsize::new(0),
            hang_updates: AtomicBool::new(false),
        };
        Wrapped::new(inner, recorder)
    }

    fn fail(&self, inner: &dyn Platform, operation: &'static str) -> PlatformError {
        PlatformError {
            platform: inner.kind(),
            operation,
            kind: berth_core::platform::FailureKind::Other,
            message: format!("recorded {operation} failure"),
        }
    }
}

fn take_one(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

#[async_trait::async_trait]
impl Around for Recorder {
    async fn pull_image(&self, inner: &dyn Platform, image: &str) -> Result<(), PlatformError> {
        self.pulls.fetch_add(1, Ordering::SeqCst);
        if take_one(&self.failing_pulls) {
            return Err(self.fail(inner, "pull_image"));
        }
        inner.pull_image(image).await
    }
    fn pulls_on_start(&self, _inner: &dyn Platform) -> bool {
        self.pulls_on_start
    }
    async fn update_image(
        &self,
        inner: &dyn Platform,
        slot: &SlotRef,
        spec: &ResourceSpec,
    ) -> Result<(), PlatformError> {
        let now = self.updating_now.fetch_add(1, Ordering::SeqCst) + 1;
        self.updating_max.fetch_max(now, Ordering::SeqCst);
        if self.hang_updates.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        // Lets the other updates of the pass begin before this one ends.
        tokio::task::yield_now().await;
        let done = inner.update_image(slot, spec).await;
        self.updating_now.fetch_sub(1, Ordering::SeqCst);
        self.updated.fetch_add(1, Ordering::SeqCst);
        done
    }
    async fn start(
        &self,
        inner: &dyn Platform,
        slot: &SlotRef,
        bot: &BotSpec,
    ) -> Result<Option<String>, PlatformError> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        let pulled: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM platform_images WHERE platform = $1 AND image = $2 AND state = 'done')",
        )
        .bind(inner.kind().as_str())
        .bind(&bot.image)
        .fetch_one(&self.db)
        .await
        .expect("gate readable");
        if !pulled {
            self.first_starts.fetch_add(1, Ordering::SeqCst);
        }
        if take_one(&self.failing_starts) {
            return Err(self.fail(inner, "start"));
        }
        inner.start(slot, bot).await
    }
}
