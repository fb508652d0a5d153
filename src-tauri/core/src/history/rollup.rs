//! Rolled-up buckets for the day and week views: a busy week is ~700,000
//! `slot_history` rows, and computing its buckets from them took 3.3 s
//! (history_bench, `--days 7 --rows 700000`), so the leader stores each
//! closed bucket's values once ([`roll_up`], every minute) and the views
//! read those plus the raw rows after them.
//!
//! A bucket is closed [`GRACE`] after its end (transitions are written with
//! the time they happen; the grace covers transactions still committing).
//! `history_rollup_progress` says how far each width is rolled up; the
//! progress row's lock serialises two leaders (one after the other during a
//! takeover), and progress and rows move in one transaction, so a reader
//! that sees the progress sees every row before it.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::raw::{self, Kind, Point};
use super::{align_down, Span};
use crate::error::Result;

/// How long after its end a bucket is taken as final.
pub const GRACE: Duration = Duration::minutes(1);
/// Rolled-up buckets older than this are deleted (the week view needs 7
/// days; one more leaves room for its partial first bucket).
pub const KEEP: Duration = Duration::days(8);
/// The most history one pass rolls up, so that a first pass over a busy
/// week is a few bounded transactions rather than one long one.
const STEP: Duration = Duration::days(1);

/// The spans whose buckets are rolled up (the hour view reads raw rows).
pub const SPANS: [Span; 2] = [Span::Day, Span::Week];

/// Rolls up the closed buckets not yet rolled up, at most [`STEP`] per
/// width, and deletes those older than [`KEEP`]. Returns the number of
/// buckets rolled up (0: nothing was due). Leader only; safe to run twice at
/// once (the second waits for the first and then finds nothing due).
pub async fn roll_up(db: &PgPool, now: DateTime<Utc>) -> Result<usize> {
    let mut rolled = 0;
    for span in SPANS {
        let width = span.bucket();
        let w = width.num_seconds() as i32;
        let mut tx = db.begin().await?;
        sqlx::query(
            "INSERT INTO history_rollup_progress (width_s, rolled_until) VALUES ($1, $2)
             ON CONFLICT (width_s) DO NOTHING",
        )
        .bind(w)
        .bind(align_down(now - span.length(), width))
        .execute(&mut *tx)
        .await?;
        let done: DateTime<Utc> = sqlx::query_scalar(
            "SELECT rolled_until FROM history_rollup_progress WHERE width_s = $1 FOR UPDATE",
        )
        .bind(w)
        .fetch_one(&mut *tx)
        .await?;
        let from = done.max(align_down(now - KEEP, width));
        let to = align_down(now - GRACE, width).min(from + STEP);
        if to <= from {
            continue;
        }
        let points = raw::points(&mut tx, from, to, width.num_seconds() as f64).await?;
        let (mut buckets, mut kinds, mut keys, mut values) = (vec![], vec![], vec![], vec![]);
        for p in points {
            buckets.push(from + width * p.k);
            kinds.push(p.series.as_str());
            keys.push(p.key);
            values.push(p.value);
        }
        sqlx::query(
            "INSERT INTO history_rollup (width_s, bucket, series, key, value)
             SELECT $1, * FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::float8[])",
        )
        .bind(w)
        .bind(&buckets)
        .bind(&kinds)
        .bind(&keys)
        .bind(&values)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE history_rollup_progress SET rolled_until = $2 WHERE width_s = $1")
            .bind(w)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM history_rollup WHERE width_s = $1 AND bucket < $2")
            .bind(w)
            .bind(now - KEEP)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        rolled += ((to - from).num_seconds() / width.num_seconds()) as usize;
    }
    Ok(rolled)
}

/// The rolled-up buckets of `[start, end)` at `width`, as points counted
/// from `start`, and where the rollup ends (`start` if it has not reached
/// the window: then the caller computes it all from raw rows).
pub(super) async fn read(
    db: &PgPool,
    width: Duration,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(DateTime<Utc>, Vec<Point>)> {
    let w = width.num_seconds() as i32;
    let until: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT rolled_until FROM history_rollup_progress WHERE width_s = $1")
            .bind(w)
            .fetch_optional(db)
            .await?;
    let until = until.unwrap_or(start).clamp(start, end);
    if until == start {
        return Ok((start, Vec::new()));
    }
    // Every row before `until` was committed with it (one transaction).
    let rows: Vec<(DateTime<Utc>, String, String, f64)> = sqlx::query_as(
        "SELECT bucket, series, key, value FROM history_rollup
          WHERE width_s = $1 AND bucket >= $2 AND bucket < $3",
    )
    .bind(w)
    .bind(start)
    .bind(until)
    .fetch_all(db)
    .await?;
    let points = rows
        .into_iter()
        .filter_map(|(bucket, series, key, value)| {
            Some(Point {
                k: ((bucket - start).num_seconds() / width.num_seconds()) as i32,
                series: Kind::parse(&series)?,
                key,
                value,
            })
        })
        .collect();
    Ok((until, points))
}
