//! Bounded history: the history tables are partitioned by UTC day
//! (migration `20261201000110_history_partitions.sql`), and the leader keeps
//! their partitions ([`maintain`]): each day from today to [`AHEAD_DAYS`]
//! ahead gets its partition before its rows arrive, and a day whose end is
//! past the retention is detached and dropped whole — no row-by-row delete,
//! no vacuum debt, and the hot path's inserts never touch old pages.
//!
//! Invariants:
//! - an insert never fails for want of a partition: each table has a
//!   DEFAULT partition that takes rows no daily partition covers (a leader
//!   gone for days, a clock far off). [`maintain`] gives such rows' days a
//!   partition (moving the rows in), or deletes them once past retention;
//! - a row is dropped only when its whole day ended more than the
//!   retention ago (`day end <= now - retention`): rows within the
//!   retention are always kept;
//! - one maintainer at a time per table (an advisory lock taken with
//!   `try`: a second instance during a takeover skips the table), and every
//!   change of one table is one transaction;
//! - the DDL takes the parent's `ACCESS EXCLUSIVE` lock first (so it never
//!   deadlocks with inserts, which lock the parent, then the partition) and
//!   only when something is to be done, waiting at most [`LOCK_TIMEOUT`]:
//!   a busy table delays its inserts by that much at worst, and a table it
//!   could not lock is tried again on the next round.
//!
//! The history views never read raw rows older than a week plus a bucket
//! (the rollups keep their own summaries, [`super::rollup::KEEP`]), which
//! is why the shortest retention allowed is 8 days
//! ([`crate::settings::rules::HISTORY_RETENTION_DAYS`]).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use crate::error::Result;

/// A partitioned history table and its partition key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The parent table.
    pub name: &'static str,
    /// The time column it is partitioned by.
    pub key: &'static str,
}

/// Every partitioned history table.
pub const TABLES: [Table; 4] = [
    Table {
        name: "slot_history",
        key: "at",
    },
    Table {
        name: "bot_events",
        key: "at",
    },
    Table {
        name: "bot_account_leases",
        key: "leased_at",
    },
    Table {
        name: "audit_log",
        key: "at",
    },
];

/// Days after today that get their partition in advance: a leader may be
/// away this long before rows start landing in the DEFAULT partition.
pub const AHEAD_DAYS: i64 = 3;

/// The longest the maintenance waits for a table's lock (and so the longest
/// it can hold up that table's inserts).
pub const LOCK_TIMEOUT: &str = "250ms";

/// What one [`maintain`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Partitions created (names), in order.
    pub created: Vec<String>,
    /// Rows moved out of DEFAULT partitions into their day's new partition.
    pub moved_rows: u64,
    /// Partitions dropped, past retention (names), in order.
    pub dropped: Vec<String>,
    /// Rows past retention deleted from DEFAULT partitions.
    pub expired_rows: u64,
    /// Tables another maintainer held, left to it.
    pub skipped: Vec<&'static str>,
    /// Tables that failed (a lock not had in time, …), tried again next round.
    pub failed: Vec<(&'static str, String)>,
}

impl Report {
    /// Whether anything was created, moved, dropped or deleted.
    pub fn changed(&self) -> bool {
        !self.created.is_empty()
            || self.moved_rows > 0
            || !self.dropped.is_empty()
            || self.expired_rows > 0
    }
}

/// The partition that holds `day` of `table`.
pub fn partition_name(table: &Table, day: NaiveDate) -> String {
    format!("{}_p{}", table.name, day.format("%Y%m%d"))
}

/// The UTC midnight starting `day`, as a PostgreSQL literal.
fn midnight(day: NaiveDate) -> String {
    format!("'{} 00:00:00+00'", day.format("%Y-%m-%d"))
}

