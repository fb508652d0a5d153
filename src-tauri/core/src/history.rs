//! What the pool did over the last hour, day or week: utilisation per
//! platform and per pool, queue length, waits (p50/p95) and deploy failures,
//! in fixed buckets, computed in the database from the history Berth already
//! records (`slot_history` transitions and `bots`), so no sampler has to run
//! and every instance answers the same.
//!
//! - **Utilisation** is the average number of slots holding a bot
//!   (`deploying` or `busy`) over each bucket: a slot busy for half of a
//!   1-minute bucket counts 0.5. It is built from the intervals between a
//!   slot's transitions (the state at the window's start is the one its
//!   first transition in the window came from, or its current state if it
//!   had none), clipped to the buckets they cross.
//! - **Queue length** is the average number of bots waiting over each bucket:
//!   a bot waits from its creation until its first deploy (or its end, or
//!   now). Bots deployed at once count for milliseconds, so they barely
//!   register, as they should.
//! - **Waits** are those of the bots whose first deploy fell in the bucket
//!   (creation → first `idle → deploying`), as the 50th and 95th percentiles.
//! - **Deploy failures** are the slot transitions `deploying → error`.
//!
//! Slots deleted since are left out (their rows in `slot_history` no longer
//! name a pool or platform). Read-only: nothing here writes or publishes.
//! A BRIN index on `slot_history.at` (the table is appended in time order)
//! keeps the window scan proportional to the window, for a few kilobytes of
//! index and nothing measurable on the hot path's inserts.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::collections::BTreeMap;

use crate::error::Result;

/// How far back a history goes, and how wide its buckets are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename = "HistorySpan")]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// The last hour, in 1-minute buckets (60 points; the dashboard's
    /// sparklines).
    Hour,
    /// The last day, in 15-minute buckets (96 points).
    Day,
    /// The last week, in 1-hour buckets (168 points).
    Week,
}

impl Span {
    /// The window's length.
    pub fn length(self) -> Duration {
        match self {
            Span::Hour => Duration::hours(1),
            Span::Day => Duration::days(1),
            Span::Week => Duration::weeks(1),
        }
    }

    /// One bucket's width.
    pub fn bucket(self) -> Duration {
        match self {
            Span::Hour => Duration::minutes(1),
            Span::Day => Duration::minutes(15),
            Span::Week => Duration::hours(1),
        }
    }

    /// The number of buckets (the window divided by the bucket).
    pub fn buckets(self) -> usize {
        (self.length().num_seconds() / self.bucket().num_seconds()) as usize
    }
}

/// One series: a value per bucket, oldest first, `span.buckets()` long.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename = "HistorySeries")]
#[serde(rename_all = "camelCase")]
pub struct Series {
    /// What the series is of: a platform (`k8s`…) or a pool's name.
    pub key: String,
    /// The values, one per bucket, oldest first.
    pub values: Vec<f64>,
}

/// A history over one window. Every series has one value per bucket; the
/// bucket `i` covers `[start + i·bucket, start + (i+1)·bucket)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// The window asked for.
    pub span: Span,
    /// The window's start (its end is `start + buckets · bucket`).
    pub start: DateTime<Utc>,
    /// One bucket's width in seconds.
    pub bucket_seconds: u32,
    /// Average slots holding a bot, per deployment platform.
    pub busy_by_platform: Vec<Series>,
    /// Average slots holding a bot, per pool.
    pub busy_by_pool: Vec<Series>,
    /// Average bots waiting to deploy.
    pub queue_length: Vec<f64>,
    /// Median wait (seconds) of the bots first deployed in the bucket; `None`
    /// where none was.
    pub wait_p50: Vec<Option<f64>>,
    /// 95th percentile of the same waits.
    pub wait_p95: Vec<Option<f64>>,
    /// Deploys that failed (`deploying → error`).
    pub deploy_failures: Vec<f64>,
}

/// The longest a bot can wait in the queue (its queue timeout's maximum):
/// a bot created earlier than the window minus this cannot be waiting in it.
const LONGEST_WAIT: Duration = Duration::minutes(10);

/// Average slots holding a bot per bucket, by platform and by pool (one
/// grouping set each; `platform` or `pool` is NULL for the other set).
const BUSY: &str = "
WITH win AS (
    SELECT slot_id, from_status, to_status, at,
           lead(at) OVER w AS next_at, row_number() OVER w AS n
      FROM slot_history WHERE at >= $1 AND at < $2
    WINDOW w AS (PARTITION BY slot_id ORDER BY id)
), spans AS (
    SELECT slot_id, to_status AS state, at AS since, coalesce(next_at, $2) AS until FROM win
    UNION ALL
    -- The state at the window's start: the one the slot's first transition
    -- in the window came from...
    SELECT slot_id, from_status, $1, at FROM win WHERE n = 1
    UNION ALL
    -- ...or, for a slot that made none, the state it has been in since.
    SELECT id, status, $1, $2 FROM pool_slots WHERE status_changed_at < $1
), held AS (
    SELECT s.pool, s.deployment_platform AS platform,
           extract(epoch FROM sp.since - $1)::float8 AS a,
           extract(epoch FROM sp.until - $1)::float8 AS b
      FROM spans sp JOIN pool_slots s ON s.id = sp.slot_id
     WHERE sp.state IN ('deploying', 'busy') AND sp.until > sp.since
)
SELECT k::int4 AS bucket, platform, pool,
       sum(least(b, (k + 1) * $3) - greatest(a, k * $3)) / $3 AS value
  FROM held CROSS JOIN LATERAL generate_series(floor(a / $3)::int, ceil(b / $3)::int - 1) k
 GROUP BY GROUPING SETS ((k, platform), (k, pool))";

