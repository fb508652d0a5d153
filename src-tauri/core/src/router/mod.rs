//! The router: platforms in priority order, limits, queue timeouts that are
//! really waited on, failover, the global queue, and releases.
//!
//! Waiting is durable: a request waiting on a full platform is a queue
//! entry naming that platform and the end of its wait, so any instance's
//! dispatcher can hand it capacity (or move it on when the wait is over),
//! and no caller has to stay connected while it waits.

mod admit;
mod batch;
mod deploy;
mod grant;
mod health;
mod inflight;
mod release;
mod request;
mod reserve;
mod resume;
mod route;
mod scheduled;

pub use batch::{Target, MAX_BATCH};
use chrono::{DateTime, Duration, Utc};
pub use deploy::DeployError;
pub use health::Ineligible;
pub use inflight::{Inflight, Waiting};
pub use request::BotRequest;
use reserve::Reservation;
pub use reserve::{Pass, MAX_SLOTS_CREATED_PER_REQUEST};
pub use resume::Launch;
use serde::Serialize;
use sqlx::PgPool;
use std::sync::Arc;

use crate::bot::{self, Decision, TraceEntry};
use crate::clock::Clock;
use crate::error::Result;
use crate::feed::Feed;
use crate::meeting::{MeetingPlatform, PlatformKind};
use crate::metrics::RouterInstruments;
use crate::platform::image::ImageGate;
use crate::platform::Platforms;

/// A request for a bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewBot {
    /// Meeting platform.
    pub meeting_platform: MeetingPlatform,
    /// Meeting URL.
    pub meeting_url: String,
    /// Priority tier ([`crate::tier`]; a configured tier's name).
    /// Exclusive with `priority` (`invalid_input` if both). Default: the
    /// API token's default tier, else the pool's `queue.tier` or
    /// `queue.priority`, else the default tier. (Left out of the JSON form
    /// when unset, so idempotency fingerprints of earlier requests hold.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Priority, lower first (its tier: the one with this priority, if any).
    /// Exclusive with `tier`; default as `tier`'s.
    pub priority: Option<i32>,
    /// How long it may wait in the global queue (default: the pool's
    /// `queue.timeout`, else 5 min; at most 10 min).
    pub queue_timeout_ms: Option<i32>,
    /// The pool to use (it must serve the meeting platform); `None`: the
    /// meeting platform's pool (the one named after it, else the first by name).
    pub pool: Option<String>,
    /// The bot's name in the meeting (at most [`MAX_DISPLAY_NAME_CHARS`]
    /// characters, no control characters); `None`: the bot's own default.
    pub display_name: Option<String>,
    /// The caller's own data about the bot, kept and returned as given: a
    /// JSON object of at most [`MAX_METADATA_BYTES`] bytes as JSON text.
    pub metadata: Option<serde_json::Value>,
    /// The bot's own webhook URL: its events (`bot.*`) go there too, signed
    /// with the database's bot-URL secret ([`crate::webhook::secret`]).
    /// Checked like a subscription's URL ([`crate::webhook::target::check_url`]).
    pub webhook_url: Option<String>,
    /// When the bot must be in its meeting ([`crate::schedule`]): in the
    /// future, at most [`crate::schedule::booking::MAX_AHEAD_DAYS`] ahead.
    /// `None`: as soon as possible. (Left out of the JSON form when unset,
    /// so idempotency fingerprints of unscheduled requests are unchanged.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_at: Option<DateTime<Utc>>,
    /// How long a scheduled bot is expected to stay, in ms: its booking
    /// runs to `join_at` plus this (`None`: the default,
    /// [`crate::schedule::booking::DEFAULT_EXPECTED_DURATION_MS`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_duration_ms: Option<i32>,
    /// What a scheduled request whose window is fully booked gets.
    #[serde(skip_serializing_if = "crate::schedule::IfFull::is_refuse")]
    pub if_full: crate::schedule::IfFull,
    /// Not started before this (a staggered batch's later bots): the bot is
    /// `SCHEDULED` until then, booking nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
}

