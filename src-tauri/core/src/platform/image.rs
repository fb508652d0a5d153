//! Image pulls: the first deploy of an image on a platform pulls it, every
//! other deploy of that image there — in this instance or any other sharing
//! the database — waits for that pull and then passes straight through.
//!
//! The gate is a `platform_images` row per `(platform, image)` (migration
//! 20261201000150), claimed in one statement: `pulling` (with its holder and
//! when the claim lapses), `done`, or `failed`. A failed pull, or one whose
//! holder vanished (its claim lapsed on the caller's clock), is claimed by
//! the next deploy, which pulls again. Waiters wake at once when the holder
//! is in their process, else on the next poll of the clock.
//!
//! What "the pull" is depends on the platform
//! ([`Platform::pulls_on_start`]): on the simulator (and ECS, where
//! `pull_image` does nothing: Fargate pulls per task, so there is nothing
//! shared to wait for) it is [`Platform::pull_image`]; on Coolify and
//! Kubernetes the first start of the image is the pull, so the deploy that
//! claims the gate holds it through its start ([`ImageGate::admit`]).

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use std::collections::HashSet;
use std::sync::Mutex;
use tokio::sync::Notify;
use uuid::Uuid;

use super::{FailureKind, Platform, PlatformError};
use crate::clock::Clock;
use crate::meeting::PlatformKind;

/// How long a claim holds before another deploy may take the pull over.
pub const PULL_HOLD: Duration = Duration::minutes(15);
/// How often a waiter looks at a pull held by another instance.
pub const PULL_POLL: Duration = Duration::seconds(1);

/// The gate of one Berth instance over the shared `platform_images` table.
pub struct ImageGate {
    /// This instance's identity as a holder.
    holder: Uuid,
    /// Pulls known done (they never need the database again).
    done: Mutex<HashSet<(PlatformKind, String)>>,
    /// Woken whenever a pull held here ends.
    ended: Notify,
}

impl Default for ImageGate {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`ImageGate::admit`] hands back.
#[derive(Debug)]
#[must_use = "a held pull must be ended with `finish`"]
pub enum Pull {
    /// The image is on the platform: go ahead.
    Ready,
    /// The caller holds the pull: its deploy (or pull) is the pull, and it
    /// must [`ImageGate::finish`] it.
    Held(HeldPull),
}

/// A pull this instance holds.
#[derive(Debug)]
pub struct HeldPull {
    kind: PlatformKind,
    image: String,
}

fn db_err(kind: PlatformKind) -> impl Fn(sqlx::Error) -> PlatformError {
    move |e| PlatformError {
        platform: kind,
        operation: "pull_image",
        kind: FailureKind::Other,
        message: format!("cannot use the image pull gate: {e}"),
    }
}

impl ImageGate {
    /// A gate that knows of no pulled image yet.
    pub fn new() -> Self {
        ImageGate {
            holder: Uuid::new_v4(),
            done: Mutex::new(HashSet::new()),
            ended: Notify::new(),
        }
    }

    fn known(&self, kind: PlatformKind, image: &str) -> bool {
        let done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        done.contains(&(kind, image.to_string()))
    }

    /// Returns once `image` may be started on `kind`: at once when it was
    /// pulled there; after the pull when another deploy (any instance) is
    /// pulling it; with [`Pull::Held`] when this caller is to pull (the
    /// image is new there, the last pull failed, or its holder's claim
    /// lapsed). Claiming is one statement: of concurrent callers, one holds.
    pub async fn admit(
        &self,
        db: &PgPool,
        clock: &dyn Clock,
        kind: PlatformKind,
        image: &str,
    ) -> Result<Pull, PlatformError> {
        loop {
            if self.known(kind, image) {
                return Ok(Pull::Ready);
            }
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let now = clock.now();
            if claim(db, self.holder, kind, image, now).await? {
                return Ok(Pull::Held(HeldPull {
                    kind,
                    image: image.to_string(),
                }));
            }
            let state: Option<String> = sqlx::query_scalar(
                "SELECT state FROM platform_images WHERE platform = $1 AND image = $2",
            )
            .bind(kind.as_str())
            .bind(image)
            .fetch_optional(db)
            .await
            .map_err(db_err(kind))?;
            if state.as_deref() == Some("done") {
                self.remember(kind, image);
                return Ok(Pull::Ready);
            }
            // Pulling elsewhere (or failed just now: the next look claims it).
            tokio::select! {
                _ = &mut ended => {}
                _ = clock.sleep(PULL_POLL) => {}
            }
        }
    }

