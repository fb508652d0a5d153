//! The one place where real adapters' calls get their shared behaviour:
//! a timeout on every attempt, retries only for retryable failures (capped
//! exponential backoff with jitter, a per-platform retry budget,
//! `Retry-After` honoured up to a cap), a circuit breaker, and a `tracing`
//! span per call (platform, operation, slot, latency, outcome; never a
//! secret).
//!
//! Adapters classify each failed attempt as a [`Fault`]; [`Caller::run`]
//! decides whether to try again and turns the final outcome into a
//! [`PlatformError`] with a [`FailureKind`] the router and UI can switch on.
//!
//! The numbers (see [`Policy::default`]):
//! - each attempt: 15 s timeout; at most 4 attempts per call;
//! - backoff before retry *n* (1-based): `min(200 ms · 2^(n-1), 5 s)`, of
//!   which a random half is jitter ("equal jitter": the wait is uniformly in
//!   `[b/2, b]`), so callers that failed together do not retry together;
//! - a server's `Retry-After` replaces the backoff, capped at 30 s;
//! - retry budget, per platform (token bucket): 10 tokens, each retry
//!   spends one, each successful call puts back 0.1. With the bucket empty a
//!   retryable failure fails at once, so an outage costs at most ~10 extra
//!   requests instead of 3 per call;
//! - circuit breaker: 5 consecutive failed calls open it. Transient
//!   failures and timeouts count, and so do refusals that say every later
//!   call will fail too (401, 403 and other rejections): a platform that
//!   answers every deploy with "no" is as unusable as one that does not
//!   answer. A 404 or 409 is an expected answer (stop of nothing, create of
//!   what exists) and, like a success, resets the count. While open every
//!   call fails fast with [`FailureKind::CircuitOpen`]; after a 30 s
//!   cool-down the next [`Caller::probe`] (the health check) tries the
//!   platform once and closes the breaker on success, or keeps it open for
//!   another cool-down. The cool-down runs on the instance's [`Clock`]
//!   (tests move it), and the breaker's state reaches every instance through
//!   the health each instance records ([`super::record_health`]).
//!
//! CONTRACT (other modules rely on these signatures; extend, don't change):
//! `Fault`, `FailureKind`, `Policy` (+ `Default`), `Caller::new(platform, policy)`,
//! `Caller::run(op, slot, f)`, `Caller::breaker_open()`.
//! Added since: `Fault::transient`, `Policy::{breaker_cooldown, retry_budget,
//! retry_refill_milli}` (build policies with `..Policy::default()`),
//! `Caller::probe(op, f)` (health checks: the only way an open breaker
//! closes), `Caller::breaker_reason()`, `Caller::breaker_state()`,
//! `Caller::retry_budget_left()`, `parse_retry_after(value, now)`,
//! `Caller::with_clock(platform, policy, clock)`. Adapters must return
//! `caller.breaker_reason()` from `Platform::unavailable` and run their
//! health check through `Caller::probe` (a health check through
//! `Caller::run` fails fast while the breaker is open, so it never closes).

use rand::Rng;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;

use super::PlatformError;
use crate::clock::{Clock, SystemClock};
use crate::meeting::PlatformKind;

mod breaker;
mod policy;

pub use breaker::BreakerState;
use breaker::{State, Verdict};
pub use policy::{parse_retry_after, Policy};

/// How one failed attempt should be treated. Adapters map their client's
/// errors onto this (HTTP status, SDK error kind, I/O error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Worth retrying: connection errors, timeouts, 5xx, 429. `retry_after`
    /// is the server's hint, already parsed.
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// 401: the credentials are wrong or expired. Never retried.
    Unauthenticated(String),
    /// 403: the credentials lack a permission. Never retried.
    Forbidden(String),
    /// 404. Never retried; stop/delete callers treat it as done.
    NotFound(String),
    /// 409 / already exists. Never retried; create callers may adopt.
    Conflict(String),
    /// Any other rejection (other 4xx, a reply that cannot be understood).
    Rejected(String),
}

