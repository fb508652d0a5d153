//! Lead time: how long before `join_at` a scheduled bot must be started to
//! be in its meeting on time, learned from the deploy durations Berth
//! observed per deployment platform and pool.
//!
//! The lead of a (platform, pool) pair is the 95th percentile of its last
//! [`LeadPolicy::window`] observed deploys plus a margin, never below a
//! floor; with no observation yet, the floor. The policy comes from the
//! environment (`BERTH_SCHEDULE_LEAD_FLOOR_MS`, `BERTH_SCHEDULE_LEAD_MARGIN_PCT`),
//! validated with the ranges below.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::config::var::{self, Lookup};
use crate::error::Result;
use crate::meeting::PlatformKind;
use crate::settings::rules::Range;

/// The lead time's floor, in ms (default 90 s; 1 s to 1 h).
pub const LEAD_FLOOR_MS: Range = Range {
    min: 1_000,
    max: 3_600_000,
};
/// The margin added to the observed percentile, in percent (default 20; 0 to 500).
pub const LEAD_MARGIN_PCT: Range = Range { min: 0, max: 500 };
/// The default floor: 90 s.
pub const DEFAULT_LEAD_FLOOR_MS: u32 = 90_000;
/// The default margin: 20 %.
pub const DEFAULT_LEAD_MARGIN_PCT: u32 = 20;
/// How many recent observations per (platform, pool) are kept and used.
pub const LEAD_WINDOW: i64 = 50;
/// The percentile of the observations the lead starts from.
pub const LEAD_PERCENTILE: f64 = 0.95;

/// How lead times are derived from observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadPolicy {
    /// Never less than this.
    pub floor_ms: u32,
    /// Added to the percentile, in percent of it.
    pub margin_pct: u32,
}

impl Default for LeadPolicy {
    fn default() -> Self {
        LeadPolicy {
            floor_ms: DEFAULT_LEAD_FLOOR_MS,
            margin_pct: DEFAULT_LEAD_MARGIN_PCT,
        }
    }
}

impl LeadPolicy {
    /// The policy from `get` (unset: the defaults); a value out of range
    /// is `config_invalid`, naming the variable.
    pub fn parse(get: &Lookup<'_>) -> Result<LeadPolicy> {
        Ok(LeadPolicy {
            floor_ms: var::number(get, "BERTH_SCHEDULE_LEAD_FLOOR_MS", LEAD_FLOOR_MS)?
                .unwrap_or(DEFAULT_LEAD_FLOOR_MS),
            margin_pct: var::number(get, "BERTH_SCHEDULE_LEAD_MARGIN_PCT", LEAD_MARGIN_PCT)?
                .unwrap_or(DEFAULT_LEAD_MARGIN_PCT),
        })
    }

    /// The policy from the process environment.
    pub fn from_env() -> Result<LeadPolicy> {
        Self::parse(&var::process)
    }

    /// The lead for an observed percentile `p95_ms` (`None`: nothing observed).
    pub fn lead(&self, p95_ms: Option<f64>) -> Duration {
        let floor = i64::from(self.floor_ms);
        let learned = p95_ms
            .map(|p| (p * (1.0 + f64::from(self.margin_pct) / 100.0)).round() as i64)
            .unwrap_or(0);
        Duration::milliseconds(learned.max(floor))
    }
}

/// Records one observed deploy (its workload's start took `took`) of a bot
/// of `pool` on `platform`, and forgets the pair's observations beyond the
/// most recent [`LEAD_WINDOW`].
pub async fn observe(
    db: &PgPool,
    platform: PlatformKind,
    pool: &str,
    took: std::time::Duration,
    at: DateTime<Utc>,
) -> Result<()> {
    let ms = i32::try_from(took.as_millis()).unwrap_or(i32::MAX);
    sqlx::query(
        "WITH ins AS (INSERT INTO deploy_durations (platform, pool, at, ms) VALUES ($1, $2, $3, $4))
         DELETE FROM deploy_durations WHERE platform = $1 AND pool = $2 AND id <= (
             SELECT id FROM deploy_durations WHERE platform = $1 AND pool = $2
             ORDER BY id DESC OFFSET $5 LIMIT 1)",
    )
    .bind(platform.as_str())
    .bind(pool)
    .bind(at)
    .bind(ms)
    .bind(LEAD_WINDOW - 1)
    .execute(db)
    .await?;
    Ok(())
}

/// The 95th percentile of the pair's recent observed deploys, in ms;
/// `None` with none.
pub async fn observed_p95_ms(
    db: &PgPool,
    platform: PlatformKind,
    pool: &str,
) -> Result<Option<f64>> {
    Ok(sqlx::query_scalar(
        "SELECT percentile_cont($4) WITHIN GROUP (ORDER BY ms) FROM (
             SELECT ms FROM deploy_durations WHERE platform = $1 AND pool = $2
             ORDER BY id DESC LIMIT $3) recent",
    )
    .bind(platform.as_str())
    .bind(pool)
    .bind(LEAD_WINDOW)
    .bind(LEAD_PERCENTILE)
    .fetch_one(db)
    .await?)
}

/// [`lead_time`] under an explicit policy.
pub async fn lead_time_with(
    db: &PgPool,
    pool: &str,
    platform: PlatformKind,
    policy: &LeadPolicy,
) -> Result<Duration> {
    Ok(policy.lead(observed_p95_ms(db, platform, pool).await?))
}

/// How long before its join time a bot of `pool` must be started on
/// `platform`: the p95 of the recent observed deploys there plus the
/// margin, at least the floor (the policy from the environment).
pub async fn lead_time(db: &PgPool, pool: &str, platform: PlatformKind) -> Result<Duration> {
    lead_time_with(db, pool, platform, &LeadPolicy::from_env()?).await
}

/// The lead of a pool: the longest over the platforms it may use
/// (`platforms`; none: the floor). The longest, not the first platform's:
/// which platform takes the bot is only known when it is routed (the
/// first may be full or failing then), and a bot started early waits in
/// its slot while one started late misses the start.
pub async fn pool_lead(
    db: &PgPool,
    pool: &str,
    platforms: &[PlatformKind],
    policy: &LeadPolicy,
) -> Result<Duration> {
    let mut lead = policy.lead(None);
    for &p in platforms {
        lead = lead.max(lead_time_with(db, pool, p, policy).await?);
    }
    Ok(lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lead_is_the_percentile_plus_the_margin_never_below_the_floor() {
        let p = LeadPolicy::default();
        assert_eq!(p.lead(None), Duration::seconds(90));
        assert_eq!(p.lead(Some(10_000.0)), Duration::seconds(90));
        assert_eq!(p.lead(Some(100_000.0)), Duration::seconds(120));
    }

    #[test]
    fn the_policy_is_read_and_checked_from_the_environment() {
        let get = |k: &str| match k {
            "BERTH_SCHEDULE_LEAD_FLOOR_MS" => Some("30000".to_string()),
            "BERTH_SCHEDULE_LEAD_MARGIN_PCT" => Some("50".to_string()),
            _ => None,
        };
        let p = LeadPolicy::parse(&get).unwrap();
        assert_eq!((p.floor_ms, p.margin_pct), (30_000, 50));
        let bad = |k: &str| (k == "BERTH_SCHEDULE_LEAD_FLOOR_MS").then(|| "5".to_string());
        let err = LeadPolicy::parse(&bad).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::ConfigInvalid);
        assert_eq!(LeadPolicy::parse(&|_| None).unwrap(), LeadPolicy::default());
    }
}
