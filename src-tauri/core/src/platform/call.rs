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

use chrono::{DateTime, Utc};
use rand::Rng;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tracing::Instrument;

use super::PlatformError;
use crate::clock::{Clock, SystemClock};
use crate::meeting::PlatformKind;

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
struct State {
    breaker: BreakerState,
    /// Retry tokens, in thousandths.
    budget_milli: u64,
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

/// How one call ended, for the breaker.
enum Verdict {
    /// The platform answered as expected (success, 404, 409): resets the count.
    Answered,
    /// The platform failed (transient faults, timeouts), or refused in a way
    /// every later call will be refused too (401, 403, other rejections).
    Failed(String),
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

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
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

    fn settle(&self, verdict: &Verdict) {
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

    fn take_retry_token(&self) -> bool {
        let mut st = self.state();
        if st.budget_milli >= 1000 {
            st.budget_milli -= 1000;
            true
        } else {
            false
        }
    }

    fn open_error(&self, operation: &'static str) -> Option<PlatformError> {
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
                let mut err = self.failure(operation, fault, timed_out);
                if budget_spent {
                    err.message = format!("{} (retry budget exhausted)", err.message);
                }
                // A refusal that every later call would meet as well counts
                // towards the breaker; 404 and 409 are expected answers.
                let counts = transient
                    || matches!(
                        err.kind,
                        FailureKind::Unauthenticated
                            | FailureKind::Forbidden
                            | FailureKind::Rejected
                    );
                self.settle(&if counts {
                    Verdict::Failed(err.message.clone())
                } else {
                    Verdict::Answered
                });
                let latency_ms = started.elapsed().as_millis() as u64;
                if transient {
                    tracing::warn!(attempt, latency_ms, outcome = ?err.kind, error = %err.message, "platform call failed");
                } else {
                    tracing::info!(attempt, latency_ms, outcome = ?err.kind, error = %err.message, "platform call refused");
                }
                return Err(err);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    fn caller(policy: Policy) -> Caller {
        Caller::new(PlatformKind::Coolify, policy)
    }

    fn transient() -> Result<(), Fault> {
        Err(Fault::transient("503"))
    }

    #[test]
    fn a_failure_kinds_text_is_its_serialized_form() {
        for kind in FailureKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json.as_str(), Some(kind.as_str()), "{kind:?}");
        }
    }

