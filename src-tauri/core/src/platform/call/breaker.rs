//! The circuit breaker and the retry budget: one [`State`] per platform,
//! updated once per call.

use chrono::{DateTime, Utc};

use super::{Caller, FailureKind};
use crate::platform::PlatformError;

/// The breaker's state, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; `failures` consecutive calls failed so far.
    Closed {
        /// Consecutive failed calls.
        failures: u32,
    },
    /// Calls fail fast until a probe after the cool-down succeeds.
    Open {
        /// Why it opened (the last failure).
        reason: String,
        /// When a probe may try again (on the caller's clock).
        probe_at: DateTime<Utc>,
    },
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) breaker: BreakerState,
    /// Retry tokens, in thousandths.
    pub(super) budget_milli: u64,
}

/// How one call ended, for the breaker.
pub(super) enum Verdict {
    /// The platform answered as expected (success, 404, 409): resets the count.
    Answered,
    /// The platform failed (transient faults, timeouts), or refused in a way
    /// every later call will be refused too (401, 403, other rejections).
    Failed(String),
}

impl Caller {
    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the breaker is open (the platform counts as down until a
    /// probe succeeds).
    pub fn breaker_open(&self) -> bool {
        matches!(self.state().breaker, BreakerState::Open { .. })
    }

    /// Why the breaker is open, if it is (for health and the decision trace).
    pub fn breaker_reason(&self) -> Option<String> {
        match &self.state().breaker {
            BreakerState::Open { reason, .. } => Some(reason.clone()),
            BreakerState::Closed { .. } => None,
        }
    }

    /// The breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.state().breaker.clone()
    }

    /// Retry tokens left (whole tokens).
    pub fn retry_budget_left(&self) -> u32 {
        (self.state().budget_milli / 1000) as u32
    }

    pub(super) fn settle(&self, verdict: &Verdict) {
        let mut st = self.state();
        match verdict {
            Verdict::Answered => {
                st.breaker = BreakerState::Closed { failures: 0 };
                let cap = u64::from(self.policy.retry_budget) * 1000;
                st.budget_milli =
                    (st.budget_milli + u64::from(self.policy.retry_refill_milli)).min(cap);
            }
            Verdict::Failed(reason) => {
                let failures = match &st.breaker {
                    BreakerState::Closed { failures } => failures + 1,
                    BreakerState::Open { .. } => self.policy.breaker_threshold,
                };
                if failures >= self.policy.breaker_threshold {
                    if !matches!(st.breaker, BreakerState::Open { .. }) {
                        tracing::warn!(platform = %self.platform, failures, reason = %reason,
                            "circuit breaker opened: calls fail fast until a health probe succeeds");
                    }
                    let cooldown = chrono::Duration::from_std(self.policy.breaker_cooldown)
                        .unwrap_or(chrono::Duration::MAX);
                    st.breaker = BreakerState::Open {
                        reason: format!("{failures} consecutive failed calls, last: {reason}"),
                        probe_at: self.clock.now() + cooldown,
                    };
                } else {
                    st.breaker = BreakerState::Closed { failures };
                }
            }
        }
    }

    pub(super) fn take_retry_token(&self) -> bool {
        let mut st = self.state();
        if st.budget_milli >= 1000 {
            st.budget_milli -= 1000;
            true
        } else {
            false
        }
    }

    pub(super) fn open_error(&self, operation: &'static str) -> Option<PlatformError> {
        match &self.state().breaker {
            BreakerState::Open { reason, .. } => Some(PlatformError {
                platform: self.platform,
                operation,
                kind: FailureKind::CircuitOpen,
                message: format!("circuit breaker open ({reason}); not attempted"),
            }),
            BreakerState::Closed { .. } => None,
        }
    }
}
