//! The delivery log (`berth webhooks log`) and the backlog the metrics export.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::error::{Error, ErrorCode, Result};

/// Where a delivery stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryState {
    /// Not delivered yet: due, waiting for a retry or for an earlier
    /// delivery with the same key, or being attempted.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Retried for 24 hours without a 2xx: given up.
    Failed,
}

impl std::str::FromStr for DeliveryState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            other => Err(Error::new(
                ErrorCode::Internal,
                format!("unknown delivery state {other:?}"),
            )),
        }
    }
}

/// One delivery as the log shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// Delivery id.
    pub id: i64,
    /// The event's id (`webhook-id`).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub event_id: uuid::Uuid,
    /// The event's type.
    pub event_type: String,
    /// The subscription's name; `None` for a bot's own URL.
    pub webhook: Option<String>,
    /// The bot whose own URL it goes to, if so.
    pub bot_id: Option<i64>,
    /// Where it goes.
    pub url: String,
    /// Its ordering key.
    pub ordering_key: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: i32,
    /// The last answer's HTTP status.
    pub last_status: Option<i32>,
    /// The last failure (timeout, refused connection, non-2xx).
    pub last_error: Option<String>,
    /// The last attempt.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The next try (`None`: due now, or done).
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event was written.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    /// When it was delivered or given up.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub done_at: Option<DateTime<Utc>>,
}

/// The most deliveries one [`log`] returns.
pub const MAX_LOG: i64 = 1_000;

type LogRow = (
    i64,
    uuid::Uuid,
    String,
    Option<String>,
    Option<i64>,
    String,
    String,
    String,
    i32,
    Option<i32>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// The latest `limit` deliveries, newest first: of the subscription named
/// `webhook` (`not_found` if there is none), else of every receiver (bots'
/// own URLs included). `limit` outside 1..=[`MAX_LOG`] is `invalid_input`.
pub async fn log(db: &PgPool, webhook: Option<&str>, limit: i64) -> Result<Vec<DeliveryView>> {
    if !(1..=MAX_LOG).contains(&limit) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("limit must be from 1 to {MAX_LOG}, got {limit}"),
        ));
    }
    let subscription = match webhook {
        Some(name) => Some(super::subscription::get(db, name).await?.id),
        None => None,
    };
    let rows: Vec<LogRow> = sqlx::query_as(
        "SELECT d.id, d.event_id, e.type, s.name, d.bot_id, d.url, d.ordering_key, d.state, d.attempts,
                d.last_status, d.last_error, d.last_attempt_at,
                CASE WHEN d.state = 'pending' THEN d.next_attempt_at END, e.created_at, d.done_at
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
         LEFT JOIN webhook_subscriptions s ON s.id = d.subscription_id
         WHERE $1::bigint IS NULL OR d.subscription_id = $1
         ORDER BY d.id DESC LIMIT $2",
    )
    .bind(subscription)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(DeliveryView {
                id: r.0,
                event_id: r.1,
                event_type: r.2,
                webhook: r.3,
                bot_id: r.4,
                url: r.5,
                ordering_key: r.6,
                state: r.7.parse()?,
                attempts: r.8,
                last_status: r.9,
                last_error: r.10,
                last_attempt_at: r.11,
                next_attempt_at: r.12,
                created_at: r.13,
                done_at: r.14,
            })
        })
        .collect()
}

/// How long settled events (every delivery delivered or failed) stay in
/// the log before the leader prunes them.
pub const KEEP_DAYS: i64 = 7;

/// Deletes the events written before `before` whose deliveries are all
/// settled (delivered or failed), with their deliveries; pending ones stay
/// whatever their age. Returns how many events went. Run by the leader.
pub async fn prune(db: &PgPool, before: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM webhook_events e WHERE e.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.state = 'pending')",
    )
    .bind(before)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// What is waiting to be delivered (for the metrics: a gauge per field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backlog {
    /// Deliveries not delivered yet (due, retrying, waiting or under way).
    pub pending: i64,
    /// Of those, how many have failed at least once.
    pub retrying: i64,
    /// Deliveries given up after 24 hours.
    pub failed: i64,
    /// Age of the oldest pending delivery's event, in seconds (0 if none).
    pub oldest_pending_age_seconds: i64,
}

/// The backlog as of `now`.
pub async fn backlog(db: &PgPool, now: DateTime<Utc>) -> Result<Backlog> {
    let (pending, retrying, failed, oldest): (i64, i64, i64, Option<DateTime<Utc>>) =
        sqlx::query_as(
            "SELECT count(*) FILTER (WHERE state = 'pending'),
                    count(*) FILTER (WHERE state = 'pending' AND attempts > 0 AND last_error IS NOT NULL),
                    count(*) FILTER (WHERE state = 'failed'),
                    min(created_at) FILTER (WHERE state = 'pending')
             FROM webhook_deliveries",
        )
        .fetch_one(db)
        .await?;
    Ok(Backlog {
        pending,
        retrying,
        failed,
        oldest_pending_age_seconds: oldest.map_or(0, |t| (now - t).num_seconds().max(0)),
    })
}
