//! Booking: scheduled bots count against platform limits for their window.
//!
//! A scheduled bot books one unit of capacity from its start (`start_at`,
//! join time minus the lead) to `booked_until` (join time plus its expected
//! duration), until it ends. A request is refused (`window_full`) when, at
//! any instant of its window, the bookings already made reach the total
//! limit of the platforms its pool may use; bookings of every pool sharing
//! one of those platforms count (the platforms' limits are shared), which
//! may refuse a little early when pools share only some platforms, never
//! overbook. Bookings are checked and written under one transaction-scoped
//! advisory lock, so concurrent requests never overbook.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::error::{Error, ErrorCode, Result};
use crate::meeting::PlatformKind;
use crate::settings::rules::Range;
use crate::settings::Settings;
use crate::timestamp;

/// How far ahead a bot may be scheduled, in days.
pub const MAX_AHEAD_DAYS: i64 = 30;
/// A scheduled bot's expected duration when the request gives none: 60 min.
pub const DEFAULT_EXPECTED_DURATION_MS: i32 = 3_600_000;
/// The expected durations a request may give, in ms: 1 min to 24 h.
pub const EXPECTED_DURATION_MS: Range = Range {
    min: 60_000,
    max: 86_400_000,
};

/// What a scheduled request whose window is fully booked gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum IfFull {
    /// Refused at once (`window_full`), nothing written.
    #[default]
    Refuse,
    /// Accepted without a booking: started at its time and queued like any
    /// request if no capacity is free then.
    Queue,
}

impl IfFull {
    /// The default (for serde's `skip_serializing_if`).
    pub fn is_refuse(&self) -> bool {
        *self == IfFull::Refuse
    }
}

impl std::str::FromStr for IfFull {
    type Err = Error;
    fn from_str(s: &str) -> Result<IfFull> {
        match s {
            "refuse" => Ok(IfFull::Refuse),
            "queue" => Ok(IfFull::Queue),
            other => Err(Error::new(
                ErrorCode::InvalidInput,
                format!("ifFull must be refuse or queue, got {other:?}"),
            )),
        }
    }
}

/// Checks a join time: after `now`, at most [`MAX_AHEAD_DAYS`] ahead.
pub fn check_join_at(join_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    if join_at <= now {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!(
                "joinAt must be in the future, got {} (now {})",
                timestamp::text(join_at),
                timestamp::text(now)
            ),
        ));
    }
    if join_at > now + Duration::days(MAX_AHEAD_DAYS) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!(
                "joinAt may be at most {MAX_AHEAD_DAYS} days ahead, got {}",
                timestamp::text(join_at)
            ),
        ));
    }
    Ok(())
}

/// A request's expected duration, checked (`None`: the default).
pub fn expected_duration(ms: Option<i32>) -> Result<Duration> {
    let ms = ms.unwrap_or(DEFAULT_EXPECTED_DURATION_MS);
    if !EXPECTED_DURATION_MS.contains(ms.into()) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("expectedDurationMs: {}", EXPECTED_DURATION_MS.refusal(ms)),
        ));
    }
    Ok(Duration::milliseconds(ms.into()))
}

/// The capacity a set of platforms offers: the sum of the limits of those
/// enabled with a limit.
pub fn capacity(settings: &Settings, platforms: &[PlatformKind]) -> i64 {
    settings
        .routable()
        .filter(|p| platforms.contains(&p.platform))
        .map(|p| i64::from(p.bot_limit.unwrap_or(0)))
        .sum()
}

/// Takes the booking lock for the caller's transaction: every booking is
/// checked and written under it.
pub async fn lock(tx: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth.schedule.booking'))")
        .execute(tx)
        .await?;
    Ok(())
}

/// The most bookings of `pools` in force at one instant of `[from, to)`
/// (bots not ended; `except`, a bot being moved, left out). The peak is at
/// `from` or at a booking's start, so only those instants are counted.
pub async fn peak(
    conn: &mut PgConnection,
    pools: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<i64>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "WITH b AS (
             SELECT start_at AS f, booked_until AS t FROM bots
             WHERE booked_until IS NOT NULL AND status NOT IN ('DONE', 'FATAL')
               AND pool = ANY($1) AND start_at < $3 AND booked_until > $2
               AND id IS DISTINCT FROM $4),
         p AS (SELECT $2::timestamptz AS at UNION SELECT f FROM b WHERE f > $2)
         SELECT COALESCE(max((SELECT count(*) FROM b WHERE b.f <= p.at AND b.t > p.at)), 0)::bigint
         FROM p",
    )
    .bind(pools)
    .bind(from)
    .bind(to)
    .bind(except)
    .fetch_one(conn)
    .await?)
}

/// The refusal of a full window.
pub fn full(from: DateTime<Utc>, to: DateTime<Utc>, booked: i64, capacity: i64) -> Error {
    Error::new(
        ErrorCode::WindowFull,
        format!(
            "the window {} to {} is fully booked ({booked} of {capacity} bots); choose another joinAt, or ifFull: queue",
            timestamp::text(from),
            timestamp::text(to)
        ),
    )
}
