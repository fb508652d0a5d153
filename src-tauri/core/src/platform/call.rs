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
//! CONTRACT (other modules rely on these signatures; extend, don't change):
//! `Fault`, `FailureKind`, `Policy` (+ `Default`), `Caller::new(platform, policy)`,
//! `Caller::run(op, slot, f)`, `Caller::breaker_open()`.

use std::future::Future;
use std::time::{Duration, Instant};

use super::PlatformError;
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

/// Retry, timeout and breaker settings of one platform.
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
        }
    }
}

/// Runs one platform's calls under its [`Policy`]. Cheap to clone? No: share
/// it in an `Arc` inside the adapter; its breaker state is per platform.
#[derive(Debug)]
pub struct Caller {
    platform: PlatformKind,
    policy: Policy,
    consecutive_failures: std::sync::atomic::AtomicU32,
}

impl Caller {
    /// A caller for `platform` with `policy`.
    pub fn new(platform: PlatformKind, policy: Policy) -> Self {
        Caller {
            platform,
            policy,
            consecutive_failures: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether the breaker is open (the platform counts as down until a
    /// probe succeeds).
    pub fn breaker_open(&self) -> bool {
        self.consecutive_failures
            .load(std::sync::atomic::Ordering::Relaxed)
            >= self.policy.breaker_threshold
    }

    /// Runs `f` (one attempt per call of `f`) with timeouts and retries;
    /// `slot` names the slot the call is about, for the trace.
    pub async fn run<T, F, Fut>(
        &self,
        operation: &'static str,
        slot: Option<&str>,
        mut f: F,
    ) -> Result<T, PlatformError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Fault>>,
    {
        use std::sync::atomic::Ordering;
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = tokio::time::timeout(self.policy.attempt_timeout, f()).await;
            let (fault, timed_out) = match outcome {
                Ok(Ok(v)) => {
                    self.consecutive_failures.store(0, Ordering::Relaxed);
                    tracing::debug!(platform = %self.platform, operation, slot, attempt,
                        latency_ms = started.elapsed().as_millis() as u64, outcome = "ok", "platform call");
                    return Ok(v);
                }
                Ok(Err(fault)) => (fault, false),
                Err(_) => (
                    Fault::Transient {
                        message: format!("no answer within {:?}", self.policy.attempt_timeout),
                        retry_after: None,
                    },
                    true,
                ),
            };
            let retry =
                matches!(fault, Fault::Transient { .. }) && attempt < self.policy.max_attempts;
            if !retry {
                self.consecutive_failures.fetch_add(1, Ordering::Relaxed);
                let (kind, message) = match fault {
                    Fault::Transient { message, .. } if timed_out => {
                        (FailureKind::Timeout, message)
                    }
                    Fault::Transient { message, .. } => (FailureKind::Transient, message),
                    Fault::Unauthenticated(m) => (
                        FailureKind::Unauthenticated,
                        format!("re-authenticate: {m}"),
                    ),
                    Fault::Forbidden(m) => (
                        FailureKind::Forbidden,
                        format!("insufficient permission: {m}"),
                    ),
                    Fault::NotFound(m) => (FailureKind::NotFound, m),
                    Fault::Conflict(m) => (FailureKind::Conflict, m),
                    Fault::Rejected(m) => (FailureKind::Rejected, m),
                };
                tracing::warn!(platform = %self.platform, operation, slot, attempt,
                    latency_ms = started.elapsed().as_millis() as u64, outcome = ?kind, "platform call failed");
                return Err(PlatformError {
                    platform: self.platform,
                    operation,
                    kind,
                    message,
                });
            }
            let backoff = self
                .policy
                .base_backoff
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(self.policy.max_backoff);
            let wait = match &fault {
                Fault::Transient {
                    retry_after: Some(ra),
                    ..
                } => (*ra).min(self.policy.max_retry_after),
                _ => backoff,
            };
            tokio::time::sleep(wait).await;
        }
    }
}