    #[test]
    fn retry_after_values() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(
            parse_retry_after("999999999999999999999999", now),
            Some(Duration::MAX)
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_with_capped_jittered_backoff() {
        let c = caller(Policy {
            max_attempts: 6,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
            ..Policy::default()
        });
        let times = Arc::new(Mutex::new(Vec::new()));
        let t = times.clone();
        let start = Instant::now();
        let err = c
            .run("op", None, || {
                t.lock().unwrap().push(start.elapsed());
                async { transient() }
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::Transient);
        let times = times.lock().unwrap().clone();
        assert_eq!(times.len(), 6);
        let full = [100u64, 200, 400, 400, 400];
        for (i, w) in times.windows(2).enumerate() {
            let gap = w[1] - w[0];
            let b = Duration::from_millis(full[i]);
            assert!(
                gap >= b / 2 && gap <= b,
                "retry {} waited {gap:?}, expected within [{:?}, {b:?}]",
                i + 1,
                b / 2
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_spreads_waits() {
        let mut waits = std::collections::HashSet::new();
        for _ in 0..20 {
            let c = caller(Policy {
                max_attempts: 2,
                ..Policy::default()
            });
            let start = Instant::now();
            let _ = c.run("op", None, || async { transient() }).await;
            waits.insert(start.elapsed());
        }
        assert!(waits.len() > 1, "every wait was the same: no jitter");
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_on_refusals() {
        for (fault, kind) in [
            (
                Fault::Unauthenticated("401".into()),
                FailureKind::Unauthenticated,
            ),
            (Fault::Forbidden("403".into()), FailureKind::Forbidden),
            (Fault::NotFound("404".into()), FailureKind::NotFound),
            (Fault::Conflict("409".into()), FailureKind::Conflict),
            (Fault::Rejected("422".into()), FailureKind::Rejected),
        ] {
            let c = caller(Policy::default());
            let calls = AtomicU32::new(0);
            let err = c
                .run("op", Some("slot-1"), || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let f = fault.clone();
                    async move { Err::<(), _>(f) }
                })
                .await
                .unwrap_err();
            assert_eq!(calls.load(Ordering::SeqCst), 1, "{kind:?} was retried");
            assert_eq!(err.kind, kind);
            assert!(!c.breaker_open());
        }
        let c = caller(Policy::default());
        let e = c
            .run("op", None, || async {
                Err::<(), _>(Fault::Unauthenticated("401".into()))
            })
            .await
            .unwrap_err();
        assert!(e.message.contains("re-authenticate"), "{}", e.message);
        let e = c
            .run("op", None, || async {
                Err::<(), _>(Fault::Forbidden("403".into()))
            })
            .await
            .unwrap_err();
        assert!(
            e.message.contains("insufficient permission"),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn timeouts_are_retried_then_reported() {
        let c = caller(Policy {
            attempt_timeout: Duration::from_secs(2),
            max_attempts: 3,
            ..Policy::default()
        });
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let err = c
            .run("op", None, || {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok::<(), Fault>(())
                }
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::Timeout);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(start.elapsed() < Duration::from_secs(8));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_capped() {
        let c = caller(Policy {
            max_attempts: 2,
            max_retry_after: Duration::from_secs(30),
            ..Policy::default()
        });
        for (hint, expect) in [
            (Duration::from_secs(7), Duration::from_secs(7)),
            (Duration::ZERO, Duration::ZERO),
            (Duration::MAX, Duration::from_secs(30)),
        ] {
            let start = Instant::now();
            let calls = AtomicU32::new(0);
            let out = c
                .run("op", None, || {
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if n == 0 {
                            Err(Fault::Transient {
                                message: "429".into(),
                                retry_after: Some(hint),
                            })
                        } else {
                            Ok(n)
                        }
                    }
                })
                .await
                .unwrap();
            assert_eq!(out, 1);
            assert_eq!(start.elapsed(), expect);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_budget_runs_out_and_refills_on_success() {
        let c = caller(Policy {
            max_attempts: 4,
            retry_budget: 5,
            retry_refill_milli: 500,
            breaker_threshold: 100,
            ..Policy::default()
        });
        let calls = AtomicU32::new(0);
        let count = || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { transient() }
        };
        // 1 + 3 retries, then 1 + 2 retries (budget 5 spent), then no retries.
        let _ = c.run("op", None, count).await;
        assert_eq!(calls.swap(0, Ordering::SeqCst), 4);
        let _ = c.run("op", None, count).await;
        assert_eq!(calls.swap(0, Ordering::SeqCst), 3);
        let e = c.run("op", None, count).await.unwrap_err();
        assert_eq!(calls.swap(0, Ordering::SeqCst), 1);
        assert!(
            e.message.contains("retry budget exhausted"),
            "{}",
            e.message
        );
        assert_eq!(c.retry_budget_left(), 0);
        // Two successes put one token back: one retry allowed again.
        for _ in 0..2 {
            c.run("op", None, || async { Ok::<(), Fault>(()) })
                .await
                .unwrap();
        }
        assert_eq!(c.retry_budget_left(), 1);
        let _ = c.run("op", None, count).await;
        assert_eq!(calls.swap(0, Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_fails_fast_and_a_probe_closes_it() {
        let clock = crate::clock::ManualClock::starting_now();
        let c = Caller::with_clock(
            PlatformKind::Coolify,
            Policy {
                max_attempts: 1,
                breaker_threshold: 3,
                breaker_cooldown: Duration::from_secs(30),
                ..Policy::default()
            },
            clock.clone(),
        );
        for _ in 0..2 {
            let _ = c.run("op", None, || async { transient() }).await;
            assert!(!c.breaker_open());
        }
        // A refusal proves the platform answers: it does not count.
        let _ = c
            .run("op", None, || async {
                Err::<(), _>(Fault::NotFound("404".into()))
            })
            .await;
        assert!(!c.breaker_open());
        for _ in 0..3 {
            let _ = c.run("op", None, || async { transient() }).await;
        }
        assert!(c.breaker_open());
        assert!(c.breaker_reason().unwrap().contains("3 consecutive"));

        let calls = AtomicU32::new(0);
        let err = c
            .run("op", None, || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Ok::<(), Fault>(()) }
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::CircuitOpen);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "an open breaker called the platform"
        );

        // During the cool-down a probe does not reach the platform either.
        let err = c
            .probe("health", || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Ok::<(), Fault>(()) }
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::CircuitOpen);
        assert_eq!(calls.load(Ordering::SeqCst), 0);

        // After it a failing probe keeps it open for another cool-down...
        clock.advance(chrono::Duration::seconds(31));
        let err = c
            .probe("health", || async { transient() })
            .await
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::Transient);
        assert!(c.breaker_open());
        let err = c
            .probe("health", || async { Ok::<(), Fault>(()) })
            .await
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::CircuitOpen);

        // ...and a succeeding one closes it.
        clock.advance(chrono::Duration::seconds(31));
        c.probe("health", || async { Ok::<(), Fault>(()) })
            .await
            .unwrap();
        assert!(!c.breaker_open());
        c.run("op", None, || async { Ok::<(), Fault>(()) })
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_refusals_open_the_breaker_and_expected_answers_do_not() {
        // Issue 11, item 14: a platform that refuses every call (a revoked
        // token, a rejected task definition) is as unusable as one that does
        // not answer; 404 and 409 are expected answers and reset the count.
        for refusal in [
            Fault::Unauthenticated("401".into()),
            Fault::Forbidden("403".into()),
            Fault::Rejected("422".into()),
        ] {
            let c = caller(Policy {
                breaker_threshold: 5,
                ..Policy::default()
            });
            let calls = AtomicU32::new(0);
            for _ in 0..5 {
                let f = refusal.clone();
                let _ = c
                    .run("start", None, || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        let f = f.clone();
                        async move { Err::<(), _>(f) }
                    })
                    .await;
            }
            assert_eq!(
                calls.load(Ordering::SeqCst),
                5,
                "refusals are never retried"
            );
            assert!(c.breaker_open(), "{refusal:?} five times did not open it");
            assert!(c.breaker_reason().unwrap().contains("5 consecutive"));
        }
        let c = caller(Policy {
            breaker_threshold: 3,
            ..Policy::default()
        });
        for expected in [Fault::NotFound("404".into()), Fault::Conflict("409".into())] {
            for _ in 0..2 {
                let _ = c
                    .run("op", None, || async {
                        Err::<(), _>(Fault::Rejected("422".into()))
                    })
                    .await;
            }
            let f = expected.clone();
            let _ = c
                .run("op", None, || {
                    let f = f.clone();
                    async move { Err::<(), _>(f) }
                })
                .await;
            assert!(!c.breaker_open(), "{expected:?} did not reset the count");
        }
    }
}
