//! The schedule as the app shows it: upcoming scheduled bots, and per
//! window the capacity booked against the capacity there is.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::error::{Error, ErrorCode, Result};
use crate::settings;
use crate::timestamp;

/// The timeline's window length: 15 min.
pub const WINDOW_MINUTES: i64 = 15;
/// The longest span one read covers: 7 days (672 windows).
pub const MAX_SPAN_DAYS: i64 = 7;
/// The most bots one read lists.
pub const MAX_BOTS: i64 = 1_000;

/// A scheduled bot on the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ScheduledBot {
    /// The bot.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bot_id: i64,
    /// Its pool.
    pub pool: String,
    /// Its meeting.
    pub meeting_url: String,
    /// When it must be in the meeting (`None`: a staggered start).
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub join_at: Option<DateTime<Utc>>,
    /// When Berth starts it.
    #[serde(serialize_with = "timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub start_at: DateTime<Utc>,
    /// Whether it holds a booking.
    pub booked: bool,
}

/// One window of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct WindowLoad {
    /// Its start.
    #[serde(serialize_with = "timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub from: DateTime<Utc>,
    /// Its end.
    #[serde(serialize_with = "timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub to: DateTime<Utc>,
    /// The most bookings in force at one instant of it.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub booked: i64,
    /// The capacity: the sum of the limits of the routable platforms.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub capacity: i64,
}

/// The schedule between two times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Upcoming {
    /// Scheduled bots starting or joining in the span, by start (at most
    /// [`MAX_BOTS`]).
    pub bots: Vec<ScheduledBot>,
    /// The span's windows of [`WINDOW_MINUTES`], in order.
    pub windows: Vec<WindowLoad>,
}

/// The scheduled bots of `[from, to)` and the capacity booked per
/// [`WINDOW_MINUTES`] window (windows aligned on `from`, floored to the
/// minute), against every routable platform's limit. Reads only. A span
/// that is empty or longer than [`MAX_SPAN_DAYS`] is `invalid_input`.
pub async fn upcoming(db: &PgPool, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Upcoming> {
    if to <= from || to - from > Duration::days(MAX_SPAN_DAYS) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("the span must be more than 0 and at most {MAX_SPAN_DAYS} days"),
        ));
    }
    let bots: Vec<ScheduledBot> = sqlx::query_as(
        "SELECT id AS bot_id, pool, meeting_url, join_at, start_at, booked_until IS NOT NULL AS booked
         FROM bots WHERE status = 'SCHEDULED' AND start_at < $2 AND COALESCE(join_at, start_at) >= $1
         ORDER BY start_at, id LIMIT $3",
    )
    .bind(from)
    .bind(to)
    .bind(MAX_BOTS)
    .fetch_all(db)
    .await?;
    let settings = settings::load(db).await?;
    let capacity: i64 = settings
        .routable()
        .map(|p| i64::from(p.bot_limit.unwrap_or(0)))
        .sum();
    // Per window, the peak of the bookings in force: at the window's start
    // or at a booking's start within it.
    let peaks: Vec<(DateTime<Utc>, i64)> = sqlx::query_as(
        "WITH w AS (
             SELECT g AS f, g + $3 * interval '1 minute' AS t
             FROM generate_series(date_trunc('minute', $1::timestamptz), $2::timestamptz - interval '1 microsecond', $3 * interval '1 minute') g),
         b AS (
             SELECT start_at AS f, booked_until AS t FROM bots
             WHERE booked_until IS NOT NULL AND status NOT IN ('DONE', 'FATAL')
               AND start_at < $2 AND booked_until > $1)
         SELECT w.f, COALESCE((
             SELECT max((SELECT count(*) FROM b WHERE b.f <= p.at AND b.t > p.at))
             FROM (SELECT w.f AS at UNION SELECT b.f FROM b WHERE b.f > w.f AND b.f < w.t) p), 0)::bigint
         FROM w ORDER BY w.f",
    )
    .bind(from)
    .bind(to)
    .bind(WINDOW_MINUTES as f64)
    .fetch_all(db)
    .await?;
    let windows = peaks
        .into_iter()
        .map(|(f, booked)| WindowLoad {
            from: f,
            to: f + Duration::minutes(WINDOW_MINUTES),
            booked,
            capacity,
        })
        .collect();
    Ok(Upcoming { bots, windows })
}
