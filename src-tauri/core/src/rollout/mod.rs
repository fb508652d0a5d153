//! Rolling image updates: a new image or tag applied to a pool moves its
//! existing slots to it without interrupting a bot.
//!
//! Applying a definition ([`crate::definition`]) sets the pool's rollout
//! target ([`begin`], in the apply's transaction). A slot runs the image it
//! records (`pool_slots.image`); one that runs another image than the
//! target is *stale*. A stale slot is taken for its update (`updating`: it
//! is then not acquirable, see [`crate::slot::ACQUIRABLE`]):
//! - idle: by the leader's rollout pass ([`advance`]);
//! - busy or deploying: when it is released, in the release's own
//!   statement, so it goes back to work on the new image only;
//!
//! and never more than the pool's `rollout.max_updating` at once: every
//! claim counts itself in the rollout's row (`in_flight`) in the statement
//! that flags the slot. A stale slot taken when the limit is reached goes
//! back to idle as it was and is taken by a later pass. Busy slots are
//! never touched. The pass pre-pulls the target on each platform of the
//! pool ([`crate::platform::image::ImageGate`]) before it moves a slot,
//! then asks each platform to move the slot's resource
//! ([`crate::platform::Platform::update_image`]). All state is in the
//! database: a pass that dies half way is taken up by the next one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::error::Result;

mod advance;

pub use advance::{advance, AdvanceReport};

/// Sets `pool`'s rollout target to `image` with `max_updating` (part of
/// applying its definition: call it in that transaction). A new target
/// starts a rollout (the pass finishes it at once when no slot runs another
/// image); the same target only takes the new limit.
pub async fn begin(
    conn: &mut PgConnection,
    pool: &str,
    image: &str,
    max_updating: u32,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO pool_rollouts (pool, image, max_updating) VALUES ($1, $2, $3)
         ON CONFLICT (pool) DO UPDATE SET max_updating = $3, image = $2,
             started_at = CASE WHEN pool_rollouts.image = $2 THEN pool_rollouts.started_at ELSE now() END,
             finished_at = CASE WHEN pool_rollouts.image = $2 THEN pool_rollouts.finished_at END,
             last_error = CASE WHEN pool_rollouts.image = $2 THEN pool_rollouts.last_error END",
    )
    .bind(pool)
    .bind(image)
    .bind(i32::try_from(max_updating).unwrap_or(i32::MAX))
    .execute(conn)
    .await?;
    Ok(())
}

/// A pool's rollout as the app and `berth pools show` present it (read
/// from the database on each call: every instance sees the same).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RolloutProgress {
    /// The pool.
    pub pool: String,
    /// The image its slots move to.
    pub image: String,
    /// Slots of the pool.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub total: i64,
    /// Slots running the target image.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub updated: i64,
    /// Slots out of service for their update now.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub updating: i64,
    /// Stale slots holding a bot: updated once it leaves.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub waiting_for_bots: i64,
    /// Most slots updating at once.
    pub max_updating: i32,
    /// When the target was set.
    pub started_at: DateTime<Utc>,
    /// When every slot ran the target; `None` while under way.
    pub finished_at: Option<DateTime<Utc>>,
    /// The last failure (a pre-pull or a slot's update), if any.
    pub last_error: Option<String>,
}

const PROGRESS: &str = "SELECT r.pool, r.image, count(s.id) AS total,
        count(s.id) FILTER (WHERE s.image = r.image) AS updated,
        count(s.id) FILTER (WHERE s.updating) AS updating,
        count(s.id) FILTER (WHERE s.image IS DISTINCT FROM r.image AND s.status IN ('busy', 'deploying'))
            AS waiting_for_bots,
        r.max_updating, r.started_at, r.finished_at, r.last_error
     FROM pool_rollouts r LEFT JOIN pool_slots s ON s.pool = r.pool";

/// `pool`'s rollout, `None` when no definition set one.
pub async fn progress(db: &PgPool, pool: &str) -> Result<Option<RolloutProgress>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PROGRESS} WHERE r.pool = $1 GROUP BY r.pool"
    )))
    .bind(pool)
    .fetch_optional(db)
    .await?)
}

/// Every rollout under way (not finished), by pool.
pub async fn under_way(db: &PgPool) -> Result<Vec<RolloutProgress>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PROGRESS} WHERE r.finished_at IS NULL GROUP BY r.pool ORDER BY r.pool"
    )))
    .fetch_all(db)
    .await?)
}
