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
//! name a pool or platform). A BRIN index on `slot_history.at` (the table is
//! appended in time order) keeps the window scan proportional to the
//! window, for a few kilobytes of index and nothing measurable on the hot
//! path's inserts. The day and week views read closed buckets the leader
//! rolled up ([`rollup`]); [`history`] itself only reads.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::collections::BTreeMap;

use crate::error::Result;
use raw::{Kind, Point};

pub mod partitions;
mod raw;
pub mod rollup;

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

/// The history of the window `span` ending with the bucket that holds
/// `now` (buckets aligned to whole multiples of their width since the Unix
/// epoch, so rolled-up buckets line up; the last is cut short at `now` and
/// averaged over its elapsed part). The day and week views read the
/// rolled-up buckets ([`rollup`]) and compute the rest from raw rows; the
/// hour view reads raw rows only. Read-only.
pub async fn history(db: &PgPool, span: Span, now: DateTime<Utc>) -> Result<History> {
    let width = span.bucket();
    let n = span.buckets();
    let end = align_up(now, width);
    let start = end - span.length();
    let (raw_from, mut points) = if rollup::SPANS.contains(&span) {
        rollup::read(db, width, start, now).await?
    } else {
        (start, Vec::new())
    };
    if raw_from < now {
        let offset = ((raw_from - start).num_seconds() / width.num_seconds()) as i32;
        let mut conn = db.acquire().await?;
        let tail = raw::points(&mut conn, raw_from, now, width.num_seconds() as f64).await?;
        points.extend(tail.into_iter().map(|p| Point {
            k: p.k + offset,
            ..p
        }));
    }
    // A bucket's averages divide by the part of it that has elapsed.
    let elapsed = |i: usize| -> f64 {
        let from = start + width * i as i32;
        (now - from)
            .num_milliseconds()
            .clamp(1, width.num_milliseconds()) as f64
            / 1000.0
    };
    let mut by_platform: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut by_pool: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut history = History {
        span,
        start,
        bucket_seconds: width.num_seconds() as u32,
        busy_by_platform: Vec::new(),
        busy_by_pool: Vec::new(),
        queue_length: vec![0.0; n],
        wait_p50: vec![None; n],
        wait_p95: vec![None; n],
        deploy_failures: vec![0.0; n],
    };
    for p in points {
        let Some(i) = usize::try_from(p.k).ok().filter(|i| *i < n) else {
            continue;
        };
        let map = match p.series {
            Kind::Platform => &mut by_platform,
            Kind::Pool => &mut by_pool,
            Kind::Queued => {
                history.queue_length[i] = p.value / elapsed(i);
                continue;
            }
            Kind::WaitP50 => {
                history.wait_p50[i] = Some(p.value);
                continue;
            }
            Kind::WaitP95 => {
                history.wait_p95[i] = Some(p.value);
                continue;
            }
            Kind::Failures => {
                history.deploy_failures[i] = p.value;
                continue;
            }
        };
        map.entry(p.key).or_insert_with(|| vec![0.0; n])[i] = p.value / elapsed(i);
    }
    history.busy_by_platform = series(by_platform);
    history.busy_by_pool = series(by_pool);
    Ok(history)
}

/// `t` rounded down to a whole multiple of `width` since the Unix epoch.
pub(crate) fn align_down(t: DateTime<Utc>, width: Duration) -> DateTime<Utc> {
    let w = width.num_microseconds().unwrap_or(1).max(1);
    let us = t.timestamp_micros();
    DateTime::from_timestamp_micros(us - us.rem_euclid(w)).unwrap_or(t)
}

/// `t` rounded up to a whole multiple of `width` (itself if it is one).
fn align_up(t: DateTime<Utc>, width: Duration) -> DateTime<Utc> {
    let down = align_down(t, width);
    if down == t {
        t
    } else {
        down + width
    }
}

fn series(map: BTreeMap<String, Vec<f64>>) -> Vec<Series> {
    map.into_iter()
        .map(|(key, values)| Series { key, values })
        .collect()
}
