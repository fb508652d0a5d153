//! Reading what a scaled pool's target depends on: its policy, its
//! scheduled bots within the lead time, and its recent arrival rate.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::target::{Demand, Policy};
use crate::error::Result;

/// How far back the arrival rate looks: long enough to smooth one burst,
/// short enough to follow the day's shape.
pub const ARRIVAL_WINDOW: Duration = Duration::minutes(15);

/// The lead time of a pool with no platform to learn one from (none
/// allowed and enabled): about a deploy and a join. See [`lead_time`].
pub const FALLBACK_LEAD_TIME: Duration = Duration::minutes(2);

/// The policy of every scaled pool that is not retired, by pool name.
pub async fn policies(db: &PgPool) -> Result<Vec<(String, Policy)>> {
    let rows: Vec<(String, i32, i32, i64)> = sqlx::query_as(
        "SELECT name, scaling_min_idle, scaling_max_idle, scaling_scale_down_after_ms
         FROM pools WHERE scaling_min_idle IS NOT NULL AND NOT retired ORDER BY name",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, min, max, after)| {
            let policy = Policy {
                min_idle: i64::from(min),
                max_idle: i64::from(max),
                scale_down_after: Duration::milliseconds(after),
            };
            (name, policy)
        })
        .collect())
}

/// The policy of `pool`, if it scales (retired or not).
pub async fn policy(db: &PgPool, pool: &str) -> Result<Option<Policy>> {
    let row: Option<(Option<i32>, Option<i32>, Option<i64>)> = sqlx::query_as(
        "SELECT scaling_min_idle, scaling_max_idle, scaling_scale_down_after_ms
         FROM pools WHERE name = $1",
    )
    .bind(pool)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some((Some(min), Some(max), Some(after))) => Some(Policy {
            min_idle: i64::from(min),
            max_idle: i64::from(max),
            scale_down_after: Duration::milliseconds(after),
        }),
        _ => None,
    })
}

/// The demand of `pool` at `now`: its lead time, the scheduled bots
/// starting within it, and ad-hoc requests per minute over the last
/// [`ARRIVAL_WINDOW`].
pub async fn read(db: &PgPool, pool: &str, now: DateTime<Utc>) -> Result<Demand> {
    let lead_time = lead_time(db, pool).await?;
    let scheduled = scheduled(db, pool, now, now + lead_time).await?;
    // Ad-hoc: no `join_at` (scheduled bots are counted above, at their
    // start). No upper bound: a request stamped by the database a moment
    // after this instance's `now` is still a recent one.
    let arrivals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bots WHERE pool = $1 AND created_at > $2 AND join_at IS NULL",
    )
    .bind(pool)
    .bind(now - ARRIVAL_WINDOW)
    .fetch_one(db)
    .await?;
    Ok(Demand {
        scheduled,
        arrivals_per_minute: arrivals as f64 / ARRIVAL_WINDOW.num_minutes() as f64,
        lead_time,
    })
}

/// The lead time of `pool`'s bots: the longest of its allowed platforms'
/// learned lead times ([`crate::schedule::lead_time`]), so slots are warm
/// in time whichever platform a bot lands on; [`FALLBACK_LEAD_TIME`] for
/// a pool with no platform to learn from.
async fn lead_time(db: &PgPool, pool: &str) -> Result<Duration> {
    let allowed = crate::pool::get(db, pool).await?.allowed_platforms;
    let platforms = match allowed {
        Some(p) => p,
        None => crate::settings::load(db)
            .await?
            .platforms
            .iter()
            .filter(|s| s.enabled)
            .map(|s| s.platform)
            .collect(),
    };
    let mut lead: Option<Duration> = None;
    for platform in platforms {
        let l = crate::schedule::lead_time(db, pool, platform).await?;
        lead = Some(lead.map_or(l, |m| m.max(l)));
    }
    Ok(lead.unwrap_or(FALLBACK_LEAD_TIME))
}

/// Scheduled bots of `pool` the starter will start in `from..to`
/// ([`crate::schedule::starting_within`]).
async fn scheduled(db: &PgPool, pool: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64> {
    crate::schedule::starting_within(db, pool, from, to).await
}
