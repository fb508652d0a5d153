//! Deploying a batch of bots into one pool from the app: the core's
//! [`lifecycle::deploy_batch`], in the bridge's shape.

use berth_core::actor::Actor;
use berth_core::lifecycle::{self, BatchRequest};
use berth_core::router::Router;

use crate::dto::{CommandResult, DeployBatch, DeployRequest};

/// The most bots one batch may ask for.
pub const MAX_BATCH: u32 = lifecycle::MAX_BATCH;

/// Creates `req.count` bots in `req.pool` for the desktop's user and
/// routes each (deployed, or queued); see [`lifecycle::deploy_batch`] for
/// what is refused.
pub async fn deploy_bots(router: &Router, req: &DeployRequest) -> CommandResult<DeployBatch> {
    let batch = lifecycle::deploy_batch(
        router,
        &Actor::desktop(),
        &BatchRequest {
            pool: req.pool.clone(),
            meeting_url: req.meeting_url.clone(),
            count: req.count,
            priority: req.priority,
            queue_timeout_ms: req.queue_timeout_ms,
        },
    )
    .await?;
    Ok(DeployBatch {
        bot_ids: batch.bot_ids,
        deployed: batch.deployed,
        queued: batch.queued,
    })
}
