//! The history's buckets computed from the raw rows (`slot_history`, `bots`)
//! for any window of whole buckets. Values are unnormalised (slot-seconds,
//! bot-seconds, counts) so that a bucket cut short by "now" and a rolled-up
//! bucket read back are divided the same way by the caller.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use crate::error::Result;

/// One bucket's value of one series: `k` counts buckets from the window's
/// start; `key` names the platform or pool (empty for the others).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Point {
    pub k: i32,
    pub series: Kind,
    pub key: String,
    pub value: f64,
}

/// Which series a [`Point`] belongs to (stored as its name in rollups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Slot-seconds holding a bot, per platform.
    Platform,
    /// Slot-seconds holding a bot, per pool.
    Pool,
    /// Bot-seconds spent waiting.
    Queued,
    /// Median wait (seconds) of the bots first deployed in the bucket.
    WaitP50,
    /// 95th percentile of the same.
    WaitP95,
    /// `deploying → error` transitions.
    Failures,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Platform,
        Kind::Pool,
        Kind::Queued,
        Kind::WaitP50,
        Kind::WaitP95,
        Kind::Failures,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Platform => "platform",
            Kind::Pool => "pool",
            Kind::Queued => "queued",
            Kind::WaitP50 => "wait_p50",
            Kind::WaitP95 => "wait_p95",
            Kind::Failures => "failures",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The longest a bot can wait in the queue (its queue timeout's maximum):
/// a bot created earlier than the window minus this cannot be waiting in it.
const LONGEST_WAIT: Duration = Duration::minutes(10);

/// Slot-seconds holding a bot per bucket, by platform and by pool (one
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
       sum(least(b, (k + 1) * $3) - greatest(a, k * $3)) AS value
  FROM held CROSS JOIN LATERAL generate_series(floor(a / $3)::int, ceil(b / $3)::int - 1) k
 GROUP BY GROUPING SETS ((k, platform), (k, pool))";

/// Per bucket: bot-seconds spent waiting, and the p50/p95 of the waits that ended
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
    SELECT k, sum(least(b, (k + 1) * $3) - greatest(a, k * $3)) AS queued
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

/// Every non-empty bucket of `[start, end)` in buckets of `width` seconds
/// from `start` (`end` may cut the last bucket short: "now"). Read-only.
pub(super) async fn points(
    conn: &mut PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    width: f64,
) -> Result<Vec<Point>> {
    let mut out = Vec::new();
    let busy: Vec<(i32, Option<String>, Option<String>, f64)> = sqlx::query_as(BUSY)
        .bind(start)
        .bind(end)
        .bind(width)
        .fetch_all(&mut *conn)
        .await?;
    for (k, platform, pool, value) in busy {
        let (series, key) = match (platform, pool) {
            (Some(p), None) => (Kind::Platform, p),
            (None, Some(p)) => (Kind::Pool, p),
            _ => continue,
        };
        out.push(Point {
            k,
            series,
            key,
            value,
        });
    }
    let queue: Vec<(i32, f64, Option<f64>, Option<f64>)> = sqlx::query_as(QUEUE)
        .bind(start)
        .bind(end)
        .bind(width)
        .bind(LONGEST_WAIT.num_seconds() as f64)
        .fetch_all(&mut *conn)
        .await?;
    for (k, queued, p50, p95) in queue {
        let point = |series, value| Point {
            k,
            series,
            key: String::new(),
            value,
        };
        out.push(point(Kind::Queued, queued));
        out.extend(p50.map(|v| point(Kind::WaitP50, v)));
        out.extend(p95.map(|v| point(Kind::WaitP95, v)));
    }
    let failures: Vec<(i32, f64)> = sqlx::query_as(FAILURES)
        .bind(start)
        .bind(end)
        .bind(width)
        .fetch_all(&mut *conn)
        .await?;
    out.extend(failures.into_iter().map(|(k, value)| Point {
        k,
        series: Kind::Failures,
        key: String::new(),
        value,
    }));
    Ok(out)
}
