//! Scheduled bots (issue 16): a request may say when its bot must be in its
//! meeting (`joinAt`). The bot is `SCHEDULED` — no slot, no queue entry —
//! until the leader's starter routes it early enough to join on time: at
//! `join_at` minus the lead time learned from observed deploys ([`lead`]).
//! A scheduled bot books capacity for its window against the limits of the
//! platforms its pool may use, so a full window is refused at once (or,
//! by the request's choice, accepted to queue at its time).
//!
//! Columns (migration 120): `bots.join_at`, `bots.start_at` (when Berth
//! starts it; for a staggered batch, a not-before), `bots.booked_until`
//! (the end of its booking; NULL books nothing), `bots.expected_duration_ms`.

pub mod booking;
pub mod lead;
pub mod moving;
pub mod stagger;
pub mod start;
pub mod upcoming;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::error::Result;

pub use booking::IfFull;
pub use lead::{lead_time, LeadPolicy};
pub use moving::{reschedule, Moved};
pub use upcoming::{upcoming, Upcoming};

/// How many scheduled bots of `pool` Berth will start in `[from, to)`
/// (their `start_at` falls there; a bot whose start has already come and
/// that is still `SCHEDULED` counts when `from` is not after it). Reads
/// only; used by auto-scaling to warm slots ahead of the starts.
pub async fn starting_within(
    db: &PgPool,
    pool: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM bots
         WHERE status = 'SCHEDULED' AND pool = $1 AND start_at >= $2 AND start_at < $3",
    )
    .bind(pool)
    .bind(from)
    .bind(to)
    .fetch_one(db)
    .await?)
}

/// `SCHEDULED` bots per pool (pools with none left out). Reads only.
pub async fn scheduled_per_pool(db: &PgPool) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT pool, count(*) FROM bots WHERE status = 'SCHEDULED' GROUP BY pool ORDER BY pool",
    )
    .fetch_all(db)
    .await?)
}

/// When a scheduled request starts and what it books, as admission
/// planned it (written with the bot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// When it must be in its meeting; `None` for a staggered start.
    pub join_at: Option<DateTime<Utc>>,
    /// When Berth starts it.
    pub start_at: DateTime<Utc>,
    /// The end of its booking; `None` books nothing.
    pub booked_until: Option<DateTime<Utc>>,
    /// Its expected duration, in ms.
    pub expected_duration_ms: Option<i32>,
}
