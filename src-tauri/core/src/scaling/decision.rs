//! Scaling decisions: each pass's action on a scaled pool with its reason,
//! recorded in `pool_scaling_decisions` (kept for the history retention).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::target::{Demand, Target};
use crate::error::Result;

/// What a pass did to a scaled pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScalingAction))]
// The container's name is only the TypeScript type's (JSON is unaffected).
#[serde(rename = "ScalingAction", rename_all = "camelCase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Action {
    /// Idle slots were made (or were to be: `created` says how many were).
    Up,
    /// Idle slots above the target were removed.
    Down,
    /// Nothing to do (or nothing could be done); recorded when the target
    /// or the reason changed.
    Hold,
}

impl Action {
    /// Its name in the table and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::Hold => "hold",
        }
    }
}

/// One scaling decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScalingDecision))]
#[serde(rename = "ScalingDecision", rename_all = "camelCase")]
pub struct Decision {
    /// The pool.
    pub pool: String,
    /// When (the deciding instance's clock).
    pub at: DateTime<Utc>,
    /// What was done.
    pub action: Action,
    /// The target and its parts.
    pub target: Target,
    /// Ad-hoc requests per minute over the recent window.
    pub arrivals_per_minute: f64,
    /// The lead time the buffer and the scheduled bots cover, in ms.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub lead_time_ms: i64,
    /// Idle slots before the decision.
    pub idle_before: u32,
    /// Slots made.
    pub created: u32,
    /// Idle slots removed.
    pub removed: u32,
    /// Why, for people.
    pub reason: String,
}

impl Decision {
    /// The decision of a pass on `pool` at `at`: `up` if it made slots,
    /// `down` if it removed some, else `hold`; the reason names the target's
    /// parts, the counts and, for a hold, `why`.
    pub fn of(
        pool: &str,
        at: DateTime<Utc>,
        t: Target,
        d: &Demand,
        idle_before: u32,
        (created, removed): (u32, u32),
        why: &str,
    ) -> Decision {
        let action = match (created, removed) {
            (c, _) if c > 0 => Action::Up,
            (_, r) if r > 0 => Action::Down,
            _ => Action::Hold,
        };
        let parts = format!(
            "target {} = min {} + scheduled {} + buffer {} ({:.2}/min × {}s lead), within [{}, {}]",
            t.target,
            t.min_idle,
            t.scheduled,
            t.buffer,
            d.arrivals_per_minute,
            d.lead_time.num_seconds(),
            t.min_idle,
            t.max_idle
        );
        let what = match action {
            Action::Up => format!("idle {idle_before} below the target: made {created}"),
            Action::Down => format!("idle {idle_before} above the target: removed {removed}"),
            Action::Hold => format!("idle {idle_before}: {why}"),
        };
        Decision {
            pool: pool.to_string(),
            at,
            action,
            target: t,
            arrivals_per_minute: d.arrivals_per_minute,
            lead_time_ms: d.lead_time.num_milliseconds(),
            idle_before,
            created,
            removed,
            reason: format!("{what}; {parts}"),
        }
    }
}

/// Records `d`.
pub async fn record(db: &PgPool, d: &Decision) -> Result<()> {
    sqlx::query(
        "INSERT INTO pool_scaling_decisions (pool, at, action, target, min_idle, max_idle, scheduled,
             buffer, arrivals_per_minute, lead_time_ms, idle_before, created, removed, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&d.pool)
    .bind(d.at)
    .bind(d.action.as_str())
    .bind(d.target.target as i32)
    .bind(d.target.min_idle as i32)
    .bind(d.target.max_idle as i32)
    .bind(d.target.scheduled as i32)
    .bind(d.target.buffer as i32)
    .bind(d.arrivals_per_minute)
    .bind(d.lead_time_ms)
    .bind(d.idle_before as i32)
    .bind(d.created as i32)
    .bind(d.removed as i32)
    .bind(&d.reason)
    .execute(db)
    .await?;
    Ok(())
}

type Row = (
    String,
    DateTime<Utc>,
    Action,
    i32,
    i32,
    i32,
    i32,
    i32,
    f64,
    i64,
    i32,
    i32,
    i32,
    String,
);

fn from_row(r: Row) -> Decision {
    let n = |v: i32| u32::try_from(v).unwrap_or(0);
    Decision {
        pool: r.0,
        at: r.1,
        action: r.2,
        target: Target {
            target: n(r.3),
            min_idle: n(r.4),
            max_idle: n(r.5),
            scheduled: n(r.6),
            buffer: n(r.7),
        },
        arrivals_per_minute: r.8,
        lead_time_ms: r.9,
        idle_before: n(r.10),
        created: n(r.11),
        removed: n(r.12),
        reason: r.13,
    }
}

/// The most recent decisions on `pool`, newest first, at most `limit`.
pub async fn recent(db: &PgPool, pool: &str, limit: i64) -> Result<Vec<Decision>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT pool, at, action, target, min_idle, max_idle, scheduled, buffer,
                arrivals_per_minute, lead_time_ms, idle_before, created, removed, reason
         FROM pool_scaling_decisions WHERE pool = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(pool)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The target of every scaled pool (not retired) at its last decision.
pub async fn latest_targets(db: &PgPool) -> Result<Vec<(String, u32)>> {
    let rows: Vec<(String, i32)> = sqlx::query_as(
        "SELECT p.name, d.target FROM pools p
         CROSS JOIN LATERAL (SELECT target FROM pool_scaling_decisions
                             WHERE pool = p.name ORDER BY id DESC LIMIT 1) d
         WHERE p.scaling_min_idle IS NOT NULL AND NOT p.retired
         ORDER BY p.name",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(pool, t)| (pool, u32::try_from(t).unwrap_or(0)))
        .collect())
}

/// Deletes decisions older than `retention` before `now` (the history
/// retention job's share); returns how many.
pub async fn prune(db: &PgPool, now: DateTime<Utc>, retention: Duration) -> Result<u64> {
    let done = sqlx::query("DELETE FROM pool_scaling_decisions WHERE at < $1")
        .bind(now - retention)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
