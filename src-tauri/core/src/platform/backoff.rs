//! The deploy back-off: after failed deploys onto a platform, no new
//! deploy goes there for a growing while (shared through the database).

use crate::meeting::PlatformKind;

/// First wait after a failed deploy on a platform.
pub const DEPLOY_BACKOFF_BASE_MS: i64 = 1_000;
/// Longest wait between deploys onto a platform whose deploys keep failing.
pub const DEPLOY_BACKOFF_MAX_MS: i64 = 60_000;

/// How long no new deploy goes onto a platform after `failures`
/// consecutive failed deploys there: 1 s, doubling, at most 60 s.
pub fn deploy_backoff(failures: i32) -> chrono::Duration {
    let doublings = (failures.max(1) - 1).min(16) as u32;
    chrono::Duration::milliseconds((DEPLOY_BACKOFF_BASE_MS << doublings).min(DEPLOY_BACKOFF_MAX_MS))
}

/// Records a failed deploy on `kind` (by any instance): the run of
/// failures grows and no new deploy goes there before the backoff for it
/// has passed. Returns the run's length.
pub async fn record_deploy_failure(
    db: &sqlx::PgPool,
    kind: PlatformKind,
    error: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<i32> {
    // The wait is computed here from the new count, so concurrent failures
    // from several instances each lengthen it once.
    let failures: i32 = sqlx::query_scalar(
        "INSERT INTO platform_health (platform, health, checked_at, checked_by, deploy_failures,
                                      deploy_retry_at, last_deploy_error)
         VALUES ($1, 'unknown', to_timestamp(0), '00000000-0000-0000-0000-000000000000', 1,
                 $3 + make_interval(secs => $4::float8 / 1000), $2)
         ON CONFLICT (platform) DO UPDATE SET
             deploy_failures = platform_health.deploy_failures + 1,
             deploy_retry_at = $3 + make_interval(secs =>
                 LEAST($4::float8 * power(2, LEAST(platform_health.deploy_failures, 16)), $5::float8) / 1000),
             last_deploy_error = $2
         RETURNING deploy_failures",
    )
    .bind(kind.as_str())
    .bind(error)
    .bind(now)
    .bind(DEPLOY_BACKOFF_BASE_MS as f64)
    .bind(DEPLOY_BACKOFF_MAX_MS as f64)
    .fetch_one(db)
    .await?;
    Ok(failures)
}

/// Records a successful deploy on `kind`: its run of failures ends. Writes
/// nothing when there was none.
pub async fn record_deploy_success(db: &sqlx::PgPool, kind: PlatformKind) -> crate::Result<()> {
    sqlx::query(
        "UPDATE platform_health SET deploy_failures = 0, deploy_retry_at = NULL, last_deploy_error = NULL
         WHERE platform = $1 AND deploy_failures > 0",
    )
    .bind(kind.as_str())
    .execute(db)
    .await?;
    Ok(())
}