impl Fault {
    /// A transient fault without a server hint.
    pub fn transient(message: impl Into<String>) -> Self {
        Fault::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// The final failure kind of a call, carried by [`PlatformError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Retryable failures that outlasted the attempts or budget.
    Transient,
    /// An attempt took longer than the policy's timeout (and retries ran out).
    Timeout,
    /// Re-authenticate: the platform refused the credentials.
    Unauthenticated,
    /// Insufficient permission.
    Forbidden,
    /// The resource does not exist.
    NotFound,
    /// The resource already exists / conflicting state.
    Conflict,
    /// The platform rejected the request or replied with something unusable.
    Rejected,
    /// The circuit breaker is open: the call was not attempted.
    CircuitOpen,
    /// Anything else (simulator, database bookkeeping).
    Other,
}

impl FailureKind {
    /// Every kind.
    pub const ALL: &'static [FailureKind] = &[
        FailureKind::Transient,
        FailureKind::Timeout,
        FailureKind::Unauthenticated,
        FailureKind::Forbidden,
        FailureKind::NotFound,
        FailureKind::Conflict,
        FailureKind::Rejected,
        FailureKind::CircuitOpen,
        FailureKind::Other,
    ];

    /// The text form (as serialized): a metric's `kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Transient => "transient",
            FailureKind::Timeout => "timeout",
            FailureKind::Unauthenticated => "unauthenticated",
            FailureKind::Forbidden => "forbidden",
            FailureKind::NotFound => "not_found",
            FailureKind::Conflict => "conflict",
            FailureKind::Rejected => "rejected",
            FailureKind::CircuitOpen => "circuit_open",
            FailureKind::Other => "other",
        }
    }
}

/// Runs one platform's calls under its [`Policy`]. Share it in an `Arc`
/// inside the adapter: its breaker and retry budget are per platform.
pub struct Caller {
    platform: PlatformKind,
    policy: Policy,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("platform", &self.platform)
            .field("policy", &self.policy)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// A caller for `platform` with `policy`; the breaker's cool-down runs
    /// on the local clock.
    pub fn new(platform: PlatformKind, policy: Policy) -> Self {
        Self::with_clock(platform, policy, SystemClock::new())
    }

    /// A caller whose breaker cool-down runs on `clock` (the instance's
    /// clock; a manual one in tests).
    pub fn with_clock(platform: PlatformKind, policy: Policy, clock: Arc<dyn Clock>) -> Self {
        let budget_milli = u64::from(policy.retry_budget) * 1000;
        Caller {
            platform,
            policy,
            clock,
            state: Mutex::new(State {
                breaker: BreakerState::Closed { failures: 0 },
                budget_milli,
            }),
        }
    }