/// A request built step by step: [`NewBot::new`] with every option at its
/// default (`None`), then a setter per option. Nothing is checked here
/// (a face or a test may build a bad request on purpose); the use case that
/// takes the request checks it ([`Router::create_bot`]).
impl NewBot {
    /// A request for a bot in `meeting_url` on `meeting_platform`, every
    /// option unset.
    pub fn new(meeting_platform: MeetingPlatform, meeting_url: impl Into<String>) -> NewBot {
        NewBot {
            meeting_platform,
            meeting_url: meeting_url.into(),
            tier: None,
            priority: None,
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

    /// To be in its meeting at `join_at` (scheduled; `None`: at once).
    pub fn join_at(mut self, join_at: impl Into<Option<DateTime<Utc>>>) -> NewBot {
        self.join_at = join_at.into();
        self
    }

    /// With an expected duration in ms (`None`: the default).
    pub fn expected_duration_ms(mut self, ms: impl Into<Option<i32>>) -> NewBot {
        self.expected_duration_ms = ms.into();
        self
    }

    /// What to do when its window is fully booked (`None`: the default,
    /// refuse).
    pub fn if_full(mut self, if_full: impl Into<Option<crate::schedule::IfFull>>) -> NewBot {
        self.if_full = if_full.into().unwrap_or_default();
        self
    }

    /// With [`NewBot::priority`] (a number, or `None` for the default).
    pub fn priority(mut self, priority: impl Into<Option<i32>>) -> NewBot {
        self.priority = priority.into();
        self
    }

    /// With [`NewBot::tier`] (a tier's name, or `None` for the default).
    pub fn tier(mut self, tier: impl Into<Option<String>>) -> NewBot {
        self.tier = tier.into();
        self
    }

    /// With [`NewBot::queue_timeout_ms`] (a number, or `None` for the default).
    pub fn queue_timeout_ms(mut self, ms: impl Into<Option<i32>>) -> NewBot {
        self.queue_timeout_ms = ms.into();
        self
    }

    /// In the pool named `pool`.
    pub fn pool(mut self, pool: impl Into<String>) -> NewBot {
        self.pool = Some(pool.into());
        self
    }

    /// With the display name `name`.
    pub fn display_name(mut self, name: impl Into<String>) -> NewBot {
        self.display_name = Some(name.into());
        self
    }

    /// With the caller's `metadata`.
    pub fn metadata(mut self, metadata: serde_json::Value) -> NewBot {
        self.metadata = Some(metadata);
        self
    }

    /// With the bot's own webhook URL (a URL, or `None` for none).
    pub fn webhook_url(mut self, url: impl Into<Option<String>>) -> NewBot {
        self.webhook_url = url.into();
        self
    }
}

/// The longest display name a request may give, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;
/// The largest metadata a request may give, in bytes of JSON text.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// What became of a request (reference 004's `HybridDeployResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum DeployOutcome {
    /// Running (or starting) on a platform.
    #[serde(rename_all = "camelCase")]
    Deployed {
        /// Bot id.
        bot_id: i64,
        /// Deployment platform.
        platform: PlatformKind,
        /// Slot name.
        slot_name: String,
        /// Slot's platform identifier.
        platform_identifier: Option<String>,
    },
    /// Queued: waiting on a full platform, or in the global queue.
    #[serde(rename_all = "camelCase")]
    Queued {
        /// Bot id.
        bot_id: i64,
        /// The platform it waits on; `None` in the global queue.
        waiting_on: Option<PlatformKind>,
        /// 1-based queue position; 0 when not computed (a dispatcher's
        /// pass, [`Pass::dispatching`], whose outcomes nobody reads).
        queue_position: i64,
        /// Estimated wait from the observed release rate; `None` if no release was seen.
        estimated_wait_ms: Option<i64>,
        /// End of the current wait.
        until: DateTime<Utc>,
    },
    /// Scheduled: `SCHEDULED` until Berth starts it at `start_at`.
    #[serde(rename_all = "camelCase")]
    Scheduled {
        /// Bot id.
        bot_id: i64,
        /// When it must be in its meeting; `None` for a staggered start.
        join_at: Option<DateTime<Utc>>,
        /// When Berth starts it (join time minus the lead time).
        start_at: DateTime<Utc>,
        /// Whether it booked capacity for its window (`false`: accepted
        /// into a full window with `ifFull: queue`, or a staggered start).
        booked: bool,
    },
    /// Another instance is handling the request right now, or it ended.
    #[serde(rename_all = "camelCase")]
    Skipped {
        /// Bot id.
        bot_id: i64,
    },
}

/// Routes bots onto platforms. Shared by the CLI, the dispatcher and jobs.
#[derive(Clone)]
pub struct Router {
    pub(crate) db: PgPool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) feed: Feed,
    pub(crate) platforms: Platforms,
    pub(crate) images: Arc<ImageGate>,
    inflight: Arc<Inflight>,
    /// Its metrics (shared by its clones; see [`crate::metrics`]).
    instruments: Arc<RouterInstruments>,
    /// The leader lease (`BERTH_LEADER_LEASE_MS`): how long a request or a
    /// deploy may go without a sign of life from its router before another
    /// instance takes it over.
    lease_ms: u32,
}

