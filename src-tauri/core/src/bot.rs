//! Bots: requests to put a bot into a meeting, their status and decision trace.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::error::{Error, ErrorCode, Result};
use crate::meeting::{BotStatus, MeetingPlatform, PlatformKind};

pub mod action;
mod browse;
pub mod retention;
mod timeline;
mod trace;

pub use browse::{browse, BotFilter, BotPage, BotRow, MAX_PAGE, TOTAL_CAP};
pub use timeline::{timeline, BotAccount, BotEvent, BotSlot, BotTimeline};
use trace::with_omitted;
pub use trace::{trace, Decision, TraceEntry, TRACE_HEAD, TRACE_MAX};

/// A bot as the CLI and UI show it. Times serialize as [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BotView {
    /// Bot id.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub id: i64,
    /// Pool it draws from.
    pub pool: String,
    /// Meeting platform.
    pub meeting_platform: MeetingPlatform,
    /// Meeting URL.
    pub meeting_url: String,
    /// Lifecycle status.
    pub status: BotStatus,
    /// Queue priority (lower first).
    pub priority: i32,
    /// The priority tier it was admitted in ([`crate::tier`]); `None`: a
    /// numeric priority no tier has.
    pub tier: Option<String>,
    /// Requested queue timeout.
    pub queue_timeout_ms: i32,
    /// Where it runs (or ran last).
    pub deployment_platform: Option<PlatformKind>,
    /// The slot it holds.
    pub slot_name: Option<String>,
    /// Failure reason when `FATAL`.
    pub error: Option<String>,
    /// Every routing decision, in order.
    pub decision_trace: Vec<TraceEntry>,
    /// Created.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub updated_at: DateTime<Utc>,
    /// When it ended.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub ended_at: Option<DateTime<Utc>>,
    /// The platform an operator pinned it to (a re-route), if any: it is routed there only.
    pub pinned_platform: Option<PlatformKind>,
    /// The failed bot this one deploys again (a redeploy), if any.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub redeploy_of: Option<i64>,
    /// When it must be in its meeting (a scheduled bot), if asked.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub join_at: Option<DateTime<Utc>>,
    /// When Berth starts (or started) it, for a scheduled bot.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub start_at: Option<DateTime<Utc>>,
}

type GetRow = (
    i64,
    String,
    String,
    String,
    String,
    i32,
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    serde_json::Value,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    i32,
    serde_json::Value,
);

/// One bot by id.
pub async fn get(db: &PgPool, id: i64) -> Result<BotView> {
    let row: Option<GetRow> = sqlx::query_as(
        "SELECT b.id, b.pool, b.meeting_platform, b.meeting_url, b.status, b.priority, b.queue_timeout_ms,
                b.deployment_platform, s.slot_name, b.error, b.decision_trace, b.created_at, b.updated_at, b.ended_at,
                b.decision_trace_omitted, jsonb_build_array(b.pinned_platform, b.redeploy_of, b.join_at, b.start_at, b.tier)
         FROM bots b LEFT JOIN pool_slots s ON s.assigned_bot_id = b.id WHERE b.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    let row = row.ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no bot #{id}")))?;
    Ok(BotView {
        id: row.0,
        pool: row.1,
        meeting_platform: row.2.parse()?,
        meeting_url: row.3,
        status: row.4.parse()?,
        priority: row.5,
        tier: row.15[4].as_str().map(String::from),
        queue_timeout_ms: row.6,
        deployment_platform: row.7.map(|p| p.parse()).transpose()?,
        slot_name: row.8,
        error: row.9,
        decision_trace: with_omitted(serde_json::from_value(row.10).unwrap_or_default(), row.14),
        created_at: row.11,
        updated_at: row.12,
        ended_at: row.13,
        // One column for these: a row of 16 is the most sqlx decodes as a tuple.
        pinned_platform: row.15[0].as_str().map(str::parse).transpose()?,
        redeploy_of: row.15[1].as_i64(),
        join_at: row.15[2].as_str().and_then(|t| t.parse().ok()),
        start_at: row.15[3].as_str().and_then(|t| t.parse().ok()),
    })
}

/// Capacity in use per deployment platform: bots in active states, from
/// the maintained counters ([`crate::platform::load`]).
pub async fn active_per_platform(db: &PgPool) -> Result<Vec<(String, i64)>> {
    crate::platform::load::per_platform(db).await
}

/// Whether a bot may report `to` while it is `from`. A bot that reported
/// `CALL_ENDED` gave its platform capacity back, so it can only end (never
/// go back into a meeting state, which would take capacity the router did
/// not grant). A `SCHEDULED` bot runs nowhere yet: it reports nothing
/// (it is cancelled, never reported ended).
pub fn may_report(from: BotStatus, to: BotStatus) -> bool {
    use BotStatus::*;
    if from.is_final() || from == Scheduled {
        return false;
    }
    match to {
        Done | Fatal => true,
        CallEnded => from != Queued,
        JoiningCall | InWaitingRoom | InCall | Leaving => !matches!(from, Queued | CallEnded),
        Scheduled | Queued | Deploying => false,
    }
}

/// How many bots ended, by final status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ended {
    /// `DONE`.
    pub done: i64,
    /// `FATAL`.
    pub fatal: i64,
}