    /// The platform this caller serves.
    pub fn platform(&self) -> PlatformKind {
        self.platform
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn backoff(&self, retry: u32) -> Duration {
        let full = self
            .policy
            .base_backoff
            .saturating_mul(1u32 << (retry - 1).min(16))
            .min(self.policy.max_backoff);
        let half = full / 2;
        let jitter_ns =
            rand::rng().random_range(0..=half.as_nanos().min(u128::from(u64::MAX)) as u64);
        half + Duration::from_nanos(jitter_ns)
    }

    fn failure(&self, operation: &'static str, fault: Fault, timed_out: bool) -> PlatformError {
        let (kind, message) = match fault {
            Fault::Transient { message, .. } if timed_out => (FailureKind::Timeout, message),
            Fault::Transient { message, .. } => (FailureKind::Transient, message),
            Fault::Unauthenticated(m) => (
                FailureKind::Unauthenticated,
                format!("re-authenticate: the platform refused the API token ({m})"),
            ),
            Fault::Forbidden(m) => (
                FailureKind::Forbidden,
                format!("insufficient permission: the API token may not do this ({m})"),
            ),
            Fault::NotFound(m) => (FailureKind::NotFound, m),
            Fault::Conflict(m) => (FailureKind::Conflict, m),
            Fault::Rejected(m) => (FailureKind::Rejected, m),
        };
        PlatformError {
            platform: self.platform,
            operation,
            kind,
            message,
        }
    }

    /// Runs `f` (one attempt per call of `f`) with timeouts and retries;
    /// `slot` names the slot the call is about, for the trace. With the
    /// breaker open, fails with [`FailureKind::CircuitOpen`] without calling `f`.
    pub async fn run<T, F, Fut>(
        &self,
        operation: &'static str,
        slot: Option<&str>,
        f: F,
    ) -> Result<T, PlatformError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Fault>>,
    {
        let span = tracing::info_span!("platform_call", platform = %self.platform, operation, slot);
        async {
            if let Some(e) = self.open_error(operation) {
                tracing::debug!(outcome = "circuit_open", "platform call not attempted");
                return Err(e);
            }
            self.attempts(operation, self.policy.max_attempts, f).await
        }
        .instrument(span)
        .await
    }

    /// A health probe: one attempt, no retries. While the breaker is open
    /// and its cool-down runs, fails with [`FailureKind::CircuitOpen`]
    /// without calling `f`; after the cool-down, a success closes the
    /// breaker and a failure keeps it open for another cool-down.
    pub async fn probe<T, F, Fut>(&self, operation: &'static str, f: F) -> Result<T, PlatformError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Fault>>,
    {
        let span = tracing::info_span!("platform_probe", platform = %self.platform, operation);
        async {
            let now = self.clock.now();
            let waiting = match &self.state().breaker {
                BreakerState::Open { probe_at, .. } => *probe_at > now,
                BreakerState::Closed { .. } => false,
            };
            if waiting {
                if let Some(e) = self.open_error(operation) {
                    return Err(e);
                }
            }
            self.attempts(operation, 1, f).await
        }
        .instrument(span)
        .await
    }

    async fn attempts<T, F, Fut>(
        &self,
        operation: &'static str,
        max_attempts: u32,
        mut f: F,
    ) -> Result<T, PlatformError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Fault>>,
    {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = tokio::time::timeout(self.policy.attempt_timeout, f()).await;
            let (fault, timed_out) = match outcome {
                Ok(Ok(v)) => {
                    self.settle(&Verdict::Answered);
                    tracing::debug!(
                        attempt,
                        latency_ms = started.elapsed().as_millis() as u64,
                        outcome = "ok",
                        "platform call"
                    );
                    return Ok(v);
                }
                Ok(Err(fault)) => (fault, false),
                Err(_) => (
                    Fault::transient(format!(
                        "no answer within {:?}",
                        self.policy.attempt_timeout
                    )),
                    true,
                ),
            };
            let transient = matches!(fault, Fault::Transient { .. });
            let mut budget_spent = false;
            let retry = transient
                && attempt < max_attempts
                && (self.take_retry_token() || {
                    budget_spent = true;
                    false
                });
            if !retry {
                let end = Ended {
                    operation,
                    attempt,
                    started,
                    budget_spent,
                };
                return Err(self.give_up(end, fault, timed_out));
            }
            let wait = match &fault {
                Fault::Transient {
                    retry_after: Some(ra),
                    ..
                } => (*ra).min(self.policy.max_retry_after),
                _ => self.backoff(attempt),
            };
            if let Fault::Transient { message, .. } = &fault {
                tracing::debug!(
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    error = %message,
                    "platform call: retrying"
                );
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// The error a call ends with after its last attempt failed with
    /// `fault`; settles the breaker and traces the outcome.
    fn give_up(&self, end: Ended, fault: Fault, timed_out: bool) -> PlatformError {
        let transient = matches!(fault, Fault::Transient { .. });
        let mut err = self.failure(end.operation, fault, timed_out);
        if end.budget_spent {
            err.message = format!("{} (retry budget exhausted)", err.message);
        }
        // A refusal that every later call would meet as well counts
        // towards the breaker; 404 and 409 are expected answers.
        let counts = transient
            || matches!(
                err.kind,
                FailureKind::Unauthenticated | FailureKind::Forbidden | FailureKind::Rejected
            );
        self.settle(&if counts {
            Verdict::Failed(err.message.clone())
        } else {
            Verdict::Answered
        });
        let attempt = end.attempt;
        let latency_ms = end.started.elapsed().as_millis() as u64;
        if transient {
            tracing::warn!(attempt, latency_ms, outcome = ?err.kind, error = %err.message, "platform call failed");
        } else {
            tracing::info!(attempt, latency_ms, outcome = ?err.kind, error = %err.message, "platform call refused");
        }
        err
    }
}

/// Where a call stood when it stopped trying.
struct Ended {
    operation: &'static str,
    attempt: u32,
    started: Instant,
    budget_spent: bool,
}

#[cfg(test)]
mod tests;
