//! Browsing bots: every bot, filtered and searched, newest first, a page at
//! a time (the Bots view, `berth bots list`).
//!
//! Pages are keyset pages (`before`: the last bot of the previous page),
//! so a page costs the same at the millionth bot as at the first and a
//! page never repeats or skips a bot while new ones arrive. Newest first is
//! `(created_at, id)` descending — the id order but for bots whose
//! creating transactions overlapped — so that a time range anywhere in a
//! big table is one index range scan (`bots_created_id_idx`, with the
//! status `bots_status_created_idx`), where an id order would scan every
//! newer bot first (measured: 340 ms at 1M bots for a day a month ago). The total is counted up to [`TOTAL_CAP`]: an
//! exact count of a broad filter over a big table would cost a scan per
//! refresh, and "more than 10,000" is all a view shows of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::error::{Error, ErrorCode, Result};
use crate::meeting::{BotStatus, MeetingPlatform, PlatformKind};

/// The most bots one page holds.
pub const MAX_PAGE: u32 = 1000;
/// The most matching bots [`browse`] counts; past it the total is capped.
pub const TOTAL_CAP: i64 = 10_000;

/// Which bots to list: empty lists and `None` do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BotFilter {
    /// Only these statuses.
    pub statuses: Vec<BotStatus>,
    /// Only bots on these deployment platforms (a bot that never got one
    /// matches none).
    pub platforms: Vec<PlatformKind>,
    /// Only these pools.
    pub pools: Vec<String>,
    /// Only bots created at or after this time.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub since: Option<DateTime<Utc>>,
    /// Only bots created before this time.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub until: Option<DateTime<Utc>>,
    /// `123` or `#123`: that bot; otherwise a case-insensitive substring of
    /// the meeting URL or the display name (`%` and `_` match themselves).
    pub search: Option<String>,
    /// Keyset cursor: only bots after this one in the list's order (the
    /// previous page's `nextBefore`).
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub before: Option<i64>,
    /// Page size, 1 to [`MAX_PAGE`].
    pub limit: u32,
}

/// A bot in the list. Times serialize as [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BotRow {
    /// Bot id.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub id: i64,
    /// Its pool.
    pub pool: String,
    /// Lifecycle status.
    pub status: BotStatus,
    /// Meeting platform.
    pub meeting_platform: MeetingPlatform,
    /// Meeting URL.
    pub meeting_url: String,
    /// Its name in the meeting, if given.
    pub display_name: Option<String>,
    /// The infrastructure it runs (or ran last) on.
    pub deployment_platform: Option<PlatformKind>,
    /// The platform an operator pinned it to, if any.
    pub pinned_platform: Option<PlatformKind>,
    /// The slot it holds now, if any.
    pub slot_name: Option<String>,
    /// Queue priority (lower first).
    pub priority: i32,
    /// 1-based place in the dispatch order while `QUEUED` (the order the
    /// dispatcher offers capacity in, [`crate::queue::waiting`]).
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub queue_position: Option<i64>,
    /// `QUEUED`: how long it has waited so far; otherwise how long it
    /// waited before its first state after `QUEUED` (`None` when no such
    /// change was recorded).
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub wait_ms: Option<i64>,
    /// Failure reason when `FATAL`.
    pub error: Option<String>,
    /// Created.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub updated_at: DateTime<Utc>,
    /// When it ended, if it did.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub ended_at: Option<DateTime<Utc>>,
    /// When it must be in its meeting, for a scheduled bot.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub join_at: Option<DateTime<Utc>>,
}

/// One page of [`browse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BotPage {
    /// Newest first: creation time descending, then id descending.
    pub rows: Vec<BotRow>,
    /// Bots matching the filter on every page, counted up to
    /// [`TOTAL_CAP`] (then `total_capped`).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub total: i64,
    /// More than [`TOTAL_CAP`] bots match: `total` is the cap.
    pub total_capped: bool,
    /// The `before` of the next page; `None`: this is the last.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub next_before: Option<i64>,
}

/// What a search names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Search {
    Id(i64),
    /// A `LIKE` pattern, metacharacters escaped.
    Text(String),
}

