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

pub mod lead;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::error::Result;

pub use lead::{lead_time, LeadPolicy};

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
