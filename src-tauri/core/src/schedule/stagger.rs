//! Staggered launches (reference 002): a batch spaces its bots' starts by
//! a delay. Later bots are `SCHEDULED` with a not-before (`start_at`) and
//! the starter ([`super::start`]) launches them, so the caller (a one-shot
//! CLI) returns at once.

use chrono::Duration;

use crate::error::{Error, ErrorCode, Result};

/// The longest stagger a batch may ask for: 10 min between two starts.
pub const MAX_STAGGER_MS: u32 = 600_000;

/// A batch's stagger, checked (`None`: 0, all at once).
pub fn check(stagger_ms: Option<u32>) -> Result<Duration> {
    let ms = stagger_ms.unwrap_or(0);
    if ms > MAX_STAGGER_MS {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("staggerMs must be from 0 to {MAX_STAGGER_MS} (10 min), got {ms}"),
        ));
    }
    Ok(Duration::milliseconds(ms.into()))
}
