//! The events Berth sends, and the one written from Rust (`pool.exhausted`).
//!
//! Bot, queue and health events are written by the database's triggers
//! (see the module doc of [`crate::webhook`]); this module names them and
//! shapes what a receiver gets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use std::str::FromStr;

use crate::error::{Error, ErrorCode, Result};
use crate::meeting::PlatformKind;

/// A type of event a subscription may receive.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    /// Any change of a bot's status, its creation (`from: null`) included.
    /// Payload: `botId, from, to, pool, meetingPlatform, platform, error, at`.
    #[serde(rename = "bot.state_changed")]
    BotStateChanged,
    /// A request starts waiting for capacity (on a full platform, or in the
    /// global queue). Payload: `botId, pool, waitingOn, priority, queuedAt, until, at`.
    #[serde(rename = "bot.queued")]
    BotQueued,
    /// A request got a slot (`QUEUED` → `DEPLOYING`).
    /// Payload: `botId, pool, platform, slot, at`.
    #[serde(rename = "bot.dispatched")]
    BotDispatched,
    /// A queued request passed its deadline and ended `FATAL`.
    /// Payload: `botId, pool, error, at`.
    #[serde(rename = "bot.expired")]
    BotExpired,
    /// A platform's shared health changed. Payload: `platform, from, to, detail, at`.
    #[serde(rename = "platform.health_changed")]
    PlatformHealthChanged,
    /// A new request found its pool at its max size with no idle slot on a
    /// platform: once per episode (until a slot of the pool is idle again,
    /// goes away, or the max size grows). Payload: `pool, platform, maxSize, botId, at`.
    #[serde(rename = "pool.exhausted")]
    PoolExhausted,
}

impl EventType {
    /// Every type, in this order.
    pub const ALL: [EventType; 6] = [
        EventType::BotStateChanged,
        EventType::BotQueued,
        EventType::BotDispatched,
        EventType::BotExpired,
        EventType::PlatformHealthChanged,
        EventType::PoolExhausted,
    ];

    /// The type as receivers see it (`bot.state_changed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::BotStateChanged => "bot.state_changed",
            EventType::BotQueued => "bot.queued",
            EventType::BotDispatched => "bot.dispatched",
            EventType::BotExpired => "bot.expired",
            EventType::PlatformHealthChanged => "platform.health_changed",
            EventType::PoolExhausted => "pool.exhausted",
        }
    }

    /// Whether a bot's own webhook URL receives it (the events about that bot).
    pub fn is_about_a_bot(self) -> bool {
        self.as_str().starts_with("bot.")
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                Error::new(
                    ErrorCode::InvalidInput,
                    format!(
                        "unknown event type {s:?}; expected one of {}",
                        all.join(", ")
                    ),
                )
            })
    }
}

/// One event as it is sent: the JSON body every receiver of it gets, the
/// same bytes on every attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Stable id (`webhook-id`).
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the change happened (RFC 3339).
    pub timestamp: String,
    /// What changed (camelCase fields; see [`EventType`]).
    pub data: serde_json::Value,
}

impl Message {
    /// The message for a stored event.
    pub fn new(
        id: uuid::Uuid,
        kind: String,
        created_at: DateTime<Utc>,
        data: serde_json::Value,
    ) -> Message {
        Message {
            id: id.to_string(),
            kind,
            timestamp: crate::timestamp::text(created_at),
            data,
        }
    }

    /// The body sent (and signed).
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Inside the transaction that records a request passed over because its
/// pool has no idle slot on `platform`: writes `pool.exhausted` if the pool
/// really is at its max size with no acquirable slot there
/// ([`crate::slot::ACQUIRABLE`]: an idle slot that is draining, updating or
/// failed cannot serve the request either), and no episode is
/// open for it yet. Returns whether an episode began (an event is written
/// only when someone subscribes).
pub async fn pool_exhausted(
    conn: &mut PgConnection,
    pool: &str,
    platform: PlatformKind,
    bot_id: i64,
) -> Result<bool> {
    // The slot the request could have had is an acquirable one, spelled as
    // the acquisition index's predicate so that index serves the check.
    let began: Option<String> = sqlx::query_scalar(concat!(
        "WITH found AS (
            SELECT p.name, p.max_size FROM pools p
            WHERE p.name = $1
              AND (SELECT count(*) FROM pool_slots s WHERE s.pool = p.name) >= p.max_size
              AND NOT EXISTS (SELECT 1 FROM pool_slots
                              WHERE pool = $1 AND deployment_platform = $2 AND ",
        crate::slot::acquirable!(),
        ")
         ), began AS (
            INSERT INTO pool_exhaustion (pool, platform) SELECT name, $2 FROM found
            ON CONFLICT (pool) DO NOTHING RETURNING pool
         )
         SELECT b.pool FROM began b JOIN found f ON f.name = b.pool,
              LATERAL (SELECT webhook_emit('pool.exhausted', 'pool:' || b.pool, jsonb_build_object(
                  'pool', b.pool, 'platform', $2::text, 'maxSize', f.max_size, 'botId', $3::bigint,
                  'at', webhook_time(clock_timestamp())), NULL, NULL)) e"
    ))
    .bind(pool)
    .bind(platform.as_str())
    .bind(bot_id)
    .fetch_optional(conn)
    .await?;
    Ok(began.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_read_and_print_as_receivers_see_them() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), t);
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::json!(t.as_str())
            );
        }
        let e = "bot.created".parse::<EventType>().unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.to_string().contains("pool.exhausted"), "{e}");
    }
}
