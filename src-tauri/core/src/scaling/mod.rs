//! Auto-scaling: a scaled pool's idle target follows demand.
//!
//! A pool definition with `scaling:` (`min_idle`, `max_idle`,
//! `scale_down_after`) replaces the fixed `prewarm` count with a target
//! recomputed on every pass of the leader's scaling job
//! ([`crate::jobs::scale`]): `min_idle` + the scheduled bots starting
//! within the next lead time + a buffer of the recent ad-hoc arrival rate
//! times the lead time, clamped to `[min_idle, max_idle]` ([`target()`],
//! pure, fed by [`demand::read`]). Below the target, the pass makes slots
//! through the pre-warm path (every allowed platform in priority order with
//! room, [`crate::jobs::prewarm::plan`]); above it, it removes idle slots
//! that have been idle for `scale_down_after` ([`down::remove_above`]),
//! never a busy or deploying one and never below `min_idle`. Each decision
//! is recorded with its reason ([`decision`]) and announced on
//! [`crate::feed::Topic::Scaling`]; [`view`] is what every face shows.
//!
//! A pool without `scaling:` is untouched here: the pre-warm job keeps its
//! fixed `prewarm` count as before.

pub mod decision;
pub mod demand;
pub mod down;
mod target;

use serde::Serialize;
use sqlx::PgPool;

pub use decision::{Action, Decision};
pub use demand::{policies, policy};
pub use target::{target, Demand, Policy, Target};

use crate::error::Result;

/// How many recent decisions [`view`] shows.
pub const RECENT_DECISIONS: i64 = 20;

/// A pool's scaling as the faces show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScalingView {
    /// The pool.
    pub pool: String,
    /// Whether it scales (`false`: a fixed `prewarm`; the rest is empty).
    pub scaled: bool,
    /// Idle time before a slot above the target goes, in ms.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub scale_down_after_ms: Option<i64>,
    /// The target now, with its parts (from the demand read now).
    pub current: Option<Target>,
    /// Ad-hoc requests per minute now.
    pub arrivals_per_minute: Option<f64>,
    /// The lead time now, in ms.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub lead_time_ms: Option<i64>,
    /// Acquirable idle slots now.
    pub idle: u32,
    /// The most recent decisions, newest first (at most [`RECENT_DECISIONS`]).
    pub decisions: Vec<Decision>,
}

/// `pool`'s scaling now (at the database's `now()`): its policy, its
/// current target and the recent decisions. `not_found` for no such pool.
/// Reads only.
pub async fn view(db: &PgPool, pool: &str) -> Result<ScalingView> {
    crate::pool::get(db, pool).await?;
    let policy = demand::policy(db, pool).await?;
    let (now, idle): (chrono::DateTime<chrono::Utc>, i64) = sqlx::query_as(concat!(
        "SELECT now(), (SELECT count(*) FROM pool_slots WHERE pool = $1 AND ",
        crate::slot::acquirable!(),
        ")"
    ))
    .bind(pool)
    .fetch_one(db)
    .await?;
    let demand = match policy {
        Some(_) => Some(demand::read(db, pool, now).await?),
        None => None,
    };
    Ok(ScalingView {
        pool: pool.to_string(),
        scaled: policy.is_some(),
        scale_down_after_ms: policy.map(|p| p.scale_down_after.num_milliseconds()),
        current: policy.zip(demand).map(|(p, d)| target(&p, &d)),
        arrivals_per_minute: demand.map(|d| d.arrivals_per_minute),
        lead_time_ms: demand.map(|d| d.lead_time.num_milliseconds()),
        idle: u32::try_from(idle).unwrap_or(u32::MAX),
        decisions: decision::recent(db, pool, RECENT_DECISIONS).await?,
    })
}
