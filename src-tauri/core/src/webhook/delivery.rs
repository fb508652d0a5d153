//! Delivery: any instance claims due deliveries (`FOR UPDATE SKIP LOCKED`
//! and a lease), sends them signed, and records the outcome; failures are
//! retried with exponential backoff and jitter for up to 24 hours.
//!
//! Invariants:
//! - A delivery is attempted only while no earlier delivery to the same
//!   receiver with the same ordering key is pending (per-key order).
//! - An attempt holds a lease (`claimed_until`) longer than its HTTP
//!   timeout; a lease that runs out means its instance died, and any
//!   instance tries again (at least once: receivers de-duplicate by id).
//! - Nothing here runs inside another use case's transaction, and no use
//!   case waits on it: the loop runs on its own, with at most
//!   [`DeliveryConfig::concurrency`] attempts in flight.
//! - Times (due, backoff, give-up) come from the instance's [`Clock`], so
//!   tests move time instead of sleeping.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{broadcast, Notify, OnceCell, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::event::Message;
pub use super::retry::DeliveryConfig;
use super::secret::{self, SigningSecret};
use super::signature;
use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::ChangeEvent;
use crate::stop::StopSignal;

/// Deliveries by outcome since the instance started (for the metrics:
/// counters `berth_webhook_deliveries_total{outcome=...}`).
#[derive(Debug, Default)]
pub struct Counters {
    delivered: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

impl Counters {
    /// Attempts the receiver answered with a 2xx.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }
    /// Failed attempts that will be retried.
    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }
    /// Deliveries given up (24 hours of failures).
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// What one [`Deliverer::pass`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Deliveries claimed and attempted.
    pub attempted: usize,
    /// Answered 2xx.
    pub delivered: usize,
    /// Failed, to be retried.
    pub retrying: usize,
    /// Failed for good.
    pub failed: usize,
}

/// An attempt's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Delivered(u16),
    Failed(Option<u16>, String),
}

/// A delivery claimed for one attempt.
struct Claimed {
    id: i64,
    url: String,
    attempts: i32,
    first_attempt_at: DateTime<Utc>,
    message: Message,
    /// `None`: the bots' URL secret.
    secret: Option<SigningSecret>,
}

/// One instance's delivery loop. Cheap to clone.
#[derive(Clone)]
pub struct Deliverer {
    db: PgPool,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    me: Uuid,
    config: DeliveryConfig,
    counters: Arc<Counters>,
    bot_secret: Arc<OnceCell<SigningSecret>>,
}

impl Deliverer {
    /// A deliverer for instance `me` (its claims carry the id).
    pub fn new(
        db: PgPool,
        clock: Arc<dyn Clock>,
        me: Uuid,
        config: DeliveryConfig,
    ) -> Result<Self> {
        // reqwest is built without a default crypto provider: use ring,
        // which sqlx's TLS already brings. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(std::time::Duration::from_secs(5)))
            // A receiver answers where it was registered; a redirect is a
            // failure, never a reason to send the payload elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("berth-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::new(ErrorCode::Internal, format!("webhook HTTP client: {e}")))?;
        Ok(Deliverer {
            db,
            clock,
            http,
            me,
            config,
            counters: Arc::new(Counters::default()),
            bot_secret: Arc::new(OnceCell::new()),
        })
    }

