//! Where a bot stands, for a caller tracking it (the HTTP API's bot
//! resource): its view and decision trace, what its request said (display
//! name, metadata), and its place in the queue with an estimated wait; and
//! bots listed with filters, a page at a time.
//!
//! Read-only: nothing here writes or publishes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::bot::{self, BotView};
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::{BotStatus, MeetingPlatform};
use crate::queue;

/// A bot with where it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Tracked {
    /// The bot, with its decision trace.
    #[serde(flatten)]
    pub bot: BotView,
    /// Its name in the meeting, as requested.
    pub display_name: Option<String>,
    /// The caller's data, as given.
    pub metadata: Option<serde_json::Value>,
    /// Waiting for capacity (it has a queue entry).
    pub queued: bool,
    /// 1-based position in the queue while queued, else null.
    pub queue_position: Option<i64>,
    /// Estimated wait from the release rate observed lately; null when not
    /// queued or when no release was observed (no honest estimate).
    pub estimated_wait_ms: Option<i64>,
}

/// One bot by id with where it stands (`now` dates the release rate the
/// estimate comes from); an unknown bot is `not_found`.
pub async fn get(db: &PgPool, id: i64, now: DateTime<Utc>) -> Result<Tracked> {
    let bot = bot::get(db, id).await?;
    let (display_name, metadata): (Option<String>, Option<serde_json::Value>) =
        sqlx::query_as("SELECT display_name, metadata FROM bots WHERE id = $1")
            .bind(id)
            .fetch_one(db)
            .await?;
    let queue_position = queue::position(db, id, now).await?;
    let estimated_wait_ms = match queue_position {
        Some(p) => queue::estimate_wait_ms(p, queue::release_rate(db, now).await?),
        None => None,
    };
    Ok(Tracked {
        bot,
        display_name,
        metadata,
        queued: queue_position.is_some(),
        queue_position,
        estimated_wait_ms,
    })
}

/// A bot in a list: who, where and when, without its trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// Bot id.
    pub id: i64,
    /// Lifecycle status.
    pub status: BotStatus,
    /// Pool it draws from.
    pub pool: String,
    /// Meeting platform.
    pub meeting_platform: MeetingPlatform,
    /// Meeting URL.
    pub meeting_url: String,
    /// Its name in the meeting, as requested.
    pub display_name: Option<String>,
    /// Queue priority (lower first).
    pub priority: i32,
    /// Where it runs (or ran last).
    pub deployment_platform: Option<String>,
    /// The slot it holds.
    pub slot_name: Option<String>,
    /// Failure reason when `FATAL`.
    pub error: Option<String>,
    /// The caller's data, as given.
    pub metadata: Option<serde_json::Value>,
    /// Created.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    /// Ended.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub ended_at: Option<DateTime<Utc>>,
}

/// Which bots a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only bots in this status.
    pub status: Option<BotStatus>,
    /// Only bots of this pool.
    pub pool: Option<String>,
    /// Only bots of this meeting platform.
    pub meeting_platform: Option<MeetingPlatform>,
}

/// The most bots one page holds.
pub const MAX_PAGE: i64 = 200;

/// One page of bots, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The bots, by id descending.
    pub bots: Vec<Listed>,
    /// Where the next page starts (pass it as `before`); `None` on the last page.
    pub next: Option<i64>,
}

type ListedRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<serde_json::Value>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// Up to `limit` (1 to [`MAX_PAGE`], else `invalid_input`) bots matching
/// `filter` with ids below `before` (all when `None`), newest first. Paging
/// by id, so a bot created while a caller pages never shifts a page: each
/// bot that existed at the first page is listed exactly once.
pub async fn page(db: &PgPool, filter: &Filter, before: Option<i64>, limit: i64) -> Result<Page> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("limit must be from 1 to {MAX_PAGE}, got {limit}"),
        ));
    }
    // One more than asked: whether a next page exists, without a count.
    let rows: Vec<ListedRow> = sqlx::query_as(
        "SELECT b.id, b.status, b.pool, b.meeting_platform, b.meeting_url, b.display_name, b.priority,
                b.deployment_platform, s.slot_name, b.error, b.metadata, b.created_at, b.ended_at
         FROM bots b LEFT JOIN pool_slots s ON s.assigned_bot_id = b.id
         WHERE ($1::bigint IS NULL OR b.id < $1)
           AND ($2::text IS NULL OR b.status = $2)
           AND ($3::text IS NULL OR b.pool = $3)
           AND ($4::text IS NULL OR b.meeting_platform = $4)
         ORDER BY b.id DESC LIMIT $5",
    )
    .bind(before)
    .bind(filter.status.map(BotStatus::as_str))
    .bind(filter.pool.as_deref())
    .bind(filter.meeting_platform.map(MeetingPlatform::as_str))
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    let more = rows.len() as i64 > limit;
    let bots = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| {
            Ok(Listed {
                id: r.0,
                status: r.1.parse()?,
                pool: r.2,
                meeting_platform: r.3.parse()?,
                meeting_url: r.4,
                display_name: r.5,
                priority: r.6,
                deployment_platform: r.7,
                slot_name: r.8,
                error: r.9,
                metadata: r.10,
                created_at: r.11,
                ended_at: r.12,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next = if more {
        bots.last().map(|b| b.id)
    } else {
        None
    };
    Ok(Page { bots, next })
}
