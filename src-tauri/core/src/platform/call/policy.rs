//! The numbers a caller works by ([`Policy`]) and the server's
//! `Retry-After`.

use std::time::{Duration, SystemTime};

/// Retry, timeout and breaker settings of one platform.
///
/// Build it with `Policy { field: value, ..Policy::default() }`: fields may
/// be added.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Timeout of each attempt.
    pub attempt_timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// First backoff; doubles per retry.
    pub base_backoff: Duration,
    /// Backoff cap.
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is capped to it.
    pub max_retry_after: Duration,
    /// Consecutive failed calls that open the breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker fails calls fast before a probe may close it.
    pub breaker_cooldown: Duration,
    /// Retry budget: tokens in the bucket when full (one retry spends one).
    pub retry_budget: u32,
    /// Retry budget: thousandths of a token a successful call puts back.
    pub retry_refill_milli: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            attempt_timeout: Duration::from_secs(15),
            max_attempts: 4,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            retry_budget: 10,
            retry_refill_milli: 100,
        }
    }
}

/// Parses an HTTP `Retry-After` value: delay-seconds (`"120"`, `"0"`) or an
/// HTTP date (a date in the past means "now"). Negative numbers, fractions
/// and garbage give `None` (the caller uses its normal backoff). A number
/// too large for a `Duration` saturates; callers cap the result
/// ([`Policy::max_retry_after`]).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            v.parse::<u64>()
                .map(Duration::from_secs)
                .unwrap_or(Duration::MAX),
        );
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}