/// Of the bots created at or after `since`, how many are `DONE` and `FATAL`.
pub async fn ended_since(db: &PgPool, since: DateTime<Utc>) -> Result<Ended> {
    let (done, fatal): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'DONE'), count(*) FILTER (WHERE status = 'FATAL')
         FROM bots WHERE created_at >= $1",
    )
    .bind(since)
    .fetch_one(db)
    .await?;
    Ok(Ended { done, fatal })
}

/// A bot in a list: who, where and when, without its trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BotSummary {
    /// Bot id.
    pub id: i64,
    /// Lifecycle status.
    pub status: BotStatus,
    /// Meeting platform.
    pub meeting_platform: MeetingPlatform,
    /// Where it runs (or ran last).
    pub deployment_platform: Option<PlatformKind>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// The most bots one [`list`] returns.
pub const MAX_LIST: i64 = 1_000;

/// The latest `limit` bots (newest first), only those in `status` when
/// given. `limit` outside 1..=[`MAX_LIST`] is `invalid_input`.
pub async fn list(db: &PgPool, status: Option<BotStatus>, limit: i64) -> Result<Vec<BotSummary>> {
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("limit must be from 1 to {MAX_LIST}, got {limit}"),
        ));
    }
    type SummaryRow = (i64, String, String, Option<String>, DateTime<Utc>);
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT id, status, meeting_platform, deployment_platform, created_at FROM bots
         WHERE ($1::text IS NULL OR status = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(status.map(BotStatus::as_str))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(
            |(id, status, meeting_platform, deployment_platform, created_at)| {
                Ok(BotSummary {
                    id,
                    status: status.parse()?,
                    meeting_platform: meeting_platform.parse()?,
                    deployment_platform: deployment_platform.map(|p| p.parse()).transpose()?,
                    created_at,
                })
            },
        )
        .collect()
}

/// A new request, as [`insert`] writes it.
#[derive(Debug, Clone)]
pub struct NewRow<'a> {
    /// Its pool.
    pub pool: &'a str,
    /// Meeting platform.
    pub meeting_platform: crate::meeting::MeetingPlatform,
    /// Checked meeting URL.
    pub meeting_url: &'a str,
    /// Priority.
    pub priority: i32,
    /// Its tier, if its priority is one's.
    pub tier: Option<&'a str>,
    /// Its tier's ageing bound: its queue entry ages this long after it
    /// was queued ([`crate::queue::enter`]).
    pub max_wait_ms: Option<i32>,
    /// Requested queue timeout.
    pub queue_timeout_ms: i32,
    /// The end of its whole wait for capacity.
    pub deadline: DateTime<Utc>,
    /// Its name in the meeting.
    pub display_name: Option<&'a str>,
    /// The caller's data (a checked JSON object).
    pub metadata: Option<&'a serde_json::Value>,
    /// Its own webhook URL, checked.
    pub webhook_url: Option<&'a str>,
    /// When it is scheduled: written `SCHEDULED` with its times (and no
    /// queue entry); `None`: written `QUEUED`.
    pub planned: Option<&'a crate::schedule::Planned>,
}

/// Writes a new `QUEUED` bot (inside the caller's transaction, which also
/// enters it in the queue), or a `SCHEDULED` one when `row.planned` says
/// so (no queue entry); returns its id.
pub async fn insert(conn: &mut PgConnection, row: &NewRow<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO bots (pool, meeting_platform, meeting_url, priority, queue_timeout_ms, deadline, display_name, metadata, webhook_url,
                           status, start_at, join_at, booked_until, expected_duration_ms, tier, max_wait_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                     CASE WHEN $10::timestamptz IS NULL THEN 'QUEUED' ELSE 'SCHEDULED' END, $10, $11, $12, $13, $14, $15)
             RETURNING id",
    )
    .bind(row.pool)
    .bind(row.meeting_platform.as_str())
    .bind(row.meeting_url)
    .bind(row.priority)
    .bind(row.queue_timeout_ms)
    .bind(row.deadline)
    .bind(row.display_name)
    .bind(row.metadata)
    .bind(row.webhook_url)
    .bind(row.planned.map(|p| p.start_at))
    .bind(row.planned.and_then(|p| p.join_at))
    .bind(row.planned.and_then(|p| p.booked_until))
    .bind(row.planned.and_then(|p| p.expected_duration_ms))
    .bind(row.tier)
    .bind(row.max_wait_ms)
    .fetch_one(conn)
    .await?)
}