/// The first moment after `day` (UTC).
fn day_end(day: NaiveDate) -> DateTime<Utc> {
    (day + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

/// Keeps every history table's partitions at `now` (the instance's clock)
/// for a retention of `retention_days`: creates today's and the next
/// [`AHEAD_DAYS`] days' partitions, gives rows waiting in a DEFAULT
/// partition their day's partition, and drops the days past retention (and
/// the DEFAULT partitions' rows past it). Leader only; idempotent, and safe
/// with two instances at once (see the module's invariants). A table that
/// fails is reported in [`Report::failed`] and the others still run.
pub async fn maintain(db: &PgPool, now: DateTime<Utc>, retention_days: u32) -> Result<Report> {
    let mut report = Report::default();
    let cutoff = now - Duration::days(i64::from(retention_days));
    for table in TABLES {
        let mut conn = db.acquire().await?;
        if let Err(e) = maintain_table(&mut conn, &table, now, cutoff, &mut report).await {
            report.failed.push((table.name, e.to_string()));
        }
    }
    Ok(report)
}

/// What is to be done to one table.
#[derive(Debug, Default)]
struct Plan {
    /// Days to create empty.
    create: Vec<NaiveDate>,
    /// Days to create with the rows the DEFAULT partition holds for them.
    adopt: Vec<NaiveDate>,
    /// Days to drop.
    drop: Vec<NaiveDate>,
    /// Whether the DEFAULT partition holds rows past retention.
    expire: bool,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.create.is_empty() && self.adopt.is_empty() && self.drop.is_empty() && !self.expire
    }
}

async fn maintain_table(
    conn: &mut PgConnection,
    t: &Table,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
    report: &mut Report,
) -> Result<()> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query(AssertSqlSafe(format!(
        "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"
    )))
    .execute(&mut *tx)
    .await?;
    let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1))")
        .bind(format!("berth.history.partitions.{}", t.name))
        .fetch_one(&mut *tx)
        .await?;
    if !mine {
        report.skipped.push(t.name);
        return Ok(());
    }
    // A look without the table's lock: most rounds find nothing to do.
    if plan(&mut tx, t, now, cutoff).await?.is_empty() {
        return Ok(());
    }
    // Parent first (inserts lock the parent, then a partition), then the
    // plan again: rows may have reached the DEFAULT partition meanwhile.
    sqlx::query(AssertSqlSafe(format!(
        "LOCK TABLE ONLY {} IN ACCESS EXCLUSIVE MODE",
        t.name
    )))
    .execute(&mut *tx)
    .await?;
    let plan = plan(&mut tx, t, now, cutoff).await?;
    let (parent, key, default) = (t.name, t.key, format!("{}_default", t.name));
    for day in &plan.create {
        let name = partition_name(t, *day);
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE {name} PARTITION OF {parent} FOR VALUES FROM ({}) TO ({})",
            midnight(*day),
            midnight(*day + Duration::days(1))
        )))
        .execute(&mut *tx)
        .await?;
        report.created.push(name);
    }
    for day in &plan.adopt {
        let name = partition_name(t, *day);
        let (from, to) = (midnight(*day), midnight(*day + Duration::days(1)));
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE {name} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )))
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(AssertSqlSafe(format!(
            "WITH moved AS (DELETE FROM {default} WHERE {key} >= {from} AND {key} < {to} RETURNING *)
             INSERT INTO {name} SELECT * FROM moved"
        )))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE {parent} ATTACH PARTITION {name} FOR VALUES FROM ({from}) TO ({to})"
        )))
        .execute(&mut *tx)
        .await?;
        report.moved_rows += moved;
        report.created.push(name);
    }
    for day in &plan.drop {
        let name = partition_name(t, *day);
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE {parent} DETACH PARTITION {name}"
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(AssertSqlSafe(format!("DROP TABLE {name}")))
            .execute(&mut *tx)
            .await?;
        report.dropped.push(name);
    }
    if plan.expire {
        report.expired_rows += sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {default} WHERE {key} < $1"
        )))
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(())
}

/// Reads `t`'s daily partitions and its DEFAULT partition's days, and
/// decides what to create, adopt, drop and expire.
async fn plan(
    conn: &mut PgConnection,
    t: &Table,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) -> Result<Plan> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = $1::regclass",
    )
    .bind(t.name)
    .fetch_all(&mut *conn)
    .await?;
    let prefix = format!("{}_p", t.name);
    let existing: BTreeSet<NaiveDate> = names
        .iter()
        .filter_map(|n| n.strip_prefix(&prefix))
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
        .collect();
    let (key, default) = (t.key, format!("{}_default", t.name));
    let waiting: BTreeSet<NaiveDate> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT DISTINCT ({key} AT TIME ZONE 'UTC')::date FROM {default} WHERE {key} >= $1"
    )))
    .bind(cutoff)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let expire: bool = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT EXISTS (SELECT 1 FROM {default} WHERE {key} < $1)"
    )))
    .bind(cutoff)
    .fetch_one(&mut *conn)
    .await?;
    let today = now.date_naive();
    let ahead = (0..=AHEAD_DAYS).map(|i| today + Duration::days(i));
    let mut plan = Plan {
        expire,
        ..Plan::default()
    };
    for day in ahead.chain(waiting.iter().copied()) {
        let due = day_end(day) > cutoff && !existing.contains(&day);
        if due && waiting.contains(&day) {
            if !plan.adopt.contains(&day) {
                plan.adopt.push(day);
            }
        } else if due && !plan.create.contains(&day) {
            plan.create.push(day);
        }
    }
    plan.drop = existing
        .into_iter()
        .filter(|d| day_end(*d) <= cutoff)
        .collect();
    Ok(plan)
}