    /// Its counters (shared by its clones).
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Claims what is due (up to the concurrency), attempts it all at
    /// once and records the outcomes. Tests drive delivery with it.
    pub async fn pass(&self) -> Result<PassReport> {
        let claimed = self.claim(self.config.concurrency).await?;
        let mut report = PassReport {
            attempted: claimed.len(),
            ..PassReport::default()
        };
        let settled = futures::future::join_all(claimed.into_iter().map(|c| self.settle(c))).await;
        for s in settled {
            match s? {
                Settled::Delivered => report.delivered += 1,
                Settled::Retrying => report.retrying += 1,
                Settled::Failed => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Runs until `stop`: claims due deliveries as attempt slots free up,
    /// each attempt in its own task; woken by `wake` (the change feed:
    /// another instance's changes may have written events), by an attempt
    /// finishing, by the clock reaching the next retry, and every
    /// [`DeliveryConfig::poll`]. Attempts under way when the stop comes
    /// finish (within their timeout).
    pub async fn run(self, mut wake: broadcast::Receiver<ChangeEvent>, mut stop: StopSignal) {
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let finished = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        let mut listening = true;
        while !stop.is_set() {
            while tasks.try_join_next().is_some() {}
            let free = slots.available_permits();
            if free > 0 {
                match self.claim(free).await {
                    Ok(batch) => {
                        for c in batch {
                            let Ok(permit) = slots.clone().try_acquire_owned() else {
                                break;
                            };
                            let (me, finished) = (self.clone(), finished.clone());
                            tasks.spawn(async move {
                                if let Err(e) = me.settle(c).await {
                                    tracing::warn!(error = %e, "webhook delivery not recorded; it will be tried again");
                                }
                                drop(permit);
                                finished.notify_one();
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "webhook deliveries not claimed"),
                }
            }
            let now = self.clock.now();
            let next = self.next_due(now).await.unwrap_or(None);
            let clock = self.clock.clone();
            tokio::select! {
                _ = stop.stopped() => break,
                _ = finished.notified() => {}
                ev = wake.recv(), if listening => {
                    if matches!(ev, Err(broadcast::error::RecvError::Closed)) {
                        listening = false;
                    }
                    while wake.try_recv().is_ok() {}
                }
                _ = async move { match next { Some(at) => clock.sleep_until(at).await, None => std::future::pending().await } } => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    /// The earliest time after `now` at which a pending delivery becomes
    /// due (a retry, or a lost attempt's lease running out).
    async fn next_due(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar(
            "SELECT min(t) FROM (
                SELECT GREATEST(COALESCE(next_attempt_at, '-infinity'), COALESCE(claimed_until, '-infinity')) AS t
                FROM webhook_deliveries WHERE state = 'pending'
             ) d WHERE t > $1",
        )
        .bind(now)
        .fetch_one(&self.db)
        .await?)
    }

    /// Claims up to `n` due deliveries for one attempt each, oldest first,
    /// skipping those another instance holds and those behind an earlier
    /// pending delivery to the same receiver and key.
    async fn claim(&self, n: usize) -> Result<Vec<Claimed>> {
        type Row = (
            i64,
            String,
            i32,
            DateTime<Utc>,
            Uuid,
            String,
            serde_json::Value,
            DateTime<Utc>,
            Option<String>,
        );
        let now = self.clock.now();
        let rows: Vec<Row> = sqlx::query_as(
            "WITH ready AS (
                SELECT d.id FROM webhook_deliveries d
                WHERE d.state = 'pending'
                  AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= $1)
                  AND (d.claimed_until IS NULL OR d.claimed_until <= $1)
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                                  WHERE e.state = 'pending' AND e.target = d.target
                                    AND e.ordering_key = d.ordering_key AND e.id < d.id)
                ORDER BY d.id LIMIT $2
                FOR UPDATE OF d SKIP LOCKED
             ), claimed AS (
                UPDATE webhook_deliveries d SET claimed_until = $3, claimed_by = $4,
                    attempts = d.attempts + 1, first_attempt_at = COALESCE(d.first_attempt_at, $1),
                    last_attempt_at = $1
                FROM ready WHERE d.id = ready.id
                RETURNING d.id, d.event_id, d.subscription_id, d.url, d.attempts, d.first_attempt_at
             )
             SELECT c.id, c.url, c.attempts, c.first_attempt_at, e.id, e.type, e.payload, e.created_at, s.secret
             FROM claimed c JOIN webhook_events e ON e.id = c.event_id
             LEFT JOIN webhook_subscriptions s ON s.id = c.subscription_id
             ORDER BY c.id",
        )
        .bind(now)
        .bind(i64::try_from(n).unwrap_or(i64::MAX))
        .bind(now + self.config.lease())
        .bind(self.me)
        .fetch_all(&self.db)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Claimed {
                    id: r.0,
                    url: r.1,
                    attempts: r.2,
                    first_attempt_at: r.3,
                    message: Message::new(r.4, r.5, r.7, r.6),
                    secret: r.8.as_deref().map(SigningSecret::parse).transpose()?,
                })
            })
            .collect()
    }

    /// Attempts one claimed delivery and records the outcome.
    async fn settle(&self, c: Claimed) -> Result<Settled> {
        let secret = match &c.secret {
            Some(s) => s.clone(),
            None => self
                .bot_secret
                .get_or_try_init(|| secret::bot_url_secret(&self.db))
                .await?
                .clone(),
        };
        let outcome = self.attempt(&c, &secret).await;
        self.record(&c, outcome).await
    }

    /// One signed POST.
    async fn attempt(&self, c: &Claimed, secret: &SigningSecret) -> Outcome {
        let timestamp = self.clock.now().timestamp();
        let body = c.message.body();
        let signed = match signature::sign(secret, &c.message.id, timestamp, &body) {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(None, format!("not signed: {e}")),
        };
        let sent = self
            .http
            .post(&c.url)
            .header("content-type", "application/json")
            .header("webhook-id", &c.message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signed)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Outcome::Delivered(r.status().as_u16()),
            Ok(r) => Outcome::Failed(
                Some(r.status().as_u16()),
                format!("answered {}", r.status()),
            ),
            // Without the URL: it may carry a token in its query.
            Err(e) => Outcome::Failed(None, describe(&e.without_url())),
        }
    }

    /// Writes an attempt's outcome: delivered; or retried after a backoff;
    /// or, past the retry window, failed for good.
    async fn record(&self, c: &Claimed, outcome: Outcome) -> Result<Settled> {
        let now = self.clock.now();
        let (state, status, error, next, settled) = match outcome {
            Outcome::Delivered(status) => {
                ("delivered", Some(status), None, None, Settled::Delivered)
            }
            Outcome::Failed(status, error) => {
                let give_up_at = c.first_attempt_at + self.config.retry_for;
                if now >= give_up_at {
                    ("failed", status, Some(error), None, Settled::Failed)
                } else {
                    let next = (now + self.config.backoff(c.attempts)).min(give_up_at);
                    (
                        "pending",
                        status,
                        Some(error),
                        Some(next),
                        Settled::Retrying,
                    )
                }
            }
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $2, last_status = $3, last_error = $4,
                next_attempt_at = $5, claimed_until = NULL, claimed_by = NULL,
                done_at = CASE WHEN $2 = 'pending' THEN NULL ELSE $6 END
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(c.id)
        .bind(state)
        .bind(status.map(i32::from))
        .bind(error.as_deref())
        .bind(next)
        .bind(now)
        .execute(&self.db)
        .await?;
        let counter = match settled {
            Settled::Delivered => &self.counters.delivered,
            Settled::Retrying => &self.counters.retried,
            Settled::Failed => &self.counters.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if settled != Settled::Delivered {
            tracing::debug!(delivery = c.id, attempts = c.attempts, error = ?error, "webhook attempt failed");
        }
        Ok(settled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Delivered,
    Retrying,
    Failed,
}

/// A short reason for a failed request (timeout, refused connection, ...).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        "redirected"
    } else {
        "request failed"
    };
    let mut text = format!("{what}: {e}");
    text.truncate(500);
    text
}