/// Bots holding capacity on `kind` (in an active state), as committed, from
/// the maintained counters. The router checks limits under
/// [`crate::platform::load::lock`] instead.
pub async fn active_on(conn: &mut PgConnection, kind: PlatformKind) -> Result<i64> {
    crate::platform::load::on(conn, kind).await
}

/// Slots created for this request so far.
pub async fn slots_created(conn: &mut PgConnection, bot_id: i64) -> Result<i32> {
    Ok(
        sqlx::query_scalar("SELECT slots_created FROM bots WHERE id = $1")
            .bind(bot_id)
            .fetch_one(conn)
            .await?,
    )
}

/// Counts one more slot created for this request.
pub async fn count_slot_created(conn: &mut PgConnection, bot_id: i64) -> Result<()> {
    sqlx::query("UPDATE bots SET slots_created = slots_created + 1 WHERE id = $1")
        .bind(bot_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// `QUEUED` → `DEPLOYING` on `kind`; `false` if the bot was not `QUEUED`.
pub async fn mark_deploying(
    conn: &mut PgConnection,
    bot_id: i64,
    kind: PlatformKind,
) -> Result<bool> {
    let moved = sqlx::query(
        "UPDATE bots SET status = 'DEPLOYING', deployment_platform = $2, updated_at = now()
             WHERE id = $1 AND status = 'QUEUED'",
    )
    .bind(bot_id)
    .bind(kind.as_str())
    .execute(conn)
    .await?;
    Ok(moved.rows_affected() > 0)
}

/// `DEPLOYING` → `JOINING_CALL` (its workload started); `false` if it was
/// not `DEPLOYING`.
pub async fn mark_joining(db: &PgPool, bot_id: i64) -> Result<bool> {
    let moved = sqlx::query("UPDATE bots SET status = 'JOINING_CALL', updated_at = now() WHERE id = $1 AND status = 'DEPLOYING'")
        .bind(bot_id)
        .execute(db)
        .await?;
    Ok(moved.rows_affected() > 0)
}

/// `DEPLOYING` → `QUEUED` with no platform (its deploy failed).
pub async fn requeue_deploying(conn: &mut PgConnection, bot_id: i64) -> Result<()> {
    sqlx::query("UPDATE bots SET status = 'QUEUED', deployment_platform = NULL, updated_at = now() WHERE id = $1 AND status = 'DEPLOYING'")
        .bind(bot_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The bot's meeting URL.
pub async fn meeting_url(db: &PgPool, bot_id: i64) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT meeting_url FROM bots WHERE id = $1")
            .bind(bot_id)
            .fetch_one(db)
            .await?,
    )
}

/// The bot's status, with the error it ended with; `None`: no such bot.
pub async fn status_of(db: &PgPool, bot_id: i64) -> Result<Option<(BotStatus, Option<String>)>> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT status, error FROM bots WHERE id = $1")
            .bind(bot_id)
            .fetch_optional(db)
            .await?;
    row.map(|(s, e)| Ok((s.parse()?, e))).transpose()
}

/// `from` → `to` (a status report); `false` if the bot was no longer `from`.
pub async fn move_status(db: &PgPool, bot_id: i64, from: BotStatus, to: BotStatus) -> Result<bool> {
    let moved = sqlx::query(
        "UPDATE bots SET status = $2, updated_at = now() WHERE id = $1 AND status = $3",
    )
    .bind(bot_id)
    .bind(to.as_str())
    .bind(from.as_str())
    .execute(db)
    .await?;
    Ok(moved.rows_affected() > 0)
}

/// Ends a bot (`DONE`/`FATAL`, with its error) unless it already ended;
/// returns whether this call ended it.
pub async fn end(
    conn: &mut PgConnection,
    bot_id: i64,
    status: BotStatus,
    error: Option<&str>,
) -> Result<bool> {
    let ended = sqlx::query(
        "UPDATE bots SET status = $2, error = $3, ended_at = now(), updated_at = now()
             WHERE id = $1 AND status NOT IN ('DONE', 'FATAL')",
    )
    .bind(bot_id)
    .bind(status.as_str())
    .bind(error)
    .execute(conn)
    .await?;
    Ok(ended.rows_affected() == 1)
}

#[cfg(test)]
mod tests;