/// Per bucket: average bots waiting, and the p50/p95 of the waits that ended
/// in it (a bot's first deploy).
const QUEUE: &str = "
WITH first_deploy AS (
    SELECT h.bot_id, min(h.at) AS at
      FROM slot_history h
     WHERE h.at >= $1 - $4 * interval '1 second' AND h.at < $2
       AND h.to_status = 'deploying' AND h.bot_id IS NOT NULL
     GROUP BY h.bot_id
), waits AS (
    SELECT b.created_at AS since,
           least(coalesce(f.at, b.ended_at, $2), coalesce(b.ended_at, $2), $2) AS until,
           f.at AS deployed
      FROM bots b LEFT JOIN first_deploy f ON f.bot_id = b.id
     WHERE b.created_at >= $1 - $4 * interval '1 second' AND b.created_at < $2
), waiting AS (
    SELECT greatest(extract(epoch FROM since - $1)::float8, 0) AS a,
           extract(epoch FROM until - $1)::float8 AS b
      FROM waits WHERE until > $1 AND until > since
), lengths AS (
    SELECT k, sum(least(b, (k + 1) * $3) - greatest(a, k * $3)) / $3 AS queued
      FROM waiting CROSS JOIN LATERAL generate_series(floor(a / $3)::int, ceil(b / $3)::int - 1) k
     GROUP BY k
), ended AS (
    SELECT floor(extract(epoch FROM deployed - $1)::float8 / $3)::int AS k,
           extract(epoch FROM deployed - since)::float8 AS wait
      FROM waits WHERE deployed >= $1
), percentiles AS (
    SELECT k, percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY wait) AS p95
      FROM ended GROUP BY k
)
SELECT coalesce(l.k, p.k)::int4 AS bucket, coalesce(l.queued, 0) AS queued, p.p50, p.p95
  FROM lengths l FULL JOIN percentiles p ON p.k = l.k";

/// Deploy failures per bucket.
const FAILURES: &str = "
SELECT floor(extract(epoch FROM at - $1)::float8 / $3)::int4 AS bucket, count(*)::float8 AS failures
  FROM slot_history
 WHERE at >= $1 AND at < $2 AND from_status = 'deploying' AND to_status = 'error'
 GROUP BY 1";

/// The history of the window `span` ending at `now` (buckets aligned to
/// `now`, so the last bucket ends at it). Three read-only queries.
pub async fn history(db: &PgPool, span: Span, now: DateTime<Utc>) -> Result<History> {
    let start = now - span.length();
    let width = span.bucket().num_seconds() as f64;
    let n = span.buckets();
    let mut by_platform: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut by_pool: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let busy: Vec<(i32, Option<String>, Option<String>, f64)> = sqlx::query_as(BUSY)
        .bind(start)
        .bind(now)
        .bind(width)
        .fetch_all(db)
        .await?;
    for (k, platform, pool, value) in busy {
        let (map, key) = match (platform, pool) {
            (Some(p), None) => (&mut by_platform, p),
            (None, Some(p)) => (&mut by_pool, p),
            _ => continue,
        };
        if let Some(slot) = map
            .entry(key)
            .or_insert_with(|| vec![0.0; n])
            .get_mut(k as usize)
        {
            *slot = value;
        }
    }
    let mut history = History {
        span,
        start,
        bucket_seconds: width as u32,
        busy_by_platform: series(by_platform),
        busy_by_pool: series(by_pool),
        queue_length: vec![0.0; n],
        wait_p50: vec![None; n],
        wait_p95: vec![None; n],
        deploy_failures: vec![0.0; n],
    };
    let queue: Vec<(i32, f64, Option<f64>, Option<f64>)> = sqlx::query_as(QUEUE)
        .bind(start)
        .bind(now)
        .bind(width)
        .bind(LONGEST_WAIT.num_seconds() as f64)
        .fetch_all(db)
        .await?;
    for (k, queued, p50, p95) in queue {
        let Some(i) = index(k, n) else { continue };
        history.queue_length[i] = queued;
        history.wait_p50[i] = p50;
        history.wait_p95[i] = p95;
    }
    let failures: Vec<(i32, f64)> = sqlx::query_as(FAILURES)
        .bind(start)
        .bind(now)
        .bind(width)
        .fetch_all(db)
        .await?;
    for (k, count) in failures {
        if let Some(i) = index(k, n) {
            history.deploy_failures[i] = count;
        }
    }
    Ok(history)
}

/// A bucket number from SQL as an index, if it is inside the window.
fn index(k: i32, n: usize) -> Option<usize> {
    usize::try_from(k).ok().filter(|i| *i < n)
}

fn series(map: BTreeMap<String, Vec<f64>>) -> Vec<Series> {
    map.into_iter()
        .map(|(key, values)| Series { key, values })
        .collect()
}
