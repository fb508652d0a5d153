//! The idle target of a scaled pool: a pure function of its policy and the
//! demand read for one pass.

use chrono::Duration;
use serde::Serialize;

/// A pool's `scaling:` policy, as the engine reads it from its `pools` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Idle slots always kept.
    pub min_idle: i64,
    /// Most idle slots the target reaches.
    pub max_idle: i64,
    /// Idle time after which a slot above the target is removed.
    pub scale_down_after: Duration,
}

/// The demand a pass reads for one pool ([`super::demand::read`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demand {
    /// Scheduled bots of the pool starting within the next lead time.
    pub scheduled: i64,
    /// Ad-hoc requests (no `joinAt`) per minute over the recent window.
    pub arrivals_per_minute: f64,
    /// How long before it must be in the meeting a bot is started: the
    /// window the buffer covers.
    pub lead_time: Duration,
}

/// An idle target and its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = IdleTarget))]
// The container's name is only the TypeScript type's (JSON is unaffected).
#[serde(rename = "IdleTarget", rename_all = "camelCase")]
pub struct Target {
    /// The policy's minimum.
    pub min_idle: u32,
    /// The policy's maximum.
    pub max_idle: u32,
    /// Slots the scheduled bots of the next lead time need.
    pub scheduled: u32,
    /// Slots the recent arrival rate asks for over one lead time.
    pub buffer: u32,
    /// `min_idle + scheduled + buffer`, clamped to `[min_idle, max_idle]`.
    pub target: u32,
}

/// The idle target: `min_idle` plus the scheduled bots starting within the
/// lead time plus a buffer of the arrival rate times the lead time (rounded
/// up: a fraction of a bot still needs a slot), clamped to `[min_idle,
/// max_idle]`. Negative or non-finite inputs count as none. Pure.
pub fn target(policy: &Policy, demand: &Demand) -> Target {
    let min = policy.min_idle.max(0);
    let max = policy.max_idle.max(min);
    let scheduled = demand.scheduled.max(0);
    let minutes = demand.lead_time.num_milliseconds().max(0) as f64 / 60_000.0;
    let rate = if demand.arrivals_per_minute.is_finite() {
        demand.arrivals_per_minute.max(0.0)
    } else {
        0.0
    };
    // Round away float noise first (0.1 × 30 is 3.0000000000000004).
    let buffer = ((rate * minutes * 1e6).round() / 1e6).ceil().min(1e9) as i64;
    let target = min
        .saturating_add(scheduled)
        .saturating_add(buffer)
        .clamp(min, max);
    let small = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Target {
        min_idle: small(min),
        max_idle: small(max),
        scheduled: small(scheduled),
        buffer: small(buffer),
        target: small(target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(min: i64, max: i64) -> Policy {
        Policy {
            min_idle: min,
            max_idle: max,
            scale_down_after: Duration::minutes(10),
        }
    }

    fn demand(scheduled: i64, per_minute: f64, lead_s: i64) -> Demand {
        Demand {
            scheduled,
            arrivals_per_minute: per_minute,
            lead_time: Duration::seconds(lead_s),
        }
    }

    #[test]
    fn the_target_is_min_plus_scheduled_plus_buffer_clamped() {
        // (min, max, scheduled, per minute, lead s) -> (scheduled, buffer, target)
        type Row = ((i64, i64, i64, f64, i64), (u32, u32, u32));
        let table: &[Row] = &[
            // No demand: the minimum.
            ((2, 10, 0, 0.0, 120), (0, 0, 2)),
            // Scheduled bots only.
            ((2, 10, 3, 0.0, 120), (3, 0, 5)),
            // 1.5 requests a minute over a 2 min lead: 3.
            ((2, 10, 0, 1.5, 120), (0, 3, 5)),
            // A fraction of a bot still needs a slot: 0.2 × 2 = 0.4 → 1.
            ((0, 10, 0, 0.2, 120), (0, 1, 1)),
            // Float noise does not round 3 up to 4.
            ((0, 10, 0, 0.1, 1800), (0, 3, 3)),
            // Both, clamped to the maximum.
            ((2, 6, 3, 2.0, 120), (3, 4, 6)),
            // min = max: fixed.
            ((4, 4, 9, 9.0, 600), (9, 90, 4)),
            // Negative and nonsense inputs count as none.
            ((1, 5, -3, -2.0, 60), (0, 0, 1)),
            ((1, 5, 0, f64::NAN, 60), (0, 0, 1)),
            ((1, 5, 0, f64::INFINITY, 60), (0, 0, 1)),
            ((1, 5, 0, 3.0, -60), (0, 0, 1)),
        ];
        for &((min, max, s, rate, lead), (scheduled, buffer, want)) in table {
            let t = target(&policy(min, max), &demand(s, rate, lead));
            assert_eq!(
                (t.scheduled, t.buffer, t.target),
                (scheduled, buffer, want),
                "min {min} max {max} scheduled {s} rate {rate} lead {lead}s"
            );
            assert_eq!((t.min_idle, t.max_idle), (min as u32, max as u32));
        }
    }

    #[test]
    fn a_maximum_below_the_minimum_never_takes_the_target_below_the_minimum() {
        // The definition's check refuses it; the engine stays safe anyway.
        let t = target(&policy(5, 2), &demand(0, 0.0, 60));
        assert_eq!((t.target, t.max_idle), (5, 5));
    }
}
