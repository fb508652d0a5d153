//! A bot's decision trace: why the router did what it did, one entry per
//! step, bounded in length.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::error::Result;
use crate::meeting::PlatformKind;

/// Why the router did what it did on one platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    /// Deployed here.
    Deployed,
    /// At its limit (after waiting its queue timeout, if any).
    Full,
    /// At its limit; the request waits here until its queue timeout.
    Waiting,
    /// No idle slot of the pool here and the pool is at its max size.
    PoolFull,
    /// The deploy failed; moved on at once.
    Failed,
    /// Disabled by an administrator.
    Disabled,
    /// Drained by an operator: takes no new bots.
    Drained,
    /// Failing its health checks.
    Unhealthy,
    /// No limit configured, so skipped (reference 004).
    NoLimit,
    /// Not among the pool's allowed platforms.
    NotAllowed,
    /// No adapter is configured for it in this instance.
    Unavailable,
    /// Every platform was exhausted: entered the global queue.
    Queued,
    /// Left the global queue at its deadline.
    Expired,
    /// The pool's bots need an account and none was available: waits in the
    /// global queue for one to return or a refresh.
    NoAccount,
    /// Deploys onto it failed lately: no new one before its backoff passes.
    BackingOff,
    /// Stands for entries dropped from the middle of a long trace.
    Omitted,
    /// The process routing or deploying it stopped (killed, or cut off from
    /// the database) before the request was settled: it went back to the
    /// queue for any instance's dispatcher.
    Interrupted,
}

/// The most entries a decision trace keeps. A request that is retried for
/// a long time (a failing platform, a long wait) would otherwise grow its
/// trace without end; the first [`TRACE_HEAD`] entries (how it was first
/// routed) and the most recent ones (what happens now) are what explain it.
pub const TRACE_MAX: i32 = 50;
/// The first entries a trace always keeps.
pub const TRACE_HEAD: i32 = 10;

/// One line of a bot's decision trace. Stored as JSON in the bot's row, so
/// `at` keeps chrono's exact form (a face parses it as any RFC 3339 time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TraceEntry {
    /// The platform considered (`None` for queue events).
    pub platform: Option<PlatformKind>,
    /// What happened.
    pub decision: Decision,
    /// Details (`limit 30/30`, the failure message, ...).
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Appends one entry to a bot's decision trace. A trace at
/// [`TRACE_MAX`] entries drops its oldest entry after the first
/// [`TRACE_HEAD`] and counts it as omitted.
pub async fn trace(conn: &mut PgConnection, bot_id: i64, entry: &TraceEntry) -> Result<()> {
    // Both assignments read the row as it was (`jsonb - n` removes the
    // element at index n).
    sqlx::query(
        "UPDATE bots SET
            decision_trace = CASE WHEN jsonb_array_length(decision_trace) >= $3
                THEN (decision_trace - $4) || jsonb_build_array($2::jsonb)
                ELSE decision_trace || jsonb_build_array($2::jsonb) END,
            decision_trace_omitted = decision_trace_omitted
                + CASE WHEN jsonb_array_length(decision_trace) >= $3 THEN 1 ELSE 0 END
         WHERE id = $1",
    )
    .bind(bot_id)
    .bind(serde_json::to_value(entry).unwrap_or_default())
    .bind(TRACE_MAX)
    .bind(TRACE_HEAD)
    .execute(conn)
    .await?;
    Ok(())
}

/// The stored trace with a marker where entries were dropped.
pub(super) fn with_omitted(mut entries: Vec<TraceEntry>, omitted: i32) -> Vec<TraceEntry> {
    let at = TRACE_HEAD as usize;
    if omitted > 0 && entries.len() > at {
        let when = entries[at].at;
        entries.insert(
            at,
            TraceEntry {
                platform: None,
                decision: Decision::Omitted,
                detail: format!(
                    "{omitted} earlier entr{} omitted (a trace keeps its first {TRACE_HEAD} and last {} entries)",
                    if omitted == 1 { "y" } else { "ies" },
                    TRACE_MAX - TRACE_HEAD
                ),
                at: when,
            },
        );
    }
    entries
}
