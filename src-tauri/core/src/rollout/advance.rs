//! The leader's rollout pass: pre-pull, take idle stale slots up to the
//! limit, move every slot taken to the target image.

use futures::future::join_all;
use sqlx::{Acquire, PgPool};

use crate::error::Result;
use crate::feed::Topic;
use crate::meeting::PlatformKind;
use crate::platform::{PlatformError, ResourceSpec, SlotRef};
use crate::router::Router;
use crate::slot::acquirable;

/// What one [`advance`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AdvanceReport {
    /// Idle slots taken for their update.
    pub claimed: usize,
    /// Slots moved to their pool's target image.
    pub updated: usize,
    /// Slots whose update failed (back in service on their old image,
    /// taken again by a later pass).
    pub failed: usize,
    /// Pools whose rollout finished.
    pub finished: Vec<String>,
}

impl AdvanceReport {
    fn changed(&self) -> bool {
        self.claimed + self.updated + self.failed + self.finished.len() > 0
    }
}

/// One pass over every rollout under way (the leader runs it; any caller
/// may, the statements keep the limit): for each pool, pre-pulls the target
/// image on every platform with a stale slot (a failed pull stops this
/// pool's pass, recorded as its `last_error`), takes idle stale slots up to
/// `max_updating`, updates every slot taken (by this pass, by a release, or
/// by a pass that died) on its platform, and finishes the rollout once no
/// slot runs another image. Publishes `rollouts`, `slots` and `pools` when
/// anything moved.
pub async fn advance(router: &Router) -> Result<AdvanceReport> {
    let db = router.db();
    let under_way: Vec<(String, String)> = sqlx::query_as(
        "SELECT pool, image FROM pool_rollouts WHERE finished_at IS NULL ORDER BY pool",
    )
    .fetch_all(db)
    .await?;
    let mut report = AdvanceReport::default();
    // The slots that moved, for the announcement: an open console patches
    // their rows instead of reloading every slot.
    let mut moved = Vec::new();
    for (pool, image) in under_way {
        if let Err(e) = prepull(router, &pool, &image).await {
            tracing::warn!(pool = %pool, error = %e, "rollout waits: the new image was not pulled");
            record_error(db, &pool, &e.to_string()).await?;
            continue;
        }
        match claim_idle(router, &pool, &image).await? {
            Claimed::Finished => report.finished.push(pool.clone()),
            Claimed::Slots(ids) => {
                report.claimed += ids.len();
                moved.extend(ids);
            }
        }
        update_taken(router, &pool, &image, &mut report, &mut moved).await?;
    }
    if report.changed() {
        router
            .feed()
            .publish_slots(&[Topic::Rollouts, Topic::Slots, Topic::Pools], &moved);
    }
    Ok(report)
}

/// Pulls `image` through the gate on every platform holding a stale slot
/// of `pool`, before any slot moves.
async fn prepull(router: &Router, pool: &str, image: &str) -> Result<()> {
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT deployment_platform FROM pool_slots
         WHERE pool = $1 AND image IS DISTINCT FROM $2",
    )
    .bind(pool)
    .bind(image)
    .fetch_all(router.db())
    .await?;
    for kind in kinds
        .iter()
        .filter_map(|k| PlatformKind::try_from(k.clone()).ok())
    {
        if let Some(adapter) = router.platforms().get(kind) {
            router
                .images
                .ensure(
                    router.db(),
                    router.clock().as_ref(),
                    adapter.as_ref(),
                    image,
                )
                .await?;
        }
    }
    Ok(())
}

enum Claimed {
    Finished,
    /// The slots taken for the update.
    Slots(Vec<i64>),
}

/// In one transaction holding the rollout's row: recounts the slots taken
/// (a slot deleted or failed while taken frees its place), finishes the
/// rollout when no slot is stale, else takes idle stale slots (acquirable
/// ones, skipping any an acquisition holds) into the room left.
async fn claim_idle(router: &Router, pool: &str, image: &str) -> Result<Claimed> {
    let mut conn = router.db().acquire().await?;
    let mut tx = conn.begin().await?;
    let max: i32 = sqlx::query_scalar(
        "SELECT max_updating FROM pool_rollouts WHERE pool = $1 AND finished_at IS NULL FOR UPDATE",
    )
    .bind(pool)
    .fetch_one(&mut *tx)
    .await?;
    let (taken, stale): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE updating), count(*) FILTER (WHERE image IS DISTINCT FROM $2)
         FROM pool_slots WHERE pool = $1",
    )
    .bind(pool)
    .bind(image)
    .fetch_one(&mut *tx)
    .await?;
    if stale == 0 {
        sqlx::query(
            "UPDATE pool_rollouts SET in_flight = 0, finished_at = $2, last_error = NULL WHERE pool = $1",
        )
        .bind(pool)
        .bind(router.clock().now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(Claimed::Finished);
    }
    let room = (i64::from(max) - taken).max(0);
    let claimed: Vec<i64> = sqlx::query_scalar(concat!(
        "WITH c AS (
            SELECT id FROM pool_slots
            WHERE pool = $1 AND image IS DISTINCT FROM $2 AND ",
        acquirable!(),
        "
            ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED
         ), upd AS (
            UPDATE pool_slots s SET updating = true FROM c WHERE s.id = c.id RETURNING s.id
         )
         SELECT id FROM upd ORDER BY id"
    ))
    .bind(pool)
    .bind(image)
    .bind(room)
    .fetch_all(&mut *tx)
    .await?;
    let in_flight = taken + claimed.len() as i64;
    sqlx::query("UPDATE pool_rollouts SET in_flight = $2 WHERE pool = $1")
        .bind(pool)
        .bind(i32::try_from(in_flight).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Claimed::Slots(claimed))
}

