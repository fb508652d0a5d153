//! Draining a platform: an operator stops new bots going there (running
//! ones finish), and lifts it again.
//!
//! The drain lives in `platform_health`, the shared state every instance's
//! router reads ([`super::shared_state`]), so every instance routes alike;
//! [`crate::router::Router::eligibility`] skips a drained platform with
//! the decision `drained`. Each call writes its audit row in the
//! transaction of its change and publishes `platforms` and `audit`
//! (an undrain also `queue`, which wakes the dispatchers).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actor::Actor;
use crate::audit::{self, TargetKind};
use crate::error::{Error, ErrorCode, Result};
use crate::feed::Topic;
use crate::meeting::PlatformKind;
use crate::router::Router;

/// A platform's drain: when, by whom, why. Times serialize as
/// [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Drained {
    /// When it was drained.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub at: DateTime<Utc>,
    /// Who drained it ([`Actor::record`]).
    pub by: String,
    /// Why, if said.
    pub reason: Option<String>,
}

/// What a drain or undrain did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PlatformDrain {
    /// The platform.
    pub platform: PlatformKind,
    /// The drain now in force (after `drain`), or the one lifted (after
    /// `undrain`).
    pub drain: Drained,
    /// Bots running there now (they finish; a drain stops none).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub running: i64,
}

/// Drains `kind`: no new bot is deployed there from now on, by any
/// instance; bots running there finish, bots waiting on it walk on to the
/// next platform at their next pass. A platform without settings is
/// `not_found`; one already drained `not_applicable` (nothing written).
pub async fn drain(
    router: &Router,
    actor: &Actor,
    kind: PlatformKind,
    reason: Option<&str>,
) -> Result<PlatformDrain> {
    let reason = audit::reason(reason)?;
    let mut tx = router.db().begin().await?;
    known(&mut tx, kind).await?;
    let drained: Option<(DateTime<Utc>,)> = sqlx::query_as(
        "INSERT INTO platform_health (platform, health, checked_at, checked_by, drained_at, drained_by, drain_reason)
         VALUES ($1, 'unknown', to_timestamp(0), '00000000-0000-0000-0000-000000000000', now(), $2, $3)
         ON CONFLICT (platform) DO UPDATE SET drained_at = now(), drained_by = $2, drain_reason = $3
             WHERE platform_health.drained_at IS NULL
         RETURNING drained_at",
    )
    .bind(kind.as_str())
    .bind(actor.record())
    .bind(&reason)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((at,)) = drained else {
        tx.rollback().await?;
        return Err(Error::new(
            ErrorCode::NotApplicable,
            format!("platform {kind} is already drained"),
        ));
    };
    let running = crate::bot::active_on(&mut tx, kind).await?;
    let out = PlatformDrain {
        platform: kind,
        drain: Drained {
            at,
            by: actor.record(),
            reason: reason.clone(),
        },
        running,
    };
    let record = audit::Record::new(
        actor,
        "platform.drain",
        TargetKind::Platform,
        kind.as_str(),
        reason,
    )
    .detail(serde_json::json!({ "running": running }));
    audit::record(&mut tx, &record).await?;
    tx.commit().await?;
    tracing::info!(actor = %actor, platform = %kind, "platform drained");
    router.feed().publish(&[Topic::Platforms, Topic::Audit]);
    Ok(out)
}

/// Lifts the drain of `kind`: it takes new bots again (waiting requests
/// are offered it at the dispatchers' next pass). A platform that is not
/// drained is `not_applicable` (nothing written).
pub async fn undrain(
    router: &Router,
    actor: &Actor,
    kind: PlatformKind,
    reason: Option<&str>,
) -> Result<PlatformDrain> {
    let reason = audit::reason(reason)?;
    let mut tx = router.db().begin().await?;
    known(&mut tx, kind).await?;
    type Row = (DateTime<Utc>, String, Option<String>);
    let lifted: Option<Row> = sqlx::query_as(
        "WITH old AS (
            SELECT platform, drained_at, drained_by, drain_reason FROM platform_health
            WHERE platform = $1 AND drained_at IS NOT NULL FOR UPDATE
         )
         UPDATE platform_health h SET drained_at = NULL, drained_by = NULL, drain_reason = NULL
         FROM old WHERE h.platform = old.platform
         RETURNING old.drained_at, old.drained_by, old.drain_reason",
    )
    .bind(kind.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((at, by, was)) = lifted else {
        tx.rollback().await?;
        return Err(Error::new(
            ErrorCode::NotApplicable,
            format!("platform {kind} is not drained"),
        ));
    };
    let running = crate::bot::active_on(&mut tx, kind).await?;
    let drain = Drained {
        at,
        by,
        reason: was,
    };
    let record = audit::Record::new(
        actor,
        "platform.undrain",
        TargetKind::Platform,
        kind.as_str(),
        reason,
    )
    .detail(serde_json::json!({ "drainedBy": drain.by, "drainReason": drain.reason }));
    audit::record(&mut tx, &record).await?;
    tx.commit().await?;
    tracing::info!(actor = %actor, platform = %kind, "platform undrained");
    router
        .feed()
        .publish(&[Topic::Platforms, Topic::Queue, Topic::Audit]);
    Ok(PlatformDrain {
        platform: kind,
        drain,
        running,
    })
}

/// Every drained platform's drain (for the faces' platform views).
pub async fn drains(db: &sqlx::PgPool) -> Result<Vec<(PlatformKind, Drained)>> {
    let rows: Vec<(String, DateTime<Utc>, String, Option<String>)> = sqlx::query_as(
        "SELECT platform, drained_at, drained_by, drain_reason FROM platform_health
         WHERE drained_at IS NOT NULL ORDER BY platform",
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(p, at, by, reason)| Ok((p.parse()?, Drained { at, by, reason })))
        .collect()
}

/// `not_found` unless `kind` has settings (a platform Berth knows).
async fn known(conn: &mut sqlx::PgConnection, kind: PlatformKind) -> Result<()> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM platform_settings WHERE platform = $1)")
            .bind(kind.as_str())
            .fetch_one(conn)
            .await?;
    if exists {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::NotFound,
            format!("platform {kind} has no settings in this database"),
        ))
    }
}