fn search_of(text: Option<&str>) -> Option<Search> {
    let t = text.map(str::trim).filter(|t| !t.is_empty())?;
    let digits = t.strip_prefix('#').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than an id has: no bot, not an error.
        return Some(Search::Id(digits.parse().unwrap_or(-1)));
    }
    let mut pattern = String::with_capacity(t.len() + 2);
    pattern.push('%');
    for c in t.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Some(Search::Text(pattern))
}

fn check(filter: &BotFilter) -> Result<()> {
    if !(1..=MAX_PAGE).contains(&filter.limit) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("limit must be from 1 to {MAX_PAGE}, got {}", filter.limit),
        ));
    }
    if let (Some(since), Some(until)) = (filter.since, filter.until) {
        if since > until {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("since ({since}) is after until ({until})"),
            ));
        }
    }
    Ok(())
}

/// Appends `filter`'s conditions (not `before`) to a query ending in
/// `WHERE true`. Only the conditions in use are written, so each shape of
/// filter gets its own plan (a status filter uses `bots_status_created_idx`),
/// never one generic plan for all.
fn push_conditions(q: &mut QueryBuilder<Postgres>, filter: &BotFilter) {
    if !filter.statuses.is_empty() {
        let s: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        q.push(" AND b.status = ANY(").push_bind(s).push(")");
    }
    if !filter.platforms.is_empty() {
        let p: Vec<&str> = filter.platforms.iter().map(|p| p.as_str()).collect();
        q.push(" AND b.deployment_platform = ANY(")
            .push_bind(p)
            .push(")");
    }
    if !filter.pools.is_empty() {
        q.push(" AND b.pool = ANY(")
            .push_bind(filter.pools.clone())
            .push(")");
    }
    if let Some(since) = filter.since {
        q.push(" AND b.created_at >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        q.push(" AND b.created_at < ").push_bind(until);
    }
    match search_of(filter.search.as_deref()) {
        Some(Search::Id(id)) => {
            q.push(" AND b.id = ").push_bind(id);
        }
        Some(Search::Text(p)) => {
            q.push(" AND (b.meeting_url ILIKE ")
                .push_bind(p.clone())
                .push(" ESCAPE '\\' OR b.display_name ILIKE ")
                .push_bind(p)
                .push(" ESCAPE '\\')");
        }
        None => {}
    }
}

type Raw = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    serde_json::Value,
    Option<String>,
    i32,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    // When it entered the queue (its entry), and when it first left QUEUED.
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

// `e.at >= b.created_at` changes no answer (a bot's events are written by
// a trigger at `clock_timestamp()`, never before its row's `now()`), but
// lets each row's lookup skip the days of `bot_events` before the bot
// existed (it is partitioned by day): 100 rows over 30 days' partitions
// took 3.4-4.5 ms without it, 0.8 ms with it.
const SELECT: &str =
    "SELECT b.id, b.pool, b.status, b.meeting_platform, b.meeting_url, b.display_name,
        b.deployment_platform, jsonb_build_array(b.pinned_platform, b.join_at, b.start_at),
        s.slot_name, b.priority, b.error, b.created_at, b.updated_at, b.ended_at, q.queued_at,
        (SELECT min(e.at) FROM bot_events e
          WHERE e.bot_id = b.id AND e.status NOT IN ('SCHEDULED', 'QUEUED') AND e.at >= b.created_at)
     FROM bots b
     LEFT JOIN pool_slots s ON s.assigned_bot_id = b.id
     LEFT JOIN deployment_queue q ON q.bot_id = b.id
     WHERE true";

fn row_of(r: Raw, now: DateTime<Utc>) -> Result<BotRow> {
    let status: BotStatus = r.2.parse()?;
    let ms = |from: DateTime<Utc>, to: DateTime<Utc>| (to - from).num_milliseconds().max(0);
    // Pin, join time and start, in one column (a row of 16 is the most
    // sqlx decodes as a tuple).
    let time = |v: &serde_json::Value| v.as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok());
    let (join_at, start_at) = (time(&r.7[1]), time(&r.7[2]));
    // A scheduled bot waits from its start, not its creation.
    let queued_from = start_at.unwrap_or(r.11);
    let wait_ms = if status == BotStatus::Queued {
        Some(ms(r.14.unwrap_or(queued_from), now))
    } else {
        r.15.map(|left| ms(queued_from, left))
    };
    Ok(BotRow {
        id: r.0,
        pool: r.1,
        status,
        meeting_platform: r.3.parse()?,
        meeting_url: r.4,
        display_name: r.5,
        deployment_platform: r.6.map(|p| p.parse()).transpose()?,
        pinned_platform: r.7[0].as_str().map(str::parse).transpose()?,
        slot_name: r.8,
        priority: r.9,
        queue_position: None,
        wait_ms,
        error: r.10,
        created_at: r.11,
        updated_at: r.12,
        ended_at: r.13,
        join_at,
    })
}

