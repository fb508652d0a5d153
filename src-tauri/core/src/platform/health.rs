//! Platform health as every instance records and reads it in the shared
//! database (the breaker's state reaches other instances this way).

use serde::Serialize;
use std::collections::HashMap;

use crate::meeting::PlatformKind;

/// A platform's health as its last check saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub enum Health {
    /// Answering normally.
    Healthy,
    /// Answering, with problems.
    Degraded,
    /// Not answering: the router skips it.
    Down,
    /// Not checked yet, or the check itself could not run.
    Unknown,
}

impl Health {
    /// The text form stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Health {
        match s {
            "healthy" => Health::Healthy,
            "degraded" => Health::Degraded,
            "down" => Health::Down,
            _ => Health::Unknown,
        }
    }
}

/// Records a health check's result for every instance to see. Returns
/// whether the recorded health changed.
pub async fn record_health(
    db: &sqlx::PgPool,
    kind: PlatformKind,
    health: Health,
    at: chrono::DateTime<chrono::Utc>,
    by: uuid::Uuid,
) -> crate::Result<bool> {
    record_health_detail(db, kind, health, None, at, by).await
}

/// [`record_health`] with why the platform is not healthy (the failing
/// check, or its circuit breaker's reason), shown in decision traces.
pub async fn record_health_detail(
    db: &sqlx::PgPool,
    kind: PlatformKind,
    health: Health,
    detail: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
    by: uuid::Uuid,
) -> crate::Result<bool> {
    let previous: Option<String> = sqlx::query_scalar(
        "WITH old AS (SELECT health FROM platform_health WHERE platform = $1)
         INSERT INTO platform_health (platform, health, checked_at, checked_by, detail) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (platform) DO UPDATE SET health = $2, checked_at = $3, checked_by = $4, detail = $5
         RETURNING (SELECT health FROM old)",
    )
    .bind(kind.as_str())
    .bind(health.as_str())
    .bind(at)
    .bind(by)
    .bind(detail)
    .fetch_one(db)
    .await?;
    Ok(previous.as_deref() != Some(health.as_str()))
}

/// A platform's state as every instance routes by it: its last health
/// check (by whichever instance ran it) and its run of failed deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformState {
    /// The last check's health; `Unknown` when it is older than the
    /// maximum age asked for (the instance that checked may be gone).
    pub health: Health,
    /// Why it is not healthy, as the checking instance recorded it.
    pub detail: Option<String>,
    /// When it was checked, and by which instance (none for a platform
    /// only its deploys were ever recorded for).
    pub checked: Option<(chrono::DateTime<chrono::Utc>, uuid::Uuid)>,
    /// Consecutive failed deploys, from any instance.
    pub deploy_failures: i32,
    /// No new deploy before this time (see [`super::deploy_backoff`]).
    pub deploy_retry_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The last failed deploy's error.
    pub last_deploy_error: Option<String>,
    /// Drained by an operator: no new bots there (running ones finish).
    pub drained: Option<super::drain::Drained>,
}

/// Every platform's shared state; a check older than `max_age` reads as
/// `Unknown`, never as what it said.
pub async fn shared_state<'e>(
    db: impl sqlx::PgExecutor<'e>,
    now: chrono::DateTime<chrono::Utc>,
    max_age: chrono::Duration,
) -> crate::Result<HashMap<PlatformKind, PlatformState>> {
    type Row = (
        String,
        String,
        chrono::DateTime<chrono::Utc>,
        uuid::Uuid,
        Option<String>,
        i32,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<String>,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT platform, health, checked_at, checked_by, detail, deploy_failures, deploy_retry_at,
                last_deploy_error, drained_at, drained_by, drain_reason
         FROM platform_health",
    )
    .fetch_all(db)
    .await?;
    let mut out = HashMap::new();
    for row in rows {
        let (platform, health, at, by, detail, failures, retry_at, last_error, d_at, d_by, d_why) =
            row;
        let kind: PlatformKind = platform.parse()?;
        let checked = (!by.is_nil()).then_some((at, by));
        let fresh = checked.is_some() && now - at <= max_age;
        out.insert(
            kind,
            PlatformState {
                health: if fresh {
                    Health::parse(&health)
                } else {
                    Health::Unknown
                },
                detail: if fresh { detail } else { None },
                checked,
                deploy_failures: failures,
                deploy_retry_at: retry_at,
                last_deploy_error: last_error,
                drained: match (d_at, d_by) {
                    (Some(at), Some(by)) => Some(super::drain::Drained {
                        at,
                        by,
                        reason: d_why,
                    }),
                    _ => None,
                },
            },
        );
    }
    Ok(out)
}

/// The health each platform's last check found; a check older than
/// `max_age` (or none at all) is `Unknown`, never `Healthy`. A platform that
/// answers its checks while two or more deploys in a row failed there (and
/// its backoff runs) is `Degraded`.
pub async fn shared_health(
    db: &sqlx::PgPool,
    now: chrono::DateTime<chrono::Utc>,
    max_age: chrono::Duration,
) -> crate::Result<HashMap<PlatformKind, Health>> {
    Ok(shared_state(db, now, max_age)
        .await?
        .into_iter()
        .filter(|(_, s)| s.checked.is_some())
        .map(|(kind, s)| {
            let failing = s.deploy_failures >= 2 && s.deploy_retry_at.is_some_and(|t| t > now);
            let health = match s.health {
                Health::Healthy if failing => Health::Degraded,
                h => h,
            };
            (kind, health)
        })
        .collect())
}