/// The lease a router assumes until told ([`Router::with_lease`]): the
/// production default of `BERTH_LEADER_LEASE_MS`.
pub const DEFAULT_LEASE_MS: u32 = 15_000;

pub(super) fn entry(
    platform: Option<PlatformKind>,
    decision: Decision,
    detail: impl Into<String>,
    at: DateTime<Utc>,
) -> TraceEntry {
    TraceEntry {
        platform,
        decision,
        detail: detail.into(),
        at,
    }
}

impl Router {
    /// A router over `platforms`.
    pub fn new(db: PgPool, clock: Arc<dyn Clock>, feed: Feed, platforms: Platforms) -> Self {
        let instruments = RouterInstruments::new(platforms.iter().map(|(k, _)| k));
        Router {
            db,
            clock,
            feed,
            platforms,
            images: Arc::new(ImageGate::new()),
            inflight: Arc::new(Inflight::default()),
            instruments: Arc::new(instruments),
            lease_ms: DEFAULT_LEASE_MS,
        }
    }

    /// The same router with another lease (the instance's
    /// `BERTH_LEADER_LEASE_MS`). A request it creates stays its own for a
    /// lease before dispatchers may take it over, and each of its deploys
    /// renews a sign of life every quarter of a lease.
    pub fn with_lease(self, lease_ms: u32) -> Router {
        Router {
            lease_ms: lease_ms.max(1),
            ..self
        }
    }

    /// The lease this router works with.
    pub fn lease_ms(&self) -> u32 {
        self.lease_ms
    }

    /// Deploys running in their own tasks.
    pub fn inflight(&self) -> &Arc<Inflight> {
        &self.inflight
    }

    /// Its metrics: dispatches, failures, deploy durations and waits for
    /// capacity, recorded by this router and its clones.
    pub fn instruments(&self) -> &Arc<RouterInstruments> {
        &self.instruments
    }

    /// The database pool.
    pub fn db(&self) -> &PgPool {
        &self.db
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The change feed.
    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// The adapters.
    pub fn platforms(&self) -> &Platforms {
        &self.platforms
    }

    pub(super) async fn trace(&self, bot_id: i64, e: TraceEntry) -> Result<()> {
        let mut conn = self.db.acquire().await?;
        bot::trace(&mut conn, bot_id, &e).await
    }

    /// Until when a router owns a request it is walking the platforms for.
    pub(super) fn routing_hold(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::milliseconds(self.lease_ms.into())
    }
}
