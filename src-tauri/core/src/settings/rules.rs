//! The ranges of the shared settings (reference 004), defined once.
//!
//! The environment's parser ([`crate::config`]), an administrator's save
//! ([`super::save`]) and the settings page (through the desktop's
//! `settings_rules` command) all check against these constants, so the
//! three can no longer drift apart.

use serde::Serialize;

/// An inclusive range of whole numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Range {
    /// Smallest value allowed.
    pub min: u32,
    /// Largest value allowed.
    pub max: u32,
}

impl Range {
    /// Whether `value` lies within the range (bounds included).
    pub fn contains(&self, value: i64) -> bool {
        value >= i64::from(self.min) && value <= i64::from(self.max)
    }

    /// The words every refusal uses: `must be from <min> to <max>, got <value>`.
    pub fn refusal(&self, value: impl std::fmt::Display) -> String {
        format!("must be from {} to {}, got {value}", self.min, self.max)
    }
}

/// A platform's bot limit (`<PLATFORM>_BOT_LIMIT`, the settings page's
/// "Limit"): at least one bot, at most 100,000.
pub const BOT_LIMIT: Range = Range {
    min: 1,
    max: 100_000,
};

/// A platform's queue timeout in ms (`<PLATFORM>_QUEUE_TIMEOUT_MS`): 0 (try
/// the next platform at once) to one hour.
pub const QUEUE_TIMEOUT_MS: Range = Range {
    min: 0,
    max: 3_600_000,
};

/// The ceiling of every request's global queue timeout in ms
/// (`GLOBAL_QUEUE_TIMEOUT_MS`): one second to one hour.
pub const GLOBAL_QUEUE_TIMEOUT_MS: Range = Range {
    min: 1_000,
    max: 3_600_000,
};

/// How many days of history (slot transitions, bot events, account leases,
/// the audit log) are kept (`BERTH_HISTORY_RETENTION_DAYS`): from 8 days
/// (the week view and a bucket: the views never read older raw rows) to ten
/// years. Whole days are dropped once they ended this long ago
/// ([`crate::history::partitions`]).
pub const HISTORY_RETENTION_DAYS: Range = Range { min: 8, max: 3_650 };

/// A priority (lower first): a tier's, a pool's `queue.priority`: 0 to 1000.
pub const PRIORITY: Range = Range { min: 0, max: 1_000 };

/// A tier's ageing bound in ms ([`crate::tier::Tier::max_wait_ms`]): one
/// second to ten minutes (the longest a request may wait at all,
/// [`crate::config::MAX_REQUEST_QUEUE_TIMEOUT_MS`]).
pub const MAX_WAIT_MS: Range = Range {
    min: 1_000,
    max: crate::config::MAX_REQUEST_QUEUE_TIMEOUT_MS,
};

/// Every range an administrator's settings are checked against, for faces
/// that check before they save (the settings page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SettingsRules {
    /// [`BOT_LIMIT`].
    pub bot_limit: Range,
    /// [`QUEUE_TIMEOUT_MS`].
    pub queue_timeout_ms: Range,
    /// [`GLOBAL_QUEUE_TIMEOUT_MS`].
    pub global_queue_timeout_ms: Range,
    /// [`PRIORITY`] (a tier's priority).
    pub tier_priority: Range,
    /// [`MAX_WAIT_MS`] (a tier's ageing bound).
    pub tier_max_wait_ms: Range,
    /// [`crate::tier::NAME_PATTERN`].
    pub tier_name_pattern: &'static str,
    /// [`crate::tier::MAX_TIERS`].
    pub max_tiers: u32,
}

/// The rules in force (the constants above).
pub const RULES: SettingsRules = SettingsRules {
    bot_limit: BOT_LIMIT,
    queue_timeout_ms: QUEUE_TIMEOUT_MS,
    global_queue_timeout_ms: GLOBAL_QUEUE_TIMEOUT_MS,
    tier_priority: PRIORITY,
    tier_max_wait_ms: MAX_WAIT_MS,
    tier_name_pattern: crate::tier::NAME_PATTERN,
    max_tiers: crate::tier::MAX_TIERS as u32,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_refusals_name_them() {
        assert!(BOT_LIMIT.contains(1) && BOT_LIMIT.contains(100_000));
        assert!(!BOT_LIMIT.contains(0) && !BOT_LIMIT.contains(100_001));
        assert!(QUEUE_TIMEOUT_MS.contains(0) && !QUEUE_TIMEOUT_MS.contains(-1));
        assert!(!GLOBAL_QUEUE_TIMEOUT_MS.contains(999));
        assert_eq!(BOT_LIMIT.refusal(0), "must be from 1 to 100000, got 0");
    }
}
