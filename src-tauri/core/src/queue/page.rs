//! The queue read a page at a time, in dispatch order ([`dispatch_key!`]),
//! each page served by an index: a dispatcher's pass reads only as far as
//! capacity lasts, instead of reading (and sorting) every waiting entry on
//! every pass.
//!
//! A page is two index range scans joined by `UNION ALL`: the aged entries
//! (`deployment_queue_aged_idx`) and the others (`deployment_queue_order_idx`),
//! each ordered by priority, queue time and id. [`PageKey`] is where the
//! last page ended; the next page goes on from there, so entries are neither
//! skipped nor read twice while the queue changes between pages (an entry
//! added before the key is served by the next pass).

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::router::Waiting;

/// The dispatch key of the last entry of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageKey {
    aged: bool,
    priority: i32,
    queued_at: DateTime<Utc>,
    id: i64,
}

/// One page of waiting entries, in dispatch order.
#[derive(Debug, Default)]
pub struct Page {
    /// The entries of `QUEUED` bots, as [`super::waiting`] gives them.
    pub entries: Vec<Waiting>,
    /// Where the page ended: `None` when it was empty.
    pub last: Option<PageKey>,
}

#[derive(sqlx::FromRow)]
struct PageRow {
    #[sqlx(flatten)]
    waiting: Waiting,
    entry_id: i64,
    aged: bool,
}

/// Before every key (priorities are never negative).
const FIRST: (i32, i64) = (-1, 0);

macro_rules! page_part {
    ($aged:literal, $cond:literal, $p:literal, $qa:literal, $id:literal, $limit:literal) => {
        concat!(
            "(SELECT ",
            waiting_columns!(),
            ", q.id AS entry_id, ",
            $aged,
            " AS aged
             FROM deployment_queue q JOIN bots b ON b.id = q.bot_id
             WHERE b.status = 'QUEUED' AND ",
            $cond,
            " AND (q.priority, q.queued_at, q.id) > (",
            $p,
            ", ",
            $qa,
            ", ",
            $id,
            ")
             ORDER BY q.priority, q.queued_at, q.id LIMIT ",
            $limit,
            ")"
        )
    };
}

// $1 now; $2..$4 the key the aged part goes on from, $5 its limit (0 once
// the aged entries are done); $6..$8 the key of the others; $9 the page size.
const PAGE: &str = concat!(
    "SELECT * FROM (",
    page_part!("TRUE", "q.aged_at <= $1", "$2", "$3", "$4", "$5"),
    " UNION ALL ",
    page_part!(
        "FALSE",
        "(q.aged_at <= $1) IS NOT TRUE",
        "$6",
        "$7",
        "$8",
        "$9"
    ),
    ") page ORDER BY aged DESC, priority, queued_at, entry_id LIMIT $9"
);

/// The next `size` entries of `QUEUED` bots in dispatch order as of `now`,
/// after `after` (from the start when `None`). Every page of one pass must
/// use the same `now`: it decides which entries have aged.
pub async fn waiting_page<'e>(
    db: impl sqlx::PgExecutor<'e>,
    now: DateTime<Utc>,
    after: Option<PageKey>,
    size: usize,
) -> Result<Page> {
    let start = |key: Option<PageKey>| match key {
        Some(k) => (k.priority, k.queued_at, k.id),
        None => (FIRST.0, DateTime::<Utc>::UNIX_EPOCH, FIRST.1),
    };
    // After an aged entry: the aged ones after it, then every other one.
    // After one that has not aged: the aged ones are done.
    let (aged_from, aged_limit, plain_from) = match after {
        None => (None, size, None),
        Some(k) if k.aged => (Some(k), size, None),
        Some(k) => (None, 0, Some(k)),
    };
    let (ap, aq, ai) = start(aged_from);
    let (pp, pq, pi) = start(plain_from);
    let rows: Vec<PageRow> = sqlx::query_as(PAGE)
        .bind(now)
        .bind(ap)
        .bind(aq)
        .bind(ai)
        .bind(aged_limit as i64)
        .bind(pp)
        .bind(pq)
        .bind(pi)
        .bind(size as i64)
        .fetch_all(db)
        .await?;
    let last = rows.last().map(|r| PageKey {
        aged: r.aged,
        priority: r.waiting.priority,
        queued_at: r.waiting.queued_at,
        id: r.entry_id,
    });
    Ok(Page {
        entries: rows.into_iter().map(|r| r.waiting).collect(),
        last,
    })
}

/// Entries of `QUEUED` bots with something due as of `now` whatever the
/// capacity: a platform wait that is over (the request moves on to the next
/// platform or the global queue) or a router's hold that passed (the entry
/// is taken over). In dispatch order; served by the timeout index.
pub async fn due<'e>(db: impl sqlx::PgExecutor<'e>, now: DateTime<Utc>) -> Result<Vec<Waiting>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        waiting_columns!(),
        " FROM deployment_queue q JOIN bots b ON b.id = q.bot_id
         WHERE b.status = 'QUEUED'
           AND ((q.stage >= 0 AND q.timeout_at <= $1) OR (q.stage = -2 AND q.stage_deadline <= $1))
         ORDER BY ",
        dispatch_key!("q", "$1")
    ))
    .bind(now)
    .fetch_all(db)
    .await?)
}
