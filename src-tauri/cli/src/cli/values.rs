//! The argument parsers: every value with a closed set of forms is parsed
//! with the core's own `FromStr`, so a bad value is refused before anything
//! runs.

use berth_core::config::MAX_REQUEST_QUEUE_TIMEOUT_MS;
use berth_core::meeting::{BotStatus, MeetingPlatform, PlatformKind, SlotStatus};
use berth_core::webhook::EventType;

/// `BERTH_DEV`'s value (clap passes `true` for a bare `--dev`).
pub(super) fn dev_flag(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!(
            "BERTH_DEV={other:?} is not a boolean; use 1/0, true/false, yes/no or on/off"
        )),
    }
}

fn core_enum<T: std::str::FromStr<Err = berth_core::Error>>(s: &str) -> Result<T, String> {
    s.parse().map_err(|e: berth_core::Error| e.to_string())
}

pub(super) fn event_type(s: &str) -> Result<EventType, String> {
    core_enum(&s.trim().to_ascii_lowercase())
}

pub(super) fn meeting_platform(s: &str) -> Result<MeetingPlatform, String> {
    core_enum(&s.trim().to_ascii_lowercase())
}

pub(crate) fn platform_kind(s: &str) -> Result<PlatformKind, String> {
    core_enum(&s.trim().to_ascii_lowercase())
}

pub(super) fn slot_status(s: &str) -> Result<SlotStatus, String> {
    core_enum(&s.trim().to_ascii_lowercase())
}

pub(super) fn bot_status(s: &str) -> Result<BotStatus, String> {
    core_enum(&s.trim().to_ascii_uppercase().replace('-', "_"))
}

pub(crate) fn target_kind(s: &str) -> Result<berth_core::audit::TargetKind, String> {
    core_enum(&s.trim().to_ascii_lowercase())
}

/// A time: RFC 3339, or a duration ago (`90m`, `2h`, `1d`: a number and
/// one of s, m, h, d).
pub(crate) fn since(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let t = s.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&chrono::Utc));
    }
    let bad = || format!("{s:?} is neither an RFC 3339 time nor a duration like 90m, 2h or 1d");
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let ago = chrono::Duration::try_seconds(n.saturating_mul(secs)).ok_or_else(bad)?;
    Ok(chrono::Utc::now() - ago)
}

pub(super) fn token_scope(s: &str) -> Result<berth_core::token::Scope, String> {
    core_enum(&s.trim().to_ascii_lowercase())
}

pub(super) fn meeting_url(s: &str) -> Result<String, String> {
    let url = s.trim();
    if url.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(url.to_string())
}

fn whole(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("expected a whole number, got {s:?}"))
}

pub(super) fn bot_id(s: &str) -> Result<i64, String> {
    match whole(s)? {
        0 => Err("bot ids start at 1".into()),
        n => i64::try_from(n).map_err(|_| format!("{n} is too large for a bot id")),
    }
}

pub(super) fn priority(s: &str) -> Result<i32, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got {s:?} (0 or more; lower goes first)"))?;
    i32::try_from(n)
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("must be from 0 to {}, got {n}", i32::MAX))
}

pub(super) fn queue_timeout_ms(s: &str) -> Result<i32, String> {
    let max = MAX_REQUEST_QUEUE_TIMEOUT_MS;
    let n = whole(s).map_err(|e| format!("{e} (milliseconds, 0 to {max})"))?;
    if n > u64::from(max) {
        return Err(format!("must be from 0 to {max} ms (10 min), got {n}"));
    }
    Ok(n as i32)
}

pub(super) fn millis(s: &str) -> Result<i32, String> {
    let n = whole(s)?;
    i32::try_from(n).map_err(|_| format!("must be from 0 to {} ms, got {n}", i32::MAX))
}

pub(super) fn failure_rate(s: &str) -> Result<f64, String> {
    let f: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number from 0 to 1, got {s:?}"))?;
    if !(0.0..=1.0).contains(&f) {
        return Err(format!("must be from 0 to 1, got {f}"));
    }
    Ok(f)
}

/// A join time: RFC 3339 only (a relative time would move with the clock
/// of whoever reads it).
pub(super) fn join_at(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| format!("{s:?} is not an RFC 3339 time (2026-12-01T09:00:00Z)"))
}

pub(super) fn if_full(s: &str) -> Result<berth_core::schedule::IfFull, String> {
    core_enum(&s.trim().to_ascii_lowercase())
}

/// A stagger in ms: a number and a unit (ms, s, m), at most the core's
/// bound ([`berth_core::schedule::stagger::MAX_STAGGER_MS`]).
pub(super) fn stagger(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let bad = || format!("{s:?} is not a delay like 500ms, 5s or 1m");
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let ms = match unit {
        "ms" => n,
        "s" => n.saturating_mul(1_000),
        "m" => n.saturating_mul(60_000),
        _ => return Err(bad()),
    };
    let ms = u32::try_from(ms).unwrap_or(u32::MAX);
    berth_core::schedule::stagger::check(Some(ms)).map_err(|e| e.to_string())?;
    Ok(ms)
}