    fn remember(&self, kind: PlatformKind, image: &str) {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        done.insert((kind, image.to_string()));
    }

    /// Ends a held pull: `done` (later deploys pass) or `failed` with why
    /// (the next deploy pulls again). Wakes this instance's waiters.
    pub async fn finish(
        &self,
        db: &PgPool,
        clock: &dyn Clock,
        held: HeldPull,
        outcome: std::result::Result<(), &str>,
    ) -> Result<(), PlatformError> {
        let (state, error) = match outcome {
            Ok(()) => ("done", None),
            Err(e) => ("failed", Some(e)),
        };
        let written = sqlx::query(
            "UPDATE platform_images SET state = $4, error = $5, holder = NULL, lapses_at = NULL,
                 pulled_at = $6
             WHERE platform = $1 AND image = $2 AND state = 'pulling' AND holder = $3",
        )
        .bind(held.kind.as_str())
        .bind(&held.image)
        .bind(self.holder)
        .bind(state)
        .bind(error)
        .bind(clock.now())
        .execute(db)
        .await
        .map_err(db_err(held.kind));
        if outcome.is_ok() {
            self.remember(held.kind, &held.image);
        }
        self.ended.notify_waiters();
        written.map(drop)
    }

    /// Makes sure `image` is on `platform` where it can be pulled ahead of
    /// a start: pulls it through the gate ([`Platform::pull_image`]) unless
    /// it was pulled there, waiting for a pull under way. On a platform
    /// whose start is the pull ([`Platform::pulls_on_start`]) there is
    /// nothing to do ahead: the first start is gated by [`Self::admit`].
    /// Returns `true` when this call pulled.
    pub async fn ensure(
        &self,
        db: &PgPool,
        clock: &dyn Clock,
        platform: &dyn Platform,
        image: &str,
    ) -> Result<bool, PlatformError> {
        if platform.pulls_on_start() {
            return Ok(false);
        }
        match self.admit(db, clock, platform.kind(), image).await? {
            Pull::Ready => Ok(false),
            Pull::Held(held) => {
                let pulled = platform.pull_image(image).await;
                let outcome = pulled.as_ref().map(drop).map_err(|e| e.message.as_str());
                self.finish(db, clock, held, outcome).await?;
                pulled.map(|_| true)
            }
        }
    }

    /// Forgets what this instance knows (used when an image is removed).
    pub fn forget(&self, kind: PlatformKind, image: &str) {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        done.remove(&(kind, image.to_string()));
    }
}

/// Claims the pull of `image` on `kind` for `holder` in one statement: a
/// new image, a failed pull, or a claim lapsed by `now`. `false` when the
/// image is pulled or another claim holds.
async fn claim(
    db: &PgPool,
    holder: Uuid,
    kind: PlatformKind,
    image: &str,
    now: DateTime<Utc>,
) -> Result<bool, PlatformError> {
    let claimed: Option<bool> = sqlx::query_scalar(
        "INSERT INTO platform_images (platform, image, state, holder, lapses_at, attempts, pulled_at)
         VALUES ($1, $2, 'pulling', $3, $4, 1, $5)
         ON CONFLICT (platform, image) DO UPDATE SET state = 'pulling', holder = $3, lapses_at = $4,
             attempts = platform_images.attempts + 1, error = NULL, pulled_at = $5
         WHERE platform_images.state = 'failed'
            OR (platform_images.state = 'pulling' AND platform_images.lapses_at <= $5)
         RETURNING true",
    )
    .bind(kind.as_str())
    .bind(image)
    .bind(holder)
    .bind(now + PULL_HOLD)
    .bind(now)
    .fetch_optional(db)
    .await
    .map_err(db_err(kind))?;
    Ok(claimed.unwrap_or(false))
}

/// One `(platform, image)` row of the gate, for views and tests.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PulledImage {
    /// Platform.
    pub platform: String,
    /// Image.
    pub image: String,
    /// `pulling`, `done` or `failed`.
    pub state: String,
    /// Pulls attempted (claims made).
    pub attempts: i32,
    /// Why the last pull failed.
    pub error: Option<String>,
}

/// The gate's rows for `image`, by platform.
pub async fn pulls_of(db: &PgPool, image: &str) -> crate::error::Result<Vec<PulledImage>> {
    Ok(sqlx::query_as(
        "SELECT platform, image, state, attempts, error FROM platform_images
         WHERE image = $1 ORDER BY platform",
    )
    .bind(image)
    .fetch_all(db)
    .await?)
}