#[derive(sqlx::FromRow)]
struct Taken {
    id: i64,
    slot_name: String,
    epoch: i64,
    platform_ref: Option<String>,
    #[sqlx(try_from = "String")]
    deployment_platform: PlatformKind,
}

/// Moves every slot of `pool` taken for its update to `image`, the
/// platform calls side by side (at most `max_updating` of them: no more
/// slots are taken); adds the slots put back in service to `moved`.
async fn update_taken(
    router: &Router,
    pool: &str,
    image: &str,
    report: &mut AdvanceReport,
    moved: &mut Vec<i64>,
) -> Result<()> {
    let db = router.db();
    let taken: Vec<Taken> = sqlx::query_as(
        "SELECT id, slot_name, epoch, platform_ref, deployment_platform FROM pool_slots
         WHERE pool = $1 AND updating ORDER BY id",
    )
    .bind(pool)
    .fetch_all(db)
    .await?;
    if taken.is_empty() {
        return Ok(());
    }
    let spec = ResourceSpec {
        image: image.to_string(),
        resources: crate::definition::resources_of(db, pool).await?,
        // ECS picks the task definition to derive the new revision from by it.
        meeting_platform: sqlx::query_scalar::<_, String>(
            "SELECT meeting_platform FROM pools WHERE name = $1",
        )
        .bind(pool)
        .fetch_optional(db)
        .await?
        .and_then(|m| m.parse().ok()),
    };
    let outcomes = join_all(taken.iter().map(|t| update_one(router, pool, t, &spec))).await;
    for (t, outcome) in taken.iter().zip(outcomes) {
        let failure = outcome.err().map(|e| e.to_string());
        if let Some(message) = &failure {
            tracing::warn!(slot = %t.slot_name, error = %message, "slot not moved to the new image");
        }
        if settle(db, pool, t.id, image, failure.as_deref()).await? {
            moved.push(t.id);
            match failure {
                None => report.updated += 1,
                Some(_) => report.failed += 1,
            }
        }
    }
    Ok(())
}

async fn update_one(
    router: &Router,
    pool: &str,
    t: &Taken,
    spec: &ResourceSpec,
) -> std::result::Result<(), PlatformError> {
    // A slot with no resource yet gets the new image when it is created.
    if t.platform_ref.is_none() {
        return Ok(());
    }
    let Some(adapter) = router.platforms().get(t.deployment_platform) else {
        return Err(PlatformError {
            platform: t.deployment_platform,
            operation: "update_image",
            kind: crate::platform::FailureKind::Other,
            message: "no adapter for this platform in the leading instance".into(),
        });
    };
    let slot = SlotRef {
        slot_id: t.id,
        slot_name: t.slot_name.clone(),
        pool: pool.to_string(),
        epoch: t.epoch,
        platform_ref: t.platform_ref.clone(),
    };
    adapter.update_image(&slot, spec).await
}

/// Puts a taken slot back in service, on `image` when its update worked
/// (else on its old one, with the rollout's `last_error`), and frees its
/// place. `false` when the slot was no longer taken (deleted meanwhile).
async fn settle(
    db: &PgPool,
    pool: &str,
    slot_id: i64,
    image: &str,
    failure: Option<&str>,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE pool_slots SET updating = false, image = CASE WHEN $3::text IS NULL THEN $2 ELSE image END
         WHERE id = $1 AND updating",
    )
    .bind(slot_id)
    .bind(image)
    .bind(failure)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE pool_rollouts SET in_flight = GREATEST(in_flight - 1, 0),
             last_error = COALESCE($2, last_error)
         WHERE pool = $1",
    )
    .bind(pool)
    .bind(failure)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

async fn record_error(db: &PgPool, pool: &str, message: &str) -> Result<()> {
    sqlx::query("UPDATE pool_rollouts SET last_error = $2 WHERE pool = $1")
        .bind(pool)
        .bind(message)
        .execute(db)
        .await?;
    Ok(())
}