/// Fills in the queue positions of the `QUEUED` rows.
async fn place(db: &PgPool, rows: &mut [BotRow]) -> Result<()> {
    let queued: Vec<i64> = rows
        .iter()
        .filter(|r| r.status == BotStatus::Queued)
        .map(|r| r.id)
        .collect();
    if queued.is_empty() {
        return Ok(());
    }
    let places = crate::queue::positions_of(db, &queued).await?;
    for r in rows.iter_mut() {
        r.queue_position = places.get(&r.id).copied();
    }
    Ok(())
}

/// The page of bots matching `filter`, newest first, as of `now` (the
/// waits of queued bots). `invalid_input` for a limit outside
/// 1..=[`MAX_PAGE`] or `since` after `until`. Read-only.
pub async fn browse(db: &PgPool, filter: &BotFilter, now: DateTime<Utc>) -> Result<BotPage> {
    check(filter)?;
    let cursor = match filter.before {
        Some(before) => sqlx::query_scalar("SELECT created_at FROM bots WHERE id = $1")
            .bind(before)
            .fetch_optional(db)
            .await?
            .map(|at: DateTime<Utc>| (at, before)),
        None => None,
    };
    let mut q = QueryBuilder::new(SELECT);
    // A cursor created before `until` implies it: left out, the cursor
    // alone starts the index range scan (with both, PostgreSQL starts at
    // `until` and skips the rows up to the cursor).
    let implied = matches!((cursor, filter.until), (Some((at, _)), Some(u)) if at < u);
    let page_filter = BotFilter {
        until: if implied { None } else { filter.until },
        ..filter.clone()
    };
    push_conditions(&mut q, &page_filter);
    if let Some(before) = filter.before {
        match cursor {
            Some((at, _)) => {
                q.push(" AND (b.created_at, b.id) < (")
                    .push_bind(at)
                    .push(", ")
                    .push_bind(before)
                    .push(")");
            }
            // A cursor whose bot is gone: by id alone (the same order
            // but for bots created out of id order).
            None => {
                q.push(" AND b.id < ").push_bind(before);
            }
        }
    }
    // One more than the page: whether a next page exists.
    q.push(" ORDER BY b.created_at DESC, b.id DESC LIMIT ")
        .push_bind(i64::from(filter.limit) + 1);
    let raw: Vec<Raw> = q.build_query_as().fetch_all(db).await?;
    let more = raw.len() > filter.limit as usize;
    let mut rows = raw
        .into_iter()
        .take(filter.limit as usize)
        .map(|r| row_of(r, now))
        .collect::<Result<Vec<_>>>()?;
    place(db, &mut rows).await?;

    let mut c = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM bots b WHERE true");
    push_conditions(&mut c, filter);
    c.push(" LIMIT ").push_bind(TOTAL_CAP + 1).push(") m");
    let counted: i64 = c.build_query_scalar().fetch_one(db).await?;
    Ok(BotPage {
        next_before: if more {
            rows.last().map(|r| r.id)
        } else {
            None
        },
        rows,
        total: counted.min(TOTAL_CAP),
        total_capped: counted > TOTAL_CAP,
    })
}

/// One bot as a row of the list, as of `now`; `not_found` when there is
/// no such bot.
pub async fn row(db: &PgPool, id: i64, now: DateTime<Utc>) -> Result<BotRow> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" AND b.id = ").push_bind(id);
    let raw: Option<Raw> = q.build_query_as().fetch_optional(db).await?;
    let raw = raw.ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no bot #{id}")))?;
    let mut rows = vec![row_of(raw, now)?];
    place(db, &mut rows).await?;
    Ok(rows.remove(0))
}

#[cfg(test)]
mod tests;
