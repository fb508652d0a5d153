//! The slot description kept on the platform side (reference 003's formats).

use chrono::{DateTime, SecondsFormat, Utc};

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `[DEPLOYING] Bot #123 - Starting container...`
pub fn deploying(bot_id: i64) -> String {
    format!("[DEPLOYING] Bot #{bot_id} - Starting container...")
}

/// `[BUSY] Bot #123 - 2025-12-17T22:30:00Z`
pub fn busy(bot_id: i64, at: DateTime<Utc>) -> String {
    format!("[BUSY] Bot #{bot_id} - {}", stamp(at))
}

/// The idle description of a slot never used: [`idle`]`(None)`.
pub const IDLE_NEVER_USED: &str = "[IDLE] Available - Never used";

/// What precedes the time in a used idle slot's description. SQL that
/// writes the description itself (in the statement that releases the slot)
/// binds this and [`IDLE_NEVER_USED`] rather than copying the words.
pub const IDLE_LAST_USED: &str = "[IDLE] Available - Last used: ";

/// `[IDLE] Available - Last used: 2025-12-17T22:30:00Z`, or
/// [`IDLE_NEVER_USED`].
pub fn idle(last_used: Option<DateTime<Utc>>) -> String {
    match last_used {
        Some(at) => format!("{IDLE_LAST_USED}{}", stamp(at)),
        None => IDLE_NEVER_USED.to_string(),
    }
}

/// `[ERROR] Container crashed - 2025-12-17T22:30:00Z`
pub fn error(message: &str, at: DateTime<Utc>) -> String {
    format!("[ERROR] {message} - {}", stamp(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_match_reference_003() {
        let at = Utc.with_ymd_and_hms(2025, 12, 17, 22, 30, 0).unwrap();
        assert_eq!(
            deploying(123),
            "[DEPLOYING] Bot #123 - Starting container..."
        );
        assert_eq!(busy(123, at), "[BUSY] Bot #123 - 2025-12-17T22:30:00Z");
        assert_eq!(
            idle(Some(at)),
            "[IDLE] Available - Last used: 2025-12-17T22:30:00Z"
        );
        assert_eq!(idle(None), "[IDLE] Available - Never used");
        assert_eq!(
            error("Container crashed", at),
            "[ERROR] Container crashed - 2025-12-17T22:30:00Z"
        );
    }
}
